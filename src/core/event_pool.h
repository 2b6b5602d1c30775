// Recycles events so the steady state allocates nothing: an event keeps its field storage
// between uses. Thread-local caches exchange blocks with a bounded global list, so events
// made on one thread and freed on another come back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"

namespace sluice {

Event* new_event();          // empty (reset) event
void free_event(Event* e);   // resets it (releasing its ack hold) and recycles it

class UnitDecoder;
class Decoration;

// Framed units of input (lines read by the file input) whose decoding a worker does, so
// that the event is built, filtered, written and recycled on one core: handing built events
// from an input thread to a worker moves every field's memory across cores, which costs more
// than building them (see docs/architecture.md). One RawUnit packs a run of units with the
// same decoder, origin and chunk back to back: what crosses cores is then one contiguous
// buffer the hardware prefetches, not a header, a queue slot and a string per line. Pooled
// like events.
struct RawUnit {
  std::string bytes;           // the units, each followed by `gap` bytes but the last
  std::vector<uint32_t> ends;  // where each unit ends in `bytes`
  uint32_t gap = 0;            // bytes between units (a delimiter copied along with them)
  std::string origin;  // what the input gave with them (the file input: the file's path)
  const UnitDecoder* decoder = nullptr;
  const Decoration* decoration = nullptr;  // the input's type/tags/add_field, applied after decoding
  // The source's chunk. Each unit owns one hold on it once queued (InputRunner takes the
  // holds in credits); a unit's hold passes to the first event decoded from it.
  AckToken* token = nullptr;

  size_t unit_count() const { return ends.size(); }
  std::string_view unit(size_t i) const {
    size_t begin = i == 0 ? 0 : ends[i - 1] + gap;
    return std::string_view(bytes).substr(begin, ends[i] - begin);
  }
  void append_unit(std::string_view unit) {  // only while gap == 0
    bytes.append(unit.data(), unit.size());
    ends.push_back(uint32_t(bytes.size()));
  }
};

RawUnit* new_raw_unit();
void free_raw_unit(RawUnit* unit);  // does not touch the token: its owner settles the hold first

}  // namespace sluice
