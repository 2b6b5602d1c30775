// Logstash's pipeline config language: lexer and recursive-descent parser.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/ast.h"

namespace sluice::config {

// A config error. what() is "FILE:LINE:COL: error: MESSAGE".
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const Position& pos, const std::string& message);
  explicit ConfigError(const std::string& message_without_position);
  const Position& position() const { return pos_; }

 private:
  Position pos_;
};

// Parses one config text (several sections). `${VAR}` / `${VAR:default}` are substituted
// from the environment inside strings and barewords; an unset variable without default
// is an error at its position. Throws ConfigError.
PipelineConfig parse_config(std::string_view text, const std::string& file_name);

struct ParseOptions {
  // Logstash's config.support_escapes: \\ \" \' \n \r \t in quoted strings. When false (the
  // default), backslashes are literal except \" inside "..." and \' inside '...'.
  bool support_escapes = false;
};
PipelineConfig parse_config(std::string_view text, const std::string& file_name, const ParseOptions& options);

// Appends `more`'s sections to `into` (several files make one pipeline, as in Logstash).
void append_config(PipelineConfig& into, PipelineConfig&& more);

// Expands `-f`/`path.config`: a file, a directory (its files in lexical order), or a glob.
// Throws ConfigError when nothing matches.
std::vector<std::string> expand_config_paths(const std::string& path_or_glob);

// Reads and parses all files of a path.config value, joined in lexical order.
PipelineConfig load_config_path(const std::string& path_or_glob);
PipelineConfig load_config_path(const std::string& path_or_glob, const ParseOptions& options);

}  // namespace sluice::config
