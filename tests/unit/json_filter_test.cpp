#include <gtest/gtest.h>

#include "config/parser.h"
#include "core/time_format.h"
#include "parsers_test_support.h"

namespace sluice {
namespace {

using test::field;
using test::field_text;
using test::make_filter;

struct JsonRun {
  std::unique_ptr<Event> event;
  bool matched = false;
};

JsonRun run_json(const std::string& options, const std::string& message) {
  auto filter = make_filter("json", options);
  JsonRun run;
  run.event = test::event_with_message(message);
  test::TestFilterContext context;
  run.matched = filter->filter(*run.event, context);
  return run;
}

TEST(JsonFilter, ObjectKeysMergeIntoTheRoot) {
  JsonRun r = run_json(R"(source => "message")", R"({"a":1,"b":{"c":[true,null,2.5]},"s":"x"})");
  ASSERT_TRUE(r.matched);
  const Value* a = field(*r.event, "a");
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->is_int());
  EXPECT_EQ(a->as_int(), 1);
  const Value* c = field(*r.event, "[b][c]");
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->is_array());
  EXPECT_TRUE(c->as_array()[0].is_bool());
  EXPECT_TRUE(c->as_array()[1].is_null());
  EXPECT_DOUBLE_EQ(c->as_array()[2].as_float(), 2.5);
  EXPECT_EQ(field_text(*r.event, "s"), "x");
  EXPECT_EQ(field_text(*r.event, "message"), R"({"a":1,"b":{"c":[true,null,2.5]},"s":"x"})");
}

TEST(JsonFilter, TargetReceivesAnyJsonValue) {
  JsonRun obj = run_json(R"(source => "message" target => "[doc]")", R"({"k":"v"})");
  ASSERT_TRUE(obj.matched);
  EXPECT_EQ(field_text(*obj.event, "[doc][k]"), "v");
  JsonRun arr = run_json(R"(source => "message" target => "doc")", "[1,2,3]");
  ASSERT_TRUE(arr.matched);
  ASSERT_TRUE(field(*arr.event, "doc")->is_array());
  EXPECT_EQ(field(*arr.event, "doc")->as_array().size(), 3u);
  JsonRun scalar = run_json(R"(source => "message" target => "doc")", "\"text\"");
  EXPECT_EQ(field_text(*scalar.event, "doc"), "text");
}

TEST(JsonFilter, ArrayOrScalarWithoutTargetIsAFailure) {
  JsonRun arr = run_json(R"(source => "message")", "[1,2]");
  EXPECT_FALSE(arr.matched);
  EXPECT_TRUE(arr.event->has_tag("_jsonparsefailure"));
  JsonRun number = run_json(R"(source => "message")", "42");
  EXPECT_TRUE(number.event->has_tag("_jsonparsefailure"));
}

TEST(JsonFilter, InvalidJsonIsTaggedUnlessSkipped) {
  JsonRun bad = run_json(R"(source => "message")", "{not json");
  EXPECT_FALSE(bad.matched);
  EXPECT_TRUE(bad.event->has_tag("_jsonparsefailure"));
  EXPECT_EQ(field_text(*bad.event, "message"), "{not json");
  JsonRun custom = run_json(R"(source => "message" tag_on_failure => ["bad", "json"])", "{");
  EXPECT_TRUE(custom.event->has_tag("bad"));
  EXPECT_TRUE(custom.event->has_tag("json"));
  JsonRun skipped = run_json(R"(source => "message" skip_on_invalid_json => true)", "plain text");
  EXPECT_FALSE(skipped.matched);
  EXPECT_FALSE(skipped.event->has_tag("_jsonparsefailure"));
}

TEST(JsonFilter, EmptyTextIsNil) {
  JsonRun with_target = run_json(R"(source => "message" target => "doc")", "  ");
  EXPECT_TRUE(with_target.matched);
  ASSERT_NE(field(*with_target.event, "doc"), nullptr);
  EXPECT_TRUE(field(*with_target.event, "doc")->is_null());
  JsonRun without = run_json(R"(source => "message")", "");
  EXPECT_TRUE(without.event->has_tag("_jsonparsefailure"));
}

TEST(JsonFilter, TimestampIsCoerced) {
  JsonRun good = run_json(R"(source => "message")", R"({"@timestamp":"2020-01-02T03:04:05.678Z","a":1})");
  ASSERT_TRUE(good.matched);
  std::string text;
  format_iso8601(good.event->timestamp(), text);
  EXPECT_EQ(text, "2020-01-02T03:04:05.678Z");
  JsonRun bad = run_json(R"(source => "message")", R"({"@timestamp":"yesterday"})");
  EXPECT_TRUE(bad.matched);
  EXPECT_TRUE(bad.event->has_tag("_timestampparsefailure"));
  EXPECT_EQ(field_text(*bad.event, "_@timestamp"), "yesterday");
}

TEST(JsonFilter, KeysAreFieldReferencesAndMetadataIsKept) {
  JsonRun r = run_json(R"(source => "message")", R"({"[x][y]":1,"@metadata":{"m":"v"}})");
  ASSERT_TRUE(r.matched);
  EXPECT_EQ(field_text(*r.event, "[x][y]"), "1");
  EXPECT_EQ(field_text(*r.event, "[@metadata][m]"), "v");
  JsonRun bad = run_json(R"(source => "message")", R"({"a[b":1})");
  EXPECT_FALSE(bad.matched);
  EXPECT_TRUE(bad.event->has_tag("_jsonparsefailure"));
}

TEST(JsonFilter, MissingOrNonStringSource) {
  auto filter = make_filter("json", R"(source => "payload")");
  Event event;
  test::TestFilterContext context;
  EXPECT_FALSE(filter->filter(event, context));
  EXPECT_FALSE(event.has_tag("_jsonparsefailure"));
  event.fields()["payload"] = Value(int64_t(5));
  EXPECT_FALSE(filter->filter(event, context));
  EXPECT_TRUE(event.has_tag("_jsonparsefailure"));
}

TEST(JsonFilter, ReusedAcrossEventsKeepsThemApart) {
  auto filter = make_filter("json", R"(source => "message")");
  test::TestFilterContext context;
  auto first = test::event_with_message(R"({"a":"1","only_first":true})");
  auto second = test::event_with_message(R"({"a":"2"})");
  ASSERT_TRUE(filter->filter(*first, context));
  ASSERT_TRUE(filter->filter(*second, context));
  EXPECT_EQ(field_text(*first, "a"), "1");
  EXPECT_EQ(field_text(*second, "a"), "2");
  EXPECT_EQ(field(*second, "only_first"), nullptr);
}

TEST(JsonFilter, SourceIsRequired) { EXPECT_THROW(make_filter("json", ""), config::ConfigError); }

}  // namespace
}  // namespace sluice
