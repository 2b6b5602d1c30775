// jdbc_static and jdbc_streaming against a real PostgreSQL 15 (started once for this file):
// lookups, IP ranges, reloads on schedule while events flow, the server killed and restarted
// mid-run (no event lost, failures tagged, recovery), slow queries, wrong credentials.
#include <gtest/gtest.h>

#include <thread>

#include "config/parser.h"
#include "pipeline_test_plugins.h"
#include "support/postgres_server.h"
#include "unit/parsers_test_support.h"

namespace sluice {
namespace {

using namespace rt_test;

// Started on first use (initdb takes 1-2 s, so once for all tests here), stopped at exit.
test::PostgresServer& pg() {
  static test::PostgresServer server;
  static const bool filled = [] {
    server.exec(
        "CREATE TABLE assets (lo inet, hi inet, owner text, zone text);"
        "INSERT INTO assets VALUES ('10.0.0.0', '10.255.255.255', 'corp', 'internal'),"
        "  ('10.1.0.0', '10.1.0.255', 'lab', 'lab'), ('192.168.1.0', '192.168.1.127', 'office', 'wifi');"
        "CREATE TABLE networks (net cidr, site text);"
        "INSERT INTO networks VALUES ('172.16.0.0/12', 'dc1'), ('2001:db8::/32', 'v6site');"
        "CREATE TABLE users (id int primary key, name text, admin boolean, quota numeric);"
        "INSERT INTO users VALUES (1, 'alice', true, 1.5), (2, 'bob', false, 10);"
        "CREATE TABLE labels (k text primary key, v text);"
        "INSERT INTO labels VALUES ('hello', 'v1');");
    return true;
  }();
  (void)filled;
  return server;
}

// Builds a filter the way the pipeline does, with metrics.
struct BuiltFilter {
  std::unique_ptr<PluginMetrics> metrics = std::make_unique<PluginMetrics>();
  std::unique_ptr<Filter> filter;
  uint64_t counter(const std::string& name) { return metrics->counter(name).load(); }
};

BuiltFilter build(const std::string& name, const std::string& body) {
  BuiltFilter b;
  Options options = test::plugin_options(PluginKind::Filter, "filter", name, body);
  PluginContext context;
  context.id = name + "_it";
  context.settings = test::settings_for("v8");
  context.metrics = b.metrics.get();
  b.filter = Registry::instance().find(PluginKind::Filter, name)->filter(options, context);
  return b;
}

std::unique_ptr<Event> event_with(const std::string& field, Value value) {
  auto e = test::event_with_message("m");
  e->set(FieldRef::of(field), std::move(value));
  return e;
}

std::string static_config(const std::string& extra) {
  return "jdbc_connection_string => '" + pg().jdbc_url() + "' jdbc_user => 'postgres' jdbc_password => '" +
         test::PostgresServer::password() + R"cfg('
    local_db_objects => [
      { name => "ranges" columns => [["lo", "varchar(64)"], ["hi", "varchar(64)"], ["owner", "varchar(32)"], ["zone", "varchar(16)"]] },
      { name => "nets" columns => [["cidr", "varchar(64)"], ["site", "varchar(32)"]] }
    ]
    loaders => [
      { id => "ranges" query => "SELECT host(lo) AS lo, host(hi) AS hi, owner, zone FROM assets" local_table => "ranges" },
      { id => "nets" query => "SELECT net::text AS cidr, site FROM networks" local_table => "nets" }
    ]
    local_lookups => [
      { id => "owner" query => "SELECT owner, zone FROM ranges WHERE :ip BETWEEN lo AND hi"
        parameters => { ip => "[source][ip]" } target => "[asset]"
        default_hash => { owner => "unknown" zone => "none" } },
      { id => "site" query => "SELECT site FROM nets WHERE cidr >>= ?" prepared_parameters => ["[source][ip]"] target => "net" }
    ]
  )cfg" + extra;
}

TEST(JdbcStatic, LoadsAndAnswersIpRangeAndCidrLookups) {
  BuiltFilter f = build("jdbc_static", static_config(""));
  EXPECT_EQ(f.counter("reloads"), 1u);
  EXPECT_EQ(f.counter("rows_loaded"), 5u);
  EXPECT_GT(f.counter("last_reload_unix_seconds"), 1700000000u);
  test::TestFilterContext ctx;

  auto lab = event_with("[source][ip]", Value("10.1.0.9"));
  EXPECT_TRUE(f.filter->filter(*lab, ctx));
  EXPECT_EQ(test::field_text(*lab, "[asset][0][owner]"), "corp");
  EXPECT_EQ(test::field_text(*lab, "[asset][1][owner]"), "lab");
  EXPECT_EQ(test::field_text(*lab, "[asset][1][zone]"), "lab");
  ASSERT_NE(test::field(*lab, "net"), nullptr);
  EXPECT_TRUE(test::field(*lab, "net")->as_array().empty());  // no CIDR contains it: an empty array

  auto dc = event_with("[source][ip]", Value("172.20.1.1"));
  EXPECT_TRUE(f.filter->filter(*dc, ctx));
  EXPECT_EQ(test::field_text(*dc, "[net][0][site]"), "dc1");
  EXPECT_EQ(test::field_text(*dc, "[asset][0][owner]"), "unknown");  // default_hash
  EXPECT_TRUE(dc->has_tag("_jdbcstaticdefaultsused"));
  EXPECT_FALSE(lab->has_tag("_jdbcstaticdefaultsused"));

  auto v6 = event_with("[source][ip]", Value("2001:db8::1"));
  f.filter->filter(*v6, ctx);
  EXPECT_EQ(test::field_text(*v6, "[net][0][site]"), "v6site");

  auto missing = test::event_with_message("no ip");
  EXPECT_FALSE(f.filter->filter(*missing, ctx));
  EXPECT_TRUE(missing->has_tag("_jdbcstaticfailure"));
}

TEST(JdbcStatic, WrongPasswordStopsThePipelineWithTheServersMessage) {
  try {
    make_pipeline("input { rt_source { count => 1 } }\nfilter {\n jdbc_static { jdbc_connection_string => '" +
                  pg().jdbc_url() + "' jdbc_user => 'postgres' jdbc_password => 'not-the-pw-4711' "
                  "local_db_objects => [ { name => 't' columns => [['a', 'int']] } ] "
                  "loaders => [ { query => 'select 1 as a' local_table => 't' } ] } }\n"
                  "output { rt_collect {} }");
    FAIL() << "expected the pipeline not to start";
  } catch (const config::ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("test.conf:3:"), std::string::npos) << message;
    EXPECT_NE(message.find("jdbc_static"), std::string::npos) << message;
    EXPECT_NE(message.find("password authentication failed"), std::string::npos) << message;
    EXPECT_EQ(message.find("not-the-pw-4711"), std::string::npos) << message;
  }
}

std::vector<Collected> wait_collected(const std::string& key, size_t at_least) {
  test_wait([&] { return collector(key)->size() >= at_least; }, 30000);
  return collector(key)->snapshot();
}

const PluginMetrics* plugin_metrics(const Pipeline& p, const std::string& name) {
  for (const auto& m : p.metrics().plugins)
    if (m->name == name) return m.get();
  return nullptr;
}

uint64_t counter_of(const PluginMetrics* m, const std::string& name) {
  for (auto& [n, v] : m->counters())
    if (n == name) return v;
  return 0;
}

TEST(JdbcStatic, ReloadsOnScheduleWhileEventsFlow) {
  pg().exec("UPDATE labels SET v = 'v1' WHERE k = 'hello'");
  const std::string key = unique_key("jdbc_reload");
  auto p = make_pipeline(
      "input { rt_source { key => '" + key + "' count => 0 chunk => 8 } }\n"
      "filter { jdbc_static { jdbc_connection_string => '" + pg().jdbc_url() +
          "' jdbc_user => 'postgres' jdbc_password => '" + test::PostgresServer::password() + "'\n"
          " loader_schedule => '* * * * * *'\n"
          " local_db_objects => [ { name => 'labels' columns => [['k', 'varchar(16)'], ['v', 'varchar(16)']] } ]\n"
          " loaders => [ { query => 'SELECT k, v FROM labels' local_table => 'labels' } ]\n"
          " local_lookups => [ { query => 'SELECT v FROM labels WHERE k = :k' parameters => { k => '%{message}' }"
          " target => 'label' } ] } }\n"
          "output { rt_collect { key => '" + key + "' delay_ms => 5 } }");
  p->start();
  auto first = wait_collected(key, 50);
  ASSERT_GE(first.size(), 50u);
  EXPECT_NE(first[0].json.find(R"("label":[{"v":"v1"}])"), std::string::npos) << first[0].json;
  pg().exec("UPDATE labels SET v = 'v2' WHERE k = 'hello'");
  const bool switched = test_wait([&] {
    auto events = collector(key)->snapshot();
    return !events.empty() && events.back().json.find(R"("v":"v2")") != std::string::npos;
  }, 20000);
  EXPECT_TRUE(switched) << "the scheduled reload did not bring the new value";
  const PluginMetrics* m = plugin_metrics(*p, "jdbc_static");
  ASSERT_NE(m, nullptr);
  EXPECT_GE(counter_of(m, "reloads"), 2u);
  p->request_stop();
  ASSERT_TRUE(p->wait_for(30000));
  EXPECT_EQ(collector(key)->size(), source(key)->pushed.load());  // nothing lost during reloads
  for (auto& c : collector(key)->snapshot()) ASSERT_TRUE(c.tags.empty()) << c.json;
}

std::string streaming_config(const std::string& extra) {
  return "jdbc_connection_string => '" + pg().jdbc_url() + "?user=postgres' jdbc_password => '" +
         test::PostgresServer::password() + "' " + extra;
}

TEST(JdbcStreaming, RowsTypesCacheAndDefaults) {
  BuiltFilter f = build("jdbc_streaming",
                        streaming_config("statement => 'SELECT name, admin, quota FROM users WHERE id = :id' "
                                         "parameters => { id => '[user_id]' } target => 'user' "
                                         "default_hash => { name => 'nobody' }"));
  test::TestFilterContext ctx;
  auto alice = event_with("user_id", Value(int64_t(1)));
  EXPECT_TRUE(f.filter->filter(*alice, ctx));
  EXPECT_EQ(test::field_text(*alice, "[user][0][name]"), "alice");
  ASSERT_NE(test::field(*alice, "[user][0][admin]"), nullptr);
  EXPECT_TRUE(test::field(*alice, "[user][0][admin]")->is_bool());
  EXPECT_EQ(*test::field(*alice, "[user][0][quota]"), Value(1.5));
  auto again = event_with("user_id", Value("1"));  // the same parameter text: from the cache
  EXPECT_TRUE(f.filter->filter(*again, ctx));
  EXPECT_EQ(test::field_text(*again, "[user][0][name]"), "alice");
  EXPECT_EQ(f.counter("cache_hits"), 1u);
  EXPECT_EQ(f.counter("cache_misses"), 1u);
  auto nobody = event_with("user_id", Value(int64_t(99)));
  EXPECT_TRUE(f.filter->filter(*nobody, ctx));
  EXPECT_EQ(test::field_text(*nobody, "[user][0][name]"), "nobody");
  EXPECT_TRUE(nobody->has_tag("_jdbcstreamingdefaultsused"));
}

TEST(JdbcStreaming, PreparedStatementsAndSqlErrors) {
  BuiltFilter f = build("jdbc_streaming",
                        streaming_config("statement => 'SELECT name FROM users WHERE id = ?' use_prepared_statements => true "
                                         "prepared_statement_bind_values => ['[uid]'] target => 'u' use_cache => false"));
  test::TestFilterContext ctx;
  auto bob = event_with("uid", Value(int64_t(2)));
  EXPECT_TRUE(f.filter->filter(*bob, ctx));
  EXPECT_EQ(test::field_text(*bob, "[u][0][name]"), "bob");
  auto garbage = event_with("uid", Value("not-a-number"));  // the server rejects the parameter
  EXPECT_FALSE(f.filter->filter(*garbage, ctx));
  EXPECT_TRUE(garbage->has_tag("_jdbcstreamingfailure"));
  auto after = event_with("uid", Value(int64_t(1)));  // the connection is still good
  EXPECT_TRUE(f.filter->filter(*after, ctx));
  EXPECT_EQ(test::field_text(*after, "[u][0][name]"), "alice");
}

TEST(JdbcStreaming, SlowQueryTimesOutAndTheEventGoesOn) {
  BuiltFilter f = build("jdbc_streaming", streaming_config("statement => 'SELECT pg_sleep(5) AS s' target => 't' "
                                                           "statement_timeout => 0.3 use_cache => false"));
  test::TestFilterContext ctx;
  auto e = test::event_with_message("slow");
  EXPECT_FALSE(f.filter->filter(*e, ctx));  // waiting would have given a row after 5 s
  EXPECT_TRUE(e->has_tag("_jdbcstreamingfailure"));
  EXPECT_FALSE(e->contains(FieldRef::of("t")));
  EXPECT_GE(f.counter("lookup_errors"), 1u);
}

TEST(JdbcStreaming, WrongPasswordStopsThePipeline) {
  try {
    make_pipeline("input { rt_source { count => 1 } }\nfilter { jdbc_streaming { jdbc_connection_string => '" +
                  pg().jdbc_url() + "' jdbc_user => 'postgres' jdbc_password => 'bad-secret-99' statement => 'select 1' "
                  "target => 't' } }\noutput { rt_collect {} }");
    FAIL() << "expected the pipeline not to start";
  } catch (const config::ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("jdbc_streaming"), std::string::npos) << message;
    EXPECT_NE(message.find("password authentication failed"), std::string::npos) << message;
    EXPECT_EQ(message.find("bad-secret-99"), std::string::npos) << message;
  }
}

TEST(JdbcStreaming, ServerKilledAndRestartedMidRun) {
  const std::string key = unique_key("jdbc_kill");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 0 chunk => 8 } }\n"
                         "filter { jdbc_streaming { " +
                         streaming_config("statement => 'SELECT :n::bigint * 2 AS doubled' parameters => { n => '[seq]' } "
                                          "target => 'r' use_cache => false statement_timeout => 1 connect_timeout => 1") +
                         " } }\noutput { rt_collect { key => '" + key + "' delay_ms => 5 } }");
  p->start();
  wait_collected(key, 100);
  pg().stop(/*immediate=*/true);
  const bool tagged = test_wait([&] {
    for (auto& c : collector(key)->snapshot())
      for (auto& t : c.tags)
        if (t == "_jdbcstreamingfailure") return true;
    return false;
  }, 20000);
  EXPECT_TRUE(tagged);
  pg().start();
  const size_t restarted_at = collector(key)->size();
  const bool recovered = test_wait([&] {
    auto events = collector(key)->snapshot();
    return events.size() > restarted_at + 20 && events.back().tags.empty() &&
           events.back().json.find("\"doubled\":" + std::to_string(events.back().seq * 2)) != std::string::npos;
  }, 30000);
  EXPECT_TRUE(recovered);
  p->request_stop();
  ASSERT_TRUE(p->wait_for(30000));
  auto events = collector(key)->snapshot();
  EXPECT_EQ(events.size(), source(key)->pushed.load());  // no event lost
  size_t failed = 0;
  for (auto& c : events) {
    bool tagged_failure = !c.tags.empty();
    failed += tagged_failure;
    if (!tagged_failure) EXPECT_NE(c.json.find("\"doubled\":" + std::to_string(c.seq * 2)), std::string::npos) << c.json;
  }
  EXPECT_GT(failed, 0u);
  const PluginMetrics* m = plugin_metrics(*p, "jdbc_streaming");
  ASSERT_NE(m, nullptr);
  EXPECT_GE(counter_of(m, "connects"), 2u);
}

}  // namespace
}  // namespace sluice
