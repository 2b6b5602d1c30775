// The kv filter: `key=value` pairs of a field become event fields (or a hash in `target`),
// with Logstash's options for splitting, trimming, filtering, transforming and nesting.
#include <algorithm>
#include <chrono>
#include <functional>
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
#include "core/value_ops.h"

namespace sluice {
namespace {

PluginSchema kv_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "kv";
  schema.doc =
      "Parses `key=value` text (logfmt, query strings, firewall logs) into fields. Quoted and bracketed values "
      "may hold the field splitter. Without `target` the keys become top-level fields.";
  schema.options = {
      option_spec("source", OptionType::String, cv_string("message"), "The field to parse."),
      option_spec("target", OptionType::String, std::nullopt, "Put all pairs into this field (a hash) instead of the root."),
      option_spec("field_split", OptionType::String, cv_string(" "),
          "Characters (a regex character class) that separate pairs."),
      option_spec("value_split", OptionType::String, cv_string("="),
          "Characters (a regex character class) that separate a key from its value."),
      option_spec("field_split_pattern", OptionType::String, std::nullopt,
          "A regex separating pairs; takes precedence over field_split."),
      option_spec("value_split_pattern", OptionType::String, std::nullopt,
          "A regex separating keys from values; takes precedence over value_split."),
      option_spec("include_keys", OptionType::Array, cv_array({}), "Only these keys are kept (sprintf allowed)."),
      option_spec("exclude_keys", OptionType::Array, cv_array({}), "These keys are dropped (sprintf allowed)."),
      option_spec("trim_key", OptionType::String, std::nullopt, "Characters trimmed from both ends of keys."),
      option_spec("trim_value", OptionType::String, std::nullopt, "Characters trimmed from both ends of values."),
      option_spec("remove_char_key", OptionType::String, std::nullopt, "Characters removed anywhere in keys."),
      option_spec("remove_char_value", OptionType::String, std::nullopt, "Characters removed anywhere in values."),
      option_spec("prefix", OptionType::String, cv_string(""), "A string prepended to every key (sprintf allowed)."),
      option_spec("recursive", OptionType::Boolean, cv_bool(false), "Parse values again for nested pairs."),
      option_spec("whitespace", OptionType::String, cv_string("lenient"),
          "lenient allows spaces around the value splitter; strict does not.", {"lenient", "strict"}),
      option_spec("allow_duplicate_values", OptionType::Boolean, cv_bool(true),
          "When false, a repeated key with a value already seen is dropped."),
      option_spec("allow_empty_values", OptionType::Boolean, cv_bool(false), "Keep keys whose value is empty."),
      option_spec("default_keys", OptionType::Hash, cv_hash(), "Keys and values added when absent from the text."),
      option_spec("transform_key", OptionType::String, std::nullopt, "Change the case of keys.",
          {"lowercase", "uppercase", "capitalize"}),
      option_spec("transform_value", OptionType::String, std::nullopt, "Change the case of values.",
          {"lowercase", "uppercase", "capitalize"}),
      option_spec("include_brackets", OptionType::Boolean, cv_bool(true),
          "Treat (), [] and <> like quotes around values."),
      option_spec("tag_on_failure", OptionType::Array, cv_array({"_kv_filter_error"}), "Tags added when parsing fails."),
      option_spec("tag_on_timeout", OptionType::String, cv_string("_kv_filter_timeout"),
          "Tag added when parsing takes longer than timeout_millis."),
      option_spec("timeout_millis", OptionType::Number, cv_number(30000),
          "Time limit for one event's parse (0 = none); only the regex path can run long."),
      option_spec("ecs_compatibility", OptionType::String, std::nullopt,
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

// The pairs of one event, in insertion order, with a hash index: FortiGate-style lines carry
// dozens of keys, and a linear search per key would dominate the parse. Storage is reused
// from event to event.
class PairCollector {
 public:
  struct Entry {
    std::string key;
    Value value;
  };

  void clear() {
    size_ = 0;
    if (!slots_.empty()) std::fill(slots_.begin(), slots_.end(), -1);
  }
  bool empty() const { return size_ == 0; }
  const Entry* begin() const { return entries_.data(); }
  const Entry* end() const { return entries_.data() + size_; }

  Value* find(std::string_view key) {
    if (slots_.empty()) return nullptr;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash(key) & mask;; i = (i + 1) & mask) {
      const int32_t slot = slots_[i];
      if (slot < 0) return nullptr;
      if (entries_[size_t(slot)].key == key) return &entries_[size_t(slot)].value;
    }
  }
  const Value* find(std::string_view key) const { return const_cast<PairCollector*>(this)->find(key); }

  // Adds a key that find() did not find.
  Value& insert(std::string_view key) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    if (size_ == entries_.size()) entries_.emplace_back();
    Entry& entry = entries_[size_];
    entry.key.assign(key.data(), key.size());
    entry.value.set_null();
    place(size_);
    ++size_;
    return entry.value;
  }

 private:
  // FNV-1a: keys are short, and this beats the library's string hash on them.
  static size_t hash(std::string_view key) {
    uint64_t h = 1469598103934665603ULL;
    for (char c : key) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    return size_t(h ^ (h >> 29));
  }

  void place(size_t index) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash(entries_[index].key) & mask;
    while (slots_[i] >= 0) i = (i + 1) & mask;
    slots_[i] = int32_t(index);
  }

  void grow() {
    slots_.assign(slots_.empty() ? 64 : slots_.size() * 2, -1);
    for (size_t k = 0; k < size_; ++k) place(k);
  }

  std::vector<Entry> entries_;
  size_t size_ = 0;
  std::vector<int32_t> slots_;
};

// The same interface over a plain Object (nested hashes of `recursive`).
struct ObjectCollector {
  Object& object;
  Value* find(std::string_view key) { return object.find(key); }
  Value& insert(std::string_view key) { return object[key]; }
  bool empty() const { return object.empty(); }
};

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
    rewrite_keys_ = trim_key_ || remove_char_key_ || transform_key_ != CaseTransform::None;
    rewrite_values_ = trim_value_ || remove_char_value_ || transform_value_ != CaseTransform::None;
  }

  bool filter(Event& event, FilterContext&) override {
    thread_local PairCollector pairs;
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
  template <typename Collector>
  bool parse(std::string_view text, Collector& into, const Scratch& scratch, size_t depth = 0) const {
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
      // Keys and values are views into the text unless an option rewrites them.
      std::string_view key_view = pair.key;
      if (rewrite_keys_ || !scratch.prefix.empty()) {
        key.assign(pair.key.data(), pair.key.size());
        if (trim_key_) trim_key_->apply(key);
        if (remove_char_key_) remove_char_key_->apply(key);
        apply_transform(key, transform_key_);
        key_view = key;
      }
      if (!scratch.include->empty() && !contains(*scratch.include, key_view)) continue;
      if (!scratch.exclude->empty() && contains(*scratch.exclude, key_view)) continue;
      if (!scratch.prefix.empty()) {
        key.insert(0, scratch.prefix);
        key_view = key;
      }
      std::string_view value_view = pair.value;
      if (rewrite_values_) {
        value.assign(pair.value.data(), pair.value.size());
        if (trim_value_) trim_value_->apply(value);
        if (remove_char_value_) remove_char_value_->apply(value);
        apply_transform(value, transform_value_);
        value_view = value;
      }
      if (!add_pair(into, key_view, value_view, scratch, depth)) {
        found.resize(first);
        return false;
      }
    }
    found.resize(first);
    return true;
  }

  // Stores one pair (duplicates, recursion); false on a timeout in a nested parse.
  template <typename Collector>
  bool add_pair(Collector& into, std::string_view key, std::string_view value, const Scratch& scratch,
                size_t depth) const {
    {

      Value* existing = into.find(key);
      if (!allow_duplicate_values_ && existing && ruby_include(*existing, value)) return true;

      if (recursive_) {
        Object inner;
        ObjectCollector inner_collector{inner};
        if (!parse(value, inner_collector, scratch, depth + 1)) return false;
        if (!inner.empty()) {
          add(into, existing, key, Value(std::move(inner)));
          return true;
        }
      }
      if (!existing) into.insert(key).set_string(value);
      else append(*existing, Value(value));
    }
    return true;
  }

  template <typename Collector>
  static void add(Collector& into, Value* existing, std::string_view key, Value&& value) {
    if (!existing) into.insert(key) = std::move(value);
    else append(*existing, std::move(value));
  }

  // A repeated key: the values become an array.
  static void append(Value& existing, Value&& value) {
    if (!existing.is_array()) wrap_in_array(existing);
    existing.as_array().push_back(std::move(value));
  }

  // Writes default_keys merged with the pairs (Ruby's default_keys.merge(kv): defaults first).
  bool store(Event& event, const PairCollector& pairs) const {
    if (target_) {
      Value& target = event.put(*target_);
      Object& object = target.make_object();
      for (const auto& [key, fallback] : default_keys_) {
        const Value* found = pairs.find(key);
        if (found) assign(object[key], *found);
        else object[key].set_string(fallback);
      }
      for (const PairCollector::Entry& entry : pairs) {
        if (!default_keys_.empty() && is_default_key(entry.key)) continue;  // already written
        assign(object[entry.key], entry.value);
      }
      return true;
    }
    for (const auto& [key, fallback] : default_keys_) {
      const Value* found = pairs.find(key);
      if (!set_field(event, key, found ? *found : Value(std::string_view(fallback)))) return false;
    }
    for (const PairCollector::Entry& entry : pairs) {
      if (!default_keys_.empty() && is_default_key(entry.key)) continue;
      if (!set_field(event, entry.key, entry.value)) return false;
    }
    return true;
  }

  bool is_default_key(std::string_view key) const {
    for (const auto& d : default_keys_) {
      if (d.first == key) return true;
    }
    return false;
  }

  // Copies a value keeping the destination's string storage.
  static void assign(Value& slot, const Value& value) {
    if (value.is_string()) slot.set_string(value.as_string());
    else slot = value;
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
    assign(*slot, value);
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
  bool rewrite_keys_ = false, rewrite_values_ = false;
};

const RegisterFilter registration{kv_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<KvFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
