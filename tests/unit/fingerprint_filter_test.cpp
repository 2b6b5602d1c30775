// Expected values were derived outside sluice: digests with coreutils/openssl
// (`printf 'Hello, World!' | openssl dgst -sha256 -hmac secret`), MurmurHash3 with the npm package
// murmurhash3js-revisited (x86_32 seed 0; x64_128 seed 2, bytes of h1 then h2 little-endian, as the
// Ruby murmurhash3 gem that Logstash calls prints them).
#include <gtest/gtest.h>

#include <regex>

#include "config/parser.h"
#include "parsers_test_support.h"

namespace sluice {
namespace {

using test::field_text;
using test::make_filter;

struct FingerprintRun {
  std::unique_ptr<Event> event;
  bool matched = false;
};

FingerprintRun run(const std::string& options, std::unique_ptr<Event> event, const std::string& ecs = "disabled") {
  auto filter = make_filter("fingerprint", options, ecs);
  test::TestFilterContext context;
  FingerprintRun r;
  r.event = std::move(event);
  r.matched = filter->filter(*r.event, context);
  return r;
}

FingerprintRun run_message(const std::string& options, const std::string& message, const std::string& ecs = "disabled") {
  return run(options, test::event_with_message(message), ecs);
}

std::unique_ptr<Event> event_with(std::initializer_list<std::pair<const char*, Value>> fields) {
  auto event = std::make_unique<Event>();
  for (const auto& [name, value] : fields) event->fields()[name] = value;
  return event;
}

TEST(FingerprintFilter, Sha1OfMessageByDefault) {
  FingerprintRun r = run_message("", "Hello, World!");
  EXPECT_TRUE(r.matched);
  EXPECT_EQ(field_text(*r.event, "fingerprint"), "0a0a9f2a6772942557ab5355d76af442f8f65e01");
}

TEST(FingerprintFilter, EcsModeWritesEventHash) {
  FingerprintRun r = run_message("", "Hello, World!", "v8");
  EXPECT_EQ(field_text(*r.event, "[event][hash]"), "0a0a9f2a6772942557ab5355d76af442f8f65e01");
  EXPECT_EQ(test::field(*r.event, "fingerprint"), nullptr);
}

TEST(FingerprintFilter, HmacWithKey) {
  FingerprintRun r = run_message(R"(method => "SHA256" key => "secret")", "Hello, World!");
  EXPECT_EQ(field_text(*r.event, "fingerprint"), "fcfaffa7fef86515c7beb6b62d779fa4ccf092f2e61c164376054271252821ff");
}

TEST(FingerprintFilter, Base64DigestAndHmac) {
  FingerprintRun plain = run_message(R"(method => "SHA256" base64encode => true)", "Hello, World!");
  EXPECT_EQ(field_text(*plain.event, "fingerprint"), "3/1gIbsr1bCvZ2KQgJ7DpTGR3YHH9wpLKGiKNiGCmG8=");
  FingerprintRun keyed = run_message(R"(method => "MD5" key => "k3y" base64encode => true)", "Hello, World!");
  EXPECT_EQ(field_text(*keyed.event, "fingerprint"), "1+MvNq3JZhZjmq74Hoav5Q==");
}

TEST(FingerprintFilter, OtherDigests) {
  EXPECT_EQ(field_text(*run_message(R"(method => "MD5")", "a").event, "fingerprint"), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(field_text(*run_message(R"(method => "SHA512")", "a").event, "fingerprint").substr(0, 40),
            "1f40fc92da241694750979ee6cf582f2d5d7d28e");
  EXPECT_EQ(field_text(*run_message(R"(method => "SHA384" key => "k")", "b").event, "fingerprint"),
            "46bef32f90deb5a349ae1e2090e1881dde6d45897fbf38f207708c335d35d906bf315670c03008d1a5b19dec9782c92d");
}

TEST(FingerprintFilter, ConcatenateSourcesSortsNamesAndUsesRubyToS) {
  // |a|1|b|2| : names sorted, the integer printed as Ruby's to_s.
  FingerprintRun r = run(R"(source => ["b", "a"] concatenate_sources => true)", event_with({{"a", Value(1)}, {"b", Value("2")}}));
  EXPECT_EQ(field_text(*r.event, "fingerprint"), "47d7ead16239ee4ea1c05f4c7577a241c5506404");
}

TEST(FingerprintFilter, ConcatenateAllFieldsSortsNestedHashes) {
  Object nested;
  nested["y"] = Value(2);
  nested["x"] = Value("s");
  Array list{Value("p"), Value("q")};
  auto event = event_with({{"c", Value(list)}, {"a", Value(1)}, {"b", Value(nested)}});
  event->metadata()["ignored"] = Value("not part of to_hash");
  // |a|1|b|{"x"=>"s", "y"=>2}|c|["p", "q"]|
  FingerprintRun r = run(R"(method => "SHA256" concatenate_all_fields => true)", std::move(event));
  EXPECT_EQ(field_text(*r.event, "fingerprint"), "8ddb2773aa7838c93c6c2ff1ebe87d3740ffad1c4af4e330b9aa320af2e5c37f");
}

TEST(FingerprintFilter, Murmur3OfStringAndInteger) {
  FingerprintRun text = run_message(R"(method => "MURMUR3")", "hello");
  const Value* value = test::field(*text.event, "fingerprint");
  ASSERT_NE(value, nullptr);
  ASSERT_TRUE(value->is_int());  // Logstash stores the number itself
  EXPECT_EQ(value->as_int(), 613153351);
  FingerprintRun number = run(R"(method => "MURMUR3" source => "n")", event_with({{"n", Value(42)}}));
  EXPECT_EQ(test::field(*number.event, "fingerprint")->as_int(), 1871679806);
  FingerprintRun concatenated = run(R"(method => "MURMUR3" source => ["a", "b"] concatenate_sources => true)",
                         event_with({{"a", Value(1)}, {"b", Value("2")}}));
  EXPECT_EQ(test::field(*concatenated.event, "fingerprint")->as_int(), 1247871029);
}

TEST(FingerprintFilter, Murmur3_128HexBase64AndIntegers) {
  EXPECT_EQ(field_text(*run_message(R"(method => "MURMUR3_128")", "hello").event, "fingerprint"),
            "648a66fb923498d0ddfbffbb29aa9d64");
  EXPECT_EQ(field_text(*run_message(R"(method => "MURMUR3_128" base64encode => true)", "hello").event, "fingerprint"),
            "ZIpm+5I0mNDd+/+7KaqdZA==");
  EXPECT_EQ(field_text(*run(R"(method => "MURMUR3_128" source => "n")", event_with({{"n", Value(42)}})).event,
                       "fingerprint"),
            "16e583282d72b12ca418e843f88f56eb");
  EXPECT_EQ(field_text(*run(R"(method => "MURMUR3_128" source => "n")",
                            event_with({{"n", Value(int64_t(1) << 40)}})).event,
                       "fingerprint"),
            "1ee474ffa9e80fa2b867cee8ff621f70");
  EXPECT_EQ(field_text(*run(R"(method => "MURMUR3_128" source => ["a", "b"] concatenate_sources => true)",
                            event_with({{"a", Value(1)}, {"b", Value("2")}})).event,
                       "fingerprint"),
            "5b1f59323b9756d113257db3a3875b9e");
}

TEST(FingerprintFilter, ArraySourceGivesArrayOfHashes) {
  FingerprintRun r = run(R"(method => "MD5" source => "list")", event_with({{"list", Value(Array{Value("a"), Value("a")})}}));
  const Value* value = test::field(*r.event, "fingerprint");
  ASSERT_TRUE(value && value->is_array());
  ASSERT_EQ(value->as_array().size(), 2u);
  EXPECT_EQ(value->as_array()[1].as_string(), "0cc175b9c0f1b6a831c399e269772661");
}

TEST(FingerprintFilter, SeveralSourcesWithoutConcatenationLastPresentWins) {
  FingerprintRun r = run(R"(method => "MD5" source => ["x", "missing", "y"])", event_with({{"x", Value("zzz")}, {"y", Value("a")}}));
  EXPECT_EQ(field_text(*r.event, "fingerprint"), "0cc175b9c0f1b6a831c399e269772661");
  FingerprintRun none = run(R"(source => ["missing"])", event_with({{"x", Value("1")}}));
  EXPECT_TRUE(none.matched);  // Logstash calls filter_matched regardless
  EXPECT_EQ(test::field(*none.event, "fingerprint"), nullptr);
}

TEST(FingerprintFilter, Ipv4NetworkMasksWithKeyBits) {
  FingerprintRun r = run(R"(method => "IPV4_NETWORK" key => "16" source => "ip")", event_with({{"ip", Value("192.168.45.7")}}));
  EXPECT_EQ(field_text(*r.event, "fingerprint"), "192.168.0.0");
  FingerprintRun bad = run(R"(method => "IPV4_NETWORK" key => "16" source => "ip")", event_with({{"ip", Value("nope")}}));
  EXPECT_FALSE(bad.matched);
  EXPECT_EQ(test::field(*bad.event, "fingerprint"), nullptr);
}

TEST(FingerprintFilter, Ipv4NetworkWithoutKeyIsConfigError) {
  EXPECT_THROW(make_filter("fingerprint", R"(method => "IPV4_NETWORK")"), config::ConfigError);
}

TEST(FingerprintFilter, PunctuationKeepsPunctuationAndSymbols) {
  EXPECT_EQ(field_text(*run_message(R"(method => "PUNCTUATION")", "a-b_c d.e: [x]").event, "fingerprint"), "-_.:[]");
  // Unicode: the euro sign is a symbol (Sc), the accented letter is not.
  EXPECT_EQ(field_text(*run_message(R"(method => "PUNCTUATION")", "Caf\xC3\xA9 \xE2\x82\xAC" "5!").event, "fingerprint"),
            "\xE2\x82\xAC!");
}

TEST(FingerprintFilter, UuidIsRandomVersion4) {
  std::string first = field_text(*run_message(R"(method => "UUID")", "x").event, "fingerprint");
  std::string second = field_text(*run_message(R"(method => "UUID")", "x").event, "fingerprint");
  EXPECT_TRUE(std::regex_match(first, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << first;
  EXPECT_NE(first, second);
}

TEST(FingerprintFilter, UnknownMethodIsRejected) {
  EXPECT_THROW(make_filter("fingerprint", R"(method => "CRC32")"), config::ConfigError);
}

}  // namespace
}  // namespace sluice
