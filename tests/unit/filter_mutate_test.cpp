// The mutate filter: every operation, Logstash's fixed order, convert edge cases, gsub,
// failures and their tag.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "core/event_pool.h"
#include "core/json.h"
#include "runtime/options.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

class CollectingContext : public FilterContext {
 public:
  ~CollectingContext() override {
    for (Event* event : emitted) free_event(event);
  }
  Event* new_event() override { return sluice::new_event(); }
  void emit(Event* event) override { emitted.push_back(event); }
  std::vector<Event*> emitted;
};

// Builds the filter of `filter { <block> }` through the registry, as the runtime does.
std::unique_ptr<Filter> make_filter(const std::string& block) {
  config::PipelineConfig config = config::parse_config("filter { " + block + " }", "test.conf");
  const config::PluginBlock& plugin = *config.filters.at(0).plugin;
  const PluginEntry* entry = Registry::instance().find(PluginKind::Filter, plugin.name);
  if (!entry) throw std::runtime_error("no filter " + plugin.name);
  Options options = Options::validate(plugin, entry->schema);
  static PipelineSettings settings;
  PluginContext context;
  context.id = plugin.name + "_test";
  context.settings = &settings;
  return entry->filter(options, context);
}

// An event whose fields are the given JSON object.
Event make_event(const std::string& json) {
  Value parsed;
  std::string error;
  if (!json_parse(json, parsed, &error) || !parsed.is_object()) throw std::runtime_error("bad test json: " + error);
  Event event;
  for (const Object::Entry& entry : parsed.as_object()) event.fields()[entry.key] = entry.value;
  return event;
}

// The field as JSON, or "<missing>".
std::string field(const Event& event, const std::string& ref) {
  const Value* value = event.get(FieldRef::of(ref));
  if (!value) return "<missing>";
  std::string out;
  json_append_value(out, *value);
  return out;
}

// Runs `block` on the event; returns filter()'s result.
bool run(const std::string& block, Event& event) {
  auto filter = make_filter(block);
  CollectingContext context;
  return filter->filter(event, context);
}

// ---- order ----

TEST(MutateOrderTest, RenameRunsBeforeCopyWhateverTheConfigOrder) {
  Event event = make_event(R"({"a":"x"})");
  EXPECT_TRUE(run(R"(mutate { copy => { "a" => "b" } rename => { "a" => "c" } })", event));
  EXPECT_EQ(field(event, "c"), R"("x")");
  EXPECT_EQ(field(event, "a"), "<missing>");
  EXPECT_EQ(field(event, "b"), "<missing>");  // copy found no `a` any more
}

TEST(MutateOrderTest, ReplaceRunsBeforeUppercase) {
  Event event = make_event(R"({"who":"world"})");
  run(R"(mutate { uppercase => ["greeting"] replace => { "greeting" => "hello %{who}" } })", event);
  EXPECT_EQ(field(event, "greeting"), R"("HELLO WORLD")");
}

TEST(MutateOrderTest, SplitRunsBeforeJoin) {
  Event event = make_event(R"({"f":"a,b,c"})");
  run(R"(mutate { join => { "f" => "-" } split => { "f" => "," } })", event);
  EXPECT_EQ(field(event, "f"), R"("a-b-c")");
}

TEST(MutateOrderTest, CoerceRunsBeforeUpdateAndConvertAfterReplace) {
  Event event = make_event(R"({"n":null,"count":"5"})");
  run(R"(mutate { convert => { "count" => "integer" } replace => { "count" => "%{count}0" } coerce => { "n" => "x" } update => { "n" => "%{n}y" } })",
      event);
  EXPECT_EQ(field(event, "n"), R"("xy")");
  EXPECT_EQ(field(event, "count"), "50");
}

TEST(MutateOrderTest, GsubRunsAfterConvertAndBeforeCase) {
  Event event = make_event(R"({"v":12})");
  run(R"(mutate { lowercase => ["v"] gsub => ["v", "1", "a"] convert => { "v" => "string" } })", event);
  EXPECT_EQ(field(event, "v"), R"("a2")");
}

// ---- coerce / rename / update / replace ----

TEST(MutateCoerceTest, SetsOnlyFieldsThatExistAndAreNull) {
  Event event = make_event(R"({"empty":null,"full":"keep"})");
  run(R"(mutate { coerce => { "empty" => "default" "full" => "no" "missing" => "no" } })", event);
  EXPECT_EQ(field(event, "empty"), R"("default")");
  EXPECT_EQ(field(event, "full"), R"("keep")");
  EXPECT_EQ(field(event, "missing"), "<missing>");
}

TEST(MutateRenameTest, MovesValuesKeepingTheirType) {
  Event event = make_event(R"({"HOSTORIP":"10.0.0.1","n":{"deep":[1,2]},"target":"old"})");
  run(R"(mutate { rename => { "HOSTORIP" => "[client][ip]" "[n][deep]" => "target" } })", event);
  EXPECT_EQ(field(event, "[client][ip]"), R"("10.0.0.1")");
  EXPECT_EQ(field(event, "HOSTORIP"), "<missing>");
  EXPECT_EQ(field(event, "target"), "[1,2]");
  EXPECT_EQ(field(event, "n"), "{}");
}

TEST(MutateRenameTest, NamesAreSprintfTemplates) {
  Event event = make_event(R"({"kind":"user","src_user":"bob"})");
  run(R"(mutate { rename => { "src_%{kind}" => "[%{kind}][name]" } })", event);
  EXPECT_EQ(field(event, "[user][name]"), R"("bob")");
  EXPECT_EQ(field(event, "src_user"), "<missing>");
}

TEST(MutateRenameTest, MissingSourceIsNotAFailure) {
  Event event = make_event(R"({"a":1})");
  EXPECT_TRUE(run(R"(mutate { rename => { "nothing" => "b" } })", event));
  EXPECT_EQ(field(event, "b"), "<missing>");
  EXPECT_EQ(field(event, "tags"), "<missing>");
}

TEST(MutateUpdateTest, OnlyExistingFields) {
  Event event = make_event(R"({"sample":"old","x":"X"})");
  run(R"(mutate { update => { "sample" => "new %{x}" "absent" => "value" } })", event);
  EXPECT_EQ(field(event, "sample"), R"("new X")");
  EXPECT_EQ(field(event, "absent"), "<missing>");
}

TEST(MutateReplaceTest, AddsOrReplacesWithSprintfAndKeepsMissingReferences) {
  Event event = make_event(R"({"message":"m","host":"h1","n":3})");
  run(R"(mutate { replace => { "message" => "%{host}: %{n} %{nope}" "[new][field]" => "v" } })", event);
  EXPECT_EQ(field(event, "message"), R"("h1: 3 %{nope}")");
  EXPECT_EQ(field(event, "[new][field]"), R"("v")");
}

// ---- convert ----

struct ConvertCase {
  const char* type;
  const char* input;     // JSON
  const char* expected;  // JSON
};

// gtest prints a case with this (its bytes otherwise: pointers, different in every build).
void PrintTo(const ConvertCase& c, std::ostream* os) { *os << c.type << " " << c.input << " -> " << c.expected; }

class MutateConvertTest : public ::testing::TestWithParam<ConvertCase> {};

TEST_P(MutateConvertTest, Converts) {
  const ConvertCase& c = GetParam();
  Event event = make_event(std::string(R"({"f":)") + c.input + "}");
  EXPECT_TRUE(run(std::string(R"(mutate { convert => { "f" => ")") + c.type + "\" } }", event))
      << c.type << " " << c.input;
  EXPECT_EQ(field(event, "f"), c.expected) << c.type << " " << c.input;
  EXPECT_EQ(field(event, "tags"), "<missing>");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MutateConvertTest,
    ::testing::Values(
        ConvertCase{"integer", R"("123")", "123"}, ConvertCase{"integer", R"("-42")", "-42"},
        ConvertCase{"integer", R"("1,000")", "1000"}, ConvertCase{"integer", R"("12.7")", "12"},
        ConvertCase{"integer", R"(" 7 ")", "7"}, ConvertCase{"integer", "3.99", "3"},
        ConvertCase{"integer", "-2.7", "-2"}, ConvertCase{"integer", "true", "1"},
        ConvertCase{"integer", "false", "0"}, ConvertCase{"integer", R"("abc")", "0"},
        ConvertCase{"integer", R"("12abc")", "12"}, ConvertCase{"integer", R"("0x1A")", "26"},
        ConvertCase{"integer", R"("-0x1a")", "-26"}, ConvertCase{"integer", R"("1e3")", "1000"},
        ConvertCase{"integer", R"("2.5e1")", "25"}, ConvertCase{"integer", "[\"1\",\"2\",null]", "[1,2,null]"},
        ConvertCase{"integer_eu", R"("1.000")", "1000"}, ConvertCase{"integer_eu", R"("1.234,56")", "1234"},
        ConvertCase{"float", R"("1,000.5")", "1000.5"}, ConvertCase{"float", R"("3")", "3.0"},
        ConvertCase{"float", "7", "7.0"}, ConvertCase{"float", "true", "1.0"}, ConvertCase{"float", "false", "0.0"},
        ConvertCase{"float", R"("1.5e3")", "1500.0"}, ConvertCase{"float", R"("0x10")", "16.0"},
        ConvertCase{"float_eu", R"("1.000,5")", "1000.5"}, ConvertCase{"float_eu", R"("3,25")", "3.25"},
        ConvertCase{"string", "12", R"("12")"}, ConvertCase{"string", "1.5", R"("1.5")"},
        ConvertCase{"string", "10000000.0", R"("10000000.0")"}, ConvertCase{"string", "true", R"("true")"},
        ConvertCase{"string", "[1,2.0]", R"(["1","2.0"])"}, ConvertCase{"boolean", R"("yes")", "true"},
        ConvertCase{"boolean", R"("TRUE")", "true"}, ConvertCase{"boolean", R"("t")", "true"},
        ConvertCase{"boolean", R"("1.0")", "true"}, ConvertCase{"boolean", R"("F")", "false"},
        ConvertCase{"boolean", R"("no")", "false"}, ConvertCase{"boolean", R"("0")", "false"},
        ConvertCase{"boolean", R"("")", "false"}, ConvertCase{"boolean", "1", "true"},
        ConvertCase{"boolean", "0", "false"}, ConvertCase{"boolean", "1.0", "true"},
        ConvertCase{"boolean", "0.0", "false"}, ConvertCase{"boolean", R"("maybe")", R"("maybe")"},
        ConvertCase{"boolean", R"(["y","n","x"])", R"([true,false,"x"])"},
        ConvertCase{"integer", R"({"a":"1"})", R"({"a":"1"})"}));  // hashes are left alone

TEST(MutateConvertFailureTest, StrictFloatParsingFailsWithTheTag) {
  Event event = make_event(R"({"f":"abc","g":"x"})");
  EXPECT_FALSE(run(R"(mutate { convert => { "f" => "float" } uppercase => ["g"] })", event));
  EXPECT_EQ(field(event, "f"), R"("abc")");
  EXPECT_EQ(field(event, "g"), R"("x")");  // the rest is aborted
  EXPECT_EQ(field(event, "tags"), R"(["_mutate_error"])");
}

TEST(MutateConvertFailureTest, ScientificLookingWordsFailIntegerConversion) {
  // Logstash hands strings with an `e` to BigDecimal(), which rejects "yes".
  Event event = make_event(R"({"f":"yes"})");
  EXPECT_FALSE(run(R"(mutate { convert => { "f" => "integer" } })", event));
  EXPECT_EQ(field(event, "tags"), R"(["_mutate_error"])");
}

TEST(MutateConvertFailureTest, ArrayIsUnchangedWhenOneItemFails) {
  Event event = make_event(R"({"f":["1","bad"]})");
  EXPECT_FALSE(run(R"(mutate { convert => { "f" => "float" } tag_on_failure => "convert_failed" })", event));
  EXPECT_EQ(field(event, "f"), R"(["1","bad"])");
  EXPECT_EQ(field(event, "tags"), R"(["convert_failed"])");
}

TEST(MutateConvertFailureTest, UnknownTypeIsAConfigError) {
  try {
    make_filter(R"(mutate { convert => { "f" => "int" } })");
    FAIL() << "expected a config error";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("Invalid conversion type 'int'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test.conf:1:"), std::string::npos) << e.what();
  }
}

TEST(MutateConvertTest, MissingAndNullFieldsAreSkipped) {
  Event event = make_event(R"({"n":null})");
  EXPECT_TRUE(run(R"(mutate { convert => { "n" => "integer" "absent" => "integer" } })", event));
  EXPECT_EQ(field(event, "n"), "null");
  EXPECT_EQ(field(event, "absent"), "<missing>");
}

// ---- gsub ----

TEST(MutateGsubTest, ReplacesEveryMatch) {
  Event event = make_event(R"({"path":"/a/b/c","f2":"a?b#c-d"})");
  run(R"(mutate { gsub => [ "path", "/", "_", "f2", "[\\?#-]", "." ] })", event);
  EXPECT_EQ(field(event, "path"), R"("_a_b_c")");
  EXPECT_EQ(field(event, "f2"), R"("a.b.c.d")");
}

TEST(MutateGsubTest, BackReferencesInTheReplacement) {
  Event event = make_event(R"({"d":"2024-05-01"})");
  run(R"~(mutate { gsub => [ "d", "(\d+)-(\d+)-(?<day>\d+)", "\k<day>/\2/\1 (\0)" ] })~", event);
  EXPECT_EQ(field(event, "d"), R"~("01/05/2024 (2024-05-01)")~");
}

TEST(MutateGsubTest, ReplacementIsASprintfTemplate) {
  Event event = make_event(R"({"msg":"user=X","name":"bob"})");
  run(R"(mutate { gsub => [ "msg", "X", "%{name}" ] })", event);
  EXPECT_EQ(field(event, "msg"), R"("user=bob")");
}

TEST(MutateGsubTest, DynamicPatternIsRenderedPerEvent) {
  auto filter = make_filter(R"(mutate { gsub => [ "msg", "%{secret}", "***" ] })");
  CollectingContext context;
  Event first = make_event(R"({"msg":"pw=hunter2 ok","secret":"hunter2"})");
  Event second = make_event(R"({"msg":"pw=abc abc","secret":"abc"})");
  filter->filter(first, context);
  filter->filter(second, context);
  EXPECT_EQ(field(first, "msg"), R"("pw=*** ok")");
  EXPECT_EQ(field(second, "msg"), R"("pw=*** ***")");
}

TEST(MutateGsubTest, ArraysOfStringsAndNonStringsSkipped) {
  Event event = make_event(R"({"a":["x-1","y-2",3],"n":5})");
  EXPECT_TRUE(run(R"(mutate { gsub => [ "a", "-", "+", "n", "5", "6" ] })", event));
  EXPECT_EQ(field(event, "a"), R"(["x+1","y+2",3])");
  EXPECT_EQ(field(event, "n"), "5");
}

TEST(MutateGsubTest, EmptyMatchesAndLineAnchorsAsRuby) {
  Event event = make_event(R"({"a":"abc","b":"one\ntwo"})");
  run(R"(mutate { gsub => [ "a", "x*", "-", "b", "^", "> " ] })", event);
  EXPECT_EQ(field(event, "a"), R"("-a-b-c-")");
  EXPECT_EQ(field(event, "b"), R"("> one\n> two")");
}

TEST(MutateGsubTest, RubyHexDigitClassAndUtf8) {
  Event event = make_event(R"({"a":"id=0xFFz","u":"héllo wörld"})");
  run(R"(mutate { gsub => [ "a", "\h+z", "N", "u", "ö|é", "_" ] })", event);
  EXPECT_EQ(field(event, "a"), R"("id=0xN")");
  EXPECT_EQ(field(event, "u"), R"("h_llo w_rld")");
}

TEST(MutateGsubTest, BadRegexpAndBadArityAreConfigErrors) {
  EXPECT_THROW(make_filter(R"(mutate { gsub => [ "a", "(unclosed", "x" ] })"), config::ConfigError);
  EXPECT_THROW(make_filter(R"(mutate { gsub => [ "a", "b" ] })"), config::ConfigError);
}

// ---- case, strip ----

TEST(MutateCaseTest, UpperLowerCapitalizeStringsAndArrays) {
  Event event = make_event(R"({"u":"hello","l":["ABC",1,"DeF"],"c":"hELLO wORLD","e":"éte","n":5})");
  EXPECT_TRUE(run(R"(mutate { uppercase => ["u","e","n"] lowercase => ["l"] capitalize => ["c","missing"] })", event));
  EXPECT_EQ(field(event, "u"), R"("HELLO")");
  EXPECT_EQ(field(event, "l"), R"(["abc",1,"def"])");
  EXPECT_EQ(field(event, "c"), R"("Hello world")");
  EXPECT_EQ(field(event, "e"), R"("ÉTE")");
  EXPECT_EQ(field(event, "n"), "5");
  EXPECT_EQ(field(event, "missing"), "<missing>");
}

TEST(MutateStripTest, StripsStringsAndArrays) {
  Event event = make_event(R"({"a":"  x y \t\n","b":[" p ","q  "]})");
  EXPECT_TRUE(run(R"(mutate { strip => ["a","b"] })", event));
  EXPECT_EQ(field(event, "a"), R"("x y")");
  EXPECT_EQ(field(event, "b"), R"(["p","q"])");
}

TEST(MutateStripTest, NonStringArrayItemIsAFailure) {
  Event event = make_event(R"({"b":[" p ",1]})");
  EXPECT_FALSE(run(R"(mutate { strip => ["b"] })", event));
  EXPECT_EQ(field(event, "tags"), R"(["_mutate_error"])");
}

// ---- split, join ----

TEST(MutateSplitTest, RubySplitSemantics) {
  Event event = make_event(R"({"csv":"a,b,,c,,","ws":"  one two\tthree ","chars":"héj","n":1,"empty":""})");
  run(R"(mutate { split => { "csv" => "," "ws" => " " "chars" => "" "n" => "," "empty" => "," } })", event);
  EXPECT_EQ(field(event, "csv"), R"(["a","b","","c"])");
  EXPECT_EQ(field(event, "ws"), R"(["one","two","three"])");
  EXPECT_EQ(field(event, "chars"), R"(["h","é","j"])");
  EXPECT_EQ(field(event, "n"), "1");
  EXPECT_EQ(field(event, "empty"), "[]");
}

TEST(MutateJoinTest, JoinsArraysOnly) {
  Event event = make_event(R"({"a":["x",1,2.5,null,["y","z"]],"s":"str"})");
  run(R"(mutate { join => { "a" => "|" "s" => "," } })", event);
  EXPECT_EQ(field(event, "a"), R"("x|1|2.5||y|z")");
  EXPECT_EQ(field(event, "s"), R"("str")");
}

// ---- merge, copy ----

TEST(MutateMergeTest, ArraysStringsAndHashes) {
  Event event = make_event(
      R"({"arr":["a"],"s1":"x","s2":"y","h1":{"k":1,"j":2},"h2":{"k":3},"added":"b","other":["c","d"]})");
  run(R"(mutate { merge => { "arr" => "added" "s1" => "s2" "h1" => "h2" } })", event);
  EXPECT_EQ(field(event, "arr"), R"(["a","b"])");
  EXPECT_EQ(field(event, "s1"), R"(["x","y"])");
  EXPECT_EQ(field(event, "h1"), R"({"k":3,"j":2})");
  EXPECT_EQ(field(event, "added"), R"("b")");
}

TEST(MutateMergeTest, ArrayAndHashDoNotMergeAndMissingDestinationStartsEmpty) {
  Event event = make_event(R"({"arr":["a"],"h":{"k":1},"src":["c","d"]})");
  EXPECT_TRUE(run(R"(mutate { merge => { "arr" => "h" "fresh" => "src" } })", event));
  EXPECT_EQ(field(event, "arr"), R"(["a"])");
  EXPECT_EQ(field(event, "fresh"), R"(["c","d"])");
}

TEST(MutateCopyTest, DeepCopiesAndOverwrites) {
  Event event = make_event(R"({"src":{"a":[1,2]},"dst":"old"})");
  run(R"(mutate { copy => { "src" => "dst" "missing" => "x" "[src][a]" => "[nested][copy]" } })", event);
  EXPECT_EQ(field(event, "dst"), R"({"a":[1,2]})");
  EXPECT_EQ(field(event, "[nested][copy]"), "[1,2]");
  EXPECT_EQ(field(event, "x"), "<missing>");
  event.get(FieldRef::of("[dst][a]"))->as_array().clear();
  EXPECT_EQ(field(event, "[src][a]"), "[1,2]");  // independent copy
}

// ---- config validation ----

TEST(MutateConfigTest, InvalidFieldReferenceIsAConfigErrorWithPosition) {
  try {
    make_filter("mutate {\n  uppercase => [\"[a\"]\n}");
    FAIL() << "expected a config error";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("test.conf:2:"), std::string::npos) << e.what();
  }
}

TEST(MutateConfigTest, AllOperationsTogetherSucceed) {
  Event event = make_event(R"({"a":" Mixed ","b":"1,2","c":null,"d":"5"})");
  EXPECT_TRUE(run(R"(mutate {
      coerce => { "c" => "filled" } rename => { "d" => "e" } update => { "a" => "%{a}!" }
      replace => { "r" => "R" } convert => { "e" => "integer" } gsub => [ "r", "R", "rr" ]
      uppercase => ["r"] capitalize => ["c"] lowercase => ["a"] strip => ["a"]
      split => { "b" => "," } join => { "b" => "+" } merge => { "m" => "r" } copy => { "e" => "f" } })",
                  event));
  EXPECT_EQ(field(event, "a"), R"("mixed !")");
  EXPECT_EQ(field(event, "b"), R"("1+2")");
  EXPECT_EQ(field(event, "c"), R"("Filled")");
  EXPECT_EQ(field(event, "e"), "5");
  EXPECT_EQ(field(event, "f"), "5");
  EXPECT_EQ(field(event, "r"), R"("RR")");
  EXPECT_EQ(field(event, "m"), R"(["RR"])");
}

}  // namespace
}  // namespace sluice
