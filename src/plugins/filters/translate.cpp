// The translate filter: looks a field's value up in a dictionary (inline, or a YAML/JSON/CSV file
// reloaded in the background) and writes the translation to `target`. Exact lookups are one hash
// probe with a string_view (no per-event allocation); `regex` tries the keys as regular expressions
// in order; `exact => false` replaces every occurrence of any key inside the value.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "core/json.h"
#include "core/sprintf.h"
#include "plugins/filters/common/reloadable_file.h"
#include "plugins/filters/common/ruby_text.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema translate_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "translate";
  schema.doc =
      "Replaces a field's value with its translation from a dictionary: inline (`dictionary`) or a YAML, JSON or "
      "CSV file (`dictionary_path`) that is reloaded in the background when it changes, without pausing events.";
  OptionSpec field = option_spec("field", OptionType::String, std::nullopt, "Old name of `source`.");
  field.deprecated = true;
  OptionSpec destination = option_spec("destination", OptionType::String, std::nullopt, "Old name of `target`.");
  destination.deprecated = true;
  schema.options = {
      option_spec("source", OptionType::String, std::nullopt, "The field whose value is looked up (required)."),
      field,
      option_spec("target", OptionType::String, std::nullopt,
                  "Where the translation goes (default `translation`; the source field itself in ECS mode)."),
      destination,
      option_spec("dictionary", OptionType::Hash, cv_hash(), "The dictionary, inline (not with dictionary_path)."),
      option_spec("dictionary_path", OptionType::Path, std::nullopt,
                  "A dictionary file: .yml/.yaml, .json or .csv (two columns)."),
      option_spec("refresh_interval", OptionType::Number, cv_number(300),
                  "Seconds between checks of dictionary_path for changes (0 or less: never)."),
      option_spec("refresh_behaviour", OptionType::String, cv_string("merge"),
                  "merge keeps entries removed from the file; replace drops them.", {"merge", "replace"}),
      option_spec("exact", OptionType::Boolean, cv_bool(true),
                  "true: the whole value must match a key; false: every key found inside the value is replaced."),
      option_spec("regex", OptionType::Boolean, cv_bool(false),
                  "With exact => true, keys are regular expressions tried in order."),
      option_spec("iterate_on", OptionType::String, std::nullopt,
                  "An array field to translate item by item (strings, or objects holding `source`)."),
      option_spec("override", OptionType::Boolean, cv_bool(false), "Overwrite the target when it already exists."),
      option_spec("fallback", OptionType::String, std::nullopt, "Written when nothing matched (sprintf allowed)."),
      option_spec("yaml_dictionary_code_point_limit", OptionType::Number, cv_number(134217728),
                  "Largest YAML dictionary accepted, in code points."),
      option_spec("yaml_load_strategy", OptionType::String, cv_string("one_shot"),
                  "Accepted for compatibility; the YAML file is always parsed whole.", {"one_shot", "streaming"}),
      option_spec("ecs_compatibility", OptionType::String, std::nullopt, "ECS mode; decides the default target.",
                  {"disabled", "v1", "v8"}),
  };
  return schema;
}

enum class Strategy { Exact, ExactRegex, LiteralReplace };

struct CodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
using Regex = std::unique_ptr<pcre2_code, CodeDeleter>;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// One immutable version of the dictionary. Entries keep their first-seen order (Ruby's Hash), which
// decides the winner in the regex and replace modes.
class Dictionary {
 public:
  void set(std::string key, Value value) {
    auto it = index_.find(std::string_view(key));
    if (it != index_.end()) {
      values_[it->second] = std::move(value);
      return;
    }
    index_.emplace(key, uint32_t(keys_.size()));
    keys_.push_back(std::move(key));
    values_.push_back(std::move(value));
  }

  // Builds what the strategy needs; throws std::runtime_error (e.g. a key that is not a valid regex).
  void prepare(Strategy strategy) {
    if (strategy == Strategy::ExactRegex) {
      regexes_.clear();
      for (const std::string& key : keys_) {
        int code = 0;
        PCRE2_SIZE offset = 0;
        Regex regex(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(key.data()), key.size(),
                                  PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &offset, nullptr));
        if (!regex) {
          PCRE2_UCHAR message[256];
          pcre2_get_error_message(code, message, sizeof message);
          throw std::runtime_error("dictionary key `" + key + "` is not a valid regex: " +
                                   reinterpret_cast<const char*>(message));
        }
        pcre2_jit_compile(regex.get(), PCRE2_JIT_COMPLETE);
        regexes_.push_back(std::move(regex));
      }
    } else if (strategy == Strategy::LiteralReplace) {
      for (auto& bucket : by_first_byte_) bucket.clear();
      for (uint32_t i = 0; i < keys_.size(); ++i) {
        if (!keys_[i].empty()) by_first_byte_[static_cast<unsigned char>(keys_[i][0])].push_back(i);
      }
    }
  }

  const Value* find(std::string_view key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &values_[it->second];
  }

  // Ruby: @dictionary.keys.detect { |k| source.match(Regexp.new(k)) }.
  const Value* find_regex(std::string_view text) const {
    thread_local std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> match(
        pcre2_match_data_create(1, nullptr), pcre2_match_data_free);
    for (size_t i = 0; i < regexes_.size(); ++i) {
      if (pcre2_match(regexes_[i].get(), reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, 0, match.get(),
                      nullptr) >= 0) {
        return &values_[i];
      }
    }
    return nullptr;
  }

  // Ruby: source.gsub(Regexp.union(keys), dictionary): leftmost match, first key in order at a position.
  bool replace_all(std::string_view text, std::string& out) const {
    bool replaced = false;
    size_t i = 0;
    while (i < text.size()) {
      const uint32_t* match = nullptr;
      for (const uint32_t& candidate : by_first_byte_[static_cast<unsigned char>(text[i])]) {
        const std::string& key = keys_[candidate];
        if (text.compare(i, key.size(), key) == 0) {
          match = &candidate;
          break;
        }
      }
      if (!match) {
        out.push_back(text[i++]);
        continue;
      }
      append_ruby_to_s(out, values_[*match]);
      i += keys_[*match].size();
      replaced = true;
    }
    return replaced;
  }

  size_t size() const { return keys_.size(); }
  const std::vector<std::string>& keys() const { return keys_; }
  const std::vector<Value>& values() const { return values_; }

 private:
  std::vector<std::string> keys_;
  std::vector<Value> values_;
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> index_;
  std::vector<Regex> regexes_;
  std::array<std::vector<uint32_t>, 256> by_first_byte_;
};

// ---- dictionary files ---------------------------------------------------------------------

enum class FileFormat { Yaml, Json, Csv };

std::optional<FileFormat> format_of(const std::string& path) {
  // Logstash: /.y[a]?ml$/, ".json", ".csv".
  static const std::regex yaml(".y[a]?ml$");
  if (std::regex_search(path, yaml)) return FileFormat::Yaml;
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".json")) return FileFormat::Json;
  if (ends_with(".csv")) return FileFormat::Csv;
  return std::nullopt;
}

// A plain (unquoted) YAML scalar typed the way Ruby's YAML loader types it.
Value yaml_scalar(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return Value(std::string_view(text));  // quoted: always a string
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return Value();
  static const std::regex integer("[-+]?[0-9]+");
  static const std::regex floating("[-+]?([0-9][0-9_]*)?\\.[0-9]+([eE][-+]?[0-9]+)?");
  if (text == "true" || text == "True" || text == "TRUE" || text == "yes" || text == "Yes" || text == "on" ||
      text == "On") {
    return Value(true);
  }
  if (text == "false" || text == "False" || text == "FALSE" || text == "no" || text == "No" || text == "off" ||
      text == "Off") {
    return Value(false);
  }
  if (text.size() < 19 && std::regex_match(text, integer)) return Value(int64_t(std::stoll(text)));
  if (std::regex_match(text, floating)) return Value(std::stod(text));
  return Value(std::string_view(text));
}

Value yaml_value(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return yaml_scalar(node);
    case YAML::NodeType::Sequence: {
      Array items;
      for (const YAML::Node& item : node) items.push_back(yaml_value(item));
      return Value(std::move(items));
    }
    case YAML::NodeType::Map: {
      Object object;
      for (const auto& entry : node) {
        object[entry.first.IsScalar() ? entry.first.Scalar() : YAML::Dump(entry.first)] = yaml_value(entry.second);
      }
      return Value(std::move(object));
    }
    default: return Value();
  }
}

void read_yaml(const std::string& text, int64_t code_point_limit, Dictionary& into) {
  int64_t code_points = 0;
  for (unsigned char c : text) code_points += (c & 0xC0) != 0x80;
  if (code_points > code_point_limit) {
    throw std::runtime_error("The incoming YAML document exceeds the limit: " + std::to_string(code_point_limit) +
                             " code points.");
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(std::string("invalid YAML: ") + e.what());
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) throw std::runtime_error("the YAML document is not a mapping of keys to values");
  for (const auto& entry : root) {
    // Keys are compared as text (Logstash asks for integer-like keys to be quoted; unquoted ones work too).
    std::string key = entry.first.IsScalar() ? entry.first.Scalar() : YAML::Dump(entry.first);
    into.set(std::move(key), yaml_value(entry.second));
  }
}

// Walks the top-level object itself: a big dictionary must not go through an event Object, whose
// linear key lookup would make loading quadratic.
void read_json(const std::string& text, Dictionary& into) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(text).get(root)) {
    throw std::runtime_error(std::string("invalid JSON: ") + simdjson::error_message(error));
  }
  if (root.type() != simdjson::dom::element_type::OBJECT) {
    throw std::runtime_error("the JSON document is not an object of keys to values");
  }
  using simdjson::dom::element_type;
  for (simdjson::dom::key_value_pair field : simdjson::dom::object(root)) {
    Value value;
    switch (field.value.type()) {
      case element_type::STRING: value.set_string(std::string_view(field.value)); break;
      case element_type::INT64: value.set_int(int64_t(field.value)); break;
      case element_type::UINT64: value.set_float(double(uint64_t(field.value))); break;
      case element_type::DOUBLE: value.set_float(double(field.value)); break;
      case element_type::BOOL: value.set_bool(bool(field.value)); break;
      case element_type::NULL_VALUE: break;
      default: json_parse(simdjson::minify(field.value), value); break;  // a nested object or array
    }
    into.set(std::string(field.key), std::move(value));
  }
}

// Ruby's CSV.read with its defaults: `,` separated, `"` quoted (`""` inside quotes), \n or \r\n rows.
void read_csv(const std::string& text, Dictionary& into) {
  std::vector<std::string> row;
  std::string field;
  size_t line = 1;
  size_t i = 0;
  bool row_has_content = false;
  auto end_row = [&] {
    if (row_has_content) {
      row.push_back(std::move(field));
      into.set(row[0], row.size() > 1 ? Value(std::string_view(row[1])) : Value());
    }
    row.clear();
    field.clear();
    row_has_content = false;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"' && field.empty()) {
      row_has_content = true;
      ++i;
      for (;;) {
        if (i >= text.size()) throw std::runtime_error("Unclosed quoted field in line " + std::to_string(line));
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        field.push_back(text[i++]);
      }
      if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        throw std::runtime_error("Any value after quoted field isn't allowed in line " + std::to_string(line));
      }
      continue;
    }
    if (c == ',') {
      row_has_content = true;
      row.push_back(std::move(field));
      field.clear();
      ++i;
    } else if (c == '\n' || c == '\r') {
      end_row();
      i += (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ? 2 : 1;
      ++line;
    } else {
      if (c == '"') throw std::runtime_error("Illegal quoting in line " + std::to_string(line));
      row_has_content = true;
      field.push_back(c);
      ++i;
    }
  }
  end_row();
}

struct FileSettings {
  FileFormat format = FileFormat::Yaml;
  bool merge = true;
  Strategy strategy = Strategy::Exact;
  int64_t yaml_code_point_limit = 134217728;
};

std::shared_ptr<const Dictionary> load_dictionary_file(const std::string& path, const Dictionary* previous,
                                                       const FileSettings& settings) {
  const std::string text = read_whole_file(path);
  auto dictionary = std::make_shared<Dictionary>();
  if (previous && settings.merge) {
    for (size_t i = 0; i < previous->size(); ++i) dictionary->set(previous->keys()[i], previous->values()[i]);
  }
  switch (settings.format) {
    case FileFormat::Yaml: read_yaml(text, settings.yaml_code_point_limit, *dictionary); break;
    case FileFormat::Json: read_json(text, *dictionary); break;
    case FileFormat::Csv: read_csv(text, *dictionary); break;
  }
  dictionary->prepare(settings.strategy);
  return dictionary;
}

// ---- paths inside array items (iterate_on over objects) ----------------------------------------

const Value* get_in(const Value& root, const FieldRef& ref) {
  const Value* at = &root;
  for (const std::string& key : ref.path()) {
    if (!at->is_object()) return nullptr;
    at = at->as_object().find(key);
    if (!at) return nullptr;
  }
  return at;
}

Value& put_in(Value& root, const FieldRef& ref) {
  Value* at = &root;
  for (const std::string& key : ref.path()) {
    if (!at->is_object()) at->make_object();
    at = &at->as_object()[key];
  }
  return *at;
}

// ---- the filter ---------------------------------------------------------------------------------

class TranslateFilter : public Filter {
 public:
  TranslateFilter(const Options& options, PluginContext& context) {
    auto error = [&](const std::string& option, const std::string& message) {
      return config::ConfigError(options.position(option), "translate: " + message);
    };
    auto field_ref = [&](const std::string& option, const std::string& text) {
      std::string message;
      std::optional<FieldRef> ref = FieldRef::parse(text, &message);
      if (!ref || ref->empty()) throw error(option, "invalid field reference `" + text + "`: " + message);
      return *ref;
    };

    // source (or the old `field`), required.
    if (options.has("source") && options.has("field") && options.get_string("source") != options.get_string("field")) {
      throw error("field", "`field` is the old name of `source`; set only `source`");
    }
    const std::string source_option = options.has("source") ? "source" : "field";
    if (!options.has(source_option)) {
      throw config::ConfigError(options.block_position(), "translate: the option `source` is required");
    }
    source_text_ = options.get_string(source_option);
    source_ = field_ref(source_option, source_text_);

    const std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                            : context.settings                ? context.settings->ecs_compatibility
                                                              : "v8";
    override_ = options.get_bool("override");
    if (options.has("target") && options.has("destination") &&
        options.get_string("target") != options.get_string("destination")) {
      throw error("destination", "`destination` is the old name of `target`; set only `target`");
    }
    if (options.has("target") || options.has("destination")) {
      const std::string option = options.has("target") ? "target" : "destination";
      target_text_ = options.get_string(option);
    } else if (ecs == "disabled") {
      target_text_ = "translation";
    } else {
      // ECS mode translates in place by default, which only makes sense overwriting the source.
      target_text_ = source_text_;
      if (!options.has("override")) override_ = true;
    }
    target_ = field_ref(options.has("target") ? "target" : "destination", target_text_);
    in_place_ = target_ == source_;

    if (options.has("iterate_on")) {
      iterate_on_text_ = options.get_string("iterate_on");
      iterate_on_ = field_ref("iterate_on", iterate_on_text_);
      values_mode_ = *iterate_on_ == source_;
    }
    if (options.has("fallback")) fallback_.emplace(options.get_string("fallback"));

    const bool exact = options.get_bool("exact");
    const bool regex = options.get_bool("regex");
    strategy_ = exact ? (regex ? Strategy::ExactRegex : Strategy::Exact) : Strategy::LiteralReplace;

    const auto inline_entries = options.get_hash("dictionary");
    if (options.has("dictionary_path")) {
      if (!inline_entries.empty()) {
        throw error("dictionary_path", "The configuration options 'dictionary' and 'dictionary_path' are mutually exclusive");
      }
      const std::string path = options.get_string("dictionary_path");
      std::optional<FileFormat> format = format_of(path);
      if (!format) throw error("dictionary_path", "Dictionary " + path + " has a non valid format (.yml, .yaml, .json or .csv)");
      FileSettings settings;
      settings.format = *format;
      settings.merge = options.get_string("refresh_behaviour") == "merge";
      settings.strategy = strategy_;
      settings.yaml_code_point_limit = options.get_int("yaml_dictionary_code_point_limit");
      if (settings.yaml_code_point_limit <= 0) {
        throw error("yaml_dictionary_code_point_limit", "must be a positive number");
      }
      try {
        file_ = std::make_unique<ReloadableFile<Dictionary>>(
            path, options.get_number("refresh_interval"),
            [settings](const std::string& p, const Dictionary* previous) {
              return load_dictionary_file(p, previous, settings);
            },
            context.metrics, "filter.translate");
      } catch (const std::exception& e) {
        throw error("dictionary_path", std::string(e.what()) + " when loading dictionary file at " + path);
      }
    } else {
      auto dictionary = std::make_shared<Dictionary>();
      for (const auto& [key, value] : inline_entries) dictionary->set(key, config_value(value));
      try {
        dictionary->prepare(strategy_);
      } catch (const std::exception& e) {
        throw error("dictionary", e.what());
      }
      inline_ = std::move(dictionary);
    }
  }

  bool filter(Event& event, FilterContext&) override {
    const std::shared_ptr<const Dictionary> dictionary = current();
    return translate(event, *dictionary);
  }

  // One snapshot of the dictionary for the whole batch: a reload lands between batches.
  void filter_batch(std::span<Event* const> events, std::vector<char>& matched, FilterContext&) override {
    matched.assign(events.size(), 0);
    const std::shared_ptr<const Dictionary> dictionary = current();
    for (size_t i = 0; i < events.size(); ++i) {
      if (!events[i]->cancelled()) matched[i] = translate(*events[i], *dictionary) ? 1 : 0;
    }
  }

 private:
  static Value config_value(const config::ConfigValue& value) {
    using Kind = config::ConfigValue::Kind;
    switch (value.kind) {
      case Kind::Number:
        if (value.is_integer) return Value(int64_t(value.number));
        return Value(value.number);
      case Kind::Boolean: return Value(value.boolean);
      case Kind::Array: {
        Array items;
        for (const auto& item : value.items) items.push_back(config_value(item));
        return Value(std::move(items));
      }
      case Kind::Hash: {
        Object object;
        for (const auto& [key, item] : value.entries) object[key.text] = config_value(item);
        return Value(std::move(object));
      }
      default: return Value(std::string_view(value.text));
    }
  }

  std::shared_ptr<const Dictionary> current() const { return file_ ? file_->snapshot() : inline_; }

  // The dictionary's translation of `text`, or nullptr.
  const Value* fetch(const Dictionary& dictionary, std::string_view text) const {
    switch (strategy_) {
      case Strategy::Exact: return dictionary.find(text);
      case Strategy::ExactRegex: return dictionary.find_regex(text);
      case Strategy::LiteralReplace: {
        thread_local Value replaced;
        std::string& out = replaced.make_string();
        if (!dictionary.replace_all(text, out) || out == text) return nullptr;
        return &replaced;
      }
    }
    return nullptr;
  }

  // Ruby's `value.to_s` (first item of an array), without a copy for strings.
  static std::string_view lookup_text(const Value& value) {
    const Value& first = value.is_array() ? (value.as_array().empty() ? null_value() : value.as_array()[0]) : value;
    if (first.is_string()) return first.as_string();
    thread_local std::string text;
    text.clear();
    append_ruby_to_s(text, first);
    return text;
  }

  static const Value& null_value() {
    static const Value null;
    return null;
  }

  static void assign(Value& slot, const Value& value) {
    if (value.is_string()) slot.set_string(value.as_string());
    else slot = value;
  }

  void write_fallback(const Event& event, Value& slot) const {
    std::string& out = slot.make_string();
    fallback_->render(event, out);
  }

  bool translate(Event& event, const Dictionary& dictionary) const {
    if (iterate_on_) return values_mode_ ? translate_values(event, dictionary) : translate_objects(event, dictionary);
    const Value* source = event.get(source_);
    if (!source) return false;
    if (!override_ && !in_place_ && event.contains(target_)) return false;
    const Value* translation = fetch(dictionary, lookup_text(*source));
    if (translation) {
      assign(event.put(target_), *translation);  // the translation never points into the event
      return true;
    }
    if (fallback_) {
      thread_local Value rendered;
      write_fallback(event, rendered);
      event.put(target_).set_string(rendered.as_string());
      return true;
    }
    return in_place_;  // Logstash: filter_matched when source == target even without a match
  }

  // iterate_on == source: an array of values becomes an array of translations (fallback or nil).
  bool translate_values(Event& event, const Dictionary& dictionary) const {
    const Value* items = event.get(*iterate_on_);
    if (!items) return false;
    if (!override_ && !in_place_ && event.contains(target_)) return false;
    Array translated;
    std::optional<std::string> fallback_text;
    if (fallback_) fallback_text = fallback_->render(event);
    bool any = false;
    auto one = [&](const Value& item) {
      if (const Value* found = fetch(dictionary, lookup_text(item))) {
        translated.push_back(*found);
        any = true;
      } else if (fallback_text) {
        translated.emplace_back(std::string_view(*fallback_text));
        any = true;
      } else {
        translated.emplace_back();
      }
    };
    if (items->is_array()) {
      for (const Value& item : items->as_array()) one(item);
    } else {
      one(*items);
    }
    event.put(target_) = Value(std::move(translated));
    return any;
  }

  // iterate_on names an array of objects: each object's `source` is translated into its `target`.
  bool translate_objects(Event& event, const Dictionary& dictionary) const {
    Value* items = event.get(*iterate_on_);
    if (!items || !items->is_array()) return false;
    bool any = false;
    std::optional<std::string> fallback_text;
    for (Value& item : items->as_array()) {
      const Value* inner = get_in(item, source_);
      if (!inner) continue;
      if (const Value* found = fetch(dictionary, lookup_text(*inner))) {
        assign(put_in(item, target_), *found);
        any = true;
      } else if (fallback_) {
        if (!fallback_text) fallback_text = fallback_->render(event);
        put_in(item, target_).set_string(*fallback_text);
        any = true;
      }
    }
    return any;
  }

  FieldRef source_, target_;
  std::string source_text_, target_text_;
  std::optional<FieldRef> iterate_on_;
  std::string iterate_on_text_;
  bool values_mode_ = false;
  bool override_ = false;
  bool in_place_ = false;
  std::optional<Template> fallback_;
  Strategy strategy_ = Strategy::Exact;
  std::shared_ptr<const Dictionary> inline_;
  std::unique_ptr<ReloadableFile<Dictionary>> file_;
};

const RegisterFilter registration{translate_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<TranslateFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
