// JSON serializer and parser.
#include "core/json.h"
#include "core/value.h"
#include "core/field_ref.h"
#include "core/event.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace sluice {
namespace {

std::string to_json(const Value& v) {
  std::string out;
  json_append_value(out, v);
  return out;
}

std::string json_quoted(std::string_view s) {
  std::string out;
  json_append_string(out, s);
  return out;
}

TEST(JsonTest, EscapesOnlyWhatMustBe) {
  EXPECT_EQ(json_quoted("plain text, no escapes / here"), "\"plain text, no escapes / here\"");
  EXPECT_EQ(json_quoted("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json_quoted("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(json_quoted(std::string("\x01\x1f", 2)), R"("\u0001\u001f")");
  EXPECT_EQ(json_quoted(std::string("nul\0byte", 8)), R"("nul\u0000byte")");
  EXPECT_EQ(json_quoted("caf\xc3\xa9 \xe2\x82\xac"), "\"caf\xc3\xa9 \xe2\x82\xac\"");  // UTF-8 passes through
  EXPECT_EQ(json_quoted(""), "\"\"");
}

TEST(JsonTest, EscapesAtEveryPositionOfAWord) {
  // The 8-byte scanner must find a special byte wherever it sits, and not stop early.
  for (size_t len = 1; len < 24; ++len) {
    for (size_t at = 0; at < len; ++at) {
      std::string s(len, 'x');
      s[at] = '"';
      std::string expected = "\"" + s.substr(0, at) + "\\\"" + s.substr(at + 1) + "\"";
      ASSERT_EQ(json_quoted(s), expected) << len << " " << at;
    }
  }
  std::string high(20, '\xc3');  // bytes >= 0x80 are not control characters
  EXPECT_EQ(json_quoted(high), "\"" + high + "\"");
}

// A byte-at-a-time escaper to compare the fast one against.
std::string reference_quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(char(c));
        }
    }
  }
  return out + "\"";
}

TEST(JsonTest, EscapingMatchesAByteAtATimeReference) {
  // Long strings with escapes at random places exercise the block loops and the copy-ahead.
  uint32_t seed = 12345;
  auto next = [&] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  const char specials[] = {'"', '\\', '\n', '\t', '\x01', '\x1f', '\x7f', char(0xc3), char(0xa9)};
  for (int round = 0; round < 2000; ++round) {
    size_t length = next() % 300;
    int density = int(next() % 40) + 1;  // one special in `density` bytes, on average
    std::string s;
    for (size_t i = 0; i < length; ++i) {
      if (int(next() % unsigned(density)) == 0) s.push_back(specials[next() % sizeof specials]);
      else s.push_back(char('a' + next() % 26));
    }
    std::string prefix = "x";  // appending after existing text
    std::string out = prefix;
    json_append_string(out, s);
    ASSERT_EQ(out, prefix + reference_quoted(s)) << "round " << round;
  }
}

// A shared subtree's JSON is written once and then copied (Value::shared_memo): the copies must
// be what writing the tree gives, and a holder that writes to its tree gets its own text.
TEST(JsonTest, SharedSubtreeWrittenOnceReadsTheSameEverywhere) {
  Value geo;
  Object& tree = geo.make_object();
  tree["city"].set_string("Saint-\"Quote\"");
  tree["location"].make_object()["lat"].set_float(48.5);
  tree["tags"].make_array().emplace_back("a\nb");
  std::string plain;
  json_append_value(plain, geo);
  geo.share();
  Event first, second;
  first.put(FieldRef::of("geo")) = geo;
  second.put(FieldRef::of("geo")) = geo;
  EXPECT_EQ(geo.shared_memo(), nullptr);
  std::string a, b;
  json_append_event(a, first);
  ASSERT_NE(geo.shared_memo(), nullptr);
  EXPECT_EQ(*geo.shared_memo(), plain);
  json_append_event(b, second);
  EXPECT_EQ(a, b);
  EXPECT_NE(a.find("\"geo\":" + plain), std::string::npos) << a;
  second.put(FieldRef::of("[geo][city]")).set_string("Lyon");
  std::string changed;
  json_append_event(changed, second);
  EXPECT_NE(changed.find("\"city\":\"Lyon\""), std::string::npos) << changed;
  std::string again;
  json_append_event(again, first);
  EXPECT_EQ(again, a);
}

TEST(JsonTest, Scalars) {
  EXPECT_EQ(to_json(Value()), "null");
  EXPECT_EQ(to_json(Value(true)), "true");
  EXPECT_EQ(to_json(Value(int64_t{-9223372036854775807LL - 1})), "-9223372036854775808");
  EXPECT_EQ(to_json(Value(1.0)), "1.0");
  EXPECT_EQ(to_json(Value(0.1)), "0.1");
  EXPECT_EQ(to_json(Value(1e300)), "1e+300");
  EXPECT_EQ(to_json(Value(Timestamp::from_seconds(0, 5000000))), "\"1970-01-01T00:00:00.005Z\"");
}

// The writer keeps the text of the last timestamp it wrote: a different one is never given it.
TEST(JsonTest, TimestampsInTurnEachGetTheirOwnText) {
  const Timestamp a = Timestamp::from_seconds(0, 5000000), b = Timestamp::from_seconds(1700000000, 123456789);
  EXPECT_EQ(to_json(Value(a)), "\"1970-01-01T00:00:00.005Z\"");
  EXPECT_EQ(to_json(Value(a)), "\"1970-01-01T00:00:00.005Z\"");
  EXPECT_EQ(to_json(Value(b)), "\"2023-11-14T22:13:20.123456789Z\"");
  EXPECT_EQ(to_json(Value(a)), "\"1970-01-01T00:00:00.005Z\"");
  EXPECT_EQ(to_json(Value(Timestamp{0})), "\"1970-01-01T00:00:00.000Z\"");
}

TEST(JsonTest, EventOmitsMetadata) {
  Event e;
  e.init_with_message("hi \"there\"", Timestamp::from_seconds(0));
  e.set(FieldRef::of("[@metadata][secret]"), Value("x"));
  e.set(FieldRef::of("[a][b]"), Value(Array{Value(1), Value("two")}));
  std::string out;
  json_append_event(out, e);
  EXPECT_EQ(out, R"({"@timestamp":"1970-01-01T00:00:00.000Z","@version":"1","message":"hi \"there\"","a":{"b":[1,"two"]}})");
}

TEST(JsonTest, ParsesTypesInOrder) {
  Value v;
  std::string error;
  ASSERT_TRUE(json_parse(R"({"z":1,"a":-2,"f":1.5,"big":18446744073709551615,"s":"x\u00e9\n","t":true,"n":null,"arr":[1,{"k":"v"}]})", v, &error)) << error;
  ASSERT_TRUE(v.is_object());
  const Object& o = v.as_object();
  std::string keys;
  for (const auto& e : o) keys += e.key + ",";
  EXPECT_EQ(keys, "z,a,f,big,s,t,n,arr,");
  EXPECT_TRUE(o.find("z")->is_int());
  EXPECT_EQ(o.find("a")->as_int(), -2);
  EXPECT_TRUE(o.find("f")->is_float());
  EXPECT_TRUE(o.find("big")->is_float());
  EXPECT_EQ(o.find("s")->as_string(), "x\xc3\xa9\n");
  EXPECT_TRUE(o.find("t")->as_bool());
  EXPECT_TRUE(o.find("n")->is_null());
  EXPECT_EQ(o.find("arr")->as_array()[1].as_object().find("k")->as_string(), "v");
}

TEST(JsonTest, HugeIntegersBecomeFloats) {
  Value v;
  std::string error;
  if (json_parse("123456789012345678901234567890", v, &error)) {
    EXPECT_TRUE(v.is_float());
    EXPECT_NEAR(v.as_float(), 1.2345678901234568e29, 1e15);
  } else {
    EXPECT_FALSE(error.empty());  // an error, never a crash
  }
}

TEST(JsonTest, RejectsInvalid) {
  Value v;
  for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "nope", "{\"a\":1} trailing", "\"unterminated"}) {
    std::string error;
    EXPECT_FALSE(json_parse(bad, v, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(JsonTest, EscapesRoundTrip) {
  std::string all;
  for (int c = 1; c < 128; ++c) all.push_back(char(c));
  all += "\xe2\x82\xac end";
  Object o;
  o[all] = Value(all);
  std::string text = to_json(Value(o));
  Value back;
  ASSERT_TRUE(json_parse(text, back));
  ASSERT_TRUE(back.is_object());
  ASSERT_EQ(back.as_object().size(), 1u);
  EXPECT_EQ(back.as_object().begin()->key, all);
  EXPECT_EQ(back.as_object().begin()->value.as_string(), all);
}

TEST(JsonTest, FloatsRoundTrip) {
  for (double d : {0.1, 1.0 / 3, 1e-300, 123456789.125, -2.5e17}) {
    Value back;
    ASSERT_TRUE(json_parse(to_json(Value(d)), back));
    ASSERT_TRUE(back.is_float()) << d;
    EXPECT_EQ(back.as_float(), d);
  }
}

TEST(JsonTest, ParseReusesTheTarget) {
  Value v;
  ASSERT_TRUE(json_parse(R"({"a":"first"})", v));
  ASSERT_TRUE(json_parse(R"({"b":2})", v));
  EXPECT_FALSE(v.as_object().contains("a"));
  EXPECT_EQ(v.as_object().find("b")->as_int(), 2);
}

}  // namespace
}  // namespace sluice
