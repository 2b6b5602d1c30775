// The kv filter: `key=value` pairs of a field become event fields (or a hash in `target`),
// with Logstash's options for splitting, trimming, filtering, transforming and nesting.
#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "core/sprintf.h"
#include "plugins/filters/kv/kv_scanner.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema kv_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "kv";
  schema.doc =
      "Parses `key=value` text (logfmt, query strings, firewall logs) into fields. Quoted and bracketed values "
      "may hold the field splitter. Without `target` the keys become top-level fields.";
  auto opt = [](std::string name, OptionType type, std::optional<config::ConfigValue> def, std::string doc,
                std::vector<std::string> allowed = {}) {
    OptionSpec spec;
    spec.name = std::move(name);
    spec.type = type;
    spec.default_value = std::move(def);
    spec.doc = std::move(doc);
    spec.allowed = std::move(allowed);
    return spec;
  };
  schema.options = {
      opt("source", OptionType::String, cv_string("message"), "The field to parse."),
      opt("target", OptionType::String, std::nullopt, "Put all pairs into this field (a hash) instead of the root."),
      opt("field_split", OptionType::String, cv_string(" "),
          "Characters (a regex character class) that separate pairs."),
      opt("value_split", OptionType::String, cv_string("="),
          "Characters (a regex character class) that separate a key from its value."),
      opt("field_split_pattern", OptionType::String, std::nullopt,
          "A regex separating pairs; takes precedence over field_split."),
      opt("value_split_pattern", OptionType::String, std::nullopt,
          "A regex separating keys from values; takes precedence over value_split."),
      opt("include_keys", OptionType::Array, cv_array({}), "Only these keys are kept (sprintf allowed)."),
      opt("exclude_keys", OptionType::Array, cv_array({}), "These keys are dropped (sprintf allowed)."),
      opt("trim_key", OptionType::String, std::nullopt, "Characters trimmed from both ends of keys."),
      opt("trim_value", OptionType::String, std::nullopt, "Characters trimmed from both ends of values."),
      opt("remove_char_key", OptionType::String, std::nullopt, "Characters removed anywhere in keys."),
      opt("remove_char_value", OptionType::String, std::nullopt, "Characters removed anywhere in values."),
      opt("prefix", OptionType::String, cv_string(""), "A string prepended to every key (sprintf allowed)."),
      opt("recursive", OptionType::Boolean, cv_bool(false), "Parse values again for nested pairs."),
      opt("whitespace", OptionType::String, cv_string("lenient"),
          "lenient allows spaces around the value splitter; strict does not.", {"lenient", "strict"}),
      opt("allow_duplicate_values", OptionType::Boolean, cv_bool(true),
          "When false, a repeated key with a value already seen is dropped."),
      opt("allow_empty_values", OptionType::Boolean, cv_bool(false), "Keep keys whose value is empty."),
      opt("default_keys", OptionType::Hash, cv_hash(), "Keys and values added when absent from the text."),
      opt("transform_key", OptionType::String, std::nullopt, "Change the case of keys.",
          {"lowercase", "uppercase", "capitalize"}),
      opt("transform_value", OptionType::String, std::nullopt, "Change the case of values.",
          {"lowercase", "uppercase", "capitalize"}),
      opt("include_brackets", OptionType::Boolean, cv_bool(true),
          "Treat (), [] and <> like quotes around values."),
      opt("tag_on_failure", OptionType::Array, cv_array({"_kv_filter_error"}), "Tags added when parsing fails."),
      opt("tag_on_timeout", OptionType::String, cv_string("_kv_filter_timeout"),
          "Tag added when parsing takes longer than timeout_millis."),
      opt("timeout_millis", OptionType::Number, cv_number(30000),
          "Time limit for one event's parse (0 = none); only the regex path can run long."),
      opt("ecs_compatibility", OptionType::String, std::nullopt,
          "Accepted for compatibility; kv behaves the same in every mode.", {"disabled", "v1", "v8"}),
  };
  return schema;
}

enum class CaseTransform { None, Lower, Upper, Capitalize };

CaseTransform parse_transform(const std::string& text) {
  if (text == "lowercase") return CaseTransform::Lower;
  if (text == "uppercase") return CaseTransform::Upper;
  if (text == "capitalize") return CaseTransform::Capitalize;
  return CaseTransform::None;
}

// Ruby's downcase / upcase / capitalize on ASCII letters (other characters are kept).
void apply_transform(std::string& s, CaseTransform t) {
  if (t == CaseTransform::None) return;
  for (size_t i = 0; i < s.size(); ++i) {
    char& c = s[i];
    bool upper = t == CaseTransform::Upper || (t == CaseTransform::Capitalize && i == 0);
    if (upper) {
      if (c >= 'a' && c <= 'z') c = char(c - 32);
    } else if (c >= 'A' && c <= 'Z') {
      c = char(c + 32);
    }
  }
}

// Ruby's `existing.include?(value)`: substring for strings, element for arrays, key for hashes.
bool ruby_include(const Value& existing, std::string_view value) {
  switch (existing.type()) {
    case Type::String: return existing.as_string().find(value) != std::string::npos;
    case Type::Array:
      for (const Value& item : existing.as_array()) {
        if (item.is_string() && item.as_string() == value) return true;
      }
      return false;
    case Type::Object: return existing.as_object().contains(value);
    default: return false;
  }
}

// Templates rendered per event; constant lists are kept as they are.
struct KeyList {
  std::vector<Template> templates;
  bool constant = true;
  std::vector<std::string> values;  // when constant

  void init(const std::vector<std::string>& items) {
    for (const auto& item : items) {
      templates.emplace_back(item);
      constant = constant && templates.back().is_constant();
      values.push_back(item);
    }
  }
  const std::vector<std::string>& resolve(const Event& event, std::vector<std::string>& scratch) const {
    if (constant) return values;
    scratch.resize(templates.size());
    for (size_t i = 0; i < templates.size(); ++i) {
      scratch[i].clear();
      templates[i].render(event, scratch[i]);
    }
    return scratch;
  }
  bool empty() const { return templates.empty(); }
};

bool contains(const std::vector<std::string>& list, std::string_view key) {
  return std::find(list.begin(), list.end(), key) != list.end();
}

class KvFilter : public Filter {
 public:
  KvFilter(const Options& options, PluginContext& context) : metrics_(context.metrics) {
    kv::Syntax syntax;
    syntax.field_split = options.get_string("field_split");
    syntax.value_split = options.get_string("value_split");
    if (syntax.value_split.empty()) {
      throw error(options, "value_split", "Configuration option 'value_split' must be a non-empty string");
    }
    if (options.has("field_split_pattern")) {
      syntax.field_split_pattern = options.get_string("field_split_pattern");
      if (syntax.field_split_pattern->empty()) {
        throw error(options, "field_split_pattern",
                    "Configuration option 'field_split_pattern' must be a non-empty string");
      }
    }
    if (options.has("value_split_pattern")) {
      syntax.value_split_pattern = options.get_string("value_split_pattern");
      if (syntax.value_split_pattern->empty()) {
        throw error(options, "value_split_pattern",
                    "Configuration option 'value_split_pattern' must be a non-empty string");
      }
    }
    syntax.include_brackets = options.get_bool("include_brackets");
    syntax.strict_whitespace = options.get_string("whitespace") == "strict";
    try {
      scanner_ = std::make_unique<kv::Scanner>(syntax);
      if (options.has("trim_key")) trim_key_.emplace(options.get_string("trim_key"), kv::CharStripper::Mode::TrimEnds);
      if (options.has("trim_value")) {
        trim_value_.emplace(options.get_string("trim_value"), kv::CharStripper::Mode::TrimEnds);
      }
      if (options.has("remove_char_key")) {
        remove_char_key_.emplace(options.get_string("remove_char_key"), kv::CharStripper::Mode::RemoveAll);
      }
      if (options.has("remove_char_value")) {
        remove_char_value_.emplace(options.get_string("remove_char_value"), kv::CharStripper::Mode::RemoveAll);
      }
    } catch (const std::invalid_argument& e) {
      throw config::ConfigError(options.block_position(), std::string("kv: invalid pattern: ") + e.what());
    }
    source_ = field(options, "source", options.get_string("source"));
    if (options.has("target")) target_ = field(options, "target", options.get_string("target"));
    include_keys_.init(options.get_string_array("include_keys"));
    exclude_keys_.init(options.get_string_array("exclude_keys"));
    prefix_ = Template(options.get_string("prefix"));
    recursive_ = options.get_bool("recursive");
    allow_duplicate_values_ = options.get_bool("allow_duplicate_values");
    allow_empty_values_ = options.get_bool("allow_empty_values");
    default_keys_ = options.get_string_hash("default_keys");
    transform_key_ = parse_transform(options.get_string("transform_key"));
    transform_value_ = parse_transform(options.get_string("transform_value"));
    tag_on_failure_ = options.get_string_array("tag_on_failure");
    tag_on_timeout_ = options.get_string("tag_on_timeout");
    timeout_millis_ = options.get_int("timeout_millis");
  }

  bool filter(Event& event, FilterContext&) override {
    thread_local Object pairs;
    pairs.clear();
    Scratch scratch;
    scratch.prefix.clear();
    prefix_.render(event, scratch.prefix);
    scratch.include = &include_keys_.resolve(event, scratch.include_storage);
    scratch.exclude = &exclude_keys_.resolve(event, scratch.exclude_storage);
    if (timeout_millis_ > 0) {
      scratch.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_millis_);
    }

    bool timed_out = false;
    if (const Value* value = event.get(source_)) {
      if (value->is_string()) {
        timed_out = !parse(value->as_string(), pairs, scratch);
      } else if (value->is_array()) {
        for (const Value& item : value->as_array()) {
          if (item.is_string() && !parse(item.as_string(), pairs, scratch)) {
            timed_out = true;
            break;
          }
        }
      }
    }
    if (timed_out) {
      event.add_tag(tag_on_timeout_);
      if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (pairs.empty() && default_keys_.empty()) return false;
    if (!store(event, pairs)) {
      for (const std::string& tag : tag_on_failure_) event.add_tag(tag);
      if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }

 private:
  struct Scratch {
    std::string prefix;
    std::vector<std::string> include_storage, exclude_storage;
    const std::vector<std::string>* include = nullptr;
    const std::vector<std::string>* exclude = nullptr;
    std::optional<std::chrono::steady_clock::time_point> deadline;
  };

  static config::ConfigError error(const Options& options, const std::string& option, const std::string& message) {
    return config::ConfigError(options.position(option), "kv: " + message);
  }

  static FieldRef field(const Options& options, const std::string& option, const std::string& text) {
    std::string message;
    std::optional<FieldRef> ref = FieldRef::parse(text, &message);
    if (!ref) throw error(options, option, "invalid field reference `" + text + "`: " + message);
    return *ref;
  }

  // Adds the pairs of `text` to `into`; false on a timeout.
  bool parse(std::string_view text, Object& into, const Scratch& scratch, size_t depth = 0) const {
    thread_local std::vector<kv::Pair> found;
    // Key and value buffers per recursion depth, reused across events.
    thread_local std::vector<std::unique_ptr<std::string[]>> buffers;
    while (buffers.size() <= depth) buffers.push_back(std::make_unique<std::string[]>(2));
    std::string& key = buffers[depth][0];
    std::string& value = buffers[depth][1];
    const size_t first = found.size();  // recursion appends after the caller's pairs
    if (scanner_->scan(text, found, scratch.deadline) == kv::ScanResult::Timeout) {
      found.resize(first);
      return false;
    }
    const size_t last = found.size();
    for (size_t i = first; i < last; ++i) {
      const kv::Pair pair = found[i];
      if (pair.value.empty() && !allow_empty_values_) continue;
      key.assign(pair.key.data(), pair.key.size());
      if (trim_key_) trim_key_->apply(key);
      if (remove_char_key_) remove_char_key_->apply(key);
      apply_transform(key, transform_key_);
      if (!scratch.include->empty() && !contains(*scratch.include, key)) continue;
      if (contains(*scratch.exclude, key)) continue;
      key.insert(0, scratch.prefix);

      value.assign(pair.value.data(), pair.value.size());
      if (trim_value_) trim_value_->apply(value);
      if (remove_char_value_) remove_char_value_->apply(value);
      apply_transform(value, transform_value_);

      Value* existing = into.find(key);
      if (!allow_duplicate_values_ && existing && ruby_include(*existing, value)) continue;

      Value parsed;
      bool nested = false;
      if (recursive_) {
        Object inner;
        if (!parse(value, inner, scratch, depth + 1)) {
          found.resize(first);
          return false;
        }
        if (!inner.empty()) {
          parsed = Value(std::move(inner));
          nested = true;
        }
      }
      existing = into.find(key);
      if (!existing) {
        Value& slot = into[key];
        if (nested) slot = std::move(parsed);
        else slot.set_string(value);
        continue;
      }
      if (!existing->is_array()) {
        Value previous;
        std::swap(previous, *existing);
        existing->make_array().push_back(std::move(previous));
      }
      if (nested) existing->as_array().push_back(std::move(parsed));
      else existing->as_array().emplace_back(std::string_view(value));
    }
    found.resize(first);
    return true;
  }

  // Writes default_keys merged with the pairs (Ruby's default_keys.merge(kv): defaults first).
  bool store(Event& event, const Object& pairs) const {
    if (target_) {
      Value& target = event.put(*target_);
      Object& object = target.make_object();
      for (const auto& [key, fallback] : default_keys_) {
        const Value* found = pairs.find(key);
        if (found) object[key] = *found;
        else object[key].set_string(fallback);
      }
      for (const Object::Entry& entry : pairs) {
        if (!object.contains(entry.key)) object[entry.key] = entry.value;
      }
      return true;
    }
    for (const auto& [key, fallback] : default_keys_) {
      const Value* found = pairs.find(key);
      if (!set_field(event, key, found ? *found : Value(std::string_view(fallback)))) return false;
    }
    for (const Object::Entry& entry : pairs) {
      bool is_default = false;
      for (const auto& d : default_keys_) is_default = is_default || d.first == entry.key;
      if (is_default) continue;
      if (!set_field(event, entry.key, entry.value)) return false;
    }
    return true;
  }

  // event.set(key, value): keys are field references in Logstash (`[a][b]` nests).
  static bool set_field(Event& event, const std::string& key, const Value& value) {
    if (key.empty()) return true;
    const bool plain = key.find('[') == std::string::npos && key.find(']') == std::string::npos &&
                       key.compare(0, 9, "@metadata") != 0 && key != "@timestamp";
    Value* slot;
    if (plain) {
      slot = &event.fields()[key];
    } else {
      std::optional<FieldRef> ref = FieldRef::parse(key);
      if (!ref || ref->empty()) return false;
      // @timestamp only takes a timestamp (Logstash raises on a string).
      if (!ref->is_metadata() && ref->path().size() == 1 && ref->path()[0] == "@timestamp") return false;
      slot = &event.put(*ref);
    }
    if (value.is_string()) slot->set_string(value.as_string());
    else *slot = value;
    return true;
  }

  PluginMetrics* metrics_ = nullptr;
  std::unique_ptr<kv::Scanner> scanner_;
  std::optional<kv::CharStripper> trim_key_, trim_value_, remove_char_key_, remove_char_value_;
  FieldRef source_;
  std::optional<FieldRef> target_;
  KeyList include_keys_, exclude_keys_;
  Template prefix_;
  bool recursive_ = false;
  bool allow_duplicate_values_ = true;
  bool allow_empty_values_ = false;
  std::vector<std::pair<std::string, std::string>> default_keys_;
  CaseTransform transform_key_ = CaseTransform::None;
  CaseTransform transform_value_ = CaseTransform::None;
  std::vector<std::string> tag_on_failure_;
  std::string tag_on_timeout_;
  int64_t timeout_millis_ = 30000;
};

const RegisterFilter registration{kv_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<KvFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
