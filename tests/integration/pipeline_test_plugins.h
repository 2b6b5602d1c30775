// Test-only plugins for the runtime's integration tests (registered by pipeline_test_plugins.cpp):
//   input  rt_source  { key => "k" count => N chunk => C message => "m" preset_type => "t" }  events with [seq] = 0..N-1
//          (count 0 = until stopped), one AckToken per chunk of C events; acks are recorded.
//          unit_events => K (K >= 0): pushes raw units instead (InputContext::push_unit), each decoded on a
//          worker into K events with [decoded_on] = the decoding thread.
//   filter rt_mark    { field => "f" value => "v" }    sets the field, returns true (matched)
//   filter rt_clone   { copies => 1 }                  emits copies with [clone] = true
//   filter rt_drop    { }                              cancels every event
//   filter rt_flusher { }                              emits one event {message => "flushed"} at the final flush
//   filter rt_throw   { }                              throws from filter()
//   output rt_collect { key => "k" delay_ms => 0 slow_seq => -1 throw => false }  records the events it gets
//          (each write() sleeps delay_ms; with slow_seq >= 0 only one holding that [seq]) and
//          whether any arrived already acknowledged, and its caught_up() calls.
// State is shared through SourceState / CollectState looked up by key.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "runtime/pipeline.h"
#include "test_support.h"

namespace sluice::rt_test {

struct SourceState {
  std::mutex mutex;
  std::set<uint64_t> acked_chunks;
  std::atomic<uint64_t> acked_events{0};
  std::atomic<uint64_t> pushed{0};
  std::atomic<uint64_t> chunks_created{0};
  std::atomic<bool> run_returned{false};
  std::string input_thread;  // set by run() before its first push
  bool chunk_acked(uint64_t chunk) {
    std::lock_guard lock(mutex);
    return acked_chunks.count(chunk) > 0;
  }
};

struct Collected {
  std::string message;
  int64_t seq = -1;
  std::string json;  // the whole event as JSON (without @metadata)
  std::vector<std::string> tags;
  std::string type;
  std::string decoded_on;  // [decoded_on] (rt_source with unit_events)
  std::string written_on;  // the thread that ran the output's write()
};

std::string this_thread_text();

struct CollectState {
  std::mutex mutex;
  std::vector<Collected> events;
  std::atomic<uint64_t> arrived_already_acked{0};
  std::atomic<int> concurrent{0};
  std::atomic<int> max_concurrent{0};
  int caught_ups = 0;                       // caught_up() calls (under mutex)
  size_t collected_at_last_caught_up = 0;  // events.size() at the latest one
  size_t size() {
    std::lock_guard lock(mutex);
    return events.size();
  }
  std::vector<Collected> snapshot() {
    std::lock_guard lock(mutex);
    return events;
  }
};

std::shared_ptr<SourceState> source(const std::string& key);    // created on first use
std::shared_ptr<CollectState> collector(const std::string& key);  // created on first use
std::string unique_key(const std::string& prefix);                // fresh key per test

// Polls until the probe holds (10 s by default).
inline bool test_wait(const std::function<bool()>& probe, int ms = 10000) {
  return test::wait_until(probe, std::chrono::milliseconds(ms));
}

PipelineSettings settings(int workers = 2, int batch_size = 16, int batch_delay_ms = 5);
std::unique_ptr<Pipeline> make_pipeline(const std::string& config_text, PipelineSettings s = settings(),
                                        PipelineBus* bus = nullptr);

}  // namespace sluice::rt_test
