// Joda / java.time date formatting with cctz zones, and Logstash's ISO8601 @timestamp text.
#include "core/time_format.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace sluice {

namespace {

using Token = TimeFormat::Token;
using Field = TimeFormat::Token::Field;

constexpr const char* kMonthFull[] = {"January", "February", "March",     "April",   "May",      "June",
                                      "July",    "August",   "September", "October", "November", "December"};
constexpr const char* kMonthShort[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
// Indexed by ISO day of week - 1 (Monday first).
constexpr const char* kDayFull[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
constexpr const char* kDayShort[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

// Days since 1970-01-01 to the proleptic Gregorian date (the well-known era arithmetic).
void civil_from_days(int64_t days, int64_t& year, int& month, int& day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;
  day = int(day_of_year - (153 * month_index + 2) / 5 + 1);
  month = int(month_index < 10 ? month_index + 3 : month_index - 9);
  year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
}

inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

void append_padded(std::string& out, int64_t value, int width) {
  if (value < 0) {
    out.push_back('-');
    value = -value;
  }
  char buf[24];
  int n = 0;
  do {
    buf[n++] = char('0' + value % 10);
    value /= 10;
  } while (value > 0);
  for (int i = n; i < width; ++i) out.push_back('0');
  while (n > 0) out.push_back(buf[--n]);
}

inline void append2(char* p, int v) {
  p[0] = char('0' + v / 10);
  p[1] = char('0' + v % 10);
}

// ---- zones ----

bool parse_fixed_offset(std::string_view name, int& seconds) {
  // +HH:MM, -HHMM, +HH (also with a UTC / GMT prefix)
  if (name.starts_with("UTC") || name.starts_with("GMT")) name.remove_prefix(3);
  if (name.empty() || (name[0] != '+' && name[0] != '-')) return false;
  int sign = name[0] == '-' ? -1 : 1;
  name.remove_prefix(1);
  int digits[4] = {0, 0, 0, 0};
  int count = 0;
  for (char c : name) {
    if (c == ':') continue;
    if (c < '0' || c > '9' || count == 4) return false;
    digits[count++] = c - '0';
  }
  if (count != 2 && count != 4) return false;
  seconds = sign * ((digits[0] * 10 + digits[1]) * 3600 + (digits[2] * 10 + digits[3]) * 60);
  return true;
}

const cctz::time_zone& zone_for(const std::string& name) {
  static const cctz::time_zone utc = cctz::utc_time_zone();
  if (name.empty() || name == "UTC" || name == "Etc/UTC" || name == "Z") return utc;
  thread_local std::string cached_name;
  thread_local cctz::time_zone cached_zone;
  if (name != cached_name) {
    int offset = 0;
    if (parse_fixed_offset(name, offset)) cached_zone = cctz::fixed_time_zone(cctz::seconds(offset));
    else if (!cctz::load_time_zone(name, &cached_zone)) cached_zone = utc;
    cached_name = name;
  }
  return cached_zone;
}

struct Broken {
  int64_t year;
  int month, day, hour, minute, second;
  int64_t nanos;         // of the second
  int weekday;           // 1 = Monday
  int yearday;           // 1..366
  int offset_seconds;    // east of UTC
  const char* abbr;      // zone abbreviation
  const std::string* zone_name;
};

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_before_month(int64_t year, int month) {
  static const int cumulative[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  return cumulative[month - 1] + (month > 2 && is_leap(year) ? 1 : 0);
}

// Days since 1970-01-01 of a proleptic Gregorian date (inverse of civil_from_days).
int64_t days_from_civil(int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

// ISO weekday (1 = Monday) of a day count; 1970-01-01 was a Thursday.
int weekday_of_days(int64_t days) { return int(((days % 7) + 7 + 3) % 7) + 1; }

int jan1_weekday(int64_t year) { return weekday_of_days(days_from_civil(year, 1, 1)); }

int iso_weeks_in_year(int64_t year) {
  int wd = jan1_weekday(year);
  return (wd == 4 || (wd == 3 && is_leap(year))) ? 53 : 52;
}

void iso_week(const Broken& t, int64_t& week_year, int& week) {
  week = (t.yearday - t.weekday + 10) / 7;
  week_year = t.year;
  if (week < 1) {
    week_year = t.year - 1;
    week = iso_weeks_in_year(week_year);
  } else if (week > iso_weeks_in_year(t.year)) {
    week_year = t.year + 1;
    week = 1;
  }
}

Broken break_down(Timestamp ts, const std::string& zone_name) {
  Broken t{};
  int64_t seconds = ts.seconds();
  t.nanos = ts.subsec_nanos();
  t.zone_name = &zone_name;
  const cctz::time_zone& zone = zone_for(zone_name);
  auto tp = std::chrono::time_point_cast<cctz::seconds>(std::chrono::system_clock::from_time_t(0)) +
            cctz::seconds(seconds);
  const auto info = zone.lookup(tp);
  t.offset_seconds = info.offset;
  t.abbr = info.abbr;
  int64_t local = seconds + info.offset;
  int64_t days = floor_div(local, 86400);
  int64_t second_of_day = local - days * 86400;
  civil_from_days(days, t.year, t.month, t.day);
  t.hour = int(second_of_day / 3600);
  t.minute = int(second_of_day / 60 % 60);
  t.second = int(second_of_day % 60);
  t.weekday = weekday_of_days(days);
  t.yearday = days_before_month(t.year, t.month) + t.day;
  return t;
}

void append_offset(std::string& out, int offset_seconds, bool colon, bool with_minutes_always) {
  out.push_back(offset_seconds < 0 ? '-' : '+');
  int abs_offset = offset_seconds < 0 ? -offset_seconds : offset_seconds;
  append_padded(out, abs_offset / 3600, 2);
  int minutes = abs_offset / 60 % 60;
  if (with_minutes_always || minutes != 0) {
    if (colon) out.push_back(':');
    append_padded(out, minutes, 2);
  }
}

void append_token(std::string& out, const Token& token, const Broken& t) {
  const int n = token.count;
  switch (token.field) {
    case Field::Literal: out += token.literal; break;
    case Field::Era: out += t.year > 0 ? "AD" : "BC"; break;
    case Field::CenturyOfEra: append_padded(out, (t.year > 0 ? t.year : 1 - t.year) / 100, n); break;
    case Field::YearOfEra:
    case Field::Year:
    case Field::WeekYear: {
      int64_t year = t.year;
      if (token.field == Field::WeekYear) {
        int week = 0;
        iso_week(t, year, week);
      }
      if (token.field == Field::YearOfEra && year <= 0) year = 1 - year;
      if (n == 2) append_padded(out, ((year % 100) + 100) % 100, 2);
      else append_padded(out, year, n);
      break;
    }
    case Field::WeekOfWeekYear: {
      int64_t week_year = 0;
      int week = 0;
      iso_week(t, week_year, week);
      append_padded(out, week, n);
      break;
    }
    case Field::DayOfWeekNumber: append_padded(out, t.weekday, n); break;
    case Field::DayOfWeekText: out += n >= 4 ? kDayFull[t.weekday - 1] : kDayShort[t.weekday - 1]; break;
    case Field::DayOfYear: append_padded(out, t.yearday, n); break;
    case Field::MonthOfYear:
      if (n >= 4) out += kMonthFull[t.month - 1];
      else if (n == 3) out += kMonthShort[t.month - 1];
      else append_padded(out, t.month, n);
      break;
    case Field::DayOfMonth: append_padded(out, t.day, n); break;
    case Field::HalfDayOfDay: out += t.hour < 12 ? "AM" : "PM"; break;
    case Field::HourOfHalfDay: append_padded(out, t.hour % 12, n); break;
    case Field::ClockHourOfHalfDay: append_padded(out, t.hour % 12 == 0 ? 12 : t.hour % 12, n); break;
    case Field::HourOfDay: append_padded(out, t.hour, n); break;
    case Field::ClockHourOfDay: append_padded(out, t.hour == 0 ? 24 : t.hour, n); break;
    case Field::MinuteOfHour: append_padded(out, t.minute, n); break;
    case Field::SecondOfMinute: append_padded(out, t.second, n); break;
    case Field::FractionOfSecond: {
      char digits[10];
      std::snprintf(digits, sizeof digits, "%09lld", static_cast<long long>(t.nanos));
      for (int i = 0; i < n; ++i) out.push_back(i < 9 ? digits[i] : '0');
      break;
    }
    case Field::NanoOfSecond: append_padded(out, t.nanos, n); break;
    case Field::MilliOfDay:
      append_padded(out, (int64_t(t.hour) * 3600 + t.minute * 60 + t.second) * 1000 + t.nanos / 1000000, n);
      break;
    case Field::QuarterOfYear:
      if (n >= 4) {
        static const char* const names[] = {"1st quarter", "2nd quarter", "3rd quarter", "4th quarter"};
        out += names[(t.month - 1) / 3];
      } else if (n == 3) {
        out += "Q";
        append_padded(out, (t.month - 1) / 3 + 1, 1);
      } else {
        append_padded(out, (t.month - 1) / 3 + 1, n);
      }
      break;
    case Field::TimeZoneName:
      if (n >= 4) out += t.zone_name->empty() ? std::string("UTC") : *t.zone_name;
      else out += t.abbr;
      break;
    case Field::TimeZoneId: out += t.zone_name->empty() ? std::string("UTC") : *t.zone_name; break;
    case Field::OffsetJoda: append_offset(out, t.offset_seconds, n >= 2, true); break;
    case Field::OffsetJavaZ:
      if (n <= 3) append_offset(out, t.offset_seconds, false, true);
      else if (n == 4) {
        out += "GMT";
        if (t.offset_seconds != 0) append_offset(out, t.offset_seconds, true, true);
      } else if (t.offset_seconds == 0) out.push_back('Z');
      else append_offset(out, t.offset_seconds, true, true);
      break;
    case Field::OffsetJavaX:
    case Field::OffsetJavax:
      if (t.offset_seconds == 0 && token.field == Field::OffsetJavaX) {
        out.push_back('Z');
      } else if (n == 1) {
        append_offset(out, t.offset_seconds, false, false);
      } else {
        append_offset(out, t.offset_seconds, n == 3 || n == 5, true);
      }
      break;
    case Field::OffsetJavaO:
      out += "GMT";
      if (t.offset_seconds != 0) {
        int abs_offset = t.offset_seconds < 0 ? -t.offset_seconds : t.offset_seconds;
        out.push_back(t.offset_seconds < 0 ? '-' : '+');
        if (n >= 4) {
          append_padded(out, abs_offset / 3600, 2);
          out.push_back(':');
          append_padded(out, abs_offset / 60 % 60, 2);
        } else {
          append_padded(out, abs_offset / 3600, 1);
          if (abs_offset / 60 % 60 != 0) {
            out.push_back(':');
            append_padded(out, abs_offset / 60 % 60, 2);
          }
        }
      }
      break;
  }
}

// Shared scanner: letters map to fields through `classify`; quotes and other characters are literal.
template <typename Classify>
std::vector<Token> scan_pattern(std::string_view pattern, bool brackets_are_optional_sections, Classify classify) {
  std::vector<Token> tokens;
  for (DatePatternRun& run : lex_date_pattern(pattern, brackets_are_optional_sections)) {
    if (run.letter == 0) {
      tokens.push_back(Token{Field::Literal, 0, std::move(run.literal)});
      continue;
    }
    Field field;
    if (!classify(run.letter, run.count, field)) {
      throw std::invalid_argument(std::string("illegal pattern component `") + run.letter + "` in date pattern `" +
                                  std::string(pattern) + "`");
    }
    tokens.push_back(Token{field, run.count, {}});
  }
  return tokens;
}

}  // namespace

TimeFormat::TimeFormat() = default;
TimeFormat::TimeFormat(const TimeFormat&) = default;
TimeFormat::TimeFormat(TimeFormat&&) noexcept = default;
TimeFormat& TimeFormat::operator=(const TimeFormat&) = default;
TimeFormat& TimeFormat::operator=(TimeFormat&&) noexcept = default;
TimeFormat::~TimeFormat() = default;

TimeFormat TimeFormat::joda(std::string_view pattern) {
  TimeFormat format;
  format.tokens = scan_pattern(pattern, false, [](char c, int count, Field& field) {
    switch (c) {
      case 'G': field = Field::Era; return true;
      case 'C': field = Field::CenturyOfEra; return true;
      case 'Y': field = Field::YearOfEra; return true;
      case 'y': field = Field::Year; return true;
      case 'x': field = Field::WeekYear; return true;
      case 'w': field = Field::WeekOfWeekYear; return true;
      case 'e': field = Field::DayOfWeekNumber; return true;
      case 'E': field = Field::DayOfWeekText; return true;
      case 'D': field = Field::DayOfYear; return true;
      case 'M': field = Field::MonthOfYear; return true;
      case 'd': field = Field::DayOfMonth; return true;
      case 'a': field = Field::HalfDayOfDay; return true;
      case 'K': field = Field::HourOfHalfDay; return true;
      case 'h': field = Field::ClockHourOfHalfDay; return true;
      case 'H': field = Field::HourOfDay; return true;
      case 'k': field = Field::ClockHourOfDay; return true;
      case 'm': field = Field::MinuteOfHour; return true;
      case 's': field = Field::SecondOfMinute; return true;
      case 'S': field = Field::FractionOfSecond; return true;
      case 'z': field = Field::TimeZoneName; return true;
      case 'Z': field = count >= 3 ? Field::TimeZoneId : Field::OffsetJoda; return true;
      default: return false;
    }
  });
  format.millisecond_precision = true;
  return format;
}

TimeFormat TimeFormat::java(std::string_view pattern) {
  TimeFormat format;
  format.tokens = scan_pattern(pattern, true, [](char c, int count, Field& field) {
    switch (c) {
      case 'G': field = Field::Era; return true;
      case 'u': field = Field::Year; return true;
      case 'y': field = Field::YearOfEra; return true;
      case 'Y': field = Field::WeekYear; return true;
      case 'w': field = Field::WeekOfWeekYear; return true;
      case 'e':
      case 'c': field = count >= 3 ? Field::DayOfWeekText : Field::DayOfWeekNumber; return true;
      case 'E': field = Field::DayOfWeekText; return true;
      case 'D': field = Field::DayOfYear; return true;
      case 'M':
      case 'L': field = Field::MonthOfYear; return true;
      case 'd': field = Field::DayOfMonth; return true;
      case 'Q':
      case 'q': field = Field::QuarterOfYear; return true;
      case 'a': field = Field::HalfDayOfDay; return true;
      case 'K': field = Field::HourOfHalfDay; return true;
      case 'h': field = Field::ClockHourOfHalfDay; return true;
      case 'H': field = Field::HourOfDay; return true;
      case 'k': field = Field::ClockHourOfDay; return true;
      case 'm': field = Field::MinuteOfHour; return true;
      case 's': field = Field::SecondOfMinute; return true;
      case 'S': field = Field::FractionOfSecond; return true;
      case 'n': field = Field::NanoOfSecond; return true;
      case 'A': field = Field::MilliOfDay; return true;
      case 'V': field = Field::TimeZoneId; return true;
      case 'z': field = Field::TimeZoneName; return true;
      case 'Z': field = Field::OffsetJavaZ; return true;
      case 'X': field = Field::OffsetJavaX; return true;
      case 'x': field = Field::OffsetJavax; return true;
      case 'O': field = Field::OffsetJavaO; return true;
      default: return false;
    }
  });
  return format;
}

void TimeFormat::format(Timestamp ts, std::string& out) const {
  Broken t = break_down(ts, zone);
  if (millisecond_precision) t.nanos -= t.nanos % 1000000;
  for (const Token& token : tokens) append_token(out, token, t);
}

size_t format_iso8601(Timestamp ts, char* out) {
  const int64_t seconds = ts.seconds();
  const int64_t nanos = ts.subsec_nanos();
  // Consecutive events mostly share their second: keep its "YYYY-MM-DDTHH:MM:SS" text.
  thread_local int64_t cached_second = INT64_MIN;
  thread_local char cached_text[32];
  thread_local size_t cached_length = 0;
  if (seconds != cached_second) {
    int64_t days = floor_div(seconds, 86400);
    int64_t second_of_day = seconds - days * 86400;
    int64_t year = 0;
    int month = 0, day = 0;
    civil_from_days(days, year, month, day);
    std::string head;
    if (year > 9999) head.push_back('+');
    append_padded(head, year, 4);
    char rest[16];
    rest[0] = '-';
    append2(rest + 1, month);
    rest[3] = '-';
    append2(rest + 4, day);
    rest[6] = 'T';
    append2(rest + 7, int(second_of_day / 3600));
    rest[9] = ':';
    append2(rest + 10, int(second_of_day / 60 % 60));
    rest[12] = ':';
    append2(rest + 13, int(second_of_day % 60));
    head.append(rest, 15);
    cached_length = std::min(head.size(), sizeof cached_text);
    std::memcpy(cached_text, head.data(), cached_length);
    cached_second = seconds;
  }
  std::memcpy(out, cached_text, sizeof cached_text);  // fixed size: one inlined copy; the caller has the room
  char* p = out + cached_length;
  // Milliseconds always; 6 or 9 digits only when the finer parts are non-zero (java's ISO_INSTANT).
  if (nanos % 1000000 == 0) {
    const int millis = int(nanos / 1000000);
    p[0] = '.';
    p[1] = char('0' + millis / 100);
    p[2] = char('0' + millis / 10 % 10);
    p[3] = char('0' + millis % 10);
    p[4] = 'Z';
    return size_t(p + 5 - out);
  }
  const int digits = nanos % 1000 != 0 ? 9 : 6;
  int64_t scaled = nanos;
  for (int i = digits; i < 9; ++i) scaled /= 10;
  *p = '.';
  for (int i = digits; i >= 1; --i) {
    p[i] = char('0' + scaled % 10);
    scaled /= 10;
  }
  p += digits + 1;
  *p++ = 'Z';
  return size_t(p - out);
}

void format_iso8601(Timestamp ts, std::string& out) {
  char buf[kIso8601MaxLength];
  out.append(buf, format_iso8601(ts, buf));
}

}  // namespace sluice

namespace sluice {

namespace {

bool read_digits(std::string_view s, size_t& pos, int count, int64_t& value) {
  if (pos + size_t(count) > s.size()) return false;
  value = 0;
  for (int i = 0; i < count; ++i) {
    char c = s[pos + size_t(i)];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  pos += size_t(count);
  return true;
}

int days_in_month(int64_t year, int month) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

}  // namespace

bool parse_iso8601(std::string_view s, Timestamp& out) {
  size_t pos = 0;
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, nanos = 0;
  if (!read_digits(s, pos, 4, year)) return false;
  if (pos >= s.size() || s[pos++] != '-' || !read_digits(s, pos, 2, month)) return false;
  if (pos >= s.size() || s[pos++] != '-' || !read_digits(s, pos, 2, day)) return false;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, int(month))) return false;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == 't')) {
    ++pos;
    if (!read_digits(s, pos, 2, hour)) return false;
    if (pos >= s.size() || s[pos++] != ':' || !read_digits(s, pos, 2, minute)) return false;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!read_digits(s, pos, 2, second)) return false;
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          if (digits == 9) return false;
          nanos = nanos * 10 + (s[pos++] - '0');
          ++digits;
        }
        if (digits == 0) return false;
        for (int i = digits; i < 9; ++i) nanos *= 10;
      }
    }
    if (hour > 23 || minute > 59 || second > 59) return false;
  }
  int64_t local_seconds = days_from_civil(year, int(month), int(day)) * 86400 + hour * 3600 + minute * 60 + second;
  int64_t offset = 0;
  if (pos < s.size()) {
    std::string_view zone = s.substr(pos);
    if (zone == "Z" || zone == "z") {
      offset = 0;
    } else if (zone[0] == '+' || zone[0] == '-') {
      int sign = zone[0] == '-' ? -1 : 1;
      size_t zpos = 1;
      int64_t hh = 0, mm = 0, ss = 0;
      if (!read_digits(zone, zpos, 2, hh)) return false;
      if (zpos < zone.size()) {
        bool colon = zone[zpos] == ':';
        if (colon) ++zpos;
        if (!read_digits(zone, zpos, 2, mm)) return false;
        if (zpos < zone.size()) {
          if (colon && zone[zpos++] != ':') return false;
          if (!read_digits(zone, zpos, 2, ss)) return false;
        }
        if (zpos != zone.size()) return false;
      }
      if (hh > 18 || mm > 59 || ss > 59) return false;
      offset = sign * (hh * 3600 + mm * 60 + ss);
    } else {
      cctz::time_zone tz;
      if (!cctz::load_time_zone(std::string(zone), &tz)) return false;
      const auto civil = cctz::civil_second(year, int(month), int(day), int(hour), int(minute), int(second));
      const auto tp = tz.lookup(civil).pre;
      out.nanos = int64_t(tp.time_since_epoch().count()) * 1000000000LL + nanos;
      return true;
    }
  }
  out.nanos = (local_seconds - offset) * 1000000000LL + nanos;
  return true;
}

std::vector<DatePatternRun> lex_date_pattern(std::string_view pattern, bool skip_brackets) {
  std::vector<DatePatternRun> runs;
  auto add_literal = [&](std::string_view text) {
    if (!runs.empty() && runs.back().letter == 0) runs.back().literal.append(text);
    else runs.push_back(DatePatternRun{0, 0, std::string(text)});
  };
  size_t i = 0;
  while (i < pattern.size()) {
    char c = pattern[i];
    if (c == '\'') {
      if (i + 1 < pattern.size() && pattern[i + 1] == '\'') {
        add_literal("'");
        i += 2;
        continue;
      }
      std::string text;
      size_t j = i + 1;
      bool closed = false;
      while (j < pattern.size()) {
        if (pattern[j] == '\'') {
          if (j + 1 < pattern.size() && pattern[j + 1] == '\'') {
            text.push_back('\'');
            j += 2;
            continue;
          }
          closed = true;
          break;
        }
        text.push_back(pattern[j++]);
      }
      if (!closed) throw std::invalid_argument("unterminated quote in date pattern `" + std::string(pattern) + "`");
      add_literal(text);
      i = j + 1;
      continue;
    }
    if (skip_brackets && (c == '[' || c == ']')) {
      ++i;  // optional sections always print when formatting
      continue;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      size_t j = i;
      while (j < pattern.size() && pattern[j] == c) ++j;
      runs.push_back(DatePatternRun{c, int(j - i), {}});
      i = j;
      continue;
    }
    add_literal(std::string_view(&pattern[i], 1));
    ++i;
  }
  return runs;
}

}  // namespace sluice
