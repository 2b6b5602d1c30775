#include "plugins/inputs/file/durations.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace sluice::file_input {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<double> unit_seconds(std::string_view unit) {
  struct Unit {
    std::string_view name;
    double seconds;
  };
  static constexpr Unit kUnits[] = {
      {"us", 1e-6},      {"usec", 1e-6},         {"usecs", 1e-6},       {"microsecond", 1e-6},
      {"microseconds", 1e-6},                    {"ms", 1e-3},          {"msec", 1e-3},
      {"msecs", 1e-3},   {"millisecond", 1e-3},  {"milliseconds", 1e-3}, {"s", 1},
      {"sec", 1},        {"secs", 1},            {"second", 1},         {"seconds", 1},
      {"m", 60},         {"min", 60},            {"mins", 60},          {"minute", 60},
      {"minutes", 60},   {"h", 3600},            {"hour", 3600},        {"hours", 3600},
      {"d", 86400},      {"day", 86400},         {"days", 86400},       {"w", 604800},
      {"week", 604800},  {"weeks", 604800},
  };
  for (const Unit& u : kUnits)
    if (u.name == unit) return u.seconds;
  return std::nullopt;
}

}  // namespace

std::optional<double> parse_duration(std::string_view text, double bare_unit_seconds) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  double number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || !std::isfinite(number) || number < 0) return std::nullopt;
  std::string_view rest = trim(std::string_view(end, size_t(text.data() + text.size() - end)));
  if (rest.empty()) return number * bare_unit_seconds;
  std::string lower(rest);
  for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  auto unit = unit_seconds(lower);
  if (!unit) return std::nullopt;
  return number * *unit;
}

}  // namespace sluice::file_input
