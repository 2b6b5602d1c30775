// A hand-written matcher with the outcome of the syslog input's default grok pattern
// `<%{POSINT:priority}>%{SYSLOGLINE}` (legacy) or its ECS variant, without a regex engine.
// It follows the grok semantics where they matter: the pattern is not anchored (the first
// `<PRI>` from which the rest matches wins), the host is required in legacy mode and optional
// under ECS, `prog[pid]:` is optional, and the message runs to the end (newlines included: Logstash's grok
// matches `.` across lines).
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::syslog {

struct Rfc3164 {
  int64_t priority = -1;
  std::string_view timestamp;       // "Oct 11 22:14:15" or an ISO8601 text
  bool iso_timestamp = false;       // the legacy pattern puts it in `timestamp8601`
  std::string_view facility_code;   // the rare "<FAC.PRI>" after the timestamp (SYSLOGFACILITY)
  std::string_view host;            // empty: absent (ECS only)
  std::string_view program;         // empty: absent
  std::string_view pid;             // empty: absent
  std::string_view message;
};

// True when `line` matches; the views point into `line`.
bool parse_rfc3164(std::string_view line, bool ecs, Rfc3164& out);

// Pieces, exposed for tests.
bool is_syslog_host(std::string_view token);
// Length of a SYSLOGTIMESTAMP / TIMESTAMP_ISO8601 at the start of text (0 = none).
size_t match_bsd_timestamp(std::string_view text);
size_t match_iso8601_timestamp(std::string_view text);

}  // namespace sluice::syslog
