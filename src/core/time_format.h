// Joda-Time style date formats (Logstash's), compiled once: formatting timestamps for
// sprintf and index names; parsing is the date filter's (it reuses the token scanner).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/value.h"

namespace sluice {

class TimeFormat {
 public:
  // Compiles a Joda pattern: y yyyy yy M MM MMM MMMM d dd H HH h hh m mm s ss S..SSSSSSSSS
  // Z ZZ ZZZ a E EEE EEEE D w x xxxx e, quoted literals 'T', '' for a quote.
  static TimeFormat joda(std::string_view pattern);
  // Formats in the given zone (IANA name; "" or "UTC" = UTC).
  void format(Timestamp ts, std::string& out) const;
  std::string format(Timestamp ts) const { std::string s; format(ts, s); return s; }

  struct Token;
  std::vector<Token> tokens;  // public for the date filter's parser
  std::string zone;

  TimeFormat();
  TimeFormat(const TimeFormat&);
  TimeFormat(TimeFormat&&) noexcept;
  TimeFormat& operator=(const TimeFormat&);
  TimeFormat& operator=(TimeFormat&&) noexcept;
  ~TimeFormat();
};

// ISO8601 as Logstash prints @timestamp: 2024-05-01T12:00:00.000Z; more fraction digits
// (in groups of 3) only when the sub-millisecond part is non-zero.
void format_iso8601(Timestamp ts, std::string& out);

}  // namespace sluice
