// The `rubydebug` codec (encode only): prints the event the way Logstash's rubydebug codec
// does through awesome_print: keys right-aligned, `=>`, nested hashes and `[i]`-indexed
// arrays indented by 4, strings in Ruby inspect form, timestamps bare. Colours are not
// printed. Key order is the event's field order.
#include <algorithm>
#include <vector>

#include "core/charset.h"
#include "plugins/codecs/codec_support.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

using namespace codec_support;

PluginSchema rubydebug_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Codec;
  schema.name = "rubydebug";
  schema.doc = "Pretty-prints events as Ruby hashes (awesome_print style) for debugging; encode only.";
  schema.options = {
      option("metadata", OptionType::Boolean, cv_bool(false), "Also print the event's @metadata."),
  };
  return schema;
}

size_t display_width(std::string_view s) {
  size_t width = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;  // count code points, not bytes
  }
  return width;
}

void append_inspected_string(std::string& out, std::string_view s) {
  out.push_back('"');
  append_ruby_inspect(out, s);
  out.push_back('"');
}

void append_value(std::string& out, const Value& v, size_t level);

void append_hash(std::string& out, const Object& object, const Value* metadata_extra, size_t level) {
  const size_t count = object.size() + (metadata_extra ? 1 : 0);
  if (count == 0) {
    out += "{}";
    return;
  }
  // Width of the widest inspected key, in characters.
  std::vector<std::string> keys;
  keys.reserve(count);
  size_t width = 0;
  for (const Object::Entry& entry : object) {
    std::string key;
    append_inspected_string(key, entry.key);
    width = std::max(width, display_width(key));
    keys.push_back(std::move(key));
  }
  if (metadata_extra) {
    keys.emplace_back("\"@metadata\"");
    width = std::max(width, keys.back().size());
  }
  out += "{\n";
  size_t index = 0;
  auto line = [&](const std::string& key, const Value& value) {
    out.append(level + 4, ' ');
    out.append(width - display_width(key), ' ');
    out += key;
    out += " => ";
    append_value(out, value, level + 4);
    if (++index < count) out.push_back(',');
    out.push_back('\n');
  };
  size_t i = 0;
  for (const Object::Entry& entry : object) line(keys[i++], entry.value);
  if (metadata_extra) line(keys[i], *metadata_extra);
  out.append(level, ' ');
  out.push_back('}');
}

void append_array(std::string& out, const Array& items, size_t level) {
  if (items.empty()) {
    out += "[]";
    return;
  }
  const size_t width = std::to_string(items.size() - 1).size();
  out += "[\n";
  for (size_t i = 0; i < items.size(); ++i) {
    out.append(level + 4, ' ');
    std::string index = std::to_string(i);
    out.push_back('[');
    out.append(width - index.size(), ' ');
    out += index;
    out += "] ";
    append_value(out, items[i], level + 4);
    if (i + 1 < items.size()) out.push_back(',');
    out.push_back('\n');
  }
  out.append(level, ' ');
  out.push_back(']');
}

void append_value(std::string& out, const Value& v, size_t level) {
  switch (v.type()) {
    case Type::Null: out += "nil"; break;
    case Type::String: append_inspected_string(out, v.as_string()); break;
    case Type::Float: append_float_ruby(out, v.as_float()); break;
    case Type::Object: append_hash(out, v.as_object(), nullptr, level); break;
    case Type::Array: append_array(out, v.as_array(), level); break;
    default: v.append_text(out); break;  // booleans, integers, timestamps (bare ISO8601)
  }
}

class RubydebugCodec final : public Codec {
 public:
  explicit RubydebugCodec(const Options& options) : metadata_(options.get_bool("metadata")) {}

  void decode(std::string_view, EventSink&) override {}  // Logstash's rubydebug decodes nothing

  void encode(const Event& event, std::string& out) override {
    if (metadata_ && !event.metadata().empty()) {
      metadata_value_.make_object() = event.metadata();
      append_hash(out, event.fields(), &metadata_value_, 0);
    } else {
      append_hash(out, event.fields(), nullptr, 0);
    }
    out.push_back('\n');
  }

  std::unique_ptr<Codec> clone() const override { return std::make_unique<RubydebugCodec>(*this); }

 private:
  bool metadata_;
  Value metadata_value_;
};

const RegisterCodec registration{rubydebug_schema(), [](const Options& options, PluginContext&) {
                                   return std::make_unique<RubydebugCodec>(options);
                                 }};

}  // namespace
}  // namespace sluice
