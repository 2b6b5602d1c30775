#include "plugins/inputs/syslog/syslog3164.h"

#include <array>

namespace sluice::syslog {

namespace {

constexpr size_t npos = std::string_view::npos;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char at(std::string_view s, size_t i) { return i < s.size() ? s[i] : '\0'; }

// Every spelling grok's MONTH accepts (first letter in either case, the rest as listed).
constexpr std::array<std::string_view, 42> kMonthTails = {
    "jan", "january", "januar", "feb", "february", "februar", "mr", "mar", "march", "marz", "mrz", "mrch",
    "m\xc3\xa4r", "m\xc3\xa4rz", "m\xc3\xa4rch", "apr", "april", "ma", "may", "mai", "jun", "june", "juni", "jul",
    "july", "juli", "aug", "august", "sep", "september", "ot", "oct", "okt", "otober", "october", "oktober", "nov",
    "november", "dec", "dez", "december", "dezember"};

bool is_month(std::string_view word) {
  if (word.empty()) return false;
  for (std::string_view form : kMonthTails) {
    if (form.size() != word.size()) continue;
    char first = word[0];
    if (first != form[0] && first != char(form[0] - 'a' + 'A')) continue;
    if (word.substr(1) == form.substr(1)) return true;
  }
  return false;
}

// HOUR (?:2[0-3]|[01]?\d) followed by `next` (or anything when next == 0); returns its length.
size_t match_hour(std::string_view s, size_t i, char next_required, bool colon_optional) {
  auto ok_after = [&](size_t end) {
    if (colon_optional) return true;
    return at(s, end) == next_required;
  };
  char a = at(s, i), b = at(s, i + 1);
  if (is_digit(a) && is_digit(b) && ((a == '2' && b <= '3') || a == '0' || a == '1') && ok_after(i + 2)) return 2;
  if (is_digit(a) && ok_after(i + 1)) return 1;
  return 0;
}

// SECOND (?:(?:[0-5]?\d|60)(?:[:.,]\d+)?) then (?!\d) when `no_digit_after`.
size_t match_second(std::string_view s, size_t i, bool no_digit_after) {
  for (size_t len : {size_t(2), size_t(1)}) {
    char a = at(s, i), b = at(s, i + 1);
    bool base = len == 2 ? (is_digit(a) && is_digit(b) && (a <= '5' || (a == '6' && b == '0'))) : is_digit(a);
    if (!base) continue;
    size_t end = i + len;
    char sep = at(s, end);
    if ((sep == ':' || sep == '.' || sep == ',') && is_digit(at(s, end + 1))) {
      size_t f = end + 1;
      while (is_digit(at(s, f))) ++f;
      if (!no_digit_after || !is_digit(at(s, f))) return f - i;
    }
    if (!no_digit_after || !is_digit(at(s, end))) return len;
  }
  return 0;
}

// MONTHDAY (?:0[1-9]|[12]\d|3[01]|[1-9]) followed by one of `followers`.
size_t match_monthday(std::string_view s, size_t i, std::string_view followers) {
  char a = at(s, i), b = at(s, i + 1);
  auto followed = [&](size_t end) { return followers.find(at(s, end)) != npos && at(s, end) != '\0'; };
  bool two = is_digit(a) && is_digit(b) &&
             ((a == '0' && b != '0') || a == '1' || a == '2' || (a == '3' && (b == '0' || b == '1')));
  if (two && followed(i + 2)) return 2;
  if (a >= '1' && a <= '9' && followed(i + 1)) return 1;
  return 0;
}

// PROG [!-Z\\^-~]+ (printable ASCII but space, '[' and ']').
bool is_prog_char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return (u >= 0x21 && u <= 0x5A) || u == 0x5C || (u >= 0x5E && u <= 0x7E);
}

// SYSLOGPROG followed by ':' and then a space; returns the index of that space, or npos.
size_t match_prog(std::string_view s, size_t k, std::string_view& program, std::string_view& pid) {
  size_t e = k;
  while (e < s.size() && is_prog_char(s[e])) ++e;
  if (e == k) return npos;
  if (at(s, e) == '[' && at(s, e + 1) >= '1' && at(s, e + 1) <= '9') {
    size_t d = e + 1;
    while (is_digit(at(s, d))) ++d;
    if (at(s, d) == ']' && at(s, d + 1) == ':' && at(s, d + 2) == ' ') {
      program = s.substr(k, e - k);
      pid = s.substr(e + 1, d - e - 1);
      return d + 2;
    }
  }
  if (e - k >= 2 && s[e - 1] == ':' && at(s, e) == ' ') {
    program = s.substr(k, e - k - 1);
    pid = {};
    return e;
  }
  return npos;
}

// SYSLOGFACILITY <%{NONNEGINT}.%{NONNEGINT}> at i; returns its length.
size_t match_facility(std::string_view s, size_t i, std::string_view& code) {
  if (at(s, i) != '<' || !is_digit(at(s, i + 1))) return 0;
  size_t d = i + 1;
  while (is_digit(at(s, d))) ++d;
  code = s.substr(i + 1, d - i - 1);
  if (d >= s.size() || !is_digit(at(s, d + 1))) return 0;  // any one char, then digits
  size_t e = d + 1;
  while (is_digit(at(s, e))) ++e;
  if (at(s, e) != '>') return 0;
  return e + 1 - i;
}

// GREEDYDATA: Logstash compiles grok with Ruby's MULTILINE flag, so `.` matches newlines too.
std::string_view greedy_data(std::string_view s, size_t from) { return from >= s.size() ? std::string_view() : s.substr(from); }

size_t token_end(std::string_view s, size_t from) {
  size_t e = s.find(' ', from);
  return e == npos ? s.size() : e;
}

bool try_at(std::string_view s, size_t p, bool ecs, Rfc3164& out) {
  size_t i = p + 1;
  if (!(at(s, i) >= '1' && at(s, i) <= '9')) return false;
  size_t d = i;
  int64_t pri = 0;
  while (is_digit(at(s, d))) {
    if (pri < 100000000000LL) pri = pri * 10 + (s[d] - '0');
    ++d;
  }
  if (at(s, d) != '>') return false;
  i = d + 1;
  Rfc3164 r;
  r.priority = pri;
  std::string_view rest = s.substr(i);
  size_t ts = match_bsd_timestamp(rest);
  if (ts == 0) {
    ts = match_iso8601_timestamp(rest);
    r.iso_timestamp = ts > 0;
  }
  if (ts == 0) return false;
  r.timestamp = s.substr(i, ts);
  size_t j = i + ts;
  if (!ecs) {
    if (at(s, j) != ' ') return false;
    ++j;
    std::string_view code;
    size_t fac = match_facility(s, j, code);
    if (fac && at(s, j + fac) == ' ') {
      r.facility_code = code;
      j += fac + 1;
    }
    size_t h_end = token_end(s, j);
    if (h_end >= s.size() || !is_syslog_host(s.substr(j, h_end - j))) return false;
    r.host = s.substr(j, h_end - j);
    size_t msg_space = h_end;
    size_t after_prog = match_prog(s, h_end + 1, r.program, r.pid);
    if (after_prog != npos) msg_space = after_prog;
    r.message = greedy_data(s, msg_space + 1);
    out = r;
    return true;
  }
  // ECS: timestamp (?: FACILITY)?(?: host)?(?: prog:)? message
  std::string_view code;
  if (at(s, j) == ' ') {
    size_t fac = match_facility(s, j + 1, code);
    if (fac && at(s, j + 1 + fac) == ' ') {
      r.facility_code = code;
      j += 1 + fac;
    }
  }
  if (at(s, j) == ' ') {
    size_t h_end = token_end(s, j + 1);
    if (h_end < s.size() && h_end > j + 1 && is_syslog_host(s.substr(j + 1, h_end - j - 1))) {
      r.host = s.substr(j + 1, h_end - j - 1);
      j = h_end;
    }
  }
  if (at(s, j) == ' ') {
    size_t after_prog = match_prog(s, j + 1, r.program, r.pid);
    if (after_prog != npos) j = after_prog;
  }
  if (at(s, j) != ' ') return false;
  r.message = greedy_data(s, j + 1);
  out = r;
  return true;
}

}  // namespace

bool is_syslog_host(std::string_view t) {
  if (t.empty()) return false;
  if (t.find(':') != npos) {
    // IPv6 (IPORHOST's IP branch): hex groups, colons, an optional dotted IPv4 tail.
    int colons = 0;
    for (char c : t) {
      if (c == ':') ++colons;
      else if (!is_hex(c) && c != '.') return false;
    }
    if (colons < 2 || colons > 7) return false;
    if (t.back() == ':' && t.substr(t.size() - 2) != "::") return false;
    if (t.front() == ':' && t.substr(0, 2) != "::") return false;
    return t.find(":::") == npos;
  }
  // HOSTNAME: labels of letters, digits and '-', each starting with a letter or digit, 63
  // characters at most, separated by dots; one trailing dot allowed.
  size_t label = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (label == 0 ? !is_alnum(c) : !(is_alnum(c) || c == '-')) return false;
    if (++label > 63) return false;
  }
  return true;
}

size_t match_bsd_timestamp(std::string_view s) {
  size_t w = 0;
  while (w < s.size() && (is_alpha(s[w]) || static_cast<unsigned char>(s[w]) >= 0x80)) ++w;
  if (!is_month(s.substr(0, w))) return 0;
  size_t i = w;
  if (at(s, i) != ' ') return 0;
  while (at(s, i) == ' ') ++i;
  size_t md = match_monthday(s, i, " ");
  if (!md) return 0;
  i += md + 1;
  size_t h = match_hour(s, i, ':', false);
  if (!h) return 0;
  i += h + 1;
  if (!(at(s, i) >= '0' && at(s, i) <= '5' && is_digit(at(s, i + 1)) && at(s, i + 2) == ':')) return 0;
  i += 3;
  size_t sec = match_second(s, i, true);
  if (!sec) return 0;
  return i + sec;
}

size_t match_iso8601_timestamp(std::string_view s) {
  size_t i = 0;
  while (is_digit(at(s, i)) && i < 4) ++i;
  if (i == 4) {
  } else if (i >= 2) {
    i = 2;
  } else {
    return 0;
  }
  if (at(s, i) != '-') return 0;
  ++i;
  // MONTHNUM (?:0?[1-9]|1[0-2]) followed by '-'
  char a = at(s, i), b = at(s, i + 1);
  if (a == '0' && b >= '1' && b <= '9' && at(s, i + 2) == '-') i += 3;
  else if (a == '1' && b >= '0' && b <= '2' && at(s, i + 2) == '-') i += 3;
  else if (a >= '1' && a <= '9' && b == '-') i += 2;
  else return 0;
  size_t md = match_monthday(s, i, "T ");
  if (!md) return 0;
  i += md + 1;
  // HOUR :? MINUTE
  size_t h = 0;
  for (size_t len : {size_t(2), size_t(1)}) {
    char x = at(s, i), y = at(s, i + 1);
    bool hour_ok = len == 2 ? (is_digit(x) && is_digit(y) && ((x == '2' && y <= '3') || x == '0' || x == '1'))
                            : is_digit(x);
    if (!hour_ok) continue;
    size_t m = i + len;
    if (at(s, m) == ':') ++m;
    if (at(s, m) >= '0' && at(s, m) <= '5' && is_digit(at(s, m + 1))) {
      h = m + 2 - i;
      break;
    }
  }
  if (!h) return 0;
  i += h;
  // (?::?SECOND)?
  {
    size_t k = i;
    if (at(s, k) == ':') ++k;
    size_t sec = match_second(s, k, false);
    if (sec) i = k + sec;
  }
  // ISO8601_TIMEZONE?
  if (at(s, i) == 'Z') {
    ++i;
  } else if (at(s, i) == '+' || at(s, i) == '-') {
    size_t k = i + 1;
    size_t hh = is_digit(at(s, k)) ? (is_digit(at(s, k + 1)) ? 2 : 1) : 0;
    if (hh) {
      size_t m = k + hh;
      if (at(s, m) == ':') ++m;
      if (at(s, m) >= '0' && at(s, m) <= '5' && is_digit(at(s, m + 1))) i = m + 2;
    }
  }
  return i;
}

bool parse_rfc3164(std::string_view line, bool ecs, Rfc3164& out) {
  for (size_t p = line.find('<'); p != npos; p = line.find('<', p + 1)) {
    if (try_at(line, p, ecs, out)) return true;
  }
  return false;
}

}  // namespace sluice::syslog
