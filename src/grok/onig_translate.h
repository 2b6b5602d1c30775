// Translates a regex written in Oniguruma's Ruby syntax (Logstash's dialect) into PCRE2
// syntax with the same meaning, given that the result is compiled with
// PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_MULTILINE | PCRE2_DOTALL | PCRE2_NO_AUTO_CAPTURE
// (Ruby's MULTILINE flag = dot-all; Ruby's ^ and $ always work per line).
//
// Every named group becomes `(?<gN>...)` (N = its group number, 1-based), so names PCRE2
// would refuse (`[a][b]`, `@`, `.`, `:`) and duplicated names work; the original names are
// returned in group order. Constructs with no faithful PCRE2 equivalent throw GrokError.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::grok {

class GrokError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TranslatedRegex {
  std::string pcre;                      // PCRE2 syntax
  std::vector<std::string> group_names;  // original name of group N at [N-1]
  // Plain `(...)` groups referenced by number (`\1`); only legal without named groups,
  // and then the regex must be compiled without PCRE2_NO_AUTO_CAPTURE.
  bool numbered_references = false;
  // True when the regex relies on something Hyperscan's byte-level prefilter could
  // approximate wrongly (non-ASCII literals in classes, Unicode properties).
  bool unicode_sensitive = false;
};

// Throws GrokError with a message naming the offending construct and its offset.
TranslatedRegex translate_onig(std::string_view onig);

// Generated group name for group number n ("g12").
std::string generated_group_name(size_t n);

}  // namespace sluice::grok
