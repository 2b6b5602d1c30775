#include "runtime/agent.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "config/parser.h"
#include "runtime/bus.h"
#include "runtime/logging.h"

namespace sluice {

namespace {

int64_t wall_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

sigset_t shutdown_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "signal";
  }
}

// Leaves without running destructors: used when pipelines may still hold threads that will not end.
[[noreturn]] void exit_now(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  spdlog::shutdown();
  _exit(code);
}

}  // namespace

std::string random_uuid() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(wall_millis()));
  uint64_t hi = gen(), lo = gen();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
                     lo & 0xffffffffffffULL);
}

std::string load_or_create_node_uuid(const std::string& path_data, bool create_dir) {
  namespace fs = std::filesystem;
  fs::path file = fs::path(path_data) / "uuid";
  {
    std::ifstream in(file);
    std::string id;
    if (in && std::getline(in, id) && id.size() >= 8) return id;
  }
  std::string id = random_uuid();
  std::error_code ec;
  if (create_dir) fs::create_directories(path_data, ec);
  if (!fs::is_directory(path_data, ec)) return id;
  std::ofstream out(file, std::ios::trunc);
  if (out) out << id;
  return id;
}

Agent::Agent(config::NodeSettings node) : node_(std::move(node)), bus_(std::make_unique<PipelineBus>()) {
  node_info_.host = host_name();
  node_info_.name = node_.node_name.empty() ? node_info_.host : node_.node_name;
  node_info_.version = SLUICE_VERSION;
  node_info_.id = load_or_create_node_uuid(node_.pipeline_defaults.path_data, node_.path_data_set);
  node_info_.ephemeral_id = random_uuid();
  node_info_.started_at_millis = wall_millis();
  node_info_.defaults = node_.pipeline_defaults;
}

Agent::~Agent() {
  if (api_) api_->stop();  // before the pipelines it reads go away
  // All stop requests first (see the shutdown order in runtime/bus.h), then each is joined.
  request_stop_all();
  while (!pipelines_.empty()) pipelines_.pop_back();
  bus_.reset();
}

void Agent::block_shutdown_signals() {
  sigset_t set = shutdown_signal_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void Agent::build(const std::vector<config::PipelineSource>& sources) {
  auto log = logging::get("sluice.agent");
  std::string errors;
  for (const auto& source : sources) {
    try {
      config::PipelineConfig config = config::load_pipeline_config(source);
      pipelines_.push_back(std::make_unique<Pipeline>(source.settings, std::move(config), bus_.get()));
    } catch (const config::ConfigError& e) {
      if (!errors.empty()) errors += '\n';
      errors += e.what();
    }
  }
  if (!errors.empty()) throw config::ConfigError(errors);
}

std::vector<PipelineView> Agent::views() const {
  std::vector<PipelineView> views;
  views.reserve(pipelines_.size());
  for (const auto& p : pipelines_) views.push_back({&p->settings(), &p->metrics(), p->finished()});
  return views;
}

void Agent::request_stop_all() {
  for (auto& p : pipelines_) p->request_stop();
}

int Agent::run() {
  auto log = logging::get("sluice.agent");

  sigset_t signals = shutdown_signal_set();
  int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0) log->warn("cannot read signals (signalfd failed); SIGINT/SIGTERM will not drain the pipelines");

  if (node_.api_enabled) {
    api_ = std::make_unique<MonitoringApi>(node_info_, [this] { return views(); });
    std::string error;
    if (api_->start(node_.api_host, node_.api_port_first, node_.api_port_last, &error)) {
      log->info("Successfully started the monitoring API endpoint {{:port=>{}, :host=>\"{}\"}}", api_->port(),
                node_.api_host);
    } else {
      log->error("Monitoring API not started: {}", error);
      api_.reset();
    }
  }

  // Written by each pipeline as it ends, so the loop below sees the last one end at once (a
  // batch job's exit is not held up by the loop's 50 ms poll).
  int finished_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  for (auto& p : pipelines_) {
    if (finished_fd >= 0) {
      p->on_finished([finished_fd] {
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t written = write(finished_fd, &one, sizeof one);
      });
    }
  }
  for (auto& p : pipelines_) {
    try {
      p->start();
      log->info("Pipeline started {{\"pipeline.id\"=>\"{}\"}}", p->settings().id);
    } catch (const std::exception& e) {
      log->error("Pipeline {} failed to start: {}", p->settings().id, e.what());
      request_stop_all();
      exit_now(1);
    }
  }
  if (!pipelines_.empty()) {
    std::string ids;
    for (auto& p : pipelines_) ids += (ids.empty() ? "" : ", ") + p->settings().id;
    log->info("Pipelines running {{:count=>{}, :running_pipelines=>[{}]}}", pipelines_.size(), ids);
  }

  bool stopping = false;
  std::chrono::steady_clock::time_point deadline{};
  int first_signal = 0;
  std::thread stopper;
  while (true) {
    bool all_finished = true;
    for (auto& p : pipelines_) all_finished = all_finished && p->finished();
    if (all_finished) break;

    if (signal_fd >= 0) {
      pollfd pfds[2] = {{signal_fd, POLLIN, 0}, {finished_fd, POLLIN, 0}};
      poll(pfds, finished_fd >= 0 ? 2 : 1, 50);
      if (finished_fd >= 0) {
        uint64_t count = 0;
        [[maybe_unused]] ssize_t got = read(finished_fd, &count, sizeof count);
      }
      signalfd_siginfo info{};
      while (read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        int sig = static_cast<int>(info.ssi_signo);
        if (sig == SIGHUP) {
          log->warn("SIGHUP received: config reloading is not supported; ignoring");
          continue;
        }
        if (!stopping) {
          stopping = true;
          first_signal = sig;
          deadline = std::chrono::steady_clock::now() + shutdown_timeout_;
          log->warn("{} received. Shutting down.", signal_name(sig));
          // request_stop may wait on plugins; a helper thread keeps this loop free for a second signal.
          stopper = std::thread([this] { request_stop_all(); });
        } else {
          log->error("{} received again while shutting down: terminating immediately", signal_name(sig));
          exit_now(sig == SIGINT ? 130 : 1);
        }
      }
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (stopping && std::chrono::steady_clock::now() >= deadline) {
      log->error("Pipelines did not finish within {} s of {}; exiting without draining them",
                 shutdown_timeout_.count() / 1000, signal_name(first_signal));
      exit_now(1);
    }
  }
  if (stopper.joinable()) stopper.join();
  if (signal_fd >= 0) close(signal_fd);
  // Every pipeline has finished, and a pipeline calls back before finished() reads true.
  if (finished_fd >= 0) close(finished_fd);
  if (api_) api_->stop();
  log->info("sluice shut down.");
  return 0;
}

}  // namespace sluice
