#include <gtest/gtest.h>

#include "config/parser.h"
#include "core/time_format.h"
#include "parsers_test_support.h"
#include "plugins/filters/date/date_parser.h"

namespace sluice {
namespace {

using test::make_filter;

Timestamp fixed_now_value;
Timestamp fixed_now() { return fixed_now_value; }

// Sets "now" for year-less formats for the lifetime of the object.
struct ClockAt {
  explicit ClockAt(const char* iso) {
    EXPECT_TRUE(parse_iso8601(iso, fixed_now_value));
    date::set_clock_for_testing(&fixed_now);
  }
  ~ClockAt() { date::set_clock_for_testing(nullptr); }
};

std::string iso(Timestamp ts) {
  std::string out;
  format_iso8601(ts, out);
  return out;
}

// Runs the filter on an event whose `field` holds `value`; returns @timestamp (or the tags on failure).
std::string run(Filter& filter, const Value& value, const std::string& field = "logdate") {
  Event event;
  event.fields()[field] = value;
  test::TestFilterContext context;
  bool matched = filter.filter(event, context);
  if (!matched) return "failed:" + test::field_text(event, "tags");
  return iso(event.timestamp());
}

std::string parse_with(const std::string& format, const std::string& text, const std::string& extra = "") {
  auto filter = make_filter("date", "match => [\"logdate\", \"" + format + "\"] " + extra);
  return run(*filter, Value(text));
}

TEST(DateFilter, SyslogDateWithoutYearGetsTheCurrentYear) {
  ClockAt now("2024-06-15T12:00:00Z");
  EXPECT_EQ(parse_with("MMM dd HH:mm:ss", "Apr 17 09:32:01"), "2024-04-17T09:32:01.000Z");
  EXPECT_EQ(parse_with("MMM  d HH:mm:ss", "Apr  7 09:32:01"), "2024-04-07T09:32:01.000Z");
}

TEST(DateFilter, DecemberDateParsedInJanuaryBelongsToLastYear) {
  ClockAt now("2024-01-01T00:05:00Z");
  EXPECT_EQ(parse_with("MMM dd HH:mm:ss", "Dec 31 23:59:59"), "2023-12-31T23:59:59.000Z");
  EXPECT_EQ(parse_with("MMM dd HH:mm:ss", "Jan 01 00:04:00"), "2024-01-01T00:04:00.000Z");
}

TEST(DateFilter, JanuaryDateParsedInDecemberBelongsToNextYear) {
  ClockAt now("2023-12-31T23:59:00Z");
  EXPECT_EQ(parse_with("MMM dd HH:mm:ss", "Jan 01 00:00:01"), "2024-01-01T00:00:01.000Z");
}

TEST(DateFilter, YearlessFebruary29ClampsInCommonYears) {
  ClockAt now("2023-03-01T00:00:00Z");
  EXPECT_EQ(parse_with("MMM dd HH:mm:ss", "Feb 29 10:00:00"), "2023-02-28T10:00:00.000Z");
}

// One filter (one thread's remembered answers) across months, spellings and clocks: the last
// month name looked up and the last "now" are reused only for the same text and the same second.
TEST(DateFilter, RepeatedMonthsAndClockChangesGiveFreshAnswers) {
  auto filter = make_filter("date", "match => [\"logdate\", \"MMM dd yyyy\"]");
  EXPECT_EQ(run(*filter, Value("Nov 27 2026")), "2026-11-27T00:00:00.000Z");
  EXPECT_EQ(run(*filter, Value("Nov 27 2026")), "2026-11-27T00:00:00.000Z");
  EXPECT_EQ(run(*filter, Value("Dec 27 2026")), "2026-12-27T00:00:00.000Z");
  EXPECT_EQ(run(*filter, Value("NOV 27 2026")), "2026-11-27T00:00:00.000Z");
  EXPECT_EQ(run(*filter, Value("nov 27 2026")), "2026-11-27T00:00:00.000Z");
  EXPECT_EQ(run(*filter, Value("November 27 2026")), "2026-11-27T00:00:00.000Z");
  EXPECT_EQ(run(*filter, Value("Novem 27 2026")), "failed:_dateparsefailure");
  EXPECT_EQ(run(*filter, Value("nOV 27 2026")), "failed:_dateparsefailure");  // Joda: as written, lower or upper
  EXPECT_EQ(run(*filter, Value("Nov 27 2026")), "2026-11-27T00:00:00.000Z");
  EXPECT_EQ(run(*filter, Value("Jun 01 2026")), "2026-06-01T00:00:00.000Z");
  EXPECT_EQ(run(*filter, Value("June 01 2026")), "2026-06-01T00:00:00.000Z");

  auto yearless = make_filter("date", "match => [\"logdate\", \"MMM dd HH:mm:ss\"]");
  {
    ClockAt now("2024-01-01T00:05:00Z");
    EXPECT_EQ(run(*yearless, Value("Dec 31 23:59:59")), "2023-12-31T23:59:59.000Z");
  }
  {
    ClockAt now("2024-06-15T12:00:00Z");
    EXPECT_EQ(run(*yearless, Value("Dec 31 23:59:59")), "2024-12-31T23:59:59.000Z");
  }
  {
    ClockAt now("2024-01-01T00:05:00Z");
    EXPECT_EQ(run(*yearless, Value("Dec 31 23:59:59")), "2023-12-31T23:59:59.000Z");
  }
}

// Each filter keeps the last text it parsed on a thread with its outcome: filters that take
// turns on one text, or that replace one another at the same address, keep their own answers.
TEST(DateFilter, TheLastParseIsKeptPerFilter) {
  auto utc = make_filter("date", R"(match => ["logdate", "yyyy-MM-dd HH:mm:ss"])");
  auto paris = make_filter("date", R"(match => ["logdate", "yyyy-MM-dd HH:mm:ss"] timezone => "Europe/Paris")");
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(run(*utc, Value("2024-07-01 12:00:00")), "2024-07-01T12:00:00.000Z");
    EXPECT_EQ(run(*paris, Value("2024-07-01 12:00:00")), "2024-07-01T10:00:00.000Z");
  }
  EXPECT_EQ(run(*utc, Value("2024-07-01 12:00:01")), "2024-07-01T12:00:01.000Z");
  EXPECT_EQ(run(*utc, Value("2024-07-01 12:00:0x")), "failed:_dateparsefailure");
  EXPECT_EQ(run(*utc, Value("2024-07-01 12:00:0x")), "failed:_dateparsefailure");
  for (const char* zone : {"UTC", "Asia/Tokyo", "UTC"}) {
    auto replaced = make_filter("date", std::string(R"(match => ["logdate", "yyyy-MM-dd HH:mm:ss"] timezone => ")") +
                                            zone + "\"");
    EXPECT_EQ(run(*replaced, Value("2024-07-01 12:00:00")),
              std::string_view(zone) == "UTC" ? "2024-07-01T12:00:00.000Z" : "2024-07-01T03:00:00.000Z")
        << zone;
  }
}

TEST(DateFilter, Iso8601Forms) {
  auto filter = make_filter("date", R"(match => ["logdate", "ISO8601"])");
  EXPECT_EQ(run(*filter, Value("2011-04-19T03:44:01.103Z")), "2011-04-19T03:44:01.103Z");
  EXPECT_EQ(run(*filter, Value("2011-04-19T03:44:01+02:00")), "2011-04-19T01:44:01.000Z");
  EXPECT_EQ(run(*filter, Value("2011-04-19T03:44:01-0130")), "2011-04-19T05:14:01.000Z");
  EXPECT_EQ(run(*filter, Value("2011-04-19T03:44")), "2011-04-19T03:44:00.000Z");
  EXPECT_EQ(run(*filter, Value("2011-04-19")), "2011-04-19T00:00:00.000Z");
  EXPECT_EQ(run(*filter, Value("2011-04-19T03:44:01.123456789Z")), "2011-04-19T03:44:01.123Z");
  EXPECT_EQ(run(*filter, Value("2011-04-19T03:44:01,5Z")), "2011-04-19T03:44:01.500Z");
  EXPECT_EQ(run(*filter, Value("2011-W16-2T10:00:00Z")), "2011-04-19T10:00:00.000Z");
  EXPECT_EQ(run(*filter, Value("2011-109")), "2011-04-19T00:00:00.000Z");
  // Logstash's "almost ISO8601" fallbacks need the milliseconds.
  EXPECT_EQ(run(*filter, Value("2011-04-19 03:44:01.103")), "2011-04-19T03:44:01.103Z");
  EXPECT_EQ(run(*filter, Value("2011-04-19 03:44:01,103+0100")), "2011-04-19T02:44:01.103Z");
  EXPECT_EQ(run(*filter, Value("2011-04-19 03:44:01")), "failed:_dateparsefailure");
  EXPECT_EQ(run(*filter, Value("2011-13-19T03:44:01Z")), "failed:_dateparsefailure");
  EXPECT_EQ(run(*filter, Value("2011-02-30")), "failed:_dateparsefailure");
  EXPECT_EQ(run(*filter, Value("")), "failed:_dateparsefailure");
}

TEST(DateFilter, Iso8601UsesTheTimezoneOptionWithoutOffset) {
  auto filter = make_filter("date", R"(match => ["logdate", "ISO8601"] timezone => "Europe/Paris")");
  EXPECT_EQ(run(*filter, Value("2020-07-01T12:00:00")), "2020-07-01T10:00:00.000Z");
  EXPECT_EQ(run(*filter, Value("2020-07-01T12:00:00Z")), "2020-07-01T12:00:00.000Z");
}

TEST(DateFilter, UnixSeconds) {
  auto filter = make_filter("date", R"(match => ["logdate", "UNIX"])");
  EXPECT_EQ(run(*filter, Value("1326149001.132")), "2012-01-09T22:43:21.132Z");
  EXPECT_EQ(run(*filter, Value("1326149001.1")), "2012-01-09T22:43:21.100Z");
  EXPECT_EQ(run(*filter, Value("1326149001")), "2012-01-09T22:43:21.000Z");
  EXPECT_EQ(run(*filter, Value(int64_t(1326149001))), "2012-01-09T22:43:21.000Z");
  EXPECT_EQ(run(*filter, Value(1326149001.5)), "2012-01-09T22:43:21.500Z");
  EXPECT_EQ(run(*filter, Value("abc")), "failed:_dateparsefailure");
  EXPECT_EQ(run(*filter, Value("99999999999")), "failed:_dateparsefailure");
  EXPECT_EQ(run(*filter, Value("12.")), "failed:_dateparsefailure");
}

TEST(DateFilter, UnixMillis) {
  auto filter = make_filter("date", R"(match => ["logdate", "UNIX_MS"])");
  EXPECT_EQ(run(*filter, Value("1326149001132")), "2012-01-09T22:43:21.132Z");
  EXPECT_EQ(run(*filter, Value(int64_t(1326149001132))), "2012-01-09T22:43:21.132Z");
  EXPECT_EQ(run(*filter, Value("1326149001.132")), "failed:_dateparsefailure");
}

TEST(DateFilter, Tai64n) {
  auto filter = make_filter("date", R"(match => ["logdate", "TAI64N"])");
  EXPECT_EQ(run(*filter, Value("@4000000050d506482dbdf024")), "2012-12-22T01:00:46.767Z");
  EXPECT_EQ(run(*filter, Value("4000000050d506482dbdf024")), "2012-12-22T01:00:46.767Z");
  EXPECT_EQ(run(*filter, Value("@40000000")), "failed:_dateparsefailure");
  EXPECT_EQ(run(*filter, Value("@4000000050d50648zzzzzzzz")), "failed:_dateparsefailure");
}

TEST(DateFilter, JodaPatterns) {
  EXPECT_EQ(parse_with("yyyy-MM-dd'T'HH:mm:ssZ", "2013-01-01T00:00:00-0800"), "2013-01-01T08:00:00.000Z");
  EXPECT_EQ(parse_with("yyyy-MM-dd'T'HH:mm:ssZZ", "2013-01-01T00:00:00+05:30"), "2012-12-31T18:30:00.000Z");
  EXPECT_EQ(parse_with("yyyy-MM-dd'T'HH:mm:ssZ", "2013-01-01T00:00:00Z"), "2013-01-01T00:00:00.000Z");
  EXPECT_EQ(parse_with("yyyyMMddHHmmss", "20130102030405"), "2013-01-02T03:04:05.000Z");
  EXPECT_EQ(parse_with("dd/MMM/yyyy:HH:mm:ss Z", "10/Oct/2000:13:55:36 -0700"), "2000-10-10T20:55:36.000Z");
  EXPECT_EQ(parse_with("yyyy-MM-dd HH:mm:ss.SSSSSS", "2013-01-01 00:00:00.123456"), "2013-01-01T00:00:00.123Z");
  EXPECT_EQ(parse_with("yyyy-MM-dd HH:mm:ss.SSS", "2013-01-01 00:00:00.5"), "2013-01-01T00:00:00.500Z");
  EXPECT_EQ(parse_with("EEEE, dd MMMM yyyy hh:mm:ss a", "Tuesday, 02 January 2018 10:00:00 PM"),
            "2018-01-02T22:00:00.000Z");
  EXPECT_EQ(parse_with("EEE MMM dd HH:mm:ss yyyy", "tue JAN 02 12:00:00 2018"), "2018-01-02T12:00:00.000Z");
  EXPECT_EQ(parse_with("hh:mm a dd.MM.yyyy", "12:30 AM 02.01.2018"), "2018-01-02T00:30:00.000Z");
  EXPECT_EQ(parse_with("yyyy-MM-dd HH:mm:ss ZZZ", "2013-01-01 00:00:00 Europe/Paris"), "2012-12-31T23:00:00.000Z");
  EXPECT_EQ(parse_with("yyyy-MM-dd HH:mm:ss z", "2013-07-01 00:00:00 EST"), "2013-07-01T04:00:00.000Z");
  EXPECT_EQ(parse_with("yyyy-MM-dd HH:mm:ss z", "2013-01-01 00:00:00 UTC"), "2013-01-01T00:00:00.000Z");
  EXPECT_EQ(parse_with("d/M/yyyy", "2/1/2018"), "2018-01-02T00:00:00.000Z");
  EXPECT_EQ(parse_with("yyyy-MM-dd", "2018-01-02 trailing"), "failed:_dateparsefailure");
  EXPECT_EQ(parse_with("yyyy-MM-dd HH:mm", "2018-01-02 25:00"), "failed:_dateparsefailure");
  EXPECT_EQ(parse_with("MMM dd yyyy", "Foo 01 2018"), "failed:_dateparsefailure");
}

TEST(DateFilter, TwoDigitYearsPivotAroundNow) {
  auto filter = make_filter("date", R"(match => ["logdate", "yy-MM-dd"])");
  EXPECT_EQ(run(*filter, Value("13-01-02")), "2013-01-02T00:00:00.000Z");
  // Lenient: a full year is accepted where two digits were expected.
  EXPECT_EQ(run(*filter, Value("2013-01-02")), "2013-01-02T00:00:00.000Z");
}

TEST(DateFilter, TimezoneOptionAndDaylightSavingTransitions) {
  const std::string tz = R"(timezone => "America/New_York")";
  EXPECT_EQ(parse_with("yyyy-MM-dd HH:mm:ss", "2013-01-01 00:00:00", tz), "2013-01-01T05:00:00.000Z");
  EXPECT_EQ(parse_with("yyyy-MM-dd HH:mm:ss", "2013-07-01 00:00:00", tz), "2013-07-01T04:00:00.000Z");
  // A local time inside the spring-forward gap does not exist: Joda refuses it.
  EXPECT_EQ(parse_with("yyyy-MM-dd HH:mm:ss", "2016-03-13 02:30:00", tz), "failed:_dateparsefailure");
  // A repeated local time takes the earlier instant (daylight time).
  EXPECT_EQ(parse_with("yyyy-MM-dd HH:mm:ss", "2016-11-06 01:30:00", tz), "2016-11-06T05:30:00.000Z");
  // An offset in the text wins over the option.
  EXPECT_EQ(parse_with("yyyy-MM-dd HH:mm:ssZ", "2013-01-01 00:00:00+0000", tz), "2013-01-01T00:00:00.000Z");
  EXPECT_EQ(parse_with("yyyy-MM-dd HH:mm:ss", "2013-01-01 00:00:00", R"(timezone => "+02:00")"),
            "2012-12-31T22:00:00.000Z");
}

TEST(DateFilter, TimezoneFromAFieldReference) {
  auto filter = make_filter("date", R"(match => ["logdate", "yyyy-MM-dd HH:mm:ss"] timezone => "%{tz}")");
  Event event;
  event.fields()["logdate"] = Value("2013-01-01 00:00:00");
  event.fields()["tz"] = Value("Asia/Tokyo");
  test::TestFilterContext context;
  ASSERT_TRUE(filter->filter(event, context));
  EXPECT_EQ(iso(event.timestamp()), "2012-12-31T15:00:00.000Z");

  Event bad;
  bad.fields()["logdate"] = Value("2013-01-01 00:00:00");
  bad.fields()["tz"] = Value("Not/AZone");
  EXPECT_FALSE(filter->filter(bad, context));
  EXPECT_TRUE(bad.has_tag("_dateparsefailure"));
}

TEST(DateFilter, FirstMatchingFormatWins) {
  auto filter = make_filter("date", R"(match => ["logdate", "yyyy-MM-dd", "UNIX", "ISO8601"])");
  EXPECT_EQ(run(*filter, Value("2013-01-02")), "2013-01-02T00:00:00.000Z");
  EXPECT_EQ(run(*filter, Value("1326149001")), "2012-01-09T22:43:21.000Z");
  EXPECT_EQ(run(*filter, Value("2011-04-19T03:44:01Z")), "2011-04-19T03:44:01.000Z");
}

TEST(DateFilter, TargetFieldAndCustomFailureTags) {
  auto filter = make_filter(
      "date", R"(match => ["[a][when]", "UNIX"] target => "[parsed][ts]" tag_on_failure => ["bad_date", "x"])");
  Event event;
  event.put(FieldRef::of("[a][when]")) = Value("0");
  Timestamp before = event.timestamp();
  test::TestFilterContext context;
  ASSERT_TRUE(filter->filter(event, context));
  const Value* parsed = test::field(event, "[parsed][ts]");
  ASSERT_NE(parsed, nullptr);
  ASSERT_TRUE(parsed->is_timestamp());
  EXPECT_EQ(parsed->as_timestamp().nanos, 0);
  (void)before;

  Event failing;
  failing.put(FieldRef::of("[a][when]")) = Value("never");
  EXPECT_FALSE(filter->filter(failing, context));
  EXPECT_TRUE(failing.has_tag("bad_date"));
  EXPECT_TRUE(failing.has_tag("x"));
  EXPECT_FALSE(failing.contains(FieldRef::of("[parsed][ts]")));
}

TEST(DateFilter, MissingFieldIsLeftAlone) {
  auto filter = make_filter("date", R"(match => ["logdate", "ISO8601"])");
  Event event;
  event.fields()["other"] = Value("x");
  test::TestFilterContext context;
  EXPECT_FALSE(filter->filter(event, context));
  EXPECT_FALSE(event.has_tag("_dateparsefailure"));
}

TEST(DateFilter, ArrayValueUsesItsFirstElement) {
  auto filter = make_filter("date", R"(match => ["logdate", "ISO8601"])");
  Array items;
  items.emplace_back("2011-04-19T03:44:01Z");
  items.emplace_back("garbage");
  EXPECT_EQ(run(*filter, Value(std::move(items))), "2011-04-19T03:44:01.000Z");
}

TEST(DateFilter, NumbersOnlyParseWithEpochFormats) {
  auto filter = make_filter("date", R"(match => ["logdate", "yyyy"])");
  EXPECT_EQ(run(*filter, Value(int64_t(2013))), "failed:_dateparsefailure");
  EXPECT_EQ(run(*filter, Value(true)), "failed:_dateparsefailure");
}

TEST(DateFilter, SameSecondTwiceConvertsTheZoneOnce) {
  auto filter = make_filter("date", R"(match => ["logdate", "yyyy-MM-dd HH:mm:ss.SSS"] timezone => "Europe/Berlin")");
  uint64_t before = date::zone_conversions_on_this_thread();
  EXPECT_EQ(run(*filter, Value("2020-05-01 10:00:00.001")), "2020-05-01T08:00:00.001Z");
  EXPECT_EQ(run(*filter, Value("2020-05-01 10:00:00.999")), "2020-05-01T08:00:00.999Z");
  EXPECT_EQ(date::zone_conversions_on_this_thread() - before, 1u);
  EXPECT_EQ(run(*filter, Value("2020-05-01 10:00:01.000")), "2020-05-01T08:00:01.000Z");
  EXPECT_EQ(date::zone_conversions_on_this_thread() - before, 2u);
}

TEST(DateFilter, ConfigErrorsNameThePosition) {
  try {
    make_filter("date", R"(match => ["logdate", "yyyy-MM-dd qq"])");
    FAIL() << "expected a config error";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("test.conf:1:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_filter("date", R"(match => ["logdate", "ISO8601"] timezone => "Mars/Olympus")"),
               config::ConfigError);
  EXPECT_THROW(make_filter("date", R"(match => ["logdate"])"), config::ConfigError);
  EXPECT_THROW(make_filter("date", R"(match => ["logdate", "'unterminated"])"), config::ConfigError);
}

TEST(DateFilter, AddTagOnlyOnSuccessViaReturnValue) {
  auto filter = make_filter("date", R"(match => ["logdate", "ISO8601"])");
  Event event;
  event.fields()["logdate"] = Value("2011-04-19T03:44:01Z");
  test::TestFilterContext context;
  EXPECT_TRUE(filter->filter(event, context));
  EXPECT_FALSE(event.has_tag("_dateparsefailure"));
}

}  // namespace
}  // namespace sluice
