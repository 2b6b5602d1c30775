// filter/grok through the plugin API: options from a parsed config, the ECS default of the
// pipeline, patterns_dir / pattern_definitions, config errors with their position.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "config/parser.h"
#include "core/event.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"
#include "test_support.h"

namespace sluice {
namespace {

class NoNewEvents : public FilterContext {
 public:
  Event* new_event() override { return nullptr; }
  void emit(Event*) override {}
};

struct BuiltFilter {
  PipelineSettings settings;
  PipelineMetrics metrics;
  std::unique_ptr<Filter> filter;
  PluginMetrics* plugin_metrics = nullptr;
};

// Builds the first filter of `config_text` the way the pipeline does.
std::unique_ptr<BuiltFilter> build(const std::string& config_text, const std::string& ecs = "v8") {
  auto built = std::make_unique<BuiltFilter>();
  built->settings.ecs_compatibility = ecs;
  config::PipelineConfig cfg = config::parse_config(config_text, "test.conf");
  const auto& block = *cfg.filters.at(0).plugin;
  const PluginEntry* entry = Registry::instance().find(PluginKind::Filter, block.name);
  if (!entry) throw std::runtime_error("no filter " + block.name);
  Options options = Options::validate(block, entry->schema);
  PluginContext ctx;
  ctx.id = "grok_test";
  ctx.settings = &built->settings;
  built->plugin_metrics = built->metrics.add_plugin("grok_test", block.name, "filter");
  ctx.metrics = built->plugin_metrics;
  built->filter = entry->filter(options, ctx);
  return built;
}

Event message(const std::string& text) {
  Event e;
  e.set(FieldRef::of("message"), Value(std::string_view(text)));
  return e;
}

const std::string kApacheLine =
    "83.149.9.216 - - [17/May/2015:10:05:03 +0000] \"GET /presentations/logstash-monitorama-2013/images/kibana-search.png "
    "HTTP/1.1\" 200 203023 \"http://semicomplete.com/presentations/logstash-monitorama-2013/\" \"Mozilla/5.0\"";

TEST(GrokFilter, IsRegisteredWithItsSchema) {
  const PluginEntry* entry = Registry::instance().find(PluginKind::Filter, "grok");
  ASSERT_NE(entry, nullptr);
  std::vector<std::string> names;
  for (const auto& o : entry->schema.options) names.push_back(o.name);
  for (const char* expected : {"match", "pattern_definitions", "patterns_dir", "patterns_files_glob", "break_on_match",
                               "named_captures_only", "keep_empty_captures", "overwrite", "tag_on_failure",
                               "tag_on_timeout", "timeout_millis", "timeout_scope", "ecs_compatibility", "target"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
}

TEST(GrokFilter, EcsFieldsByDefaultFromPipelineSettings) {
  auto f = build(R"(filter { grok { match => { "message" => "%{COMBINEDAPACHELOG}" } } })");
  Event e = message(kApacheLine);
  NoNewEvents ctx;
  EXPECT_TRUE(f->filter->filter(e, ctx));
  ASSERT_NE(e.get(FieldRef::of("[source][address]")), nullptr);
  EXPECT_EQ(e.get(FieldRef::of("[source][address]"))->as_string(), "83.149.9.216");
  EXPECT_EQ(e.get(FieldRef::of("[http][response][status_code]"))->as_int(), 200);
  EXPECT_EQ(f->plugin_metrics->counter("matches").load(), 1u);
}

TEST(GrokFilter, LegacyFieldsWhenEcsDisabled) {
  auto f = build(R"(filter { grok { match => { "message" => "%{COMBINEDAPACHELOG}" } ecs_compatibility => disabled } })");
  Event e = message(kApacheLine);
  NoNewEvents ctx;
  EXPECT_TRUE(f->filter->filter(e, ctx));
  EXPECT_EQ(e.get(FieldRef::of("clientip"))->as_string(), "83.149.9.216");
  EXPECT_EQ(e.get(FieldRef::of("response"))->as_string(), "200");

  auto g = build(R"(filter { grok { match => { "message" => "%{COMBINEDAPACHELOG}" } } })", "disabled");
  Event e2 = message(kApacheLine);
  EXPECT_TRUE(g->filter->filter(e2, ctx));
  EXPECT_NE(e2.get(FieldRef::of("clientip")), nullptr);
}

TEST(GrokFilter, FailureTagAndMetrics) {
  auto f = build(R"(filter { grok { match => { "message" => "^%{INT:n}$" } tag_on_failure => ["bad"] } })");
  Event e = message("not a number");
  NoNewEvents ctx;
  EXPECT_FALSE(f->filter->filter(e, ctx));
  EXPECT_TRUE(e.has_tag("bad"));
  EXPECT_EQ(f->plugin_metrics->counter("failures").load(), 1u);
}

TEST(GrokFilter, PatternsDirGlobAndDefinitions) {
  test::TempDir dir;
  test::write_file(dir.file("extra.grok"), "# mine\nTICKET TKT-\\d+\n");
  test::write_file(dir.file("ignored.txt"), "TICKET nope\n");
  auto f = build("filter { grok { patterns_dir => [\"" + dir.path().string() +
                 "\"] patterns_files_glob => \"*.grok\" pattern_definitions => { \"PRIO\" => \"P[0-4]\" } "
                 "match => { \"message\" => \"%{TICKET:ticket} %{PRIO:prio}\" } } }");
  Event e = message("TKT-42 P1");
  NoNewEvents ctx;
  EXPECT_TRUE(f->filter->filter(e, ctx));
  EXPECT_EQ(e.get(FieldRef::of("ticket"))->as_string(), "TKT-42");
  EXPECT_EQ(e.get(FieldRef::of("prio"))->as_string(), "P1");
}

TEST(GrokFilter, SeveralPatternsInOrderAndArrayForm) {
  auto f = build(R"(filter { grok { match => { "message" => ["^%{INT:num}$", "^%{WORD:word}$"] } } })");
  NoNewEvents ctx;
  Event a = message("123"), b = message("abc");
  EXPECT_TRUE(f->filter->filter(a, ctx));
  EXPECT_TRUE(f->filter->filter(b, ctx));
  EXPECT_NE(a.get(FieldRef::of("num")), nullptr);
  EXPECT_NE(b.get(FieldRef::of("word")), nullptr);

  auto g = build(R"(filter { grok { match => ["message", "^%{INT:num}$"] } })");
  Event c = message("7");
  EXPECT_TRUE(g->filter->filter(c, ctx));
  EXPECT_EQ(c.get(FieldRef::of("num"))->as_string(), "7");
}

TEST(GrokFilter, ConfigErrorsCarryThePosition) {
  try {
    build("filter {\n  grok {\n    match => { \"message\" => \"%{NO_SUCH_PATTERN:x}\" }\n  }\n}\n");
    FAIL() << "expected a config error";
  } catch (const config::ConfigError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("test.conf:3:"), std::string::npos) << what;
    EXPECT_NE(what.find("NO_SUCH_PATTERN"), std::string::npos) << what;
  }
  EXPECT_THROW(build(R"(filter { grok { match => { "message" => "[a-z&&[^b]]" } } })"), config::ConfigError);
  EXPECT_THROW(build(R"(filter { grok { match => { "message" => "x" } timeout_scope => "forever" } })"),
               config::ConfigError);
  // As in Logstash, a patterns_dir that matches no file is not an error.
  EXPECT_NO_THROW(build(R"(filter { grok { match => { "message" => "x" } patterns_dir => ["/nonexistent/dir"] } })"));
}

}  // namespace
}  // namespace sluice
