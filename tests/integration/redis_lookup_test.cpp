// The redis filter against a real redis-server (one per file, plus one with a password):
// GET / HGETALL / SISMEMBER answers, one pipelined round trip per batch, the cache, the server
// killed and restarted mid-run (no event lost, failures tagged, recovery), a wrong password.
#include <gtest/gtest.h>

#include <thread>

#include "config/parser.h"
#include "pipeline_test_plugins.h"
#include "support/redis_server.h"
#include "unit/parsers_test_support.h"

namespace sluice {
namespace {

using namespace rt_test;

// Started on first use, stopped when the test binary exits.
test::RedisServer& redis() {
  static test::RedisServer server;
  return server;
}

struct BuiltFilter {
  std::unique_ptr<PluginMetrics> metrics = std::make_unique<PluginMetrics>();
  std::unique_ptr<Filter> filter;
  uint64_t counter(const std::string& name) { return metrics->counter(name).load(); }
};

BuiltFilter build(const std::string& body) {
  BuiltFilter b;
  Options options = test::plugin_options(PluginKind::Filter, "filter", "redis",
                                         "port => " + std::to_string(redis().port()) + " " + body);
  PluginContext context;
  context.id = "redis_it";
  context.settings = test::settings_for("v8");
  context.metrics = b.metrics.get();
  b.filter = Registry::instance().find(PluginKind::Filter, "redis")->filter(options, context);
  return b;
}

struct Batch {
  std::vector<std::unique_ptr<Event>> events;
  std::vector<Event*> pointers;
  std::vector<char> matched;
  void add(const std::string& field, const std::string& value) {
    events.push_back(test::event_with_message("m"));
    events.back()->set(FieldRef::of(field), Value(value));
    pointers.push_back(events.back().get());
  }
  void run(Filter& f) {
    test::TestFilterContext ctx;
    f.filter_batch(pointers, matched, ctx);
  }
};

// Fills k:0..k:n-1 = v0..v(n-1) in one server-side script.
void fill_keys(int n) {
  redis().command({"EVAL", "for i=0,tonumber(ARGV[1])-1 do redis.call('SET','k:'..i,'v'..i) end", "0",
                   std::to_string(n)});
}

TEST(RedisLookup, GetHashAndSetMembership) {
  redis().command({"SET", "ip:10.0.0.1", "alice"});
  redis().command({"HSET", "host:web1", "owner", "ops", "zone", "dmz"});
  redis().command({"SADD", "blocklist", "6.6.6.6"});
  BuiltFilter get = build("key => 'ip:%{ip}' target => '[user][name]'");
  Batch b;
  b.add("ip", "10.0.0.1");
  b.add("ip", "10.0.0.2");
  b.run(*get.filter);
  EXPECT_EQ(test::field_text(*b.events[0], "[user][name]"), "alice");
  EXPECT_EQ(b.matched[0], 1);
  EXPECT_FALSE(b.events[1]->contains(FieldRef::of("[user][name]")));
  EXPECT_TRUE(b.events[1]->has_tag("_redislookupmiss"));
  EXPECT_EQ(b.matched[1], 0);

  BuiltFilter hash = build("key => 'host:%{host}' command => 'HGETALL' target => 'asset'");
  Batch h;
  h.add("host", "web1");
  h.add("host", "nothing");
  h.run(*hash.filter);
  EXPECT_EQ(test::field_text(*h.events[0], "[asset][owner]"), "ops");
  EXPECT_EQ(test::field_text(*h.events[0], "[asset][zone]"), "dmz");
  EXPECT_TRUE(h.events[1]->has_tag("_redislookupmiss"));

  BuiltFilter member = build("key => 'blocklist' command => 'SISMEMBER' member => '%{ip}' target => 'blocked'");
  Batch m;
  m.add("ip", "6.6.6.6");
  m.add("ip", "1.1.1.1");
  m.run(*member.filter);
  EXPECT_EQ(*test::field(*m.events[0], "blocked"), Value(true));
  EXPECT_EQ(*test::field(*m.events[1], "blocked"), Value(false));
  EXPECT_FALSE(m.events[1]->has_tag("_redislookupmiss"));
}

TEST(RedisLookup, OneRoundTripPerBatchAndTheCacheAnswersRepeats) {
  fill_keys(1000);
  BuiltFilter f = build("key => 'k:%{n}' target => 'v' cache_size => 10000 cache_ttl => 60");
  Batch b;
  for (int i = 0; i < 200; ++i) b.add("n", std::to_string(i % 100));  // 100 distinct keys, each twice
  const long long gets_before = redis().command_calls("get");
  b.run(*f.filter);
  EXPECT_EQ(f.counter("round_trips"), 1u);
  EXPECT_EQ(redis().command_calls("get") - gets_before, 100);  // duplicates in a batch are asked once
  for (int i = 0; i < 200; ++i) ASSERT_EQ(test::field_text(*b.events[size_t(i)], "v"), "v" + std::to_string(i % 100));
  Batch again;
  for (int i = 0; i < 200; ++i) again.add("n", std::to_string(i % 100));
  again.run(*f.filter);
  EXPECT_EQ(f.counter("round_trips"), 1u);  // all from the cache
  EXPECT_EQ(redis().command_calls("get") - gets_before, 100);
  EXPECT_EQ(f.counter("cache_hits"), 200u);
  EXPECT_EQ(test::field_text(*again.events[7], "v"), "v7");
}

// The worker polls the socket for a batch's replies (reply_spin_microseconds) before it blocks in a
// read; the monitoring counters say which way each round trip was answered.
TEST(RedisLookup, RepliesArePolledForBeforeTheWorkerBlocks) {
  fill_keys(40);
  auto run_batches = [](BuiltFilter& f, int batches) {
    for (int b = 0; b < batches; ++b) {
      Batch batch;
      for (int i = 0; i < 8; ++i) batch.add("n", std::to_string(b * 8 + i));
      batch.run(*f.filter);
      for (int i = 0; i < 8; ++i)
        EXPECT_EQ(test::field_text(*batch.events[size_t(i)], "v"), "v" + std::to_string(b * 8 + i));
    }
  };
  // A poll far longer than any reply takes here: every round trip is answered while polling.
  BuiltFilter polling = build("key => 'k:%{n}' target => 'v' cache_size => 0 timeout => 10 "
                              "reply_spin_microseconds => 5000000");
  run_batches(polling, 5);
  EXPECT_EQ(polling.counter("round_trips"), 5u);
  EXPECT_EQ(polling.counter("round_trips_answered_while_polling"), 5u);
  EXPECT_EQ(polling.counter("round_trips_blocked"), 0u);
  // No polling: every round trip waits in a blocking read.
  BuiltFilter blocking = build("key => 'k:%{n}' target => 'v' cache_size => 0 reply_spin_microseconds => 0");
  run_batches(blocking, 3);
  EXPECT_EQ(blocking.counter("round_trips"), 3u);
  EXPECT_EQ(blocking.counter("round_trips_blocked"), 3u);
  EXPECT_EQ(blocking.counter("round_trips_answered_while_polling"), 0u);
}

// Cache hits are written into their events while the batch's misses are on their way to Redis:
// a batch interleaving hits (found and missing keys) and misses gets every answer on its own event.
TEST(RedisLookup, HitsAndMissesInterleavedInOneBatch) {
  fill_keys(200);
  BuiltFilter f = build("key => 'k:%{n}' target => 'v' cache_size => 1000");
  Batch warm;
  for (int i = 0; i < 200; i += 2) warm.add("n", std::to_string(i));  // even keys cached
  warm.add("n", "absent-1");                                           // a cached miss
  warm.run(*f.filter);
  Batch b;
  for (int i = 0; i < 200; ++i) b.add("n", std::to_string(i));  // even: hits, odd: asked
  b.add("n", "absent-1");
  b.add("n", "absent-2");
  b.run(*f.filter);
  EXPECT_EQ(f.counter("round_trips"), 2u);
  EXPECT_EQ(f.counter("cache_hits"), 101u);
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(test::field_text(*b.events[size_t(i)], "v"), "v" + std::to_string(i)) << i;
    ASSERT_EQ(b.matched[size_t(i)], 1) << i;
  }
  for (size_t i = 200; i < 202; ++i) {
    EXPECT_TRUE(b.events[i]->has_tag("_redislookupmiss"));
    EXPECT_FALSE(b.events[i]->contains(FieldRef::of("v")));
    EXPECT_EQ(b.matched[i], 0);
  }
}

TEST(RedisLookup, MixedRepliesOfOneBatchLandOnTheirEvents) {
  // Replies parsed straight into the answers: a value larger than hiredis's 16 KB read chunk, a
  // binary-safe one, misses, a hash and an error reply, all in one pipelined round trip.
  const std::string big(100000, 'x');
  const std::string binary("a\r\nb\0c", 7);
  redis().command({"SET", "mix:big", big});
  redis().command({"SET", "mix:binary", binary});
  redis().command({"HSET", "mix:hash", "f", "1"});
  BuiltFilter get = build("key => 'mix:%{k}' target => 'v' cache_size => 0");
  Batch b;
  for (const char* key : {"big", "none", "binary", "hash", "big"}) b.add("k", key);
  b.run(*get.filter);
  EXPECT_EQ(get.counter("round_trips"), 1u);
  EXPECT_EQ(test::field(*b.events[0], "v")->as_string(), big);
  EXPECT_TRUE(b.events[1]->has_tag("_redislookupmiss"));
  EXPECT_EQ(test::field(*b.events[2], "v")->as_string(), binary);
  EXPECT_TRUE(b.events[3]->has_tag("_redislookupfailure"));  // GET on a hash: WRONGTYPE
  EXPECT_EQ(test::field(*b.events[4], "v")->as_string(), big);

  BuiltFilter hash = build("key => 'mix:%{k}' command => 'HGETALL' target => 'h' cache_size => 0");
  Batch h;
  for (const char* key : {"hash", "none", "big", "hash"}) h.add("k", key);
  h.run(*hash.filter);
  EXPECT_EQ(test::field_text(*h.events[0], "[h][f]"), "1");
  EXPECT_TRUE(h.events[1]->has_tag("_redislookupmiss"));
  EXPECT_TRUE(h.events[2]->has_tag("_redislookupfailure"));  // HGETALL on a string: WRONGTYPE
  EXPECT_EQ(test::field_text(*h.events[3], "[h][f]"), "1");

  // A later batch on the pooled connection still parses its replies.
  Batch again;
  again.add("k", "binary");
  again.run(*get.filter);
  EXPECT_EQ(test::field(*again.events[0], "v")->as_string(), binary);
}

TEST(RedisLookup, WrongTypeFailsOnlyThatLookup) {
  redis().command({"HSET", "a-hash", "f", "1"});
  redis().command({"SET", "a-string", "fine"});
  BuiltFilter f = build("key => '%{k}' target => 'v' cache_size => 0");
  Batch b;
  b.add("k", "a-hash");  // GET on a hash: WRONGTYPE
  b.add("k", "a-string");
  b.run(*f.filter);
  EXPECT_TRUE(b.events[0]->has_tag("_redislookupfailure"));
  EXPECT_EQ(test::field_text(*b.events[1], "v"), "fine");
}

TEST(RedisLookup, SlowServerTimesOutAndTheBatchGoesOn) {
  redis().command({"SET", "k:1", "v1"});  // the lookup would succeed if the filter waited
  BuiltFilter f = build("key => 'k:%{n}' target => 'v' cache_size => 0 timeout => 0.3");
  // A script that keeps the (single-threaded) server busy for 1.5 s.
  std::thread busy([] {
    try {
      redis().command({"EVAL",
                       "local s=redis.call('TIME') local t0=s[1]*1000000+s[2] "
                       "repeat local n=redis.call('TIME') until (n[1]*1000000+n[2])-t0 > 1500000 return 1",
                       "0"});
    } catch (const std::exception&) {
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Batch b;
  b.add("n", "1");
  b.run(*f.filter);
  busy.join();
  // It gave up after `timeout` instead of waiting for the busy server's (correct) answer.
  EXPECT_TRUE(b.events[0]->has_tag("_redislookupfailure"));
  EXPECT_FALSE(b.events[0]->contains(FieldRef::of("v")));
  EXPECT_GE(f.counter("lookup_errors"), 1u);
}

TEST(RedisLookup, WrongPasswordStopsThePipeline) {
  test::RedisServer secured("right-pass-123");
  try {
    make_pipeline("input { rt_source { count => 1 } }\nfilter {\n redis { port => " + std::to_string(secured.port()) +
                  " password => 'wrong-pass-456' key => 'k' target => 't' } }\noutput { rt_collect {} }");
    FAIL() << "expected the pipeline not to start";
  } catch (const config::ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("test.conf:3:"), std::string::npos) << message;
    EXPECT_NE(message.find("redis"), std::string::npos) << message;
    EXPECT_NE(message.find("WRONGPASS"), std::string::npos) << message;
    EXPECT_EQ(message.find("wrong-pass-456"), std::string::npos) << message;
  }
}

TEST(RedisLookup, ServerKilledAndRestartedMidRun) {
  fill_keys(200000);
  const std::string key = unique_key("redis_kill");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 0 chunk => 8 } }\n"
                         "filter { redis { port => " + std::to_string(redis().port()) +
                         " key => 'k:%{seq}' target => 'v' cache_size => 0 timeout => 0.5 } }\n"
                         "output { rt_collect { key => '" + key + "' delay_ms => 5 } }");
  p->start();
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() >= 100; }, 30000));
  redis().stop();
  const bool tagged = test_wait([&] {
    for (auto& c : collector(key)->snapshot())
      for (auto& t : c.tags)
        if (t == "_redislookupfailure") return true;
    return false;
  }, 20000);
  EXPECT_TRUE(tagged);
  redis().start();
  fill_keys(200000);
  const size_t restarted_at = collector(key)->size();
  const bool recovered = test_wait([&] {
    auto events = collector(key)->snapshot();
    return events.size() > restarted_at + 20 && events.back().tags.empty() &&
           events.back().json.find("\"v\":\"v" + std::to_string(events.back().seq) + "\"") != std::string::npos;
  }, 30000);
  EXPECT_TRUE(recovered);
  p->request_stop();
  ASSERT_TRUE(p->wait_for(30000));
  auto events = collector(key)->snapshot();
  EXPECT_EQ(events.size(), source(key)->pushed.load());  // no event lost
  size_t failed = 0;
  for (auto& c : events) failed += !c.tags.empty();
  EXPECT_GT(failed, 0u);
  const PluginMetrics* m = nullptr;
  for (const auto& pm : p->metrics().plugins)
    if (pm->name == "redis") m = pm.get();
  ASSERT_NE(m, nullptr);
  uint64_t connects = 0;
  for (auto& [n, v] : m->counters())
    if (n == "connects") connects = v;
  EXPECT_GE(connects, 2u);
}

}  // namespace
}  // namespace sluice
