// Every plugin declares its options here; validation, error messages and the docs come from it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/ast.h"

namespace sluice {

enum class OptionType {
  String,    // "text" or bareword; numbers and booleans are accepted and printed as text
  Number,    // integer or float (a string that parses as a number is accepted, as Logstash does)
  Boolean,   // true/false (or the strings "true"/"false")
  Array,     // [a, b]; a single value becomes a one-item array, as in Logstash
  Hash,      // { k => v }; Logstash also accepts an array of k, v pairs: [ "k", "v" ]
  Path,      // a file-system path (string)
  Password,  // a string that is never logged
  Codec,     // a codec name or codec block
  Uri,       // a URI string (passwords in it are never logged)
  Any,       // anything (validated by the plugin itself)
};
const char* option_type_name(OptionType t);

struct OptionSpec {
  std::string name;
  OptionType type = OptionType::String;
  std::optional<config::ConfigValue> default_value;  // build with the helpers in options.h
  bool required = false;
  std::vector<std::string> allowed;  // for String: the only accepted values
  std::string doc;                   // one sentence for the reference
  bool deprecated = false;           // accepted, with a warning
};

enum class PluginKind { Input, Filter, Output, Codec };
const char* plugin_kind_name(PluginKind k);  // "input", "filter", "output", "codec"

struct PluginSchema {
  PluginKind kind = PluginKind::Filter;
  std::string name;
  std::string doc;  // one paragraph for the reference
  std::vector<OptionSpec> options;  // the plugin's own; the common ones are added by the registry
};

// The options every plugin of a kind accepts (id, enable_metric, add_field, tags, codec, ...).
const std::vector<OptionSpec>& common_options(PluginKind kind);

}  // namespace sluice
