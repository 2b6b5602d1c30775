// The batch executor (see worker.h).
#include "runtime/worker.h"

#include <algorithm>
#include <chrono>

#include "core/event_pool.h"
#include "runtime/logging.h"

namespace sluice {

namespace {

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint64_t elapsed_nanos(std::chrono::steady_clock::time_point since) {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - since).count());
}

constexpr int64_t kErrorLogIntervalMs = 10000;

// An event an output failed to take must not count as done: an extra hold that is never
// released keeps its chunk from being acknowledged, so the source delivers it again.
void pin_ack(Event* event) {
  if (AckToken* token = event->ack_token()) token->retain();
}

}  // namespace

BatchRunner::BatchRunner(Plan& plan, PipelineMetrics& metrics, std::string pipeline_id)
    : plan_(plan), metrics_(metrics), pipeline_id_(std::move(pipeline_id)) {}

Event* BatchRunner::new_event() { return sluice::new_event(); }

void BatchRunner::emit(Event* event) {
  if (!event) return;
  emitted_.push_back(uint32_t(events_.size()));
  events_.push_back(event);
}

void BatchRunner::process(std::vector<Event*>& events) {
  auto started = std::chrono::steady_clock::now();
  events_.swap(events);
  Selection& selection = scratch_.empty() ? scratch_.emplace_back().result : scratch_.front().result;
  // The top level uses scratch_[0].result as its selection; nested ifs use deeper levels.
  selection.clear();
  for (uint32_t i = 0; i < events_.size(); ++i) selection.push_back(i);
  run_nodes(plan_.filter_nodes, selection, 1, Mode::Events);
  if (plan_.dead_letters.active()) route_to_dead_letters(selection);
  metrics_.events_filtered.fetch_add(selection.size(), std::memory_order_relaxed);
  run_nodes(plan_.output_nodes, selection, 1, Mode::Events);
  metrics_.events_out.fetch_add(selection.size(), std::memory_order_relaxed);
  free_all();
  events.swap(events_);
  events.clear();
  metrics_.duration_nanos.fetch_add(elapsed_nanos(started), std::memory_order_relaxed);
}

void BatchRunner::flush_filters(bool final) {
  if (scratch_.empty()) scratch_.emplace_back();
  Selection& selection = scratch_.front().result;
  selection.clear();
  events_.clear();
  run_nodes(plan_.filter_nodes, selection, 1, final ? Mode::FinalFlush : Mode::PeriodicFlush);
  if (plan_.dead_letters.active()) route_to_dead_letters(selection);
  if (!selection.empty()) {
    metrics_.events_filtered.fetch_add(selection.size(), std::memory_order_relaxed);
    run_nodes(plan_.output_nodes, selection, 1, Mode::Events);
    metrics_.events_out.fetch_add(selection.size(), std::memory_order_relaxed);
  }
  free_all();
}

template <typename Call>
void BatchRunner::for_each_output(Call call) {
  for (OutputStage& stage : plan_.outputs) {
    try {
      if (stage.serial) {
        std::lock_guard lock(*stage.serial);
        call(*stage.output);
      } else {
        call(*stage.output);
      }
    } catch (const std::exception& e) {
      plugin_failed("output", stage.id, stage.metrics, e.what());
    }
  }
}

void BatchRunner::flush_outputs() {
  for_each_output([](Output& output) { output.flush(); });
}

void BatchRunner::outputs_caught_up() {
  for_each_output([](Output& output) { output.caught_up(); });
}

void BatchRunner::free_all() {
  for (Event*& event : events_) {
    if (event) free_event(event);
    event = nullptr;
  }
  events_.clear();
}

void BatchRunner::run_nodes(const std::vector<PlanNode>& nodes, Selection& selection, size_t depth, Mode mode) {
  for (const PlanNode& node : nodes) {
    if (selection.empty() && mode == Mode::Events) return;
    switch (node.kind) {
      case PlanNode::Kind::Filter: run_filter(plan_.filters[node.stage], selection, mode); break;
      case PlanNode::Kind::Output: run_output(plan_.outputs[node.stage], selection); break;
      case PlanNode::Kind::If: run_if(node, selection, depth, mode); break;
    }
  }
}

void BatchRunner::take_emitted(FilterStage& stage, Selection& selection) {
  for (uint32_t index : emitted_) {
    Event* event = events_[index];
    if (event->cancelled()) {
      free_event(event);
      events_[index] = nullptr;
      continue;
    }
    stage.decoration.apply(*event);
    selection.push_back(index);
  }
  emitted_.clear();
}

// Events that failed in the filters (a configured failure tag, a condition that could not be
// evaluated) go to the DLQ and leave the batch: freeing them releases their acks. An event the
// DLQ could not store (I/O error) goes on to the outputs instead.
void BatchRunner::route_to_dead_letters(Selection& selection) {
  const DeadLetterRouting& routing = plan_.dead_letters;
  size_t kept = 0;
  for (uint32_t index : selection) {
    Event* event = events_[index];
    std::string_view failure = routing.failure_of(*event);
    if (!failure.empty()) {
      std::string reason = fmt::format("event tagged {} after the filters", failure);
      if (routing.writer->write(*event, "pipeline", routing.pipeline_id, reason) != DeadLetterResult::Failed) {
        free_event(event);
        events_[index] = nullptr;
        continue;
      }
    }
    selection[kept++] = index;
  }
  selection.resize(kept);
}

void BatchRunner::run_filter(FilterStage& stage, Selection& selection, Mode mode) {
  auto started = std::chrono::steady_clock::now();
  size_t in = selection.size();
  if (!selection.empty()) {
    pointers_.clear();
    for (uint32_t index : selection) pointers_.push_back(events_[index]);
    emitted_.clear();
    try {
      stage.filter->filter_batch(std::span<Event* const>(pointers_), matched_, *this);
    } catch (const std::exception& e) {
      plugin_failed("filter", stage.id, stage.metrics, e.what());
      matched_.assign(pointers_.size(), 0);
    }
    if (matched_.size() < pointers_.size()) matched_.resize(pointers_.size(), 0);
    // Drop cancelled events now (releasing their acks); decorate the matched ones.
    size_t kept = 0;
    for (size_t k = 0; k < selection.size(); ++k) {
      uint32_t index = selection[k];
      Event* event = events_[index];
      if (event->cancelled()) {
        free_event(event);
        events_[index] = nullptr;
        continue;
      }
      if (matched_[k]) stage.decoration.apply(*event);
      selection[kept++] = index;
    }
    selection.resize(kept);
    take_emitted(stage, selection);
  }
  if (mode == Mode::FinalFlush || (mode == Mode::PeriodicFlush && stage.periodic_flush)) {
    emitted_.clear();
    try {
      stage.filter->flush(*this, mode == Mode::FinalFlush);
    } catch (const std::exception& e) {
      plugin_failed("filter", stage.id, stage.metrics, e.what());
    }
    take_emitted(stage, selection);
  }
  if (stage.metrics && (in > 0 || !selection.empty())) {
    stage.metrics->events_in.fetch_add(in, std::memory_order_relaxed);
    stage.metrics->events_out.fetch_add(selection.size(), std::memory_order_relaxed);
    stage.metrics->duration_nanos.fetch_add(elapsed_nanos(started), std::memory_order_relaxed);
  }
}

void BatchRunner::run_output(OutputStage& stage, Selection& selection) {
  if (selection.empty()) return;
  auto started = std::chrono::steady_clock::now();
  pointers_.clear();
  for (uint32_t index : selection) pointers_.push_back(events_[index]);
  try {
    if (stage.serial) {
      std::lock_guard lock(*stage.serial);
      stage.output->write(std::span<Event* const>(pointers_));
    } else {
      stage.output->write(std::span<Event* const>(pointers_));
    }
  } catch (const std::exception& e) {
    plugin_failed("output", stage.id, stage.metrics, e.what());
    for (Event* event : pointers_) pin_ack(event);
  }
  if (stage.metrics) {
    stage.metrics->events_in.fetch_add(pointers_.size(), std::memory_order_relaxed);
    stage.metrics->events_out.fetch_add(pointers_.size(), std::memory_order_relaxed);
    stage.metrics->duration_nanos.fetch_add(elapsed_nanos(started), std::memory_order_relaxed);
  }
}

void BatchRunner::run_if(const PlanNode& node, Selection& selection, size_t depth, Mode mode) {
  while (scratch_.size() <= depth) scratch_.emplace_back();
  Scratch& s = scratch_[depth];
  s.remaining = selection;
  s.result.clear();
  for (const auto& branch : node.branches) {
    if (s.remaining.empty() && mode == Mode::Events) break;
    s.matched.clear();
    if (branch->condition) {
      size_t kept = 0;
      for (uint32_t index : s.remaining) {
        Event* event = events_[index];
        switch (branch->condition->check(*event, &error_message_)) {
          case Condition::Outcome::True: s.matched.push_back(index); break;
          case Condition::Outcome::False: s.remaining[kept++] = index; break;
          case Condition::Outcome::Error:
            condition_failed(*branch, *event, error_message_);
            s.remaining[kept++] = index;
            break;
        }
      }
      s.remaining.resize(kept);
    } else {
      s.matched.swap(s.remaining);
      s.remaining.clear();
    }
    // The body runs one level deeper, so this level's vectors stay untouched meanwhile.
    run_nodes(branch->body, s.matched, depth + 1, mode);
    s.result.insert(s.result.end(), s.matched.begin(), s.matched.end());
  }
  s.result.insert(s.result.end(), s.remaining.begin(), s.remaining.end());
  // Indices follow the batch order (emitted events come last): sorting restores it.
  std::sort(s.result.begin(), s.result.end());
  selection.swap(s.result);
}

void BatchRunner::condition_failed(const PlanNode::Branch& branch, Event& event, const std::string& message) {
  event.add_tag(kConditionalErrorTag);
  metrics_.conditional_errors.fetch_add(1, std::memory_order_relaxed);
  int64_t now = steady_ms();
  int64_t last = branch.last_error_log_ms.load(std::memory_order_relaxed);
  if (now - last < kErrorLogIntervalMs && last != 0) {
    branch.suppressed_errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!branch.last_error_log_ms.compare_exchange_strong(last, now)) {
    branch.suppressed_errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  uint64_t suppressed = branch.suppressed_errors.exchange(0);
  logging::get("sluice.pipeline")
      ->warn("[{}] condition could not be evaluated, counted as false (event tagged {}): {}{}", pipeline_id_,
             kConditionalErrorTag, message,
             suppressed ? fmt::format(" ({} more since the last report)", suppressed) : std::string());
}

void BatchRunner::plugin_failed(const char* kind, const std::string& id, PluginMetrics* metrics, const char* what) {
  metrics_.plugin_errors.fetch_add(1, std::memory_order_relaxed);
  if (metrics) metrics->failures.fetch_add(1, std::memory_order_relaxed);
  int64_t now = steady_ms();
  if (last_plugin_error_log_ms_ != 0 && now - last_plugin_error_log_ms_ < 1000) return;
  last_plugin_error_log_ms_ = now;
  logging::get("sluice.pipeline")->error("[{}] {} {} failed: {}", pipeline_id_, kind, id, what);
}

}  // namespace sluice
