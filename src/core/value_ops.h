// Operations on values that need care to keep a recycled event's storage bounded.
#pragma once

#include "core/value.h"

namespace sluice {

// Makes `value` an array whose only item is its previous value (a null value becomes an empty
// array; an array stays as it is) and returns the array. Only the previous payload moves into
// the item, not the spare buffers a pooled value keeps for reuse: moving the whole Value would
// hide the old array inside the new item, and a recycled event would grow a chain of them.
Array& wrap_in_array(Value& value);

}  // namespace sluice
