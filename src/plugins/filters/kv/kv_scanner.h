// The key=value scanner of the kv filter. Logstash builds one Ruby regex from the options and
// runs String#scan with it; this reproduces that regex's results with a linear hand-written
// scanner for the usual configurations (single-character splitters) and with the same regex on
// PCRE2 for the rest (`*_split_pattern`, unusual character classes, text with backslash escapes).
#pragma once

#include <bitset>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::kv {

// A Ruby regex character class body (`<>\[\],`, `&?`, `\t`) as a byte set, when it is plain
// ASCII; `simple` is false for what the byte set cannot express (ranges of non-ASCII, \p{..},
// nested classes, negation): those go through PCRE2.
struct CharClass {
  std::bitset<256> members;
  bool simple = false;
  static CharClass parse(std::string_view body);
  bool contains(char c) const { return members[static_cast<unsigned char>(c)]; }
};

// A compiled PCRE2 regex with the flags Ruby's scan semantics need (^ and $ per line).
class Regex {
 public:
  // Throws std::invalid_argument with PCRE2's message.
  explicit Regex(const std::string& pattern, bool utf);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  const void* code() const { return code_; }
  uint32_t capture_count() const { return captures_; }
  const std::string& pattern() const { return pattern_; }

 private:
  void* code_ = nullptr;  // pcre2_code*
  uint32_t captures_ = 0;
  std::string pattern_;
};

struct Syntax {
  std::string field_split = " ";
  std::string value_split = "=";
  std::optional<std::string> field_split_pattern;
  std::optional<std::string> value_split_pattern;
  bool include_brackets = true;
  bool strict_whitespace = false;  // whitespace => strict
};

struct Pair {
  std::string_view key;
  std::string_view value;  // empty for a missing value
};

enum class ScanResult { Ok, Timeout };

class Scanner {
 public:
  // Throws std::invalid_argument when a pattern does not compile.
  explicit Scanner(const Syntax& syntax);
  ~Scanner();

  // Appends the pairs of `text` (views into it) in order. `deadline` bounds the regex path
  // (Logstash's timeout_millis); the linear scanner cannot run long.
  ScanResult scan(std::string_view text, std::vector<Pair>& out,
                  std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt) const;
  // The same, always through the regex (tests compare both).
  ScanResult scan_with_regex(std::string_view text, std::vector<Pair>& out,
                             std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt) const;
  bool has_fast_path() const { return fast_; }
  const std::string& regex_source() const { return scan_regex_->pattern(); }

 private:
  void scan_fast(std::string_view text, std::vector<Pair>& out) const;

  bool fast_ = false;
  bool strict_ = false;
  bool include_brackets_ = true;
  CharClass key_excluded_;  // value_split + field_split, as Logstash joins them
  CharClass field_split_;
  CharClass value_split_;
  std::unique_ptr<Regex> scan_regex_;
};

// Ruby's `str.gsub(/^[T]+|[T]+$/, "")` (trim_key / trim_value) and `str.gsub(/[R]/, "")`
// (remove_char_*), on a byte set when possible, else on PCRE2.
class CharStripper {
 public:
  enum class Mode { TrimEnds, RemoveAll };
  CharStripper(std::string_view class_body, Mode mode);
  ~CharStripper();
  void apply(std::string& text) const;

 private:
  Mode mode_;
  CharClass chars_;
  std::unique_ptr<Regex> regex_;
};

}  // namespace sluice::kv
