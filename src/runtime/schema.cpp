// The option types, plugin kinds and the options every plugin of a kind accepts
// (Logstash's LogStash::Inputs::Base / Filters::Base / Outputs::Base / Codecs::Base).
#include "runtime/schema.h"

#include "runtime/options.h"

namespace sluice {

const char* option_type_name(OptionType t) {
  switch (t) {
    case OptionType::String: return "string";
    case OptionType::Number: return "number";
    case OptionType::Boolean: return "boolean";
    case OptionType::Array: return "array";
    case OptionType::Hash: return "hash";
    case OptionType::Path: return "path";
    case OptionType::Password: return "password";
    case OptionType::Codec: return "codec";
    case OptionType::Uri: return "uri";
    case OptionType::Any: return "any";
  }
  return "unknown";
}

const char* plugin_kind_name(PluginKind k) {
  switch (k) {
    case PluginKind::Input: return "input";
    case PluginKind::Filter: return "filter";
    case PluginKind::Output: return "output";
    case PluginKind::Codec: return "codec";
  }
  return "unknown";
}

namespace {

OptionSpec spec(std::string name, OptionType type, std::optional<config::ConfigValue> default_value,
                std::string doc) {
  OptionSpec s;
  s.name = std::move(name);
  s.type = type;
  s.default_value = std::move(default_value);
  s.doc = std::move(doc);
  return s;
}

OptionSpec id_option() {
  return spec("id", OptionType::String, std::nullopt,
              "A unique id for this plugin instance, shown in the monitoring API (generated when unset).");
}

OptionSpec enable_metric_option() {
  return spec("enable_metric", OptionType::Boolean, cv_bool(true), "Whether this plugin records metrics.");
}

std::vector<OptionSpec> make_input_options() {
  return {
      spec("add_field", OptionType::Hash, cv_hash(), "Fields added to every event (values may use %{field})."),
      spec("codec", OptionType::Codec, cv_string("plain"), "The codec that decodes the input's data."),
      enable_metric_option(),
      id_option(),
      spec("tags", OptionType::Array, std::nullopt, "Tags added to every event."),
      spec("type", OptionType::String, std::nullopt,
           "Sets the `type` field of events that have none (used by conditionals)."),
  };
}

std::vector<OptionSpec> make_filter_options() {
  return {
      spec("add_field", OptionType::Hash, cv_hash(),
           "Fields added when the filter succeeds (names and values may use %{field})."),
      spec("add_tag", OptionType::Array, cv_array({}), "Tags added when the filter succeeds (may use %{field})."),
      enable_metric_option(),
      id_option(),
      spec("periodic_flush", OptionType::Boolean, cv_bool(false), "Calls the filter's flush at regular intervals."),
      spec("remove_field", OptionType::Array, cv_array({}),
           "Fields removed when the filter succeeds (may use %{field})."),
      spec("remove_tag", OptionType::Array, cv_array({}), "Tags removed when the filter succeeds (may use %{field})."),
  };
}

std::vector<OptionSpec> make_output_options() {
  return {
      spec("codec", OptionType::Codec, cv_string("plain"), "The codec that encodes events for the output."),
      enable_metric_option(),
      id_option(),
  };
}

std::vector<OptionSpec> make_codec_options() {
  return {enable_metric_option(), id_option()};
}

}  // namespace

const std::vector<OptionSpec>& common_options(PluginKind kind) {
  static const std::vector<OptionSpec> input = make_input_options();
  static const std::vector<OptionSpec> filter = make_filter_options();
  static const std::vector<OptionSpec> output = make_output_options();
  static const std::vector<OptionSpec> codec = make_codec_options();
  switch (kind) {
    case PluginKind::Input: return input;
    case PluginKind::Filter: return filter;
    case PluginKind::Output: return output;
    case PluginKind::Codec: return codec;
  }
  return codec;
}

}  // namespace sluice
