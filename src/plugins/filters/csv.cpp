// The csv filter: one line of CSV (Ruby CSV.parse_line semantics: quoted fields, doubled quotes,
// strict quoting) becomes fields named by `columns` (or column1, column2...), with optional
// type conversion, header detection and skipping.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "core/time_format.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema csv_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "csv";
  schema.doc =
      "Parses a CSV line from `source` into fields named by `columns` (column1, column2... past those). Quoted "
      "fields may hold separators, doubled quotes and newlines; malformed quoting tags `_csvparsefailure`.";
  schema.options = {
      option_spec("source", OptionType::String, cv_string("message"), "The field holding the CSV text."),
      option_spec("target", OptionType::String, std::nullopt, "Put the columns under this field instead of the root."),
      option_spec("columns", OptionType::Array, cv_array({}), "Column names, in order."),
      option_spec("separator", OptionType::String, cv_string(","), "The column separator (may be several characters)."),
      option_spec("quote_char", OptionType::String, cv_string("\""), "The quote character (one character)."),
      option_spec("autodetect_column_names", OptionType::Boolean, cv_bool(false),
          "Take the column names from the first line seen (which is dropped); needs one worker."),
      option_spec("autogenerate_column_names", OptionType::Boolean, cv_bool(true),
          "Name columns past `columns` column1, column2...; when false they are dropped."),
      option_spec("skip_header", OptionType::Boolean, cv_bool(false), "Drop lines equal to the column names."),
      option_spec("skip_empty_columns", OptionType::Boolean, cv_bool(false), "Do not store empty columns."),
      option_spec("skip_empty_rows", OptionType::Boolean, cv_bool(false), "Drop events whose line is empty."),
      option_spec("convert", OptionType::Hash, cv_hash(),
          "Column => integer, float, date, date_time or boolean."),
      option_spec("ecs_compatibility", OptionType::String, std::nullopt,
          "Accepted for compatibility; csv behaves the same in every mode.", {"disabled", "v1", "v8"}),
  };
  return schema;
}

// One parsed column: nil (empty and unquoted) or text.
struct Column {
  bool nil = true;
  std::string text;
};

// Ruby's CSV.parse_line for one row: returns false on malformed quoting ("Illegal quoting",
// "Unclosed quoted field", "Any value after quoted field isn't allowed"); `rows` is 0 for an
// empty string (Ruby returns nil).
bool parse_csv_line(std::string_view s, std::string_view separator, char quote, std::vector<Column>& columns,
                    size_t& count, bool& empty_row) {
  count = 0;
  empty_row = s.empty();
  if (s.empty()) return true;
  // Ruby's row_sep :auto is the first line ending in the data.
  std::string_view row_sep = "\n";
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n') break;
    if (s[i] == '\r') {
      row_sep = i + 1 < s.size() && s[i + 1] == '\n' ? "\r\n" : "\r";
      break;
    }
  }
  auto next_column = [&]() -> Column& {
    if (count == columns.size()) columns.emplace_back();
    Column& c = columns[count++];
    c.nil = true;
    c.text.clear();
    return c;
  };
  size_t i = 0;
  if (s.compare(0, row_sep.size(), row_sep) == 0) return true;  // a blank line is an empty row: []
  while (true) {
    Column& column = next_column();
    if (i < s.size() && s[i] == quote) {
      column.nil = false;
      ++i;
      while (true) {
        if (i >= s.size()) return false;  // unclosed quoted field
        if (s[i] == quote) {
          if (i + 1 < s.size() && s[i + 1] == quote) {
            column.text.push_back(quote);
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        column.text.push_back(s[i++]);
      }
      if (i == s.size()) return true;
      if (s.compare(i, separator.size(), separator) == 0) {
        i += separator.size();
        if (i == s.size()) {
          next_column();  // a trailing separator: one more (nil) column
          return true;
        }
        continue;
      }
      if (s.compare(i, row_sep.size(), row_sep) == 0) return true;  // end of the row
      return false;  // text after a closing quote
    }
    // Unquoted: up to the separator or the end of the row.
    while (i < s.size()) {
      if (s.compare(i, separator.size(), separator) == 0) break;
      if (s.compare(i, row_sep.size(), row_sep) == 0) return true;
      char c = s[i];
      if (c == quote) return false;               // illegal quoting
      if (c == '\r' || c == '\n') return false;  // a line ending that is not the row's
      column.nil = false;
      column.text.push_back(c);
      ++i;
    }
    if (i >= s.size()) return true;
    i += separator.size();
    if (i == s.size()) {
      next_column();
      return true;
    }
  }
}

std::string_view strip(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == '\0'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Digits in `base` with single underscores between them (Ruby's Integer()).
bool ruby_digits(std::string_view s, int base, int64_t& value, bool& overflow) {
  if (s.empty() || s.front() == '_' || s.back() == '_') return false;
  unsigned long long v = 0;
  overflow = false;
  char previous = 0;
  for (char c : s) {
    if (c == '_') {
      if (previous == '_') return false;
      previous = c;
      continue;
    }
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'z') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'Z') d = c - 'A' + 10;
    else return false;
    if (d >= base) return false;
    if (v > (~0ULL - unsigned(d)) / unsigned(base)) overflow = true;
    else v = v * unsigned(base) + unsigned(d);
    previous = c;
  }
  if (v > 9223372036854775807ULL) overflow = true;
  value = int64_t(v);
  return true;
}

// Ruby's Integer(text): sign, 0x / 0b / 0o / 0 (octal) prefixes, underscores, surrounding spaces.
bool ruby_integer(std::string_view text, Value& out) {
  std::string_view s = strip(text);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 1 && s[0] == '0') {
    char p = s[1];
    if (p == 'x' || p == 'X') base = 16, s.remove_prefix(2);
    else if (p == 'b' || p == 'B') base = 2, s.remove_prefix(2);
    else if (p == 'o' || p == 'O') base = 8, s.remove_prefix(2);
    else if (p == 'd' || p == 'D') base = 10, s.remove_prefix(2);
    else base = 8, s.remove_prefix(1);
  }
  int64_t value;
  bool overflow;
  if (!ruby_digits(s, base, value, overflow)) return false;
  if (overflow) {
    out.set_float(std::strtod(std::string(strip(text)).c_str(), nullptr));  // a Bignum in Ruby
    return true;
  }
  out.set_int(negative ? -value : value);
  return true;
}

// Ruby's Float(text): decimal (with underscores between digits) or hexadecimal integers.
bool ruby_float(std::string_view text, Value& out) {
  std::string_view s = strip(text);
  Value as_integer;
  if (s.size() > 2 && (s.find("0x") != std::string_view::npos || s.find("0X") != std::string_view::npos) &&
      ruby_integer(s, as_integer)) {
    out.set_float(as_integer.as_number());
    return true;
  }
  std::string clean;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) clean.push_back(s[i++]);
  bool digits_before = false, digits_after = false, exponent_digits = true;
  char previous = 0;
  for (; i < s.size() && s[i] != '.' && s[i] != 'e' && s[i] != 'E'; ++i) {
    if (s[i] == '_') {
      if (!(previous >= '0' && previous <= '9') || i + 1 >= s.size() || !(s[i + 1] >= '0' && s[i + 1] <= '9')) return false;
    } else if (s[i] >= '0' && s[i] <= '9') {
      clean.push_back(s[i]);
      digits_before = true;
    } else {
      return false;
    }
    previous = s[i];
  }
  if (!digits_before) return false;
  if (i < s.size() && s[i] == '.') {
    clean.push_back('.');
    ++i;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      clean.push_back(s[i]);
      digits_after = true;
    }
    if (!digits_after) return false;  // Ruby rejects "1."
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    clean.push_back('e');
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) clean.push_back(s[i++]);
    exponent_digits = false;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      clean.push_back(s[i]);
      exponent_digits = true;
    }
  }
  if (i != s.size() || !exponent_digits) return false;
  out.set_float(std::strtod(clean.c_str(), nullptr));
  return true;
}

int month_from_name(std::string_view name) {
  static const char* names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  if (name.size() < 3) return 0;
  for (int m = 0; m < 12; ++m) {
    bool same = true;
    for (int k = 0; k < 3; ++k) same = same && (name[size_t(k)] | 0x20) == names[m][k];
    if (same) return m + 1;
  }
  return 0;
}

bool is_digits(std::string_view s, size_t min, size_t max) {
  if (s.size() < min || s.size() > max) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != ',') ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

// CSV's :date converter: `2024-05-01` or `[Weekday,] Month DD[,] YYYY`, as midnight UTC.
bool csv_date(std::string_view s, Timestamp& out) {
  if (s.size() == 10 && s[4] == '-' && s[7] == '-') return parse_iso8601(s, out);
  std::vector<std::string_view> words = split_words(s);
  if (words.size() == 4) words.erase(words.begin());
  if (words.size() != 3 || !month_from_name(words[0]) || !is_digits(words[1], 1, 2) || !is_digits(words[2], 2, 4)) {
    return false;
  }
  int year = std::atoi(std::string(words[2]).c_str());
  if (words[2].size() == 2) year += year < 69 ? 2000 : 1900;  // Ruby's Date.parse completes two digits
  char iso[32];
  std::snprintf(iso, sizeof iso, "%04d-%02d-%02d", year, month_from_name(words[0]),
                std::atoi(std::string(words[1]).c_str()));
  return parse_iso8601(iso, out);
}

// CSV's :date_time converter: ISO8601 forms, `YYYY-MM-DD HH:MM:SS`, `[Weekday] Mon DD HH:MM:SS YYYY`.
bool csv_date_time(std::string_view s, Timestamp& out) {
  if (s.size() >= 10 && s[4] == '-' && s[7] == '-') {
    std::string text(s);
    if (text.size() == 19 && text[10] == ' ') text[10] = 'T';
    return parse_iso8601(text, out);
  }
  std::vector<std::string_view> words = split_words(s);
  if (words.size() == 5) words.erase(words.begin());
  if (words.size() != 4 || !month_from_name(words[0]) || !is_digits(words[1], 1, 2) || !is_digits(words[3], 2, 4)) {
    return false;
  }
  int h = 0, m = 0, sec = 0;
  if (std::sscanf(std::string(words[2]).c_str(), "%d:%d:%d", &h, &m, &sec) != 3) return false;
  int year = std::atoi(std::string(words[3]).c_str());
  if (words[3].size() == 2) year += year < 69 ? 2000 : 1900;
  char iso[40];
  std::snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, month_from_name(words[0]),
                std::atoi(std::string(words[1]).c_str()), h, m, sec);
  return parse_iso8601(iso, out);
}

enum class Conversion { None, Integer, Float, Date, DateTime, Boolean };

class CsvFilter : public Filter {
 public:
  CsvFilter(const Options& options, PluginContext& context) : metrics_(context.metrics) {
    source_ = field(options, "source", options.get_string("source"));
    if (options.has("target")) target_ = field(options, "target", options.get_string("target"));
    separator_ = options.get_string("separator");
    if (separator_.empty()) throw config::ConfigError(options.position("separator"), "csv: `separator` is empty");
    const std::string quote = options.get_string("quote_char");
    if (quote.size() != 1) {
      throw config::ConfigError(options.position("quote_char"), "csv: `quote_char` must be exactly one character");
    }
    quote_ = quote[0];
    autodetect_ = options.get_bool("autodetect_column_names");
    autogenerate_ = options.get_bool("autogenerate_column_names");
    skip_header_ = options.get_bool("skip_header");
    skip_empty_columns_ = options.get_bool("skip_empty_columns");
    skip_empty_rows_ = options.get_bool("skip_empty_rows");
    for (const auto& [column, type] : options.get_string_hash("convert")) {
      Conversion c;
      if (type == "integer") c = Conversion::Integer;
      else if (type == "float") c = Conversion::Float;
      else if (type == "date") c = Conversion::Date;
      else if (type == "date_time") c = Conversion::DateTime;
      else if (type == "boolean") c = Conversion::Boolean;
      else {
        throw config::ConfigError(options.position("convert"),
                                  "csv: invalid conversion type `" + type + "` for column `" + column +
                                      "` (integer, float, date, date_time, boolean)");
      }
      conversions_.emplace_back(column, c);
    }
    set_columns(options.get_string_array("columns"));
    columns_known_.store(!autodetect_ || !columns_.empty(), std::memory_order_release);
  }

  bool filter(Event& event, FilterContext&) override {
    const Value* source = event.get(source_);
    if (!source || source->is_null() || (source->is_bool() && !source->as_bool())) return false;
    thread_local std::string text;
    thread_local std::vector<Column> values;
    text.clear();
    if (source->is_string()) text.append(source->as_string());
    else source->append_text(text);
    size_t count = 0;
    bool empty_row = false;
    if (!parse_csv_line(text, separator_, quote_, values, count, empty_row)) return fail(event);

    if (!columns_known_.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lock(detect_mutex_);
      if (!columns_known_.load(std::memory_order_relaxed)) {
        if (empty_row) return fail(event);  // Ruby: nil.each fails
        std::vector<std::string> names;
        for (size_t i = 0; i < count; ++i) names.push_back(values[i].text);
        set_columns(names);
        columns_known_.store(true, std::memory_order_release);
        event.cancel();
        return false;
      }
    }
    if (skip_header_ && !columns_.empty() && count == columns_.size()) {
      bool same = true;
      for (size_t i = 0; i < count && same; ++i) same = !values[i].nil && values[i].text == columns_[i].name;
      if (same) {
        event.cancel();
        return false;
      }
    }
    if (empty_row) {
      if (skip_empty_rows_) {
        event.cancel();
        return false;
      }
      return fail(event);  // Ruby: parse_line("") is nil, and nil.each_index raises
    }

    Object* target_object = nullptr;
    if (target_) {
      Value& target = event.put(*target_);
      if (!target.is_object()) target.make_object();
      target_object = &target.as_object();
    }
    thread_local std::string generated;
    for (size_t i = 0; i < count; ++i) {
      const Column& column = values[i];
      if (skip_empty_columns_ && (column.nil || column.text.empty())) continue;
      const ColumnSpec* spec = i < columns_.size() ? &columns_[i] : nullptr;
      if (!spec && !autogenerate_) continue;
      Value* slot;
      Conversion conversion = Conversion::None;
      if (spec && spec->nested) {
        slot = &event.put(*spec->nested);
        conversion = spec->conversion;
      } else {
        std::string_view name;
        if (spec) {
          name = spec->name;
          conversion = spec->conversion;
        } else {
          generated.assign("column");
          generated.append(std::to_string(i + 1));
          name = generated;
          if (!conversions_.empty()) conversion = conversion_for(generated);
        }
        slot = target_object ? &(*target_object)[name] : &event.fields()[name];
      }
      if (column.nil) slot->set_null();
      else slot->set_string(column.text);
      if (conversion != Conversion::None && !convert(*slot, conversion)) return fail(event);
    }
    return true;
  }

 private:
  struct ColumnSpec {
    std::string name;
    std::optional<FieldRef> nested;  // a `[a][b]` name: under target (or the root)
    Conversion conversion = Conversion::None;
  };

  static FieldRef field(const Options& options, const std::string& option, const std::string& text) {
    std::string message;
    std::optional<FieldRef> ref = FieldRef::parse(text, &message);
    if (!ref) {
      throw config::ConfigError(options.position(option),
                                "csv: invalid field reference `" + text + "` in `" + option + "`: " + message);
    }
    return *ref;
  }

  Conversion conversion_for(const std::string& column) const {
    for (const auto& [name, conversion] : conversions_) {
      if (name == column) return conversion;
    }
    return Conversion::None;
  }

  void set_columns(const std::vector<std::string>& names) {
    columns_.clear();
    for (const std::string& name : names) {
      ColumnSpec spec;
      spec.name = name;
      spec.conversion = conversion_for(name);
      if (!name.empty() && name[0] == '[') {
        std::string full;
        if (target_) {
          if (target_->is_metadata()) full = "[@metadata]";
          for (const std::string& segment : target_->path()) full += "[" + segment + "]";
        }
        full += name;
        spec.nested = FieldRef::parse(full);
      }
      columns_.push_back(std::move(spec));
    }
  }

  // Applies a conversion in place; false where Ruby raises (boolean of nil).
  static bool convert(Value& value, Conversion conversion) {
    if (value.is_null()) return conversion != Conversion::Boolean;
    const std::string text = value.as_string();
    switch (conversion) {
      case Conversion::Integer: ruby_integer(text, value); return true;
      case Conversion::Float: ruby_float(text, value); return true;
      case Conversion::Date: {
        Timestamp ts;
        if (csv_date(text, ts)) value.set_timestamp(ts);
        return true;
      }
      case Conversion::DateTime: {
        Timestamp ts;
        if (csv_date_time(text, ts)) value.set_timestamp(ts);
        return true;
      }
      case Conversion::Boolean: {
        std::string lowered(strip(text));
        for (char& c : lowered) c = char(c >= 'A' && c <= 'Z' ? c + 32 : c);
        if (lowered == "true") value.set_bool(true);
        else if (lowered == "false") value.set_bool(false);
        else value.set_string(lowered);  // Ruby returns the stripped, downcased text
        return true;
      }
      case Conversion::None: return true;
    }
    return true;
  }

  bool fail(Event& event) const {
    event.add_tag("_csvparsefailure");
    if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  PluginMetrics* metrics_ = nullptr;
  FieldRef source_;
  std::optional<FieldRef> target_;
  std::string separator_;
  char quote_ = '"';
  bool autodetect_ = false, autogenerate_ = true, skip_header_ = false;
  bool skip_empty_columns_ = false, skip_empty_rows_ = false;
  std::vector<std::pair<std::string, Conversion>> conversions_;
  // Fixed after construction, or once by the first event when autodetecting.
  std::vector<ColumnSpec> columns_;
  std::atomic<bool> columns_known_{true};
  std::mutex detect_mutex_;
};

const RegisterFilter registration{csv_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<CsvFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
