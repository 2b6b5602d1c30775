// See kv_scanner.h. The linear scanner below is a hand-derived equivalent of the regex
//   KEY VALUE_SPLIT (QUOTED | BRACKETED | UNQUOTED)? (FIELD_SPLIT | $)
// that Logstash scans with, for single-character splitters and text without backslashes:
// under those conditions the regex never needs to backtrack into the key or the splitter,
// so one left-to-right pass gives the same pairs.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "plugins/filters/kv/kv_scanner.h"

#include <pcre2.h>

#include <cstring>
#include <stdexcept>

namespace sluice::kv {

namespace {

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Rewrites a Ruby character class body for PCRE2: `\h` is a hex digit in Ruby (horizontal
// space in PCRE2). Everything else used in practice reads the same.
std::string class_body_for_pcre(std::string_view body) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\\' && i + 1 < body.size()) {
      if (body[i + 1] == 'h') {
        out += "0-9a-fA-F";
      } else {
        out.push_back('\\');
        out.push_back(body[i + 1]);
      }
      ++i;
      continue;
    }
    out.push_back(body[i]);
  }
  return out;
}

std::string regex_quote(char c) {
  static const std::string_view special = "\\^$.|?*+()[]{}-/";
  if (special.find(c) != std::string_view::npos) return std::string("\\") + c;
  return std::string(1, c);
}

struct MatchData {
  pcre2_match_data* data = nullptr;
  uint32_t pairs = 0;
  ~MatchData() { pcre2_match_data_free(data); }
};

pcre2_match_data* thread_match_data(uint32_t captures) {
  thread_local MatchData holder;
  if (holder.pairs < captures + 1) {
    pcre2_match_data_free(holder.data);
    holder.pairs = captures + 1;
    holder.data = pcre2_match_data_create(holder.pairs, nullptr);
  }
  return holder.data;
}

pcre2_match_context* thread_match_context() {
  struct Holder {
    pcre2_match_context* context = nullptr;
    ~Holder() { pcre2_match_context_free(context); }
  };
  thread_local Holder holder;
  if (!holder.context) {
    holder.context = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(holder.context, 5000000);  // runaway backtracking ends as a timeout
  }
  return holder.context;
}

}  // namespace

CharClass CharClass::parse(std::string_view body) {
  CharClass cls;
  if (!is_ascii(body) || body.empty() || body[0] == '^') return cls;
  std::bitset<256> set;
  size_t i = 0;
  // Reads one class atom; returns -1 for a multi-character escape (added to the set directly),
  // -2 for something the byte set cannot express.
  auto atom = [&](int& out) -> bool {
    char c = body[i++];
    if (c == '[') return false;
    if (c == '&' && i < body.size() && body[i] == '&') return false;
    if (c != '\\') {
      out = static_cast<unsigned char>(c);
      return true;
    }
    if (i >= body.size()) return false;
    char e = body[i++];
    switch (e) {
      case 't': out = '\t'; return true;
      case 'n': out = '\n'; return true;
      case 'r': out = '\r'; return true;
      case 'f': out = '\f'; return true;
      case 'v': out = '\v'; return true;
      case 'a': out = '\a'; return true;
      case 'e': out = 0x1b; return true;
      case 's':
        for (char s : {' ', '\t', '\n', '\v', '\f', '\r'}) set.set(static_cast<unsigned char>(s));
        out = -1;
        return true;
      case 'd':
        for (char d = '0'; d <= '9'; ++d) set.set(static_cast<unsigned char>(d));
        out = -1;
        return true;
      case 'h':
        for (char d : std::string_view("0123456789abcdefABCDEF")) set.set(static_cast<unsigned char>(d));
        out = -1;
        return true;
      default:
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) return false;
        out = static_cast<unsigned char>(e);  // escaped punctuation is itself
        return true;
    }
  };
  while (i < body.size()) {
    int first;
    if (!atom(first)) return cls;
    if (first >= 0 && i + 1 < body.size() && body[i] == '-') {
      ++i;
      int last;
      if (!atom(last) || last < 0 || last < first) return cls;
      for (int c = first; c <= last; ++c) set.set(size_t(c));
      continue;
    }
    if (first >= 0) set.set(size_t(first));
  }
  cls.members = set;
  cls.simple = true;
  return cls;
}

Regex::Regex(const std::string& pattern, bool utf) : pattern_(pattern) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  uint32_t flags = PCRE2_MULTILINE;
  if (utf) flags |= PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), flags,
                                   &error_code, &error_offset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof message);
    throw std::invalid_argument(std::string(reinterpret_cast<const char*>(message)) + " at offset " +
                                std::to_string(error_offset) + " of `" + pattern + "`");
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // the interpreter runs if JIT is unavailable
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &captures_);
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

Scanner::Scanner(const Syntax& syntax) : strict_(syntax.strict_whitespace), include_brackets_(syntax.include_brackets) {
  const bool patterns = syntax.field_split_pattern || syntax.value_split_pattern;
  field_split_ = CharClass::parse(syntax.field_split);
  value_split_ = CharClass::parse(syntax.value_split);
  key_excluded_ = CharClass::parse(syntax.value_split + syntax.field_split);
  fast_ = !patterns && field_split_.simple && value_split_.simple && key_excluded_.simple;

  // The regex exactly as Logstash composes it (kv.rb#register), in PCRE2 syntax.
  const std::string field_split =
      syntax.field_split_pattern ? "(?:" + *syntax.field_split_pattern + ")"
                                 : "[" + class_body_for_pcre(syntax.field_split) + "]";
  std::string value_split = syntax.value_split_pattern ? "(?:" + *syntax.value_split_pattern + ")"
                                                       : "[" + class_body_for_pcre(syntax.value_split) + "]";
  if (!strict_) value_split = "(?: *" + value_split + " *)";
  const std::string key =
      patterns ? "((?:\\\\.|(?!" + value_split + "|" + field_split + ").)+)"
               : "((?:\\\\.|[^" + class_body_for_pcre(syntax.value_split + syntax.field_split) + "])+)";
  auto quoted = [](char open, char close) {
    return regex_quote(open) + "((?:\\\\.|[^" + regex_quote(close) + "])+)?" + regex_quote(close);
  };
  std::string values = quoted('"', '"') + "|" + quoted('\'', '\'');
  if (include_brackets_) values += "|" + quoted('(', ')') + "|" + quoted('[', ']') + "|" + quoted('<', '>');
  values += "|";
  values += syntax.field_split_pattern
                ? "((?:\\\\.|(?!" + field_split + ").)+)"
                : "((?:\\\\.|[^" + class_body_for_pcre(syntax.field_split) + "])+)";
  const std::string scan = key + value_split + "(?:" + values + ")?(?:" + field_split + "|$)";
  const bool utf = !is_ascii(syntax.field_split) || !is_ascii(syntax.value_split) ||
                   (syntax.field_split_pattern && !is_ascii(*syntax.field_split_pattern)) ||
                   (syntax.value_split_pattern && !is_ascii(*syntax.value_split_pattern));
  scan_regex_ = std::make_unique<Regex>(scan, utf);
}

Scanner::~Scanner() = default;

void Scanner::scan_fast(std::string_view text, std::vector<Pair>& out) const {
  const char* s = text.data();
  const size_t n = text.size();
  size_t pos = 0;
  while (pos < n) {
    if (key_excluded_.contains(s[pos])) {
      ++pos;
      continue;
    }
    const size_t key_start = pos;
    size_t key_end = pos;
    while (key_end < n && !key_excluded_.contains(s[key_end])) ++key_end;
    // The value splitter: lenient mode allows spaces around it.
    size_t p = key_end;
    bool split = false;
    if (strict_) {
      if (p < n && value_split_.contains(s[p])) {
        ++p;
        split = true;
      }
    } else {
      size_t spaces_end = p;
      while (spaces_end < n && s[spaces_end] == ' ') ++spaces_end;
      if (spaces_end < n && value_split_.contains(s[spaces_end])) {
        p = spaces_end + 1;
        split = true;
      } else if (spaces_end > p && value_split_.contains(' ')) {
        p = spaces_end;  // the last space is the splitter
        split = true;
      }
      if (split) {
        while (p < n && s[p] == ' ') ++p;
      }
    }
    if (!split) {
      // Every later start inside this key run ends at the same place and fails the same way.
      pos = key_end;
      continue;
    }
    std::string_view value;
    size_t match_end = p;
    bool matched = false;
    if (p < n) {
      char close = 0;
      switch (s[p]) {
        case '"': close = '"'; break;
        case '\'': close = '\''; break;
        case '(': close = include_brackets_ ? ')' : 0; break;
        case '[': close = include_brackets_ ? ']' : 0; break;
        case '<': close = include_brackets_ ? '>' : 0; break;
        default: break;
      }
      if (close) {
        const void* found = std::memchr(s + p + 1, close, n - p - 1);
        if (found) {
          const size_t q = size_t(static_cast<const char*>(found) - s);
          const size_t after = q + 1;
          if (after == n || field_split_.contains(s[after]) || s[after] == '\n') {
            value = text.substr(p + 1, q - p - 1);
            match_end = after < n && field_split_.contains(s[after]) ? after + 1 : after;
            matched = true;
          }
        }
      }
      if (!matched && !field_split_.contains(s[p])) {
        size_t r = p;
        while (r < n && !field_split_.contains(s[r])) ++r;
        value = text.substr(p, r - p);
        match_end = r < n ? r + 1 : r;
        matched = true;
      }
    }
    if (!matched) match_end = p < n ? p + 1 : p;  // no value: the field splitter (or the end) follows
    out.push_back(Pair{text.substr(key_start, key_end - key_start), value});
    pos = match_end;
  }
}

ScanResult Scanner::scan_with_regex(std::string_view text, std::vector<Pair>& out,
                                    std::optional<std::chrono::steady_clock::time_point> deadline) const {
  const auto* code = static_cast<const pcre2_code*>(scan_regex_->code());
  pcre2_match_data* data = thread_match_data(scan_regex_->capture_count());
  pcre2_match_context* context = thread_match_context();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t offset = 0;
  unsigned count = 0;
  while (offset <= text.size()) {
    int rc = pcre2_match(code, subject, text.size(), offset, 0, data, context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) return ScanResult::Timeout;  // match limit (catastrophic backtracking)
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data);
    const uint32_t groups = pcre2_get_ovector_count(data);
    Pair pair;
    pair.key = text.substr(ov[2], ov[3] - ov[2]);
    for (uint32_t g = 2; g < groups && int(g) < rc; ++g) {
      if (ov[2 * g] != PCRE2_UNSET) {
        pair.value = text.substr(ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
        break;
      }
    }
    out.push_back(pair);
    offset = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
    if (deadline && (++count & 63) == 0 && std::chrono::steady_clock::now() > *deadline) return ScanResult::Timeout;
  }
  return ScanResult::Ok;
}

ScanResult Scanner::scan(std::string_view text, std::vector<Pair>& out,
                         std::optional<std::chrono::steady_clock::time_point> deadline) const {
  // Backslash escapes (`\ ` inside keys and values) make the regex backtrack: leave those to it.
  if (fast_ && std::memchr(text.data(), '\\', text.size()) == nullptr) {
    scan_fast(text, out);
    return ScanResult::Ok;
  }
  return scan_with_regex(text, out, deadline);
}

CharStripper::CharStripper(std::string_view class_body, Mode mode) : mode_(mode) {
  chars_ = CharClass::parse(class_body);
  const std::string cls = "[" + class_body_for_pcre(class_body) + "]";
  const std::string pattern = mode == Mode::TrimEnds ? "^" + cls + "+|" + cls + "+$" : cls;
  regex_ = std::make_unique<Regex>(pattern, !is_ascii(class_body));
}

CharStripper::~CharStripper() = default;

void CharStripper::apply(std::string& text) const {
  if (chars_.simple) {
    if (mode_ == Mode::RemoveAll) {
      size_t out = 0;
      for (size_t i = 0; i < text.size(); ++i) {
        if (!chars_.contains(text[i])) text[out++] = text[i];
      }
      text.resize(out);
      return;
    }
    if (text.find('\n') == std::string::npos) {
      size_t end = text.size();
      while (end > 0 && chars_.contains(text[end - 1])) --end;
      size_t begin = 0;
      while (begin < end && chars_.contains(text[begin])) ++begin;
      if (end < text.size()) text.resize(end);
      if (begin > 0) text.erase(0, begin);
      return;
    }
  }
  // gsub on the regex.
  const auto* code = static_cast<const pcre2_code*>(regex_->code());
  pcre2_match_data* data = thread_match_data(regex_->capture_count());
  thread_local std::string result;
  result.clear();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t offset = 0, copied = 0;
  while (offset <= text.size()) {
    int rc = pcre2_match(code, subject, text.size(), offset, 0, data, thread_match_context());
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data);
    result.append(text, copied, ov[0] - copied);
    copied = ov[1];
    offset = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
  }
  if (copied == 0) return;
  result.append(text, copied, std::string::npos);
  text.swap(result);
}

}  // namespace sluice::kv
