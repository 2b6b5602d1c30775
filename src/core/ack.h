// End-to-end acknowledgement. An input groups the events it read into chunks; each
// chunk has one AckToken counting its live events. An event releases its hold when it
// dies: after every output took it, or when it was dropped or sent to the DLQ. An
// output that keeps events past write() (batching, retries) takes its own hold first.
// When the count reaches zero the listener hears of it (e.g. the file input advances
// its sincedb over that chunk), then the token deletes itself.
#pragma once

#include <atomic>
#include <cstdint>

namespace sluice {

class AckListener {
 public:
  virtual ~AckListener() = default;
  // Called once per token, from whichever thread released the last hold.
  virtual void acked(uint64_t chunk_id) = 0;
};

class AckToken {
 public:
  // Starts with one hold, owned by the creating input; it retains one per event and
  // releases its own hold once the chunk is handed over.
  static AckToken* create(AckListener* listener, uint64_t chunk_id) { return new AckToken(listener, chunk_id); }
  void retain(int n = 1) { holds_.fetch_add(n, std::memory_order_relaxed); }
  void release(int n = 1) {
    if (holds_.fetch_sub(n, std::memory_order_acq_rel) == n) {
      if (listener_) listener_->acked(chunk_id_);
      delete this;
    }
  }
  uint64_t chunk_id() const { return chunk_id_; }

 private:
  AckToken(AckListener* l, uint64_t id) : listener_(l), chunk_id_(id) {}
  std::atomic<int> holds_{1};
  AckListener* listener_;
  uint64_t chunk_id_;
};

// An owned hold on a token (movable, releases on destruction). Null token = nothing to ack.
class AckHold {
 public:
  AckHold() = default;
  explicit AckHold(AckToken* t) : token_(t) {}  // adopts an existing hold
  static AckHold retain(AckToken* t) { if (t) t->retain(); return AckHold(t); }
  AckHold(AckHold&& o) noexcept : token_(o.token_) { o.token_ = nullptr; }
  AckHold& operator=(AckHold&& o) noexcept { if (this != &o) { reset(); token_ = o.token_; o.token_ = nullptr; } return *this; }
  AckHold(const AckHold&) = delete;
  AckHold& operator=(const AckHold&) = delete;
  ~AckHold() { reset(); }
  void reset() { if (token_) { token_->release(); token_ = nullptr; } }
  AckToken* get() const { return token_; }
  explicit operator bool() const { return token_ != nullptr; }

 private:
  AckToken* token_ = nullptr;
};

}  // namespace sluice
