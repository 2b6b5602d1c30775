#include <gtest/gtest.h>

#include "config/parser.h"
#include "parsers_test_support.h"
#include "plugins/filters/common/reloadable_file.h"
#include "runtime/metrics.h"
#include "test_support.h"

namespace sluice {
namespace {

using test::field_text;

// A filter built with metrics attached (the reload counters are asserted on).
struct Built {
  PluginMetrics metrics;
  std::unique_ptr<Filter> filter;
};

std::unique_ptr<Built> build(const std::string& body, const std::string& ecs = "disabled") {
  auto built = std::make_unique<Built>();
  Options options = test::plugin_options(PluginKind::Filter, "filter", "translate", body);
  PluginContext context;
  context.id = "translate_test";
  context.settings = test::settings_for(ecs);
  context.metrics = &built->metrics;
  built->filter = Registry::instance().find(PluginKind::Filter, "translate")->filter(options, context);
  return built;
}

std::unique_ptr<Event> event_with(const std::string& field, Value value) {
  auto event = test::event_with_message("m");
  event->fields()[field] = std::move(value);
  return event;
}

bool apply(Filter& filter, Event& event) {
  test::TestFilterContext context;
  return filter.filter(event, context);
}

std::string translate_one(Filter& filter, const std::string& field, Value value, const std::string& target = "translation") {
  auto event = event_with(field, std::move(value));
  apply(filter, *event);
  return field_text(*event, target);
}

TEST(TranslateFilter, InlineExactMatch) {
  auto t = build(R"(source => "status" dictionary => { "200" => "OK" "404" => "Not Found" })");
  auto event = event_with("status", Value("404"));
  EXPECT_TRUE(apply(*t->filter, *event));
  EXPECT_EQ(field_text(*event, "translation"), "Not Found");
  auto miss = event_with("status", Value("500"));
  EXPECT_FALSE(apply(*t->filter, *miss));
  EXPECT_EQ(test::field(*miss, "translation"), nullptr);
  auto absent = test::event_with_message("m");
  EXPECT_FALSE(apply(*t->filter, *absent));
}

TEST(TranslateFilter, OldOptionNamesFieldAndDestination) {
  auto t = build(R"(field => "status" destination => "[http][text]" dictionary => { "200" => "OK" })");
  EXPECT_EQ(translate_one(*t->filter, "status", Value("200"), "[http][text]"), "OK");
}

TEST(TranslateFilter, NumbersAndArraysAreLookedUpAsText) {
  auto t = build(R"(source => "status" dictionary => { "200" => "OK" "a" => "first" })");
  EXPECT_EQ(translate_one(*t->filter, "status", Value(200)), "OK");
  EXPECT_EQ(translate_one(*t->filter, "status", Value(Array{Value("a"), Value("200")})), "first");
}

TEST(TranslateFilter, FallbackIsSprintfed) {
  auto t = build(R"(source => "status" dictionary => { "200" => "OK" } fallback => "unknown %{status}")");
  auto event = event_with("status", Value("999"));
  EXPECT_TRUE(apply(*t->filter, *event));
  EXPECT_EQ(field_text(*event, "translation"), "unknown 999");
}

TEST(TranslateFilter, ExistingTargetKeptUnlessOverride) {
  auto keep = build(R"(source => "s" target => "t" dictionary => { "a" => "new" })");
  auto event = event_with("s", Value("a"));
  event->fields()["t"] = Value("old");
  EXPECT_FALSE(apply(*keep->filter, *event));
  EXPECT_EQ(field_text(*event, "t"), "old");
  auto replace = build(R"(source => "s" target => "t" override => true dictionary => { "a" => "new" })");
  EXPECT_TRUE(apply(*replace->filter, *event));
  EXPECT_EQ(field_text(*event, "t"), "new");
}

TEST(TranslateFilter, EcsModeTranslatesInPlaceByDefault) {
  auto t = build(R"(source => "[event][code]" dictionary => { "4625" => "logon failed" })", "v8");
  auto event = test::event_with_message("m");
  event->set(FieldRef::of("[event][code]"), Value("4625"));
  EXPECT_TRUE(apply(*t->filter, *event));
  EXPECT_EQ(field_text(*event, "[event][code]"), "logon failed");
}

TEST(TranslateFilter, RegexKeysTriedInOrder) {
  auto t = build(R"(source => "s" regex => true dictionary => { "^5\d\d$" => "server error" "^\d+$" => "number" })");
  EXPECT_EQ(translate_one(*t->filter, "s", Value("503")), "server error");
  EXPECT_EQ(translate_one(*t->filter, "s", Value("42")), "number");
  EXPECT_EQ(translate_one(*t->filter, "s", Value("x42y")), "<missing>");
}

TEST(TranslateFilter, BadRegexKeyIsConfigError) {
  EXPECT_THROW(build(R"(source => "s" regex => true dictionary => { "(" => "x" })"), config::ConfigError);
}

TEST(TranslateFilter, NonExactReplacesEveryOccurrence) {
  auto t = build(R"(source => "s" exact => false dictionary => { "foo" => "bar" "o" => "0" })");
  EXPECT_EQ(translate_one(*t->filter, "s", Value("foofing")), "barfing");
  EXPECT_EQ(translate_one(*t->filter, "s", Value("a.o.foo")), "a.0.bar");
  EXPECT_EQ(translate_one(*t->filter, "s", Value("xyz")), "<missing>");
}

TEST(TranslateFilter, IterateOnArrayOfValues) {
  auto t = build(R"(iterate_on => "[ids]" source => "[ids]" target => "[names]" fallback => "Unknown"
                    dictionary => { "100" => "Yuki" "103" => "Kwame" })");
  auto event = event_with("ids", Value(Array{Value(100), Value(103), Value(110)}));
  EXPECT_TRUE(apply(*t->filter, *event));
  const Value* names = test::field(*event, "names");
  ASSERT_TRUE(names && names->is_array());
  ASSERT_EQ(names->as_array().size(), 3u);
  EXPECT_EQ(names->as_array()[0].as_string(), "Yuki");
  EXPECT_EQ(names->as_array()[1].as_string(), "Kwame");
  EXPECT_EQ(names->as_array()[2].as_string(), "Unknown");
}

TEST(TranslateFilter, IterateOnArrayOfObjects) {
  auto t = build(R"(iterate_on => "[people]" source => "[id]" target => "[name]" dictionary => { "100" => "Yuki" })");
  Object known, unknown;
  known["id"] = Value(100);
  unknown["id"] = Value(7);
  auto event = event_with("people", Value(Array{Value(known), Value(unknown)}));
  EXPECT_TRUE(apply(*t->filter, *event));
  EXPECT_EQ(field_text(*event, "[people][0][name]"), "Yuki");
  EXPECT_EQ(test::field(*event, "[people][1][name]"), nullptr);
}

TEST(TranslateFilter, YamlJsonAndCsvFiles) {
  test::TempDir dir;
  test::write_file(dir.file("d.yml"), "\"200\": OK\n404: Not Found\nlist: [1, 2]\nquoted: \"123\"\nnum: 7\n");
  test::write_file(dir.file("d.json"), R"({"200": "OK", "n": 12, "obj": {"a": true}})");
  test::write_file(dir.file("d.csv"), "200,OK\n\"4,04\",\"Not \"\"Found\"\"\"\r\n500\n");
  auto yaml = build(R"(source => "s" dictionary_path => ")" + dir.file("d.yml") + "\"");
  EXPECT_EQ(translate_one(*yaml->filter, "s", Value("200")), "OK");
  EXPECT_EQ(translate_one(*yaml->filter, "s", Value("404")), "Not Found");
  auto event = event_with("s", Value("num"));
  apply(*yaml->filter, *event);
  ASSERT_TRUE(test::field(*event, "translation")->is_int());
  auto quoted = event_with("s", Value("quoted"));
  apply(*yaml->filter, *quoted);
  EXPECT_TRUE(test::field(*quoted, "translation")->is_string());
  EXPECT_EQ(translate_one(*yaml->filter, "s", Value("list")), "1,2");

  auto json = build(R"(source => "s" dictionary_path => ")" + dir.file("d.json") + "\"");
  EXPECT_EQ(translate_one(*json->filter, "s", Value("200")), "OK");
  auto n = event_with("s", Value("n"));
  apply(*json->filter, *n);
  EXPECT_EQ(test::field(*n, "translation")->as_int(), 12);
  EXPECT_EQ(translate_one(*json->filter, "s", Value("obj"), "[translation][a]"), "true");

  auto csv = build(R"(source => "s" dictionary_path => ")" + dir.file("d.csv") + "\"");
  EXPECT_EQ(translate_one(*csv->filter, "s", Value("200")), "OK");
  EXPECT_EQ(translate_one(*csv->filter, "s", Value("4,04")), "Not \"Found\"");
}

TEST(TranslateFilter, FileConfigErrors) {
  test::TempDir dir;
  test::write_file(dir.file("d.json"), R"({"a": "b"})");
  test::write_file(dir.file("bad.json"), R"({"a": )");
  test::write_file(dir.file("d.txt"), "a: b");
  EXPECT_THROW(build(R"(source => "s" dictionary => { "x" => "y" } dictionary_path => ")" + dir.file("d.json") + "\""),
               config::ConfigError);
  EXPECT_THROW(build(R"(source => "s" dictionary_path => ")" + dir.file("d.txt") + "\""), config::ConfigError);
  EXPECT_THROW(build(R"(source => "s" dictionary_path => ")" + dir.file("bad.json") + "\""), config::ConfigError);
  EXPECT_THROW(build(R"(source => "s" dictionary_path => ")" + dir.file("missing.json") + "\""), config::ConfigError);
  EXPECT_THROW(build(R"(dictionary => { "x" => "y" })"), config::ConfigError);  // no source
}

TEST(TranslateFilter, YamlCodePointLimit) {
  test::TempDir dir;
  test::write_file(dir.file("d.yml"), "k\xC3\xA9y: value\n");  // 11 code points, 12 bytes
  EXPECT_NO_THROW(build(R"(source => "s" yaml_dictionary_code_point_limit => 11 dictionary_path => ")" +
                        dir.file("d.yml") + "\""));
  EXPECT_THROW(build(R"(source => "s" yaml_dictionary_code_point_limit => 10 dictionary_path => ")" +
                     dir.file("d.yml") + "\""),
               config::ConfigError);
}

// Waits (generously) for the background reload to show a translation.
bool eventually_translates(Filter& filter, const std::string& key, const std::string& expected) {
  return test::wait_until([&] { return translate_one(filter, "s", Value(key)) == expected; },
                          std::chrono::seconds(20));
}

TEST(TranslateFilter, ReloadMergeKeepsRemovedEntries) {
  test::TempDir dir;
  const std::string path = dir.file("d.json");
  test::write_file(path, R"({"a": "1", "b": "2"})");
  auto t = build(R"(source => "s" refresh_interval => 0.05 dictionary_path => ")" + path + "\"");
  EXPECT_EQ(translate_one(*t->filter, "s", Value("a")), "1");
  test::write_file(path, R"({"a": "one", "c": "three"})");
  ASSERT_TRUE(eventually_translates(*t->filter, "a", "one"));
  EXPECT_EQ(translate_one(*t->filter, "s", Value("c")), "three");
  EXPECT_EQ(translate_one(*t->filter, "s", Value("b")), "2");  // merge: kept
  EXPECT_GE(t->metrics.counter("reloads").load(), 1u);
  EXPECT_GT(t->metrics.counter("last_reload_epoch_ms").load(), 1600000000000u);
}

TEST(TranslateFilter, ReloadReplaceDropsRemovedEntries) {
  test::TempDir dir;
  const std::string path = dir.file("d.csv");
  test::write_file(path, "a,1\nb,2\n");
  auto t = build(R"(source => "s" refresh_interval => 0.05 refresh_behaviour => "replace" dictionary_path => ")" +
                 path + "\"");
  test::write_file(path, "a,one\n");
  ASSERT_TRUE(eventually_translates(*t->filter, "a", "one"));
  EXPECT_EQ(translate_one(*t->filter, "s", Value("b")), "<missing>");
}

TEST(TranslateFilter, BrokenFileOnReloadKeepsTheOldDictionary) {
  test::TempDir dir;
  const std::string path = dir.file("d.yaml");
  test::write_file(path, "a: 1st\n");
  auto t = build(R"(source => "s" refresh_interval => 0.05 dictionary_path => ")" + path + "\"");
  test::write_file(path, "a: [unclosed\n");
  ASSERT_TRUE(test::wait_until([&] { return t->metrics.counter("reload_failures").load() >= 1; },
                               std::chrono::seconds(20)));
  EXPECT_EQ(translate_one(*t->filter, "s", Value("a")), "1st");
  test::write_file(path, "a: 2nd\n");
  ASSERT_TRUE(eventually_translates(*t->filter, "a", "2nd"));
}

TEST(ReloadableFile, ChecksOnlyWhenTheFileChanged) {
  test::TempDir dir;
  const std::string path = dir.file("n.txt");
  test::write_file(path, "1");
  int loads = 0;
  ReloadableFile<std::string> file(
      path, 0,  // no thread: checks run by hand
      [&](const std::string& p, const std::string*) {
        ++loads;
        std::string text = read_whole_file(p);
        if (text == "bad") throw std::runtime_error("bad content");
        return std::make_shared<const std::string>(text);
      },
      nullptr, "test.reloadable");
  EXPECT_EQ(*file.snapshot(), "1");
  EXPECT_FALSE(file.check_now());
  EXPECT_EQ(loads, 1);
  std::shared_ptr<const std::string> held = file.snapshot();
  test::write_file(path, "22");
  EXPECT_TRUE(file.check_now());
  EXPECT_EQ(*file.snapshot(), "22");
  EXPECT_EQ(*held, "1");  // a reader's snapshot stays valid
  test::write_file(path, "bad");
  EXPECT_FALSE(file.check_now());
  EXPECT_EQ(*file.snapshot(), "22");
  EXPECT_FALSE(file.check_now());  // the same broken version is not retried
}

}  // namespace
}  // namespace sluice
