#include "runtime/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>

namespace sluice::logging {

namespace {

// Upper-case level padded to five, as Logstash prints it ("INFO ", "WARN ", "ERROR").
class LevelFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const char* text = "INFO ";
    switch (msg.level) {
      case spdlog::level::trace: text = "TRACE"; break;
      case spdlog::level::debug: text = "DEBUG"; break;
      case spdlog::level::info: text = "INFO "; break;
      case spdlog::level::warn: text = "WARN "; break;
      case spdlog::level::err: text = "ERROR"; break;
      case spdlog::level::critical: text = "FATAL"; break;
      default: text = "     "; break;
    }
    dest.append(text, text + 5);
  }
  std::unique_ptr<spdlog::custom_flag_formatter> clone() const override { return std::make_unique<LevelFlag>(); }
};

std::mutex& loggers_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::shared_ptr<spdlog::sinks::stderr_sink_mt> shared_sink() {
  static auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return sink;
}

bool to_spdlog_level(std::string_view level, spdlog::level::level_enum& out) {
  if (level == "trace") out = spdlog::level::trace;
  else if (level == "debug") out = spdlog::level::debug;
  else if (level == "info") out = spdlog::level::info;
  else if (level == "warn") out = spdlog::level::warn;
  else if (level == "error") out = spdlog::level::err;
  else if (level == "fatal") out = spdlog::level::critical;
  else return false;
  return true;
}

std::unique_ptr<spdlog::formatter> make_formatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<LevelFlag>('*').set_pattern("[%Y-%m-%dT%H:%M:%S,%e][%*][%n] %v");
  return formatter;
}

void ensure_formatter_installed() {
  static std::once_flag once;
  std::call_once(once, [] {
    spdlog::set_formatter(make_formatter());
    auto main_logger = std::make_shared<spdlog::logger>("sluice", shared_sink());
    main_logger->set_formatter(make_formatter());
    main_logger->set_level(spdlog::get_level());
    spdlog::set_default_logger(main_logger);
  });
}

}  // namespace

bool set_level(std::string_view level) {
  spdlog::level::level_enum value;
  if (!to_spdlog_level(level, value)) return false;
  ensure_formatter_installed();
  spdlog::set_level(value);  // applies to every registered logger and to those created later
  return true;
}

bool init(std::string_view level) {
  spdlog::level::level_enum value;
  if (!to_spdlog_level(level, value)) return false;
  std::lock_guard lock(loggers_mutex());
  ensure_formatter_installed();
  spdlog::set_level(value);
  spdlog::flush_on(spdlog::level::warn);
  return true;
}

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  std::lock_guard lock(loggers_mutex());
  ensure_formatter_installed();
  if (auto existing = spdlog::get(component)) return existing;
  auto logger = std::make_shared<spdlog::logger>(component, shared_sink());
  spdlog::initialize_logger(logger);  // takes the registry's level and formatter
  return logger;
}

}  // namespace sluice::logging
