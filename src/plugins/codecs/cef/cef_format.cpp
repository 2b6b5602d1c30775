// See cef_format.h. The header and extension scanners below are linear equivalents of the
// regular expressions Logstash's cef codec (6.2) uses, including their backtracking corner
// cases (an escaped pipe becomes a separator when no unescaped one follows).
#include "plugins/codecs/cef/cef_format.h"

#include <cctz/civil_time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "core/charset.h"
#include "core/json.h"
#include "core/time_format.h"
#include "plugins/filters/date/date_parser.h"

namespace sluice::cef {

namespace {

struct FieldDef {
  std::string name;
  std::string key;
  std::string ecs;
  std::string legacy;
  int priority = 0;
  bool timestamp = false;
};

std::vector<FieldDef> field_table(const std::string& device) {
  auto f = [](std::string name, std::string key, std::string ecs, int priority = 0, bool ts = false,
              std::string legacy = "") {
    FieldDef d;
    d.key = key.empty() ? name : key;
    d.name = std::move(name);
    d.ecs = std::move(ecs);
    d.priority = priority;
    d.timestamp = ts;
    d.legacy = std::move(legacy);
    return d;
  };
  const std::string dev = "[" + device + "]";
  const bool host = device == "host";
  std::vector<FieldDef> t = {
      f("agentAddress", "agt", "[agent][ip]"),
      f("agentDnsDomain", "", "[cef][agent][registered_domain]", 10),
      f("agentHostName", "ahost", "[agent][name]"),
      f("agentId", "aid", "[agent][id]"),
      f("agentMacAddress", "amac", "[agent][mac]"),
      f("agentNtDomain", "", "[cef][agent][registered_domain]"),
      f("agentReceiptTime", "art", "[event][created]", 0, true),
      f("agentTimeZone", "atz", "[cef][agent][timezone]"),
      f("agentTranslatedAddress", "", "[cef][agent][nat][ip]"),
      f("agentTranslatedZoneExternalID", "", "[cef][agent][translated_zone][external_id]"),
      f("agentTranslatedZoneURI", "", "[cef][agent][translated_zone][uri]"),
      f("agentType", "at", "[agent][type]"),
      f("agentVersion", "av", "[agent][version]"),
      f("agentZoneExternalID", "", "[cef][agent][zone][external_id]"),
      f("agentZoneURI", "", "[cef][agent][zone][uri]"),
      f("applicationProtocol", "app", "[network][protocol]"),
      f("baseEventCount", "cnt", "[cef][base_event_count]"),
      f("bytesIn", "in", "[source][bytes]"),
      f("bytesOut", "out", "[destination][bytes]"),
      f("categoryDeviceType", "catdt", "[cef][device_type]"),
      f("customerExternalID", "", "[organization][id]"),
      f("customerURI", "", "[organization][name]"),
      f("destinationAddress", "dst", "[destination][ip]"),
      f("destinationDnsDomain", "", "[destination][registered_domain]", 10),
      f("destinationGeoLatitude", "dlat", "[destination][geo][location][lat]", 0, false, "destinationLatitude"),
      f("destinationGeoLongitude", "dlong", "[destination][geo][location][lon]", 0, false, "destinationLongitude"),
      f("destinationHostName", "dhost", "[destination][domain]"),
      f("destinationMacAddress", "dmac", "[destination][mac]"),
      f("destinationNtDomain", "dntdom", "[destination][registered_domain]"),
      f("destinationPort", "dpt", "[destination][port]"),
      f("destinationProcessId", "dpid", "[destination][process][pid]"),
      f("destinationProcessName", "dproc", "[destination][process][name]"),
      f("destinationServiceName", "", "[destination][service][name]"),
      f("destinationTranslatedAddress", "", "[destination][nat][ip]"),
      f("destinationTranslatedPort", "", "[destination][nat][port]"),
      f("destinationTranslatedZoneExternalID", "", "[cef][destination][translated_zone][external_id]"),
      f("destinationTranslatedZoneURI", "", "[cef][destination][translated_zone][uri]"),
      f("destinationUserId", "duid", "[destination][user][id]"),
      f("destinationUserName", "duser", "[destination][user][name]"),
      f("destinationUserPrivileges", "dpriv", "[destination][user][group][name]"),
      f("destinationZoneExternalID", "", "[cef][destination][zone][external_id]"),
      f("destinationZoneURI", "", "[cef][destination][zone][uri]"),
      f("deviceAction", "act", "[event][action]"),
      f("deviceAddress", "dvc", dev + "[ip]"),
  };
  for (int i = 1; i <= 15; ++i) {
    const std::string n = std::to_string(i);
    t.push_back(f("deviceCustomFloatingPoint" + n, "cfp" + n, "[cef][device_custom_floating_point_" + n + "][value]"));
    t.push_back(f("deviceCustomFloatingPoint" + n + "Label", "cfp" + n + "Label",
                  "[cef][device_custom_floating_point_" + n + "][label]"));
    t.push_back(f("deviceCustomIPv6Address" + n, "c6a" + n, "[cef][device_custom_ipv6_address_" + n + "][value]"));
    t.push_back(f("deviceCustomIPv6Address" + n + "Label", "c6a" + n + "Label",
                  "[cef][device_custom_ipv6_address_" + n + "][label]"));
    t.push_back(f("deviceCustomNumber" + n, "cn" + n, "[cef][device_custom_number_" + n + "][value]"));
    t.push_back(f("deviceCustomNumber" + n + "Label", "cn" + n + "Label", "[cef][device_custom_number_" + n + "][label]"));
    t.push_back(f("deviceCustomString" + n, "cs" + n, "[cef][device_custom_string_" + n + "][value]"));
    t.push_back(f("deviceCustomString" + n + "Label", "cs" + n + "Label", "[cef][device_custom_string_" + n + "][label]"));
  }
  std::vector<FieldDef> rest = {
      f("deviceDirection", "", "[network][direction]"),
      f("deviceDnsDomain", "", dev + "[registered_domain]", 10),
      f("deviceEventCategory", "cat", "[cef][category]"),
      f("deviceExternalId", "", host ? "[host][id]" : "[observer][name]"),
      f("deviceFacility", "", "[log][syslog][facility][code]"),
      f("deviceHostName", "dvchost", host ? "[host][name]" : "[observer][hostname]"),
      f("deviceInboundInterface", "", "[observer][ingress][interface][name]"),
      f("deviceMacAddress", "dvcmac", dev + "[mac]"),
      f("deviceNtDomain", "", "[cef][nt_domain]"),
      f("deviceOutboundInterface", "", "[observer][egress][interface][name]"),
      f("devicePayloadId", "", "[cef][payload_id]"),
      f("deviceProcessId", "dvcpid", "[process][pid]"),
      f("deviceProcessName", "", "[process][name]"),
      f("deviceReceiptTime", "rt", "@timestamp", 0, true),
      f("deviceTimeZone", "dtz", "[event][timezone]", 0, false, "destinationTimeZone"),
      f("deviceTranslatedAddress", "", "[host][nat][ip]"),
      f("deviceTranslatedZoneExternalID", "", "[cef][translated_zone][external_id]"),
      f("deviceTranslatedZoneURI", "", "[cef][translated_zone][uri]"),
      f("deviceVersion", "", "[observer][version]"),
      f("deviceZoneExternalID", "", "[cef][zone][external_id]"),
      f("deviceZoneURI", "", "[cef][zone][uri]"),
      f("endTime", "end", "[event][end]", 0, true),
      f("eventId", "", "[event][id]"),
      f("eventOutcome", "outcome", "[event][outcome]"),
      f("externalId", "", "[cef][external_id]"),
      f("fileCreateTime", "", "[file][created]"),
      f("fileHash", "", "[file][hash]"),
      f("fileId", "", "[file][inode]"),
      f("fileModificationTime", "", "[file][mtime]", 0, true),
      f("fileName", "fname", "[file][name]"),
      f("filePath", "", "[file][path]"),
      f("filePermission", "", "[file][group]"),
      f("fileSize", "fsize", "[file][size]"),
      f("fileType", "", "[file][extension]"),
      f("managerReceiptTime", "mrt", "[event][ingested]", 0, true),
      f("message", "msg", "[message]"),
      f("oldFileCreateTime", "", "[cef][old_file][created]", 0, true),
      f("oldFileHash", "", "[cef][old_file][hash]"),
      f("oldFileId", "", "[cef][old_file][inode]"),
      f("oldFileModificationTime", "", "[cef][old_file][mtime]", 0, true),
      f("oldFileName", "", "[cef][old_file][name]"),
      f("oldFilePath", "", "[cef][old_file][path]"),
      f("oldFilePermission", "", "[cef][old_file][group]"),
      f("oldFileSize", "", "[cef][old_file][size]"),
      f("oldFileType", "", "[cef][old_file][extension]"),
      f("rawEvent", "", "[event][original]"),
      f("Reason", "reason", "[event][reason]"),
      f("requestClientApplication", "", "[user_agent][original]"),
      f("requestContext", "", "[http][request][referrer]"),
      f("requestCookies", "", "[cef][request][cookies]"),
      f("requestMethod", "", "[http][request][method]"),
      f("requestUrl", "request", "[url][original]"),
      f("sourceAddress", "src", "[source][ip]"),
      f("sourceDnsDomain", "", "[source][registered_domain]", 10),
      f("sourceGeoLatitude", "slat", "[source][geo][location][lat]", 0, false, "sourceLatitude"),
      f("sourceGeoLongitude", "slong", "[source][geo][location][lon]", 0, false, "sourceLongitude"),
      f("sourceHostName", "shost", "[source][domain]"),
      f("sourceMacAddress", "smac", "[source][mac]"),
      f("sourceNtDomain", "sntdom", "[source][registered_domain]"),
      f("sourcePort", "spt", "[source][port]"),
      f("sourceProcessId", "spid", "[source][process][pid]"),
      f("sourceProcessName", "sproc", "[source][process][name]"),
      f("sourceServiceName", "", "[source][service][name]"),
      f("sourceTranslatedAddress", "", "[source][nat][ip]"),
      f("sourceTranslatedPort", "", "[source][nat][port]"),
      f("sourceTranslatedZoneExternalID", "", "[cef][source][translated_zone][external_id]"),
      f("sourceTranslatedZoneURI", "", "[cef][source][translated_zone][uri]"),
      f("sourceUserId", "suid", "[source][user][id]"),
      f("sourceUserName", "suser", "[source][user][name]"),
      f("sourceUserPrivileges", "spriv", "[source][user][group][name]"),
      f("sourceZoneExternalID", "", "[cef][source][zone][external_id]"),
      f("sourceZoneURI", "", "[cef][source][zone][uri]"),
      f("startTime", "start", "[event][start]", 0, true),
      f("transportProtocol", "proto", "[network][transport]"),
      f("type", "", "[cef][type]"),
  };
  t.insert(t.end(), rest.begin(), rest.end());
  std::stable_sort(t.begin(), t.end(), [](const FieldDef& a, const FieldDef& b) { return a.priority < b.priority; });
  return t;
}

std::vector<std::string> path_of(const std::string& name) {
  std::optional<FieldRef> ref = FieldRef::parse(name);
  if (!ref) return {name};
  return ref->path();
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_subkey_char(char c) {
  return !(c == '.' || c == '=' || is_space(c) || c == '|' || c == '\\' || c == '[' || c == ']');
}

// Length of an extension key at text[pos] that is followed by '=' (0 when there is none):
// \w+(?:\.[^.=\s|\\\[\]]+)*(?:\[[0-9]+\])?(?==)
size_t key_length(std::string_view text, size_t pos) {
  size_t i = pos;
  while (i < text.size() && is_word(text[i])) ++i;
  if (i == pos) return 0;
  while (i < text.size() && text[i] == '.') {
    size_t j = i + 1;
    while (j < text.size() && is_subkey_char(text[j])) ++j;
    if (j == i + 1) break;
    i = j;
  }
  if (i < text.size() && text[i] == '[') {
    size_t j = i + 1;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    if (j > i + 1 && j < text.size() && text[j] == ']') i = j + 1;
  }
  return i < text.size() && text[i] == '=' ? i - pos : 0;
}

// The end of the header field starting at `pos` (the position of its terminating pipe), as
// the codec's lazy regex finds it: the first pipe not escaped by a backslash, or else the
// last pipe of the text (the regex backtracks into the last `\|`). npos when there is no pipe.
size_t header_field_end(std::string_view text, size_t pos) {
  size_t i = pos;
  while (i < text.size()) {
    char c = text[i];
    if (c == '|') return i;
    if (c == '\\' && i + 1 < text.size() && (text[i + 1] == '|' || text[i + 1] == '\\')) {
      i += 2;
      continue;
    }
    ++i;
  }
  size_t last = text.rfind('|');
  if (last == std::string_view::npos || last < pos) return std::string_view::npos;
  return last;
}

void unescape_header(std::string_view raw, std::string& out) {
  out.clear();
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && (raw[i + 1] == '\\' || raw[i + 1] == '|')) {
      out.push_back(raw[++i]);
      continue;
    }
    out.push_back(raw[i]);
  }
}

void unescape_extension(std::string_view raw, std::string& out) {
  out.clear();
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size()) {
      char n = raw[i + 1];
      if (n == '\\' || n == '=') {
        out.push_back(n);
        ++i;
        continue;
      }
      if (n == 'n' || n == 'r') {
        out.push_back(n == 'n' ? '\n' : '\r');
        ++i;
        continue;
      }
    }
    out.push_back(raw[i]);
  }
}

std::string_view ruby_strip(std::string_view s) {
  auto ws = [](char c) { return is_space(c) || c == '\0'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

// Zone names a CEF timestamp may end with: IANA ids, offsets, and the common abbreviations.
const cctz::time_zone* zone_named(std::string_view name) {
  static const std::pair<const char*, const char*> abbreviations[] = {
      {"UTC", "UTC"}, {"GMT", "UTC"}, {"Z", "UTC"}, {"UT", "UTC"},
      {"EST", "America/New_York"}, {"EDT", "America/New_York"}, {"CST", "America/Chicago"},
      {"CDT", "America/Chicago"}, {"MST", "America/Denver"}, {"MDT", "America/Denver"},
      {"PST", "America/Los_Angeles"}, {"PDT", "America/Los_Angeles"}, {"CET", "Europe/Paris"},
      {"CEST", "Europe/Paris"}, {"EET", "Europe/Athens"}, {"EEST", "Europe/Athens"}, {"WET", "Europe/Lisbon"},
      {"WEST", "Europe/Lisbon"}, {"BST", "Europe/London"}, {"JST", "Asia/Tokyo"}, {"IST", "Asia/Kolkata"},
  };
  for (const auto& [abbreviation, zone] : abbreviations) {
    if (name == abbreviation) return date::cached_zone(zone);
  }
  if (name.size() > 3 && (name.substr(0, 3) == "GMT" || name.substr(0, 3) == "UTC") &&
      (name[3] == '+' || name[3] == '-')) {
    return date::cached_zone(name.substr(3));
  }
  return date::cached_zone(name);
}

int month_number(std::string_view m) {
  static const char* names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (m == names[i]) return i + 1;
  }
  return 0;
}

bool two_digits(std::string_view s, size_t pos, int& out) {
  if (pos + 2 > s.size() || s[pos] < '0' || s[pos] > '9' || s[pos + 1] < '0' || s[pos + 1] > '9') return false;
  out = (s[pos] - '0') * 10 + (s[pos + 1] - '0');
  return true;
}

Timestamp now_for_year_guess() { return date::current_time(); }

}  // namespace

ParsedField& ParsedRecord::add() {
  if (count == fields.size()) fields.emplace_back();
  ParsedField& field = fields[count++];
  field.path = nullptr;
  field.own_path.clear();
  field.value.set_null();
  field.timestamp = false;
  return field;
}

bool parse_cef_timestamp(std::string_view text, const cctz::time_zone& zone, Timestamp& out) {
  // Epoch milliseconds, possibly with a fraction: [1-9][0-9]*(\.[0-9]+)?
  if (!text.empty() && text[0] >= '1' && text[0] <= '9') {
    size_t i = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    const size_t integer_end = i;
    size_t fraction_start = i;
    bool numeric = i == text.size();
    if (i < text.size() && text[i] == '.') {
      fraction_start = ++i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
      numeric = i == text.size() && i > fraction_start;
    }
    if (numeric) {
      if (integer_end > 15) return false;
      int64_t millis = 0;
      for (size_t k = 0; k < integer_end; ++k) millis = millis * 10 + (text[k] - '0');
      int64_t sub_millis = 0;  // nanoseconds within the millisecond
      for (size_t k = 0; k < 6; ++k) {
        const size_t at = fraction_start + k;
        sub_millis = sub_millis * 10 + (integer_end < text.size() && at < text.size() ? text[at] - '0' : 0);
      }
      out.nanos = millis * 1000000 + sub_millis;
      return true;
    }
  }
  // MMM dd[ yyyy] HH:mm:ss[.SSSSSSSSS][.SSSSSS][.SSS][ zzz]
  size_t p = 0;
  if (text.size() < 15) return false;
  int month = month_number(text.substr(0, 3));
  if (!month || text[3] != ' ') return false;
  int day;
  if (!two_digits(text, 4, day)) return false;
  p = 6;
  int64_t year = 0;
  bool has_year = false;
  if (p + 5 <= text.size() && text[p] == ' ' && text.find(':', p + 1) != p + 3) {
    size_t q = p + 1;
    while (q < text.size() && text[q] >= '0' && text[q] <= '9') ++q;
    if (q - (p + 1) >= 4 && q < text.size() && text[q] == ' ') {
      if (q - (p + 1) > 9) return false;  // beyond any timestamp we can hold
      for (size_t k = p + 1; k < q; ++k) year = year * 10 + (text[k] - '0');
      has_year = true;
      p = q;
    }
  }
  int hour, minute, second;
  if (p >= text.size() || text[p] != ' ' || !two_digits(text, p + 1, hour) || p + 3 >= text.size() ||
      text[p + 3] != ':' || !two_digits(text, p + 4, minute) || p + 6 >= text.size() || text[p + 6] != ':' ||
      !two_digits(text, p + 7, second)) {
    return false;
  }
  p += 9;
  int64_t nanos = 0;
  if (p < text.size() && text[p] == '.') {
    size_t q = p + 1;
    while (q < text.size() && text[q] >= '0' && text[q] <= '9') ++q;
    const size_t digits = q - p - 1;
    if (digits != 9 && digits != 6 && digits != 3) return false;
    for (size_t k = 0; k < 9; ++k) nanos = nanos * 10 + (k < digits ? text[p + 1 + k] - '0' : 0);
    p = q;
  }
  const cctz::time_zone* effective = &zone;
  if (p < text.size()) {
    if (text[p] != ' ' || p + 1 >= text.size()) return false;
    effective = zone_named(text.substr(p + 1));
    if (!effective) return false;
  }
  if (hour > 23 || minute > 59 || second > 59 || day < 1) return false;
  auto to_instant = [&](int64_t y, int64_t& seconds) {
    int d = day;
    const cctz::civil_day month_start(y, month, 1);
    const int days_in_month = int(cctz::civil_day(cctz::civil_month(month_start) + 1) - month_start);
    if (d > days_in_month) {
      if (!has_year && month == 2 && d == 29) d = 28;  // MonthDay.atYear clamps February 29
      else return false;
    }
    const cctz::civil_second civil(y, month, d, hour, minute, second);
    const auto lookup = effective->lookup(civil);
    seconds = std::chrono::duration_cast<std::chrono::seconds>(lookup.pre.time_since_epoch()).count();
    return true;
  };
  int64_t seconds = 0;
  if (has_year) {
    if (!to_instant(year, seconds)) return false;
  } else {
    // No year: this year, unless that is more than two days ahead (then last year), or it is
    // December and the date in January is within two days (then next year).
    const Timestamp now = now_for_year_guess();
    const auto now_civil = cctz::convert(std::chrono::system_clock::time_point(std::chrono::seconds(now.seconds())), *effective);
    const int64_t limit = now.seconds() + 2 * 86400;
    int64_t candidate;
    if (!to_instant(now_civil.year(), candidate)) return false;
    if (candidate > limit) {
      if (!to_instant(now_civil.year() - 1, candidate)) return false;
    } else if (now_civil.month() == 12) {
      int64_t next;
      if (to_instant(now_civil.year() + 1, next) && next <= limit) candidate = next;
    }
    seconds = candidate;
  }
  if (seconds > 9223372035LL || seconds < -9223372035LL) return false;
  out.nanos = seconds * 1000000000LL + nanos;
  return true;
}

Format::Format(const FormatSettings& settings) : settings_(settings) {
  static const char* legacy_headers[] = {"cefVersion", "deviceVendor", "deviceProduct", "deviceVersion",
                                         "deviceEventClassId", "name", "severity"};
  static const char* ecs_headers[] = {"[cef][version]", "[observer][vendor]", "[observer][product]",
                                      "[observer][version]", "[event][code]", "[cef][name]", "[event][severity]"};
  for (int i = 0; i < 7; ++i) header_paths_[i] = path_of(settings_.ecs ? ecs_headers[i] : legacy_headers[i]);
  syslog_path_ = path_of(settings_.ecs ? "[log][syslog][header]" : "syslog");

  auto make = [&](const std::string& name, bool timestamp) {
    auto m = std::make_unique<Mapped>();
    m->name = name;
    m->path = path_of(name);
    m->timestamp = timestamp;
    mapped_storage_.push_back(std::move(m));
    return mapped_storage_.back().get();
  };
  for (const FieldDef& def : field_table(settings_.device)) {
    const std::string field_name = settings_.ecs ? def.ecs : def.name;
    const Mapped* m = make(field_name, settings_.ecs && def.timestamp);
    decode_[def.key] = m;
    decode_[def.name] = m;
    const std::string target = settings_.reverse_mapping ? def.key : def.name;
    encode_[field_name] = target;
    if (def.name != field_name) encode_[def.name] = target;
    if (!def.legacy.empty()) {
      decode_[def.legacy] = make(settings_.ecs ? def.ecs : def.legacy, false);
      encode_[def.legacy] = settings_.reverse_mapping ? def.key : def.legacy;
    }
    if (def.key == "dtz") timezone_field_ = field_name;
  }
}

Format::~Format() = default;

const Format::Mapped* Format::mapped(std::string_view key) const {
  thread_local std::string lookup;
  lookup.assign(key.data(), key.size());
  auto it = decode_.find(lookup);
  return it == decode_.end() ? nullptr : it->second;
}

std::string_view Format::encode_key(std::string_view field_name) const {
  auto it = encode_.find(std::string(field_name));
  return it == encode_.end() ? field_name : std::string_view(it->second);
}

bool Format::normalize_timestamp(std::string_view text, std::string_view device_zone, Value& out) const {
  if (ruby_strip(text).empty()) {
    out.set_null();
    return true;
  }
  const cctz::time_zone* zone = &settings_.default_zone;
  if (!device_zone.empty()) {
    zone = zone_named(device_zone);
    if (!zone) return false;
  }
  Timestamp ts;
  if (!parse_cef_timestamp(text, *zone, ts)) return false;
  out.set_timestamp(ts);
  return true;
}

bool Format::parse(std::string_view data, ParsedRecord& out, std::string* error) const {
  auto fail = [&](const char* message) {
    if (error) *error = message;
    return false;
  };
  out.clear();
  if (!is_valid_utf8(data)) return fail("invalid byte sequence in UTF-8");
  if (!data.empty() && data[0] == '"') {
    // Ruby's data[1..-2] drops the last character, not byte: keep the UTF-8 valid.
    size_t last = data.size() - 1;
    while (last > 1 && (static_cast<unsigned char>(data[last]) & 0xC0) == 0x80) --last;
    data = last >= 1 ? data.substr(1, last - 1) : std::string_view();
  }
  // Ruby's chomp: one trailing \r\n, \n or \r.
  if (data.size() >= 2 && data.substr(data.size() - 2) == "\r\n") data.remove_suffix(2);
  else if (!data.empty() && (data.back() == '\n' || data.back() == '\r')) data.remove_suffix(1);
  if (data.find('\n') != std::string_view::npos) {
    return fail("message is not valid CEF because it contains unescaped newline characters");
  }

  thread_local std::string scratch;
  size_t pos = 0;
  size_t header_index[7];
  for (int i = 0; i < 7; ++i) {
    const size_t end = header_field_end(data, pos);
    if (end == std::string_view::npos) return fail("message is not valid CEF; missing pipe-terminated header fields");
    ParsedField& field = out.add();
    field.path = &header_paths_[i];
    unescape_header(data.substr(pos, end - pos), scratch);
    field.value.set_string(scratch);
    header_index[i] = out.count - 1;
    pos = end + 1;
  }
  // A syslog header before "CEF:0" ends at the version's last space.
  const size_t space = out.fields[header_index[0]].value.as_string().rfind(' ');
  if (space != std::string::npos) {
    scratch.assign(out.fields[header_index[0]].value.as_string(), 0, space);
    ParsedField& syslog = out.add();  // (may move the fields: index again below)
    syslog.path = &syslog_path_;
    syslog.value.set_string(scratch);
    out.fields[header_index[0]].value.string_ref().erase(0, space + 1);
  }
  std::string& cef_version = out.fields[header_index[0]].value.string_ref();
  if (cef_version.compare(0, 4, "CEF:") == 0) cef_version.erase(0, 4);

  std::string_view message = data.substr(pos);
  if (message.empty()) return true;
  message = ruby_strip(message);
  const size_t extensions_start = out.count;
  size_t zone_field = std::string::npos;  // the device's time zone (dtz), for ECS timestamps
  size_t p = 0;
  while (p < message.size()) {
    const size_t key_len = key_length(message, p);
    if (key_len == 0) break;
    std::string_view key = message.substr(p, key_len);
    size_t i = p + key_len + 1;
    const size_t value_start = i;
    while (i < message.size()) {
      if (!is_space(message[i])) {
        ++i;
        continue;
      }
      size_t ws_end = i;
      while (ws_end < message.size() && is_space(message[ws_end])) ++ws_end;
      if (ws_end < message.size() && key_length(message, ws_end) > 0) break;  // the next key starts
      i = ws_end;
    }
    std::string_view raw_value = message.substr(value_start, i - value_start);
    while (i < message.size() && is_space(message[i])) ++i;
    p = i;

    // Later duplicates replace earlier ones (the codec collects a hash first).
    const Mapped* m = mapped(key);
    ParsedField* field = nullptr;
    for (size_t k = extensions_start; k < out.count && !field; ++k) {
      ParsedField& existing = out.fields[k];
      const std::vector<std::string>& existing_path = existing.path ? *existing.path : existing.own_path;
      if (m ? existing.path == &m->path : (!existing.path && existing_path.size() == 1 && existing_path[0] == key)) {
        field = &existing;
      }
    }
    if (!field) {
      field = &out.add();
      if (m) {
        field->path = &m->path;
      } else if (key.back() == ']') {
        // `name[0]` becomes [name][0].
        const size_t bracket = key.find('[');
        field->own_path.emplace_back(key.substr(0, bracket));
        size_t b = bracket;
        while (b < key.size() && key[b] == '[') {
          const size_t close = key.find(']', b);
          field->own_path.emplace_back(key.substr(b + 1, close - b - 1));
          b = close + 1;
        }
      } else {
        field->own_path.emplace_back(key);
      }
    }
    unescape_extension(raw_value, scratch);
    field->value.set_string(scratch);
    field->timestamp = m && m->timestamp;
    if (settings_.ecs && m && m->name == timezone_field_) zone_field = size_t(field - out.fields.data());
  }
  if (p != message.size()) return fail("invalid extensions; keyless value present");
  if (settings_.ecs) {
    thread_local std::string device_zone, text;
    device_zone.clear();
    if (zone_field != std::string::npos) device_zone = out.fields[zone_field].value.as_string();
    for (size_t k = extensions_start; k < out.count; ++k) {
      ParsedField& field = out.fields[k];
      if (!field.timestamp) continue;
      text = field.value.as_string();
      if (!normalize_timestamp(text, device_zone, field.value)) return fail("invalid CEF timestamp");
    }
  }
  return true;
}

void Format::apply(ParsedRecord& record, Object& root) {
  for (size_t k = 0; k < record.count; ++k) {
    ParsedField& field = record.fields[k];
    const std::vector<std::string>& path = field.path ? *field.path : field.own_path;
    if (path.empty()) continue;
    Value* slot = &root[path[0]];
    for (size_t i = 1; i < path.size(); ++i) {
      if (!slot->is_object()) slot->make_object();
      slot = &slot->as_object()[path[i]];
    }
    std::swap(*slot, field.value);  // both keep their storage for the next record
  }
}

namespace {

void append_header_field(std::string& out, std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;  // \r\n counts as one newline
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '|': out += "\\|"; break;
      case '\n':
      case '\r': out.push_back(' '); break;
      default: out.push_back(c);
    }
  }
}

void append_extension_value(std::string& out, std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '=': out += "\\="; break;
      case '\n':
      case '\r': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
}

// Ruby's to_s of a field value.
void append_ruby_text(std::string& out, const Value& value) {
  switch (value.type()) {
    case Type::Float: append_float_ruby(out, value.as_float()); break;
    case Type::Null: break;
    default: value.append_text(out); break;
  }
}

// Ruby's Float(s) for the severity check: decimal with optional fraction and exponent.
bool valid_severity(std::string_view s, int& out) {
  if (s.empty()) return false;
  size_t i = 0;
  if (s[i] == '+' || s[i] == '-') ++i;
  const size_t digits_start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == digits_start) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t fraction_start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == fraction_start) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const size_t exponent_start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == exponent_start) return false;
  }
  if (i != s.size()) return false;
  const double f = std::strtod(std::string(s).c_str(), nullptr);
  if (std::floor(f) != f || f < 0 || f > 10) return false;
  out = int(f);
  return true;
}

}  // namespace

void Format::prepare(EncodeSettings& settings) const {
  settings.field_refs.clear();
  settings.keys.clear();
  for (const std::string& field : settings.fields) {
    std::optional<FieldRef> ref = FieldRef::parse(field);
    settings.field_refs.push_back(ref ? *ref : FieldRef());
    std::string key;
    for (char c : encode_key(field)) {  // keys are alphanumeric
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) key.push_back(c);
    }
    settings.keys.push_back(std::move(key));
  }
}

void Format::encode(const Event& event, const EncodeSettings& s, std::string& out) const {
  thread_local std::string rendered, sanitized;
  auto header = [&](const Template& t, const char* fallback) {
    rendered.clear();
    t.render(event, rendered);
    sanitized.clear();
    append_header_field(sanitized, rendered);
    out += sanitized.empty() ? std::string_view(fallback) : std::string_view(sanitized);
    out.push_back('|');
  };
  out += "CEF:0|";
  header(s.vendor, "Elasticsearch");
  header(s.product, "Logstash");
  header(s.version, "1.0");
  header(s.signature, "Logstash");
  header(s.name, "Logstash");
  rendered.clear();
  s.severity.render(event, rendered);
  sanitized.clear();
  append_header_field(sanitized, rendered);
  int severity = 6;
  if (!valid_severity(ruby_strip(sanitized), severity)) severity = 6;
  out += std::to_string(severity);
  out.push_back('|');
  bool first = true;
  for (size_t i = 0; i < s.fields.size(); ++i) {
    const Value* value = event.get(s.field_refs[i]);
    if (!value || value->is_null()) continue;
    if (!first) out.push_back(' ');
    first = false;
    out += s.keys[i];
    out.push_back('=');
    rendered.clear();
    if (value->is_array() || value->is_object()) {
      json_append_value(rendered, *value);
    } else if (value->is_timestamp()) {
      format_iso8601(value->as_timestamp(), out);
      continue;
    } else {
      append_ruby_text(rendered, *value);
    }
    append_extension_value(out, rendered);
  }
  out += s.delimiter;
}

}  // namespace sluice::cef
