// Runs the compiled plan over one batch at a time: the filters (branches by partitioning the
// batch), then the outputs, then frees every event, which releases its acknowledgement hold.
// One BatchRunner per worker thread; it keeps its scratch storage between batches.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "runtime/metrics.h"
#include "runtime/plan.h"
#include "runtime/plugin.h"

namespace sluice {

class BatchRunner final : public FilterContext {
 public:
  BatchRunner(Plan& plan, PipelineMetrics& metrics, std::string pipeline_id);

  // Processes the events (taking ownership: all are freed when it returns; `events` is left
  // empty with its capacity kept).
  void process(std::vector<Event*>& events);

  // Calls flush() of the filters (all of them when `final`, else those with periodic flush);
  // the events they emit go through the rest of the plan and the outputs.
  void flush_filters(bool final);
  // Calls flush() of every output (serialized like write()).
  void flush_outputs();
  // Calls caught_up() of every output (serialized like write()).
  void outputs_caught_up();

  // FilterContext
  Event* new_event() override;
  void emit(Event* event) override;

 private:
  using Selection = std::vector<uint32_t>;
  struct Scratch {
    Selection remaining, matched, result;
  };
  enum class Mode { Events, PeriodicFlush, FinalFlush };

  void run_nodes(const std::vector<PlanNode>& nodes, Selection& selection, size_t depth, Mode mode);
  void run_filter(FilterStage& stage, Selection& selection, Mode mode);
  void run_output(OutputStage& stage, Selection& selection);
  void run_if(const PlanNode& node, Selection& selection, size_t depth, Mode mode);
  void take_emitted(FilterStage& stage, Selection& selection);
  void route_to_dead_letters(Selection& selection);
  void condition_failed(const PlanNode::Branch& branch, Event& event, const std::string& message);
  void plugin_failed(const char* kind, const std::string& id, PluginMetrics* metrics, const char* what);
  void free_all();
  template <typename Call>
  void for_each_output(Call call);  // call(Output&), serialized like write(), failures reported

  Plan& plan_;
  PipelineMetrics& metrics_;
  std::string pipeline_id_;

  std::vector<Event*> events_;   // the batch; emitted events are appended; freed slots are null
  std::vector<uint32_t> emitted_;
  std::vector<Event*> pointers_;  // the selection's events, handed to a plugin
  std::vector<char> matched_;
  std::deque<Scratch> scratch_;   // one per nesting depth (deque: stable references)
  std::string error_message_;
  int64_t last_plugin_error_log_ms_ = 0;
};

}  // namespace sluice
