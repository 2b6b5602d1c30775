// Logstash's "friendly durations" (file input options such as stat_interval => "500 ms").
#pragma once

#include <optional>
#include <string_view>

namespace sluice::file_input {

// Parses `text` as a duration and returns it in seconds. A bare number is in `bare_unit_seconds`
// (1 for most options, 86400 for sincedb_clean_after); otherwise "<number>[ ]<unit>" with units
// us/usec/usecs, ms/msec/msecs, s/sec/secs/second/seconds, m/min/mins/minute/minutes,
// h/hour/hours, d/day/days, w/week/weeks. nullopt when malformed or negative.
std::optional<double> parse_duration(std::string_view text, double bare_unit_seconds);

}  // namespace sluice::file_input
