// Joda-Time style date formats (Logstash's), compiled once: formatting timestamps for
// sprintf and index names; parsing is the date filter's (it reuses the token scanner).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <cstdint>
#include <vector>

#include "core/value.h"

namespace sluice {

class TimeFormat {
 public:
  // Compiles a Joda pattern: y yyyy yy M MM MMM MMMM d dd H HH h hh m mm s ss S..SSSSSSSSS
  // Z ZZ ZZZ a E EEE EEEE D w x xxxx e, quoted literals 'T', '' for a quote.
  // Throws std::invalid_argument on a letter Joda does not know (as Joda does).
  static TimeFormat joda(std::string_view pattern);
  // Compiles a java.time DateTimeFormatter pattern (sprintf's `%{{...}}` form): u y Y M L d D
  // H h k K m s S n A a E e c w Q G, zones V z O X x Z, quoted literals, [optional] sections
  // (printed). Throws std::invalid_argument on unknown letters.
  static TimeFormat java(std::string_view pattern);
  // Formats in the given zone (IANA name; "" or "UTC" = UTC).
  void format(Timestamp ts, std::string& out) const;
  std::string format(Timestamp ts) const { std::string s; format(ts, s); return s; }

  struct Token;
  std::vector<Token> tokens;  // public for the date filter's parser
  std::string zone;
  // Joda formats work on milliseconds (sub-millisecond digits print as 0), java.time on nanos.
  bool millisecond_precision = false;

  TimeFormat();
  TimeFormat(const TimeFormat&);
  TimeFormat(TimeFormat&&) noexcept;
  TimeFormat& operator=(const TimeFormat&);
  TimeFormat& operator=(TimeFormat&&) noexcept;
  ~TimeFormat();
};

// One element of a compiled pattern. `count` is the number of pattern letters, which selects
// the width (numbers, zero-padded) or the form (text: 3 = short, 4+ = full; years: 2 = two digits).
struct TimeFormat::Token {
  enum class Field : uint8_t {
    Literal,             // `literal`
    Era,                 // G: AD / BC
    CenturyOfEra,        // C
    YearOfEra,           // Joda Y, java y
    Year,                // Joda y, java u (proleptic, may be negative)
    WeekYear,            // Joda x, java Y: ISO week-based year
    WeekOfWeekYear,      // w: ISO week number
    DayOfWeekNumber,     // Joda e, java e/c: 1 = Monday .. 7 = Sunday
    DayOfWeekText,       // E: Mon / Monday
    DayOfYear,           // D
    MonthOfYear,         // M (java L too): number for count <= 2, else text
    DayOfMonth,          // d
    HalfDayOfDay,        // a: AM / PM
    HourOfHalfDay,       // K: 0-11
    ClockHourOfHalfDay,  // h: 1-12
    HourOfDay,           // H: 0-23
    ClockHourOfDay,      // k: 1-24
    MinuteOfHour,        // m
    SecondOfMinute,      // s
    FractionOfSecond,    // S: the first `count` digits of the fraction (Joda: from milliseconds)
    NanoOfSecond,        // java n
    MilliOfDay,          // java A
    QuarterOfYear,       // java Q / q
    TimeZoneName,        // z: abbreviation (CET, UTC); 4+ letters: the zone id
    TimeZoneId,          // Joda ZZZ, java VV: Europe/Paris
    OffsetJoda,          // Joda Z: +0100 (count 1) / +01:00 (count 2)
    OffsetJavaZ,         // java Z: +0100 (1-3), GMT+01:00 (4), +01:00 or Z (5)
    OffsetJavaX,         // java X: Z for zero, else +01 (1), +0100 (2, 4), +01:00 (3, 5)
    OffsetJavax,         // java x: like X but +00 for zero
    OffsetJavaO,         // java O: GMT+1 (1), GMT+01:00 (4)
  };
  Field field = Field::Literal;
  int count = 0;
  std::string literal;
};

// One run of a date pattern: a literal text (quotes resolved, '' = ') or `count` repeats of a pattern letter.
struct DatePatternRun {
  char letter = 0;  // 0 for a literal
  int count = 0;
  std::string literal;
};
// Splits a Joda / java.time pattern into runs, shared by formatting and the date filter's parser.
// `[` and `]` (java.time optional sections) are dropped when skip_brackets. Throws std::invalid_argument
// on an unterminated quote.
std::vector<DatePatternRun> lex_date_pattern(std::string_view pattern, bool skip_brackets = false);

// ISO8601 as Logstash prints @timestamp: 2024-05-01T12:00:00.000Z; more fraction digits
// (in groups of 3) only when the sub-millisecond part is non-zero.
void format_iso8601(Timestamp ts, std::string& out);
// The same into a raw buffer of at least kIso8601MaxLength bytes; returns the length written.
constexpr size_t kIso8601MaxLength = 40;
size_t format_iso8601(Timestamp ts, char* out);

// Parses ISO8601 as Logstash's Timestamp(String) does: yyyy-MM-dd, optional
// 'T'HH:mm[:ss[.fraction up to 9 digits]], optional zone (Z, +HH, +HHMM, +HH:MM, or an IANA
// id such as Europe/Paris); case-insensitive. No zone means UTC (Logstash: the JVM's zone).
bool parse_iso8601(std::string_view text, Timestamp& out);

}  // namespace sluice
