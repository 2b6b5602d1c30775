// JSON in (simdjson) and out (hand-written, escape runs copied in bulk).
#pragma once

#include <string>
#include <string_view>

#include "core/event.h"
#include "core/value.h"

namespace sluice {

// Appends `s` as a JSON string literal (with quotes).
void json_append_string(std::string& out, std::string_view s);
void json_append_value(std::string& out, const Value& v);
// The event's fields as one JSON object (no @metadata), as Logstash's json codecs write it.
void json_append_event(std::string& out, const Event& e);

// Parses JSON text into `out`. Returns false and sets *error on invalid JSON.
// Integers that fit int64 become Int, other numbers Float.
bool json_parse(std::string_view text, Value& out, std::string* error = nullptr);

}  // namespace sluice
