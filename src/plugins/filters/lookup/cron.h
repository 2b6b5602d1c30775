// The subset of cron (rufus-scheduler, as Logstash's loader_schedule uses it) that sluice
// understands: 5 fields `min hour day-of-month month day-of-week`, or 6 with seconds first;
// each field `*`, `n`, `a-b`, `*/s`, `a-b/s`, `n/s` and comma lists of those. Local time.
// Month and weekday names, `L`, `#` and time zones are not supported (a parse error says so).
#pragma once

#include <bitset>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>

namespace sluice::lookup {

class CronSchedule {
 public:
  // nullopt with *error set when the text is not in the supported subset.
  static std::optional<CronSchedule> parse(const std::string& text, std::string* error);
  // The first second strictly after `after` (Unix seconds) that matches; -1 if none within ~4 years.
  int64_t next_after(int64_t after) const;

 private:
  std::bitset<60> seconds_, minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;    // 1..31
  std::bitset<13> months_;  // 1..12
  std::bitset<7> weekdays_; // 0 = Sunday
  bool any_day_of_month_ = true, any_weekday_ = true;
};

}  // namespace sluice::lookup
