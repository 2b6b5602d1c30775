// Joda-compatible date parsing for the date filter. The element semantics follow Joda's
// DateTimeFormat parsers as Logstash uses them: sequential, no backtracking, numbers greedy up
// to a per-field digit limit, texts case-insensitive (as written, lower or upper case), the
// whole input consumed. Fields are then validated strictly and combined into an instant.
#include "plugins/filters/date/date_parser.h"

#include <cctz/civil_time.h>

#include "core/time_format.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace sluice::date {

namespace {

constexpr LocaleNames kEnglish = {
    {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
     "December"},
    {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
    {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"},
    {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"},
    "AM",
    "PM",
    {"BC", "AD"},
};

std::atomic<NowFunction> test_clock{nullptr};
thread_local uint64_t thread_zone_conversions = 0;
std::atomic<size_t> next_cache_slot{0};

// Milliseconds precision, as Logstash's date filter (Joda) keeps.
constexpr int64_t kNanosPerMilli = 1000000;
constexpr int64_t kMaxSeconds = 9223372036LL;  // Timestamp holds int64 nanoseconds

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int64_t year, int month) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t days, int64_t& year, int& month, int& day) {
  days += 719468;
  const int64_t era = floor_div(days, 146097);
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  day = int(doy - (153 * mp + 2) / 5 + 1);
  month = int(mp < 10 ? mp + 3 : mp - 9);
  year = yoe + era * 400 + (month <= 2 ? 1 : 0);
}

// ISO day of week (1 = Monday) of a day number.
int iso_weekday(int64_t days) {  // 1970-01-01 was a Thursday
  return int((days + 3) - floor_div(days + 3, 7) * 7) + 1;
}

// Day number of Monday of ISO week 1 of a week-based year.
int64_t iso_week_one_monday(int64_t week_year) {
  const int64_t jan4 = days_from_civil(week_year, 1, 4);
  return jan4 - (iso_weekday(jan4) - 1);
}

int iso_weeks_in_year(int64_t week_year) {
  return int((iso_week_one_monday(week_year + 1) - iso_week_one_monday(week_year)) / 7);
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; }
char ascii_upper(char c) { return c >= 'a' && c <= 'z' ? char(c - 32) : c; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// Joda's text fields accept a name as written, all lower case or all upper case.
bool text_matches(std::string_view input, std::string_view name) {
  if (input.size() != name.size()) return false;
  bool exact = true, lower = true, upper = true;
  for (size_t i = 0; i < name.size(); ++i) {
    exact = exact && input[i] == name[i];
    lower = lower && input[i] == ascii_lower(name[i]);
    upper = upper && input[i] == ascii_upper(name[i]);
  }
  return exact || lower || upper;
}

// The lower-cased first byte and the length of each name of a table (full names, then short
// ones), made once per thread: a month or weekday is looked for in every syslog date, and the
// first byte rules out most names before their text is compared.
struct NameDigest {
  const char* const* full = nullptr;
  const char* const* shorts = nullptr;
  char first[2 * 12] = {};
  uint8_t length[2 * 12] = {};
  size_t longest = 0;
  // The last text looked up (up to the longest name's length) and its answer: dates in a stream
  // mostly repeat their month.
  char last_text[32] = {};
  size_t last_size = SIZE_MAX;
  int last_best = -1;
  size_t last_len = 0;
};

NameDigest& digest_of(const char* const* full, const char* const* shorts, int count) {
  thread_local std::vector<NameDigest> digests;  // one per table in use: a handful
  for (NameDigest& d : digests)
    if (d.full == full && d.shorts == shorts) return d;
  NameDigest& d = digests.emplace_back();
  d.full = full;
  d.shorts = shorts;
  for (int i = 0; i < count; ++i) {
    d.first[i] = ascii_lower(full[i][0]);
    d.length[i] = uint8_t(std::min<size_t>(std::strlen(full[i]), 255));
    d.first[count + i] = ascii_lower(shorts[i][0]);
    d.length[count + i] = uint8_t(std::min<size_t>(std::strlen(shorts[i]), 255));
    d.longest = std::max({d.longest, size_t(d.length[i]), size_t(d.length[count + i])});
  }
  return d;
}

int match_name_at(std::string_view text, size_t& pos, const char* const* full, const char* const* shorts, int count,
                  const NameDigest& digest);

// Longest name of `names` (full and short forms) at text[pos]; returns the index or -1.
int match_names(std::string_view text, size_t& pos, const char* const* full, const char* const* shorts, int count) {
  if (pos >= text.size() || count > 12) return -1;  // tables hold at most 12 names (months)
  NameDigest& digest = digest_of(full, shorts, count);
  // The answer depends only on the next `longest` bytes.
  const size_t window = std::min(text.size() - pos, digest.longest);
  const bool memo = digest.longest <= sizeof digest.last_text;
  if (memo && window == digest.last_size && std::memcmp(digest.last_text, text.data() + pos, window) == 0) {
    pos += digest.last_len;
    return digest.last_best;
  }
  const size_t start = pos;
  const int best = match_name_at(text, pos, full, shorts, count, digest);
  if (memo) {
    std::memcpy(digest.last_text, text.data() + start, window);
    digest.last_size = window;
    digest.last_best = best;
    digest.last_len = pos - start;
  }
  return best;
}

int match_name_at(std::string_view text, size_t& pos, const char* const* full, const char* const* shorts, int count,
                  const NameDigest& digest) {
  // text_matches takes a name as written, lower or upper case: the first bytes agree lower-cased.
  const char first = ascii_lower(text[pos]);
  int best = -1;
  size_t best_len = 0;
  for (int k = 0; k < 2 * count; ++k) {
    const size_t len = digest.length[k];
    if (digest.first[k] != first || len <= best_len || pos + len > text.size()) continue;
    const int i = k < count ? k : k - count;
    if (text_matches(text.substr(pos, len), k < count ? full[i] : shorts[i])) {
      best = i;
      best_len = len;
    }
  }
  if (best >= 0) pos += best_len;
  return best;
}

// Parses a fixed offset as Joda's DateTimeZone.forID and offset fields do: +HH, +HHMM, +HH:MM(:SS).
bool parse_offset_text(std::string_view text, size_t& pos, int& offset_seconds) {
  if (pos + 1 >= text.size() || (text[pos] != '+' && text[pos] != '-')) return false;
  const bool negative = text[pos] == '-';
  size_t p = pos + 1;
  if (p + 2 > text.size() || !is_digit(text[p]) || !is_digit(text[p + 1])) return false;
  int hours = (text[p] - '0') * 10 + (text[p + 1] - '0');
  if (hours > 23) return false;
  p += 2;
  int total = hours * 3600;
  if (p < text.size() && (text[p] == ':' || is_digit(text[p]))) {
    const bool separators = text[p] == ':';
    if (separators) ++p;
    if (p + 2 > text.size() || !is_digit(text[p]) || !is_digit(text[p + 1])) return false;
    int minutes = (text[p] - '0') * 10 + (text[p + 1] - '0');
    if (minutes > 59) return false;
    p += 2;
    total += minutes * 60;
    size_t q = p;
    if (separators && q < text.size() && text[q] == ':') ++q;
    if (q + 2 <= text.size() && (separators ? q > p : true) && is_digit(text[q]) && is_digit(text[q + 1])) {
      int seconds = (text[q] - '0') * 10 + (text[q + 1] - '0');
      if (seconds > 59) return false;
      total += seconds;
      p = q + 2;
    }
  }
  offset_seconds = negative ? -total : total;
  pos = p;
  return true;
}

// Joda's default time zone abbreviations (DateTimeUtils.getDefaultTimeZoneNames): they name
// zones, not fixed offsets, so "EST" in July gets daylight time.
struct ZoneAbbreviation {
  const char* name;
  const char* zone;
};
constexpr ZoneAbbreviation kZoneAbbreviations[] = {
    {"UT", "UTC"},
    {"UTC", "UTC"},
    {"GMT", "UTC"},
    {"EST", "America/New_York"},
    {"EDT", "America/New_York"},
    {"CST", "America/Chicago"},
    {"CDT", "America/Chicago"},
    {"MST", "America/Denver"},
    {"MDT", "America/Denver"},
    {"PST", "America/Los_Angeles"},
    {"PDT", "America/Los_Angeles"},
};

}  // namespace

// One compiled Joda element.
struct DateFormat::Element {
  enum class Op : uint8_t {
    Literal,
    Era,
    Year,          // y / Y: signed digits up to max_digits
    TwoDigitYear,  // yy: pivoted; lenient accepts a full year
    WeekYear,      // x
    WeekOfWeekYear,
    DayOfWeekNumber,
    DayOfWeekText,
    DayOfYear,
    MonthNumber,
    MonthText,
    DayOfMonth,
    HalfDay,
    HourOfHalfDay,       // K
    ClockHourOfHalfDay,  // h
    HourOfDay,           // H
    ClockHourOfDay,      // k
    Minute,
    Second,
    Fraction,
    ZoneName,  // z: abbreviations
    ZoneId,    // ZZZ
    Offset,    // Z / ZZ
  };
  Op op = Op::Literal;
  int max_digits = 2;
  bool lenient = true;  // TwoDigitYear
  bool is_signed = false;
  int pivot = 0;  // TwoDigitYear
  std::string literal;
};

namespace {

using Element = DateFormat::Element;
using Op = DateFormat::Element::Op;

bool numeric_letter(char c, int count) {
  switch (c) {
    case 'C': case 'x': case 'y': case 'Y': case 'd': case 'h': case 'H': case 'm': case 's': case 'S':
    case 'e': case 'D': case 'F': case 'w': case 'W': case 'k': case 'K':
      return true;
    case 'M':
      return count <= 2;
    default:
      return false;
  }
}

using RawToken = DatePatternRun;

std::vector<RawToken> scan_joda(std::string_view pattern) { return lex_date_pattern(pattern); }

int current_year() {
  const NowFunction clock = test_clock.load(std::memory_order_relaxed);
  const Timestamp now = clock ? clock() : Timestamp::now();
  int64_t year;
  int month, day;
  civil_from_days(floor_div(now.seconds(), 86400), year, month, day);
  return int(year);
}

std::vector<Element> compile_joda(std::string_view pattern) {
  std::vector<RawToken> tokens = scan_joda(pattern);
  std::vector<Element> elements;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const RawToken& token = tokens[t];
    Element e;
    if (token.letter == 0) {
      e.op = Op::Literal;
      e.literal = token.literal;
      elements.push_back(std::move(e));
      continue;
    }
    const int n = token.count;
    const bool next_numeric =
        t + 1 < tokens.size() && tokens[t + 1].letter != 0 && numeric_letter(tokens[t + 1].letter, tokens[t + 1].count);
    switch (token.letter) {
      case 'G': e.op = Op::Era; break;
      case 'y':
      case 'Y':
      case 'x':
        if (n == 2) {
          e.op = token.letter == 'x' ? Op::WeekYear : Op::TwoDigitYear;
          e.lenient = !next_numeric;
          e.pivot = current_year() - 30;
          if (token.letter == 'x') {  // a two-digit week year: treated like a year
            e.op = Op::TwoDigitYear;
          }
        } else {
          e.op = token.letter == 'x' ? Op::WeekYear : Op::Year;
          e.max_digits = next_numeric ? n : 9;
          e.is_signed = token.letter != 'Y';
        }
        break;
      case 'w': e.op = Op::WeekOfWeekYear; break;
      case 'e': e.op = Op::DayOfWeekNumber; e.max_digits = 1; break;
      case 'E': e.op = Op::DayOfWeekText; break;
      case 'D': e.op = Op::DayOfYear; e.max_digits = 3; break;
      case 'M': e.op = n >= 3 ? Op::MonthText : Op::MonthNumber; break;
      case 'd': e.op = Op::DayOfMonth; break;
      case 'a': e.op = Op::HalfDay; break;
      case 'K': e.op = Op::HourOfHalfDay; break;
      case 'h': e.op = Op::ClockHourOfHalfDay; break;
      case 'H': e.op = Op::HourOfDay; break;
      case 'k': e.op = Op::ClockHourOfDay; break;
      case 'm': e.op = Op::Minute; break;
      case 's': e.op = Op::Second; break;
      case 'S': e.op = Op::Fraction; e.max_digits = 9; break;
      case 'z': e.op = Op::ZoneName; break;
      case 'Z': e.op = n >= 3 ? Op::ZoneId : Op::Offset; break;
      default:
        throw std::invalid_argument(std::string("Illegal pattern component: ") + std::string(n, token.letter) +
                                    " in date pattern `" + std::string(pattern) + "`");
    }
    elements.push_back(std::move(e));
  }
  return elements;
}

// What one parse collected, before validation.
struct Fields {
  int64_t year = 2000;  // Joda parses with a default year of 2000 (a leap year)
  bool has_year = false;
  int era = 1;  // 1 = AD
  int64_t week_year = 0;
  bool has_week_year = false;
  int week = 0;
  int day_of_week = 0;  // 1 = Monday
  int day_of_year = 0;
  int month = 1;
  bool has_month = false;
  int day = 1;
  bool has_day = false;
  int half_day = -1;  // 0 = AM, 1 = PM
  int hour_of_day = -1;
  int clock_hour_of_day = -1;
  int hour_of_half_day = -1;
  int clock_hour_of_half_day = -1;
  int minute = 0;
  int second = 0;
  int64_t millis = 0;
  bool has_offset = false;
  int offset_seconds = 0;
  const cctz::time_zone* zone = nullptr;  // from z / ZZZ
};

// Reads up to max_digits digits (with a sign when allowed), Joda's NumberFormatter.
bool read_number(std::string_view text, size_t& pos, int max_digits, bool allow_sign, int64_t& value) {
  size_t p = pos;
  bool negative = false;
  if (allow_sign && p < text.size() && (text[p] == '-' || text[p] == '+')) {
    if (p + 1 >= text.size() || !is_digit(text[p + 1])) return false;
    negative = text[p] == '-';
    ++p;
  }
  const size_t start = p;
  int64_t v = 0;
  while (p < text.size() && int(p - start) < max_digits && is_digit(text[p])) v = v * 10 + (text[p++] - '0');
  if (p == start) return false;
  value = negative ? -v : v;
  pos = p;
  return true;
}

bool read_small(std::string_view text, size_t& pos, int max_digits, int& value) {
  int64_t v;
  if (!read_number(text, pos, max_digits, false, v)) return false;
  value = int(v);
  return true;
}

bool parse_two_digit_year(const Element& e, std::string_view text, size_t& pos, Fields& f) {
  if (e.lenient) {
    size_t p = pos;
    bool sign = false;
    if (p < text.size() && (text[p] == '-' || text[p] == '+')) {
      sign = true;
    }
    size_t digits_start = sign ? p + 1 : p;
    size_t q = digits_start;
    while (q < text.size() && is_digit(text[q]) && q - digits_start < 9) ++q;
    if (q == digits_start) return false;
    if (sign || q - digits_start != 2) {
      int64_t v;
      if (!read_number(text, p, 9, true, v)) return false;
      f.year = v;
      f.has_year = true;
      pos = p;
      return true;
    }
  }
  if (pos + 2 > text.size() || !is_digit(text[pos]) || !is_digit(text[pos + 1])) return false;
  int year = (text[pos] - '0') * 10 + (text[pos + 1] - '0');
  const int low = e.pivot - 50;
  const int t = low >= 0 ? low % 100 : 99 + ((low + 1) % 100);
  f.year = year + low + (year < t ? 100 : 0) - t;
  f.has_year = true;
  pos += 2;
  return true;
}

bool parse_elements(const std::vector<Element>& elements, const LocaleNames& names, std::string_view text, Fields& f) {
  size_t pos = 0;
  for (const Element& e : elements) {
    switch (e.op) {
      case Op::Literal: {
        if (pos + e.literal.size() > text.size() ||
            !equals_ignore_case(text.substr(pos, e.literal.size()), e.literal)) {
          return false;
        }
        pos += e.literal.size();
        break;
      }
      case Op::Era: {
        const char* const ce[] = {"BCE", "CE"};
        int era = match_names(text, pos, ce, names.eras, 2);
        if (era < 0) return false;
        f.era = era;
        break;
      }
      case Op::Year: {
        int64_t v;
        if (!read_number(text, pos, e.max_digits, e.is_signed, v)) return false;
        f.year = v;
        f.has_year = true;
        break;
      }
      case Op::TwoDigitYear:
        if (!parse_two_digit_year(e, text, pos, f)) return false;
        break;
      case Op::WeekYear: {
        int64_t v;
        if (!read_number(text, pos, e.max_digits, true, v)) return false;
        f.week_year = v;
        f.has_week_year = true;
        break;
      }
      case Op::WeekOfWeekYear:
        if (!read_small(text, pos, 2, f.week)) return false;
        break;
      case Op::DayOfWeekNumber:
        if (!read_small(text, pos, 1, f.day_of_week)) return false;
        break;
      case Op::DayOfWeekText: {
        int d = match_names(text, pos, names.weekdays_full, names.weekdays_short, 7);
        if (d < 0) return false;
        f.day_of_week = d + 1;
        break;
      }
      case Op::DayOfYear:
        if (!read_small(text, pos, 3, f.day_of_year)) return false;
        break;
      case Op::MonthNumber:
        if (!read_small(text, pos, 2, f.month)) return false;
        f.has_month = true;
        break;
      case Op::MonthText: {
        int m = match_names(text, pos, names.months_full, names.months_short, 12);
        if (m < 0) return false;
        f.month = m + 1;
        f.has_month = true;
        break;
      }
      case Op::DayOfMonth:
        if (!read_small(text, pos, 2, f.day)) return false;
        f.has_day = true;
        break;
      case Op::HalfDay: {
        const char* const am_pm[] = {names.am, names.pm};
        int h = match_names(text, pos, am_pm, am_pm, 2);
        if (h < 0) return false;
        f.half_day = h;
        break;
      }
      case Op::HourOfHalfDay:
        if (!read_small(text, pos, 2, f.hour_of_half_day)) return false;
        break;
      case Op::ClockHourOfHalfDay:
        if (!read_small(text, pos, 2, f.clock_hour_of_half_day)) return false;
        break;
      case Op::HourOfDay:
        if (!read_small(text, pos, 2, f.hour_of_day)) return false;
        break;
      case Op::ClockHourOfDay:
        if (!read_small(text, pos, 2, f.clock_hour_of_day)) return false;
        break;
      case Op::Minute:
        if (!read_small(text, pos, 2, f.minute)) return false;
        break;
      case Op::Second:
        if (!read_small(text, pos, 2, f.second)) return false;
        break;
      case Op::Fraction: {
        // Up to 9 digits; Joda keeps milliseconds (the rest is truncated).
        const size_t start = pos;
        int64_t millis = 0;
        while (pos < text.size() && pos - start < size_t(e.max_digits) && is_digit(text[pos])) {
          if (pos - start < 3) millis = millis * 10 + (text[pos] - '0');
          ++pos;
        }
        const size_t digits = pos - start;
        if (digits == 0) return false;
        for (size_t k = digits; k < 3; ++k) millis *= 10;
        f.millis = millis;
        break;
      }
      case Op::ZoneName: {
        const ZoneAbbreviation* best = nullptr;
        size_t best_len = 0;
        for (const ZoneAbbreviation& z : kZoneAbbreviations) {
          size_t len = std::strlen(z.name);
          if (len > best_len && text.substr(pos, len) == z.name) {
            best = &z;
            best_len = len;
          }
        }
        if (!best) return false;
        f.zone = cached_zone(best->zone);
        if (!f.zone) return false;
        pos += best_len;
        break;
      }
      case Op::ZoneId: {
        size_t end = pos;
        while (end < text.size()) {
          char c = text[end];
          if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '/' || c == '_' || c == '-' ||
              c == '+') {
            ++end;
          } else {
            break;
          }
        }
        if (end == pos) return false;
        f.zone = cached_zone(text.substr(pos, end - pos));
        if (!f.zone) return false;
        pos = end;
        break;
      }
      case Op::Offset: {
        if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
          f.has_offset = true;
          f.offset_seconds = 0;
          ++pos;
          break;
        }
        if (!parse_offset_text(text, pos, f.offset_seconds)) return false;
        f.has_offset = true;
        break;
      }
    }
  }
  return pos == text.size();
}

// Validates the fields and computes local days and seconds of day (Joda's strict field checks).
bool resolve_local(Fields& f, int64_t& local_days, int& second_of_day) {
  if (f.era == 0) f.year = 1 - f.year;  // BC years of era
  if (f.year < -999999999 || f.year > 999999999) return false;
  int64_t days;
  if (f.has_week_year || f.week > 0) {
    const int64_t week_year = f.has_week_year ? f.week_year : f.year;
    const int week = f.week > 0 ? f.week : 1;
    if (week > iso_weeks_in_year(week_year)) return false;
    const int dow = f.day_of_week > 0 ? f.day_of_week : 1;
    if (dow > 7) return false;
    days = iso_week_one_monday(week_year) + (week - 1) * 7 + (dow - 1);
  } else {
    if (f.month < 1 || f.month > 12) return false;
    if (f.day_of_year > 0 && !f.has_month && !f.has_day) {
      if (f.day_of_year > (is_leap(f.year) ? 366 : 365)) return false;
      days = days_from_civil(f.year, 1, 1) + f.day_of_year - 1;
    } else {
      if (f.day < 1 || f.day > days_in_month(f.year, f.month)) return false;
      days = days_from_civil(f.year, f.month, f.day);
    }
    if (f.day_of_week > 0) {  // Joda sets the weekday last: it moves the date within its week
      if (f.day_of_week > 7) return false;
      days += f.day_of_week - iso_weekday(days);
    }
  }
  int hour = 0;
  if (f.hour_of_day >= 0) {
    if (f.hour_of_day > 23) return false;
    hour = f.hour_of_day;
  } else if (f.clock_hour_of_day >= 0) {
    if (f.clock_hour_of_day < 1 || f.clock_hour_of_day > 24) return false;
    hour = f.clock_hour_of_day % 24;
  } else if (f.clock_hour_of_half_day >= 0 || f.hour_of_half_day >= 0) {
    int h;
    if (f.clock_hour_of_half_day >= 0) {
      if (f.clock_hour_of_half_day < 1 || f.clock_hour_of_half_day > 12) return false;
      h = f.clock_hour_of_half_day % 12;
    } else {
      if (f.hour_of_half_day > 11) return false;
      h = f.hour_of_half_day;
    }
    hour = h + (f.half_day == 1 ? 12 : 0);
  } else if (f.half_day == 1) {
    hour = 12;
  }
  if (f.minute > 59 || f.second > 59) return false;
  local_days = days;
  second_of_day = hour * 3600 + f.minute * 60 + f.second;
  return true;
}

// The per-thread "last second" cache of one format: the zone conversion of a local second.
struct SecondCache {
  bool valid = false;
  int64_t local_seconds = 0;
  cctz::time_zone zone;
  int64_t utc_seconds = 0;
};

SecondCache& cache_for(size_t slot) {
  thread_local std::vector<SecondCache> caches;
  if (slot >= caches.size()) caches.resize(slot + 1);
  return caches[slot];
}

// Local civil second in `zone` to UTC seconds, as Joda does: an overlap takes the earlier
// instant, a gap is an error ("Illegal instant due to time zone offset transition").
bool local_to_utc(int64_t local_seconds, const cctz::time_zone& zone, size_t cache_slot, int64_t& utc_seconds) {
  SecondCache& cache = cache_for(cache_slot);
  if (cache.valid && cache.local_seconds == local_seconds && cache.zone == zone) {
    utc_seconds = cache.utc_seconds;
    return true;
  }
  ++thread_zone_conversions;
  int64_t year;
  int month, day;
  const int64_t days = floor_div(local_seconds, 86400);
  const int64_t sod = local_seconds - days * 86400;
  civil_from_days(days, year, month, day);
  const cctz::civil_second civil(year, month, day, int(sod / 3600), int(sod % 3600 / 60), int(sod % 60));
  const cctz::time_zone::civil_lookup lookup = zone.lookup(civil);
  if (lookup.kind == cctz::time_zone::civil_lookup::SKIPPED) return false;
  utc_seconds = std::chrono::duration_cast<std::chrono::seconds>(lookup.pre.time_since_epoch()).count();
  cache.valid = true;
  cache.local_seconds = local_seconds;
  cache.zone = zone;
  cache.utc_seconds = utc_seconds;
  return true;
}

bool make_timestamp(int64_t seconds, int64_t millis, Timestamp& out) {
  if (seconds > kMaxSeconds - 1 || seconds < -kMaxSeconds + 1) return false;
  out.nanos = seconds * 1000000000LL + millis * kNanosPerMilli;
  return true;
}

bool parse_hex(std::string_view text, int64_t& value) {
  uint64_t v = 0;
  if (text.empty()) return false;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = (v << 4) | uint64_t(d);
  }
  if (v > uint64_t(INT64_MAX)) return false;
  value = int64_t(v);
  return true;
}

// Java's Long.parseLong: optional sign, digits, no overflow.
bool parse_java_long(std::string_view text, int64_t& value) {
  size_t i = 0;
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    i = 1;
  }
  if (i >= text.size()) return false;
  uint64_t v = 0;
  for (; i < text.size(); ++i) {
    if (!is_digit(text[i])) return false;
    v = v * 10 + uint64_t(text[i] - '0');
    if (v > uint64_t(INT64_MAX)) return false;
  }
  value = negative ? -int64_t(v) : int64_t(v);
  return true;
}

constexpr int64_t kMaxEpochSeconds = 2147483647;  // Logstash rejects UNIX values past Integer.MAX_VALUE

}  // namespace

const LocaleNames& english_names() { return kEnglish; }

const LocaleNames* locale_names(std::string_view tag) {
  if (tag.empty()) return &kEnglish;
  std::string_view language = tag.substr(0, tag.find_first_of("-_"));
  if (equals_ignore_case(language, "en") || equals_ignore_case(language, "root") ||
      equals_ignore_case(tag, "und")) {
    return &kEnglish;
  }
  return nullptr;
}

bool load_zone(std::string_view id, cctz::time_zone& out) {
  if (id.empty()) return false;
  if (id == "UTC" || id == "Z" || id == "GMT" || id == "UT") {
    out = cctz::utc_time_zone();
    return true;
  }
  if (id[0] == '+' || id[0] == '-') {
    size_t pos = 0;
    int offset = 0;
    if (!parse_offset_text(id, pos, offset) || pos != id.size()) return false;
    out = cctz::fixed_time_zone(std::chrono::seconds(offset));
    return true;
  }
  // Only names that look like zone ids reach the file system.
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '/' || c == '_' ||
                    c == '-' || c == '+';
    if (!ok) return false;
  }
  if (id.find("..") != std::string_view::npos || id[0] == '/') return false;
  return cctz::load_time_zone(std::string(id), &out);
}

const cctz::time_zone* cached_zone(std::string_view id) {
  struct Entry {
    bool ok;
    cctz::time_zone zone;
  };
  thread_local std::unordered_map<std::string, Entry> cache;
  thread_local std::string key;
  key.assign(id.data(), id.size());
  auto it = cache.find(key);
  if (it == cache.end()) {
    if (cache.size() > 1024) cache.clear();  // bounded: ids come from events
    Entry entry;
    entry.ok = load_zone(id, entry.zone);
    it = cache.emplace(key, entry).first;
  }
  return it->second.ok ? &it->second.zone : nullptr;
}

DateFormat::~DateFormat() = default;

std::unique_ptr<DateFormat> DateFormat::compile(std::string_view format, const cctz::time_zone& zone,
                                                const LocaleNames& names) {
  std::unique_ptr<DateFormat> f(new DateFormat());
  f->source_ = std::string(format);
  f->zone_ = zone;
  f->names_ = &names;
  f->cache_slot_ = next_cache_slot.fetch_add(1, std::memory_order_relaxed);
  if (format == "ISO8601") {
    f->kind_ = Kind::Iso8601;
    const char* almost[] = {"yyyy-MM-dd HH:mm:ss.SSSZ", "yyyy-MM-dd HH:mm:ss.SSS", "yyyy-MM-dd HH:mm:ss,SSSZ",
                            "yyyy-MM-dd HH:mm:ss,SSS"};
    for (int i = 0; i < 4; ++i) f->almost_iso_elements_[i] = compile_joda(almost[i]);
  } else if (format == "UNIX") {
    f->kind_ = Kind::Unix;
  } else if (format == "UNIX_MS") {
    f->kind_ = Kind::UnixMillis;
  } else if (format == "TAI64N") {
    f->kind_ = Kind::Tai64n;
  } else {
    f->kind_ = Kind::Joda;
    f->elements_ = compile_joda(format);
    // As Logstash decides: any y or Y in the pattern text means it has a year.
    f->has_year_ = format.find_first_of("yY") != std::string_view::npos;
  }
  return f;
}

namespace {

// Now's year and month where the date is (its offset, else its zone), for a date without a year.
// Syslog dates have none: the answer is kept per thread for the current second and zone, read
// from the coarse clock (a plain memory read, no time source, at a few ms' precision), since a
// zone conversion costs more than the rest of such a date's parse.
void current_year_and_month(bool has_offset, int offset_seconds, const cctz::time_zone& zone, int64_t& year,
                            int& month) {
  const int64_t now_seconds = current_second();
  int day;
  if (has_offset) {
    civil_from_days(floor_div(now_seconds + offset_seconds, 86400), year, month, day);
    return;
  }
  struct Guess {
    bool valid = false;
    int64_t second = 0;
    cctz::time_zone zone;
    int64_t year = 0;
    int month = 0;
  };
  thread_local Guess guess;
  if (!guess.valid || guess.second != now_seconds || guess.zone != zone) {
    const cctz::civil_second civil_now =
        cctz::convert(std::chrono::system_clock::time_point(std::chrono::seconds(now_seconds)), zone);
    guess = {true, now_seconds, zone, civil_now.year(), civil_now.month()};
  }
  year = guess.year;
  month = guess.month;
}

}  // namespace

bool DateFormat::parse_joda(const std::vector<Element>& elements, bool has_year, std::string_view text,
                            const cctz::time_zone& zone, Timestamp& out) const {
  Fields f;
  if (!parse_elements(elements, *names_, text, f)) return false;
  const cctz::time_zone& effective_zone = f.zone ? *f.zone : zone;
  if (!has_year) {
    // Logstash guesses the year from now: a December date seen in January is last year's,
    // a January date seen in December next year's.
    int64_t now_year;
    int now_month;
    current_year_and_month(f.has_offset, f.offset_seconds, effective_zone, now_year, now_month);
    int64_t year = now_year;
    if (f.month == 12 && now_month == 1) year = now_year - 1;
    else if (f.month == 1 && now_month == 12) year = now_year + 1;
    f.year = year;
    f.era = 1;
    if (f.month == 2 && f.day == 29 && !is_leap(year)) f.day = 28;  // Joda's withYear clamps
  }
  int64_t local_days;
  int second_of_day;
  if (!resolve_local(f, local_days, second_of_day)) return false;
  const int64_t local_seconds = local_days * 86400 + second_of_day;
  int64_t utc_seconds;
  if (f.has_offset) {
    utc_seconds = local_seconds - f.offset_seconds;
  } else if (!local_to_utc(local_seconds, effective_zone, cache_slot_, utc_seconds)) {
    return false;
  }
  return make_timestamp(utc_seconds, f.millis, out);
}

// Joda's ISODateTimeFormat.dateTimeParser: date-opt-time or a time alone ("T10:00").
bool DateFormat::parse_iso8601(std::string_view s, const cctz::time_zone& zone, Timestamp& out) const {
  size_t pos = 0;
  Fields f;
  f.year = 1970;
  auto two = [&](int& value) {
    if (pos + 2 > s.size() || !is_digit(s[pos]) || !is_digit(s[pos + 1])) return false;
    value = (s[pos] - '0') * 10 + (s[pos + 1] - '0');
    pos += 2;
    return true;
  };
  bool time_follows = false;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == 't')) {
    time_follows = true;
    ++pos;
  } else {
    // yyyy: 4 to 9 digits, signed.
    size_t start = pos;
    if (pos < s.size() && (s[pos] == '-' || s[pos] == '+')) ++pos;
    size_t digits_start = pos;
    while (pos < s.size() && is_digit(s[pos]) && pos - digits_start < 9) ++pos;
    if (pos - digits_start < 4) return false;
    int64_t year;
    size_t p = start;
    if (!read_number(s, p, 9, true, year) || p != pos) return false;
    f.year = year;
    f.has_year = true;
    if (pos < s.size() && s[pos] == '-') {
      ++pos;
      if (pos < s.size() && (s[pos] == 'W' || s[pos] == 'w')) {
        ++pos;
        f.has_week_year = true;
        f.week_year = year;
        if (!two(f.week)) return false;
        if (pos < s.size() && s[pos] == '-') {
          ++pos;
          if (pos >= s.size() || !is_digit(s[pos])) return false;
          f.day_of_week = s[pos++] - '0';
        }
      } else {
        size_t q = pos;
        while (q < s.size() && is_digit(s[q])) ++q;
        if (q - pos == 3) {  // ordinal date yyyy-DDD
          f.day_of_year = (s[pos] - '0') * 100 + (s[pos + 1] - '0') * 10 + (s[pos + 2] - '0');
          if (f.day_of_year == 0) return false;
          pos = q;
        } else {
          if (!two(f.month)) return false;
          f.has_month = true;
          if (pos < s.size() && s[pos] == '-') {
            ++pos;
            if (!two(f.day)) return false;
            f.has_day = true;
          }
        }
      }
    }
    if (pos < s.size() && (s[pos] == 'T' || s[pos] == 't')) {
      time_follows = true;
      ++pos;
    }
  }
  if (time_follows && pos < s.size() && is_digit(s[pos])) {
    if (!two(f.hour_of_day)) return false;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!two(f.minute)) return false;
      if (pos < s.size() && s[pos] == ':') {
        ++pos;
        if (!two(f.second)) return false;
      }
    }
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      const size_t start = pos;
      int64_t millis = 0;
      while (pos < s.size() && is_digit(s[pos])) {
        if (pos - start < 3) millis = millis * 10 + (s[pos] - '0');
        ++pos;
      }
      if (pos == start || pos - start > 9) return false;
      for (size_t k = pos - start; k < 3; ++k) millis *= 10;
      f.millis = millis;
    }
  }
  if (time_follows && pos < s.size()) {  // an offset only after 'T'
    if (s[pos] == 'Z' || s[pos] == 'z') {
      f.has_offset = true;
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      if (!parse_offset_text(s, pos, f.offset_seconds)) return false;
      f.has_offset = true;
    }
  }
  if (pos != s.size() || (!f.has_year && !time_follows)) return false;
  int64_t local_days;
  int second_of_day;
  if (!resolve_local(f, local_days, second_of_day)) return false;
  const int64_t local_seconds = local_days * 86400 + second_of_day;
  int64_t utc_seconds;
  if (f.has_offset) {
    utc_seconds = local_seconds - f.offset_seconds;
  } else if (!local_to_utc(local_seconds, zone, cache_slot_, utc_seconds)) {
    return false;
  }
  return make_timestamp(utc_seconds, f.millis, out);
}

// The per-thread "last text" cache of one format: logs carry the same timestamp text for every
// line of a second, so the second line of a second costs one comparison. Only formats with a
// year: a year-less date's result depends on the clock.
struct TextCache {
  bool valid = false;
  bool parsed = false;
  std::string text;
  cctz::time_zone zone;
  Timestamp result;
};

TextCache& text_cache_for(size_t slot) {
  thread_local std::vector<TextCache> caches;
  if (slot >= caches.size()) caches.resize(slot + 1);
  return caches[slot];
}

bool DateFormat::parse(std::string_view text, const cctz::time_zone* zone_override, Timestamp& out) const {
  const cctz::time_zone& zone = zone_override ? *zone_override : zone_;
  switch (kind_) {
    case Kind::Joda: {
      if (!has_year_) return parse_joda(elements_, has_year_, text, zone, out);
      TextCache& cache = text_cache_for(cache_slot_);
      if (cache.valid && cache.zone == zone && std::string_view(cache.text) == text) {
        if (cache.parsed) out = cache.result;
        return cache.parsed;
      }
      cache.parsed = parse_joda(elements_, has_year_, text, zone, out);
      cache.valid = true;
      cache.text.assign(text.data(), text.size());
      cache.zone = zone;
      if (cache.parsed) cache.result = out;
      return cache.parsed;
    }
    case Kind::Iso8601:
      if (parse_iso8601(text, zone, out)) return true;
      for (const auto& elements : almost_iso_elements_) {
        if (parse_joda(elements, true, text, zone, out)) return true;
      }
      return false;
    case Kind::Unix: {
      const size_t dot = text.find('.');
      int64_t seconds;
      if (dot == std::string_view::npos) {
        if (!parse_java_long(text, seconds) || seconds > kMaxEpochSeconds) return false;
        return make_timestamp(seconds, 0, out);
      }
      if (!parse_java_long(text.substr(0, dot), seconds) || seconds > kMaxEpochSeconds) return false;
      std::string_view fraction = text.substr(dot + 1);
      if (fraction.empty()) return false;
      for (char c : fraction) {
        if (!is_digit(c)) return false;
      }
      int64_t millis = 0;
      for (size_t k = 0; k < 3; ++k) millis = millis * 10 + (k < fraction.size() ? fraction[k] - '0' : 0);
      // Logstash adds the fraction to the (possibly negative) seconds as it stands.
      const int64_t total_millis = seconds * 1000 + millis;
      return make_timestamp(floor_div(total_millis, 1000), total_millis - floor_div(total_millis, 1000) * 1000, out);
    }
    case Kind::UnixMillis: {
      int64_t millis;
      if (!parse_java_long(text, millis)) return false;
      return parse_int(millis, out);
    }
    case Kind::Tai64n: {
      std::string_view t = text;
      if (!t.empty() && t[0] == '@') t.remove_prefix(1);
      if (t.size() < 24) return false;
      int64_t seconds, nanos;
      if (!parse_hex(t.substr(0, 16), seconds) || !parse_hex(t.substr(16, 8), nanos)) return false;
      seconds &= (int64_t(1) << 62) - 1;
      seconds -= 10;  // TAI to UTC, as Logstash approximates it
      return make_timestamp(seconds, nanos / 1000000, out);
    }
  }
  return false;
}

bool DateFormat::parse_int(int64_t value, Timestamp& out) const {
  switch (kind_) {
    case Kind::Unix:
      if (value > kMaxEpochSeconds) return false;
      return make_timestamp(value, 0, out);
    case Kind::UnixMillis:
      return make_timestamp(floor_div(value, 1000), value - floor_div(value, 1000) * 1000, out);
    default:
      return false;
  }
}

bool DateFormat::parse_float(double value, Timestamp& out) const {
  if (!(value == value) || value > 9.2e15 || value < -9.2e15) return false;
  switch (kind_) {
    case Kind::Unix: {
      if (int64_t(value) > kMaxEpochSeconds) return false;
      const int64_t millis = int64_t(value * 1000);
      return make_timestamp(floor_div(millis, 1000), millis - floor_div(millis, 1000) * 1000, out);
    }
    case Kind::UnixMillis: {
      const int64_t millis = int64_t(value);
      return make_timestamp(floor_div(millis, 1000), millis - floor_div(millis, 1000) * 1000, out);
    }
    default:
      return false;
  }
}

void set_clock_for_testing(NowFunction now) { test_clock.store(now, std::memory_order_relaxed); }

Timestamp current_time() {
  const NowFunction clock = test_clock.load(std::memory_order_relaxed);
  return clock ? clock() : Timestamp::now();
}

int64_t current_second() {
  const NowFunction clock = test_clock.load(std::memory_order_relaxed);
  if (clock) return clock().seconds();
  timespec coarse;
  clock_gettime(CLOCK_REALTIME_COARSE, &coarse);
  return coarse.tv_sec;
}

uint64_t zone_conversions_on_this_thread() { return thread_zone_conversions; }

}  // namespace sluice::date
