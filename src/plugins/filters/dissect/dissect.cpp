// The dissect filter: splits fields by the delimiters of a mapping (see dissector.h), stores
// the values (normal, append, indirect fields), then converts the types in convert_datatype.
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "plugins/filters/dissect/dissector.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema dissect_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "dissect";
  schema.doc =
      "Splits text by delimiters: `mapping => { \"message\" => \"%{ts} %{+ts} %{host} %{} %{prog}[%{pid}]: %{msg}\" "
      "}`. Modifiers: `%{a->}` skips repeated delimiters after a, `%{+a}` / `%{+a/2}` appends (ordered), "
      "`%{}` / `%{?a}` skip, `%{&a}` stores under the name held by field a (`%{*a}` is a synonym of `%{?a}`).";
  OptionSpec mapping;
  mapping.name = "mapping";
  mapping.type = OptionType::Hash;
  mapping.default_value = cv_hash();
  mapping.doc = "Source field => dissect pattern.";
  OptionSpec convert;
  convert.name = "convert_datatype";
  convert.type = OptionType::Hash;
  convert.default_value = cv_hash();
  convert.doc = "Field => int or float, applied after the dissection.";
  OptionSpec tag;
  tag.name = "tag_on_failure";
  tag.type = OptionType::Array;
  tag.default_value = cv_array({"_dissectfailure"});
  tag.doc = "Tags added when a delimiter is not found.";
  schema.options = {mapping, convert, tag};
  return schema;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Java's BigDecimal(String) syntax: [+-] digits [. digits] [e [+-] digits] (either side of the dot).
bool is_big_decimal(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exponent_digits = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++exponent_digits;
    if (exponent_digits == 0) return false;
  }
  return i == s.size();
}

// BigDecimal(s).toBigInteger(): truncates toward zero. Beyond int64 the value is kept as a double.
void to_integer(std::string_view s, Value& out) {
  bool negative = false;
  size_t i = 0;
  if (s[i] == '+' || s[i] == '-') negative = s[i++] == '-';
  std::string digits;  // all mantissa digits
  long point = -1;     // digits before the decimal point
  for (; i < s.size() && (is_digit(s[i]) || s[i] == '.'); ++i) {
    if (s[i] == '.') point = long(digits.size());
    else digits.push_back(s[i]);
  }
  if (point < 0) point = long(digits.size());
  if (i < s.size()) point += std::strtol(std::string(s.substr(i + 1)).c_str(), nullptr, 10);  // exponent
  unsigned long long value = 0;
  bool overflow = false;
  for (long k = 0; k < point; ++k) {
    const int d = k < long(digits.size()) ? digits[size_t(k)] - '0' : 0;
    if (value > (~0ULL - 9) / 10) {
      overflow = true;
      break;
    }
    value = value * 10 + unsigned(d);
  }
  if (overflow || value > (negative ? 9223372036854775808ULL : 9223372036854775807ULL)) {
    out.set_float(std::strtod(std::string(s).c_str(), nullptr));
    return;
  }
  out.set_int(negative ? int64_t(0 - value) : int64_t(value));
}

class DissectFilter : public Filter {
 public:
  DissectFilter(const Options& options, PluginContext& context) : metrics_(context.metrics) {
    for (const auto& [source, mapping] : options.get_string_hash("mapping")) {
      if (mapping.empty()) continue;  // Logstash ignores an empty mapping
      Mapping entry;
      entry.source = field(options, "mapping", source);
      try {
        entry.dissector = std::make_unique<dissect::Dissector>(mapping);
      } catch (const dissect::MappingError& e) {
        throw config::ConfigError(options.position("mapping"), std::string("dissect: ") + e.what());
      }
      mappings_.push_back(std::move(entry));
    }
    for (const auto& [name, type] : options.get_string_hash("convert_datatype")) {
      Conversion conversion;
      conversion.name = name;
      conversion.field = field(options, "convert_datatype", name);
      conversion.type = type;
      if (type == "int") conversion.to_int = true;
      else if (type != "float") {
        throw config::ConfigError(options.position("convert_datatype"),
                                  "dissect: convert_datatype for `" + name + "` is `" + type +
                                      "`; only int and float are supported");
      }
      conversions_.push_back(std::move(conversion));
    }
    tag_on_failure_ = options.get_string_array("tag_on_failure");
    if (metrics_) {
      matches_ = &metrics_->counter("matches");
    }
  }

  bool filter(Event& event, FilterContext&) override {
    thread_local std::string text;
    thread_local std::vector<dissect::Span> spans;
    bool dissected = mappings_.empty();
    for (const Mapping& mapping : mappings_) {
      const Value* value = event.get(mapping.source);
      if (!value || value->is_null()) continue;  // Logstash logs a warning and goes on
      // A copy: stored fields may overwrite the source while its text is still being read.
      text.clear();
      if (value->is_string()) text.append(value->as_string());
      else value->append_text(text);
      if (!mapping.dissector->dissect(text, spans) || !store(event, *mapping.dissector, text, spans)) {
        return fail(event);
      }
      dissected = true;
    }
    if (!dissected) {
      if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    convert(event);
    if (matches_) matches_->fetch_add(1, std::memory_order_relaxed);
    return true;
  }

 private:
  struct Mapping {
    FieldRef source;
    std::unique_ptr<dissect::Dissector> dissector;
  };
  struct Conversion {
    std::string name;
    FieldRef field;
    std::string type;
    bool to_int = false;
  };

  static FieldRef field(const Options& options, const std::string& option, const std::string& text) {
    std::string message;
    std::optional<FieldRef> ref = FieldRef::parse(text, &message);
    if (!ref) {
      throw config::ConfigError(options.position(option),
                                "dissect: invalid field reference `" + text + "` in `" + option + "`: " + message);
    }
    return *ref;
  }

  bool fail(Event& event) const {
    for (const std::string& tag : tag_on_failure_) event.add_tag(tag);
    if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  static bool store(Event& event, const dissect::Dissector& dissector, std::string_view text,
                    const std::vector<dissect::Span>& spans) {
    thread_local std::string joined;
    for (size_t index : dissector.save_order()) {
      const dissect::Field& field = dissector.fields()[index];
      const dissect::Span span = spans[field.id];
      const std::string_view value = text.substr(span.start, span.length);
      switch (field.kind) {
        case dissect::Field::Kind::Normal:
          event.put(*field.ref).set_string(value);
          break;
        case dissect::Field::Kind::Append: {
          Value* existing = event.get(*field.ref);
          if (!existing) {
            event.put(*field.ref).set_string(value);
            break;
          }
          joined.clear();
          existing->append_text(joined);
          joined.append(dissector.join_string(field));
          joined.append(value);
          existing->set_string(joined);
          break;
        }
        case dissect::Field::Kind::Indirect: {
          // The key is the value of the field named like this one: from the event, else from
          // another field of the mapping (a skip field, typically).
          joined.clear();
          const Value* key_value = field.ref ? event.get(*field.ref) : nullptr;
          if (key_value) {
            key_value->append_text(joined);
          } else {
            const size_t other = dissector.find_field(field.name, field.id);
            if (other != std::string::npos) joined.append(text.substr(spans[other].start, spans[other].length));
          }
          if (joined.empty()) break;
          std::optional<FieldRef> target = FieldRef::parse(joined);
          if (!target) return false;  // Logstash: the event refuses the name, the filter fails
          event.put(*target).set_string(value);
          break;
        }
        case dissect::Field::Kind::Skip:
          break;
      }
    }
    return true;
  }

  void convert(Event& event) const {
    thread_local std::string text;
    for (const Conversion& conversion : conversions_) {
      Value* value = event.get(conversion.field);
      if (!value || value->is_null()) {
        event.add_tag("_dataconversionnullvalue_" + conversion.name + "_" + conversion.type);
        continue;
      }
      text.clear();
      value->append_text(text);
      if (!is_big_decimal(text)) {
        event.add_tag("_dataconversionuncoercible_" + conversion.name + "_" + conversion.type);
        continue;
      }
      if (conversion.to_int) to_integer(text, *value);
      else value->set_float(std::strtod(text.c_str(), nullptr));
    }
  }

  PluginMetrics* metrics_ = nullptr;
  std::atomic<uint64_t>* matches_ = nullptr;
  std::vector<Mapping> mappings_;
  std::vector<Conversion> conversions_;
  std::vector<std::string> tag_on_failure_;
};

const RegisterFilter registration{dissect_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<DissectFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
