// Bounded event queue: a ring buffer of fixed capacity under one mutex.
#include "runtime/queue.h"

#include <algorithm>

#include "core/event_pool.h"

namespace sluice {

EventQueue::EventQueue(size_t max_events, size_t max_bytes, PipelineMetrics* metrics)
    : capacity_(std::max<size_t>(1, max_events)), max_bytes_(std::max<size_t>(1, max_bytes)), metrics_(metrics) {
  ring_.resize(capacity_);
}

EventQueue::~EventQueue() {
  std::lock_guard lock(mutex_);
  while (items_ > 0) {
    // Never processed: pin the chunk so the source does not take the event as done.
    Item& item = ring_[head_];
    if (item.event) {
      if (AckToken* token = item.event->ack_token()) token->retain();
      free_event(item.event);
    } else if (item.unit) {
      free_raw_unit(item.unit);  // its hold is never released: the chunk stays pinned
    }
    head_ = (head_ + 1) % capacity_;
    --items_;
  }
}

bool EventQueue::has_room(const Item& item) const {
  if (count_ == 0) return true;  // an oversize event (or pack) still goes through, alone
  // Items never outnumber events, so a free event is a free ring slot.
  if (count_ + item.events > capacity_) return false;
  return bytes_ + item.bytes <= max_bytes_;
}

bool EventQueue::has_room_for(size_t events, size_t bytes) const {
  if (count_ + events > capacity_) return false;
  if (count_ == 0) return true;
  return bytes_ + bytes <= max_bytes_;
}

bool EventQueue::try_push_all(std::vector<Item>& group, std::chrono::milliseconds timeout) {
  if (group.empty()) return true;
  size_t group_events = 0;
  size_t group_bytes = 0;
  for (const Item& item : group) {
    group_events += item.events;
    group_bytes += item.bytes;
  }
  if (group_events > capacity_) return false;
  std::unique_lock lock(mutex_);
  if (!closed_ && !has_room_for(group_events, group_bytes)) {
    auto blocked_since = std::chrono::steady_clock::now();
    ++waiting_pushers_;
    if (filling_poppers_ > 0) not_empty_.notify_all();
    not_full_.wait_for(lock, timeout, [&] { return closed_ || has_room_for(group_events, group_bytes); });
    --waiting_pushers_;
    if (metrics_) {
      auto waited = std::chrono::steady_clock::now() - blocked_since;
      metrics_->queue_push_duration_nanos.fetch_add(
          uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count()), std::memory_order_relaxed);
    }
  }
  if (closed_ || !has_room_for(group_events, group_bytes)) return false;
  for (const Item& item : group) {
    ring_[(head_ + items_) % capacity_] = item;
    bytes_ += item.bytes;
    count_ += item.events;
    ++items_;
  }
  inputs_idle_ = false;
  publish_metrics();
  const bool wake = idle_poppers_ > 0 || (filling_poppers_ > 0 && count_ >= fill_target_);
  lock.unlock();
  // Woken after the unlock: a waiter woken under the lock would only block on it again.
  if (wake) not_empty_.notify_all();
  group.clear();
  return true;
}

bool EventQueue::worth_waking_pushers() const {
  if (count_ == 0) return true;
  return count_ < capacity_ && (capacity_ - count_) * 2 >= capacity_ && bytes_ * 2 <= max_bytes_;
}

void EventQueue::publish_metrics() {
  if (!metrics_) return;
  metrics_->queue_events.store(int64_t(count_), std::memory_order_relaxed);
  metrics_->queue_bytes.store(int64_t(bytes_), std::memory_order_relaxed);
}

bool EventQueue::push(std::vector<Item>& group) {
  if (group.empty()) return true;
  size_t next = 0;
  bool wake = false;  // poppers to wake for what this call added
  std::unique_lock lock(mutex_);
  while (next < group.size()) {
    if (closed_) break;
    if (!has_room(group[next])) {
      auto blocked_since = std::chrono::steady_clock::now();
      ++waiting_pushers_;
      // The queue is full: no point waiting to fill, and what was added must not wait on us.
      if (wake || filling_poppers_ > 0) not_empty_.notify_all();
      wake = false;
      not_full_.wait(lock, [&] { return closed_ || has_room(group[next]); });
      --waiting_pushers_;
      if (metrics_) {
        auto waited = std::chrono::steady_clock::now() - blocked_since;
        metrics_->queue_push_duration_nanos.fetch_add(
            uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count()), std::memory_order_relaxed);
      }
      continue;
    }
    size_t moved_before = next;
    inputs_idle_ = false;
    while (next < group.size() && has_room(group[next])) {
      ring_[(head_ + items_) % capacity_] = group[next];
      bytes_ += group[next].bytes;
      count_ += group[next].events;
      ++items_;
      ++next;
    }
    publish_metrics();
    if (next > moved_before && (idle_poppers_ > 0 || (filling_poppers_ > 0 && count_ >= fill_target_))) wake = true;
  }
  bool complete = next == group.size();
  lock.unlock();
  if (wake) not_empty_.notify_all();
  if (complete) {
    group.clear();
  } else {
    group.erase(group.begin(), group.begin() + long(next));
  }
  return complete;
}

size_t EventQueue::pop_batch(std::vector<Event*>& out, size_t max, std::chrono::milliseconds fill_delay,
                             std::chrono::milliseconds idle_wait) {
  std::vector<Item> items;
  size_t n = pop_batch(items, max, fill_delay, idle_wait);
  for (Item& item : items) {
    if (item.event) out.push_back(item.event);
    if (item.unit) free_raw_unit(item.unit);
  }
  return n;
}

size_t EventQueue::pop_batch(std::vector<Item>& out, size_t max, std::chrono::milliseconds fill_delay,
                             std::chrono::milliseconds idle_wait) {
  if (max == 0) return 0;
  std::unique_lock lock(mutex_);
  if (count_ == 0 && !closed_) {
    ++idle_poppers_;
    not_empty_.wait_for(lock, idle_wait, [&] { return count_ > 0 || closed_; });
    --idle_poppers_;
  }
  if (count_ == 0) return 0;
  // Wait a little for a fuller batch, as Logstash's batch delay does; a closed queue has
  // nothing more coming, and a full one (inputs blocked) cannot grow.
  size_t target = std::min(max, capacity_);
  if (count_ < target && !closed_ && waiting_pushers_ == 0 && !inputs_idle_ && fill_delay.count() > 0) {
    ++filling_poppers_;
    fill_target_ = target;
    not_empty_.wait_for(lock, fill_delay,
                        [&] { return count_ >= target || closed_ || waiting_pushers_ > 0 || inputs_idle_; });
    --filling_poppers_;
  }
  size_t n = 0;
  while (items_ > 0) {
    Item& item = ring_[head_];
    if (n > 0 && n + item.events > max) break;
    out.push_back(item);
    n += item.events;
    bytes_ -= item.bytes;
    item = Item{};
    head_ = (head_ + 1) % capacity_;
    --items_;
  }
  count_ -= n;
  publish_metrics();
  const bool wake = waiting_pushers_ > 0 && worth_waking_pushers();
  lock.unlock();
  if (wake) not_full_.notify_all();
  return n;
}

void EventQueue::inputs_idle() {
  std::unique_lock lock(mutex_);
  inputs_idle_ = true;
  const bool wake = filling_poppers_ > 0;
  lock.unlock();
  if (wake) not_empty_.notify_all();
}

void EventQueue::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  not_empty_.notify_all();
  not_full_.notify_all();
}

bool EventQueue::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

bool EventQueue::drained() const {
  std::lock_guard lock(mutex_);
  return closed_ && count_ == 0;
}

size_t EventQueue::size() const {
  std::lock_guard lock(mutex_);
  return count_;
}

size_t EventQueue::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace sluice
