// Which bytes of one file are safely done: the file is read in chunks (consecutive byte ranges,
// each ending at a line boundary); acknowledgements arrive in any order (several workers), and the
// committed position only advances over the contiguous prefix of acknowledged chunks. Not
// thread-safe: the file input guards it with its own mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

namespace sluice::file_input {

class ChunkTracker {
 public:
  explicit ChunkTracker(uint64_t committed = 0) : committed_(committed) {}

  // Registers the next chunk, which ends at `end_offset` (exclusive); returns its sequence number.
  uint64_t add(uint64_t end_offset);
  // Marks the chunk done. Returns true when the committed position advanced. Unknown or stale
  // sequences (from before a rebase) are ignored.
  bool ack(uint64_t sequence);
  // Forgets every pending chunk and restarts at `position` (truncated file, or a new start).
  void rebase(uint64_t position);

  uint64_t committed() const { return committed_; }
  // Chunks registered and not yet committed (acked ones waiting behind a gap count too).
  size_t pending() const { return chunks_.size(); }

 private:
  enum class State : uint8_t { Pending, Acked };
  struct Chunk {
    uint64_t end;
    State state;
  };
  std::deque<Chunk> chunks_;  // chunks_[i] has sequence first_sequence_ + i
  uint64_t first_sequence_ = 0;
  uint64_t committed_;
};

}  // namespace sluice::file_input
