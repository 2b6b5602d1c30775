// Base of the lookup filters whose work is done per batch (one round trip for the batch's
// misses): a single event goes through filter_batch() as a batch of one.
#pragma once

#include <span>
#include <vector>

#include "runtime/plugin.h"

namespace sluice::lookup {

class BatchFilter : public Filter {
 public:
  bool filter(Event& event, FilterContext& ctx) final {
    Event* one[1] = {&event};
    std::vector<char> matched;
    filter_batch(std::span<Event* const>(one, 1), matched, ctx);
    return matched[0] != 0;
  }
  // One round trip per call: smaller calls would cost more of them.
  bool needs_whole_batches() const final { return true; }
};

}  // namespace sluice::lookup
