// Scanning of the config text (see lexer.h), following the lexical rules of Logstash's
// pipeline grammar.
#include "config/lexer.h"

#include <algorithm>
#include <cstdlib>

namespace sluice::config {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_env_name_start(char c) { return is_alpha(c) || c == '_' || c == '.'; }
bool is_env_name_char(char c) { return is_env_name_start(c) || is_digit(c); }

// A short, printable excerpt of source text for messages.
std::string excerpt(std::string_view s, size_t max_len) {
  std::string out;
  for (char c : s.substr(0, max_len)) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (static_cast<unsigned char>(c) < 0x20) out += '?';
    else out += c;
  }
  if (s.size() > max_len) {
    // Do not cut a UTF-8 sequence in half.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80)) out.pop_back();
    out += "...";
  }
  return out;
}

}  // namespace

Scanner::Scanner(std::string_view text, std::string file_name) : text_(text), file_(std::move(file_name)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
    else if ((static_cast<unsigned char>(text_[i]) & 0xC0) == 0x80) continuation_bytes_.push_back(i);
  }
  // A UTF-8 byte order mark is not part of the config.
  if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
}

bool Scanner::starts_with_word(std::string_view word) const {
  return starts_with(word) && !is_name_char(peek(word.size()));
}

Position Scanner::position_at(size_t offset) const {
  offset = std::min(offset, text_.size());
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  size_t line_index = static_cast<size_t>(it - line_starts_.begin()) - 1;
  size_t start = line_starts_[line_index];
  // Columns count characters, not bytes: UTF-8 continuation bytes do not advance them. Counting
  // them with the table (not by scanning the line) keeps a long one-line config linear to parse.
  auto first = std::lower_bound(continuation_bytes_.begin(), continuation_bytes_.end(), start);
  auto last = std::lower_bound(first, continuation_bytes_.end(), offset);
  int column = 1 + static_cast<int>(offset - start) - static_cast<int>(last - first);
  if (line_index == 0 && text_.starts_with("\xEF\xBB\xBF") && offset >= 3) column -= 1;
  Position p;
  p.file = file_;
  p.line = static_cast<int>(line_index) + 1;
  p.column = column;
  return p;
}

bool Scanner::skip_space() {
  size_t start = pos_;
  while (!at_end()) {
    char c = text_[pos_];
    if (is_space(c)) {
      ++pos_;
    } else if (c == '#') {
      // A comment runs to the end of the line (or of the file).
      while (!at_end() && text_[pos_] != '\n') ++pos_;
    } else {
      break;
    }
  }
  return pos_ != start;
}

std::string_view Scanner::scan_name() {
  size_t start = pos_;
  while (!at_end() && is_name_char(text_[pos_])) ++pos_;
  return text_.substr(start, pos_ - start);
}

std::string_view Scanner::scan_bareword() {
  size_t start = pos_;
  if (at_end() || !(is_alpha(text_[pos_]) || text_[pos_] == '_')) return {};
  ++pos_;
  while (!at_end() && (is_alpha(text_[pos_]) || is_digit(text_[pos_]) || text_[pos_] == '_')) ++pos_;
  return text_.substr(start, pos_ - start);
}

std::string_view Scanner::scan_number() {
  size_t start = pos_;
  size_t p = pos_;
  if (p < text_.size() && text_[p] == '-') ++p;
  if (p >= text_.size() || !is_digit(text_[p])) return {};
  while (p < text_.size() && is_digit(text_[p])) ++p;
  if (p < text_.size() && text_[p] == '.') {
    ++p;
    while (p < text_.size() && is_digit(text_[p])) ++p;
  }
  pos_ = p;
  return text_.substr(start, pos_ - start);
}

Scanner::RawString Scanner::scan_quoted() {
  size_t start = pos_;
  char quote = text_[pos_];
  size_t p = pos_ + 1;
  // As Logstash's grammar: a backslash-quote pair never ends the string; nothing else is special.
  while (p < text_.size()) {
    if (text_[p] == '\\' && p + 1 < text_.size() && text_[p + 1] == quote) {
      p += 2;
      continue;
    }
    if (text_[p] == quote) break;
    ++p;
  }
  if (p >= text_.size())
    fail_at(start, std::string("unterminated string: the ") + (quote == '"' ? "double" : "single") +
                       " quote here is never closed");
  RawString raw;
  raw.quote = quote;
  raw.content_offset = start + 1;
  raw.content = text_.substr(start + 1, p - start - 1);
  pos_ = p + 1;
  return raw;
}

std::string_view Scanner::scan_regexp() {
  size_t start = pos_;
  size_t p = pos_ + 1;
  while (p < text_.size()) {
    if (text_[p] == '\\' && p + 1 < text_.size() && text_[p + 1] == '/') {
      p += 2;
      continue;
    }
    if (text_[p] == '/') break;
    ++p;
  }
  if (p >= text_.size()) fail_at(start, "unterminated regexp: the `/` here is never closed");
  pos_ = p + 1;
  return text_.substr(start + 1, p - start - 1);
}

std::string_view Scanner::scan_selector() {
  size_t start = pos_;
  size_t p = pos_;
  while (p < text_.size() && text_[p] == '[') {
    size_t q = p + 1;
    while (q < text_.size() && text_[q] != ']' && text_[q] != '[' && text_[q] != ',') ++q;
    if (q == p + 1 || q >= text_.size() || text_[q] != ']') break;
    p = q + 1;
  }
  if (p == start) return {};
  pos_ = p;
  return text_.substr(start, p - start);
}

std::string Scanner::describe_here() const {
  if (at_end()) return "end of input";
  char c = text_[pos_];
  std::string_view rest = text_.substr(pos_);
  if (is_name_char(c)) {
    size_t n = 0;
    while (n < rest.size() && is_name_char(rest[n])) ++n;
    return "`" + excerpt(rest.substr(0, n), 40) + "`";
  }
  if (c == '"' || c == '\'') {
    size_t end = rest.find(c, 1);
    size_t n = end == std::string_view::npos ? rest.size() : end + 1;
    return excerpt(rest.substr(0, n), 40);
  }
  if (rest.starts_with("=>") || rest.starts_with("==") || rest.starts_with("!=") || rest.starts_with("<=") ||
      rest.starts_with(">=") || rest.starts_with("=~") || rest.starts_with("!~"))
    return "`" + std::string(rest.substr(0, 2)) + "`";
  if (static_cast<unsigned char>(c) >= 0x80) {
    size_t n = 1;
    while (n < rest.size() && (static_cast<unsigned char>(rest[n]) & 0xC0) == 0x80) ++n;
    return "`" + std::string(rest.substr(0, n)) + "`";
  }
  if (static_cast<unsigned char>(c) < 0x20) return "a control character";
  return "`" + std::string(1, c) + "`";
}

void Scanner::fail_at(size_t offset, const std::string& message) const {
  throw ConfigError(position_at(offset), message);
}

void Scanner::fail_expected(std::initializer_list<std::string_view> expected) const {
  std::string list;
  size_t i = 0;
  for (std::string_view e : expected) {
    if (i++) list += ", ";
    list += e;
  }
  if (expected.size() == 1)
    fail("expected " + list + ", found " + describe_here());
  fail("expected one of " + list + ", found " + describe_here());
}

std::string resolve_string(const Scanner& scanner, const Scanner::RawString& raw, const ParseOptions& options,
                           std::string& written, bool substitute_env) {
  std::string_view s = raw.content;
  std::string out;
  std::string as_written;
  bool substituted = false;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (substitute_env && c == '$' && i + 2 < s.size() && s[i + 1] == '{' && is_env_name_start(s[i + 2])) {
      // ${NAME} or ${NAME:default}, NAME as Logstash: [a-zA-Z_.][a-zA-Z0-9_.]*
      size_t j = i + 3;
      while (j < s.size() && is_env_name_char(s[j])) ++j;
      size_t close = std::string_view::npos;
      bool has_default = false;
      if (j < s.size() && s[j] == '}') {
        close = j;
      } else if (j < s.size() && s[j] == ':') {
        close = s.find('}', j + 1);
        has_default = true;
      }
      if (close != std::string_view::npos) {
        std::string name(s.substr(i + 2, j - i - 2));
        std::string_view placeholder = s.substr(i, close + 1 - i);
        const char* value = std::getenv(name.c_str());
        if (value) {
          out += value;
        } else if (has_default) {
          out += s.substr(j + 1, close - j - 1);
        } else {
          // Only the name is ever shown, never a value.
          scanner.fail_at(raw.content_offset + i,
                          "environment variable `" + name + "` is not set and `" + std::string(placeholder) +
                              "` has no default (write ${" + name + ":default} to give one)");
        }
        as_written += placeholder;
        substituted = true;
        i = close + 1;
        continue;
      }
    }
    if (c == '\\' && i + 1 < s.size()) {
      char n = s[i + 1];
      if (options.support_escapes) {
        char resolved = n;
        switch (n) {
          case 'n': resolved = '\n'; break;
          case 'r': resolved = '\r'; break;
          case 't': resolved = '\t'; break;
          default: break;  // \\ \" \' give the character; any other escaped character is kept as is
        }
        out += resolved;
        as_written += resolved;
        i += 2;
        continue;
      }
      if (n == raw.quote) {  // the quote does not end the string; Logstash keeps the backslash
        out += c;
        out += n;
        as_written += c;
        as_written += n;
        i += 2;
        continue;
      }
    }
    out += c;
    as_written += c;
    ++i;
  }
  if (substituted) written = std::move(as_written);
  return out;
}

}  // namespace sluice::config
