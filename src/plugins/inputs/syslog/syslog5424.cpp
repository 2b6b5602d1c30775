#include "plugins/inputs/syslog/syslog5424.h"

namespace sluice::syslog {

namespace {

constexpr size_t npos = std::string_view::npos;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool printable(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u > 32 && u < 127;
}

// One header field: printable ASCII up to a space, at most `max` characters; "-" is empty.
bool header_field(std::string_view s, size_t& i, size_t max, std::string_view& out) {
  size_t start = i;
  while (i < s.size() && printable(s[i])) ++i;
  if (i == start || i - start > max || i >= s.size() || s[i] != ' ') return false;
  out = s.substr(start, i - start);
  if (out == "-") out = {};
  ++i;
  return true;
}

// RFC 3339 FULL-DATE "T" FULL-TIME (the date filter validates the values later).
bool timestamp_shape(std::string_view t) {
  if (t.size() < 20) return false;
  for (size_t k : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18}) {
    if (!is_digit(t[k])) return false;
  }
  if (t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') || t[13] != ':' || t[16] != ':') return false;
  size_t i = 19;
  if (t[i] == '.') {
    size_t f = ++i;
    while (i < t.size() && is_digit(t[i])) ++i;
    if (i == f || i - f > 6) return false;
  }
  if (i < t.size() && (t[i] == 'Z' || t[i] == 'z')) return i + 1 == t.size();
  if (i + 6 == t.size() && (t[i] == '+' || t[i] == '-') && is_digit(t[i + 1]) && is_digit(t[i + 2]) &&
      t[i + 3] == ':' && is_digit(t[i + 4]) && is_digit(t[i + 5])) {
    return true;
  }
  return false;
}

}  // namespace

size_t structured_data_length(std::string_view text) {
  if (!text.empty() && text[0] == '-') return 1;
  // Elements follow each other without spaces; find where the last ']' of the run ends.
  size_t i = 0;
  while (i < text.size() && text[i] == '[') {
    ++i;
    bool in_value = false;
    while (i < text.size()) {
      char c = text[i];
      if (in_value) {
        if (c == '\\' && i + 1 < text.size()) {
          i += 2;
          continue;
        }
        if (c == '"') in_value = false;
        ++i;
        continue;
      }
      if (c == '"') in_value = true;
      else if (c == ']') break;
      ++i;
    }
    if (i >= text.size()) return 0;
    ++i;  // past ']'
  }
  if (i == 0) return 0;
  std::string scratch;
  bool ok = for_each_sd(text.substr(0, i), scratch, [](std::string_view) {},
                        [](std::string_view, std::string_view, std::string_view) {});
  return ok ? i : 0;
}

bool parse_rfc5424(std::string_view s, Rfc5424& out) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == '\0')) s.remove_suffix(1);
  if (s.size() < 4 || s[0] != '<') return false;
  size_t i = 1, d = 1;
  int64_t pri = 0;
  while (d < s.size() && is_digit(s[d]) && d - i < 3) pri = pri * 10 + (s[d++] - '0');
  if (d == i || d >= s.size() || s[d] != '>' || pri > 191) return false;
  if (d - i > 1 && s[i] == '0') return false;  // no leading zeros (RFC 5424 6.2.1)
  i = d + 1;
  // VERSION: 1-3 digits, first non-zero.
  if (!(i < s.size() && s[i] >= '1' && s[i] <= '9')) return false;
  int version = 0;
  size_t v = i;
  while (v < s.size() && is_digit(s[v]) && v - i < 3) version = version * 10 + (s[v++] - '0');
  if (v >= s.size() || s[v] != ' ') return false;
  i = v + 1;
  Rfc5424 r;
  r.priority = pri;
  r.version = version;
  std::string_view ts;
  if (!header_field(s, i, 64, ts)) return false;
  if (!ts.empty() && !timestamp_shape(ts)) return false;
  r.timestamp = ts;
  if (!header_field(s, i, 255, r.host)) return false;
  if (!header_field(s, i, 48, r.app_name)) return false;
  if (!header_field(s, i, 128, r.proc_id)) return false;
  if (!header_field(s, i, 32, r.msg_id)) return false;
  size_t sd = structured_data_length(s.substr(i));
  if (sd == 0) return false;
  if (!(sd == 1 && s[i] == '-')) r.structured_data = s.substr(i, sd);
  i += sd;
  if (i < s.size()) {
    if (s[i] != ' ') return false;
    ++i;
    std::string_view msg = s.substr(i);
    if (msg.size() >= 3 && static_cast<unsigned char>(msg[0]) == 0xEF && static_cast<unsigned char>(msg[1]) == 0xBB &&
        static_cast<unsigned char>(msg[2]) == 0xBF) {
      msg.remove_prefix(3);
      r.had_bom = true;
    }
    r.message = msg;
  }
  out = r;
  return true;
}

}  // namespace sluice::syslog
