#include "plugins/filters/common/ruby_text.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace sluice {

namespace {

void append_inspect_string(std::string& out, const std::string& s) {
  out.push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\f': out += "\\f"; break;
      case '\v': out += "\\v"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case 0x1b: out += "\\e"; break;
      case '#':  // Ruby escapes "#" only where it would start an interpolation: #{ #$ #@
        if (i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '$' || s[i + 1] == '@')) out.push_back('\\');
        out.push_back('#');
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", unsigned(c));
          out += buf;
        } else {
          out.push_back(char(c));
        }
    }
  }
  out.push_back('"');
}

}  // namespace

void append_ruby_to_s(std::string& out, const Value& value) {
  switch (value.type()) {
    case Type::Null: break;
    case Type::String: out += value.as_string(); break;
    case Type::Float: append_float_ruby(out, value.as_float()); break;
    case Type::Array:
    case Type::Object: append_ruby_inspect(out, value); break;
    default: value.append_text(out); break;  // bool, int, timestamp (ISO 8601, as Timestamp#to_s)
  }
}

void append_ruby_inspect(std::string& out, const Value& value) {
  switch (value.type()) {
    case Type::Null: out += "nil"; break;
    case Type::String: append_inspect_string(out, value.as_string()); break;
    case Type::Array: {
      out.push_back('[');
      bool first = true;
      for (const Value& item : value.as_array()) {
        if (!first) out += ", ";
        first = false;
        append_ruby_inspect(out, item);
      }
      out.push_back(']');
      break;
    }
    case Type::Object: {
      out.push_back('{');
      bool first = true;
      for (const Object::Entry& entry : value.as_object()) {
        if (!first) out += ", ";
        first = false;
        append_inspect_string(out, entry.key);
        out += "=>";
        append_ruby_inspect(out, entry.value);
      }
      out.push_back('}');
      break;
    }
    default: append_ruby_to_s(out, value); break;
  }
}

Value deep_sort_objects(const Value& value) {
  if (value.is_array()) {
    Array items;
    items.reserve(value.as_array().size());
    for (const Value& item : value.as_array()) items.push_back(deep_sort_objects(item));
    return Value(std::move(items));
  }
  if (!value.is_object()) return value;
  std::vector<const Object::Entry*> entries;
  for (const Object::Entry& entry : value.as_object()) entries.push_back(&entry);
  // Ruby sorts string keys bytewise.
  std::sort(entries.begin(), entries.end(), [](const Object::Entry* a, const Object::Entry* b) { return a->key < b->key; });
  Object sorted;
  for (const Object::Entry* entry : entries) sorted[entry->key] = deep_sort_objects(entry->value);
  return Value(std::move(sorted));
}

}  // namespace sluice
