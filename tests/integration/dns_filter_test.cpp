// The dns filter against a real DNS server (dnsmasq, started by the test on 127.0.0.1).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "../unit/parsers_test_support.h"
#include "config/parser.h"
#include "runtime/metrics.h"
#include "support/dnsmasq_server.h"
#include "test_support.h"

namespace sluice {
namespace {

const char* kHosts =
    "10.0.0.5 web.sluice.test web\n"
    "10.0.0.6 db.sluice.test\n"
    "fd00::7 v6only.sluice.test\n";

struct Built {
  std::unique_ptr<Filter> filter;
  std::unique_ptr<PluginMetrics> metrics = std::make_unique<PluginMetrics>();
};

Built make_dns(const std::string& body) {
  Options options = test::plugin_options(PluginKind::Filter, "filter", "dns", body);
  Built built;
  PluginContext context;
  context.id = "dns_test";
  context.settings = test::settings_for("v8");
  context.metrics = built.metrics.get();
  built.filter = Registry::instance().find(PluginKind::Filter, "dns")->filter(options, context);
  return built;
}

std::unique_ptr<Event> event_with(const std::string& field, const std::string& value) {
  auto event = test::event_with_message("m");
  event->set(FieldRef::of(field), Value(value));
  return event;
}

std::vector<char> run_batch(Filter& filter, std::vector<std::unique_ptr<Event>>& events) {
  std::vector<Event*> pointers;
  for (auto& e : events) pointers.push_back(e.get());
  std::vector<char> matched;
  test::TestFilterContext ctx;
  filter.filter_batch(pointers, matched, ctx);
  return matched;
}

std::string ns(const test::DnsmasqServer& server) { return "nameserver => \"" + server.address() + "\" "; }

TEST(DnsFilter, ResolveAppendsTheAddress) {
  test::DnsmasqServer server(kHosts);
  auto built = make_dns(ns(server) + "resolve => [\"host\"]");
  auto event = event_with("host", "web.sluice.test");
  test::TestFilterContext ctx;
  EXPECT_TRUE(built.filter->filter(*event, ctx));
  const Value* host = test::field(*event, "host");
  ASSERT_TRUE(host && host->is_array());
  ASSERT_EQ(host->as_array().size(), 2u);
  EXPECT_EQ(host->as_array()[0].as_string(), "web.sluice.test");
  EXPECT_EQ(host->as_array()[1].as_string(), "10.0.0.5");
  EXPECT_FALSE(event->has_tag("_dnstimeout"));
}

TEST(DnsFilter, ResolveReplacesTheName) {
  test::DnsmasqServer server(kHosts);
  auto built = make_dns(ns(server) + "resolve => [\"host\"] action => \"replace\"");
  auto event = event_with("[server][name]", "db.sluice.test");
  auto built2 = make_dns(ns(server) + "resolve => [\"[server][name]\"] action => \"replace\"");
  test::TestFilterContext ctx;
  EXPECT_TRUE(built2.filter->filter(*event, ctx));
  EXPECT_EQ(test::field_text(*event, "[server][name]"), "10.0.0.6");
  // A one-item array stays an array.
  auto in_array = test::event_with_message("m");
  in_array->set(FieldRef::of("host"), Value(Array{Value("web.sluice.test")}));
  EXPECT_TRUE(built.filter->filter(*in_array, ctx));
  const Value* host = test::field(*in_array, "host");
  ASSERT_TRUE(host && host->is_array());
  ASSERT_EQ(host->as_array().size(), 1u);
  EXPECT_EQ(host->as_array()[0].as_string(), "10.0.0.5");
}

TEST(DnsFilter, ReverseFindsTheName) {
  test::DnsmasqServer server(kHosts);
  auto replace = make_dns(ns(server) + "reverse => [\"ip\"] action => \"replace\"");
  auto event = event_with("ip", "10.0.0.5");
  test::TestFilterContext ctx;
  EXPECT_TRUE(replace.filter->filter(*event, ctx));
  EXPECT_EQ(test::field_text(*event, "ip"), "web.sluice.test");
  auto append = make_dns(ns(server) + "reverse => [\"ip\"]");
  auto second = event_with("ip", "10.0.0.6");
  EXPECT_TRUE(append.filter->filter(*second, ctx));
  EXPECT_EQ(test::field_text(*second, "ip"), "10.0.0.6,db.sluice.test");
  // Not an address: left alone, not matched, no query.
  auto not_ip = event_with("ip", "web.sluice.test");
  EXPECT_FALSE(replace.filter->filter(*not_ip, ctx));
  EXPECT_EQ(test::field_text(*not_ip, "ip"), "web.sluice.test");
}

TEST(DnsFilter, IPv6OnlyNameResolvesToItsAaaaRecord) {
  test::DnsmasqServer server(kHosts);
  auto built = make_dns(ns(server) + "resolve => [\"host\"] action => \"replace\"");
  auto event = event_with("host", "v6only.sluice.test");
  test::TestFilterContext ctx;
  EXPECT_TRUE(built.filter->filter(*event, ctx));
  EXPECT_EQ(test::field_text(*event, "host"), "fd00::7");
}

TEST(DnsFilter, SearchDomainsFromTheNameserverHash) {
  test::DnsmasqServer server(kHosts);
  auto built = make_dns("nameserver => { address => [\"" + server.address() +
                        "\"] search => [\"sluice.test\"] } resolve => [\"host\"] action => \"replace\"");
  auto event = event_with("host", "web");
  test::TestFilterContext ctx;
  EXPECT_TRUE(built.filter->filter(*event, ctx));
  EXPECT_EQ(test::field_text(*event, "host"), "10.0.0.5");
}

TEST(DnsFilter, ABatchIsResolvedConcurrentlyWithOneQueryPerDistinctName) {
  std::string hosts;
  for (int i = 0; i < 40; ++i) hosts += "10.1.0." + std::to_string(i) + " h" + std::to_string(i) + ".sluice.test\n";
  test::DnsmasqServer server(hosts);
  auto built = make_dns(ns(server) + "resolve => [\"host\"] action => \"replace\"");
  std::vector<std::unique_ptr<Event>> events;
  for (int i = 0; i < 80; ++i) events.push_back(event_with("host", "h" + std::to_string(i % 40) + ".sluice.test"));
  const auto matched = run_batch(*built.filter, events);
  for (int i = 0; i < 80; ++i) {
    EXPECT_TRUE(matched[size_t(i)]);
    EXPECT_EQ(test::field_text(*events[size_t(i)], "host"), "10.1.0." + std::to_string(i % 40));
  }
  EXPECT_EQ(built.metrics->counter("lookups").load(), 40u);
  EXPECT_EQ(server.queries_for("h7.sluice.test"), 1);
}

TEST(DnsFilter, HitCacheAnswersRepeatedNamesWithoutAQuery) {
  test::DnsmasqServer server(kHosts);
  auto built = make_dns(ns(server) + "resolve => [\"host\"] action => \"replace\" hit_cache_size => 100");
  test::TestFilterContext ctx;
  for (int i = 0; i < 3; ++i) {
    auto event = event_with("host", "web.sluice.test");
    EXPECT_TRUE(built.filter->filter(*event, ctx));
    EXPECT_EQ(test::field_text(*event, "host"), "10.0.0.5");
  }
  EXPECT_EQ(server.queries_for("web.sluice.test"), 1);
  EXPECT_EQ(built.metrics->counter("cache_hits").load(), 2u);
  EXPECT_EQ(built.metrics->counter("cache_misses").load(), 1u);
}

TEST(DnsFilter, NxdomainIsNotMatchedAndGoesToTheFailedCache) {
  test::DnsmasqServer server(kHosts);
  auto built = make_dns(ns(server) + "resolve => [\"host\"] action => \"replace\" failed_cache_size => 10");
  test::TestFilterContext ctx;
  for (int i = 0; i < 2; ++i) {
    auto event = event_with("host", "missing.sluice.test");
    EXPECT_FALSE(built.filter->filter(*event, ctx));
    EXPECT_EQ(test::field_text(*event, "host"), "missing.sluice.test");
    EXPECT_FALSE(event->has_tag("_dnstimeout"));
  }
  EXPECT_EQ(server.queries_for("missing.sluice.test"), 1);
  EXPECT_EQ(built.metrics->counter("failed_cache_hits").load(), 1u);
  EXPECT_EQ(built.metrics->counter("not_found").load(), 1u);
  // Without a failed cache, every event asks again.
  auto uncached = make_dns(ns(server) + "resolve => [\"host\"] action => \"replace\"");
  auto event = event_with("host", "missing.sluice.test");
  EXPECT_FALSE(uncached.filter->filter(*event, ctx));
  EXPECT_EQ(server.queries_for("missing.sluice.test"), 2);
}

TEST(DnsFilter, AFailureStopsTheLaterFields) {
  test::DnsmasqServer server(kHosts);
  auto built = make_dns(ns(server) + "resolve => [\"a\", \"b\"] action => \"replace\"");
  auto event = event_with("a", "missing.sluice.test");
  event->set(FieldRef::of("b"), Value("web.sluice.test"));
  test::TestFilterContext ctx;
  EXPECT_FALSE(built.filter->filter(*event, ctx));
  EXPECT_EQ(test::field_text(*event, "b"), "web.sluice.test");  // as Logstash: the filter stops at `a`
  // A missing field is skipped; several values are not looked up.
  auto missing = event_with("b", "web.sluice.test");
  EXPECT_TRUE(built.filter->filter(*missing, ctx));
  EXPECT_EQ(test::field_text(*missing, "b"), "10.0.0.5");
  auto several = test::event_with_message("m");
  several->set(FieldRef::of("a"), Value(Array{Value("web.sluice.test"), Value("db.sluice.test")}));
  EXPECT_FALSE(built.filter->filter(*several, ctx));
  EXPECT_EQ(test::field_text(*several, "a"), "web.sluice.test,db.sluice.test");
}

TEST(DnsFilter, ServerDownTagsTheEventsAndTheyGoOn) {
  test::DnsmasqServer server(kHosts);
  auto built = make_dns(ns(server) + "resolve => [\"host\"] action => \"replace\" timeout => 0.2 max_retries => 1");
  server.stop();
  std::vector<std::unique_ptr<Event>> events;
  for (int i = 0; i < 10; ++i) events.push_back(event_with("host", "h" + std::to_string(i) + ".sluice.test"));
  const auto matched = run_batch(*built.filter, events);
  for (auto& e : events) {
    EXPECT_TRUE(e->has_tag("_dnstimeout"));
    EXPECT_EQ(test::field_text(*e, "host").rfind("h", 0), 0u);
  }
  EXPECT_EQ(matched, std::vector<char>(10, 0));
  EXPECT_EQ(built.metrics->failures.load(), 10u);
  // Back up: the same filter resolves again.
  server.start();
  auto event = event_with("host", "web.sluice.test");
  test::TestFilterContext ctx;
  EXPECT_TRUE(built.filter->filter(*event, ctx));
  EXPECT_EQ(test::field_text(*event, "host"), "10.0.0.5");
}

// A server that takes the queries and never answers: every lookup of the batch times out
// together, so the batch takes about one bound (0.2 s x 2 tries), not one per event.
// The bound (timeout x (max_retries + 1) per batch, not per event) is the filter's design; no
// timing assertion here (the machine may be loaded): every event of the batch is tagged.
TEST(DnsFilter, SilentServerTagsEveryEventOfTheBatch) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  auto built = make_dns("nameserver => \"127.0.0.1:" + std::to_string(port) +
                        "\" resolve => [\"host\"] timeout => 0.2 max_retries => 1 tag_on_timeout => [\"slow_dns\"]");
  std::vector<std::unique_ptr<Event>> events;
  for (int i = 0; i < 40; ++i) events.push_back(event_with("host", "n" + std::to_string(i) + ".sluice.test"));
  run_batch(*built.filter, events);
  ::close(fd);
  for (auto& e : events) {
    EXPECT_TRUE(e->has_tag("slow_dns"));
    EXPECT_FALSE(e->has_tag("_dnstimeout"));
  }
  EXPECT_EQ(built.metrics->counter("timeouts").load(), 40u);
}

TEST(DnsFilter, HostsfileAnswersBeforeDns) {
  test::DnsmasqServer server(kHosts);
  test::TempDir dir;
  test::write_file(dir.file("hosts"), "# local overrides\n10.9.9.9 web.sluice.test intranet.corp\n");
  auto with_dns = make_dns(ns(server) + "hostsfile => [\"" + dir.file("hosts") +
                           "\"] resolve => [\"host\"] reverse => [\"ip\"] action => \"replace\"");
  auto event = event_with("host", "web.sluice.test");
  event->set(FieldRef::of("ip"), Value("10.9.9.9"));
  test::TestFilterContext ctx;
  EXPECT_TRUE(with_dns.filter->filter(*event, ctx));
  EXPECT_EQ(test::field_text(*event, "host"), "10.9.9.9");
  EXPECT_EQ(test::field_text(*event, "ip"), "web.sluice.test");
  EXPECT_EQ(server.queries_for("web.sluice.test"), 0);
  // Hosts files and no name server: only the files answer (as in Logstash).
  auto files_only = make_dns("hostsfile => [\"" + dir.file("hosts") + "\"] resolve => [\"host\"] action => \"replace\"");
  auto alias = event_with("host", "INTRANET.corp");
  EXPECT_TRUE(files_only.filter->filter(*alias, ctx));
  EXPECT_EQ(test::field_text(*alias, "host"), "10.9.9.9");
  auto unknown = event_with("host", "db.sluice.test");
  EXPECT_FALSE(files_only.filter->filter(*unknown, ctx));
  EXPECT_EQ(test::field_text(*unknown, "host"), "db.sluice.test");
  EXPECT_EQ(server.queries_for("db.sluice.test"), 0);
}

TEST(DnsFilterConfig, BadNameserversAreConfigErrors) {
  auto expect_error = [](const std::string& body, const std::string& text) {
    try {
      make_dns(body);
      ADD_FAILURE() << "expected a ConfigError for " << body;
    } catch (const config::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("test.conf:1:"), std::string::npos) << e.what();
    }
  };
  expect_error("resolve => [\"h\"] nameserver => \"not-an-ip\"", "not an IP address");
  expect_error("resolve => [\"h\"] nameserver => { search => [\"x\"] }", "must include `address`");
  expect_error("resolve => [\"h\"] nameserver => { address => \"127.0.0.1\" color => \"red\" }", "unknown `nameserver` key");
  expect_error("resolve => [\"h\"] nameserver => \"127.0.0.1:99999\"", "bad port");
  expect_error("resolve => [\"h\"] hostsfile => [\"/nonexistent/hosts\"]", "cannot read hosts file");
  EXPECT_THROW(make_dns("resolve => [\"h\"] action => \"prepend\""), config::ConfigError);
}

}  // namespace
}  // namespace sluice
