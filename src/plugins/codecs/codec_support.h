// Pieces the text codecs share: option specs, charset selection, line framing and
// Logstash's Event#toString (the default text of plain / line encoding).
#pragma once

#include <cstring>
#include <string>
#include <string_view>

#include "config/parser.h"
#include "core/charset.h"
#include "core/event.h"
#include "core/event_pool.h"
#include "core/json.h"
#include "runtime/options.h"
#include "runtime/plugin.h"
#include "runtime/schema.h"

namespace sluice::codec_support {

inline OptionSpec option(std::string name, OptionType type, std::optional<config::ConfigValue> default_value,
                         std::string doc) {
  return option_spec(std::move(name), type, std::move(default_value), std::move(doc));
}

inline OptionSpec charset_option() {
  return option("charset", OptionType::String, cv_string("UTF-8"),
                "Character encoding of the input; converted to UTF-8. Supported: UTF-8, ISO-8859-1, "
                "Windows-1252, US-ASCII, ASCII-8BIT.");
}

inline OptionSpec ecs_option() {
  OptionSpec spec = option("ecs_compatibility", OptionType::String, std::nullopt,
                           "ECS mode (disabled, v1, v8); defaults to the pipeline's.");
  spec.allowed = {"disabled", "v1", "v8"};
  return spec;
}

// The charset option's value; unsupported names are a config error at the option.
inline Charset charset_of(const Options& options) {
  std::string name = options.get_string("charset");
  if (name.empty()) return Charset::Utf8;
  auto charset = charset_from_name(name);
  if (!charset) {
    throw config::ConfigError(options.position("charset"),
                              "charset '" + name + "' is not supported by codec " + options.plugin_name() +
                                  " (supported: " + supported_charsets() + ")");
  }
  return *charset;
}

inline bool ecs_enabled(const Options& options, const PluginContext& ctx) {
  std::string mode = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                                                      : (ctx.settings ? ctx.settings->ecs_compatibility : "v8");
  return mode != "disabled";
}

// Splits a byte stream on a delimiter, keeping the partial last line between calls.
// Complete lines are handed out as views into the caller's chunk where possible.
class LineSplitter {
 public:
  explicit LineSplitter(std::string delimiter) : delimiter_(std::move(delimiter)) {
    if (delimiter_.empty()) delimiter_ = "\n";
  }

  // Calls on_line(std::string_view) for each complete line in pending + data.
  template <typename OnLine>
  void split(std::string_view data, OnLine&& on_line) {
    if (!pending_.empty()) {
      size_t consumed = complete_pending(data);
      if (consumed == std::string_view::npos) {
        pending_.append(data);
        return;
      }
      on_line(std::string_view(pending_));
      pending_.clear();
      data.remove_prefix(consumed);
    }
    while (!data.empty()) {
      size_t end = find(data);
      if (end == std::string_view::npos) {
        pending_.assign(data);
        return;
      }
      on_line(data.substr(0, end));
      data.remove_prefix(end + delimiter_.size());
    }
  }

  bool has_pending() const { return !pending_.empty(); }
  size_t pending_size() const { return pending_.size(); }
  // Hands out and forgets the partial line.
  std::string take_pending() {
    std::string out;
    out.swap(pending_);
    return out;
  }
  void drop_pending() { pending_.clear(); }

 private:
  size_t find(std::string_view data) const {
    if (delimiter_.size() == 1) {
      const void* hit = data.empty() ? nullptr : std::memchr(data.data(), delimiter_[0], data.size());
      return hit ? size_t(static_cast<const char*>(hit) - data.data()) : std::string_view::npos;
    }
    return data.find(delimiter_);
  }

  // Ends pending_ at the first delimiter of pending_ + data; returns how many bytes of data
  // that used (delimiter included), or npos when data holds no delimiter.
  size_t complete_pending(std::string_view data) {
    const size_t k = delimiter_.size();
    if (k > 1) {
      // A delimiter may start in the last k-1 pending bytes and end in data.
      const size_t tail_start = pending_.size() > k - 1 ? pending_.size() - (k - 1) : 0;
      std::string joint = pending_.substr(tail_start);
      joint.append(data.substr(0, std::min(data.size(), k - 1)));
      size_t hit = joint.find(delimiter_);
      if (hit != std::string::npos && tail_start + hit < pending_.size()) {
        size_t line_end = tail_start + hit;
        size_t used = line_end + k - pending_.size();
        pending_.resize(line_end);
        return used;
      }
    }
    size_t end = find(data);
    if (end == std::string_view::npos) return end;
    pending_.append(data.substr(0, end));
    return end + k;
  }

  std::string delimiter_;
  std::string pending_;
};

// Java's toString of a field value, as Logstash's Event#toString prints host and message.
inline void append_java_text(std::string& out, const Value& v) {
  switch (v.type()) {
    case Type::Null: out += "null"; break;
    case Type::Object: {
      out.push_back('{');
      bool first = true;
      for (const Object::Entry& entry : v.as_object()) {
        if (!first) out += ", ";
        first = false;
        out += entry.key;
        out.push_back('=');
        append_java_text(out, entry.value);
      }
      out.push_back('}');
      break;
    }
    case Type::Array: {
      out.push_back('[');
      bool first = true;
      for (const Value& item : v.as_array()) {
        if (!first) out += ", ";
        first = false;
        append_java_text(out, item);
      }
      out.push_back(']');
      break;
    }
    default: v.append_text(out); break;
  }
}

// Logstash's Event#toString: "@timestamp host message", with `%{host}` / `%{message}` for
// missing fields and no timestamp part when @timestamp is absent.
inline void append_event_text(std::string& out, const Event& event) {
  const Value* ts = event.fields().find("@timestamp");
  if (ts && !ts->is_null()) {
    append_java_text(out, *ts);
    out.push_back(' ');
  }
  const Value* host = event.fields().find("host");
  if (host && !host->is_null()) append_java_text(out, *host);
  else out += "%{host}";
  out.push_back(' ');
  const Value* message = event.fields().find("message");
  if (message && !message->is_null()) append_java_text(out, *message);
  else out += "%{message}";
}

// Decodes one JSON document into events the way Logstash's json codecs do: an object is
// one event, an array one event per (object) element, blank text nothing; anything else
// (invalid JSON, a scalar, an array holding a non-object) is one event with the raw text
// as message and the tag `_jsonparsefailure`. With a target, the decoded object goes under it.
class JsonEventDecoder {
 public:
  JsonEventDecoder() = default;
  explicit JsonEventDecoder(std::optional<FieldRef> target) : target_(std::move(target)) {}

  void decode(std::string_view text, Timestamp now, EventSink& sink) {
    if (is_blank(text)) return;
    if (!json_parse(text, parsed_, &error_) || !(parsed_.is_object() || all_objects(parsed_))) {
      Event* event = new_event();
      event->init_with_message(text, now);
      event->add_tag("_jsonparsefailure");
      sink.accept(event);
      return;
    }
    if (parsed_.is_object()) {
      sink.accept(make_event(parsed_, now));
      return;
    }
    for (Value& item : parsed_.as_array()) sink.accept(make_event(item, now));
  }

 private:
  static bool is_blank(std::string_view text) {
    for (char c : text) {
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
    }
    return true;
  }

  static bool all_objects(const Value& v) {
    if (!v.is_array()) return false;
    for (const Value& item : v.as_array()) {
      if (!item.is_object()) return false;
    }
    return true;
  }

  Event* make_event(Value& object, Timestamp now) {
    Event* event = new_event();
    if (target_) {
      event->fields().clear();
      event->fields()["@timestamp"].set_timestamp(now);
      event->fields()["@version"].set_string("1");
      std::swap(event->put(*target_), object);
      return event;
    }
    adopt_fields(*event, object.as_object());
    // adopt_fields stamps event_clock::now() itself only when the document had no @timestamp.
    return event;
  }

  std::optional<FieldRef> target_;
  Value parsed_;
  std::string error_;
};

// The `target` option of the json codecs: a field reference, or none.
inline std::optional<FieldRef> target_of(const Options& options) {
  if (!options.has("target")) return std::nullopt;
  std::string text = options.get_string("target");
  std::string error;
  auto ref = FieldRef::parse(text, &error);
  if (!ref) throw config::ConfigError(options.position("target"), "codec " + options.plugin_name() + ": " + error);
  return ref;
}

}  // namespace sluice::codec_support
