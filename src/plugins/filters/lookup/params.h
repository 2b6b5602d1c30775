// Statement parameters taken from events, as Logstash's jdbc filters read them: a string with
// `%{...}` is a sprintf template, any other string is a field reference, a number is a constant.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/ast.h"
#include "core/event.h"
#include "core/sprintf.h"

namespace sluice::lookup {

class ParamSource {
 public:
  ParamSource() = default;
  // Throws std::invalid_argument for a malformed field reference.
  explicit ParamSource(const config::ConfigValue& value) {
    if (value.kind == config::ConfigValue::Kind::Number || value.kind == config::ConfigValue::Kind::Boolean) {
      constant_ = value.text.empty() ? (value.boolean ? "true" : "false") : value.text;
      kind_ = Kind::Constant;
    } else if (value.text.find("%{") != std::string::npos) {
      template_ = Template(value.text);
      kind_ = Kind::Template;
    } else {
      std::string error;
      auto ref = FieldRef::parse(value.text, &error);
      if (!ref) throw std::invalid_argument("bad field reference `" + value.text + "`: " + error);
      field_ = *ref;
      kind_ = Kind::Field;
    }
  }
  // The parameter's text for this event; false when the field is missing (SQL NULL).
  bool render(const Event& event, std::string& out) const {
    out.clear();
    switch (kind_) {
      case Kind::Constant: out = constant_; return true;
      case Kind::Template: template_.render(event, out); return true;
      case Kind::Field: {
        const Value* v = event.get(field_);
        if (!v || v->is_null()) return false;
        v->append_text(out);
        return true;
      }
    }
    return false;
  }

 private:
  enum class Kind { Constant, Template, Field };
  Kind kind_ = Kind::Constant;
  std::string constant_;
  Template template_;
  FieldRef field_;
};

// A config value (default_hash entries) as an event value: numbers stay numbers, hashes objects.
inline Value config_to_value(const config::ConfigValue& v) {
  using K = config::ConfigValue::Kind;
  switch (v.kind) {
    case K::Number:
      if (v.is_integer) return Value(int64_t(v.number));
      return Value(v.number);
    case K::Boolean: return Value(v.boolean);
    case K::Array: {
      Array items;
      for (const auto& item : v.items) items.push_back(config_to_value(item));
      return Value(std::move(items));
    }
    case K::Hash: {
      Object o;
      for (const auto& [k, item] : v.entries) o[k.text] = config_to_value(item);
      return Value(std::move(o));
    }
    default: return Value(std::string_view(v.text));
  }
}

inline void add_tags(Event& event, const std::vector<std::string>& tags) {
  for (const auto& tag : tags) event.add_tag(tag);
}

}  // namespace sluice::lookup
