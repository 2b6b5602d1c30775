// The mutate filter: Logstash's field mutations, always run in Logstash's fixed order
// (coerce, rename, update, replace, convert, gsub, uppercase, capitalize, lowercase, strip,
// split, join, merge, copy) whatever the order in the config. A failing operation aborts
// the rest and tags the event with `tag_on_failure`, as Logstash does.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <locale.h>
#include <wctype.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "core/sprintf.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"
#include "core/value_ops.h"

namespace sluice {
namespace {

// A failure of one operation on one event (Logstash: an exception inside filter()).
struct MutateError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------------------------------
// Text helpers (Ruby String semantics)

bool is_ruby_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == '\0';
}

// Ruby's String#strip on the string in place.
void ruby_strip_in_place(std::string& s) {
  size_t end = s.size();
  while (end > 0 && is_ruby_space(s[end - 1])) --end;
  size_t begin = 0;
  while (begin < end && is_ruby_space(s[begin])) ++begin;
  if (end < s.size()) s.resize(end);
  if (begin > 0) s.erase(0, begin);
}

// Length of the UTF-8 sequence starting with `lead` (1 for invalid lead bytes).
size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

// Decodes one code point at s[i]; returns false (and consumes one byte) on invalid UTF-8.
bool utf8_decode(std::string_view s, size_t& i, char32_t& cp) {
  unsigned char lead = static_cast<unsigned char>(s[i]);
  size_t n = utf8_length(lead);
  if (n == 1 || i + n > s.size()) {
    cp = lead;
    ++i;
    return lead < 0x80;
  }
  char32_t value = lead & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    unsigned char c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) {
      cp = lead;
      ++i;
      return false;
    }
    value = (value << 6) | (c & 0x3F);
  }
  i += n;
  cp = value;
  return true;
}

void utf8_encode(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

// Unicode-aware case mapping (Ruby's upcase/downcase/capitalize are Unicode-aware); ASCII
// strings take a fast path, others go through glibc's simple case mapping.
class CaseMapper {
 public:
  enum class Mode { Upper, Lower, Capitalize };

  static const CaseMapper& instance() {
    static const CaseMapper mapper;
    return mapper;
  }

  void apply(std::string& s, Mode mode) const {
    bool ascii = true;
    for (char c : s) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        bool upper = mode == Mode::Upper || (mode == Mode::Capitalize && i == 0);
        if (upper) {
          if (c >= 'a' && c <= 'z') s[i] = char(c - 32);
        } else if (c >= 'A' && c <= 'Z') {
          s[i] = char(c + 32);
        }
      }
      return;
    }
    thread_local std::string out;
    out.clear();
    size_t i = 0;
    bool first = true;
    while (i < s.size()) {
      size_t start = i;
      char32_t cp;
      if (!utf8_decode(s, i, cp)) {
        out.append(s, start, i - start);  // invalid bytes pass through untouched
        first = false;
        continue;
      }
      bool upper = mode == Mode::Upper || (mode == Mode::Capitalize && first);
      first = false;
      utf8_encode(map(cp, upper), out);
    }
    s.swap(out);
  }

 private:
  CaseMapper() { locale_ = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t(0)); }
  char32_t map(char32_t cp, bool upper) const {
    if (cp < 0x80) {
      if (upper && cp >= 'a' && cp <= 'z') return cp - 32;
      if (!upper && cp >= 'A' && cp <= 'Z') return cp + 32;
      return cp;
    }
    if (!locale_) return cp;
    return char32_t(upper ? towupper_l(wint_t(cp), locale_) : towlower_l(wint_t(cp), locale_));
  }
  locale_t locale_ = locale_t(0);
};

// Ruby's to_s of a scalar: floats print as Ruby does (10000000.0, 1.0e+20), not as sprintf.
void append_ruby_text(const Value& v, std::string& out) {
  if (v.is_float()) append_float_ruby(out, v.as_float());
  else v.append_text(out);
}

// ---------------------------------------------------------------------------------------
// Number parsing with Ruby's rules (Integer(), Float(), String#to_i, BigDecimal()).

bool is_digit_in_base(char c, int base, int* digit) {
  int d;
  if (c >= '0' && c <= '9') d = c - '0';
  else if (c >= 'a' && c <= 'z') d = c - 'a' + 10;
  else if (c >= 'A' && c <= 'Z') d = c - 'A' + 10;
  else return false;
  if (d >= base) return false;
  *digit = d;
  return true;
}

// An integer result that may not fit int64 (Ruby has bignums; we fall back to a float).
struct BigInt {
  bool fits = true;
  int64_t value = 0;
  double approx = 0;
  void set_into(Value& v) const {
    if (fits) v.set_int(value);
    else v.set_float(approx);
  }
};

// Accumulates digits of `base` from s[i], allowing single underscores between digits.
// Returns the number of digits consumed; stops at the first character that does not fit.
size_t accumulate_digits(std::string_view s, size_t& i, int base, bool negative, BigInt& out) {
  size_t count = 0;
  unsigned __int128 magnitude = 0;
  bool overflow = false;
  double approx = 0;
  while (i < s.size()) {
    int d;
    if (s[i] == '_') {
      // Ruby accepts one underscore between two digits.
      if (count == 0 || i + 1 >= s.size() || !is_digit_in_base(s[i + 1], base, &d)) break;
      ++i;
      continue;
    }
    if (!is_digit_in_base(s[i], base, &d)) break;
    if (!overflow) {
      magnitude = magnitude * unsigned(base) + unsigned(d);
      if (magnitude > (unsigned __int128)INT64_MAX + 1) overflow = true;
    }
    approx = approx * base + d;
    ++count;
    ++i;
  }
  if (!overflow && (negative || magnitude <= (unsigned __int128)INT64_MAX)) {
    out.fits = true;
    out.value = negative ? int64_t(-(__int128)magnitude) : int64_t(magnitude);
  } else {
    out.fits = false;
  }
  out.approx = negative ? -approx : approx;
  return count;
}

// Ruby String#to_i: optional sign, digits; anything else ends the number ("12ab" -> 12, "x" -> 0).
BigInt ruby_to_i(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && is_ruby_space(s[i])) ++i;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  BigInt result;
  accumulate_digits(s, i, 10, negative, result);
  return result;
}

bool has_hex_prefix(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  return i + 1 < s.size() && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X');
}

// Ruby Integer("0x1A") / Integer("-0x1a"): the whole string must be a hex integer.
bool ruby_hex_integer(std::string_view s, BigInt& out) {
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  i += 2;  // 0x
  size_t digits = accumulate_digits(s, i, 16, negative, out);
  return digits > 0 && i == s.size();
}

// Strict decimal float syntax (Ruby Float()): [sign] digits [. digits] [e [sign] digits], with
// single underscores between digits. Writes the text without underscores to `clean`.
bool ruby_float_syntax(std::string_view s, std::string& clean) {
  clean.clear();
  size_t i = 0;
  auto digits = [&](bool required) {
    size_t count = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c >= '0' && c <= '9') {
        clean.push_back(c);
        ++count;
        ++i;
      } else if (c == '_' && count > 0 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '9') {
        ++i;
      } else {
        break;
      }
    }
    return count > 0 || !required;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) clean.push_back(s[i++]);
  size_t int_start = clean.size();
  digits(false);
  bool has_int = clean.size() > int_start;
  if (i < s.size() && s[i] == '.') {
    clean.push_back('.');
    ++i;
    if (!digits(true)) return false;  // "1." is not a Float in Ruby
  } else if (!has_int) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    clean.push_back('e');
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) clean.push_back(s[i++]);
    if (!digits(true)) return false;
  }
  return i == s.size();
}

// Ruby Float(): strict; hex (0x..) accepted as JRuby does.
bool ruby_float(std::string_view s, double& out) {
  thread_local std::string clean;
  if (has_hex_prefix(s)) {
    clean.clear();
    for (char c : s) {
      if (c != '_') clean.push_back(c);
    }
    char* end = nullptr;
    out = std::strtod(clean.c_str(), &end);
    return end == clean.c_str() + clean.size() && clean.size() > 2;
  }
  if (!ruby_float_syntax(s, clean)) return false;
  out = std::strtod(clean.c_str(), nullptr);
  return true;
}

// Truncates a float to an integer (Ruby Integer(float)); NaN/Infinity cannot convert.
BigInt truncate_float(double d) {
  if (std::isnan(d) || std::isinf(d)) throw MutateError("cannot convert " + std::to_string(d) + " to integer");
  BigInt result;
  double t = std::trunc(d);
  if (t >= -9223372036854775808.0 && t < 9223372036854775808.0) {
    result.value = int64_t(t);
  } else {
    result.fits = false;
    result.approx = t;
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// convert

enum class ConvertType { Integer, IntegerEu, Float, FloatEu, String, Boolean };

bool parse_convert_type(const std::string& name, ConvertType& type) {
  if (name == "integer") type = ConvertType::Integer;
  else if (name == "integer_eu") type = ConvertType::IntegerEu;
  else if (name == "float") type = ConvertType::Float;
  else if (name == "float_eu") type = ConvertType::FloatEu;
  else if (name == "string") type = ConvertType::String;
  else if (name == "boolean") type = ConvertType::Boolean;
  else return false;
  return true;
}

// "1.234,56" -> "1,234.56" (Ruby tr(",.", ".,")).
void swap_eu_separators(std::string& s) {
  for (char& c : s) {
    if (c == ',') c = '.';
    else if (c == '.') c = ',';
  }
}

// The string a Logstash convert works on: stripped, with "," group separators removed.
std::string& numeric_text(const std::string& original, bool eu) {
  thread_local std::string text;
  text.assign(original);
  if (eu) swap_eu_separators(text);
  ruby_strip_in_place(text);
  std::erase(text, ',');
  return text;
}

void convert_to_integer(Value& v, bool eu) {
  switch (v.type()) {
    case Type::Bool: v.set_int(v.as_bool() ? 1 : 0); return;
    case Type::Int: return;
    case Type::Float: truncate_float(v.as_float()).set_into(v); return;
    case Type::Timestamp: v.set_int(v.as_timestamp().seconds()); return;  // Timestamp#to_i
    case Type::String: break;
    default: throw MutateError(std::string("can't convert ") + type_name(v.type()) + " into Integer");
  }
  const std::string& s = numeric_text(v.as_string(), eu);
  BigInt result;
  if (has_hex_prefix(s)) {
    if (s.find('.') == std::string::npos) {
      if (!ruby_hex_integer(s, result)) throw MutateError("invalid value for Integer(): \"" + s + "\"");
    } else {
      double d;
      if (!ruby_float(s, d)) throw MutateError("invalid value for Float(): \"" + s + "\"");
      result = truncate_float(d);
    }
  } else if (s.find('e') != std::string::npos) {
    // Scientific notation goes through BigDecimal(), which is strict.
    double d;
    thread_local std::string clean;
    if (!ruby_float_syntax(s, clean)) throw MutateError("invalid value for BigDecimal(): \"" + s + "\"");
    d = std::strtod(clean.c_str(), nullptr);
    result = truncate_float(d);
  } else {
    result = ruby_to_i(s);  // lenient, like Ruby: "12.7" -> 12, "abc" -> 0
  }
  result.set_into(v);
}

void convert_to_float(Value& v, bool eu) {
  switch (v.type()) {
    case Type::Bool: v.set_float(v.as_bool() ? 1.0 : 0.0); return;
    case Type::Int: v.set_float(double(v.as_int())); return;
    case Type::Float: return;
    case Type::Timestamp: v.set_float(double(v.as_timestamp().nanos) / 1e9); return;  // Timestamp#to_f
    case Type::String: break;
    default: throw MutateError(std::string("can't convert ") + type_name(v.type()) + " into Float");
  }
  const std::string& s = numeric_text(v.as_string(), eu);
  double d;
  if (!ruby_float(s, d)) throw MutateError("invalid value for Float(): \"" + v.as_string() + "\"");
  v.set_float(d);
}

// Ruby's /^(true|t|yes|y|1|1.0)$/i against each line of the text ('.' is any character).
bool matches_boolean_word(std::string_view text, bool truth) {
  static const char* const kTrue[] = {"true", "t", "yes", "y", "1"};
  static const char* const kFalse[] = {"false", "f", "no", "n", "0"};
  const char* const* words = truth ? kTrue : kFalse;
  const char leading_digit = truth ? '1' : '0';
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    for (size_t w = 0; w < 5; ++w) {
      size_t n = std::strlen(words[w]);
      if (line.size() != n) continue;
      bool same = true;
      for (size_t k = 0; k < n && same; ++k) {
        char c = line[k];
        if (c >= 'A' && c <= 'Z') c = char(c + 32);
        same = c == words[w][k];
      }
      if (same) return true;
    }
    // "1.0" / "0.0": the digit, any one character, then "0".
    if (line.size() >= 3 && line.front() == leading_digit && line.back() == '0') {
      size_t middle = line.size() - 2;
      if (middle == utf8_length(static_cast<unsigned char>(line[1]))) return true;
    }
    if (end == text.size()) break;
    start = end + 1;
  }
  return false;
}

void convert_to_boolean(Value& v) {
  if (v.is_array() || v.is_object()) return;  // their to_s never matches: passes through
  thread_local std::string text;
  text.clear();
  append_ruby_text(v, text);
  if (matches_boolean_word(text, true)) {
    v.set_bool(true);
  } else if (text.empty() || matches_boolean_word(text, false)) {
    v.set_bool(false);
  } else {
    SPDLOG_DEBUG("mutate: failed to convert {} into boolean", text);
  }
}

void convert_to_string(Value& v) {
  if (v.is_string()) return;
  thread_local std::string text;
  text.clear();
  append_ruby_text(v, text);
  v.set_string(text);
}

void convert_scalar(Value& v, ConvertType type) {
  switch (type) {
    case ConvertType::Integer: convert_to_integer(v, false); break;
    case ConvertType::IntegerEu: convert_to_integer(v, true); break;
    case ConvertType::Float: convert_to_float(v, false); break;
    case ConvertType::FloatEu: convert_to_float(v, true); break;
    case ConvertType::String: convert_to_string(v); break;
    case ConvertType::Boolean: convert_to_boolean(v); break;
  }
}

// ---------------------------------------------------------------------------------------
// Regular expressions for gsub: Ruby (Oniguruma) syntax on PCRE2 with JIT.

// Rewrites the few Ruby constructs PCRE2 reads differently: `\h` (hex digit in Ruby),
// the `m` flag (dot-all in Ruby). `^`/`$` are always line anchors in Ruby: MULTILINE.
std::string translate_ruby_regex(std::string_view source) {
  std::string out;
  out.reserve(source.size() + 8);
  bool in_class = false;
  for (size_t i = 0; i < source.size(); ++i) {
    char c = source[i];
    if (c == '\\' && i + 1 < source.size()) {
      char next = source[i + 1];
      if (next == 'h') out += in_class ? "0-9a-fA-F" : "[0-9a-fA-F]";
      else if (next == 'H' && !in_class) out += "[^0-9a-fA-F]";
      else {
        out.push_back(c);
        out.push_back(next);
      }
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out.push_back(c);
      continue;
    }
    if (c == '[') {
      in_class = true;
      out.push_back(c);
      // A leading `]` or `^]` is literal inside the class.
      if (i + 1 < source.size() && source[i + 1] == '^') out.push_back(source[++i]);
      if (i + 1 < source.size() && source[i + 1] == ']') out.push_back(source[++i]);
      continue;
    }
    if (c == '(' && i + 2 < source.size() && source[i + 1] == '?') {
      // Inline flags (?imx-imx) or (?imx-imx:...): Ruby's m is PCRE2's s.
      size_t j = i + 2;
      while (j < source.size() && (source[j] == 'i' || source[j] == 'm' || source[j] == 'x' || source[j] == '-')) ++j;
      if (j > i + 2 && j < source.size() && (source[j] == ')' || source[j] == ':')) {
        out += "(?";
        for (size_t k = i + 2; k < j; ++k) out.push_back(source[k] == 'm' ? 's' : source[k]);
        i = j - 1;
        continue;
      }
    }
    out.push_back(c);
  }
  return out;
}

class Regex {
 public:
  // Throws std::invalid_argument with PCRE2's message.
  explicit Regex(std::string_view ruby_source) {
    std::string pattern = translate_ruby_regex(ruby_source);
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                          PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_MULTILINE, &error_code, &error_offset,
                          nullptr);
    if (!code_) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error_code, message, sizeof message);
      throw std::invalid_argument(std::string(reinterpret_cast<char*>(message)) + " at offset " +
                                  std::to_string(error_offset));
    }
    pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
    uint32_t captures = 0;
    pcre2_pattern_info(code_, PCRE2_INFO_CAPTURECOUNT, &captures);
    pairs_ = captures + 1;
  }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  ~Regex() { pcre2_code_free(code_); }

  const pcre2_code* code() const { return code_; }
  uint32_t pairs() const { return pairs_; }

 private:
  pcre2_code* code_ = nullptr;
  uint32_t pairs_ = 1;
};

// Per-thread match data, grown to the largest pattern seen (no per-event allocation).
pcre2_match_data* thread_match_data(uint32_t pairs) {
  struct Holder {
    pcre2_match_data* data = nullptr;
    uint32_t pairs = 0;
    ~Holder() { pcre2_match_data_free(data); }
  };
  thread_local Holder holder;
  if (holder.pairs < pairs) {
    pcre2_match_data_free(holder.data);
    holder.pairs = std::max<uint32_t>(pairs, 16);
    holder.data = pcre2_match_data_create(holder.pairs, nullptr);
  }
  return holder.data;
}

// Appends the Ruby gsub replacement for one match: \0 \& \1..\9 \k<name> \` \' \\ .
void append_replacement(const Regex& re, std::string_view subject, const PCRE2_SIZE* ovector, uint32_t pairs,
                        std::string_view replacement, std::string& out) {
  auto append_group = [&](uint32_t group) {
    if (group >= pairs) return;
    PCRE2_SIZE start = ovector[2 * group], end = ovector[2 * group + 1];
    if (start == PCRE2_UNSET || end < start) return;
    out.append(subject.data() + start, end - start);
  };
  size_t i = 0;
  while (i < replacement.size()) {
    size_t slash = replacement.find('\\', i);
    if (slash == std::string_view::npos || slash + 1 >= replacement.size()) {
      out.append(replacement.data() + i, replacement.size() - i);
      return;
    }
    out.append(replacement.data() + i, slash - i);
    char next = replacement[slash + 1];
    i = slash + 2;
    if (next >= '0' && next <= '9') {
      append_group(uint32_t(next - '0'));
    } else if (next == '&') {
      append_group(0);
    } else if (next == '`') {
      out.append(subject.data(), ovector[0]);
    } else if (next == '\'') {
      out.append(subject.data() + ovector[1], subject.size() - ovector[1]);
    } else if (next == '\\') {
      out.push_back('\\');
    } else if (next == 'k' && i < replacement.size() && replacement[i] == '<') {
      size_t close = replacement.find('>', i);
      if (close == std::string_view::npos) {
        out += "\\k";
        continue;
      }
      std::string name(replacement.substr(i + 1, close - i - 1));
      int number = pcre2_substring_number_from_name(re.code(), reinterpret_cast<PCRE2_SPTR>(name.c_str()));
      if (number > 0) append_group(uint32_t(number));
      i = close + 1;
    } else {
      out.push_back('\\');
      out.push_back(next);
    }
  }
}

// Ruby's String#gsub(regex, replacement) into `out`; false (and `out` unspecified) when nothing matched.
bool regex_gsub(const Regex& re, std::string_view subject, std::string_view replacement, std::string& out) {
  out.clear();
  pcre2_match_data* match_data = thread_match_data(re.pairs());
  const auto* data = reinterpret_cast<PCRE2_SPTR>(subject.data());
  size_t length = subject.size();
  size_t position = 0, copied = 0;
  bool matched = false;
  while (position <= length) {
    int rc = pcre2_match(re.code(), data, length, position, 0, match_data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      throw MutateError(std::string("gsub: ") + reinterpret_cast<char*>(message));
    }
    matched = true;
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data);
    size_t start = ovector[0], end = ovector[1];
    if (end < start) end = start;  // \K in a lookahead: treat as empty
    out.append(subject.data() + copied, start - copied);
    append_replacement(re, subject, ovector, re.pairs(), replacement, out);
    copied = end;
    if (end == start) {
      // An empty match: copy one character and search on after it, as Ruby does.
      if (start >= length) break;
      size_t n = std::min(utf8_length(static_cast<unsigned char>(subject[start])), length - start);
      out.append(subject.data() + start, n);
      copied = start + n;
      position = start + n;
    } else {
      position = end;
    }
  }
  if (!matched) return false;
  if (copied < length) out.append(subject.data() + copied, length - copied);
  return true;
}

// Dynamic gsub patterns (containing %{..}) are compiled per distinct rendered text, cached per thread.
std::shared_ptr<Regex> cached_dynamic_regex(const std::string& source) {
  thread_local std::unordered_map<std::string, std::shared_ptr<Regex>> cache;
  auto found = cache.find(source);
  if (found != cache.end()) return found->second;
  if (cache.size() >= 256) cache.clear();  // bounded: rendered patterns may be unbounded
  std::shared_ptr<Regex> re;
  try {
    re = std::make_shared<Regex>(source);
  } catch (const std::invalid_argument& e) {
    throw MutateError("gsub: invalid regexp /" + source + "/: " + e.what());
  }
  cache.emplace(source, re);
  return re;
}

// ---------------------------------------------------------------------------------------
// split / join

// Ruby's String#split(string) with its quirks: " " splits on whitespace runs (awk style),
// "" splits into characters, trailing empty items are dropped.
void ruby_split(std::string_view text, std::string_view separator, Array& out) {
  out.clear();
  if (separator == " ") {
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && is_ruby_space(text[i]) && text[i] != '\0') ++i;
      if (i >= text.size()) break;
      size_t start = i;
      while (i < text.size() && !(is_ruby_space(text[i]) && text[i] != '\0')) ++i;
      out.emplace_back(text.substr(start, i - start));
    }
    return;
  }
  if (separator.empty()) {
    size_t i = 0;
    while (i < text.size()) {
      size_t n = std::min(utf8_length(static_cast<unsigned char>(text[i])), text.size() - i);
      out.emplace_back(text.substr(i, n));
      i += n;
    }
    return;
  }
  size_t start = 0;
  while (true) {
    size_t found = text.find(separator, start);
    if (found == std::string_view::npos) {
      out.emplace_back(text.substr(start));
      break;
    }
    out.emplace_back(text.substr(start, found - start));
    start = found + separator.size();
  }
  while (!out.empty() && out.back().as_string().empty()) out.pop_back();
}

// Ruby's Array#join: nested arrays are joined with the same separator, nil is "".
void ruby_join(const Array& items, std::string_view separator, std::string& out, bool& first) {
  for (const Value& item : items) {
    if (item.is_array()) {
      ruby_join(item.as_array(), separator, out, first);
      continue;
    }
    if (!first) out.append(separator.data(), separator.size());
    first = false;
    append_ruby_text(item, out);
  }
}

// ---------------------------------------------------------------------------------------
// The filter

config::ConfigError option_error(const Options& options, const std::string& option, const std::string& message) {
  return config::ConfigError(options.position(option), "mutate option `" + option + "`: " + message);
}

FieldRef parse_field(const Options& options, const std::string& option, const std::string& text) {
  std::string error;
  auto ref = FieldRef::parse(text, &error);
  if (!ref) throw option_error(options, option, "invalid field reference `" + text + "`: " + error);
  return *ref;
}

// A field name that may contain %{..} (rename); parsed once when constant.
struct DynamicField {
  Template text;
  std::optional<FieldRef> constant;

  // The reference for this event; throws MutateError for a rendered name that is not a reference.
  const FieldRef& resolve(const Event& event, FieldRef& storage) const {
    if (constant) return *constant;
    std::string rendered = text.render(event);
    std::string error;
    auto ref = FieldRef::parse(rendered, &error);
    if (!ref) throw MutateError("invalid field reference `" + rendered + "`: " + error);
    storage = std::move(*ref);
    return storage;
  }
};

struct FieldValue {
  FieldRef field;
  Template value;
};

struct RenameRule {
  DynamicField from, to;
};

struct ConvertRule {
  FieldRef field;
  ConvertType type;
};

struct GsubRule {
  FieldRef field;
  std::shared_ptr<Regex> regex;  // null when the pattern holds %{..} (compiled per event)
  Template dynamic_pattern;
  Template replacement;
};

struct SeparatorRule {
  FieldRef field;
  std::string separator;
};

struct MergeRule {
  FieldRef dest;
  std::vector<FieldRef> added;
};

struct CopyRule {
  FieldRef from, to;
};

PluginSchema mutate_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "mutate";
  schema.doc =
      "Renames, replaces, converts and otherwise modifies fields. Operations run in Logstash's fixed order: "
      "coerce, rename, update, replace, convert, gsub, uppercase, capitalize, lowercase, strip, split, join, "
      "merge, copy; use separate mutate blocks to order them differently.";
  auto hash = [](const char* name, const char* doc) {
    OptionSpec spec;
    spec.name = name;
    spec.type = OptionType::Hash;
    spec.doc = doc;
    return spec;
  };
  auto array = [](const char* name, const char* doc) {
    OptionSpec spec;
    spec.name = name;
    spec.type = OptionType::Array;
    spec.doc = doc;
    return spec;
  };
  schema.options = {
      hash("coerce", "Sets a default value (sprintf) for fields that exist but are null."),
      hash("rename", "Renames fields: {old => new}; both names may use %{..}."),
      hash("update", "Sets existing fields to a new value (sprintf); missing fields are left alone."),
      hash("replace", "Sets fields to a new value (sprintf), adding them if missing."),
      hash("convert",
           "Converts field values: integer, integer_eu, float, float_eu, string, boolean; arrays element-wise."),
      array("gsub", "Triples of field, regexp, replacement: replaces every match in string fields."),
      array("uppercase", "Fields to convert to upper case."),
      array("capitalize", "Fields to capitalize (first character upper, rest lower)."),
      array("lowercase", "Fields to convert to lower case."),
      array("strip", "Fields to strip of leading and trailing whitespace."),
      hash("split", "Splits string fields into arrays: {field => separator}."),
      hash("join", "Joins array fields into strings: {field => separator}."),
      hash("merge", "Merges fields into a destination: {dest => added}; strings become arrays."),
      hash("copy", "Copies fields: {source => destination}, replacing the destination."),
  };
  OptionSpec tag;
  tag.name = "tag_on_failure";
  tag.type = OptionType::String;
  tag.default_value = cv_string("_mutate_error");
  tag.doc = "Tag added when an operation fails (the remaining operations are skipped).";
  schema.options.push_back(tag);
  return schema;
}

class MutateFilter : public Filter {
 public:
  MutateFilter(const Options& options, PluginContext& context)
      : metrics_(context.metrics), id_(context.id), log_(logging::get("filter.mutate")) {
    for (auto& [field, value] : options.get_string_hash("coerce"))
      coerce_.push_back({parse_field(options, "coerce", field), Template(value)});
    for (auto& [from, to] : options.get_string_hash("rename"))
      rename_.push_back({dynamic_field(options, "rename", from), dynamic_field(options, "rename", to)});
    for (auto& [field, value] : options.get_string_hash("update"))
      update_.push_back({parse_field(options, "update", field), Template(value)});
    for (auto& [field, value] : options.get_string_hash("replace"))
      replace_.push_back({parse_field(options, "replace", field), Template(value)});
    for (auto& [field, type_name] : options.get_string_hash("convert")) {
      ConvertType type;
      if (!parse_convert_type(type_name, type)) {
        throw option_error(options, "convert",
                           "Invalid conversion type '" + type_name +
                               "', expected one of 'string,integer,float,boolean,integer_eu,float_eu'");
      }
      convert_.push_back({parse_field(options, "convert", field), type});
    }
    build_gsub(options);
    for (auto& field : options.get_string_array("uppercase")) uppercase_.push_back(parse_field(options, "uppercase", field));
    for (auto& field : options.get_string_array("capitalize"))
      capitalize_.push_back(parse_field(options, "capitalize", field));
    for (auto& field : options.get_string_array("lowercase")) lowercase_.push_back(parse_field(options, "lowercase", field));
    for (auto& field : options.get_string_array("strip")) strip_.push_back(parse_field(options, "strip", field));
    for (auto& [field, separator] : options.get_string_hash("split"))
      split_.push_back({parse_field(options, "split", field), separator});
    for (auto& [field, separator] : options.get_string_hash("join"))
      join_.push_back({parse_field(options, "join", field), separator});
    for (auto& [dest, added] : options.get_hash("merge")) {
      MergeRule rule{parse_field(options, "merge", dest), {}};
      // A key given twice merges into an array of sources (Logstash's hash merging).
      if (added.kind == config::ConfigValue::Kind::Array) {
        for (const auto& item : added.items) rule.added.push_back(parse_field(options, "merge", item.text));
      } else {
        rule.added.push_back(parse_field(options, "merge", added.text));
      }
      merge_.push_back(std::move(rule));
    }
    for (auto& [from, to] : options.get_string_hash("copy"))
      copy_.push_back({parse_field(options, "copy", from), parse_field(options, "copy", to)});
    tag_on_failure_ = options.get_string("tag_on_failure");
  }

  bool filter(Event& event, FilterContext&) override {
    try {
      if (!coerce_.empty()) coerce(event);
      if (!rename_.empty()) rename(event);
      if (!update_.empty()) update(event);
      if (!replace_.empty()) replace(event);
      if (!convert_.empty()) convert(event);
      if (!gsub_.empty()) gsub(event);
      if (!uppercase_.empty()) change_case(event, uppercase_, CaseMapper::Mode::Upper);
      if (!capitalize_.empty()) change_case(event, capitalize_, CaseMapper::Mode::Capitalize);
      if (!lowercase_.empty()) change_case(event, lowercase_, CaseMapper::Mode::Lower);
      if (!strip_.empty()) strip(event);
      if (!split_.empty()) split(event);
      if (!join_.empty()) join(event);
      if (!merge_.empty()) merge(event);
      if (!copy_.empty()) copy(event);
    } catch (const std::exception& e) {
      fail(event, e.what());
      return false;
    }
    return true;
  }

 private:
  static DynamicField dynamic_field(const Options& options, const std::string& option, const std::string& text) {
    DynamicField field{Template(text), std::nullopt};
    if (field.text.is_constant()) field.constant = parse_field(options, option, text);
    return field;
  }

  void build_gsub(const Options& options) {
    if (!options.has("gsub")) return;
    std::vector<std::string> items = options.get_string_array("gsub");
    if (items.size() % 3 != 0) {
      std::string shown;
      for (size_t i = items.size() - items.size() % 3; i < items.size(); ++i) shown += (shown.empty() ? "" : ", ") + items[i];
      throw option_error(options, "gsub",
                         "Invalid gsub configuration [" + shown +
                             "]. gsub requires 3 non-nil elements per config entry (field, regexp, replacement)");
    }
    for (size_t i = 0; i < items.size(); i += 3) {
      GsubRule rule{parse_field(options, "gsub", items[i]), nullptr, Template(), Template(items[i + 2])};
      if (items[i + 1].find("%{") == std::string::npos) {
        try {
          rule.regex = std::make_shared<Regex>(items[i + 1]);
        } catch (const std::invalid_argument& e) {
          throw option_error(options, "gsub", "invalid regexp /" + items[i + 1] + "/: " + e.what());
        }
      } else {
        rule.dynamic_pattern = Template(items[i + 1]);
      }
      gsub_.push_back(std::move(rule));
    }
  }

  void fail(Event& event, const char* reason) {
    event.add_tag(tag_on_failure_);
    if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
    // Rate-limited: a bad field on every event must not flood the log.
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
    int64_t last = last_warning_.load(std::memory_order_relaxed);
    if (now != last && last_warning_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
      log_->warn("[{}] Exception caught while applying mutate filter: {}", id_, reason);
    }
  }

  static std::string& scratch() {
    thread_local std::string text;
    text.clear();
    return text;
  }

  void coerce(Event& event) const {
    for (const auto& rule : coerce_) {
      Value* value = event.get(rule.field);
      if (!value || !value->is_null()) continue;
      std::string& text = scratch();
      rule.value.render(event, text);
      event.get(rule.field)->set_string(text);
    }
  }

  void rename(Event& event) const {
    FieldRef from_storage, to_storage;
    for (const auto& rule : rename_) {
      const FieldRef& from = rule.from.resolve(event, from_storage);
      const FieldRef& to = rule.to.resolve(event, to_storage);
      Value* source = event.get(from);
      if (!source) continue;
      Value moved;
      std::swap(moved, *source);
      event.remove(from);
      Value& target = event.put(to);
      std::swap(target, moved);
    }
  }

  void update(Event& event) const {
    for (const auto& rule : update_) {
      if (!event.get(rule.field)) continue;
      std::string& text = scratch();
      rule.value.render(event, text);
      event.get(rule.field)->set_string(text);
    }
  }

  void replace(Event& event) const {
    for (const auto& rule : replace_) {
      std::string& text = scratch();
      rule.value.render(event, text);
      event.put(rule.field).set_string(text);
    }
  }

  void convert(Event& event) const {
    for (const auto& rule : convert_) {
      Value* value = event.get(rule.field);
      if (!value || value->is_null() || value->is_object()) continue;
      if (value->is_array()) {
        // Convert a copy so a failure half-way leaves the field as it was (Logstash maps, then sets).
        Value converted(*value);
        for (Value& item : converted.as_array()) {
          if (!item.is_null()) convert_scalar(item, rule.type);
        }
        std::swap(*value, converted);
      } else {
        convert_scalar(*value, rule.type);
      }
    }
  }

  void gsub(Event& event) const {
    thread_local std::string replaced;
    thread_local std::string replacement;
    for (const auto& rule : gsub_) {
      Value* value = event.get(rule.field);
      if (!value || !(value->is_string() || value->is_array())) continue;
      std::shared_ptr<Regex> dynamic;
      const Regex* regex = rule.regex.get();
      if (!regex) {
        dynamic = cached_dynamic_regex(rule.dynamic_pattern.render(event));
        regex = dynamic.get();
      }
      replacement.clear();
      rule.replacement.render(event, replacement);
      value = event.get(rule.field);  // rendering does not change the event, but stay safe
      if (value->is_string()) {
        if (regex_gsub(*regex, value->as_string(), replacement, replaced)) value->string_ref().swap(replaced);
      } else {
        for (Value& item : value->as_array()) {
          if (!item.is_string()) continue;  // Logstash skips non-strings in arrays
          if (regex_gsub(*regex, item.as_string(), replacement, replaced)) item.string_ref().swap(replaced);
        }
      }
    }
  }

  static void change_case(Event& event, const std::vector<FieldRef>& fields, CaseMapper::Mode mode) {
    const CaseMapper& mapper = CaseMapper::instance();
    for (const auto& field : fields) {
      Value* value = event.get(field);
      if (!value) continue;
      if (value->is_string()) {
        mapper.apply(value->string_ref(), mode);
      } else if (value->is_array()) {
        for (Value& item : value->as_array()) {
          if (item.is_string()) mapper.apply(item.string_ref(), mode);
        }
      }
    }
  }

  void strip(Event& event) const {
    for (const auto& field : strip_) {
      Value* value = event.get(field);
      if (!value) continue;
      if (value->is_string()) {
        ruby_strip_in_place(value->string_ref());
      } else if (value->is_array()) {
        // Ruby calls String#strip on every item: anything else is an error.
        for (const Value& item : value->as_array()) {
          if (!item.is_string())
            throw MutateError(std::string("undefined method `strip' for ") + type_name(item.type()));
        }
        for (Value& item : value->as_array()) ruby_strip_in_place(item.string_ref());
      }
    }
  }

  void split(Event& event) const {
    thread_local std::string text;
    for (const auto& rule : split_) {
      Value* value = event.get(rule.field);
      if (!value || !value->is_string()) continue;
      text.swap(value->string_ref());
      Array& items = value->make_array();
      ruby_split(text, rule.separator, items);
    }
  }

  void join(Event& event) const {
    for (const auto& rule : join_) {
      Value* value = event.get(rule.field);
      if (!value || !value->is_array()) continue;
      std::string& text = scratch();
      bool first = true;
      ruby_join(value->as_array(), rule.separator, text, first);
      value->set_string(text);
    }
  }

  void merge(Event& event) const {
    for (const auto& rule : merge_) {
      for (const auto& added_field : rule.added) {
        const Value* added = event.get(added_field);
        Value* dest = event.get(rule.dest);
        bool dest_is_hash = dest && dest->is_object();
        bool added_is_hash = added && added->is_object();
        if (dest_is_hash != added_is_hash) {
          SPDLOG_DEBUG("mutate: not possible to merge an array and a hash: {} and {}", rule.dest.text(),
                       added_field.text());
          continue;
        }
        // Copy first: the destination may contain the source (or the other way round).
        Value addition = added ? *added : Value();
        if (dest_is_hash) {
          Object& target = event.get(rule.dest)->as_object();
          for (Object::Entry& entry : addition.as_object()) std::swap(target[entry.key], entry.value);
          continue;
        }
        // Ruby: Array(dest) + Array(added); a missing destination starts as [].
        Value* target = event.get(rule.dest);
        if (!target) target = &event.put(rule.dest);
        if (!target->is_array()) wrap_in_array(*target);
        Array& items = target->as_array();
        if (addition.is_array()) {
          for (Value& item : addition.as_array()) items.push_back(std::move(item));
        } else if (!addition.is_null()) {
          items.push_back(std::move(addition));
        }
      }
    }
  }

  void copy(Event& event) const {
    for (const auto& rule : copy_) {
      const Value* source = event.get(rule.from);
      if (!source || source->is_null()) continue;
      Value duplicate(*source);  // put() may move the source's storage: copy first
      Value& target = event.put(rule.to);
      std::swap(target, duplicate);
    }
  }

  PluginMetrics* metrics_;
  std::string id_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<FieldValue> coerce_;
  std::vector<RenameRule> rename_;
  std::vector<FieldValue> update_;
  std::vector<FieldValue> replace_;
  std::vector<ConvertRule> convert_;
  std::vector<GsubRule> gsub_;
  std::vector<FieldRef> uppercase_, capitalize_, lowercase_, strip_;
  std::vector<SeparatorRule> split_, join_;
  std::vector<MergeRule> merge_;
  std::vector<CopyRule> copy_;
  std::string tag_on_failure_;
  mutable std::atomic<int64_t> last_warning_{0};
};

const RegisterFilter registration{mutate_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<MutateFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
