// The date filter: parses a date from a field with Logstash's formats (Joda patterns, ISO8601,
// UNIX, UNIX_MS, TAI64N) and stores it in `target` (@timestamp by default). The first format
// that parses wins; when none does, the event gets `tag_on_failure`.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "core/sprintf.h"
#include "plugins/filters/date/date_parser.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema date_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "date";
  schema.doc =
      "Parses dates from fields and uses them as the event's @timestamp (or `target`). `match` is the field "
      "followed by one or more formats: Joda patterns (`MMM dd HH:mm:ss`), `ISO8601`, `UNIX`, `UNIX_MS` or "
      "`TAI64N`; the first that parses wins. Precision is milliseconds, as in Logstash.";
  OptionSpec match{"match", OptionType::Array, cv_array({}), false, {},
                   "The field name followed by the formats to try, e.g. [\"logdate\", \"MMM dd yyyy HH:mm:ss\"]."};
  OptionSpec timezone{"timezone", OptionType::String, std::nullopt, false, {},
                      "Zone of dates that carry no offset: an IANA id, UTC or +HH:MM; may be a %{field} "
                      "reference. Default UTC."};
  OptionSpec locale{"locale", OptionType::String, std::nullopt, false, {},
                    "Locale of month and weekday names (IETF tag); English names are supported."};
  OptionSpec target{"target", OptionType::String, cv_string("@timestamp"), false, {},
                    "Where the parsed timestamp goes."};
  OptionSpec tag_on_failure{"tag_on_failure", OptionType::Array, cv_array({"_dateparsefailure"}), false, {},
                            "Tags added when no format matched."};
  schema.options = {match, timezone, locale, target, tag_on_failure};
  return schema;
}

config::ConfigError option_error(const Options& options, const std::string& option, const std::string& message) {
  return config::ConfigError(options.position(option), "date: " + message);
}

FieldRef parse_field(const Options& options, const std::string& option, const std::string& text) {
  std::string error;
  std::optional<FieldRef> ref = FieldRef::parse(text, &error);
  if (!ref) throw option_error(options, option, "invalid field reference `" + text + "` in `" + option + "`: " + error);
  return *ref;
}

class DateFilter : public Filter {
 public:
  DateFilter(const Options& options, PluginContext& context) : metrics_(context.metrics) {
    const std::vector<std::string> match = options.get_string_array("match");
    if (match.size() == 1) {
      throw option_error(options, "match", "`match` needs the field name followed by at least one format");
    }
    if (!match.empty()) source_ = parse_field(options, "match", match[0]);
    target_ = parse_field(options, "target", options.get_string("target"));
    target_is_timestamp_ = !target_.is_metadata() && target_.path().size() == 1 && target_.path()[0] == "@timestamp";
    tag_on_failure_ = options.get_string_array("tag_on_failure");

    cctz::time_zone zone = cctz::utc_time_zone();
    if (options.has("timezone")) {
      std::string tz = options.get_string("timezone");
      if (tz.find("%{") != std::string::npos) {
        dynamic_zone_.emplace(tz);
      } else if (!date::load_zone(tz, zone)) {
        throw option_error(options, "timezone", "unknown time zone `" + tz + "`");
      }
    }
    const date::LocaleNames* names = &date::english_names();
    if (options.has("locale")) {
      std::string locale = options.get_string("locale");
      names = date::locale_names(locale);
      if (!names) {
        logging::get("filter.date")
            ->warn("date: locale `{}` has no month/weekday names here; English names are used", locale);
        names = &date::english_names();
      }
    }
    for (size_t i = 1; i < match.size(); ++i) {
      try {
        formats_.push_back(date::DateFormat::compile(match[i], zone, *names));
      } catch (const std::invalid_argument& e) {
        throw option_error(options, "match", std::string(e.what()));
      }
    }
    if (metrics_) {
      matches_ = &metrics_->counter("matches");
      failures_ = &metrics_->counter("failures");
    }
  }

  bool filter(Event& event, FilterContext&) override {
    if (formats_.empty()) return false;
    const Value* value = event.get(source_);
    if (!value || value->is_null()) return false;
    if (value->is_array()) {  // the first element, as the field's value
      if (value->as_array().empty()) return fail(event);
      value = &value->as_array()[0];
      if (value->is_null()) return false;
    }
    Timestamp parsed;
    if (!parse(*value, event, parsed)) return fail(event);
    if (target_is_timestamp_) event.set_timestamp(parsed);
    else event.put(target_).set_timestamp(parsed);
    if (matches_) matches_->fetch_add(1, std::memory_order_relaxed);
    return true;
  }

 private:
  bool parse(const Value& value, const Event& event, Timestamp& out) const {
    if (value.is_string() && !dynamic_zone_) {
      // Log lines come in runs of the same second: the last text this filter parsed on this
      // thread, and its outcome, are kept. A year-less date takes now's year, so an outcome
      // holds only within the second of the clock it was found in.
      struct LastParse {
        uint64_t filter = 0;
        int64_t second = 0;
        std::string text;
        bool ok = false;
        Timestamp result;
      };
      thread_local LastParse last;
      const std::string& text = value.as_string();
      const int64_t second = date::current_second();
      if (last.filter == instance_ && last.second == second && last.text == text) {
        out = last.result;
        return last.ok;
      }
      last.ok = parse_with_formats(value, nullptr, out);
      last.filter = instance_;
      last.second = second;
      last.text.assign(text);
      last.result = out;
      return last.ok;
    }
    const cctz::time_zone* zone = nullptr;
    if (dynamic_zone_) {
      thread_local std::string zone_name;
      zone_name.clear();
      dynamic_zone_->render(event, zone_name);
      zone = date::cached_zone(zone_name);
      if (!zone) return false;  // Joda: unknown zone id, every format fails
    }
    return parse_with_formats(value, zone, out);
  }

  bool parse_with_formats(const Value& value, const cctz::time_zone* zone, Timestamp& out) const {
    for (const auto& format : formats_) {
      bool ok = false;
      switch (value.type()) {
        case Type::String: ok = format->parse(value.as_string(), zone, out); break;
        case Type::Int: ok = format->parse_int(value.as_int(), out); break;
        case Type::Float: ok = format->parse_float(value.as_float(), out); break;
        default: break;  // Logstash parses strings and numbers only
      }
      if (ok) return true;
    }
    return false;
  }

  bool fail(Event& event) const {
    for (const std::string& tag : tag_on_failure_) event.add_tag(tag);
    if (failures_) failures_->fetch_add(1, std::memory_order_relaxed);
    if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  // Names this filter in the per-thread memo of the last parse (an address can be reused).
  static inline std::atomic<uint64_t> next_instance_{1};
  const uint64_t instance_ = next_instance_.fetch_add(1, std::memory_order_relaxed);
  PluginMetrics* metrics_ = nullptr;
  std::atomic<uint64_t>* matches_ = nullptr;
  std::atomic<uint64_t>* failures_ = nullptr;
  FieldRef source_;
  FieldRef target_;
  bool target_is_timestamp_ = true;
  std::vector<std::string> tag_on_failure_;
  std::optional<Template> dynamic_zone_;
  std::vector<std::unique_ptr<date::DateFormat>> formats_;
};

const RegisterFilter registration{date_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<DateFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
