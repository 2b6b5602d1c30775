// The dissect engine: a mapping such as `%{ts} %{+ts} %{src} %{} %{prog}[%{pid}]: %{msg}`
// compiled into fields and delimiters, and a left-to-right scan that finds each delimiter
// with a substring search (no regex). Semantics follow Logstash's dissect filter 1.2.5.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/field_ref.h"

namespace sluice::dissect {

class MappingError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct Delimiter {
  std::string text;
  bool greedy = false;  // the field before it had `->`: repeats of it are skipped
};

struct Field {
  enum class Kind { Normal, Skip, Append, Indirect };
  Kind kind = Kind::Normal;
  std::string name;               // without prefix and suffix
  std::optional<FieldRef> ref;    // parsed name (Normal, Append, Indirect's key)
  int ordinal = 1;                // save order: normal 1, append 100 + n, indirect 1000
  size_t previous = 0;            // index into delimiters
  std::optional<size_t> next;     // none for the last field
  size_t id = 0;                  // position in the mapping
};

// A found value: offset and length into the dissected text.
struct Span {
  size_t start = 0;
  size_t length = 0;
};

class Dissector {
 public:
  // Throws MappingError for a mapping Logstash rejects (empty, `%{+&a}`, `%{+}`, bad references).
  explicit Dissector(std::string_view mapping);

  // Finds every field's value; false when a delimiter is missing (Logstash's _dissectfailure).
  // `spans` is indexed by Field::id.
  bool dissect(std::string_view text, std::vector<Span>& spans) const;

  const std::vector<Field>& fields() const { return fields_; }
  // Fields to store, in Logstash's order: normal, then appends by ordinal, then indirect.
  const std::vector<size_t>& save_order() const { return save_order_; }
  // The text appended between an append field's values: its previous delimiter, or a space.
  const std::string& join_string(const Field& field) const;
  // Index of the first field named `name` other than `self` (for indirect keys), or npos.
  size_t find_field(std::string_view name, size_t self) const;

 private:
  std::vector<Field> fields_;
  std::vector<Delimiter> delimiters_;
  std::vector<size_t> save_order_;
  size_t first_field_offset_ = 0;
  std::string space_ = " ";
};

}  // namespace sluice::dissect
