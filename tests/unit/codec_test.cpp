// The basic codecs (plain, line, json, json_lines, rubydebug) and make_codec.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/parser.h"
#include "core/charset.h"
#include "core/event_clock.h"
#include "core/event_pool.h"
#include "core/json.h"
#include "runtime/options.h"
#include "runtime/plugin.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

struct CollectingSink : EventSink {
  ~CollectingSink() override {
    for (Event* e : events) free_event(e);
  }
  void accept(Event* event) override { events.push_back(event); }
  std::string message(size_t i) const {
    const Value* m = events.at(i)->get(FieldRef::of("message"));
    return m && m->is_string() ? m->as_string() : "<none>";
  }
  std::vector<Event*> events;
};

// codec name + string options, as `codec => name { k => "v" ... }` would give them.
std::shared_ptr<config::PluginBlock> block(const std::string& name,
                                           std::vector<std::pair<std::string, config::ConfigValue>> attrs = {}) {
  auto b = std::make_shared<config::PluginBlock>();
  b->name = name;
  b->pos = {"test.conf", 3, 7};
  int column = 10;
  for (auto& [key, value] : attrs) {
    config::Attribute attribute;
    attribute.name = key;
    attribute.pos = {"test.conf", 3, column};
    attribute.value = value;
    attribute.value.pos = attribute.pos;
    column += 10;
    b->attributes.push_back(std::move(attribute));
  }
  return b;
}

std::unique_ptr<Codec> make(const std::string& name, std::vector<std::pair<std::string, config::ConfigValue>> attrs = {},
                            const std::string& ecs = "v8") {
  static PipelineSettings settings;
  settings.ecs_compatibility = ecs;
  PluginContext ctx;
  ctx.settings = &settings;
  return ctx.make_codec(block(name, std::move(attrs)));
}

Event sample_event() {
  Event e;
  e.init_with_message("hello world", Timestamp::from_seconds(1714564800));  // 2024-05-01T12:00:00.000Z
  e.set(FieldRef::of("host"), Value("web1"));
  return e;
}

TEST(MakeCodecTest, UnknownCodecIsAConfigErrorAtTheBlock) {
  try {
    make("nosuchcodec");
    FAIL() << "expected ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown codec plugin 'nosuchcodec'"), std::string::npos) << e.what();
    EXPECT_EQ(e.position().line, 3);
    EXPECT_EQ(e.position().column, 7);
  }
}

TEST(MakeCodecTest, BadOptionsAreConfigErrors) {
  EXPECT_THROW(make("line", {{"delimitr", cv_string(",")}}), config::ConfigError);
  EXPECT_THROW(make("plain", {{"charset", cv_string("EBCDIC-XYZ")}}), config::ConfigError);
  EXPECT_THROW(make("json", {{"target", cv_string("[bad")}}), config::ConfigError);
}

TEST(MakeCodecTest, NullBlockMeansPlain) {
  PluginContext ctx;
  auto codec = ctx.make_codec(nullptr);
  ASSERT_TRUE(codec);
  CollectingSink sink;
  codec->decode("x", sink);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.message(0), "x");
}

TEST(PlainCodecTest, DecodeWholeChunk) {
  auto codec = make("plain");
  CollectingSink sink;
  codec->decode("line one\nline two", sink);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.message(0), "line one\nline two");
  EXPECT_TRUE(sink.events[0]->get(FieldRef::of("@timestamp"))->is_timestamp());
  // ECS mode keeps the original text, as Logstash's plain codec does.
  EXPECT_EQ(sink.events[0]->get(FieldRef::of("[event][original]"))->as_string(), "line one\nline two");
}

TEST(PlainCodecTest, NoEventOriginalWithoutEcs) {
  auto codec = make("plain", {}, "disabled");
  CollectingSink sink;
  codec->decode("x", sink);
  EXPECT_EQ(sink.events[0]->get(FieldRef::of("[event][original]")), nullptr);
}

TEST(PlainCodecTest, EncodeDefaultAndFormat) {
  Event e = sample_event();
  std::string out;
  make("plain")->encode(e, out);
  EXPECT_EQ(out, "2024-05-01T12:00:00.000Z web1 hello world");
  out.clear();
  make("plain", {{"format", cv_string("%{host}|%{message}")}})->encode(e, out);
  EXPECT_EQ(out, "web1|hello world");
  Event bare;
  bare.set(FieldRef::of("message"), Value("m"));
  out.clear();
  make("plain")->encode(bare, out);
  EXPECT_EQ(out, "%{host} m");
  bare.set(FieldRef::of("[host][name]"), Value("h"));
  out.clear();
  make("plain")->encode(bare, out);
  EXPECT_EQ(out, "{name=h} m");  // Java's Map#toString, as Logstash prints it
}

// Every length up to 80, with one byte >= 0x80 at each position in turn (the check reads
// blocks of 16 and 32 bytes, the last one overlapping).
TEST(CharsetTest, IsAsciiSeesAHighByteAnywhere) {
  for (size_t length = 0; length <= 80; ++length) {
    std::string text(length, 'a');
    EXPECT_TRUE(is_ascii(text)) << length;
    EXPECT_TRUE(is_valid_utf8(text)) << length;
    for (size_t at = 0; at < length; ++at) {
      text[at] = char(0x80 | (at & 0x7F));
      EXPECT_FALSE(is_ascii(text)) << length << " at " << at;
      text[at] = 'a';
    }
  }
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 au lait, une tasse de plus que seize octets"));
  EXPECT_FALSE(is_ascii("caf\xc3\xa9 au lait, une tasse de plus que seize octets"));
}

TEST(PlainCodecTest, ConvertsCharsets) {
  CollectingSink sink;
  make("plain", {{"charset", cv_string("ISO-8859-1")}})->decode("caf\xe9", sink);
  make("plain", {{"charset", cv_string("CP1252")}})->decode("\x80", sink);
  make("plain")->decode("bad \xff byte \"q\"", sink);
  EXPECT_EQ(sink.message(0), "caf\xc3\xa9");
  EXPECT_EQ(sink.message(1), "\xe2\x82\xac");
  // Invalid UTF-8: Logstash keeps the Ruby inspect form of the text.
  EXPECT_EQ(sink.message(2), "bad \\xFF byte \\\"q\\\"");
}

TEST(LineCodecTest, SplitsAndKeepsPartialLines) {
  auto codec = make("line");
  CollectingSink sink;
  codec->decode("first\nsec", sink);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.message(0), "first");
  codec->decode("ond\nthi", sink);
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.message(1), "second");
  codec->decode("rd", sink);
  EXPECT_EQ(sink.events.size(), 2u);
  codec->flush(sink);
  ASSERT_EQ(sink.events.size(), 3u);
  EXPECT_EQ(sink.message(2), "third");
  codec->flush(sink);
  EXPECT_EQ(sink.events.size(), 3u);
}

TEST(LineCodecTest, EmptyLinesAreEvents) {
  auto codec = make("line");
  CollectingSink sink;
  codec->decode("a\n\nb\n", sink);
  ASSERT_EQ(sink.events.size(), 3u);
  EXPECT_EQ(sink.message(1), "");
}

TEST(LineCodecTest, MultiByteDelimiterAcrossChunks) {
  auto codec = make("line", {{"delimiter", cv_string("\r\n")}});
  CollectingSink sink;
  codec->decode("one\r", sink);
  EXPECT_EQ(sink.events.size(), 0u);
  codec->decode("\ntwo\r\nthree\r\nfour\r", sink);
  ASSERT_EQ(sink.events.size(), 3u);
  EXPECT_EQ(sink.message(0), "one");
  EXPECT_EQ(sink.message(1), "two");
  EXPECT_EQ(sink.message(2), "three");
  codec->decode("x\r\n", sink);  // a lone \r inside the line is data
  ASSERT_EQ(sink.events.size(), 4u);
  EXPECT_EQ(sink.message(3), "four\rx");
}

TEST(LineCodecTest, ByteAtATime) {
  auto codec = make("line", {{"delimiter", cv_string("||")}});
  CollectingSink sink;
  std::string stream = "ab||c|d||||e";
  for (char c : stream) codec->decode(std::string_view(&c, 1), sink);
  codec->flush(sink);
  std::vector<std::string> got;
  for (size_t i = 0; i < sink.events.size(); ++i) got.push_back(sink.message(i));
  EXPECT_EQ(got, (std::vector<std::string>{"ab", "c|d", "", "e"}));
}

TEST(LineCodecTest, DecodeUnitIsOneLine) {
  auto codec = make("line");
  CollectingSink sink;
  codec->decode_unit("already framed", sink);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.message(0), "already framed");
}

// A worker decoding one packed raw unit pins the clock: its lines get one creation time.
TEST(LineCodecTest, UnitsDecodedUnderOnePinShareTheirTimestamp) {
  CollectingSink sink;
  for (const char* name : {"line", "plain", "json_lines"}) {
    auto codec = make(name);
    {
      event_clock::Pin pin;
      codec->decode_unit("{\"n\":1}", sink);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      codec->decode_unit("{\"n\":2}", sink);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    codec->decode_unit("{\"n\":3}", sink);  // no pin: the clock is read again
  }
  ASSERT_EQ(sink.events.size(), 9u);
  for (size_t i = 0; i < 9; i += 3) {
    const Timestamp first = sink.events[i]->timestamp(), second = sink.events[i + 1]->timestamp();
    const Timestamp third = sink.events[i + 2]->timestamp();
    EXPECT_EQ(first, second) << i;
    EXPECT_GE(third.nanos - first.nanos, 2'000'000) << i;
  }
  EXPECT_EQ(event_clock::pinned_nanos, 0);
}

TEST(LineCodecTest, EncodeAppendsDelimiter) {
  Event e = sample_event();
  std::string out;
  make("line", {{"format", cv_string("%{message}")}})->encode(e, out);
  make("line")->encode(e, out);
  EXPECT_EQ(out, "hello world\n2024-05-01T12:00:00.000Z web1 hello world\n");
}

TEST(LineCodecTest, ClonesHaveTheirOwnPartialLine) {
  auto codec = make("line");
  CollectingSink sink;
  codec->decode("partial", sink);
  auto other = codec->clone();
  other->decode("x\n", sink);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.message(0), "x");
}

TEST(JsonCodecTest, DecodeObject) {
  auto codec = make("json");
  CollectingSink sink;
  codec->decode(R"({"message":"m","n":5,"@timestamp":"2024-05-01T12:00:00.000Z","@metadata":{"k":"v"}})", sink);
  ASSERT_EQ(sink.events.size(), 1u);
  Event& e = *sink.events[0];
  EXPECT_EQ(sink.message(0), "m");
  EXPECT_EQ(e.get(FieldRef::of("n"))->as_int(), 5);
  EXPECT_EQ(e.timestamp(), Timestamp::from_seconds(1714564800));
  EXPECT_EQ(e.get(FieldRef::of("[@metadata][k]"))->as_string(), "v");
  EXPECT_EQ(e.get(FieldRef::of("@version"))->as_string(), "1");
}

TEST(JsonCodecTest, ArrayGivesOneEventPerElement) {
  auto codec = make("json");
  CollectingSink sink;
  codec->decode(R"([{"a":1},{"a":2},{"a":3}])", sink);
  ASSERT_EQ(sink.events.size(), 3u);
  EXPECT_EQ(sink.events[2]->get(FieldRef::of("a"))->as_int(), 3);
}

TEST(JsonCodecTest, InvalidJsonKeepsTheText) {
  auto codec = make("json");
  CollectingSink sink;
  codec->decode("{not json", sink);
  codec->decode("42", sink);
  codec->decode("[1,2]", sink);
  ASSERT_EQ(sink.events.size(), 3u);
  EXPECT_EQ(sink.message(0), "{not json");
  EXPECT_TRUE(sink.events[0]->has_tag("_jsonparsefailure"));
  EXPECT_TRUE(sink.events[1]->has_tag("_jsonparsefailure"));
  EXPECT_TRUE(sink.events[2]->has_tag("_jsonparsefailure"));
  codec->decode("  \n", sink);  // blank: nothing
  EXPECT_EQ(sink.events.size(), 3u);
}

TEST(JsonCodecTest, Target) {
  auto codec = make("json", {{"target", cv_string("[doc]")}});
  CollectingSink sink;
  codec->decode(R"({"a":{"b":1}})", sink);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0]->get(FieldRef::of("[doc][a][b]"))->as_int(), 1);
  EXPECT_EQ(sink.events[0]->get(FieldRef::of("a")), nullptr);
}

TEST(JsonCodecTest, EncodeHasNoDelimiterAndNoMetadata) {
  Event e = sample_event();
  e.set(FieldRef::of("[@metadata][x]"), Value(1));
  std::string out;
  make("json")->encode(e, out);
  EXPECT_EQ(out, R"({"@timestamp":"2024-05-01T12:00:00.000Z","@version":"1","message":"hello world","host":"web1"})");
}

TEST(JsonCodecTest, RoundTrip) {
  Event e = sample_event();
  e.set(FieldRef::of("[nested][list]"), Value(Array{Value("a\"b"), Value(1.5), Value()}));
  std::string text;
  make("json")->encode(e, text);
  CollectingSink sink;
  make("json")->decode(text, sink);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0]->fields(), e.fields());
}

TEST(JsonLinesCodecTest, DecodesLinesAcrossChunks) {
  auto codec = make("json_lines");
  CollectingSink sink;
  codec->decode("{\"a\":1}\n{\"a\"", sink);
  ASSERT_EQ(sink.events.size(), 1u);
  codec->decode(":2}\nnot json\n", sink);
  ASSERT_EQ(sink.events.size(), 3u);
  EXPECT_EQ(sink.events[1]->get(FieldRef::of("a"))->as_int(), 2);
  EXPECT_TRUE(sink.events[2]->has_tag("_jsonparsefailure"));
  EXPECT_EQ(sink.message(2), "not json");
  codec->decode("{\"last\":true}", sink);
  codec->flush(sink);
  ASSERT_EQ(sink.events.size(), 4u);
  EXPECT_TRUE(sink.events[3]->get(FieldRef::of("last"))->as_bool());
}

TEST(JsonLinesCodecTest, OversizedLineIsTaggedAndSkipped) {
  auto codec = make("json_lines", {{"decode_size_limit_bytes", cv_number(16)}});
  CollectingSink sink;
  codec->decode("{\"k\":\"0123456789abcdef", sink);
  codec->decode("more of the same line", sink);
  codec->decode("\"}\n{\"ok\":1}\n", sink);
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_TRUE(sink.events[0]->has_tag("_jsonparsetoobigfailure"));
  EXPECT_EQ(sink.events[1]->get(FieldRef::of("ok"))->as_int(), 1);
}

TEST(JsonLinesCodecTest, EncodeAppendsNewline) {
  Event e = sample_event();
  std::string out;
  auto codec = make("json_lines");
  codec->encode(e, out);
  codec->encode(e, out);
  ASSERT_EQ(out.back(), '\n');
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
  EXPECT_EQ(out.substr(0, out.find('\n')),
            R"({"@timestamp":"2024-05-01T12:00:00.000Z","@version":"1","message":"hello world","host":"web1"})");
}

TEST(RubydebugCodecTest, PrintsLikeAwesomePrint) {
  Event e = sample_event();
  e.set(FieldRef::of("[nested][ratio]"), Value(2.0));
  e.set(FieldRef::of("[nested][none]"), Value());
  e.set(FieldRef::of("tags"), Value(Array{Value("a"), Value("b\"c")}));
  e.set(FieldRef::of("empty"), Value(Object{}));
  e.set(FieldRef::of("[@metadata][hidden]"), Value(true));
  std::string out;
  make("rubydebug")->encode(e, out);
  const char* expected =
      "{\n"
      "    \"@timestamp\" => 2024-05-01T12:00:00.000Z,\n"
      "      \"@version\" => \"1\",\n"
      "       \"message\" => \"hello world\",\n"
      "          \"host\" => \"web1\",\n"
      "        \"nested\" => {\n"
      "        \"ratio\" => 2.0,\n"
      "         \"none\" => nil\n"
      "    },\n"
      "          \"tags\" => [\n"
      "        [0] \"a\",\n"
      "        [1] \"b\\\"c\"\n"
      "    ],\n"
      "         \"empty\" => {}\n"
      "}\n";
  EXPECT_EQ(out, expected);
}

TEST(RubydebugCodecTest, MetadataOption) {
  Event e;
  e.set(FieldRef::of("a"), Value(1));
  e.set(FieldRef::of("[@metadata][m]"), Value("x"));
  std::string out;
  make("rubydebug", {{"metadata", cv_bool(true)}})->encode(e, out);
  EXPECT_EQ(out,
            "{\n"
            "            \"a\" => 1,\n"
            "    \"@metadata\" => {\n"
            "        \"m\" => \"x\"\n"
            "    }\n"
            "}\n");
}

}  // namespace
}  // namespace sluice
