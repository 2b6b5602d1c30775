#include "plugins/inputs/file/chunk_tracker.h"

namespace sluice::file_input {

uint64_t ChunkTracker::add(uint64_t end_offset) {
  chunks_.push_back({end_offset, State::Pending});
  return first_sequence_ + chunks_.size() - 1;
}

bool ChunkTracker::ack(uint64_t sequence) {
  if (sequence < first_sequence_ || sequence - first_sequence_ >= chunks_.size()) return false;
  Chunk& chunk = chunks_[sequence - first_sequence_];
  if (chunk.state != State::Pending) return false;
  chunk.state = State::Acked;
  bool advanced = false;
  while (!chunks_.empty() && chunks_.front().state == State::Acked) {
    committed_ = chunks_.front().end;
    chunks_.pop_front();
    ++first_sequence_;
    advanced = true;
  }
  return advanced;
}

void ChunkTracker::rebase(uint64_t position) {
  first_sequence_ += chunks_.size();
  chunks_.clear();
  committed_ = position;
}

}  // namespace sluice::file_input
