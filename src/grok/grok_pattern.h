// One grok expression compiled: `%{SYNTAX:SEMANTIC:type}` expanded the way jls-grok does,
// translated from Oniguruma to PCRE2, JIT-compiled, with its captures mapped to fields.
#pragma once

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/field_ref.h"
#include "grok/onig_translate.h"
#include "grok/pattern_library.h"

namespace sluice::grok {

enum class CaptureType { String, Int, Float };

// One distinct capture name (`NUMBER:bytes:int`, or an inline `(?<field>...)`), with every
// group carrying it, in the order Ruby's Regexp#named_captures yields them.
struct Capture {
  std::string name;   // as in the expanded regex
  std::string field;  // field reference text, e.g. "[http][response][status_code]"
  FieldRef ref;
  CaptureType type = CaptureType::String;
  std::vector<uint32_t> groups;  // PCRE2 group numbers
};

// Per-thread match state: reused match data, a JIT stack, a match context.
class MatchScratch {
 public:
  static MatchScratch& for_this_thread();
  ~MatchScratch();
  pcre2_match_data* data(uint32_t groups);  // grows when needed
  pcre2_match_context* context() { return context_; }
  MatchScratch(const MatchScratch&) = delete;

 private:
  MatchScratch();
  pcre2_match_data* data_ = nullptr;
  uint32_t pairs_ = 0;
  pcre2_match_context* context_ = nullptr;
  pcre2_jit_stack* jit_stack_ = nullptr;
};

enum class MatchStatus { NoMatch, Match, Timeout };

// When a match must give up. timeout_nanos == 0: never.
// The clock starts when a match first runs out of its step limit (a million steps, ~ms): a
// clock read per event would cost more than most matches, and a timeout is meant for the
// runaway ones. A default-constructed start means "not started".
struct MatchBudget {
  int64_t timeout_nanos = 0;
  std::chrono::steady_clock::time_point start{};
};

class GrokPattern {
 public:
  // Throws GrokError: undefined pattern, recursion, bad field name, untranslatable or
  // invalid regex (with PCRE2's message).
  GrokPattern(std::string_view expression, const PatternLibrary& library, bool named_captures_only);
  ~GrokPattern();
  GrokPattern(const GrokPattern&) = delete;
  GrokPattern& operator=(const GrokPattern&) = delete;

  const std::string& expression() const { return expression_; }
  const std::string& expanded() const { return expanded_; }  // Oniguruma syntax
  const TranslatedRegex& translated() const { return translated_; }
  const std::vector<Capture>& captures() const { return captures_; }
  uint32_t group_count() const { return group_count_; }

  // Searches the subject; on Match the scratch's match data holds the groups. An ASCII subject
  // takes the byte-mode twin of the pattern when there is one (ascii_variant.h); tests compare
  // the two with allow_ascii_variant = false.
  MatchStatus match(std::string_view subject, MatchScratch& scratch, MatchBudget& budget,
                    bool allow_ascii_variant = true) const;
  bool has_ascii_variant() const { return ascii_code_ != nullptr; }
  // Group n of the last match in `data`; false when the group did not take part.
  static bool group(pcre2_match_data* data, std::string_view subject, uint32_t n, std::string_view& out);
  // The same from the match's offsets, read once per match (pcre2_get_ovector_pointer/count).
  static bool group(const PCRE2_SIZE* ovector, uint32_t pairs, std::string_view subject, uint32_t n,
                    std::string_view& out) {
    if (n >= pairs) return false;
    const PCRE2_SIZE b = ovector[2 * n], e = ovector[2 * n + 1];
    if (b == PCRE2_UNSET || e < b || e > subject.size()) return false;
    out = std::string_view(subject.data() + b, e - b);
    return true;
  }

 private:
  std::string expression_, expanded_;
  TranslatedRegex translated_;
  std::vector<Capture> captures_;
  pcre2_code* code_ = nullptr;
  bool jit_ = false;
  pcre2_code* ascii_code_ = nullptr;  // the byte-mode twin for ASCII subjects, if derived
  bool ascii_jit_ = false;
  uint32_t group_count_ = 0;
};

// Expands %{...} references (exposed for tests and tools). Adds inline `%{NAME=regex}`
// definitions to `library`.
std::string expand_grok(std::string_view expression, PatternLibrary& library, bool named_captures_only);

// Ruby's String#to_i / #to_f, which grok's :int / :float coercions use.
int64_t ruby_to_i(std::string_view s, bool* overflow = nullptr);
double ruby_to_f(std::string_view s);

}  // namespace sluice::grok
