// Logstash sprintf templates, split once into literal and reference parts. The scanning
// rules follow Logstash's StringInterpolation: a reference runs from `%{` to the first `}`;
// `%{{...}}` is a java.time pattern, `%{+...}` a Joda pattern, `%{+%s}` epoch seconds.
#include "core/sprintf.h"

#include <stdexcept>

#include "core/time_format.h"

namespace sluice {

struct Template::Part {
  enum class Kind { Literal, Field, TimeFormat, EpochSeconds, Now };
  Kind kind = Kind::Literal;
  std::string text;  // Literal: the text; Field: the reference as written between the braces
  FieldRef ref;
  TimeFormat format;
};

namespace {
constexpr std::string_view kTimeNow = "TIME_NOW";
}

Template::Template(std::string_view text) : source_(text) {
  auto add_literal = [this](std::string_view literal) {
    if (literal.empty()) return;
    if (!parts_.empty() && parts_.back().kind == Part::Kind::Literal) {
      parts_.back().text.append(literal);
      return;
    }
    Part part;
    part.text.assign(literal);
    parts_.push_back(std::move(part));
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("%{", pos);
    if (open == std::string_view::npos) break;
    size_t close = text.find('}', open + 2);
    if (close == std::string_view::npos) break;
    add_literal(text.substr(pos, open - pos));
    std::string_view inner = text.substr(open + 2, close - open - 2);
    Part part;
    if (inner == "+%s") {
      part.kind = Part::Kind::EpochSeconds;
    } else if (!inner.empty() && inner[0] == '{' && close + 1 < text.size() && text[close + 1] == '}') {
      ++close;  // the second closing brace
      std::string_view pattern = inner.substr(1);
      if (pattern == kTimeNow) {
        part.kind = Part::Kind::Now;
      } else {
        try {
          part.format = TimeFormat::java(pattern);
          part.kind = Part::Kind::TimeFormat;
        } catch (const std::invalid_argument&) {
          part.kind = Part::Kind::Literal;
          part.text.assign(text.substr(open, close + 1 - open));
        }
      }
    } else if (!inner.empty() && inner[0] == '+') {
      try {
        part.format = TimeFormat::joda(inner.substr(1));
        part.kind = Part::Kind::TimeFormat;
      } catch (const std::invalid_argument&) {
        part.kind = Part::Kind::Literal;
        part.text.assign(text.substr(open, close + 1 - open));
      }
    } else if (auto ref = FieldRef::parse(inner)) {
      part.kind = Part::Kind::Field;
      part.text.assign(inner);
      part.ref = std::move(*ref);
    } else {
      part.kind = Part::Kind::Literal;
      part.text.assign(text.substr(open, close + 1 - open));
    }
    if (part.kind == Part::Kind::Literal) add_literal(part.text);
    else parts_.push_back(std::move(part));
    pos = close + 1;
  }
  add_literal(text.substr(pos));
  constant_ = true;
  for (const Part& part : parts_) {
    if (part.kind != Part::Kind::Literal) constant_ = false;
  }
}

Template::Template() = default;
Template::Template(const Template&) = default;
Template& Template::operator=(const Template&) = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

const FieldRef* Template::single_field() const {
  if (parts_.size() == 1 && parts_[0].kind == Part::Kind::Field) return &parts_[0].ref;
  return nullptr;
}

void Template::render(const Event& event, std::string& out) const {
  for (const Part& part : parts_) {
    switch (part.kind) {
      case Part::Kind::Literal: out.append(part.text); break;
      case Part::Kind::Field: {
        const Value* value = event.get(part.ref);
        if (!value || value->is_null()) {
          out.append("%{", 2);
          out.append(part.text);
          out.push_back('}');
        } else if (value->is_string()) {  // the usual case, without append_text's dispatch
          out.append(value->as_string());
        } else {
          value->append_text(out);
        }
        break;
      }
      case Part::Kind::TimeFormat:
      case Part::Kind::EpochSeconds: {
        // Logstash prints nothing when the event has no @timestamp.
        const Value* ts = event.fields().find("@timestamp");
        if (!ts || !ts->is_timestamp()) break;
        if (part.kind == Part::Kind::EpochSeconds) {
          out.append(std::to_string(ts->as_timestamp().seconds()));
        } else {
          part.format.format(ts->as_timestamp(), out);
        }
        break;
      }
      case Part::Kind::Now: format_iso8601(Timestamp::now(), out); break;
    }
  }
}

}  // namespace sluice
