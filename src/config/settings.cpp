#include "config/settings.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "config/parser.h"

namespace sluice::config {

namespace {

// A setting after flattening the YAML tree: "pipeline.batch.size" and where key and value were.
struct FlatSetting {
  std::string key;
  YAML::Node value;
  Position key_pos;
  Position value_pos;
};

Position mark_position(const YAML::Mark& mark, const std::string& file) {
  Position pos;
  pos.file = file;
  pos.line = mark.line >= 0 ? mark.line + 1 : 0;
  pos.column = mark.column >= 0 ? mark.column + 1 : 0;
  return pos;
}

std::string warning_text(const Position& pos, const std::string& message) {
  return pos.str() + ": warning: " + message;
}

YAML::Node parse_yaml(std::string_view text, const std::string& file) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw ConfigError(mark_position(e.mark, file), "invalid YAML: " + e.msg);
  }
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read settings file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void flatten(const YAML::Node& map, const std::string& prefix, const std::string& file,
             std::vector<FlatSetting>& out) {
  for (const auto& entry : map) {
    const YAML::Node& key = entry.first;
    if (!key.IsScalar())
      throw ConfigError(mark_position(key.Mark(), file), "setting names must be plain text");
    std::string name = prefix.empty() ? key.Scalar() : prefix + "." + key.Scalar();
    if (entry.second.IsMap()) {
      flatten(entry.second, name, file, out);
    } else {
      out.push_back({name, entry.second, mark_position(key.Mark(), file),
                     mark_position(entry.second.Mark(), file)});
    }
  }
}

// `${VAR}` / `${VAR:default}` from the environment. The substituted value is never put in a
// message: errors name the variable only.
std::string substitute_env(const std::string& text, const Position& pos) {
  if (text.find("${") == std::string::npos) return text;
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = text.find("${", i);
    if (start == std::string::npos) {
      out.append(text, i, std::string::npos);
      break;
    }
    size_t end = text.find('}', start + 2);
    if (end == std::string::npos) {
      out.append(text, i, std::string::npos);
      break;
    }
    out.append(text, i, start - i);
    std::string inner = text.substr(start + 2, end - start - 2);
    std::string name = inner, fallback;
    bool has_default = false;
    if (auto colon = inner.find(':'); colon != std::string::npos) {
      name = inner.substr(0, colon);
      fallback = inner.substr(colon + 1);
      has_default = true;
    }
    if (const char* value = std::getenv(name.c_str())) {
      out += value;
    } else if (has_default) {
      out += fallback;
    } else {
      throw ConfigError(pos, "cannot evaluate `${" + name + "}`: environment variable `" + name +
                                 "` is not set and no default is given");
    }
    i = end + 1;
  }
  return out;
}

std::string scalar_text(const FlatSetting& s) {
  if (s.value.IsNull()) return "";
  if (!s.value.IsScalar())
    throw ConfigError(s.value_pos, "setting `" + s.key + "` expects a single value, not a list");
  return substitute_env(s.value.Scalar(), s.value_pos);
}

// The value as written (before ${VAR} substitution): what messages show, so that values
// taken from the environment never reach a message.
std::string written(const FlatSetting& s) { return s.value.IsScalar() ? s.value.Scalar() : std::string(); }

int64_t int_value(const FlatSetting& s, int64_t min_value) {
  std::string text = scalar_text(s);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    throw ConfigError(s.value_pos, "setting `" + s.key + "` expects an integer, found `" + written(s) + "`");
  if (value < min_value)
    throw ConfigError(s.value_pos, "setting `" + s.key + "` must be at least " + std::to_string(min_value) +
                                       ", found " + written(s));
  return value;
}

bool bool_value(const FlatSetting& s) {
  std::string text = scalar_text(s);
  if (text == "true") return true;
  if (text == "false") return false;
  throw ConfigError(s.value_pos, "setting `" + s.key + "` expects true or false, found `" + written(s) + "`");
}

std::string choice_value(const FlatSetting& s, const std::vector<std::string>& allowed) {
  std::string text = scalar_text(s);
  if (std::find(allowed.begin(), allowed.end(), text) != allowed.end()) return text;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  throw ConfigError(s.value_pos, "setting `" + s.key + "` expects one of " + list + ", found `" + written(s) + "`");
}

size_t byte_size_value(const FlatSetting& s) {
  std::string text = scalar_text(s);
  size_t bytes = 0;
  if (!parse_byte_size(text, bytes))
    throw ConfigError(s.value_pos, "setting `" + s.key + "` expects a byte size such as 64mb, found `" + written(s) + "`");
  return bytes;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(const std::string& key, const std::vector<std::string>& known) {
  std::string best;
  size_t best_distance = 4;  // farther than 3 edits is not a typo
  for (const auto& k : known) {
    size_t d = edit_distance(key, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  return best.empty() ? "" : "; did you mean `" + best + "`?";
}

bool starts_with_any(const std::string& key, std::initializer_list<const char*> prefixes) {
  for (const char* p : prefixes)
    if (key.rfind(p, 0) == 0) return true;
  return false;
}

// Logstash settings sluice accepts but does not act on (they are Logstash's and harmless to keep
// in a reused logstash.yml / pipelines.yml).
bool logstash_setting_not_supported(const std::string& key) {
  static const std::vector<std::string> exact = {
      "pipeline.unsafe_shutdown", "pipeline.plugin_classloaders", "pipeline.separate_logs",
      "pipeline.system", "pipeline.reloadable", "pipeline.buffer.type", "queue.page_capacity",
      "queue.drain", "path.queue", "path.logs", "path.plugins", "log.format",
      "config.reload.automatic", "config.reload.interval", "config.debug",
      "config.field_reference.escape_style", "config.test_and_exit", "api.environment", "allow_superuser",
      "path.settings", "modules", "cloud.id", "cloud.auth", "keystore.classname", "keystore.file",
      "metric.collect", "pipeline.batch.metrics.sampling_mode", "http.environment", "node.id"};
  if (std::find(exact.begin(), exact.end(), key) != exact.end()) return true;
  return starts_with_any(key, {"queue.checkpoint.", "dead_letter_queue.", "xpack.", "api.ssl.", "api.auth.",
                               "modules.", "pipeline.batch.metrics."});
}

const std::vector<std::string>& pipeline_keys() {
  static const std::vector<std::string> keys = {
      "pipeline.id", "pipeline.workers", "pipeline.batch.size", "pipeline.batch.delay", "pipeline.ordered",
      "pipeline.ecs_compatibility", "queue.type", "queue.max_events", "queue.max_bytes",
      "dead_letter_queue.enable", "path.dead_letter_queue", "dead_letter_queue.max_bytes",
      "dead_letter_queue.storage_policy", "dead_letter_queue.flush_interval", "dead_letter_queue.failure_tags",
      "dead_letter_queue.conditional_errors"};
  return keys;
}

// A list setting: a YAML sequence of scalars, or one scalar (one item).
std::vector<std::string> list_value(const FlatSetting& s) {
  std::vector<std::string> items;
  if (s.value.IsSequence()) {
    for (const auto& item : s.value) {
      if (!item.IsScalar())
        throw ConfigError(mark_position(item.Mark(), s.value_pos.file), "setting `" + s.key + "` expects a list of names");
      items.push_back(substitute_env(item.Scalar(), s.value_pos));
    }
  } else if (!s.value.IsNull()) {
    items.push_back(scalar_text(s));
  }
  return items;
}

// Logstash's dead letter queue settings, plus sluice's routing of filter failures to it.
bool apply_dead_letter_queue_setting(DeadLetterQueueSettings& dlq, const FlatSetting& s) {
  const std::string& key = s.key;
  if (key == "dead_letter_queue.enable") {
    dlq.enabled = bool_value(s);
  } else if (key == "path.dead_letter_queue") {
    dlq.path = scalar_text(s);
  } else if (key == "dead_letter_queue.max_bytes") {
    dlq.max_bytes = byte_size_value(s);
  } else if (key == "dead_letter_queue.storage_policy") {
    dlq.storage_policy = choice_value(s, {"drop_newer", "drop_older"});
  } else if (key == "dead_letter_queue.flush_interval") {
    dlq.flush_interval_ms = static_cast<int>(int_value(s, 1));
  } else if (key == "dead_letter_queue.failure_tags") {
    dlq.failure_tags = list_value(s);
  } else if (key == "dead_letter_queue.conditional_errors") {
    dlq.conditional_errors = bool_value(s);
  } else if (key == "dead_letter_queue.type") {
    dlq.type = choice_value(s, {"file", "s3"});
  } else if (key == "dead_letter_queue.s3.bucket") {
    dlq.s3_bucket = scalar_text(s);
  } else if (key == "dead_letter_queue.s3.prefix") {
    dlq.s3_prefix = scalar_text(s);
  } else if (key == "dead_letter_queue.s3.region") {
    dlq.s3_region = scalar_text(s);
  } else if (key == "dead_letter_queue.s3.endpoint") {
    dlq.s3_endpoint = scalar_text(s);
  } else if (key == "dead_letter_queue.s3.access_key_id") {
    dlq.s3_access_key_id = scalar_text(s);
  } else if (key == "dead_letter_queue.s3.secret_access_key") {
    dlq.s3_secret_access_key = scalar_text(s);
  } else {
    return false;
  }
  return true;
}

// Applies a setting a pipeline can have (in sluice.yml as a default, or in pipelines.yml).
// Returns false when `s` is not one.
bool apply_pipeline_setting(PipelineSettings& settings, const FlatSetting& s, Warnings& warnings) {
  const std::string& key = s.key;
  if (key == "pipeline.id") {
    settings.id = scalar_text(s);
    if (settings.id.empty()) throw ConfigError(s.value_pos, "setting `pipeline.id` must not be empty");
  } else if (key == "pipeline.workers") {
    settings.workers = static_cast<int>(int_value(s, 1));
  } else if (key == "pipeline.batch.size") {
    settings.batch_size = static_cast<int>(int_value(s, 1));
  } else if (key == "pipeline.batch.delay") {
    settings.batch_delay_ms = static_cast<int>(int_value(s, 0));
  } else if (key == "pipeline.ordered") {
    settings.ordered = choice_value(s, {"auto", "true", "false"});
  } else if (key == "pipeline.ecs_compatibility") {
    settings.ecs_compatibility = choice_value(s, {"disabled", "v1", "v8"});
  } else if (key == "queue.max_events") {
    settings.queue_max_events = static_cast<size_t>(int_value(s, 0));
  } else if (key == "queue.max_bytes") {
    settings.queue_max_bytes = byte_size_value(s);
  } else if (apply_dead_letter_queue_setting(settings.dead_letter_queue, s)) {
    // dead_letter_queue.* and path.dead_letter_queue
  } else if (key == "queue.type") {
    std::string type = choice_value(s, {"memory", "persisted"});
    if (type == "persisted")
      warnings.push_back(warning_text(
          s.value_pos, "queue.type persisted is not supported; sluice uses its bounded in-memory queue "
                       "(durability comes from the sources' acknowledgements)"));
  } else {
    return false;
  }
  return true;
}

void warn_unknown(const FlatSetting& s, const std::vector<std::string>& known, Warnings& warnings) {
  if (logstash_setting_not_supported(s.key)) {
    std::string extra;
    if (starts_with_any(s.key, {"api.auth.", "api.ssl."}))
      extra = " (the monitoring API has no TLS or authentication: bind it to a trusted address)";
    warnings.push_back(warning_text(s.key_pos, "setting `" + s.key + "` is not supported by sluice and is ignored" + extra));
    return;
  }
  warnings.push_back(warning_text(s.key_pos, "unknown setting `" + s.key + "` is ignored" + did_you_mean(s.key, known)));
}

void apply_port_range(const FlatSetting& s, NodeSettings& node) {
  std::string text = scalar_text(s);
  if (!parse_port_range(text, node.api_port_first, node.api_port_last))
    throw ConfigError(s.value_pos, "setting `" + s.key +
                                       "` expects a port (1-65535) or a range such as 9600-9700, found `" + written(s) + "`");
}

}  // namespace

bool parse_byte_size(std::string_view text, size_t& bytes) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  size_t digits_start = i;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == digits_start) return false;
  double number = 0;
  auto [end, ec] = std::from_chars(text.data() + digits_start, text.data() + i, number);
  if (ec != std::errc() || end != text.data() + i) return false;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  std::string unit;
  for (; i < text.size(); ++i) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) break;
    unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  }
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i != text.size()) return false;
  static const std::map<std::string, double> multipliers = {
      {"", 1}, {"b", 1}, {"kb", 1024.0}, {"mb", 1024.0 * 1024}, {"gb", 1024.0 * 1024 * 1024},
      {"tb", 1024.0 * 1024 * 1024 * 1024}, {"pb", 1024.0 * 1024 * 1024 * 1024 * 1024}};
  auto m = multipliers.find(unit);
  if (m == multipliers.end()) return false;
  double value = number * m->second;
  if (value < 0 || value > 1.8e19) return false;
  bytes = static_cast<size_t>(value);
  return true;
}

bool parse_port_range(std::string_view text, int& first, int& last) {
  auto parse_port = [](std::string_view part, int& port) {
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), port);
    return !part.empty() && ec == std::errc() && end == part.data() + part.size() && port >= 1 && port <= 65535;
  };
  int a = 0, b = 0;
  if (auto dash = text.find('-'); dash != std::string_view::npos) {
    if (!parse_port(text.substr(0, dash), a) || !parse_port(text.substr(dash + 1), b) || b < a) return false;
  } else {
    if (!parse_port(text, a)) return false;
    b = a;
  }
  first = a;
  last = b;
  return true;
}

bool valid_log_level(std::string_view level) {
  return level == "fatal" || level == "error" || level == "warn" || level == "info" || level == "debug" ||
         level == "trace";
}

NodeSettings parse_node_settings(std::string_view yaml_text, const std::string& file_name, Warnings& warnings) {
  NodeSettings node;
  YAML::Node root = parse_yaml(yaml_text, file_name);
  if (!root || root.IsNull()) return node;  // an empty file is all defaults, as in Logstash
  if (!root.IsMap())
    throw ConfigError(mark_position(root.Mark(), file_name), "settings file must be a map of `name: value` settings");
  std::vector<FlatSetting> settings;
  flatten(root, "", file_name, settings);

  static const std::vector<std::string> node_keys = {
      "config.support_escapes", "node.name", "path.data", "path.config", "config.string", "api.enabled", "api.http.host", "api.http.port",
      "log.level", "http.enabled", "http.host", "http.port"};
  std::vector<std::string> known = node_keys;
  known.insert(known.end(), pipeline_keys().begin(), pipeline_keys().end());

  for (const auto& s : settings) {
    if (apply_pipeline_setting(node.pipeline_defaults, s, warnings)) continue;
    const std::string& key = s.key;
    if (key == "node.name") {
      node.node_name = scalar_text(s);
    } else if (key == "path.data") {
      node.pipeline_defaults.path_data = scalar_text(s);
      node.path_data_set = true;
    } else if (key == "config.support_escapes") {
      node.parse_options.support_escapes = bool_value(s);
    } else if (key == "path.config") {
      node.path_config = scalar_text(s);
    } else if (key == "config.string") {
      node.config_string = scalar_text(s);
      node.has_config_string = true;
    } else if (key == "api.enabled" || key == "http.enabled") {
      node.api_enabled = bool_value(s);
    } else if (key == "api.http.host" || key == "http.host") {
      node.api_host = scalar_text(s);
    } else if (key == "api.http.port" || key == "http.port") {
      apply_port_range(s, node);
    } else if (key == "log.level") {
      std::string level = scalar_text(s);
      if (!valid_log_level(level))
        throw ConfigError(s.value_pos, "setting `log.level` expects one of fatal, error, warn, info, debug, trace, found `" +
                                           written(s) + "`");
      node.log_level = level;
    } else {
      warn_unknown(s, known, warnings);
      continue;
    }
    if (key.rfind("http.", 0) == 0) {
      std::string replacement = key == "http.enabled" ? "api.enabled" : "api." + key;
      warnings.push_back(warning_text(s.key_pos, "setting `" + key + "` is deprecated; use `" + replacement + "`"));
    }
  }
  return node;
}

NodeSettings load_node_settings(const std::string& path, Warnings& warnings) {
  return parse_node_settings(read_whole_file(path), path, warnings);
}

std::vector<PipelineSource> parse_pipelines_yml(std::string_view yaml_text, const std::string& file_name,
                                                const NodeSettings& defaults, Warnings& warnings) {
  YAML::Node root = parse_yaml(yaml_text, file_name);
  if (!root || root.IsNull())
    throw ConfigError(Position{file_name, 1, 1}, "pipelines YAML file is empty");
  if (!root.IsSequence())
    throw ConfigError(mark_position(root.Mark(), file_name),
                      "pipelines YAML file must contain a list of pipelines (`- pipeline.id: ...`)");

  std::vector<std::string> known = pipeline_keys();
  known.push_back("path.config");
  known.push_back("config.string");
  known.push_back("config.support_escapes");

  std::vector<PipelineSource> sources;
  std::map<std::string, Position> seen_ids;
  for (const auto& item : root) {
    Position item_pos = mark_position(item.Mark(), file_name);
    if (!item.IsMap())
      throw ConfigError(item_pos, "each pipeline must be a map of settings (`pipeline.id`, `path.config`, ...)");
    PipelineSource source;
    source.settings = defaults.pipeline_defaults;
    source.parse_options = defaults.parse_options;
    source.origin = item_pos;
    std::vector<FlatSetting> settings;
    flatten(item, "", file_name, settings);
    bool has_path = false;
    Position id_pos = item_pos;
    for (const auto& s : settings) {
      if (s.key == "pipeline.id") id_pos = s.value_pos;
      if (apply_pipeline_setting(source.settings, s, warnings)) continue;
      if (s.key == "path.config") {
        source.path_config = scalar_text(s);
        has_path = true;
      } else if (s.key == "config.string") {
        source.config_string = scalar_text(s);
        source.has_config_string = true;
      } else if (s.key == "config.support_escapes") {
        source.parse_options.support_escapes = bool_value(s);
      } else {
        warn_unknown(s, known, warnings);
      }
    }
    const std::string& id = source.settings.id;
    if (has_path && source.has_config_string)
      throw ConfigError(item_pos, "pipeline `" + id + "` sets both path.config and config.string; use one");
    if (!has_path && !source.has_config_string)
      throw ConfigError(item_pos, "pipeline `" + id + "` has neither path.config nor config.string");
    if (has_path && source.path_config.empty())
      throw ConfigError(item_pos, "pipeline `" + id + "` has an empty path.config");
    if (auto [it, inserted] = seen_ids.emplace(id, id_pos); !inserted)
      throw ConfigError(id_pos, "duplicate pipeline.id `" + id + "` (first declared at " + it->second.str() + ")");
    sources.push_back(std::move(source));
  }
  if (sources.empty()) throw ConfigError(Position{file_name, 1, 1}, "pipelines YAML file is empty");
  return sources;
}

std::vector<PipelineSource> load_pipelines_yml(const std::string& path, const NodeSettings& defaults,
                                               Warnings& warnings) {
  return parse_pipelines_yml(read_whole_file(path), path, defaults, warnings);
}

PipelineConfig load_pipeline_config(const PipelineSource& source) {
  if (!source.has_config_string) return load_config_path(source.path_config, source.parse_options);
  std::string name = source.origin.file.empty()
                         ? std::string("config string")
                         : "config.string of pipeline " + source.settings.id;
  PipelineConfig config = parse_config(source.config_string, name, source.parse_options);
  // As `logstash -e`: a config string without inputs reads stdin, without outputs prints.
  if (config.inputs.empty()) append_config(config, parse_config("input { stdin { type => stdin } }", "default input"));
  if (config.outputs.empty())
    append_config(config, parse_config("output { stdout { codec => rubydebug } }", "default output"));
  return config;
}

}  // namespace sluice::config
