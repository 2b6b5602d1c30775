// Joda / java.time formatting, ISO8601 output and parsing.
#include "core/time_format.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace sluice {
namespace {

// 2024-03-05T07:08:09.123456789Z, a Tuesday, day 65 of a leap year, ISO week 10.
const Timestamp kSample = Timestamp::from_seconds(1709622489, 123456789);

TEST(TimeFormatTest, JodaNumbers) {
  EXPECT_EQ(TimeFormat::joda("YYYY.MM.dd").format(kSample), "2024.03.05");
  EXPECT_EQ(TimeFormat::joda("yy-M-d H:m:s").format(kSample), "24-3-5 7:8:9");
  EXPECT_EQ(TimeFormat::joda("yyyy-MM-dd'T'HH:mm:ss.SSSZ").format(kSample), "2024-03-05T07:08:09.123+0000");
  EXPECT_EQ(TimeFormat::joda("DDD w e").format(kSample), "065 10 2");
  EXPECT_EQ(TimeFormat::joda("xxxx-'W'ww").format(kSample), "2024-W10");
  EXPECT_EQ(TimeFormat::joda("hh a KK kk").format(Timestamp::from_seconds(0)), "12 AM 00 24");
}

TEST(TimeFormatTest, JodaText) {
  EXPECT_EQ(TimeFormat::joda("EEE, dd MMM yyyy").format(kSample), "Tue, 05 Mar 2024");
  EXPECT_EQ(TimeFormat::joda("EEEE MMMM").format(kSample), "Tuesday March");
  EXPECT_EQ(TimeFormat::joda("'it''s' HH'h'").format(kSample), "it's 07h");
  EXPECT_EQ(TimeFormat::joda("ZZ ZZZ").format(kSample), "+00:00 UTC");
}

TEST(TimeFormatTest, Zones) {
  TimeFormat f = TimeFormat::joda("yyyy-MM-dd HH:mm Z z");
  f.zone = "Europe/Paris";
  EXPECT_EQ(f.format(kSample), "2024-03-05 08:08 +0100 CET");
  f.zone = "America/New_York";
  // Summer time: July.
  EXPECT_EQ(f.format(Timestamp::from_seconds(1720000000)), "2024-07-03 05:46 -0400 EDT");
  f.zone = "+05:30";
  EXPECT_EQ(f.format(kSample), "2024-03-05 12:38 +0530 +0530");
}

TEST(TimeFormatTest, IsoWeekAtYearEdges) {
  // 2021-01-01 is a Friday: ISO week 53 of 2020.
  EXPECT_EQ(TimeFormat::joda("xxxx-ww").format(Timestamp::from_seconds(1609459200)), "2020-53");
  // 2024-12-30 is a Monday: week 1 of 2025.
  EXPECT_EQ(TimeFormat::joda("xxxx-ww").format(Timestamp::from_seconds(1735516800)), "2025-01");
}

TEST(TimeFormatTest, JodaWorksInMillisecondsJavaInNanoseconds) {
  EXPECT_EQ(TimeFormat::joda("ss.SSSSSS").format(kSample), "09.123000");
  EXPECT_EQ(TimeFormat::java("ss.SSSSSS").format(kSample), "09.123456");
}

TEST(TimeFormatTest, JavaPatterns) {
  EXPECT_EQ(TimeFormat::java("yyyy-MM-dd").format(kSample), "2024-03-05");
  EXPECT_EQ(TimeFormat::java("uuuu-MM-dd'T'HH:mm:ss.SSSSSSX").format(kSample), "2024-03-05T07:08:09.123456Z");
  EXPECT_EQ(TimeFormat::java("YYYY-'W'ww").format(kSample), "2024-W10");
  EXPECT_EQ(TimeFormat::java("xxx").format(kSample), "+00:00");
  EXPECT_EQ(TimeFormat::java("[yyyy]").format(kSample), "2024");
}

TEST(TimeFormatTest, UnknownLettersThrow) {
  EXPECT_THROW(TimeFormat::joda("yyyy-bb"), std::invalid_argument);
  EXPECT_THROW(TimeFormat::java("yyyy-'open"), std::invalid_argument);
  // The token list is available for parsers.
  TimeFormat f = TimeFormat::joda("yyyy-MM");
  ASSERT_EQ(f.tokens.size(), 3u);
  EXPECT_EQ(f.tokens[0].field, TimeFormat::Token::Field::Year);
  EXPECT_EQ(f.tokens[0].count, 4);
  EXPECT_EQ(f.tokens[1].literal, "-");
}

std::string iso(Timestamp ts) {
  std::string s;
  format_iso8601(ts, s);
  return s;
}

TEST(Iso8601Test, MillisecondsUnlessFinerPartsExist) {
  EXPECT_EQ(iso(Timestamp::from_seconds(1714564800)), "2024-05-01T12:00:00.000Z");
  EXPECT_EQ(iso(Timestamp::from_seconds(1714564800, 120000000)), "2024-05-01T12:00:00.120Z");
  EXPECT_EQ(iso(Timestamp::from_seconds(1714564800, 123400000)), "2024-05-01T12:00:00.123400Z");
  EXPECT_EQ(iso(Timestamp::from_seconds(1714564800, 1)), "2024-05-01T12:00:00.000000001Z");
  EXPECT_EQ(iso(Timestamp{-1000000}), "1969-12-31T23:59:59.999Z");
  // The per-thread cache of the current second must not leak into a different second.
  EXPECT_EQ(iso(Timestamp::from_seconds(1714564801)), "2024-05-01T12:00:01.000Z");
  std::string appended = "x";
  format_iso8601(Timestamp::from_seconds(0), appended);
  EXPECT_EQ(appended, "x1970-01-01T00:00:00.000Z");
}

TEST(Iso8601Test, ParsesLogstashForms) {
  Timestamp ts;
  ASSERT_TRUE(parse_iso8601("2024-05-01T12:00:00.123Z", ts));
  EXPECT_EQ(ts, Timestamp::from_seconds(1714564800, 123000000));
  ASSERT_TRUE(parse_iso8601("2024-05-01T14:00:00+02:00", ts));
  EXPECT_EQ(ts, Timestamp::from_seconds(1714564800));
  ASSERT_TRUE(parse_iso8601("2024-05-01T07:00-0500", ts));
  EXPECT_EQ(ts, Timestamp::from_seconds(1714564800));
  ASSERT_TRUE(parse_iso8601("2024-05-01", ts));
  EXPECT_EQ(ts, Timestamp::from_seconds(1714521600));
  ASSERT_TRUE(parse_iso8601("2024-05-01t12:00:00.000000001z", ts));
  EXPECT_EQ(ts, Timestamp::from_seconds(1714564800, 1));
  ASSERT_TRUE(parse_iso8601("2024-01-01T01:00:00Europe/Paris", ts));
  EXPECT_EQ(ts, Timestamp::from_seconds(1704067200));
  for (const char* bad : {"", "2024", "2024-13-01", "2024-02-30", "2024-05-01T25:00", "2024-05-01T12:00:00.Z",
                          "2024-05-01T12:00:00Q/Nowhere", "2024-05-01 12:00:00"}) {
    EXPECT_FALSE(parse_iso8601(bad, ts)) << bad;
  }
}

TEST(TimestampTest, NowIsRecentWithNanoseconds) {
  Timestamp a = Timestamp::now();
  EXPECT_GT(a.seconds(), 1700000000);
  EXPECT_GE(a.subsec_nanos(), 0);
  EXPECT_LT(a.subsec_nanos(), 1000000000);
}

}  // namespace
}  // namespace sluice
