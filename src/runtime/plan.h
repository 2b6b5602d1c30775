// The compiled filter and output sections of a pipeline: plugin stages (instances with their
// decoration, metrics and, for outputs, the mutex that serializes non-thread-safe ones) and
// the tree of statements over them (plugins and `if / else if / else` with compiled
// conditions). Built once; executed by BatchRunner (worker.h) on every batch.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/ast.h"
#include "runtime/conditions.h"
#include "runtime/decorate.h"
#include "runtime/dlq.h"
#include "runtime/metrics.h"
#include "runtime/plugin.h"

namespace sluice {

struct FilterStage {
  std::string id;
  std::string name;
  std::unique_ptr<Filter> filter;
  Decoration decoration;
  PluginMetrics* metrics = nullptr;
  bool periodic_flush = false;  // the filter asks for it, or `periodic_flush => true`
};

struct OutputStage {
  std::string id;
  std::string name;
  std::unique_ptr<Output> output;
  std::unique_ptr<std::mutex> serial;  // set when the output is not thread_safe()
  PluginMetrics* metrics = nullptr;
};

struct PlanNode {
  enum class Kind { Filter, Output, If };
  struct Branch {
    std::unique_ptr<Condition> condition;  // null for `else`
    std::vector<PlanNode> body;
    // Rate limit of the evaluation-error log line of this condition (steady ms).
    mutable std::atomic<int64_t> last_error_log_ms{0};
    mutable std::atomic<uint64_t> suppressed_errors{0};
  };

  Kind kind = Kind::Filter;
  size_t stage = 0;  // index into Plan::filters or Plan::outputs
  std::vector<std::unique_ptr<Branch>> branches;  // Kind::If: if, else if..., optional else
};

struct Plan {
  std::vector<FilterStage> filters;
  std::vector<OutputStage> outputs;
  std::vector<PlanNode> filter_nodes;
  std::vector<PlanNode> output_nodes;
  // Filter failures that go to the dead letter queue instead of the outputs (inactive by default).
  DeadLetterRouting dead_letters;
};

// At most how many events a worker takes through the whole pipeline (decoding, filters, outputs,
// free) at a time: a chunk's events stay in the core's cache from stage to stage, where a whole batch
// of parsed events (125 apache lines take about 560 KB) would not fit and every stage would
// fetch them again. 0 when some plugin needs whole batches (Filter/Output::needs_whole_batches):
// then each batch goes through at once.
inline constexpr size_t kChunkEvents = 32;
size_t chunk_events_for(const Plan& plan);

// Builds the statement tree of one section. `add_stage` instantiates the plugin of a block
// (in the section's kind) and returns its stage index; conditions are compiled here.
// Throws config::ConfigError.
std::vector<PlanNode> build_plan_nodes(const config::StatementList& statements, PlanNode::Kind plugin_kind,
                                       const std::function<size_t(const config::PluginBlock&)>& add_stage);

}  // namespace sluice
