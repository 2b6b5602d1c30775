// A grok regex is compiled in PCRE2's UTF mode (Oniguruma matches characters, not bytes), and
// UTF mode makes the JIT decode UTF-8 at every `.`, `\S` and negated class: on the syslog line
// pattern that is ~30% of the match. Most log lines are ASCII, and on an ASCII subject a
// pattern matches the same way byte by byte, except where it names non-ASCII characters.
// This derives the byte-mode pattern that behaves exactly as the UTF one on ASCII subjects.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::grok {

// The pattern to compile without PCRE2_UTF for ASCII subjects, or nullopt when no such pattern
// is derived with certainty (then every subject takes the UTF pattern):
// - a non-ASCII character, which can never match an ASCII subject, becomes an item that never
//   matches one either and keeps its quantifiers' meaning: `[^\x00-\x7F]` outside a class,
//   `\x80` inside one (so `ä?` still matches nothing, `[^ä]` still matches every ASCII byte);
// - refused when case-insensitive matching is switched on anywhere (the Kelvin sign and the
//   long s fold to ASCII letters), or with `\Q`, `(?x)` or `(?#` (quoting and comments would
//   need a fuller lexer) around non-ASCII characters, or with a leading `(*...)` verb.
// The caller still compiles the result with PCRE2_NEVER_UTF and checks that it has the same
// groups; a pattern that does not compile simply gets no variant.
std::optional<std::string> ascii_variant(std::string_view pcre_pattern);

}  // namespace sluice::grok
