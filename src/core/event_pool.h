// Recycles events so the steady state allocates nothing: an event keeps its field storage
// between uses. Thread-local caches exchange blocks with a bounded global list, so events
// made on an input thread and freed on a worker thread come back.
#pragma once

#include "core/event.h"

namespace sluice {

Event* new_event();          // empty (reset) event
void free_event(Event* e);   // resets it (releasing its ack hold) and recycles it

}  // namespace sluice
