// Recycles events so the steady state allocates nothing: an event keeps its field storage
// between uses. Thread-local caches exchange blocks with a bounded global list, so events
// made on one thread and freed on another come back.
#pragma once

#include <string>

#include "core/event.h"

namespace sluice {

Event* new_event();          // empty (reset) event
void free_event(Event* e);   // resets it (releasing its ack hold) and recycles it

class UnitDecoder;
class Decoration;

// A framed unit of input (a line read by the file input) whose decoding a worker does, so
// that the event is built, filtered, written and recycled on one core: handing built events
// from an input thread to a worker moves every field's memory across cores, which costs more
// than building them (see docs/benchmarks.md). Pooled like events.
struct RawUnit {
  std::string bytes;
  std::string origin;  // what the input gave with it (the file input: the file's path)
  const UnitDecoder* decoder = nullptr;
  const Decoration* decoration = nullptr;  // the input's type/tags/add_field, applied after decoding
  // The source's chunk. The unit owns one hold on it once queued (InputRunner takes the holds
  // of a whole group at once); the hold passes to the first event decoded from it.
  AckToken* token = nullptr;
};

RawUnit* new_raw_unit();
void free_raw_unit(RawUnit* unit);  // does not touch the token: its owner settles the hold first

}  // namespace sluice
