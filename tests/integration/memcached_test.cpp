// The memcached filter against a real memcached: get and set, one round trip per batch, the
// server killed and restarted mid-run (no event lost, failures tagged, recovery).
#include <gtest/gtest.h>

#include "config/parser.h"
#include "pipeline_test_plugins.h"
#include "support/memcached_server.h"
#include "unit/parsers_test_support.h"

namespace sluice {
namespace {

using namespace rt_test;

// Started on first use, stopped when the test binary exits.
test::MemcachedServer& memcached() {
  static test::MemcachedServer server;
  return server;
}

struct BuiltFilter {
  std::unique_ptr<PluginMetrics> metrics = std::make_unique<PluginMetrics>();
  std::unique_ptr<Filter> filter;
  uint64_t counter(const std::string& name) { return metrics->counter(name).load(); }
};

BuiltFilter build(const std::string& body) {
  BuiltFilter b;
  Options options = test::plugin_options(PluginKind::Filter, "filter", "memcached",
                                         "hosts => ['127.0.0.1:" + std::to_string(memcached().port()) + "'] " + body);
  PluginContext context;
  context.id = "memcached_it";
  context.settings = test::settings_for("v8");
  context.metrics = b.metrics.get();
  b.filter = Registry::instance().find(PluginKind::Filter, "memcached")->filter(options, context);
  return b;
}

TEST(Memcached, GetAndSetInOneRoundTripPerBatch) {
  memcached().set("app:user:1", "alice");
  memcached().set("app:user:2", "bob");
  BuiltFilter f = build("namespace => 'app' get => { 'user:%{uid}' => '[user][name]' } "
                        "set => { '[status]' => 'status:%{uid}' } ttl => 60");
  std::vector<std::unique_ptr<Event>> events;
  std::vector<Event*> pointers;
  for (int uid : {1, 2, 3, 1}) {
    events.push_back(test::event_with_message("m"));
    events.back()->set(FieldRef::of("uid"), Value(int64_t(uid)));
    events.back()->set(FieldRef::of("status"), Value("seen-" + std::to_string(uid)));
    pointers.push_back(events.back().get());
  }
  std::vector<char> matched;
  test::TestFilterContext ctx;
  f.filter->filter_batch(pointers, matched, ctx);
  EXPECT_EQ(f.counter("round_trips"), 1u);
  EXPECT_EQ(test::field_text(*events[0], "[user][name]"), "alice");
  EXPECT_EQ(test::field_text(*events[1], "[user][name]"), "bob");
  EXPECT_FALSE(events[2]->contains(FieldRef::of("[user][name]")));  // a miss: no field, no tag
  EXPECT_EQ(test::field_text(*events[3], "[user][name]"), "alice");
  for (auto& e : events) EXPECT_FALSE(e->has_tag("_memcached_failure"));
  EXPECT_EQ(f.counter("get_hits"), 2u);  // keys are asked once per batch
  EXPECT_EQ(memcached().get("app:status:2"), std::optional<std::string>("seen-2"));
  EXPECT_EQ(memcached().get("app:status:3"), std::optional<std::string>("seen-3"));
}

TEST(Memcached, ServerKilledAndRestartedMidRun) {
  const std::string key = unique_key("memcached_kill");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 0 chunk => 8 } }\n"
                         "filter { memcached { hosts => ['127.0.0.1:" + std::to_string(memcached().port()) +
                         "'] set => { '[seq]' => 'last:%{seq}' } timeout => 0.5 } }\n"
                         "output { rt_collect { key => '" + key + "' delay_ms => 5 } }");
  p->start();
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() >= 100; }, 30000));
  memcached().stop();
  const bool tagged = test_wait([&] {
    for (auto& c : collector(key)->snapshot())
      for (auto& t : c.tags)
        if (t == "_memcached_failure") return true;
    return false;
  }, 20000);
  EXPECT_TRUE(tagged);
  memcached().start();
  const size_t restarted_at = collector(key)->size();
  const bool recovered = test_wait([&] {
    auto events = collector(key)->snapshot();
    return events.size() > restarted_at + 20 && events.back().tags.empty();
  }, 30000);
  EXPECT_TRUE(recovered);
  p->request_stop();
  ASSERT_TRUE(p->wait_for(30000));
  auto events = collector(key)->snapshot();
  EXPECT_EQ(events.size(), source(key)->pushed.load());  // no event lost
  ASSERT_FALSE(events.empty());
  const int64_t last_ok = events.back().seq;
  EXPECT_EQ(memcached().get("last:" + std::to_string(last_ok)), std::optional<std::string>(std::to_string(last_ok)));
}

}  // namespace
}  // namespace sluice
