// A running pipeline: inputs → bounded queue → workers (filters, outputs) → acks; and the
// process-wide set of pipelines (pipelines.yml) with pipeline-to-pipeline links.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/ast.h"
#include "runtime/metrics.h"
#include "runtime/plugin.h"

namespace sluice {

class PipelineBus;

class Pipeline {
 public:
  // Compiles the config (validates every plugin's options, builds the plan). Throws
  // config::ConfigError. Nothing runs until start().
  Pipeline(PipelineSettings settings, config::PipelineConfig config, PipelineBus* bus);
  ~Pipeline();
  void start();
  // Stops the inputs; the queue drains, in-flight batches finish, outputs flush and close.
  void request_stop();
  // Waits until the pipeline has ended (all inputs finished and the queue drained, or stopped).
  bool wait_for(int ms);
  bool finished() const;
  // Called once, on the pipeline's supervisor thread, as it ends, before finished() reads true
  // (set before start()): the agent's loop wakes at once instead of at its next poll. It runs
  // under the pipeline's state lock, so it must not call back into the pipeline.
  void on_finished(std::function<void()> callback);
  const PipelineSettings& settings() const;
  const PipelineMetrics& metrics() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// `-t`: parses and validates a pipeline config without running it. Throws config::ConfigError.
void check_pipeline_config(const PipelineSettings& settings, const config::PipelineConfig& config);

}  // namespace sluice
