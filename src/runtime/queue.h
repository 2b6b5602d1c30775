// The bounded in-memory queue between a pipeline's inputs and its workers. Bounded by
// events AND bytes (Event::approx_bytes): a full queue blocks the pushing input
// (backpressure), and the time it waited is counted. Inputs push small groups and
// workers take whole batches, so the lock is taken once per group / batch, not per event.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "core/event.h"
#include "core/event_pool.h"
#include "runtime/metrics.h"

namespace sluice {

class EventQueue {
 public:
  // An event, or raw units a worker decodes (RawUnit): each unit counts as one event.
  struct Item {
    Event* event = nullptr;
    RawUnit* unit = nullptr;
    uint32_t bytes = 0;
    uint32_t events = 1;  // 1, or the unit count of `unit`
  };

  // max_events >= 1; max_bytes >= 1. `metrics` (optional) receives queue_events/queue_bytes
  // and queue_push_duration_nanos.
  EventQueue(size_t max_events, size_t max_bytes, PipelineMetrics* metrics = nullptr);
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;
  ~EventQueue();  // frees events still queued, without acknowledging them (they were never processed)

  // Moves all of `group` into the queue, waiting for room as needed; `group` is left empty.
  // An event larger than the byte bound is admitted alone into an empty queue. Returns false
  // when the queue was closed before everything fit: the events not queued stay in `group`.
  bool push(std::vector<Item>& group);
  // All or nothing: moves all of `group` in once there is room for the whole group (within its
  // byte bound, or into an empty queue), waiting up to `timeout`. Returns false, leaving `group`
  // untouched, on timeout, when closed, or when the group has more events than the queue holds.
  bool try_push_all(std::vector<Item>& group, std::chrono::milliseconds timeout);

  // Takes up to `max` events into `out` (appended; a packed item is taken whole, so one item
  // may exceed `max` when it comes first). Waits up to `idle_wait` for a first event, then up to
  // `fill_delay` for the batch to fill. Returns the number of events taken; 0 with drained()
  // true means the queue is closed and empty.
  size_t pop_batch(std::vector<Item>& out, size_t max, std::chrono::milliseconds fill_delay,
                   std::chrono::milliseconds idle_wait);
  // The same for a queue that holds events only (raw units would be an error: they are freed).
  size_t pop_batch(std::vector<Event*>& out, size_t max, std::chrono::milliseconds fill_delay,
                   std::chrono::milliseconds idle_wait);

  // An input has nothing more for now: until the next push, pop_batch does not wait for a
  // batch to fill.
  void inputs_idle();
  // No more pushes are accepted; pop_batch drains what is left.
  void close();
  bool closed() const;
  bool drained() const;  // closed and empty

  size_t size() const;  // events (a packed item counts its units)
  size_t bytes() const;
  size_t max_events() const { return capacity_; }
  size_t max_bytes() const { return max_bytes_; }

 private:
  bool has_room(const Item& item) const;  // with mutex_ held
  bool has_room_for(size_t events, size_t bytes) const;  // with mutex_ held
  bool worth_waking_pushers() const;    // with mutex_ held
  void publish_metrics();               // with mutex_ held

  const size_t capacity_;
  const size_t max_bytes_;
  PipelineMetrics* metrics_;

  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::vector<Item> ring_;
  size_t head_ = 0;   // next to pop
  size_t items_ = 0;  // ring slots in use
  size_t count_ = 0;  // events in them
  size_t bytes_ = 0;
  // Wake-ups are rationed (each costs two context switches): an idle worker is woken by any
  // push, a worker waiting for a fuller batch only once it can fill it (or the queue is full),
  // and blocked inputs only once half of the queue is free.
  size_t idle_poppers_ = 0;
  size_t filling_poppers_ = 0;
  size_t fill_target_ = 0;
  size_t waiting_pushers_ = 0;
  bool closed_ = false;
  bool inputs_idle_ = false;  // set by inputs_idle(), cleared by the next push
};

}  // namespace sluice
