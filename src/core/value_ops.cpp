#include "core/value_ops.h"

#include <utility>

namespace sluice {

Array& wrap_in_array(Value& value) {
  if (value.is_array()) return value.as_array();
  Value first;
  if (value.is_string()) {
    first.make_string().swap(value.string_ref());
  } else if (value.is_object()) {
    first.make_object() = std::move(value.as_object());
  } else if (!value.is_null()) {
    first = value;  // a scalar: nothing but the number, boolean or timestamp is copied
  }
  const bool had_value = !value.is_null();
  Array& items = value.make_array();
  if (had_value) items.push_back(std::move(first));
  return items;
}

}  // namespace sluice
