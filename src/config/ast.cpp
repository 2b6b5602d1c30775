// Source positions and config errors.
#include "config/ast.h"

#include "config/parser.h"

namespace sluice::config {

ConfigValue::ConfigValue() = default;
ConfigValue::ConfigValue(const ConfigValue&) = default;
ConfigValue::ConfigValue(ConfigValue&&) noexcept = default;
ConfigValue& ConfigValue::operator=(const ConfigValue&) = default;
ConfigValue& ConfigValue::operator=(ConfigValue&&) noexcept = default;
ConfigValue::~ConfigValue() = default;

std::string Position::str() const {
  return (file.empty() ? std::string("config string") : file) + ":" + std::to_string(line) + ":" +
         std::to_string(column);
}

ConfigError::ConfigError(const Position& pos, const std::string& message)
    : std::runtime_error(pos.str() + ": error: " + message), pos_(pos) {}

ConfigError::ConfigError(const std::string& message_without_position)
    : std::runtime_error(message_without_position) {}

}  // namespace sluice::config
