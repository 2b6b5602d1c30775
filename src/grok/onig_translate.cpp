#include "grok/onig_translate.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

namespace sluice::grok {

std::string generated_group_name(size_t n) { return "g" + std::to_string(n); }

namespace {

// Placeholder for a reference to a named group, resolved once every group is known
// (Ruby allows referring to a group defined later). 0x01 never appears raw in the output.
constexpr char kFixupMark = '\x01';

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
size_t utf8_length(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 1;
}

enum class Quantified { None, Greedy, Interval, FixedInterval, Modified };

class Translator {
 public:
  explicit Translator(std::string_view in) : in_(in) {}

  TranslatedRegex run() {
    while (pos_ < in_.size()) step();
    if (!groups_.empty()) fail("missing `)`", in_.size());
    result_.pcre = resolve_fixups();
    return std::move(result_);
  }

 private:
  [[noreturn]] void fail(const std::string& what, size_t at) const {
    throw GrokError(fmt::format("unsupported or invalid regex: {} at offset {} of `{}`", what, at, in_));
  }

  char peek(size_t ahead = 0) const { return pos_ + ahead < in_.size() ? in_[pos_ + ahead] : '\0'; }
  bool at_end(size_t ahead = 0) const { return pos_ + ahead >= in_.size(); }

  void begin_atom() {
    atom_start_ = out_.size();
    quantified_ = Quantified::None;
  }
  void no_atom() {
    atom_start_ = std::string::npos;
    quantified_ = Quantified::None;
  }

  void step() {
    char c = in_[pos_];
    switch (c) {
      case '\\': escape(); return;
      case '[': {
        begin_atom();
        bool negated = false;
        std::string body = char_class(negated);
        out_ += negated ? "[^" : "[";
        out_ += body;
        out_ += ']';
        return;
      }
      case '(': group_open(); return;
      case ')': {
        if (groups_.empty()) fail("unmatched `)`", pos_);
        size_t open = groups_.back();
        groups_.pop_back();
        out_ += ')';
        ++pos_;
        atom_start_ = open;
        quantified_ = Quantified::None;
        return;
      }
      case '|':
        out_ += '|';
        ++pos_;
        no_atom();
        return;
      case '*': case '+': case '?':
        quantifier(std::string(1, c), c == '?' ? Quantified::Greedy : Quantified::Greedy, c);
        ++pos_;
        return;
      case '{': {
        size_t len = 0;
        std::string interval;
        bool fixed = false;
        if (parse_interval(len, interval, fixed)) {
          quantifier(interval, fixed ? Quantified::FixedInterval : Quantified::Interval, '{');
          pos_ += len;
        } else {
          begin_atom();
          out_ += "\\{";
          ++pos_;
        }
        return;
      }
      case '^': case '$':
        out_ += c;
        ++pos_;
        no_atom();
        return;
      case kFixupMark:
        begin_atom();
        out_ += "\\x01";
        ++pos_;
        return;
      default: {
        begin_atom();
        size_t n = utf8_length(static_cast<unsigned char>(c));
        if (n > 1) result_.unicode_sensitive = true;
        out_.append(in_.substr(pos_, n));
        pos_ += n;
        return;
      }
    }
  }

  // `{n}`, `{n,}`, `{,m}`, `{n,m}`; anything else is a literal brace in Ruby.
  bool parse_interval(size_t& len, std::string& pcre, bool& fixed) {
    size_t p = pos_ + 1;
    std::string lo, hi;
    while (p < in_.size() && is_digit(in_[p])) lo += in_[p++];
    bool comma = false;
    if (p < in_.size() && in_[p] == ',') {
      comma = true;
      ++p;
      while (p < in_.size() && is_digit(in_[p])) hi += in_[p++];
    }
    if (p >= in_.size() || in_[p] != '}') return false;
    if (lo.empty() && hi.empty()) return false;
    len = p + 1 - pos_;
    fixed = !comma;
    if (!comma) pcre = "{" + lo + "}";
    else pcre = "{" + (lo.empty() ? std::string("0") : lo) + "," + hi + "}";
    return true;
  }

  // Emits a quantifier, following Ruby's rules for a quantifier after a quantifier:
  // `*?`/`+?`/`??`/`{n,m}?` are lazy, `*+`/`++`/`?+` possessive; `{n}?`, `{n,m}+` and any
  // other stacking repeat the quantified atom, which PCRE2 needs spelled as a group.
  void quantifier(const std::string& text, Quantified kind, char c) {
    if (atom_start_ == std::string::npos) fail("quantifier without a target", pos_);
    if (quantified_ != Quantified::None) {
      bool lazy_or_possessive =
          (quantified_ == Quantified::Greedy && (c == '?' || c == '+')) ||
          (quantified_ == Quantified::Interval && c == '?');
      if (lazy_or_possessive) {
        out_ += c;
        quantified_ = Quantified::Modified;
        return;
      }
      out_.insert(atom_start_, "(?:");
      out_ += ')';
    }
    if (kind == Quantified::Greedy && reduce_nested_repeat(c)) return;
    out_ += text;
    quantified_ = kind;
  }

  // Length of the one-character atom at the start of `s` (a class, an escape, `.`, a literal
  // character), or 0.
  static size_t single_char_atom(std::string_view s) {
    if (s.empty()) return 0;
    if (s[0] == '[') {
      size_t i = 1;
      if (i < s.size() && s[i] == '^') ++i;
      if (i < s.size() && s[i] == ']') ++i;
      while (i < s.size() && s[i] != ']') i += s[i] == '\\' ? 2 : 1;
      return i < s.size() ? i + 1 : 0;
    }
    if (s[0] == '\\') {
      if (s.size() < 2) return 0;
      if (s[1] == 'x' && s.size() > 2 && s[2] == '{') {
        size_t close = s.find('}');
        return close == std::string_view::npos ? 0 : close + 1;
      }
      if (std::string_view("dDwWsShHvVN").find(s[1]) != std::string_view::npos) return 2;
      if (!is_alpha(s[1]) && !is_digit(s[1])) return 2;
      return 0;
    }
    if (std::string_view("()|*+?{}^$").find(s[0]) != std::string_view::npos) return 0;
    return utf8_length(static_cast<unsigned char>(s[0]));
  }

  // Onigmo folds a repeated group holding only a repeated character, `(?:[a-z]+)+`, into
  // one repeat (`[a-z]+`); PCRE2 does not, and backtracks exponentially on such groups
  // when the rest fails. Both spellings try the same lengths in the same order, so fold.
  bool reduce_nested_repeat(char outer) {
    char next = pos_ + 1 < in_.size() ? in_[pos_ + 1] : '\0';
    if (next == '?' || next == '+') return false;  // a lazy/possessive outer repeat differs
    std::string_view atom(out_);
    atom.remove_prefix(atom_start_);
    size_t open = atom.starts_with("(?:") ? 3 : (atom.starts_with("(") && !atom.starts_with("(?")) ? 1 : 0;
    if (!open || atom.size() < open + 3 || atom.back() != ')') return false;
    std::string_view inner = atom.substr(open, atom.size() - open - 1);
    size_t len = single_char_atom(inner);
    if (!len || inner.size() != len + 1) return false;
    char q = inner[len];
    if (q != '*' && q != '+' && q != '?') return false;
    char folded = (q == '+' && outer == '+') ? '+' : (q == '?' && outer == '?') ? '?' : '*';
    std::string single(inner.substr(0, len));
    out_.resize(atom_start_);
    out_ += single;
    out_ += folded;
    quantified_ = Quantified::Greedy;
    return true;
  }

  void group_open() {
    size_t at = pos_;
    if (peek(1) != '?') {
      groups_.push_back(out_.size());
      out_ += '(';
      ++pos_;
      no_atom();
      return;
    }
    char k = peek(2);
    if (k == '#') {  // comment
      size_t close = in_.find(')', pos_);
      if (close == std::string_view::npos) fail("unterminated comment", at);
      pos_ = close + 1;
      return;
    }
    if (k == ':' || k == '=' || k == '!' || k == '>') {
      groups_.push_back(out_.size());
      out_.append(in_.substr(pos_, 3));
      pos_ += 3;
      no_atom();
      return;
    }
    if (k == '<' && (peek(3) == '=' || peek(3) == '!')) {
      groups_.push_back(out_.size());
      out_.append(in_.substr(pos_, 4));
      pos_ += 4;
      no_atom();
      return;
    }
    if (k == '<' || k == '\'') {
      char close = k == '<' ? '>' : '\'';
      size_t end = in_.find(close, pos_ + 3);
      if (end == std::string_view::npos) fail("unterminated group name", at);
      std::string name(in_.substr(pos_ + 3, end - pos_ - 3));
      if (name.empty()) fail("empty group name", at);
      result_.group_names.push_back(name);
      names_[name].push_back(result_.group_names.size());
      groups_.push_back(out_.size());
      out_ += "(?<" + generated_group_name(result_.group_names.size()) + ">";
      pos_ = end + 1;
      no_atom();
      return;
    }
    if (k == '(') {  // conditional (?(cond)yes|no)
      size_t end = in_.find(')', pos_ + 3);
      if (end == std::string_view::npos) fail("unterminated condition", at);
      std::string cond(in_.substr(pos_ + 3, end - pos_ - 3));
      groups_.push_back(out_.size());
      if (!cond.empty() && std::all_of(cond.begin(), cond.end(), [](char ch) { return is_digit(ch); })) {
        result_.numbered_references = true;
        out_ += "(?(" + cond + ")";
      } else if (cond.size() >= 2 && ((cond.front() == '<' && cond.back() == '>') ||
                                      (cond.front() == '\'' && cond.back() == '\''))) {
        out_ += "(?(<";
        add_fixup(cond.substr(1, cond.size() - 2), FixupKind::FirstGroup);
        out_ += ">)";
      } else {
        fail("unsupported condition `" + cond + "`", at);
      }
      pos_ = end + 1;
      no_atom();
      return;
    }
    // Option letters: (?imx-imx) or (?imx-imx:...). Ruby's m is dot-all (PCRE2's s).
    size_t p = pos_ + 2;
    std::string opts;
    while (p < in_.size() && (is_alpha(in_[p]) || in_[p] == '-')) {
      char o = in_[p];
      if (o == 'm') opts += 's';
      else if (o == 'i' || o == 'x' || o == '-') opts += o;
      else fail(std::string("unsupported option `") + o + "`", p);
      ++p;
    }
    if (p < in_.size() && (in_[p] == ')' || in_[p] == ':') && p > pos_ + 2) {
      if (in_[p] == ':') {
        groups_.push_back(out_.size());
        out_ += "(?" + opts + ":";
      } else {
        out_ += "(?" + opts + ")";
      }
      pos_ = p + 1;
      no_atom();
      return;
    }
    if (k == '~') fail("absence operator `(?~...)`", at);
    fail("unknown group syntax", at);
  }

  enum class FixupKind { AnyGroupBackref, FirstGroup };
  void add_fixup(const std::string& name, FixupKind kind) {
    fixups_.push_back({name, kind});
    out_ += kFixupMark;
    out_ += std::to_string(fixups_.size() - 1);
    out_ += kFixupMark;
  }

  std::string resolve_fixups() {
    if (fixups_.empty()) return std::move(out_);
    std::string done;
    done.reserve(out_.size());
    for (size_t i = 0; i < out_.size(); ++i) {
      if (out_[i] != kFixupMark) {
        done += out_[i];
        continue;
      }
      size_t end = out_.find(kFixupMark, i + 1);
      const Fixup& f = fixups_[std::stoul(out_.substr(i + 1, end - i - 1))];
      i = end;
      auto it = names_.find(f.name);
      if (it == names_.end()) throw GrokError(fmt::format("undefined group name `{}` referenced in `{}`", f.name, in_));
      const auto& groups = it->second;
      if (f.kind == FixupKind::FirstGroup) {
        done += generated_group_name(groups.front());
      } else if (groups.size() == 1) {
        done += "\\k<" + generated_group_name(groups.front()) + ">";
      } else {
        // Onigmo tries a multiplexed name's groups from the last one defined.
        done += "(?:";
        for (size_t j = groups.size(); j-- > 0;) {
          done += "\\k<" + generated_group_name(groups[j]) + ">";
          if (j) done += '|';
        }
        done += ')';
      }
    }
    return done;
  }

  // \k<name>, \k'name', \g<name> (subroutine call).
  void named_reference(char kind) {
    size_t at = pos_;
    char open = peek(2);
    char close = open == '<' ? '>' : open == '\'' ? '\'' : '\0';
    if (!close) fail(std::string("malformed \\") + kind, at);
    size_t end = in_.find(close, pos_ + 3);
    if (end == std::string_view::npos) fail(std::string("unterminated \\") + kind, at);
    std::string name(in_.substr(pos_ + 3, end - pos_ - 3));
    pos_ = end + 1;
    begin_atom();
    bool numeric = !name.empty() && (is_digit(name[0]) || ((name[0] == '-' || name[0] == '+') && name.size() > 1)) &&
                   std::all_of(name.begin() + 1, name.end(), [](char ch) { return is_digit(ch); });
    if (numeric) {
      result_.numbered_references = true;
      if (kind == 'k') out_ += "\\g{" + name + "}";
      else out_ += "\\g<" + name + ">";
      return;
    }
    if (name.find_first_of("+-") != std::string::npos && kind == 'k' &&
        names_.find(name) == names_.end() && name.find('[') == std::string::npos)
      fail("back-reference with recursion level", at);
    if (kind == 'k') {
      add_fixup(name, FixupKind::AnyGroupBackref);
    } else {
      out_ += "\\g<";
      add_fixup(name, FixupKind::FirstGroup);
      out_ += ">";
    }
  }

  // \uHHHH or \u{H...} -> \x{...}
  std::string unicode_escape(size_t& p) {
    // p at 'u'
    if (p + 1 < in_.size() && in_[p + 1] == '{') {
      size_t end = in_.find('}', p + 2);
      if (end == std::string_view::npos) fail("unterminated \\u{", p);
      std::string hex(in_.substr(p + 2, end - p - 2));
      if (hex.empty() || hex.find(' ') != std::string::npos) fail("unsupported \\u{...}", p);
      p = end + 1;
      return "\\x{" + hex + "}";
    }
    bool ok = true;
    for (size_t i = 1; i <= 4 && ok; ++i) ok = p + i < in_.size() && is_hex(in_[p + i]);
    if (ok) {
      std::string hex(in_.substr(p + 1, 4));
      p += 5;
      return "\\x{" + hex + "}";
    }
    fail("malformed \\u escape", p);
  }

  // \xHH, \x{...}, \o{...}, \cX: copied whole so a later quantifier wraps all of it.
  std::string escape_with_operand(size_t& p) {
    size_t start = p;
    char e = in_[p + 1];
    p += 2;
    if (e == 'c') {
      if (p >= in_.size()) fail("malformed \\c", start);
      p += 1;
    } else if (p < in_.size() && in_[p] == '{') {
      size_t end = in_.find('}', p);
      if (end == std::string_view::npos) fail("unterminated escape", start);
      p = end + 1;
    } else if (e == 'x') {
      for (int i = 0; i < 2 && p < in_.size() && is_hex(in_[p]); ++i) ++p;
    }
    return std::string(in_.substr(start, p - start));
  }

  void escape() {
    size_t at = pos_;
    if (at_end(1)) fail("trailing backslash", at);
    char e = peek(1);
    switch (e) {
      case 'h': begin_atom(); out_ += "[0-9a-fA-F]"; pos_ += 2; return;
      case 'H': begin_atom(); out_ += "[^0-9a-fA-F]"; pos_ += 2; return;
      case 'v': begin_atom(); out_ += "\\x0B"; pos_ += 2; return;
      case 'O': begin_atom(); out_ += "(?s:.)"; pos_ += 2; return;
      case 'k': named_reference('k'); return;
      case 'g': named_reference('g'); return;
      case 'u': {
        size_t p = pos_ + 1;
        begin_atom();
        out_ += unicode_escape(p);
        pos_ = p;
        return;
      }
      case 'p': case 'P': {
        begin_atom();
        size_t p = pos_;
        out_ += property(p);
        pos_ = p;
        return;
      }
      case 'C': case 'M':
        if (peek(2) == '-') fail("\\C- / \\M- escapes", at);
        begin_atom();
        out_ += e;
        pos_ += 2;
        return;
      case 'y': case 'Y': fail("text segment boundary \\y", at);
      case 'b': case 'B': case 'A': case 'z': case 'Z': case 'G': case 'K':
        out_ += '\\';
        out_ += e;
        pos_ += 2;
        no_atom();
        return;
      default: break;
    }
    if (is_digit(e)) {
      begin_atom();
      size_t p = pos_ + 1;
      std::string digits;
      while (p < in_.size() && is_digit(in_[p])) digits += in_[p++];
      if (e != '0') result_.numbered_references = true;
      out_ += '\\';
      out_ += digits;
      pos_ = p;
      return;
    }
    begin_atom();
    if (e == 'x' || e == 'o' || e == 'c') {
      out_ += escape_with_operand(pos_);
      return;
    }
    if (is_alpha(e)) {
      static const std::string_view kSame = "tnrfaedDwWsSRXN";
      if (kSame.find(e) != std::string_view::npos) {
        out_ += '\\';
        out_ += e;
      } else {
        out_ += e;  // Ruby reads an unknown escaped letter as the letter itself
      }
      pos_ += 2;
      return;
    }
    size_t n = utf8_length(static_cast<unsigned char>(e));
    out_ += '\\';
    out_.append(in_.substr(pos_ + 1, n));
    pos_ += 1 + n;
  }

  // \p{Name}, \p{^Name}, \P{Name}; a few Ruby names PCRE2 spells otherwise.
  std::string property(size_t& p) {
    char kind = in_[p + 1];
    if (p + 2 >= in_.size() || in_[p + 2] != '{') fail("malformed \\p", p);
    size_t end = in_.find('}', p + 3);
    if (end == std::string_view::npos) fail("unterminated \\p{", p);
    std::string name(in_.substr(p + 3, end - p - 3));
    p = end + 1;
    bool negated = kind == 'P';
    if (!name.empty() && name[0] == '^') {
      negated = !negated;
      name.erase(0, 1);
    }
    static const std::map<std::string, std::string> kRubyNames = {
        {"Alpha", "L"}, {"Digit", "Nd"}, {"Upper", "Lu"}, {"Lower", "Ll"}, {"Punct", "P"},
        {"Cntrl", "Cc"}, {"Alnum", "Xan"}, {"Space", "Xps"}, {"Word", "Xwd"}};
    auto it = kRubyNames.find(name);
    if (it != kRubyNames.end()) name = it->second;
    result_.unicode_sensitive = true;
    return std::string(negated ? "\\P{" : "\\p{") + name + "}";
  }

  // Parses a Ruby character class starting at '[' and returns the body of an equivalent
  // flat PCRE2 class: nested classes are unions, POSIX brackets are Unicode-aware.
  std::string char_class(bool& negated) {
    size_t at = pos_;
    ++pos_;  // '['
    negated = false;
    if (peek() == '^') {
      negated = true;
      ++pos_;
    }
    std::string body;
    bool first = true;
    while (true) {
      if (at_end()) fail("unterminated character class", at);
      char c = peek();
      if (c == ']' && !first) {
        ++pos_;
        break;
      }
      if (c == ']' && first) {
        body += "\\]";
        ++pos_;
        first = false;
        continue;
      }
      first = false;
      if (c == '[') {
        if (peek(1) == ':') {
          size_t end = in_.find(":]", pos_ + 2);
          if (end != std::string_view::npos) {
            std::string name(in_.substr(pos_ + 2, end - pos_ - 2));
            std::optional<std::string> posix = posix_class(name);
            if (posix) {
              body += *posix;
              pos_ = end + 2;
              continue;
            }
          }
        }
        bool inner_negated = false;
        std::string inner = char_class(inner_negated);
        if (inner_negated) fail("negated class nested in a class", at);
        body += inner;
        continue;
      }
      if (c == '&' && peek(1) == '&') fail("character class intersection `&&`", pos_);
      if (c == '\\') {
        if (at_end(1)) fail("trailing backslash", pos_);
        char e = peek(1);
        if (e == 'h') { body += "0-9a-fA-F"; pos_ += 2; continue; }
        if (e == 'H') fail("\\H inside a character class", pos_);
        if (e == 'v') { body += "\\x0B"; pos_ += 2; continue; }
        if (e == 'u') {
          size_t p = pos_ + 1;
          body += unicode_escape(p);
          pos_ = p;
          continue;
        }
        if (e == 'p' || e == 'P') {
          size_t p = pos_;
          body += property(p);
          pos_ = p;
          continue;
        }
        if (is_alpha(e)) {
          static const std::string_view kSame = "tnrfaedDwWsSxcob";
          if (kSame.find(e) != std::string_view::npos) {
            body += '\\';
            body += e;
          } else {
            body += e;
          }
          pos_ += 2;
          continue;
        }
        size_t n = utf8_length(static_cast<unsigned char>(e));
        body += '\\';
        body.append(in_.substr(pos_ + 1, n));
        pos_ += 1 + n;
        continue;
      }
      if (c == kFixupMark) {
        body += "\\x01";
        ++pos_;
        continue;
      }
      size_t n = utf8_length(static_cast<unsigned char>(c));
      if (n > 1) result_.unicode_sensitive = true;
      body.append(in_.substr(pos_, n));
      pos_ += n;
    }
    return body;
  }

  std::optional<std::string> posix_class(const std::string& name) {
    if (!name.empty() && name[0] == '^') {
      static const std::map<std::string, std::string> kNegatable = {{"ascii", "\\x80-\\x{10ffff}"}};
      auto it = kNegatable.find(name.substr(1));
      if (it != kNegatable.end()) return it->second;
      fail("negated POSIX bracket [:" + name + ":]", pos_);
    }
    static const std::map<std::string, std::string> kClasses = {
        {"alnum", "\\p{L}\\p{M}\\p{Nd}"},
        {"alpha", "\\p{L}\\p{M}"},
        {"digit", "\\p{Nd}"},
        {"upper", "\\p{Lu}"},
        {"lower", "\\p{Ll}"},
        {"space", "\\s\\p{Z}\\x{85}"},
        {"blank", "\\t\\p{Zs}"},
        {"cntrl", "\\p{Cc}"},
        {"punct", "\\p{P}\\$\\+<=>\\^`\\|~"},
        {"xdigit", "0-9A-Fa-f"},
        {"word", "\\w\\p{L}\\p{M}\\p{Nd}\\p{Pc}"},
        {"graph", "\\x21-\\x7e\\x{a1}-\\x{10ffff}"},
        {"print", "\\x20-\\x7e\\x{a0}-\\x{10ffff}"},
        {"ascii", "\\x00-\\x7f"},
    };
    auto it = kClasses.find(name);
    if (it == kClasses.end()) return std::nullopt;
    if (name != "xdigit" && name != "ascii") result_.unicode_sensitive = true;
    return it->second;
  }

  struct Fixup {
    std::string name;
    FixupKind kind;
  };

  std::string_view in_;
  size_t pos_ = 0;
  std::string out_;
  size_t atom_start_ = std::string::npos;
  Quantified quantified_ = Quantified::None;
  std::vector<size_t> groups_;  // output offsets of open '('
  std::map<std::string, std::vector<size_t>> names_;
  std::vector<Fixup> fixups_;
  TranslatedRegex result_;
};

}  // namespace

TranslatedRegex translate_onig(std::string_view onig) { return Translator(onig).run(); }

}  // namespace sluice::grok
