// ArcSight Common Event Format (CEF), as Logstash's cef codec reads and writes it:
//   [syslog header ]CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
// Header fields escape `\|` and `\\`; extension values run until the next ` key=` and escape
// `\=`, `\\`, `\n`, `\r`. Keys are renamed to the full CEF names (ECS disabled) or ECS fields
// (v1, v8). Shared by the cef codec and the cef filter.
#pragma once

#include <cctz/time_zone.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/sprintf.h"

namespace sluice::cef {

struct FormatSettings {
  bool ecs = true;                   // ECS field names (v1/v8) or the legacy CEF names
  std::string device = "observer";   // where device fields go in ECS: observer or host
  bool reverse_mapping = false;      // encode with short keys (src) instead of full names (sourceAddress)
  cctz::time_zone default_zone = cctz::utc_time_zone();  // ECS timestamps without zone
};

// One field of a parsed record: a path (field reference segments) and its value.
struct ParsedField {
  const std::vector<std::string>* path = nullptr;  // static (mapping table) or `own_path`
  std::vector<std::string> own_path;
  Value value;
  bool timestamp = false;  // ECS: a CEF timestamp to normalize
};

// A decoded record before it is written anywhere (so failures leave events untouched).
struct ParsedRecord {
  std::vector<ParsedField> fields;
  size_t count = 0;
  ParsedField& add();
  void clear() { count = 0; }
};

class Format {
 public:
  explicit Format(const FormatSettings& settings);
  ~Format();

  // Parses one CEF record (a line). False with *error set when it is not valid CEF.
  bool parse(std::string_view record, ParsedRecord& out, std::string* error) const;
  // Writes the parsed fields into `root` (an event's fields, or a target object).
  static void apply(ParsedRecord& record, Object& root);

  // Encoding, as the codec's encode: header from templates, then `fields` as key=value.
  struct EncodeSettings {
    Template vendor{"Elasticsearch"}, product{"Logstash"}, version{"1.0"}, signature{"Logstash"}, name{"Logstash"};
    Template severity{"6"};
    std::vector<std::string> fields;
    std::vector<FieldRef> field_refs;
    std::vector<std::string> keys;  // extension key of each field (see prepare)
    std::string delimiter;
  };
  // Resolves `fields` into references and extension keys once.
  void prepare(EncodeSettings& settings) const;
  void encode(const Event& event, const EncodeSettings& settings, std::string& out) const;

  // The extension key written for a field name (full CEF name, or short key with reverse_mapping).
  std::string_view encode_key(std::string_view field_name) const;

 private:
  struct Mapped {
    std::string name;                  // field name in this mode
    std::vector<std::string> path;     // parsed
    bool timestamp = false;            // ECS: normalized to a timestamp
  };
  const Mapped* mapped(std::string_view key) const;
  bool normalize_timestamp(std::string_view text, std::string_view device_zone, Value& out) const;

  FormatSettings settings_;
  std::vector<std::unique_ptr<Mapped>> mapped_storage_;
  std::unordered_map<std::string, const Mapped*> decode_;
  std::unordered_map<std::string, std::string> encode_;
  std::vector<std::string> header_paths_[7];
  std::vector<std::string> syslog_path_;
  std::string timezone_field_;  // the name dtz / deviceTimeZone maps to
};

// Parses a CEF timestamp (epoch millis, or `MMM dd[ yyyy] HH:mm:ss[.SSS|.SSSSSS|.SSSSSSSSS][ zone]`).
bool parse_cef_timestamp(std::string_view text, const cctz::time_zone& zone, Timestamp& out);

}  // namespace sluice::cef
