// sluice: runs Logstash pipeline configs. Flags follow Logstash's (`-f`, `-e`, `-t`, `-w`, `-b`, `-u`,
// `--path.settings`, `--log.level`, `--api.*`); exit codes: 0 ok, 1 config/runtime error, 2 usage error.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "config/parser.h"
#include "config/settings.h"
#include "runtime/agent.h"
#include "runtime/logging.h"
#include "runtime/pipeline.h"
#include "runtime/reference.h"

namespace {

namespace fs = std::filesystem;
using sluice::config::ConfigError;
using sluice::config::NodeSettings;
using sluice::config::PipelineSource;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

constexpr const char* kNoConfigMessage =
    "ERROR: No configuration file was specified. Perhaps you forgot to provide the '-f yourlogstash.conf' flag?";

struct CommandLine {
  std::string path_config;
  std::string config_string;
  bool has_path_config = false;
  bool has_config_string = false;
  bool test_and_exit = false;
  std::string path_settings;
  std::string path_data;
  std::optional<int> workers, batch_size, batch_delay;
  std::string pipeline_id;
  std::string log_level;
  std::optional<bool> api_enabled;
  std::string api_host, api_port;
  bool version = false;
  bool plugin_reference = false;
  bool reload_automatic = false;
  std::string path_logs;
};

bool parse_bool_text(const std::string& text, bool& out) {
  if (text.empty() || text == "true") out = true;
  else if (text == "false") out = false;
  else return false;
  return true;
}

// Prints a config error, one message per line, on stderr.
void print_errors(const std::exception& e) { std::cerr << e.what() << std::endl; }

void log_warnings(const sluice::config::Warnings& warnings) {
  auto log = sluice::logging::get("sluice.settings");
  for (const auto& w : warnings) log->warn("{}", w);
}

// The settings file in --path.settings: sluice.yml, or a Logstash logstash.yml left as it is.
std::optional<std::string> settings_file(const std::string& dir) {
  for (const char* name : {"sluice.yml", "logstash.yml"}) {
    fs::path p = fs::path(dir) / name;
    if (fs::is_regular_file(p)) return p.string();
  }
  return std::nullopt;
}

void apply_command_line(const CommandLine& cli, NodeSettings& node) {
  auto& d = node.pipeline_defaults;
  if (!cli.path_data.empty()) {
    d.path_data = cli.path_data;
    node.path_data_set = true;
  }
  if (cli.workers) d.workers = *cli.workers;
  if (cli.batch_size) d.batch_size = *cli.batch_size;
  if (cli.batch_delay) d.batch_delay_ms = *cli.batch_delay;
  if (!cli.pipeline_id.empty()) d.id = cli.pipeline_id;
  if (!cli.log_level.empty()) node.log_level = cli.log_level;
  if (cli.api_enabled) node.api_enabled = *cli.api_enabled;
  if (!cli.api_host.empty()) node.api_host = cli.api_host;
  if (!cli.api_port.empty()) sluice::config::parse_port_range(cli.api_port, node.api_port_first, node.api_port_last);
}

// Which pipelines to run, with Logstash's precedence: -f/-e, then pipelines.yml in
// --path.settings, then path.config/config.string of the settings file. Empty = no config.
std::vector<PipelineSource> pipeline_sources(const CommandLine& cli, const NodeSettings& node,
                                             sluice::config::Warnings& warnings) {
  auto log = sluice::logging::get("sluice.runner");
  std::vector<PipelineSource> sources;
  std::optional<std::string> pipelines_yml;
  if (!cli.path_settings.empty()) {
    fs::path p = fs::path(cli.path_settings) / "pipelines.yml";
    if (fs::is_regular_file(p)) pipelines_yml = p.string();
  }
  auto single = [&](const std::string& path, const std::string& text, bool is_string) {
    PipelineSource source;
    source.settings = node.pipeline_defaults;
    source.parse_options = node.parse_options;
    if (is_string) {
      source.config_string = text;
      source.has_config_string = true;
    } else {
      source.path_config = path;
    }
    sources.push_back(std::move(source));
  };
  if (cli.has_path_config || cli.has_config_string) {
    if (pipelines_yml)
      log->warn("Ignoring the 'pipelines.yml' file because command line options (-f or -e) are specified");
    single(cli.path_config, cli.config_string, cli.has_config_string);
  } else if (pipelines_yml) {
    sources = sluice::config::load_pipelines_yml(*pipelines_yml, node, warnings);
  } else if (node.has_config_string || !node.path_config.empty()) {
    if (node.has_config_string && !node.path_config.empty())
      throw ConfigError("settings 'path.config' and 'config.string' can't be used simultaneously");
    single(node.path_config, node.config_string, node.has_config_string);
  }
  return sources;
}

int test_configs(const std::vector<PipelineSource>& sources) {
  std::string errors;
  for (const auto& source : sources) {
    try {
      sluice::config::PipelineConfig config = sluice::config::load_pipeline_config(source);
      sluice::check_pipeline_config(source.settings, config);
    } catch (const ConfigError& e) {
      if (!errors.empty()) errors += '\n';
      errors += e.what();
    }
  }
  if (!errors.empty()) {
    std::cerr << errors << std::endl;
    return kExitError;
  }
  std::cout << "Configuration OK" << std::endl;
  return kExitOk;
}

int run(int argc, char** argv) {
  CLI::App app{"sluice: runs Logstash pipeline configs (logstash.conf, pipelines.yml), faster per core, with "
               "end-to-end acknowledgement.",
               "sluice"};
  app.footer(
      "Exit codes:\n"
      "  0  success (pipelines finished, drained after SIGINT/SIGTERM, or `-t` found the config OK)\n"
      "  1  configuration or runtime error (no config, invalid config, drain timed out, second signal)\n"
      "  2  usage error (unknown flag, bad flag value)\n"
      "Settings: --path.settings DIR reads DIR/sluice.yml (or DIR/logstash.yml) and DIR/pipelines.yml;\n"
      "command-line flags override the settings file; pipelines.yml entries override both.\n");
  app.get_formatter()->column_width(34);
  CommandLine cli;
  const std::vector<std::string> levels = {"fatal", "error", "warn", "info", "debug", "trace"};

  auto* f = app.add_option("-f,--path.config", cli.path_config,
                           "Load the pipeline config from a file, a directory (its files in lexical order) or a glob");
  auto* e = app.add_option("-e,--config.string", cli.config_string,
                           "Use the given string as the pipeline config (without input: stdin; without output: "
                           "stdout with rubydebug)");
  app.add_flag("-t,--config.test_and_exit", cli.test_and_exit, "Check the config and exit (0 when valid)");
  app.add_option("--path.settings", cli.path_settings, "Directory holding sluice.yml and pipelines.yml");
  app.add_option("--path.data", cli.path_data, "Directory for the node id and plugin state (sincedb); default ./data");
  app.add_option("-w,--pipeline.workers", cli.workers, "Worker threads per pipeline (default: number of cores)")
      ->check(CLI::PositiveNumber);
  app.add_option("-b,--pipeline.batch.size", cli.batch_size, "Events per worker batch (default 125)")
      ->check(CLI::PositiveNumber);
  app.add_option("-u,--pipeline.batch.delay", cli.batch_delay,
                 "Milliseconds to wait for a batch to fill (default 50)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--pipeline.id", cli.pipeline_id, "Id of the pipeline given with -f/-e (default main)");
  app.add_option("--log.level", cli.log_level, "Log level: fatal, error, warn, info (default), debug, trace")
      ->check(CLI::IsMember(levels));
  std::string api_enabled_text;
  auto* api_enabled = app.add_option("--api.enabled", api_enabled_text,
                                     "Serve the monitoring API: true (default) or false")
                          ->expected(0, 1);
  app.add_option("--api.http.host", cli.api_host, "Address the monitoring API binds (default 127.0.0.1)");
  app.add_option("--api.http.port", cli.api_port, "Port or range of the monitoring API (default 9600-9700)")
      ->check([](const std::string& value) {
        int first = 0, last = 0;
        return sluice::config::parse_port_range(value, first, last) ? std::string()
                                                                     : "expects a port or a range such as 9600-9700";
      });
  app.add_flag("-r,--config.reload.automatic", cli.reload_automatic, "Accepted for Logstash compatibility; ignored");
  app.add_option("-l,--path.logs", cli.path_logs, "Accepted for Logstash compatibility; sluice logs to stderr");
  app.add_flag("-V,--version", cli.version, "Print the version and exit");
  app.add_flag("--print-plugin-reference", cli.plugin_reference,
               "Print the reference of every plugin and its options (Markdown) and exit");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);  // prints help / the error with a hint
    return code == 0 ? kExitOk : kExitUsage;
  }
  cli.has_path_config = f->count() > 0;
  cli.has_config_string = e->count() > 0;
  if (api_enabled->count() > 0) {
    bool value = true;
    if (!parse_bool_text(api_enabled_text, value)) {
      std::cerr << "--api.enabled: expects true or false, found `" << api_enabled_text << "`\n"
                << "Run with --help for more information." << std::endl;
      return kExitUsage;
    }
    cli.api_enabled = value;
  }

  if (cli.version) {
    std::cout << "sluice " << SLUICE_VERSION << std::endl;
    return kExitOk;
  }
  if (cli.plugin_reference) {
    std::cout << sluice::plugin_reference_markdown();
    return kExitOk;
  }
  if (cli.has_path_config && cli.has_config_string) {
    std::cerr << "ERROR: Settings 'path.config' (-f) and 'config.string' (-e) can't be used simultaneously."
              << std::endl;
    return kExitError;
  }

  sluice::logging::init(cli.log_level.empty() ? "info" : cli.log_level);
  auto log = sluice::logging::get("sluice.runner");
  if (cli.reload_automatic) log->warn("config.reload.automatic is not supported; the config is read once");
  if (!cli.path_logs.empty()) log->warn("path.logs is ignored; sluice logs to stderr");

  NodeSettings node;
  sluice::config::Warnings warnings;
  std::vector<PipelineSource> sources;
  try {
    if (!cli.path_settings.empty()) {
      if (!fs::is_directory(cli.path_settings)) {
        std::cerr << "ERROR: --path.settings: `" << cli.path_settings << "` is not a directory" << std::endl;
        return kExitError;
      }
      if (auto file = settings_file(cli.path_settings)) {
        node = sluice::config::load_node_settings(*file, warnings);
      } else {
        log->warn("Could not find sluice.yml (or logstash.yml) in {}; using the defaults", cli.path_settings);
      }
    }
    apply_command_line(cli, node);
    sluice::logging::set_level(node.log_level);
    sources = pipeline_sources(cli, node, warnings);
  } catch (const ConfigError& error) {
    log_warnings(warnings);
    print_errors(error);
    return kExitError;
  }
  log_warnings(warnings);

  if (sources.empty()) {
    std::cerr << kNoConfigMessage << "\nusage: sluice -f CONFIG_PATH | -e CONFIG_STRING | --path.settings DIR "
                                     "[options]; see sluice --help"
              << std::endl;
    return kExitError;
  }
  if (cli.test_and_exit) return test_configs(sources);

  sluice::Agent::block_shutdown_signals();  // before any thread exists (plugins, API)
  sluice::Agent agent(node);
  try {
    agent.build(sources);
  } catch (const ConfigError& error) {
    log->error("Failed to build the pipelines:\n{}", error.what());
    return kExitError;
  }
  return agent.run();
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a closed stdout/socket is an output error, not a process kill
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "ERROR: " << e.what() << std::endl;
    return kExitError;
  }
}
