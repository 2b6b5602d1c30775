// How Logstash's Ruby plugins turn event values into text: `value.to_s` and `"#{value}"`.
// Strings print as themselves, floats as Ruby's Float#to_s, arrays and hashes as Ruby's inspect
// (`["a", 1]`, `{"k"=>"v"}`), nil as "". Filters that hash or look up that text (fingerprint,
// translate) need the same bytes as Logstash to give the same results.
#pragma once

#include <string>

#include "core/value.h"

namespace sluice {

// Appends Ruby's `value.to_s`.
void append_ruby_to_s(std::string& out, const Value& value);
// Appends Ruby's `value.inspect` (strings quoted and escaped, nil as `nil`).
void append_ruby_inspect(std::string& out, const Value& value);
// Sorts object keys at every depth (the fingerprint filter's deep_sort_hashes) in a copy.
Value deep_sort_objects(const Value& value);

}  // namespace sluice
