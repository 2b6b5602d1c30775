// The validated options of one plugin instance, with the schema's defaults filled in.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/ast.h"
#include "config/parser.h"
#include "runtime/schema.h"

namespace sluice {

// Makes a default value for an OptionSpec.
config::ConfigValue cv_string(std::string s);
config::ConfigValue cv_number(double n);
config::ConfigValue cv_bool(bool b);
config::ConfigValue cv_array(std::vector<std::string> items);
config::ConfigValue cv_hash();
// One option of a schema (the common shape; set `required`/`deprecated` on the result when needed).
OptionSpec option_spec(std::string name, OptionType type, std::optional<config::ConfigValue> default_value,
                       std::string doc, std::vector<std::string> allowed = {});

class Options {
 public:
  Options() = default;
  // Validates `block` against schema + common options; throws config::ConfigError naming the
  // position, the plugin and what was expected (unknown option: "did you mean `x`?").
  static Options validate(const config::PluginBlock& block, const PluginSchema& schema);
  // The same, but appends every problem to `errors` instead of throwing (for `-t`, which reports
  // all of them). The returned Options holds what could be validated.
  static Options validate_all(const config::PluginBlock& block, const PluginSchema& schema,
                              std::vector<config::ConfigError>& errors);

  bool has(const std::string& name) const;  // set explicitly in the config
  const config::ConfigValue* raw(const std::string& name) const;  // value or default, or nullptr
  config::Position position(const std::string& name) const;       // where it was set (or the block)
  const config::Position& block_position() const { return block_pos_; }
  const std::string& plugin_name() const { return plugin_name_; }

  std::string get_string(const std::string& name) const;  // "" when unset with no default
  double get_number(const std::string& name) const;
  int64_t get_int(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  std::vector<std::string> get_string_array(const std::string& name) const;  // scalars become one item
  std::vector<std::pair<std::string, std::string>> get_string_hash(const std::string& name) const;
  // The hash with its values as written (for nested / array values).
  std::vector<std::pair<std::string, config::ConfigValue>> get_hash(const std::string& name) const;
  // Codec option: the block (name + attributes); default from the schema.
  std::shared_ptr<config::PluginBlock> get_codec(const std::string& name = "codec") const;

 private:
  std::string plugin_name_;
  config::Position block_pos_;
  std::map<std::string, config::ConfigValue> set_;       // explicitly set
  std::map<std::string, config::ConfigValue> defaults_;  // from the schema
  std::map<std::string, config::Position> positions_;
};

}  // namespace sluice
