// The byte-mode twin of a UTF-mode grok regex, for ASCII subjects (see ascii_variant.h).
#include "grok/ascii_variant.h"

#include "core/charset.h"

namespace sluice::grok {
namespace {

// Whether an option group switches `letter` on or off somewhere: `(?` followed by option
// characters that include it (`(?i)`, `(?mi:`, `(?^x)`, `(?-i)`). Errs on the side of "yes".
bool names_option(std::string_view pattern, char letter) {
  for (size_t at = pattern.find("(?"); at != std::string_view::npos; at = pattern.find("(?", at + 2)) {
    for (size_t k = at + 2; k < pattern.size(); ++k) {
      const char c = pattern[k];
      if (c == letter) return true;
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '^' || c == '-')) break;
    }
  }
  return false;
}

// Length of the UTF-8 sequence starting with `lead` (the UTF-mode compile validated it).
size_t sequence_length(unsigned char lead) {
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  return 2;
}

}  // namespace

std::optional<std::string> ascii_variant(std::string_view pattern) {
  if (is_ascii(pattern)) return std::string(pattern);
  // Case folding maps the Kelvin sign and the long s onto ASCII letters; (?x) comments, \Q and (?#
  // would need a fuller lexer to tell literal text from the rest.
  if (names_option(pattern, 'i') || names_option(pattern, 'x')) return std::nullopt;
  if (pattern.find("\\Q") != std::string_view::npos || pattern.find("(?#") != std::string_view::npos)
    return std::nullopt;

  std::string out;
  out.reserve(pattern.size() + 32);
  bool in_class = false;
  size_t i = 0;
  auto replace_character = [&](size_t length) {
    // Never matches an ASCII byte, and is one item, so a quantifier after it means the same.
    out += in_class ? "\\x80" : "[^\\x00-\\x7F]";
    i += length;
  };
  while (i < pattern.size()) {
    const unsigned char c = static_cast<unsigned char>(pattern[i]);
    if (c >= 0x80) {
      replace_character(sequence_length(c));
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= pattern.size()) return std::nullopt;
      const unsigned char next = static_cast<unsigned char>(pattern[i + 1]);
      if (next >= 0x80) {  // an escaped non-ASCII character is that character
        ++i;
        replace_character(sequence_length(next));
        continue;
      }
      out.append(pattern.substr(i, 2));
      i += 2;
      continue;
    }
    if (!in_class) {
      out += char(c);
      ++i;
      if (c == '[') {
        in_class = true;
        if (i < pattern.size() && pattern[i] == '^') out += pattern[i++];
        if (i < pattern.size() && pattern[i] == ']') out += pattern[i++];  // a leading `]` is literal
      }
      continue;
    }
    if (c == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {
      // A POSIX class inside a class: copied whole, its `]` does not close the outer class.
      const size_t end = pattern.find(":]", i + 2);
      if (end == std::string_view::npos) return std::nullopt;
      out.append(pattern.substr(i, end + 2 - i));
      i = end + 2;
      continue;
    }
    if (c == ']') in_class = false;
    out += char(c);
    ++i;
  }
  if (in_class) return std::nullopt;
  return out;
}

}  // namespace sluice::grok
