// Node settings (sluice.yml, the keys of Logstash's logstash.yml) and the pipeline list
// (pipelines.yml). Both are YAML; keys may be written flat (`pipeline.batch.size: 125`) or nested
// (`pipeline: { batch: { size: 125 } }`). `${VAR}` / `${VAR:default}` in values are taken from
// the environment, as Logstash does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/ast.h"
#include "config/parser.h"
#include "runtime/plugin.h"

namespace sluice::config {

// One pipeline to run: its settings and where its config comes from (exactly one of
// path_config / config_string is set).
struct PipelineSource {
  PipelineSettings settings;
  std::string path_config;    // file, directory or glob; relative to the current directory
  std::string config_string;  // inline config (-e, config.string)
  bool has_config_string = false;  // -e "" is a (defaulted) config, not a missing one
  ParseOptions parse_options;      // config.support_escapes
  Position origin;            // where it was declared (pipelines.yml entry), for messages
};

// What sluice.yml sets besides the pipeline defaults.
struct NodeSettings {
  PipelineSettings pipeline_defaults;
  std::string node_name;           // node.name; "" = host name
  bool path_data_set = false;      // path.data given (settings file or flag), not the default
  bool api_enabled = true;
  std::string api_host = "127.0.0.1";
  int api_port_first = 9600;       // api.http.port: a port or a range "9600-9700"
  int api_port_last = 9700;
  std::string log_level = "info";  // fatal, error, warn, info, debug, trace
  std::string path_config;         // path.config in sluice.yml (used when no -f/-e/pipelines.yml)
  std::string config_string;       // config.string in sluice.yml
  bool has_config_string = false;
  ParseOptions parse_options;      // config.support_escapes (default of every pipeline)
};

// Messages for things accepted but ignored (unknown keys, unsupported Logstash settings),
// each "FILE:LINE:COL: warning: MESSAGE". The caller logs them.
using Warnings = std::vector<std::string>;

// Parses sluice.yml text. Throws ConfigError ("FILE:LINE:COL: error: ...") on bad values.
NodeSettings parse_node_settings(std::string_view yaml_text, const std::string& file_name,
                                 Warnings& warnings);
NodeSettings load_node_settings(const std::string& path, Warnings& warnings);

// Parses pipelines.yml text: a list of pipelines, each starting from the node's defaults.
// Unknown keys warn; duplicate pipeline.id, missing/both config sources and bad values throw.
std::vector<PipelineSource> parse_pipelines_yml(std::string_view yaml_text, const std::string& file_name,
                                                const NodeSettings& defaults, Warnings& warnings);
std::vector<PipelineSource> load_pipelines_yml(const std::string& path, const NodeSettings& defaults,
                                               Warnings& warnings);

// Parses a pipeline's config: the files of path_config, or config_string. A config string
// without an input or output section gets Logstash's defaults (stdin input; stdout output
// with the rubydebug codec), as `logstash -e` does. Throws ConfigError.
PipelineConfig load_pipeline_config(const PipelineSource& source);

// Parses a byte size as Logstash writes them: "1024", "64mb", "1gb", "512kb" (b, kb, mb, gb, tb,
// case-insensitive, 1024-based). Returns false when it is not one.
bool parse_byte_size(std::string_view text, size_t& bytes);

// api.http.port: "9600" or a range "9600-9700". Returns false when it is neither.
bool parse_port_range(std::string_view text, int& first, int& last);

// Logstash's setting names for log levels: true for fatal, error, warn, info, debug, trace.
bool valid_log_level(std::string_view level);

}  // namespace sluice::config
