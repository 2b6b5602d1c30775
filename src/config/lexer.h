// Character-level scanning for the config language: positions, whitespace and comments,
// and the lexical pieces (names, strings, numbers, regexps, field selectors). The grammar is
// context sensitive (a `[` starts an array in an option value but a field reference in a
// condition), so the parser asks for the piece it expects instead of reading a token stream.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/ast.h"
#include "config/parser.h"

namespace sluice::config {

class Scanner {
 public:
  Scanner(std::string_view text, std::string file_name);

  size_t offset() const { return pos_; }
  void reset(size_t offset) { pos_ = offset; }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }
  void advance(size_t n = 1) { pos_ = pos_ + n < text_.size() ? pos_ + n : text_.size(); }
  bool starts_with(std::string_view s) const { return text_.substr(pos_).starts_with(s); }
  // `word` followed by something that cannot continue a name (so `iffy` is not `if`).
  bool starts_with_word(std::string_view word) const;

  Position position() const { return position_at(pos_); }
  Position position_at(size_t offset) const;

  // Skips whitespace and `#` comments; returns whether anything was skipped.
  bool skip_space();

  // [A-Za-z0-9_-]+ (plugin and option names); empty when none.
  std::string_view scan_name();
  // [A-Za-z_][A-Za-z0-9_]* ; empty when none.
  std::string_view scan_bareword();
  // -?[0-9]+(\.[0-9]*)? ; empty when none.
  std::string_view scan_number();

  // A quoted string at the cursor ('"' or '\''); throws ConfigError when unterminated.
  struct RawString {
    size_t content_offset = 0;  // offset of the first character after the quote
    std::string_view content;   // between the quotes, as written
    char quote = '"';
  };
  RawString scan_quoted();

  // A regexp literal /.../ (with \/) at the cursor; returns its source. Throws when unterminated.
  std::string_view scan_regexp();

  // One or more [name] elements with no space between (a field reference); empty and
  // nothing consumed when the text at the cursor is not one.
  std::string_view scan_selector();

  // Describes what is at the cursor, for "found ..." in messages.
  std::string describe_here() const;

  [[noreturn]] void fail_at(size_t offset, const std::string& message) const;
  [[noreturn]] void fail(const std::string& message) const { fail_at(pos_, message); }
  // "expected X, found Y" / "expected one of X, Y, found Z".
  [[noreturn]] void fail_expected(std::initializer_list<std::string_view> expected) const;

  const std::string& file_name() const { return file_; }

 private:
  std::string_view text_;
  std::string file_;
  size_t pos_ = 0;
  std::vector<size_t> line_starts_;
  std::vector<size_t> continuation_bytes_;  // offsets of UTF-8 continuation bytes (for columns)
};

inline bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// Resolves a quoted string's content: escapes (see ParseOptions) and ${VAR} / ${VAR:default}
// from the environment. `written` receives the content with the ${...} forms kept, when any
// substitution happened (else it is left empty). Throws ConfigError at an unset variable.
// With substitute_env false (names and hash keys, which Logstash never substitutes) only
// escapes are resolved.
std::string resolve_string(const Scanner& scanner, const Scanner::RawString& raw, const ParseOptions& options,
                           std::string& written, bool substitute_env = true);

}  // namespace sluice::config
