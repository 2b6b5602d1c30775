// The syslog_pri filter: splits a syslog PRI value (facility * 8 + severity, 13 when absent)
// into codes and, with use_labels, their names; ECS layout under [log][syslog] when enabled.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

const std::vector<std::string> kFacilityLabels = {
    "kernel", "user-level",  "mail",         "daemon", "security/authorization", "syslogd", "line printer",
    "network news", "uucp",  "clock",        "security/authorization", "ftp", "ntp", "log audit", "log alert",
    "clock",  "local0",      "local1",       "local2", "local3", "local4", "local5", "local6", "local7"};
const std::vector<std::string> kSeverityLabels = {"emergency", "alert",  "critical",      "error",
                                                  "warning",   "notice", "informational", "debug"};

PluginSchema syslog_pri_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "syslog_pri";
  schema.doc =
      "Decodes a syslog PRI number into facility and severity codes and labels: syslog_facility_code, "
      "syslog_severity_code, syslog_facility, syslog_severity (ECS: [log][syslog][facility][code] / [name], "
      "[log][syslog][severity][code] / [name]). A missing PRI counts as 13 (user-level notice).";
  OptionSpec use_labels{"use_labels", OptionType::Boolean, cv_bool(true), false, {},
                        "Add the facility and severity names."};
  OptionSpec field{"syslog_pri_field_name", OptionType::String, std::nullopt, false, {},
                   "The field holding the PRI (default syslog_pri, ECS: [log][syslog][priority])."};
  OptionSpec facility{"facility_labels", OptionType::Array, cv_array(kFacilityLabels), false, {},
                      "Facility names by code."};
  OptionSpec severity{"severity_labels", OptionType::Array, cv_array(kSeverityLabels), false, {},
                      "Severity names by code."};
  OptionSpec ecs{"ecs_compatibility", OptionType::String, std::nullopt, false, {"disabled", "v1", "v8"},
                 "Field layout: disabled (syslog_*) or ECS (v1, v8: [log][syslog][...]); default: the pipeline's."};
  schema.options = {use_labels, field, facility, severity, ecs};
  return schema;
}

// Ruby's String#to_i: optional spaces and sign, digits with single underscores; 0 otherwise.
int64_t ruby_to_i(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))) ++i;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  int64_t value = 0;
  bool any = false;
  while (i < s.size()) {
    if (s[i] >= '0' && s[i] <= '9') {
      if (value < (INT64_MAX - 9) / 10) value = value * 10 + (s[i] - '0');
      any = true;
    } else if (s[i] == '_' && any && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '9') {
      // digit separator
    } else {
      break;
    }
    ++i;
  }
  return negative ? -value : value;
}

int64_t to_i(const Value& value) {
  switch (value.type()) {
    case Type::Int: return value.as_int();
    case Type::Float: return int64_t(value.as_float());
    case Type::String: return ruby_to_i(value.as_string());
    default: return 0;
  }
}

// Ruby's array[index]: negative indexes count from the end; nullptr past either end.
const std::string* ruby_index(const std::vector<std::string>& labels, int64_t index) {
  if (index < 0) index += int64_t(labels.size());
  if (index < 0 || index >= int64_t(labels.size())) return nullptr;
  return &labels[size_t(index)];
}

class SyslogPriFilter : public Filter {
 public:
  SyslogPriFilter(const Options& options, PluginContext& context) {
    std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                      : context.settings                ? context.settings->ecs_compatibility
                                                        : std::string("v8");
    const bool ecs_on = ecs != "disabled";
    const std::string pri = options.has("syslog_pri_field_name") ? options.get_string("syslog_pri_field_name")
                            : ecs_on                              ? "[log][syslog][priority]"
                                                                  : "syslog_pri";
    std::string error;
    std::optional<FieldRef> ref = FieldRef::parse(pri, &error);
    if (!ref) {
      throw config::ConfigError(options.position("syslog_pri_field_name"),
                                "syslog_pri: invalid field reference `" + pri + "`: " + error);
    }
    pri_field_ = *ref;
    facility_code_ = FieldRef::of(ecs_on ? "[log][syslog][facility][code]" : "syslog_facility_code");
    severity_code_ = FieldRef::of(ecs_on ? "[log][syslog][severity][code]" : "syslog_severity_code");
    facility_label_ = FieldRef::of(ecs_on ? "[log][syslog][facility][name]" : "syslog_facility");
    severity_label_ = FieldRef::of(ecs_on ? "[log][syslog][severity][name]" : "syslog_severity");
    use_labels_ = options.get_bool("use_labels");
    facility_labels_ = options.get_string_array("facility_labels");
    severity_labels_ = options.get_string_array("severity_labels");
  }

  bool filter(Event& event, FilterContext&) override {
    int64_t priority = 13;  // RFC 3164's default: user-level notice
    if (const Value* value = event.get(pri_field_)) {
      if (value->is_array()) priority = value->as_array().empty() ? 0 : to_i(value->as_array()[0]);
      else if (!value->is_null() && !(value->is_bool() && !value->as_bool())) priority = to_i(*value);
    }
    const int64_t severity = priority & 7;
    const int64_t facility = priority >> 3;
    event.put(severity_code_).set_int(severity);
    event.put(facility_code_).set_int(facility);
    if (use_labels_) {
      if (const std::string* label = ruby_index(facility_labels_, facility)) event.put(facility_label_).set_string(*label);
      if (const std::string* label = ruby_index(severity_labels_, severity)) event.put(severity_label_).set_string(*label);
    }
    return true;
  }

 private:
  FieldRef pri_field_, facility_code_, severity_code_, facility_label_, severity_label_;
  bool use_labels_ = true;
  std::vector<std::string> facility_labels_, severity_labels_;
};

const RegisterFilter registration{syslog_pri_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<SyslogPriFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
