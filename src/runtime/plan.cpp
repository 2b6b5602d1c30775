// Plan building, and the default batch form of Filter (declared in plugin.h).
#include "runtime/plan.h"

#include "config/parser.h"

namespace sluice {

std::vector<PlanNode> build_plan_nodes(const config::StatementList& statements, PlanNode::Kind plugin_kind,
                                       const std::function<size_t(const config::PluginBlock&)>& add_stage) {
  std::vector<PlanNode> nodes;
  nodes.reserve(statements.size());
  for (const config::Statement& statement : statements) {
    PlanNode node;
    if (statement.kind == config::Statement::Kind::Plugin) {
      if (!statement.plugin) throw config::ConfigError("malformed config: a plugin statement without a plugin");
      node.kind = plugin_kind;
      node.stage = add_stage(*statement.plugin);
    } else {
      node.kind = PlanNode::Kind::If;
      for (const config::IfBranch& branch : statement.branches) {
        auto compiled = std::make_unique<PlanNode::Branch>();
        if (branch.condition) compiled->condition = Condition::compile(*branch.condition);
        compiled->body = build_plan_nodes(branch.body, plugin_kind, add_stage);
        node.branches.push_back(std::move(compiled));
      }
    }
    nodes.push_back(std::move(node));
  }
  return nodes;
}

size_t chunk_events_for(const Plan& plan) {
  for (const FilterStage& stage : plan.filters)
    if (stage.filter->needs_whole_batches()) return 0;
  for (const OutputStage& stage : plan.outputs)
    if (stage.output->needs_whole_batches()) return 0;
  return kChunkEvents;
}

void Filter::filter_batch(std::span<Event* const> events, std::vector<char>& matched, FilterContext& ctx) {
  matched.assign(events.size(), 0);
  for (size_t i = 0; i < events.size(); ++i) {
    Event* event = events[i];
    if (!event->cancelled()) matched[i] = filter(*event, ctx) ? 1 : 0;
  }
}

}  // namespace sluice

namespace sluice {

namespace {

// Decodes on the input's thread, for contexts without deferred decoding (tests, embedders).
class ImmediateUnitSink final : public EventSink {
 public:
  ImmediateUnitSink(InputContext& ctx, AckToken* token) : ctx_(ctx), token_(token) {}
  void accept(Event* event) override {
    event->attach_ack(token_);
    if (!ctx_.push(event)) refused = true;
  }
  bool refused = false;

 private:
  InputContext& ctx_;
  AckToken* token_;
};

}  // namespace

bool InputContext::push_units(const UnitDecoder& decoder, std::string_view data, std::span<const uint32_t> ends,
                              uint32_t gap, std::string_view origin, AckToken* token) {
  bool more = true;
  size_t begin = 0;
  for (uint32_t end : ends) {
    more = push_unit(decoder, data.substr(begin, end - begin), origin, token) && more;
    begin = size_t(end) + gap;
  }
  return more;
}

bool InputContext::push_unit(const UnitDecoder& decoder, std::string_view unit, std::string_view origin,
                             AckToken* token) {
  ImmediateUnitSink sink(*this, token);
  decoder.decode(unit, origin, sink);
  return !sink.refused && !stopping();
}

}  // namespace sluice
