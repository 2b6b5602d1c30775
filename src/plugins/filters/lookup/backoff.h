// Reconnect pacing for the lookup filters: after a failure the server is not tried again
// until a delay has passed, doubling per consecutive failure up to a ceiling, so a database
// that is down is probed a few times a minute instead of once per event. Thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "plugins/filters/lookup/lru_cache.h"

namespace sluice::lookup {

class Backoff {
 public:
  Backoff(int64_t initial_millis = 100, int64_t max_millis = 10000)
      : initial_nanos_(initial_millis * 1000000), max_nanos_(max_millis * 1000000) {}

  // True when an attempt may be made now (no failure, or the delay since the last one passed).
  bool ready(int64_t now_nanos = monotonic_nanos()) const {
    std::lock_guard lock(mutex_);
    return failures_ == 0 || now_nanos >= next_attempt_;
  }
  // Records a failed attempt; returns the delay before the next one, in milliseconds.
  int64_t failed(int64_t now_nanos = monotonic_nanos()) {
    std::lock_guard lock(mutex_);
    delay_ = failures_ == 0 ? initial_nanos_ : std::min(max_nanos_, delay_ * 2);
    ++failures_;
    next_attempt_ = now_nanos + delay_;
    return delay_ / 1000000;
  }
  void succeeded() {
    std::lock_guard lock(mutex_);
    failures_ = 0;
    delay_ = 0;
  }
  uint64_t consecutive_failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
  }

 private:
  mutable std::mutex mutex_;
  int64_t initial_nanos_, max_nanos_;
  int64_t delay_ = 0;
  int64_t next_attempt_ = 0;
  uint64_t failures_ = 0;
};

// Idle connections kept for reuse by the workers (each call takes one, or makes a new one,
// and gives it back when it is still healthy). At most `max_idle` are kept.
template <typename Conn>
class ConnectionPool {
 public:
  explicit ConnectionPool(size_t max_idle = 8) : max_idle_(max_idle) {}
  std::unique_ptr<Conn> take() {
    std::lock_guard lock(mutex_);
    if (idle_.empty()) return nullptr;
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return conn;
  }
  void give_back(std::unique_ptr<Conn> conn) {
    if (!conn) return;
    std::lock_guard lock(mutex_);
    if (idle_.size() < max_idle_) idle_.push_back(std::move(conn));
  }
  void clear() {
    std::lock_guard lock(mutex_);
    idle_.clear();
  }

 private:
  std::mutex mutex_;
  size_t max_idle_;
  std::vector<std::unique_ptr<Conn>> idle_;
};

}  // namespace sluice::lookup
