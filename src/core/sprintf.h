// Logstash's sprintf templates: `%{field}`, `%{[a][b]}`, `%{+YYYY.MM.dd}` (Joda, on @timestamp,
// UTC), `%{{yyyy-MM-dd}}` (java.time form), `%{+%s}` (epoch seconds). Compiled once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/field_ref.h"

namespace sluice {

class TimeFormat;

class Template {
 public:
  Template();  // defined out of line: Part is complete only in sprintf.cpp
  // Never fails: text that is not a valid reference is kept literally, as Logstash does.
  explicit Template(std::string_view text);
  Template(const Template&);
  Template& operator=(const Template&);
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  ~Template();

  // Appends the rendered text. A missing field prints the reference as written (`%{foo}`).
  void render(const Event& event, std::string& out) const;
  std::string render(const Event& event) const { std::string s; render(event, s); return s; }
  bool is_constant() const { return constant_; }  // no references: render() == source()
  const std::string& source() const { return source_; }
  // When the template is exactly one `%{ref}`, that reference (lets callers keep the value's type).
  const FieldRef* single_field() const;

 private:
  struct Part;
  std::vector<Part> parts_;
  std::string source_;
  bool constant_ = true;
};

}  // namespace sluice
