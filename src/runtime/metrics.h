// Counters the monitoring API reads. Written by workers with relaxed atomics; read at any time.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sluice {

struct PluginMetrics {
  std::string id;
  std::string name;  // plugin name, e.g. "grok"
  std::string kind;  // "input", "filter", "output", "codec"
  std::atomic<uint64_t> events_in{0};
  std::atomic<uint64_t> events_out{0};
  std::atomic<uint64_t> duration_nanos{0};  // time spent inside the plugin
  std::atomic<uint64_t> failures{0};        // e.g. failure tags added, write errors
  // Plugin-specific counters shown in the API (e.g. "matches", "cache_hits").
  std::atomic<uint64_t>& counter(const std::string& name);
  std::vector<std::pair<std::string, uint64_t>> counters() const;

 private:
  mutable std::mutex mutex_;
  std::deque<std::pair<std::string, std::atomic<uint64_t>>> counters_;  // deque: stable addresses
};

// The dead letter queue of a pipeline (Logstash's `dead_letter_queue` stats).
struct DeadLetterQueueMetrics {
  bool enabled = false;
  std::string storage_policy;
  uint64_t max_bytes = 0;
  std::atomic<uint64_t> queue_size_bytes{0};
  std::atomic<uint64_t> events_written{0};
  std::atomic<uint64_t> dropped_events{0};  // refused (drop_newer) or failed writes
  std::atomic<uint64_t> expired_events{0};  // removed to make room (drop_older)
  void set_last_error(std::string message);
  std::string last_error() const;

 private:
  mutable std::mutex mutex_;
  std::string last_error_;
};

struct PipelineMetrics {
  std::string id;
  std::atomic<uint64_t> events_in{0};        // pushed by inputs
  std::atomic<uint64_t> events_filtered{0};  // left the filters
  std::atomic<uint64_t> events_out{0};       // taken by the outputs
  std::atomic<uint64_t> duration_nanos{0};   // worker time spent on batches
  std::atomic<uint64_t> queue_push_duration_nanos{0};  // inputs blocked on a full queue
  std::atomic<int64_t> queue_events{0};      // currently queued
  std::atomic<int64_t> queue_bytes{0};
  uint64_t queue_max_events = 0, queue_max_bytes = 0;
  std::atomic<int64_t> started_at_millis{0};  // wall clock, set by start()
  std::atomic<uint64_t> reloads_successes{0}, reloads_failures{0};
  // Events whose `if` condition failed to evaluate (e.g. a number compared with a string): the
  // condition counted as false for them and they got the tag `_conditional_evaluation_error`.
  std::atomic<uint64_t> conditional_errors{0};
  std::atomic<uint64_t> plugin_errors{0};  // exceptions thrown by filters/outputs (logged)
  DeadLetterQueueMetrics dead_letter_queue;
  std::vector<std::unique_ptr<PluginMetrics>> plugins;  // fixed once the pipeline is built
  PluginMetrics* add_plugin(std::string id, std::string name, std::string kind);
};

}  // namespace sluice
