// RFC 5424 syslog messages, parsed by hand:
//   <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]
// NILVALUE ("-") fields come out empty; MSG loses a leading UTF-8 BOM.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::syslog {

struct Rfc5424 {
  int64_t priority = -1;
  int version = 0;
  std::string_view timestamp, host, app_name, proc_id, msg_id;
  std::string_view structured_data;  // raw "[id k="v"]..." or empty for "-"
  std::string_view message;
  bool had_bom = false;
};

// True when line is a well-formed RFC 5424 message (trailing CR/LF ignored).
bool parse_rfc5424(std::string_view line, Rfc5424& out);

// Walks well-formed structured data: on_element(id) then on_param(id, name, value) with the
// value unescaped (\" \\ \] ) into `scratch`. Returns false on malformed input.
template <typename OnElement, typename OnParam>
bool for_each_sd(std::string_view sd, std::string& scratch, OnElement&& on_element, OnParam&& on_param);

// Length of well-formed STRUCTURED-DATA at the start of text (0 = malformed; "-" = 1).
size_t structured_data_length(std::string_view text);

// ---- implementation of the template -----------------------------------------------------------

namespace detail {
inline bool sd_name_char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u > 32 && u < 127 && c != '=' && c != ']' && c != '"';
}
}  // namespace detail

template <typename OnElement, typename OnParam>
bool for_each_sd(std::string_view sd, std::string& scratch, OnElement&& on_element, OnParam&& on_param) {
  size_t i = 0;
  if (sd.empty() || sd == "-") return true;
  while (i < sd.size()) {
    if (sd[i] != '[') return false;
    ++i;
    size_t id_start = i;
    while (i < sd.size() && detail::sd_name_char(sd[i])) ++i;
    if (i == id_start || i - id_start > 32) return false;
    std::string_view id = sd.substr(id_start, i - id_start);
    on_element(id);
    while (i < sd.size() && sd[i] == ' ') {
      ++i;
      size_t n_start = i;
      while (i < sd.size() && detail::sd_name_char(sd[i])) ++i;
      if (i == n_start || i - n_start > 32) return false;
      std::string_view name = sd.substr(n_start, i - n_start);
      if (i + 1 >= sd.size() || sd[i] != '=' || sd[i + 1] != '"') return false;
      i += 2;
      scratch.clear();
      bool closed = false;
      while (i < sd.size()) {
        char c = sd[i];
        if (c == '\\' && i + 1 < sd.size() && (sd[i + 1] == '"' || sd[i + 1] == '\\' || sd[i + 1] == ']')) {
          scratch.push_back(sd[i + 1]);
          i += 2;
          continue;
        }
        if (c == '"') {
          closed = true;
          ++i;
          break;
        }
        scratch.push_back(c);
        ++i;
      }
      if (!closed) return false;
      on_param(id, name, std::string_view(scratch));
    }
    if (i >= sd.size() || sd[i] != ']') return false;
    ++i;
  }
  return true;
}

}  // namespace sluice::syslog
