#include "grok/grok_pattern.h"

#include "core/charset.h"
#include "grok/ascii_variant.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>

namespace sluice::grok {

namespace {

// A match that needs more backtracking steps than this is re-run with a larger allowance
// only while its time budget lasts; normal log lines need a few thousand.
constexpr uint32_t kInitialMatchLimit = 1'000'000;

bool is_name_char(char c) {  // jls-grok's [A-z0-9]: also [ \ ] ^ _ `
  return (c >= 'A' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_subname_char(char c) {  // [@\[\]A-z0-9_:.-]
  return is_name_char(c) || c == '@' || c == ':' || c == '.' || c == '-';
}

struct Reference {
  size_t end = 0;  // one past the closing '}'
  std::string pattern, subname, definition;
  bool has_definition = false;
};

// Parses `%{NAME(:SUB)?(=DEF)?<anything but }>}` at `at` (pointing at '%').
bool parse_reference(std::string_view text, size_t at, Reference& ref) {
  size_t p = at + 2;
  size_t start = p;
  while (p < text.size() && is_name_char(text[p])) ++p;
  if (p == start) return false;
  ref.pattern = std::string(text.substr(start, p - start));
  if (p + 1 < text.size() && text[p] == ':' && is_subname_char(text[p + 1])) {
    size_t s = ++p;
    while (p < text.size() && is_subname_char(text[p])) ++p;
    ref.subname = std::string(text.substr(s, p - s));
  }
  if (p < text.size() && text[p] == '=') {
    // Inline definition: up to the '}' that balances, backslash escapes honoured.
    size_t q = p + 1;
    int depth = 0;
    std::string def;
    while (q < text.size()) {
      char c = text[q];
      if (c == '\\' && q + 1 < text.size()) {
        def += c;
        def += text[q + 1];
        q += 2;
        continue;
      }
      if (c == '{') ++depth;
      if (c == '}') {
        if (depth == 0) break;
        --depth;
      }
      def += c;
      ++q;
    }
    if (q < text.size() && !def.empty()) {
      ref.definition = std::move(def);
      ref.has_definition = true;
      ref.end = q + 1;
      return true;
    }
  }
  size_t close = text.find('}', p);
  if (close == std::string_view::npos) return false;
  ref.end = close + 1;
  return true;
}

void expand_into(std::string_view text, PatternLibrary& library, bool named_captures_only,
                 std::vector<std::string>& stack, std::string& out) {
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find("%{", i);
    if (j == std::string_view::npos) break;
    Reference ref;
    if (!parse_reference(text, j, ref)) {
      out.append(text.substr(i, j + 1 - i));
      i = j + 1;
      continue;
    }
    out.append(text.substr(i, j - i));
    if (ref.has_definition) library.add(ref.pattern, ref.definition);
    const std::string* regex = library.find(ref.pattern);
    if (!regex) throw GrokError(fmt::format("pattern {} not defined", text.substr(j, ref.end - j)));
    if (std::find(stack.begin(), stack.end(), ref.pattern) != stack.end() || stack.size() > 500)
      throw GrokError(fmt::format("pattern %{{{}}} refers to itself (deep recursion)", ref.pattern));
    std::string body = *regex;  // copy: the library may change while expanding
    if (named_captures_only && ref.subname.empty()) {
      out += "(?:";
    } else {
      out += "(?<";
      out += ref.pattern;
      if (!ref.subname.empty()) {
        out += ':';
        out += ref.subname;
      }
      out += '>';
    }
    stack.push_back(ref.pattern);
    expand_into(body, library, named_captures_only, stack, out);
    stack.pop_back();
    out += ')';
    i = ref.end;
  }
  out.append(text.substr(std::min(i, text.size())));
}

// Ruby's String#split(":"): trailing empty fields are dropped.
std::vector<std::string> ruby_split_colon(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t c = s.find(':', start);
    parts.push_back(s.substr(start, c == std::string::npos ? std::string::npos : c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  while (!parts.empty() && parts.back().empty()) parts.pop_back();
  return parts;
}

bool ruby_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// Digits with single underscores between them, as Ruby's numeric parsing accepts.
size_t scan_digits(std::string_view s, size_t p, std::string& out) {
  size_t start = p;
  while (p < s.size()) {
    if (s[p] >= '0' && s[p] <= '9') {
      out += s[p++];
    } else if (s[p] == '_' && p > start && p + 1 < s.size() && s[p + 1] >= '0' && s[p + 1] <= '9') {
      ++p;
    } else {
      break;
    }
  }
  return p;
}

}  // namespace

std::string expand_grok(std::string_view expression, PatternLibrary& library, bool named_captures_only) {
  std::string out;
  std::vector<std::string> stack;
  expand_into(expression, library, named_captures_only, stack, out);
  return out;
}

int64_t ruby_to_i(std::string_view s, bool* overflow) {
  // Fast path: plain decimal digits, the common case of %{INT:x:int}.
  if (!s.empty() && s.size() <= 18) {
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    int64_t v = 0;
    bool plain = i < s.size();
    for (size_t j = i; j < s.size() && plain; ++j) {
      if (s[j] < '0' || s[j] > '9') plain = false;
      else v = v * 10 + (s[j] - '0');
    }
    if (plain) {
      if (overflow) *overflow = false;
      return s[0] == '-' ? -v : v;
    }
  }
  size_t p = 0;
  while (p < s.size() && ruby_space(s[p])) ++p;
  bool negative = false;
  if (p < s.size() && (s[p] == '+' || s[p] == '-')) negative = s[p++] == '-';
  std::string digits;
  scan_digits(s, p, digits);
  if (overflow) *overflow = false;
  unsigned __int128 v = 0;
  for (char c : digits) {
    v = v * 10 + unsigned(c - '0');
    if (v > (unsigned __int128)INT64_MAX + 1) {
      if (overflow) *overflow = true;
      return negative ? INT64_MIN : INT64_MAX;
    }
  }
  if (!negative && v > (unsigned __int128)INT64_MAX) {
    if (overflow) *overflow = true;
    return INT64_MAX;
  }
  return negative ? int64_t(-(__int128)v) : int64_t(v);
}

double ruby_to_f(std::string_view s) {
  size_t p = 0;
  while (p < s.size() && ruby_space(s[p])) ++p;
  std::string text;
  if (p < s.size() && (s[p] == '+' || s[p] == '-')) text += s[p++];
  size_t before = text.size();
  p = scan_digits(s, p, text);
  bool int_digits = text.size() > before;
  if (p + 1 < s.size() && s[p] == '.' && s[p + 1] >= '0' && s[p + 1] <= '9') {
    text += '.';
    p = scan_digits(s, p + 1, text);
  } else if (!int_digits) {
    return 0.0;
  }
  if (p < s.size() && (s[p] == 'e' || s[p] == 'E')) {
    size_t q = p + 1;
    std::string exp = "e";
    if (q < s.size() && (s[q] == '+' || s[q] == '-')) exp += s[q++];
    size_t mark = exp.size();
    scan_digits(s, q, exp);
    if (exp.size() > mark) text += exp;
  }
  return std::strtod(text.c_str(), nullptr);
}

// ---- MatchScratch ----

MatchScratch& MatchScratch::for_this_thread() {
  thread_local MatchScratch scratch;
  return scratch;
}

MatchScratch::MatchScratch() {
  context_ = pcre2_match_context_create(nullptr);
  jit_stack_ = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  if (jit_stack_) pcre2_jit_stack_assign(context_, nullptr, jit_stack_);
}

MatchScratch::~MatchScratch() {
  if (data_) pcre2_match_data_free(data_);
  if (jit_stack_) pcre2_jit_stack_free(jit_stack_);
  if (context_) pcre2_match_context_free(context_);
}

pcre2_match_data* MatchScratch::data(uint32_t groups) {
  if (!data_ || pairs_ < groups + 1) {
    if (data_) pcre2_match_data_free(data_);
    pairs_ = std::max<uint32_t>(groups + 1, 64);
    data_ = pcre2_match_data_create(pairs_, nullptr);
  }
  return data_;
}

// ---- GrokPattern ----

GrokPattern::GrokPattern(std::string_view expression, const PatternLibrary& library, bool named_captures_only)
    : expression_(expression) {
  PatternLibrary local = library;  // inline %{NAME=regex} definitions stay local to this expression
  expanded_ = expand_grok(expression, local, named_captures_only);
  translated_ = translate_onig(expanded_);
  bool numbered = translated_.numbered_references;
  if (numbered && !translated_.group_names.empty())
    throw GrokError(fmt::format("numbered back-reference in a regex with named groups (use a name): `{}`", expression));

  // Captures by distinct name, in order of first appearance (Regexp#named_captures).
  const auto& names = translated_.group_names;
  for (size_t i = 0; i < names.size(); ++i) {
    auto it = std::find_if(captures_.begin(), captures_.end(), [&](const Capture& c) { return c.name == names[i]; });
    if (it != captures_.end()) {
      it->groups.push_back(uint32_t(i + 1));
      continue;
    }
    Capture c;
    c.name = names[i];
    c.groups.push_back(uint32_t(i + 1));
    std::vector<std::string> parts = ruby_split_colon(names[i]);
    std::string pattern = parts.size() > 0 ? parts[0] : std::string();
    c.field = parts.size() > 1 ? parts[1] : pattern;
    if (parts.size() > 2) {
      if (parts[2] == "int") c.type = CaptureType::Int;
      else if (parts[2] == "float") c.type = CaptureType::Float;
    }
    std::string err;
    auto ref = FieldRef::parse(c.field, &err);
    if (!ref || ref->empty())
      throw GrokError(fmt::format("invalid field name `{}` in capture `{}` of `{}`{}", c.field, c.name, expression,
                                  err.empty() ? "" : ": " + err));
    c.ref = std::move(*ref);
    captures_.push_back(std::move(c));
  }

  const std::optional<std::string> ascii_pcre = ascii_variant(translated_.pcre);

  // Compiled last: nothing after it throws, so the code cannot leak.
  uint32_t options = PCRE2_MULTILINE | PCRE2_DOTALL;
  if (!numbered) options |= PCRE2_NO_AUTO_CAPTURE;
  pcre2_compile_context* cctx = pcre2_compile_context_create(nullptr);
  pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
  int error = 0;
  PCRE2_SIZE offset = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated_.pcre.data()), translated_.pcre.size(),
                        options | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &error, &offset, cctx);
  if (!code_) {
    pcre2_compile_context_free(cctx);
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(error, msg, sizeof msg);
    throw GrokError(fmt::format("invalid regex in grok pattern `{}`: {} (at offset {} of the translated regex)",
                                expression, reinterpret_cast<const char*>(msg), size_t(offset)));
  }
  jit_ = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;
  pcre2_pattern_info(code_, PCRE2_INFO_CAPTURECOUNT, &group_count_);
  if (ascii_pcre) {
    ascii_code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(ascii_pcre->data()), ascii_pcre->size(),
                                options | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP, &error, &offset, cctx);
    uint32_t groups = 0, names = 0, utf_names = 0;
    if (ascii_code_) {
      pcre2_pattern_info(ascii_code_, PCRE2_INFO_CAPTURECOUNT, &groups);
      pcre2_pattern_info(ascii_code_, PCRE2_INFO_NAMECOUNT, &names);
      pcre2_pattern_info(code_, PCRE2_INFO_NAMECOUNT, &utf_names);
    }
    if (ascii_code_ && (groups != group_count_ || names != utf_names)) {
      pcre2_code_free(ascii_code_);  // not the same groups: the UTF pattern serves every subject
      ascii_code_ = nullptr;
    }
    if (ascii_code_) ascii_jit_ = pcre2_jit_compile(ascii_code_, PCRE2_JIT_COMPLETE) == 0;
  }
  pcre2_compile_context_free(cctx);
}

GrokPattern::~GrokPattern() {
  if (code_) pcre2_code_free(code_);
  if (ascii_code_) pcre2_code_free(ascii_code_);
}

MatchStatus GrokPattern::match(std::string_view subject, MatchScratch& scratch, MatchBudget& budget,
                               bool allow_ascii_variant) const {
  pcre2_match_data* data = scratch.data(group_count_);
  pcre2_match_context* mctx = scratch.context();
  uint32_t limit = budget.timeout_nanos > 0 ? kInitialMatchLimit : UINT32_MAX;
  const bool ascii = ascii_code_ && allow_ascii_variant && is_ascii(subject);
  const pcre2_code* code = ascii ? ascii_code_ : code_;
  bool use_jit = ascii ? ascii_jit_ : jit_;
  auto subject_ptr = reinterpret_cast<PCRE2_SPTR>(subject.data());
  while (true) {
    pcre2_set_match_limit(mctx, limit);
    int rc = use_jit ? pcre2_jit_match(code, subject_ptr, subject.size(), 0, 0, data, mctx)
                     : pcre2_match(code, subject_ptr, subject.size(), 0, PCRE2_NO_JIT, data, mctx);
    if (rc >= 0) return MatchStatus::Match;
    switch (rc) {
      case PCRE2_ERROR_NOMATCH:
        return MatchStatus::NoMatch;
      case PCRE2_ERROR_MATCHLIMIT: {
        if (limit == UINT32_MAX) return MatchStatus::Timeout;
        if (budget.timeout_nanos > 0) {
          auto now = std::chrono::steady_clock::now();
          if (budget.start == std::chrono::steady_clock::time_point{}) budget.start = now;
          auto elapsed = now - budget.start;
          if (std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count() >= budget.timeout_nanos)
            return MatchStatus::Timeout;
        }
        limit = limit > UINT32_MAX / 8 ? UINT32_MAX : limit * 8;
        continue;
      }
      case PCRE2_ERROR_JIT_STACKLIMIT:
        if (use_jit) {
          use_jit = false;  // the interpreter keeps its backtracking state on the heap
          continue;
        }
        return MatchStatus::Timeout;
      case PCRE2_ERROR_HEAPLIMIT:
      case PCRE2_ERROR_DEPTHLIMIT:
        return MatchStatus::Timeout;
      default:
        return MatchStatus::NoMatch;
    }
  }
}

bool GrokPattern::group(pcre2_match_data* data, std::string_view subject, uint32_t n, std::string_view& out) {
  return group(pcre2_get_ovector_pointer(data), pcre2_get_ovector_count(data), subject, n, out);
}

}  // namespace sluice::grok
