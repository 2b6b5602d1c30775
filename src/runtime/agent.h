// The process: every pipeline of pipelines.yml (or the one of -f/-e), the monitoring API, and
// the shutdown sequence on SIGINT/SIGTERM.
//
// Shutdown: the first SIGINT/SIGTERM asks every pipeline to stop (inputs stop, queues drain,
// outputs flush); the process exits 0 once all have finished, or 1 when they have not within
// the shutdown timeout. A second signal exits at once (130 for SIGINT, 1 for SIGTERM).
// Signals are read from a signalfd by the agent's loop: nothing runs in a signal handler.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/settings.h"
#include "runtime/monitoring_api.h"
#include "runtime/pipeline.h"

namespace sluice {

class MonitoringApi;

class Agent {
 public:
  explicit Agent(config::NodeSettings node);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Blocks SIGINT, SIGTERM and SIGHUP in the calling thread, so that every thread started after
  // it inherits the mask and the agent's signalfd is the only reader. Call it in main() before
  // any thread exists (before build()).
  static void block_shutdown_signals();

  // Parses and compiles every pipeline. Throws config::ConfigError listing the errors of all
  // pipelines that failed (one "FILE:LINE:COL: error: ..." per line).
  void build(const std::vector<config::PipelineSource>& sources);

  // Starts the monitoring API (when enabled) and the pipelines; returns the exit code once
  // all pipelines have finished or were stopped by a signal.
  int run();

  void set_shutdown_timeout(std::chrono::milliseconds timeout) { shutdown_timeout_ = timeout; }
  std::vector<PipelineView> views() const;
  const NodeInfo& node_info() const { return node_info_; }

 private:
  void request_stop_all();

  config::NodeSettings node_;
  NodeInfo node_info_;
  std::chrono::milliseconds shutdown_timeout_{60000};
  std::unique_ptr<PipelineBus> bus_;
  std::vector<std::unique_ptr<Pipeline>> pipelines_;  // in pipelines.yml order
  std::unique_ptr<MonitoringApi> api_;
};

// The node's persistent id: read from PATH_DATA/uuid, written there when absent (as Logstash
// does). The directory is created only when `create_dir` (path.data was configured), so a
// plain run leaves no ./data behind; without it the id is a fresh random one each run.
std::string load_or_create_node_uuid(const std::string& path_data, bool create_dir);
std::string random_uuid();

}  // namespace sluice
