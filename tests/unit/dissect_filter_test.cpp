#include <gtest/gtest.h>

#include "config/parser.h"
#include "parsers_test_support.h"
#include "plugins/filters/dissect/dissector.h"

namespace sluice {
namespace {

using test::field;
using test::field_text;
using test::make_filter;

struct DissectRun {
  std::unique_ptr<Event> event;
  bool matched = false;
};

DissectRun run_dissect(const std::string& mapping, const std::string& message, const std::string& extra = "") {
  auto filter = make_filter("dissect", "mapping => { \"message\" => \"" + mapping + "\" } " + extra);
  DissectRun run;
  run.event = test::event_with_message(message);
  test::TestFilterContext context;
  run.matched = filter->filter(*run.event, context);
  return run;
}

// Dissects with the engine alone; returns name=value pairs in field order (skips excluded).
std::map<std::string, std::string> engine(const std::string& mapping, const std::string& text, bool* ok = nullptr) {
  dissect::Dissector dissector(mapping);
  std::vector<dissect::Span> spans;
  bool matched = dissector.dissect(text, spans);
  if (ok) *ok = matched;
  std::map<std::string, std::string> out;
  if (!matched) return out;
  for (const auto& f : dissector.fields()) {
    if (f.kind == dissect::Field::Kind::Skip) continue;
    out[f.name] = text.substr(spans[f.id].start, spans[f.id].length);
  }
  return out;
}

TEST(DissectFilter, SyslogLineWithAppendAndSkip) {
  DissectRun r = run_dissect("%{timestamp} %{+timestamp} %{+timestamp} %{logsource} %{} %{program}[%{pid}]: %{msg}",
                             "Mar 16 00:01:25 evita skip-this postfix/smtpd[1713]: connect from camomile.cloud9.net");
  ASSERT_TRUE(r.matched);
  EXPECT_EQ(field_text(*r.event, "timestamp"), "Mar 16 00:01:25");
  EXPECT_EQ(field_text(*r.event, "logsource"), "evita");
  EXPECT_EQ(field_text(*r.event, "program"), "postfix/smtpd");
  EXPECT_EQ(field_text(*r.event, "pid"), "1713");
  EXPECT_EQ(field_text(*r.event, "msg"), "connect from camomile.cloud9.net");
  EXPECT_FALSE(r.event->has_tag("_dissectfailure"));
}

TEST(DissectFilter, RightPaddingSkipsRepeatedDelimiters) {
  DissectRun r = run_dissect("[%{occurred_at}] %{code} %{service->} %{ic} %{svc_message}",
                             "[25/05/16 09:10:38:425 BST] 00000001 SystemOut     O java.lang:type=MemoryPool");
  ASSERT_TRUE(r.matched);
  EXPECT_EQ(field_text(*r.event, "occurred_at"), "25/05/16 09:10:38:425 BST");
  EXPECT_EQ(field_text(*r.event, "code"), "00000001");
  EXPECT_EQ(field_text(*r.event, "service"), "SystemOut");
  EXPECT_EQ(field_text(*r.event, "ic"), "O");
  EXPECT_EQ(field_text(*r.event, "svc_message"), "java.lang:type=MemoryPool");
  // No padding at all is fine too (Logstash 1.2.5 fixed this).
  DissectRun unpadded = run_dissect("%{a->} %{b}", "foo bar");
  ASSERT_TRUE(unpadded.matched);
  EXPECT_EQ(field_text(*unpadded.event, "b"), "bar");
  DissectRun literal = run_dissect("XXX %{y->} ZZZ", "XXX YYY        ZZZ");
  ASSERT_TRUE(literal.matched);
  // `->` skips repeats of the delimiter after the field (" ZZZ"), not the spaces before it.
  EXPECT_EQ(field_text(*literal.event, "y"), "YYY       ");
}

TEST(DissectFilter, WithoutPaddingModifierConsecutiveDelimitersAreEmptyFields) {
  DissectRun r = run_dissect("%{name},%{addr1},%{addr2},%{addr3},%{city},%{zip}",
                             "Jane Doe,4321 Fifth Avenue,,,New York,87432");
  ASSERT_TRUE(r.matched);
  EXPECT_EQ(field_text(*r.event, "addr2"), "");
  EXPECT_EQ(field_text(*r.event, "addr3"), "");
  EXPECT_EQ(field_text(*r.event, "city"), "New York");
  EXPECT_EQ(engine("%{a} %{b} %{c}", "foo bar   baz")["c"], "  baz");
}

TEST(DissectFilter, AppendOrdering) {
  EXPECT_EQ(engine("%{+a/2} %{+a/4} %{+a/1} %{+a/3}", "bar quux foo baz").size(), 1u);
  DissectRun ordered = run_dissect("%{+a/2} %{+a/4} %{+a/1} %{+a/3}", "bar quux foo baz");
  EXPECT_EQ(field_text(*ordered.event, "a"), "foo bar baz quux");
  DissectRun mixed = run_dissect("%{+a} %{a} %{+a} %{b}", "December 31 1999 quux");
  EXPECT_EQ(field_text(*mixed.event, "a"), "31 December 1999");
  EXPECT_EQ(field_text(*mixed.event, "b"), "quux");
  DissectRun joined = run_dissect("%{a}-%{+a}", "x-y");
  EXPECT_EQ(field_text(*joined.event, "a"), "x-y");  // the delimiter before the field joins
}

TEST(DissectFilter, IndirectFieldsUseAnotherFieldsValueAsName) {
  DissectRun r = run_dissect("%{?k1}=%{&k1}, %{?k2}=%{&k2}", "foo=bar, baz=quux");
  ASSERT_TRUE(r.matched);
  EXPECT_EQ(field_text(*r.event, "foo"), "bar");
  EXPECT_EQ(field_text(*r.event, "baz"), "quux");
  EXPECT_EQ(field(*r.event, "k1"), nullptr);
  DissectRun normal = run_dissect("%{k1}=%{&k1}", "foo=bar");
  EXPECT_EQ(field_text(*normal.event, "k1"), "foo");
  EXPECT_EQ(field_text(*normal.event, "foo"), "bar");
  DissectRun star = run_dissect("%{*k}: %{&k}", "google: 77.98");
  EXPECT_EQ(field_text(*star.event, "google"), "77.98");
  EXPECT_EQ(field(*star.event, "k"), nullptr);
}

TEST(DissectFilter, IndirectKeyFromTheEvent) {
  auto filter = make_filter("dissect", R"(mapping => { "message" => "%{&kind} %{rest}" })");
  auto event = test::event_with_message("value rest");
  event->fields()["kind"] = Value("color");
  test::TestFilterContext context;
  ASSERT_TRUE(filter->filter(*event, context));
  EXPECT_EQ(field_text(*event, "color"), "value");
}

TEST(DissectFilter, MissingDelimiterFailsAndLeavesTheEventAlone) {
  DissectRun r = run_dissect("%{a} %{b} %{c}", "onlyone");
  EXPECT_FALSE(r.matched);
  EXPECT_TRUE(r.event->has_tag("_dissectfailure"));
  EXPECT_EQ(field(*r.event, "a"), nullptr);
  DissectRun empty = run_dissect("%{a} %{b}", "");
  EXPECT_TRUE(empty.event->has_tag("_dissectfailure"));
  DissectRun custom = run_dissect("%{a} %{b}", "nospace", R"(tag_on_failure => ["dissect_bad"])");
  EXPECT_TRUE(custom.event->has_tag("dissect_bad"));
  // Adjacent fields have no delimiter to find: Logstash fails those too.
  DissectRun adjacent = run_dissect("%{a}%{b}", "ab");
  EXPECT_TRUE(adjacent.event->has_tag("_dissectfailure"));
  // A leading delimiter must be at the very start.
  DissectRun leading = run_dissect("[%{a}] %{b}", "x[y] z");
  EXPECT_TRUE(leading.event->has_tag("_dissectfailure"));
}

TEST(DissectFilter, TrailingLiteralMustBeFound) {
  DissectRun r = run_dissect("%{a} %{b}.", "x y.z");
  ASSERT_TRUE(r.matched);
  EXPECT_EQ(field_text(*r.event, "b"), "y");
  DissectRun missing = run_dissect("%{a} %{b}.", "x y");
  EXPECT_TRUE(missing.event->has_tag("_dissectfailure"));
}

TEST(DissectFilter, MissingSourceIsNotTagged) {
  auto filter = make_filter("dissect", R"(mapping => { "other" => "%{a} %{b}" })");
  auto event = test::event_with_message("x y");
  test::TestFilterContext context;
  EXPECT_FALSE(filter->filter(*event, context));
  EXPECT_FALSE(event->has_tag("_dissectfailure"));
}

TEST(DissectFilter, ConvertDatatype) {
  DissectRun r = run_dissect("%{code} %{?ic}=%{&ic}%", "00000001 cpu=95.43%",
                             R"(convert_datatype => { "cpu" => "float" "code" => "int" })");
  ASSERT_TRUE(r.matched);
  const Value* code = field(*r.event, "code");
  ASSERT_TRUE(code && code->is_int());
  EXPECT_EQ(code->as_int(), 1);
  const Value* cpu = field(*r.event, "cpu");
  ASSERT_TRUE(cpu && cpu->is_float());
  EXPECT_DOUBLE_EQ(cpu->as_float(), 95.43);

  auto filter = make_filter("dissect", R"(convert_datatype => { "big" => "int" "ratio" => "int" "bad" => "float" "gone" => "int" })");
  Event event;
  event.fields()["big"] = Value("4394740425750718628");
  event.fields()["ratio"] = Value("12.9");
  event.fields()["bad"] = Value("n/a");
  test::TestFilterContext context;
  ASSERT_TRUE(filter->filter(event, context));
  EXPECT_EQ(field(event, "big")->as_int(), 4394740425750718628LL);
  EXPECT_EQ(field(event, "ratio")->as_int(), 12);
  EXPECT_TRUE(event.has_tag("_dataconversionuncoercible_bad_float"));
  EXPECT_TRUE(event.has_tag("_dataconversionnullvalue_gone_int"));
}

TEST(DissectFilter, NestedTargetsAndSeveralMappings) {
  auto filter = make_filter("dissect", R"(mapping => {
      "message" => "%{[src][ip]}:%{[src][port]} %{rest}"
      "rest" => "%{verb} %{path}"
    })");
  auto event = test::event_with_message("10.0.0.1:443 GET /index.html");
  test::TestFilterContext context;
  ASSERT_TRUE(filter->filter(*event, context));
  EXPECT_EQ(field_text(*event, "[src][ip]"), "10.0.0.1");
  EXPECT_EQ(field_text(*event, "[src][port]"), "443");
  EXPECT_EQ(field_text(*event, "verb"), "GET");
  EXPECT_EQ(field_text(*event, "path"), "/index.html");
}

TEST(DissectFilter, SourceCanBeOverwritten) {
  DissectRun r = run_dissect("%{a} %{message}", "first second third");
  ASSERT_TRUE(r.matched);
  EXPECT_EQ(field_text(*r.event, "a"), "first");
  EXPECT_EQ(field_text(*r.event, "message"), "second third");
}

TEST(DissectFilter, BracesInDelimiters) {
  DissectRun r = run_dissect("{%{a}}{%{b}}%{rest}", "{foo}{bar}");
  ASSERT_TRUE(r.matched);
  EXPECT_EQ(field_text(*r.event, "a"), "foo");
  EXPECT_EQ(field_text(*r.event, "b"), "bar");
  EXPECT_EQ(field_text(*r.event, "rest"), "");
}

TEST(DissectFilter, InvalidMappingsAreConfigErrors) {
  EXPECT_THROW(make_filter("dissect", R"(mapping => { "message" => "%{+&timestamp}" })"), config::ConfigError);
  EXPECT_THROW(make_filter("dissect", R"(mapping => { "message" => "%{&+timestamp}" })"), config::ConfigError);
  EXPECT_THROW(make_filter("dissect", R"(mapping => { "message" => "%{+} %{a}" })"), config::ConfigError);
  EXPECT_THROW(make_filter("dissect", R"(mapping => { "message" => "%{+/2} %{a}" })"), config::ConfigError);
  EXPECT_THROW(make_filter("dissect", R"(mapping => { "message" => "no fields" })"), config::ConfigError);
  EXPECT_THROW(make_filter("dissect", R"(convert_datatype => { "a" => "integer" })"), config::ConfigError);
  EXPECT_NO_THROW(make_filter("dissect", R"(mapping => { "message" => "%{+ts/2} %{+ts/1} %{?x} %{&x} %{} %{p}" })"));
}

TEST(DissectEngine, SuffixesAreParsed) {
  dissect::Dissector d("%{a/1->} %{+b/12} %{c->/3} %{d}");
  ASSERT_EQ(d.fields().size(), 4u);
  EXPECT_EQ(d.fields()[0].name, "a");
  EXPECT_EQ(d.fields()[1].name, "b");
  EXPECT_EQ(d.fields()[1].ordinal, 112);
  EXPECT_EQ(d.fields()[2].name, "c");
  EXPECT_EQ(engine("%{a/1->} %{+b/12} %{c->/3} %{d}", "1    2 3   4")["c"], "3");
}

}  // namespace
}  // namespace sluice
