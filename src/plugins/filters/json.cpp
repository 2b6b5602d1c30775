// The json filter: parses a field holding JSON. With `target` the result goes there; without,
// an object's keys become event fields (keys are field references, @timestamp is coerced) and
// anything else is a failure, as in Logstash.
#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "core/json.h"
#include "core/time_format.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema json_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "json";
  schema.doc =
      "Parses JSON text from `source`. With `target` the parsed value is stored there; without, the keys of a "
      "JSON object become fields of the event (`@timestamp` is parsed as ISO8601).";
  auto opt = [](std::string name, OptionType type, std::optional<config::ConfigValue> def, bool required,
                std::string doc, std::vector<std::string> allowed = {}) {
    OptionSpec spec;
    spec.name = std::move(name);
    spec.type = type;
    spec.default_value = std::move(def);
    spec.required = required;
    spec.doc = std::move(doc);
    spec.allowed = std::move(allowed);
    return spec;
  };
  schema.options = {
      opt("source", OptionType::String, std::nullopt, true, "The field holding the JSON text."),
      opt("target", OptionType::String, std::nullopt, false, "Where the parsed value goes (default: the root)."),
      opt("skip_on_invalid_json", OptionType::Boolean, cv_bool(false), false,
          "Leave events with invalid JSON untouched (no tag, no warning)."),
      opt("tag_on_failure", OptionType::Array, cv_array({"_jsonparsefailure"}), false,
          "Tags added when the text is not valid JSON (or not an object without target)."),
      opt("ecs_compatibility", OptionType::String, std::nullopt, false,
          "Accepted for compatibility; the filter behaves the same in every mode.", {"disabled", "v1", "v8"}),
  };
  return schema;
}

bool all_whitespace(std::string_view text) {
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

class JsonFilter : public Filter {
 public:
  JsonFilter(const Options& options, PluginContext& context) : metrics_(context.metrics) {
    source_ = field(options, "source", options.get_string("source"));
    if (options.has("target")) target_ = field(options, "target", options.get_string("target"));
    skip_on_invalid_json_ = options.get_bool("skip_on_invalid_json");
    tag_on_failure_ = options.get_string_array("tag_on_failure");
  }

  bool filter(Event& event, FilterContext&) override {
    const Value* source = event.get(source_);
    if (!source || source->is_null() || (source->is_bool() && !source->as_bool())) return false;  // Ruby: falsy
    // Parsed into per-thread storage; values are swapped into the event so both keep their buffers.
    thread_local Value parsed;
    if (!source->is_string()) {
      if (!skip_on_invalid_json_) fail(event);
      return false;
    }
    const std::string& text = source->as_string();
    if (all_whitespace(text)) {
      parsed.set_null();  // Logstash's Json.load("") is nil
    } else if (!json_parse(text, parsed)) {
      if (!skip_on_invalid_json_) fail(event);
      return false;
    }
    if (target_) {
      std::swap(event.put(*target_), parsed);
      return true;
    }
    if (!parsed.is_object()) return fail(event);
    return merge(event, parsed.as_object()) || fail(event);
  }

 private:
  static FieldRef field(const Options& options, const std::string& option, const std::string& text) {
    std::string message;
    std::optional<FieldRef> ref = FieldRef::parse(text, &message);
    if (!ref) {
      throw config::ConfigError(options.position(option),
                                "json: invalid field reference `" + text + "` in `" + option + "`: " + message);
    }
    return *ref;
  }

  bool fail(Event& event) const {
    for (const std::string& tag : tag_on_failure_) event.add_tag(tag);
    if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  // Sets each key as Logstash's event.set(key, value); @timestamp last, coerced from ISO8601.
  static bool merge(Event& event, Object& parsed) {
    Value* timestamp = nullptr;
    for (Object::Entry& entry : parsed) {
      const std::string& key = entry.key;
      if (key == "@timestamp") {
        timestamp = &entry.value;
        continue;
      }
      if (key.empty()) continue;
      const bool plain = key.find('[') == std::string::npos && key.find(']') == std::string::npos &&
                         key.compare(0, 9, "@metadata") != 0;
      if (plain) {
        std::swap(event.fields()[key], entry.value);
        continue;
      }
      std::optional<FieldRef> ref = FieldRef::parse(key);
      if (!ref) return false;
      if (ref->is_root_metadata()) {
        if (entry.value.is_object()) std::swap(event.metadata(), entry.value.as_object());
        continue;
      }
      if (ref->empty()) continue;
      std::swap(event.put(*ref), entry.value);
    }
    if (timestamp) {
      Timestamp parsed_time;
      if (timestamp->is_timestamp()) {
        event.set_timestamp(timestamp->as_timestamp());
      } else if (timestamp->is_string() && parse_iso8601(timestamp->as_string(), parsed_time)) {
        event.set_timestamp(parsed_time);
      } else {
        // Logstash: current time, a tag, and the original text in `_@timestamp`.
        event.set_timestamp(Timestamp::now());
        event.add_tag("_timestampparsefailure");
        event.fields()["_@timestamp"].set_string(timestamp->to_text());
      }
    }
    return true;
  }

  PluginMetrics* metrics_ = nullptr;
  FieldRef source_;
  std::optional<FieldRef> target_;
  bool skip_on_invalid_json_ = false;
  std::vector<std::string> tag_on_failure_;
};

const RegisterFilter registration{json_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<JsonFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
