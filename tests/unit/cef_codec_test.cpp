#include <gtest/gtest.h>

#include "config/parser.h"
#include "core/event_pool.h"
#include "core/time_format.h"
#include "parsers_test_support.h"
#include "plugins/codecs/cef/cef_format.h"
#include "plugins/filters/date/date_parser.h"

namespace sluice {
namespace {

using test::field;
using test::field_text;

const char* kSample = "CEF:0|security|threatmanager|1.0|100|trojan successfully stopped|10|src=10.0.0.192 "
                      "dst=12.121.122.82 spt=1232";

std::vector<std::unique_ptr<Event>> decode(const std::string& options, const std::string& data,
                                           const std::string& ecs = "v8", bool flush = true) {
  auto codec = test::make_codec("cef", options, ecs);
  test::CollectingSink sink;
  codec->decode(data, sink);
  if (flush) codec->flush(sink);
  return std::move(sink.events);
}

std::unique_ptr<Event> decode_one(const std::string& data, const std::string& ecs = "v8",
                                  const std::string& options = "") {
  auto events = decode(options, data, ecs);
  EXPECT_EQ(events.size(), 1u);
  return events.empty() ? std::make_unique<Event>() : std::move(events[0]);
}

std::string iso(Timestamp ts) {
  std::string out;
  format_iso8601(ts, out);
  return out;
}

TEST(CefCodec, DecodesHeaderAndExtensionsWithLegacyNames) {
  auto e = decode_one(kSample, "disabled");
  EXPECT_EQ(field_text(*e, "cefVersion"), "0");
  EXPECT_EQ(field_text(*e, "deviceVendor"), "security");
  EXPECT_EQ(field_text(*e, "deviceProduct"), "threatmanager");
  EXPECT_EQ(field_text(*e, "deviceVersion"), "1.0");
  EXPECT_EQ(field_text(*e, "deviceEventClassId"), "100");
  EXPECT_EQ(field_text(*e, "name"), "trojan successfully stopped");
  EXPECT_EQ(field_text(*e, "severity"), "10");
  EXPECT_EQ(field_text(*e, "sourceAddress"), "10.0.0.192");
  EXPECT_EQ(field_text(*e, "destinationAddress"), "12.121.122.82");
  EXPECT_EQ(field_text(*e, "sourcePort"), "1232");
  EXPECT_FALSE(e->has_tag("_cefparsefailure"));
  ASSERT_NE(field(*e, "@timestamp"), nullptr);
}

TEST(CefCodec, DecodesWithEcsNames) {
  auto e = decode_one(kSample, "v8");
  EXPECT_EQ(field_text(*e, "[cef][version]"), "0");
  EXPECT_EQ(field_text(*e, "[observer][vendor]"), "security");
  EXPECT_EQ(field_text(*e, "[observer][product]"), "threatmanager");
  EXPECT_EQ(field_text(*e, "[observer][version]"), "1.0");
  EXPECT_EQ(field_text(*e, "[event][code]"), "100");
  EXPECT_EQ(field_text(*e, "[cef][name]"), "trojan successfully stopped");
  EXPECT_EQ(field_text(*e, "[event][severity]"), "10");
  EXPECT_EQ(field_text(*e, "[source][ip]"), "10.0.0.192");
  EXPECT_EQ(field_text(*e, "[destination][ip]"), "12.121.122.82");
  EXPECT_EQ(field_text(*e, "[source][port]"), "1232");
  EXPECT_EQ(field(*e, "sourceAddress"), nullptr);
}

TEST(CefCodec, HeaderEscapes) {
  auto e = decode_one(R"(CEF:0|security|threat\|manager|1.0|100|back\\slash|10|)", "disabled");
  EXPECT_EQ(field_text(*e, "deviceProduct"), "threat|manager");
  EXPECT_EQ(field_text(*e, "name"), "back\\slash");
  EXPECT_EQ(field_text(*e, "severity"), "10");
  auto trailing = decode_one(R"(CEF:0|a|b|c|d|name\\|10|)", "disabled");
  EXPECT_EQ(field_text(*trailing, "name"), "name\\");
  EXPECT_EQ(field_text(*trailing, "severity"), "10");
}

TEST(CefCodec, ExtensionValuesRunToTheNextKey) {
  auto e = decode_one(R"(CEF:0|a|b|c|d|e|5|msg=hello  world = ok cs1=x.y request=http://h/p?q=1&r=2 act=blocked)",
                      "disabled");
  EXPECT_EQ(field_text(*e, "message"), "hello  world = ok");
  EXPECT_EQ(field_text(*e, "deviceCustomString1"), "x.y");
  EXPECT_EQ(field_text(*e, "requestUrl"), "http://h/p?q=1&r=2");
  EXPECT_EQ(field_text(*e, "deviceAction"), "blocked");
}

TEST(CefCodec, ExtensionEscapes) {
  auto e = decode_one(R"(CEF:0|a|b|c|d|e|5|msg=a\=b\\c\nd\re cs2=pipe|ok)", "disabled");
  EXPECT_EQ(field_text(*e, "message"), "a=b\\c\nd\re");
  EXPECT_EQ(field_text(*e, "deviceCustomString2"), "pipe|ok");
}

TEST(CefCodec, SyslogHeaderBeforeCef) {
  auto e = decode_one("<134>Nov 26 10:00:00 fw01 CEF:0|Vendor|Product|1|sig|name|5|src=1.1.1.1", "v8");
  EXPECT_EQ(field_text(*e, "[log][syslog][header]"), "<134>Nov 26 10:00:00 fw01");
  EXPECT_EQ(field_text(*e, "[cef][version]"), "0");
  auto legacy = decode_one("<134>Nov 26 10:00:00 fw01 CEF:0|Vendor|Product|1|sig|name|5|", "disabled");
  EXPECT_EQ(field_text(*legacy, "syslog"), "<134>Nov 26 10:00:00 fw01");
}

TEST(CefCodec, InvalidInputBecomesATaggedEvent) {
  for (const char* bad : {"not cef at all", "CEF:0|only|three|", "CEF:0|a|b|c|d|e|1|keyless value",
                          "CEF:0|a|b|c|d|e|1|src=1.1.1.1\nsecond line"}) {
    auto e = decode_one(bad, "v8");
    EXPECT_TRUE(e->has_tag("_cefparsefailure")) << bad;
    EXPECT_EQ(field_text(*e, "message"), bad);
  }
}

TEST(CefCodec, QuotedRecordAndTrailingNewline) {
  auto e = decode_one("\"CEF:0|a|b|c|d|e|1|src=1.1.1.1\"", "disabled");
  EXPECT_EQ(field_text(*e, "sourceAddress"), "1.1.1.1");
  auto nl = decode_one("CEF:0|a|b|c|d|e|1|src=1.1.1.1\r\n", "disabled");
  EXPECT_EQ(field_text(*nl, "sourceAddress"), "1.1.1.1");
}

TEST(CefCodec, UnknownKeysDuplicatesAndArraySyntax) {
  auto e = decode_one("CEF:0|a|b|c|d|e|1|custom_key=1 ad.user.name=bob foo[0]=x src=1.1.1.1 src=2.2.2.2",
                      "disabled");
  EXPECT_EQ(field_text(*e, "custom_key"), "1");
  ASSERT_NE(e->fields().find("ad.user.name"), nullptr);
  EXPECT_EQ(e->fields().find("ad.user.name")->as_string(), "bob");
  EXPECT_EQ(field_text(*e, "[foo][0]"), "x");
  EXPECT_EQ(field_text(*e, "sourceAddress"), "2.2.2.2");
  auto full_names = decode_one("CEF:0|a|b|c|d|e|1|sourceAddress=3.3.3.3", "v8");
  EXPECT_EQ(field_text(*full_names, "[source][ip]"), "3.3.3.3");
}

TEST(CefCodec, EcsTimestampsAreNormalized) {
  auto millis = decode_one("CEF:0|a|b|c|d|e|1|rt=1616623591000 start=1616623591123.5", "v8");
  ASSERT_TRUE(field(*millis, "@timestamp")->is_timestamp());
  EXPECT_EQ(iso(field(*millis, "@timestamp")->as_timestamp()), "2021-03-24T22:06:31.000Z");
  EXPECT_EQ(field(*millis, "[event][start]")->as_timestamp().nanos, 1616623591123500000LL);
  auto text = decode_one("CEF:0|a|b|c|d|e|1|end=Mar 24 2021 22:06:31.123 UTC dtz=Europe/Paris art=Mar 24 2021 12:00:00",
                         "v8");
  EXPECT_EQ(iso(field(*text, "[event][end]")->as_timestamp()), "2021-03-24T22:06:31.123Z");
  EXPECT_EQ(iso(field(*text, "[event][created]")->as_timestamp()), "2021-03-24T11:00:00.000Z");  // device zone
  EXPECT_EQ(field_text(*text, "[event][timezone]"), "Europe/Paris");
  auto bad = decode_one("CEF:0|a|b|c|d|e|1|rt=yesterday", "v8");
  EXPECT_TRUE(bad->has_tag("_cefparsefailure"));
  auto legacy = decode_one("CEF:0|a|b|c|d|e|1|rt=yesterday", "disabled");
  EXPECT_EQ(field_text(*legacy, "deviceReceiptTime"), "yesterday");  // no normalization without ECS
}

Timestamp fixed_now_value;
Timestamp fixed_now() { return fixed_now_value; }

TEST(CefCodec, YearlessTimestampsAssumeARecentYear) {
  ASSERT_TRUE(parse_iso8601("2024-01-01T06:00:00Z", fixed_now_value));
  date::set_clock_for_testing(&fixed_now);
  Timestamp ts;
  ASSERT_TRUE(cef::parse_cef_timestamp("Dec 31 23:00:00", cctz::utc_time_zone(), ts));
  EXPECT_EQ(iso(ts), "2023-12-31T23:00:00.000Z");
  ASSERT_TRUE(cef::parse_cef_timestamp("Jan 02 01:00:00.123456", cctz::utc_time_zone(), ts));
  EXPECT_EQ(iso(ts), "2024-01-02T01:00:00.123456Z");
  date::set_clock_for_testing(nullptr);
  EXPECT_FALSE(cef::parse_cef_timestamp("Feb 30 2021 10:00:00", cctz::utc_time_zone(), ts));
  EXPECT_FALSE(cef::parse_cef_timestamp("Mar 24 2021 10:00:00.1234", cctz::utc_time_zone(), ts));
}

TEST(CefCodec, DelimiterSplitsTheStream) {
  auto codec = test::make_codec("cef", R"(delimiter => "\r\n")", "disabled");
  test::CollectingSink sink;
  codec->decode("CEF:0|a|b|c|d|e|1|src=1.1.1.1\r\nCEF:0|a|b|c|d|e|1|src=2.", sink);
  ASSERT_EQ(sink.events.size(), 1u);
  codec->decode("2.2.2\r\nCEF:0|a|b|c|d|e|1|src=3.3.3.3", sink);
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(field_text(*sink.events[1], "sourceAddress"), "2.2.2.2");
  codec->flush(sink);
  ASSERT_EQ(sink.events.size(), 3u);
  EXPECT_EQ(field_text(*sink.events[2], "sourceAddress"), "3.3.3.3");
}

TEST(CefCodec, RawDataField) {
  auto e = decode_one(kSample, "v8", R"(raw_data_field => "[event][original]")");
  EXPECT_EQ(field_text(*e, "[event][original]"), kSample);
}

TEST(CefCodec, EncodesHeaderAndFields) {
  auto codec = test::make_codec(
      "cef", R"(vendor => "%{v}" product => "P|Q" severity => "%{sev}" fields => ["sourceAddress", "msg", "tags", "missing"])",
      "disabled");
  Event event;
  event.fields()["v"] = Value("Acme");
  event.fields()["sev"] = Value("3.0");
  event.fields()["sourceAddress"] = Value("1.2.3.4");
  event.fields()["msg"] = Value("a=b\nc\\d");
  event.add_tag("x");
  std::string out;
  codec->encode(event, out);
  EXPECT_EQ(out, "CEF:0|Acme|P\\|Q|1.0|Logstash|Logstash|3|sourceAddress=1.2.3.4 msg=a\\=b\\nc\\\\d tags=[\"x\"]");
}

TEST(CefCodec, EncodeSeverityAndDefaults) {
  auto codec = test::make_codec("cef", R"(severity => "11" vendor => "%{nothing_here}x")", "disabled");
  Event event;
  std::string out;
  codec->encode(event, out);
  EXPECT_EQ(out, "CEF:0|%{nothing_here}x|Logstash|1.0|Logstash|Logstash|6|");
}

TEST(CefCodec, ReverseMappingUsesShortKeysAndRoundTrips) {
  auto codec = test::make_codec("cef", R"(reverse_mapping => true fields => ["[source][ip]", "[destination][port]"] delimiter => "\n")",
                                "v8");
  Event event;
  event.put(FieldRef::of("[source][ip]")) = Value("10.1.1.1");
  event.put(FieldRef::of("[destination][port]")) = Value(int64_t(443));
  std::string out;
  codec->encode(event, out);
  EXPECT_EQ(out, "CEF:0|Elasticsearch|Logstash|1.0|Logstash|Logstash|6|src=10.1.1.1 dpt=443\n");
  test::CollectingSink sink;
  codec->decode(out, sink);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(field_text(*sink.events[0], "[source][ip]"), "10.1.1.1");
  EXPECT_EQ(field_text(*sink.events[0], "[destination][port]"), "443");
}

TEST(CefFilter, ParsesAFieldIntoTheEventOrATarget) {
  auto filter = test::make_filter("cef", "", "v8");
  auto event = test::event_with_message(kSample);
  test::TestFilterContext context;
  ASSERT_TRUE(filter->filter(*event, context));
  EXPECT_EQ(field_text(*event, "[source][ip]"), "10.0.0.192");
  EXPECT_EQ(field_text(*event, "[event][severity]"), "10");

  auto targeted = test::make_filter("cef", R"(source => "raw" target => "cef_data" ecs_compatibility => disabled)");
  Event other;
  other.fields()["raw"] = Value(kSample);
  ASSERT_TRUE(targeted->filter(other, context));
  EXPECT_EQ(field_text(other, "[cef_data][sourceAddress]"), "10.0.0.192");
  EXPECT_EQ(field_text(other, "[cef_data][name]"), "trojan successfully stopped");
}

TEST(CefFilter, InvalidRecordIsTaggedAndUntouched) {
  auto filter = test::make_filter("cef", R"(tag_on_failure => ["not_cef"])");
  auto event = test::event_with_message("CEF:0|a|b|c|d|e|1|src=1.1.1.1 trailing junk=");
  test::TestFilterContext context;
  auto good = test::event_with_message("hello");
  EXPECT_FALSE(filter->filter(*good, context));
  EXPECT_TRUE(good->has_tag("not_cef"));
  EXPECT_EQ(field_text(*good, "message"), "hello");
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

TEST(CefCodecQuoted, DroppingTheClosingCharacterKeepsUtf8Whole) {
  // A line starting with `"` loses its first and last character (Ruby's data[1..-2]): a multi-byte last
  // character must go whole, or the rest would be invalid UTF-8 (found by the cef fuzzer).
  sluice::cef::FormatSettings settings;
  settings.ecs = false;
  sluice::cef::Format format(settings);
  sluice::cef::ParsedRecord record;
  std::string error;
  ASSERT_TRUE(format.parse("\"CEF:0|v|p|1.0|100|name|10|msg=caf\xC3\xA9 x\xC2\x81", record, &error)) << error;
  sluice::Event event;
  sluice::cef::Format::apply(record, event.fields());
  const Value* msg = event.fields().find("message");
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(msg->as_string(), "caf\xC3\xA9 x");
}

}  // namespace
}  // namespace sluice
