// The parse side of the date filter: one compiled `match` format (a Joda pattern, ISO8601,
// UNIX, UNIX_MS or TAI64N) that turns a field value into an instant, as Logstash's date
// filter does. Compiled once at config time; parsing does no heap allocation.
#pragma once

#include <cctz/time_zone.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/value.h"

namespace sluice::date {

// Month and weekday names of a locale (Joda's text fields). Only English ships today.
struct LocaleNames {
  const char* months_full[12];
  const char* months_short[12];
  const char* weekdays_full[7];  // Monday first (Joda's day-of-week order)
  const char* weekdays_short[7];
  const char* am;
  const char* pm;
  const char* eras[2];  // BC, AD
};
const LocaleNames& english_names();
// The names for a Java locale tag ("en", "en-US", "en_GB"...); nullptr when not available.
const LocaleNames* locale_names(std::string_view tag);

// A time zone given as Joda's DateTimeZone.forID accepts it: an IANA id, "UTC", or a fixed
// offset "+01:00" / "-0700" / "+05". Returns false when unknown.
bool load_zone(std::string_view id, cctz::time_zone& out);
// The same, through a per-thread cache (for `timezone => "%{field}"`, resolved per event).
const cctz::time_zone* cached_zone(std::string_view id);

class DateFormat {
 public:
  enum class Kind { Joda, Iso8601, Unix, UnixMillis, Tai64n };

  // Compiles one format. `zone` is the configured `timezone` (used when the text has no
  // offset); `names` the locale's texts. Throws std::invalid_argument on a bad Joda pattern.
  static std::unique_ptr<DateFormat> compile(std::string_view format, const cctz::time_zone& zone,
                                             const LocaleNames& names);
  ~DateFormat();

  Kind kind() const { return kind_; }
  const std::string& source() const { return source_; }

  // Parses text; `zone_override` (a per-event `%{}` zone) replaces the configured zone when set.
  // The result has Logstash's millisecond precision.
  bool parse(std::string_view text, const cctz::time_zone* zone_override, Timestamp& out) const;
  // Numbers are accepted by UNIX and UNIX_MS only, as in Logstash.
  bool parse_int(int64_t value, Timestamp& out) const;
  bool parse_float(double value, Timestamp& out) const;

  struct Element;  // one compiled pattern element (implementation detail)

 private:
  DateFormat() = default;
  bool parse_joda(const std::vector<Element>& elements, bool has_year, std::string_view text,
                  const cctz::time_zone& zone, Timestamp& out) const;
  bool parse_iso8601(std::string_view text, const cctz::time_zone& zone, Timestamp& out) const;

  Kind kind_ = Kind::Joda;
  std::string source_;
  cctz::time_zone zone_;
  const LocaleNames* names_ = nullptr;
  std::vector<Element> elements_;
  // ISO8601's fallbacks: "yyyy-MM-dd HH:mm:ss.SSS[Z]" with '.' or ','.
  std::vector<Element> almost_iso_elements_[4];
  bool has_year_ = true;
  size_t cache_slot_ = 0;  // index of this format's per-thread last-second cache
};

// For tests: replaces the clock that year-less formats read "now" from (nullptr: the real one),
// and counts the local-to-UTC zone conversions done (cache misses) on this thread.
using NowFunction = Timestamp (*)();
void set_clock_for_testing(NowFunction now);
// "Now" as year-less formats see it (the test clock when one is set).
Timestamp current_time();
// Its second, read from the coarse clock (a memory read): a parse that may depend on now (a
// year-less date takes now's year) gives the same answer within one such second.
int64_t current_second();
uint64_t zone_conversions_on_this_thread();

}  // namespace sluice::date
