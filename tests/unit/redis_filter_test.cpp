// The redis filter without a server: option checks, and a Redis that is down (events tagged,
// no reconnect attempt per event thanks to the backoff).
#include <gtest/gtest.h>

#include "config/parser.h"
#include "parsers_test_support.h"
#include "runtime/metrics.h"
#include "test_support.h"

namespace sluice {
namespace {

TEST(RedisFilterConfig, SismemberNeedsMember) {
  try {
    test::make_filter("redis", "key => 'blocklist'\n command => 'SISMEMBER' target => 'bad'");
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("SISMEMBER needs the `member` option"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test.conf:2:"), std::string::npos) << e.what();
  }
}

TEST(RedisFilterConfig, UnknownCommandIsRejected) {
  EXPECT_THROW(test::make_filter("redis", "key => 'k' command => 'KEYS' target => 't'"), config::ConfigError);
}

TEST(RedisFilter, ServerDownTagsEventsAndBacksOff) {
  Options options = test::plugin_options(PluginKind::Filter, "filter", "redis",
                                         "port => " + std::to_string(test::free_port()) +
                                             " key => 'ip:%{ip}' target => 'owner' timeout => 0.5");
  PluginMetrics metrics;
  PluginContext context;
  context.id = "redis_down";
  context.settings = test::settings_for("v8");
  context.metrics = &metrics;
  auto filter = Registry::instance().find(PluginKind::Filter, "redis")->filter(options, context);
  std::vector<std::unique_ptr<Event>> events;
  std::vector<Event*> pointers;
  for (int i = 0; i < 20; ++i) {
    events.push_back(test::event_with_message("m"));
    events.back()->set(FieldRef::of("ip"), Value("10.0.0." + std::to_string(i)));
    pointers.push_back(events.back().get());
  }
  std::vector<char> matched;
  test::TestFilterContext ctx;
  filter->filter_batch(pointers, matched, ctx);
  filter->filter_batch(pointers, matched, ctx);
  for (auto& e : events) {
    EXPECT_TRUE(e->has_tag("_redislookupfailure"));
    EXPECT_FALSE(e->has_tag("_redislookupmiss"));
    EXPECT_FALSE(e->contains(FieldRef::of("owner")));
  }
  EXPECT_EQ(matched, std::vector<char>(20, 0));
  EXPECT_EQ(metrics.failures.load(), 40u);
  // The failed connect at startup started the backoff: no attempt was made for the two batches.
  EXPECT_EQ(metrics.counter("connects").load(), 0u);
  EXPECT_EQ(metrics.counter("round_trips").load(), 0u);
}

}  // namespace
}  // namespace sluice
