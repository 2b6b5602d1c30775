#include "plugins/filters/lookup/cron.h"

#include <sstream>
#include <vector>

namespace sluice::lookup {
namespace {

bool parse_int(const std::string& s, int& out) {
  if (s.empty() || s.size() > 4) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

// Sets the bits of one field; lo..hi is the field's range.
template <size_t N>
bool parse_field(const std::string& field, int lo, int hi, std::bitset<N>& bits, bool* any, std::string* error) {
  bits.reset();
  if (any) *any = field == "*" || field == "?";
  std::stringstream items(field);
  std::string item;
  while (std::getline(items, item, ',')) {
    int step = 1;
    std::string range = item;
    if (auto slash = item.find('/'); slash != std::string::npos) {
      range = item.substr(0, slash);
      if (!parse_int(item.substr(slash + 1), step) || step <= 0) {
        *error = "bad step in `" + item + "`";
        return false;
      }
    }
    int from = lo, to = hi;
    if (range == "*" || range == "?") {
    } else if (auto dash = range.find('-'); dash != std::string::npos) {
      if (!parse_int(range.substr(0, dash), from) || !parse_int(range.substr(dash + 1), to)) {
        *error = "bad range `" + range + "`";
        return false;
      }
    } else {
      if (!parse_int(range, from)) {
        *error = "unsupported cron field `" + item + "` (numbers, *, ranges, steps and lists only)";
        return false;
      }
      // `n/s` means from n to the end in steps of s.
      to = item.find('/') != std::string::npos ? hi : from;
    }
    if (N == 7 && to == 7) to = 6, from = from == 7 ? 0 : from;  // 7 is Sunday too
    if (from < lo || to > hi || from > to) {
      *error = "value out of range " + std::to_string(lo) + "-" + std::to_string(hi) + " in `" + item + "`";
      return false;
    }
    for (int v = from; v <= to; v += step) bits.set(size_t(v));
  }
  if (bits.none()) {
    *error = "empty cron field";
    return false;
  }
  return true;
}

}  // namespace

std::optional<CronSchedule> CronSchedule::parse(const std::string& text, std::string* error) {
  std::vector<std::string> fields;
  std::stringstream in(text);
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() != 5 && fields.size() != 6) {
    *error = "a schedule needs 5 fields (minute hour day month weekday) or 6 (seconds first), got " +
             std::to_string(fields.size());
    return std::nullopt;
  }
  CronSchedule s;
  size_t i = 0;
  if (fields.size() == 6) {
    if (!parse_field(fields[i++], 0, 59, s.seconds_, nullptr, error)) return std::nullopt;
  } else {
    s.seconds_.set(0);
  }
  if (!parse_field(fields[i++], 0, 59, s.minutes_, nullptr, error)) return std::nullopt;
  if (!parse_field(fields[i++], 0, 23, s.hours_, nullptr, error)) return std::nullopt;
  if (!parse_field(fields[i++], 1, 31, s.days_, &s.any_day_of_month_, error)) return std::nullopt;
  if (!parse_field(fields[i++], 1, 12, s.months_, nullptr, error)) return std::nullopt;
  if (!parse_field(fields[i++], 0, 7, s.weekdays_, &s.any_weekday_, error)) return std::nullopt;
  return s;
}

int64_t CronSchedule::next_after(int64_t after) const {
  time_t t = time_t(after + 1);
  const time_t limit = t + 4LL * 366 * 86400;
  while (t < limit) {
    struct tm tm {};
    localtime_r(&t, &tm);
    // Classic cron: when both day fields are restricted, either one matching is enough.
    bool dom = days_.test(size_t(tm.tm_mday)), dow = weekdays_.test(size_t(tm.tm_wday));
    bool day_ok = any_day_of_month_ ? (any_weekday_ ? true : dow) : (any_weekday_ ? dom : (dom || dow));
    if (!months_.test(size_t(tm.tm_mon + 1)) || !day_ok) {
      tm.tm_mday += 1, tm.tm_hour = 0, tm.tm_min = 0, tm.tm_sec = 0, tm.tm_isdst = -1;
      t = mktime(&tm);
      continue;
    }
    if (!hours_.test(size_t(tm.tm_hour))) {
      tm.tm_hour += 1, tm.tm_min = 0, tm.tm_sec = 0, tm.tm_isdst = -1;
      t = mktime(&tm);
      continue;
    }
    if (!minutes_.test(size_t(tm.tm_min))) {
      t += 60 - tm.tm_sec;
      continue;
    }
    if (!seconds_.test(size_t(tm.tm_sec))) {
      t += 1;
      continue;
    }
    return int64_t(t);
  }
  return -1;
}

}  // namespace sluice::lookup
