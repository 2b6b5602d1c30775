#include <gtest/gtest.h>

#include "config/parser.h"
#include "parsers_test_support.h"

namespace sluice {
namespace {

using test::field;
using test::field_text;
using test::make_filter;

std::unique_ptr<Event> run_pri(const std::string& options, const std::string& ecs, const char* field_name,
                               std::optional<Value> pri) {
  auto filter = make_filter("syslog_pri", options, ecs);
  auto event = test::event_with_message("x");
  if (pri) event->put(FieldRef::of(field_name)) = *pri;
  test::TestFilterContext context;
  EXPECT_TRUE(filter->filter(*event, context));
  return event;
}

TEST(SyslogPriFilter, LegacyFieldNames) {
  auto event = run_pri("", "disabled", "syslog_pri", Value("134"));  // local0.info
  EXPECT_EQ(field(*event, "syslog_facility_code")->as_int(), 16);
  EXPECT_EQ(field(*event, "syslog_severity_code")->as_int(), 6);
  EXPECT_EQ(field_text(*event, "syslog_facility"), "local0");
  EXPECT_EQ(field_text(*event, "syslog_severity"), "informational");
}

TEST(SyslogPriFilter, EcsLayout) {
  auto event = run_pri("", "v8", "[log][syslog][priority]", Value(int64_t(3)));  // kernel.error
  EXPECT_EQ(field(*event, "[log][syslog][facility][code]")->as_int(), 0);
  EXPECT_EQ(field(*event, "[log][syslog][severity][code]")->as_int(), 3);
  EXPECT_EQ(field_text(*event, "[log][syslog][facility][name]"), "kernel");
  EXPECT_EQ(field_text(*event, "[log][syslog][severity][name]"), "error");
  EXPECT_EQ(field(*event, "syslog_facility"), nullptr);
}

TEST(SyslogPriFilter, MissingPriDefaultsTo13) {
  auto event = run_pri("", "disabled", "syslog_pri", std::nullopt);
  EXPECT_EQ(field(*event, "syslog_facility_code")->as_int(), 1);
  EXPECT_EQ(field(*event, "syslog_severity_code")->as_int(), 5);
  EXPECT_EQ(field_text(*event, "syslog_facility"), "user-level");
  EXPECT_EQ(field_text(*event, "syslog_severity"), "notice");
}

TEST(SyslogPriFilter, CustomFieldLabelsAndNoLabels) {
  auto event = run_pri(R"(syslog_pri_field_name => "pri" severity_labels => ["e0","e1","e2","e3","e4","e5","e6","e7"])",
                       "disabled", "pri", Value("11"));
  EXPECT_EQ(field_text(*event, "syslog_severity"), "e3");
  EXPECT_EQ(field_text(*event, "syslog_facility"), "user-level");
  auto plain = run_pri("use_labels => false", "disabled", "syslog_pri", Value("11"));
  EXPECT_EQ(field(*plain, "syslog_severity"), nullptr);
  EXPECT_EQ(field(*plain, "syslog_severity_code")->as_int(), 3);
}

TEST(SyslogPriFilter, OddValuesNeverCrash) {
  auto array = run_pri("", "disabled", "syslog_pri", Value(Array{Value("30"), Value("1")}));
  EXPECT_EQ(field(*array, "syslog_facility_code")->as_int(), 3);
  auto junk = run_pri("", "disabled", "syslog_pri", Value("abc"));
  EXPECT_EQ(field(*junk, "syslog_facility_code")->as_int(), 0);
  auto big = run_pri("", "disabled", "syslog_pri", Value("999"));
  EXPECT_EQ(field(*big, "syslog_facility_code")->as_int(), 124);
  EXPECT_EQ(field(*big, "syslog_facility"), nullptr);  // no label past the list
  EXPECT_EQ(field_text(*big, "syslog_severity"), "debug");
}

}  // namespace
}  // namespace sluice
