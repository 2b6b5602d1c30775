// Option validation and coercion, following Logstash's config mixin (validate_value):
// scalars may be given as one-item arrays, strings that look like numbers/booleans are
// accepted for those types, a hash may be written as an array of key, value pairs, and an
// option given twice is merged (hashes merged, arrays concatenated, two scalars become an array).
#include "runtime/options.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <fmt/format.h>

namespace sluice {

using config::ConfigError;
using config::ConfigValue;
using config::PluginBlock;
using config::Position;
using Kind = config::ConfigValue::Kind;

config::ConfigValue cv_string(std::string s) {
  ConfigValue v;
  v.kind = Kind::String;
  v.text = std::move(s);
  return v;
}

config::ConfigValue cv_number(double n) {
  ConfigValue v;
  v.kind = Kind::Number;
  v.number = n;
  v.is_integer = std::isfinite(n) && std::floor(n) == n && std::fabs(n) < 9.0e15;
  v.text = v.is_integer ? fmt::format("{}", static_cast<int64_t>(n)) : fmt::format("{}", n);
  return v;
}

config::ConfigValue cv_bool(bool b) {
  ConfigValue v;
  v.kind = Kind::Boolean;
  v.boolean = b;
  v.text = b ? "true" : "false";
  return v;
}

config::ConfigValue cv_array(std::vector<std::string> items) {
  ConfigValue v;
  v.kind = Kind::Array;
  for (auto& item : items) v.items.push_back(cv_string(std::move(item)));
  return v;
}

config::ConfigValue cv_hash() {
  ConfigValue v;
  v.kind = Kind::Hash;
  return v;
}

namespace {

bool is_scalar(const ConfigValue& v) {
  return v.kind == Kind::String || v.kind == Kind::Number || v.kind == Kind::Bareword || v.kind == Kind::Boolean;
}

std::string scalar_text(const ConfigValue& v) {
  if (v.kind == Kind::Boolean) return v.boolean ? "true" : "false";
  return v.text;
}

bool same_value(const ConfigValue& a, const ConfigValue& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::Array:
      if (a.items.size() != b.items.size()) return false;
      for (size_t i = 0; i < a.items.size(); ++i)
        if (!same_value(a.items[i], b.items[i])) return false;
      return true;
    case Kind::Hash:
      if (a.entries.size() != b.entries.size()) return false;
      for (size_t i = 0; i < a.entries.size(); ++i)
        if (!same_value(a.entries[i].first, b.entries[i].first) || !same_value(a.entries[i].second, b.entries[i].second))
          return false;
      return true;
    case Kind::Plugin: return a.plugin == b.plugin;
    case Kind::Boolean: return a.boolean == b.boolean;
    default: return a.text == b.text;
  }
}

// How a value is shown in a message: the written form (never a substituted secret), shortened.
std::string shown(const ConfigValue& v) {
  std::string s;
  switch (v.kind) {
    case Kind::String: s = "\"" + v.display() + "\""; break;
    case Kind::Number:
    case Kind::Bareword: s = v.display(); break;
    case Kind::Boolean: s = v.boolean ? "true" : "false"; break;
    case Kind::Array: return fmt::format("an array of {} item{}", v.items.size(), v.items.size() == 1 ? "" : "s");
    case Kind::Hash: return "a hash";
    case Kind::Plugin: return fmt::format("a plugin block `{}`", v.plugin ? v.plugin->name : "");
  }
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

// Adds `value` to the hash `into`; a key seen before turns its value into an array (as Logstash).
void hash_put(ConfigValue& into, const ConfigValue& key, const ConfigValue& value) {
  for (auto& [k, v] : into.entries) {
    if (scalar_text(k) != scalar_text(key)) continue;
    if (same_value(v, value)) return;
    if (v.kind != Kind::Array) {
      ConfigValue arr;
      arr.kind = Kind::Array;
      arr.pos = v.pos;
      arr.items.push_back(std::move(v));
      v = std::move(arr);
    }
    if (value.kind == Kind::Array)
      v.items.insert(v.items.end(), value.items.begin(), value.items.end());
    else
      v.items.push_back(value);
    return;
  }
  into.entries.emplace_back(key, value);
}

// Merges a second occurrence of an option into the first, before coercion (Logstash's expr_attributes).
void merge_duplicate(ConfigValue& existing, const ConfigValue& more) {
  if (existing.kind == Kind::Hash && more.kind == Kind::Hash) {
    for (const auto& [k, v] : more.entries) hash_put(existing, k, v);
  } else if (existing.kind == Kind::Array) {
    if (more.kind == Kind::Array)
      existing.items.insert(existing.items.end(), more.items.begin(), more.items.end());
    else
      existing.items.push_back(more);
  } else if (!same_value(existing, more)) {
    ConfigValue arr;
    arr.kind = Kind::Array;
    arr.pos = existing.pos;
    arr.items.push_back(std::move(existing));
    arr.items.push_back(more);
    existing = std::move(arr);
  }
}

// Optimal string alignment distance (a transposition counts as one edit): "mtach" is 1 from "match".
size_t edit_distance(const std::string& a, const std::string& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

std::string suggestion(const std::string& name, const std::vector<const OptionSpec*>& specs) {
  const OptionSpec* best = nullptr;
  size_t best_distance = 0;
  for (const OptionSpec* s : specs) {
    size_t dist = edit_distance(name, s->name);
    if (!best || dist < best_distance) {
      best = s;
      best_distance = dist;
    }
  }
  size_t limit = std::max<size_t>(2, name.size() / 3);
  return best && best_distance <= limit ? best->name : std::string();
}

bool parse_number(const std::string& s, double& out, bool& is_integer) {
  if (s.empty()) return false;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (*first == '+') ++first;
  auto [ptr, ec] = std::from_chars(first, last, out);
  if (ec != std::errc() || ptr != last) return false;
  if (!std::isfinite(out)) return false;
  is_integer = s.find_first_of(".eE") == std::string::npos;
  return true;
}

class Validator {
 public:
  Validator(const PluginBlock& block, const PluginSchema& schema, std::vector<ConfigError>& errors)
      : block_(block), schema_(schema), errors_(errors) {
    for (const OptionSpec& s : schema.options) specs_.push_back(&s);
    for (const OptionSpec& common : common_options(schema.kind)) {
      bool present = std::any_of(specs_.begin(), specs_.end(), [&](const OptionSpec* s) { return s->name == common.name; });
      if (!present) specs_.push_back(&common);
    }
  }

  // Coerces `value` to the spec's type; on failure records an error and returns nullopt.
  std::optional<ConfigValue> coerce(const OptionSpec& spec, const ConfigValue& value) {
    const bool secret = spec.type == OptionType::Password || spec.type == OptionType::Uri;
    // Scalar types take a one-item array as its item (Logstash wraps every value in an array).
    const ConfigValue* v = &value;
    if (spec.type != OptionType::Array && spec.type != OptionType::Hash && spec.type != OptionType::Any &&
        value.kind == Kind::Array && value.items.size() == 1)
      v = &value.items[0];

    switch (spec.type) {
      case OptionType::Any: return value;
      case OptionType::String:
      case OptionType::Path:
      case OptionType::Password:
      case OptionType::Uri: {
        if (!is_scalar(*v)) {
          if (secret)
            fail(spec, value.pos, fmt::format("expects a single {} value", option_type_name(spec.type)));
          else
            fail(spec, value.pos, fmt::format("expects a {}, got {}", option_type_name(spec.type), shown(*v)));
          return std::nullopt;
        }
        ConfigValue out = *v;
        out.kind = Kind::String;
        out.text = scalar_text(*v);
        if (!check_allowed(spec, out)) return std::nullopt;
        if (spec.type == OptionType::Path && !path_exists(out.text)) {
          errors_.emplace_back(out.pos, fmt::format("file not found: {} (option `{}` of {})", out.display(), spec.name,
                                                    schema_.name));
          return std::nullopt;
        }
        return out;
      }
      case OptionType::Number: {
        if (v->kind == Kind::Number) return *v;
        double n = 0;
        bool integer = false;
        if ((v->kind == Kind::String || v->kind == Kind::Bareword) && parse_number(v->text, n, integer)) {
          ConfigValue out = *v;
          out.kind = Kind::Number;
          out.number = n;
          out.is_integer = integer;
          if (!check_allowed(spec, out)) return std::nullopt;
          return out;
        }
        fail(spec, v->pos, fmt::format("expects a number, got {}", shown(*v)));
        return std::nullopt;
      }
      case OptionType::Boolean: {
        if (v->kind == Kind::Boolean) return *v;
        if ((v->kind == Kind::String || v->kind == Kind::Bareword) && (v->text == "true" || v->text == "false")) {
          ConfigValue out = *v;
          out.kind = Kind::Boolean;
          out.boolean = v->text == "true";
          return out;
        }
        fail(spec, v->pos, fmt::format("expects a boolean (true or false), got {}", shown(*v)));
        return std::nullopt;
      }
      case OptionType::Array: {
        if (value.kind == Kind::Hash || value.kind == Kind::Plugin) {
          fail(spec, value.pos, fmt::format("expects an array, got {}", shown(value)));
          return std::nullopt;
        }
        ConfigValue out;
        if (value.kind == Kind::Array) {
          out = value;
        } else {
          out.kind = Kind::Array;
          out.pos = value.pos;
          out.items.push_back(value);
        }
        for (const ConfigValue& item : out.items)
          if (is_scalar(item) && !check_allowed(spec, item)) return std::nullopt;
        return out;
      }
      case OptionType::Hash: {
        if (value.kind == Kind::Hash) return value;
        if (value.kind != Kind::Array) {
          fail(spec, value.pos, fmt::format("expects a hash, got {}", shown(value)));
          return std::nullopt;
        }
        if (value.items.size() % 2 == 1) {
          fail(spec, value.pos,
               fmt::format("expects a hash; an array of key, value pairs needs an even number of items, got {}",
                           value.items.size()));
          return std::nullopt;
        }
        ConfigValue out;
        out.kind = Kind::Hash;
        out.pos = value.pos;
        for (size_t i = 0; i < value.items.size(); i += 2) {
          const ConfigValue& key = value.items[i];
          if (!is_scalar(key)) {
            fail(spec, key.pos, fmt::format("expects a hash; key {} is not a string", shown(key)));
            return std::nullopt;
          }
          ConfigValue k = key;
          k.kind = Kind::String;
          k.text = scalar_text(key);
          hash_put(out, k, value.items[i + 1]);
        }
        return out;
      }
      case OptionType::Codec: {
        if (v->kind == Kind::Plugin && v->plugin) return *v;
        if (v->kind == Kind::String || v->kind == Kind::Bareword) {
          ConfigValue out;
          out.kind = Kind::Plugin;
          out.pos = v->pos;
          out.text = v->text;
          out.plugin = std::make_shared<PluginBlock>();
          out.plugin->name = v->text;
          out.plugin->pos = v->pos;
          return out;
        }
        fail(spec, v->pos, fmt::format("expects a codec name or codec block, got {}", shown(*v)));
        return std::nullopt;
      }
    }
    return value;
  }

  struct Result {
    std::map<std::string, ConfigValue> set, defaults;
    std::map<std::string, Position> positions;
  };

  Result run() {
    Result out;
    // Group repeated options first: Logstash merges them before validating.
    std::vector<std::pair<const config::Attribute*, ConfigValue>> merged;
    for (const config::Attribute& attr : block_.attributes) {
      auto it = std::find_if(merged.begin(), merged.end(), [&](const auto& m) { return m.first->name == attr.name; });
      if (it == merged.end())
        merged.emplace_back(&attr, attr.value);
      else
        merge_duplicate(it->second, attr.value);
    }
    for (auto& [attr, value] : merged) {
      const OptionSpec* spec = find(attr->name);
      if (!spec) {
        std::string hint = suggestion(attr->name, specs_);
        if (hint.empty())
          errors_.emplace_back(attr->pos, fmt::format("unknown option `{}` for {}", attr->name, schema_.name));
        else
          errors_.emplace_back(attr->pos,
                               fmt::format("unknown option `{}` for {}, did you mean `{}`?", attr->name, schema_.name, hint));
        continue;
      }
      if (spec->deprecated)
        spdlog::warn("{}: option `{}` of {} is deprecated", attr->pos.str(), spec->name, schema_.name);
      // Recorded even when invalid, so that `required` does not report it missing too.
      out.positions[spec->name] = attr->pos;
      std::optional<ConfigValue> coerced = coerce(*spec, value);
      if (coerced) out.set[spec->name] = std::move(*coerced);
    }
    for (const OptionSpec* spec : specs_) {
      if (spec->required && !out.positions.count(spec->name))
        errors_.emplace_back(block_.pos,
                             fmt::format("missing required option `{}` for {} {}", spec->name, schema_.name,
                                         plugin_kind_name(schema_.kind)));
      if (spec->default_value) out.defaults[spec->name] = *spec->default_value;
    }
    return out;
  }

 private:
  const OptionSpec* find(const std::string& name) const {
    for (const OptionSpec* s : specs_)
      if (s->name == name) return s;
    return nullptr;
  }

  void fail(const OptionSpec& spec, const Position& pos, const std::string& what) {
    errors_.emplace_back(pos, fmt::format("option `{}` of {} {}", spec.name, schema_.name, what));
  }

  bool check_allowed(const OptionSpec& spec, const ConfigValue& v) {
    if (spec.allowed.empty()) return true;
    std::string text = scalar_text(v);
    if (std::find(spec.allowed.begin(), spec.allowed.end(), text) != spec.allowed.end()) return true;
    std::string list;
    for (const std::string& a : spec.allowed) list += (list.empty() ? "" : ", ") + a;
    if (spec.type == OptionType::Password)
      fail(spec, v.pos, fmt::format("has a value that is not one of: {}", list));
    else
      fail(spec, v.pos, fmt::format("has invalid value {}, expected one of: {}", shown(v), list));
    return false;
  }

  static bool path_exists(const std::string& p) {
    std::error_code ec;
    return !p.empty() && std::filesystem::exists(p, ec);
  }

  const PluginBlock& block_;
  const PluginSchema& schema_;
  std::vector<ConfigError>& errors_;
  std::vector<const OptionSpec*> specs_;
};

}  // namespace

Options Options::validate_all(const config::PluginBlock& block, const PluginSchema& schema,
                              std::vector<config::ConfigError>& errors) {
  Validator validator(block, schema, errors);
  Validator::Result result = validator.run();
  Options out;
  out.set_ = std::move(result.set);
  out.defaults_ = std::move(result.defaults);
  out.positions_ = std::move(result.positions);
  out.plugin_name_ = block.name;
  out.block_pos_ = block.pos;
  return out;
}

Options Options::validate(const config::PluginBlock& block, const PluginSchema& schema) {
  std::vector<ConfigError> errors;
  Options out = validate_all(block, schema, errors);
  if (!errors.empty()) throw errors.front();
  return out;
}

bool Options::has(const std::string& name) const { return set_.count(name) > 0; }

const config::ConfigValue* Options::raw(const std::string& name) const {
  if (auto it = set_.find(name); it != set_.end()) return &it->second;
  if (auto it = defaults_.find(name); it != defaults_.end()) return &it->second;
  return nullptr;
}

config::Position Options::position(const std::string& name) const {
  if (auto it = positions_.find(name); it != positions_.end()) return it->second;
  return block_pos_;
}

namespace {
const ConfigValue* single(const ConfigValue* v) {
  if (v && v->kind == Kind::Array && v->items.size() == 1) return &v->items[0];
  return v;
}
}  // namespace

std::string Options::get_string(const std::string& name) const {
  const ConfigValue* v = single(raw(name));
  if (!v || !is_scalar(*v)) return "";
  return scalar_text(*v);
}

double Options::get_number(const std::string& name) const {
  const ConfigValue* v = single(raw(name));
  if (!v) return 0;
  if (v->kind == Kind::Number) return v->number;
  double n = 0;
  bool integer = false;
  if (is_scalar(*v) && parse_number(v->text, n, integer)) return n;
  return 0;
}

int64_t Options::get_int(const std::string& name) const {
  const ConfigValue* v = single(raw(name));
  if (!v) return 0;
  if (v->kind == Kind::Number && v->is_integer) {
    int64_t i = 0;
    const char* first = v->text.data();
    if (!v->text.empty() && *first == '+') ++first;
    auto [ptr, ec] = std::from_chars(first, v->text.data() + v->text.size(), i);
    if (ec == std::errc() && ptr == v->text.data() + v->text.size()) return i;
  }
  double n = get_number(name);
  if (!(n > -9.2e18 && n < 9.2e18)) return 0;
  return static_cast<int64_t>(n);
}

bool Options::get_bool(const std::string& name) const {
  const ConfigValue* v = single(raw(name));
  if (!v) return false;
  if (v->kind == Kind::Boolean) return v->boolean;
  return is_scalar(*v) && v->text == "true";
}

namespace {
void collect_strings(const ConfigValue& v, std::vector<std::string>& out) {
  if (is_scalar(v))
    out.push_back(scalar_text(v));
  else if (v.kind == Kind::Array)
    for (const ConfigValue& item : v.items) collect_strings(item, out);
}
}  // namespace

std::vector<std::string> Options::get_string_array(const std::string& name) const {
  std::vector<std::string> out;
  if (const ConfigValue* v = raw(name)) collect_strings(*v, out);
  return out;
}

std::vector<std::pair<std::string, std::string>> Options::get_string_hash(const std::string& name) const {
  std::vector<std::pair<std::string, std::string>> out;
  const ConfigValue* v = raw(name);
  if (!v || v->kind != Kind::Hash) return out;
  for (const auto& [k, value] : v->entries) {
    // An array value (a key given several times) yields one pair per item.
    std::vector<std::string> values;
    collect_strings(value, values);
    for (std::string& s : values) out.emplace_back(scalar_text(k), std::move(s));
  }
  return out;
}

std::vector<std::pair<std::string, config::ConfigValue>> Options::get_hash(const std::string& name) const {
  std::vector<std::pair<std::string, ConfigValue>> out;
  const ConfigValue* v = raw(name);
  if (!v || v->kind != Kind::Hash) return out;
  for (const auto& [k, value] : v->entries) out.emplace_back(scalar_text(k), value);
  return out;
}

std::shared_ptr<config::PluginBlock> Options::get_codec(const std::string& name) const {
  const ConfigValue* v = single(raw(name));
  if (!v) return nullptr;
  if (v->kind == Kind::Plugin) return v->plugin;
  if (v->kind == Kind::String || v->kind == Kind::Bareword) {
    auto block = std::make_shared<PluginBlock>();
    block->name = v->text;
    block->pos = v->pos.line ? v->pos : block_pos_;
    return block;
  }
  return nullptr;
}

OptionSpec option_spec(std::string name, OptionType type, std::optional<config::ConfigValue> default_value,
                       std::string doc, std::vector<std::string> allowed) {
  OptionSpec spec;
  spec.name = std::move(name);
  spec.type = type;
  spec.default_value = std::move(default_value);
  spec.doc = std::move(doc);
  spec.allowed = std::move(allowed);
  return spec;
}

}  // namespace sluice
