// The clone filter: for each name in `clones`, a copy of the event (sharing its source's
// acknowledgement) marked with that name, in `type` (ECS disabled) or in `tags` (ECS v1/v8).
// Copies go through the filters after this one. As in Logstash, the common add_field /
// add_tag / remove_field / remove_tag options apply to the clones (the runtime decorates
// every emitted event), not to the original.
#include <string>
#include <vector>

#include "core/event.h"
#include "runtime/logging.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema clone_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "clone";
  schema.doc =
      "Duplicates events: one clone per name in `clones`, with `type` set to the name (ECS disabled) or the name "
      "added to `tags` (ECS v1, v8). The original is left unchanged.";
  OptionSpec clones;
  clones.name = "clones";
  clones.type = OptionType::Array;
  clones.required = true;
  clones.doc = "One clone is made per name in this list.";
  OptionSpec ecs;
  ecs.name = "ecs_compatibility";
  ecs.type = OptionType::String;
  ecs.allowed = {"disabled", "v1", "v8"};
  ecs.doc = "Where the clone's name goes: `type` when disabled, `tags` otherwise (default: the pipeline's).";
  schema.options = {clones, ecs};
  return schema;
}

class CloneFilter : public Filter {
 public:
  CloneFilter(const Options& options, PluginContext& context) : clones_(options.get_string_array("clones")) {
    std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                      : context.settings                ? context.settings->ecs_compatibility
                                                        : std::string("v8");
    use_tags_ = ecs != "disabled";
    if (clones_.empty())
      logging::get("filter.clone")->warn("The parameter 'clones' is empty, so no clones will be created.");
  }

  bool filter(Event& event, FilterContext& context) override {
    for (const std::string& name : clones_) {
      Event* copy = context.new_event();
      copy->fields().assign_unrelated(event.fields());
      copy->metadata().assign_unrelated(event.metadata());
      copy->attach_ack(event.ack_token());  // the source is done only when every copy is
      if (use_tags_) copy->add_tag(name);
      else copy->fields()["type"].set_string(name);
      context.emit(copy);
    }
    // The original is not "matched": Logstash's clone decorates the clones only.
    return false;
  }
  // The clones follow the whole batch's originals, as they always have.
  bool needs_whole_batches() const override { return true; }

 private:
  std::vector<std::string> clones_;
  bool use_tags_ = true;
};

const RegisterFilter registration{clone_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<CloneFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
