// Helpers for the parsing filters' unit tests: builds a filter or codec from config text the
// way the pipeline does (parse, validate against the schema, factory).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "runtime/options.h"
#include "runtime/plugin.h"
#include "runtime/registry.h"

namespace sluice::test {

inline const PipelineSettings* settings_for(const std::string& ecs) {
  static std::map<std::string, std::unique_ptr<PipelineSettings>> all;
  auto& slot = all[ecs];
  if (!slot) {
    slot = std::make_unique<PipelineSettings>();
    slot->ecs_compatibility = ecs;
  }
  return slot.get();
}

inline Options plugin_options(PluginKind kind, const std::string& section, const std::string& name,
                              const std::string& body) {
  config::PipelineConfig config =
      config::parse_config(section + " { " + name + " { " + body + " } }", "test.conf");
  const config::StatementList& list = kind == PluginKind::Filter ? config.filters : config.outputs;
  const PluginEntry* entry = Registry::instance().find(kind, name);
  if (!entry) throw std::runtime_error("plugin not registered: " + name);
  return Options::validate(*list.at(0).plugin, entry->schema);
}

// Builds filter `name` from the option text `body` (as written inside `name { ... }`).
inline std::unique_ptr<Filter> make_filter(const std::string& name, const std::string& body,
                                           const std::string& ecs = "v8") {
  Options options = plugin_options(PluginKind::Filter, "filter", name, body);
  PluginContext context;
  context.id = name + "_test";
  context.settings = settings_for(ecs);
  return Registry::instance().find(PluginKind::Filter, name)->filter(options, context);
}

// Builds codec `name`; options are written as an output's codec would be validated.
inline std::unique_ptr<Codec> make_codec(const std::string& name, const std::string& body,
                                         const std::string& ecs = "v8") {
  config::PipelineConfig config =
      config::parse_config("output { stdout { codec => " + name + " { " + body + " } } }", "test.conf");
  const config::PluginBlock& output = *config.outputs.at(0).plugin;
  const config::PluginBlock* codec_block = nullptr;
  for (const auto& attribute : output.attributes) {
    if (attribute.name == "codec" && attribute.value.plugin) codec_block = attribute.value.plugin.get();
  }
  if (!codec_block) throw std::runtime_error("no codec block");
  const PluginEntry* entry = Registry::instance().find(PluginKind::Codec, name);
  if (!entry) throw std::runtime_error("codec not registered: " + name);
  Options options = Options::validate(*codec_block, entry->schema);
  PluginContext context;
  context.id = name + "_test";
  context.settings = settings_for(ecs);
  return entry->codec(options, context);
}

// A FilterContext for filters that do not emit.
class TestFilterContext : public FilterContext {
 public:
  Event* new_event() override {
    made_.push_back(std::make_unique<Event>());
    return made_.back().get();
  }
  void emit(Event* event) override { emitted.push_back(event); }
  std::vector<Event*> emitted;

 private:
  std::vector<std::unique_ptr<Event>> made_;
};

// Collects decoded events.
class CollectingSink : public EventSink {
 public:
  void accept(Event* event) override { events.emplace_back(event); }
  std::vector<std::unique_ptr<Event>> events;
};

// An event with `message` and a fixed @timestamp.
inline std::unique_ptr<Event> event_with_message(const std::string& message) {
  auto event = std::make_unique<Event>();
  event->init_with_message(message, Timestamp::from_seconds(1700000000));
  return event;
}

inline const Value* field(const Event& event, const std::string& ref) { return event.get(FieldRef::of(ref)); }

inline std::string field_text(const Event& event, const std::string& ref) {
  const Value* v = field(event, ref);
  return v ? v->to_text() : std::string("<missing>");
}

}  // namespace sluice::test
