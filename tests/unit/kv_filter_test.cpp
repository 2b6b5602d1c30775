#include <gtest/gtest.h>

#include "config/parser.h"
#include "parsers_test_support.h"
#include "plugins/filters/kv/kv_scanner.h"

namespace sluice {
namespace {

using test::field_text;
using test::make_filter;

struct KvRun {
  std::unique_ptr<Event> event;
  bool matched = false;
};

KvRun run_kv(const std::string& options, const std::string& message) {
  auto filter = make_filter("kv", options);
  KvRun run;
  run.event = test::event_with_message(message);
  test::TestFilterContext context;
  run.matched = filter->filter(*run.event, context);
  return run;
}

TEST(KvFilter, DefaultSplitsOnSpacesAndEquals) {
  KvRun r = run_kv("", "ip=1.2.3.4 error=REFUSED");
  EXPECT_TRUE(r.matched);
  EXPECT_EQ(field_text(*r.event, "ip"), "1.2.3.4");
  EXPECT_EQ(field_text(*r.event, "error"), "REFUSED");
}

TEST(KvFilter, FortiGateTrafficLine) {
  KvRun r = run_kv("",
                 "date=2019-05-10 time=11:37:47 logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" "
                 "level=\"notice\" vd=\"vdom1\" eventtime=1557513467369913239 srcip=10.1.100.11 srcport=58012 "
                 "srcintf=\"port12\" dstip=23.59.154.35 dstport=80 action=\"close\" policyid=1 "
                 "msg=\"quoted with spaces\" sentbyte=1850 app=\"HTTP.BROWSER\"");
  ASSERT_TRUE(r.matched);
  EXPECT_EQ(field_text(*r.event, "date"), "2019-05-10");
  EXPECT_EQ(field_text(*r.event, "time"), "11:37:47");
  EXPECT_EQ(field_text(*r.event, "logid"), "0000000013");
  EXPECT_EQ(field_text(*r.event, "srcip"), "10.1.100.11");
  EXPECT_EQ(field_text(*r.event, "msg"), "quoted with spaces");
  EXPECT_EQ(field_text(*r.event, "app"), "HTTP.BROWSER");
  EXPECT_EQ(field_text(*r.event, "sentbyte"), "1850");
  const Value* port = test::field(*r.event, "dstport");
  ASSERT_NE(port, nullptr);
  EXPECT_TRUE(port->is_string());  // kv never converts types
}

TEST(KvFilter, UnquotedTrailingPunctuationStaysUnlessTrimmed) {
  KvRun r = run_kv("", "Hey, from=<abc>, to=def foo=bar");
  EXPECT_EQ(field_text(*r.event, "from"), "<abc>,");
  EXPECT_EQ(field_text(*r.event, "to"), "def");
  EXPECT_EQ(field_text(*r.event, "foo"), "bar");
  KvRun trimmed = run_kv(R"(trim_value => "<>,")", "Hey, from=<abc>, to=def foo=bar");
  EXPECT_EQ(field_text(*trimmed.event, "from"), "abc");
}

TEST(KvFilter, QueryStringWithFieldSplitCharacters) {
  KvRun r = run_kv(R"(field_split => "&?")", "?pin=12345~0&d=123&e=foo@bar.com&oq=bobo&ss=12345");
  EXPECT_EQ(field_text(*r.event, "pin"), "12345~0");
  EXPECT_EQ(field_text(*r.event, "d"), "123");
  EXPECT_EQ(field_text(*r.event, "e"), "foo@bar.com");
  EXPECT_EQ(field_text(*r.event, "ss"), "12345");
}

TEST(KvFilter, ValueSplitCharacter) {
  KvRun r = run_kv(R"(value_split => ":")", "key1:value1 key2:value2");
  EXPECT_EQ(field_text(*r.event, "key1"), "value1");
  EXPECT_EQ(field_text(*r.event, "key2"), "value2");
}

TEST(KvFilter, SplitPatterns) {
  KvRun fields = run_kv(R"(field_split_pattern => ":+")", "k1=v1:k2=v2::k3=v3:::k4=v4");
  EXPECT_EQ(field_text(*fields.event, "k1"), "v1");
  EXPECT_EQ(field_text(*fields.event, "k3"), "v3");
  EXPECT_EQ(field_text(*fields.event, "k4"), "v4");
  KvRun values = run_kv(R"(value_split_pattern => "=>" field_split => ",")", "a=>1,b=>two");
  EXPECT_EQ(field_text(*values.event, "a"), "1");
  EXPECT_EQ(field_text(*values.event, "b"), "two");
}

TEST(KvFilter, BracketsWrapValuesUnlessDisabled) {
  const std::string line = "bracketsone=(hello world) bracketstwo=[hello world] bracketsthree=<hello world>";
  KvRun r = run_kv("", line);
  EXPECT_EQ(field_text(*r.event, "bracketsone"), "hello world");
  EXPECT_EQ(field_text(*r.event, "bracketstwo"), "hello world");
  EXPECT_EQ(field_text(*r.event, "bracketsthree"), "hello world");
  KvRun plain = run_kv("include_brackets => false", line);
  EXPECT_EQ(field_text(*plain.event, "bracketsone"), "(hello");
  EXPECT_EQ(field_text(*plain.event, "bracketstwo"), "[hello");
}

TEST(KvFilter, TargetAndPrefix) {
  KvRun r = run_kv(R"(target => "kv" prefix => "arg_")", "a=1 b=2");
  EXPECT_EQ(field_text(*r.event, "[kv][arg_a]"), "1");
  EXPECT_EQ(field_text(*r.event, "[kv][arg_b]"), "2");
  EXPECT_EQ(test::field(*r.event, "arg_a"), nullptr);
}

TEST(KvFilter, PrefixIsASprintfTemplate) {
  auto filter = make_filter("kv", R"(prefix => "%{kind}_")");
  auto event = test::event_with_message("a=1");
  event->fields()["kind"] = Value("fw");
  test::TestFilterContext context;
  ASSERT_TRUE(filter->filter(*event, context));
  EXPECT_EQ(field_text(*event, "fw_a"), "1");
}

TEST(KvFilter, IncludeAndExcludeKeys) {
  KvRun include = run_kv(R"(include_keys => ["from", "to"])", "from=a to=b foo=c");
  EXPECT_EQ(field_text(*include.event, "from"), "a");
  EXPECT_EQ(field_text(*include.event, "to"), "b");
  EXPECT_EQ(test::field(*include.event, "foo"), nullptr);
  KvRun exclude = run_kv(R"(exclude_keys => ["from", "to"])", "from=a to=b foo=c");
  EXPECT_EQ(test::field(*exclude.event, "from"), nullptr);
  EXPECT_EQ(field_text(*exclude.event, "foo"), "c");
}

TEST(KvFilter, TrimRemoveAndTransform) {
  KvRun r = run_kv(R"(trim_key => "<>" remove_char_key => "-" remove_char_value => "\[\]" transform_key => "lowercase" transform_value => "capitalize")",
                 "<Src-Ip>=[hELLO] <B>=wORLD");
  EXPECT_EQ(field_text(*r.event, "srcip"), "Hello");
  EXPECT_EQ(field_text(*r.event, "b"), "World");
  KvRun upper = run_kv(R"(transform_value => "uppercase")", "a=abc");
  EXPECT_EQ(field_text(*upper.event, "a"), "ABC");
}

TEST(KvFilter, DuplicateKeys) {
  KvRun r = run_kv("", "from=me from=me from=you");
  const Value* from = test::field(*r.event, "from");
  ASSERT_NE(from, nullptr);
  ASSERT_TRUE(from->is_array());
  EXPECT_EQ(from->as_array().size(), 3u);
  KvRun unique = run_kv("allow_duplicate_values => false", "from=me from=me from=you");
  const Value* from_unique = test::field(*unique.event, "from");
  ASSERT_TRUE(from_unique->is_array());
  ASSERT_EQ(from_unique->as_array().size(), 2u);
  EXPECT_EQ(from_unique->as_array()[0].as_string(), "me");
  EXPECT_EQ(from_unique->as_array()[1].as_string(), "you");
}

TEST(KvFilter, EmptyValuesAndWhitespaceModes) {
  KvRun lenient = run_kv("", "a= b=1");
  EXPECT_EQ(field_text(*lenient.event, "a"), "b=1");  // lenient: the space after = is skipped
  KvRun strict = run_kv("whitespace => strict", "a= b=1");
  EXPECT_EQ(test::field(*strict.event, "a"), nullptr);  // empty values are dropped by default
  EXPECT_EQ(field_text(*strict.event, "b"), "1");
  KvRun kept = run_kv("whitespace => strict allow_empty_values => true", "a= b=1 c=\"\"");
  EXPECT_EQ(field_text(*kept.event, "a"), "");
  EXPECT_EQ(field_text(*kept.event, "b"), "1");
  EXPECT_EQ(field_text(*kept.event, "c"), "");
  KvRun spaced = run_kv("", "a = b c=d");
  EXPECT_EQ(field_text(*spaced.event, "a"), "b");
  EXPECT_EQ(field_text(*spaced.event, "c"), "d");
  KvRun spaced_strict = run_kv("whitespace => strict", "a = b c=d");
  EXPECT_EQ(test::field(*spaced_strict.event, "a"), nullptr);
  EXPECT_EQ(field_text(*spaced_strict.event, "c"), "d");
}

TEST(KvFilter, RecursiveValuesBecomeHashes) {
  KvRun r = run_kv("recursive => true", "a=\"b=c d=e\" f=g");
  EXPECT_EQ(field_text(*r.event, "[a][b]"), "c");
  EXPECT_EQ(field_text(*r.event, "[a][d]"), "e");
  EXPECT_EQ(field_text(*r.event, "f"), "g");
  KvRun flat = run_kv("", "a=\"b=c d=e\"");
  EXPECT_EQ(field_text(*flat.event, "a"), "b=c d=e");
}

TEST(KvFilter, DefaultKeysFillMissingKeys) {
  KvRun r = run_kv(R"(default_keys => { "from" => "logstash@example.com" "to" => "default@dev.null" })", "to=me");
  EXPECT_EQ(field_text(*r.event, "from"), "logstash@example.com");
  EXPECT_EQ(field_text(*r.event, "to"), "me");
  KvRun none = run_kv(R"(default_keys => { "x" => "1" })", "no pairs here");
  EXPECT_TRUE(none.matched);
  EXPECT_EQ(field_text(*none.event, "x"), "1");
}

TEST(KvFilter, NothingToParseIsNotAMatch) {
  KvRun r = run_kv("", "no pairs here");
  EXPECT_FALSE(r.matched);
  EXPECT_FALSE(r.event->has_tag("_kv_filter_error"));
  auto filter = make_filter("kv", R"(source => "missing")");
  auto event = test::event_with_message("a=1");
  test::TestFilterContext context;
  EXPECT_FALSE(filter->filter(*event, context));
}

TEST(KvFilter, ArraySourceParsesEveryElement) {
  auto filter = make_filter("kv", R"(source => "lines")");
  Event event;
  Array items;
  items.emplace_back("a=1");
  items.emplace_back("b=2 a=3");
  event.fields()["lines"] = Value(std::move(items));
  test::TestFilterContext context;
  ASSERT_TRUE(filter->filter(event, context));
  EXPECT_EQ(field_text(event, "b"), "2");
  EXPECT_EQ(field_text(event, "a"), "1,3");
}

TEST(KvFilter, KeysAreFieldReferences) {
  KvRun r = run_kv("", "[net][src]=1.2.3.4 plain=x");
  EXPECT_EQ(field_text(*r.event, "[net][src]"), "1.2.3.4");
  KvRun bad = run_kv("", "a[b=1");
  EXPECT_FALSE(bad.matched);
  EXPECT_TRUE(bad.event->has_tag("_kv_filter_error"));
}

TEST(KvFilter, BackslashEscapesGoThroughTheRegex) {
  KvRun r = run_kv("", R"(a=b\ c d=e)");
  EXPECT_EQ(field_text(*r.event, "a"), R"(b\ c)");
  EXPECT_EQ(field_text(*r.event, "d"), "e");
}

TEST(KvFilter, RunawayPatternEndsAsTimeout) {
  KvRun r = run_kv(R"(field_split_pattern => "(x+x+)+y")", "k=v" + std::string(40, 'x'));
  EXPECT_FALSE(r.matched);
  EXPECT_TRUE(r.event->has_tag("_kv_filter_timeout"));
}

TEST(KvFilter, ConfigErrors) {
  EXPECT_THROW(make_filter("kv", R"(value_split => "")"), config::ConfigError);
  EXPECT_THROW(make_filter("kv", R"(field_split_pattern => "(")"), config::ConfigError);
  EXPECT_THROW(make_filter("kv", R"(whitespace => "loose")"), config::ConfigError);
}

// The linear scanner and Logstash's regex must agree on every input.
TEST(KvScanner, FastPathMatchesTheRegex) {
  const std::vector<std::string> inputs = {
      "a=1 b=2",
      "a=\"x y\" b='z w' c=(p q) d=[r s] e=<t u>",
      "a=\"unterminated b=2",
      "a=\"x\"y b=2",
      "a=\"x\"\nb=2",
      "a=1\nb=2 c=3\n",
      "a= b= c=",
      "=a ==b c==d",
      "  lead=1   trail=2   ",
      "a = b  c =d e= f",
      "k=v=w x=y",
      "noval= next=1",
      "a=\"\" b=''",
      "a=(nested (paren)) b=1",
      "weird\"key=1 'q'=2",
      "a=1,b=2;c=3",
      "",
      "=",
      "a",
      "a=",
      "\"=\"",
      "a=<b>c d=1",
      "a=[] b=()",
  };
  const std::vector<kv::Syntax> syntaxes = [] {
    std::vector<kv::Syntax> all;
    for (bool strict : {false, true}) {
      for (bool brackets : {true, false}) {
        for (const char* fs : {" ", ",; ", "&?"}) {
          kv::Syntax s;
          s.strict_whitespace = strict;
          s.include_brackets = brackets;
          s.field_split = fs;
          all.push_back(s);
        }
      }
    }
    kv::Syntax colon;
    colon.value_split = ":=";
    all.push_back(colon);
    kv::Syntax space_value;
    space_value.value_split = " ";
    space_value.field_split = ",";
    all.push_back(space_value);
    return all;
  }();
  for (const kv::Syntax& syntax : syntaxes) {
    kv::Scanner scanner(syntax);
    ASSERT_TRUE(scanner.has_fast_path());
    for (const std::string& input : inputs) {
      std::vector<kv::Pair> fast, slow;
      scanner.scan(input, fast);
      ASSERT_EQ(scanner.scan_with_regex(input, slow), kv::ScanResult::Ok);
      ASSERT_EQ(fast.size(), slow.size()) << "input: " << input << " regex: " << scanner.regex_source();
      for (size_t i = 0; i < fast.size(); ++i) {
        EXPECT_EQ(fast[i].key, slow[i].key) << "input: " << input << " regex: " << scanner.regex_source();
        EXPECT_EQ(fast[i].value, slow[i].value) << "input: " << input << " regex: " << scanner.regex_source();
      }
    }
  }
}

TEST(KvScanner, CharClassParsing) {
  kv::CharClass cls = kv::CharClass::parse(R"(<>\[\],)");
  ASSERT_TRUE(cls.simple);
  for (char c : std::string("<>[],")) EXPECT_TRUE(cls.contains(c)) << c;
  EXPECT_FALSE(cls.contains('a'));
  kv::CharClass range = kv::CharClass::parse("a-c\\t");
  ASSERT_TRUE(range.simple);
  EXPECT_TRUE(range.contains('b'));
  EXPECT_TRUE(range.contains('\t'));
  EXPECT_FALSE(range.contains('-'));
  EXPECT_FALSE(kv::CharClass::parse("\\p{Space}").simple);
  EXPECT_FALSE(kv::CharClass::parse("^a").simple);
}

}  // namespace
}  // namespace sluice
