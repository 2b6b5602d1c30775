// The cef filter (sluice's addition; Logstash has the cef codec only): parses a CEF record held
// in a field, e.g. after a syslog input or a grok that kept the CEF part, with exactly the
// codec's decoding. Fields go to the root (or `target`); invalid records get `tag_on_failure`
// and the event is left otherwise untouched.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/charset.h"
#include "core/event.h"
#include "plugins/codecs/cef/cef_format.h"
#include "plugins/filters/date/date_parser.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema cef_filter_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "cef";
  schema.doc =
      "Parses an ArcSight CEF record from `source` the way the cef codec decodes it (header fields, extensions, "
      "ECS or legacy names, syslog header). A sluice addition: Logstash only has the codec.";
  schema.options = {
      option_spec("source", OptionType::String, cv_string("message"), "The field holding the CEF text."),
      option_spec("target", OptionType::String, std::nullopt, "Put the parsed fields under this field."),
      option_spec("raw_data_field", OptionType::String, std::nullopt, "Keep the raw record in this field."),
      option_spec("device", OptionType::String, cv_string("observer"),
          "ECS: whether device fields describe the `observer` or the `host`.", {"observer", "host"}),
      option_spec("default_timezone", OptionType::String, std::nullopt, "ECS: zone of timestamps that carry none (UTC)."),
      option_spec("locale", OptionType::String, std::nullopt, "Locale of month names in timestamps (English)."),
      option_spec("tag_on_failure", OptionType::Array, cv_array({"_cefparsefailure"}), "Tags added when the text is not CEF."),
      option_spec("ecs_compatibility", OptionType::String, std::nullopt,
          "Field names: disabled (CEF names) or v1/v8 (ECS); default: the pipeline's.", {"disabled", "v1", "v8"}),
  };
  return schema;
}

class CefFilter : public Filter {
 public:
  CefFilter(const Options& options, PluginContext& context) : metrics_(context.metrics) {
    source_ = field(options, "source", options.get_string("source"));
    if (options.has("target")) target_ = field(options, "target", options.get_string("target"));
    if (options.has("raw_data_field")) raw_data_field_ = field(options, "raw_data_field", options.get_string("raw_data_field"));
    cef::FormatSettings settings;
    std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                      : context.settings                ? context.settings->ecs_compatibility
                                                        : std::string("v8");
    settings.ecs = ecs != "disabled";
    settings.device = options.get_string("device");
    if (options.has("default_timezone")) {
      const std::string zone = options.get_string("default_timezone");
      if (!date::load_zone(zone, settings.default_zone)) {
        throw config::ConfigError(options.position("default_timezone"), "cef: unknown time zone `" + zone + "`");
      }
    }
    format_ = std::make_unique<cef::Format>(settings);
    tag_on_failure_ = options.get_string_array("tag_on_failure");
  }

  bool filter(Event& event, FilterContext&) override {
    const Value* source = event.get(source_);
    if (!source || !source->is_string()) return false;
    thread_local cef::ParsedRecord record;
    thread_local std::string error, converted, raw;
    raw = source->as_string();  // a copy: the record may overwrite the source field
    if (!format_->parse(to_utf8(Charset::Utf8, raw, converted), record, &error)) {
      for (const std::string& tag : tag_on_failure_) event.add_tag(tag);
      if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (raw_data_field_) event.put(*raw_data_field_).set_string(raw);
    if (target_) {
      Value& target = event.put(*target_);
      if (!target.is_object()) target.make_object();
      cef::Format::apply(record, target.as_object());
    } else {
      cef::Format::apply(record, event.fields());
    }
    return true;
  }

 private:
  static FieldRef field(const Options& options, const std::string& option, const std::string& text) {
    std::string message;
    std::optional<FieldRef> ref = FieldRef::parse(text, &message);
    if (!ref) {
      throw config::ConfigError(options.position(option),
                                "cef: invalid field reference `" + text + "` in `" + option + "`: " + message);
    }
    return *ref;
  }

  PluginMetrics* metrics_ = nullptr;
  FieldRef source_;
  std::optional<FieldRef> target_;
  std::optional<FieldRef> raw_data_field_;
  std::unique_ptr<cef::Format> format_;
  std::vector<std::string> tag_on_failure_;
};

const RegisterFilter registration{cef_filter_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<CefFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
