// The creation time codecs give decoded events (@timestamp when the data carries none).
#pragma once

#include <cstdint>

#include "core/value.h"

namespace sluice::event_clock {

// A worker decoding a packed raw unit (up to 32 lines a file input read together) pins one
// clock reading for all of its events: a clock read costs ~60 ns in these VMs, about a
// twentieth of a passthrough line. Zero when nothing is pinned.
inline thread_local int64_t pinned_nanos = 0;

inline Timestamp now() { return pinned_nanos != 0 ? Timestamp{pinned_nanos} : Timestamp::now(); }

// Pins now() on this thread for its lifetime.
class Pin {
 public:
  Pin() { pinned_nanos = Timestamp::now().nanos; }
  ~Pin() { pinned_nanos = 0; }
  Pin(const Pin&) = delete;
  Pin& operator=(const Pin&) = delete;
};

}  // namespace sluice::event_clock
