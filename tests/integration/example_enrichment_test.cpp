// The security example's enrichment stage (examples/enrich/pipelines.yml, README tour step 8) against
// real servers: PostgreSQL 15 holding the asset inventory (examples/security/enrich/assets.sql, read
// by a login that may only SELECT), redis-server holding the threat-intel set (threat-intel.txt,
// password protected), and the demo GeoIP2 City database that build-geoip-db.pl makes from
// geoip-demo.csv. Chosen fields of chosen sample lines must carry the context those files give them.
// The server-free part of the stage (cidr, translate) runs in the default example too, checked last.
#include <gtest/gtest.h>

#include <map>

#include "core/json.h"
#include "core/value.h"
#include "support/postgres_server.h"
#include "support/redis_server.h"
#include "test_support.h"

namespace sluice {
namespace {

const Value* at(const Value& v, const std::string& dotted) {
  const Value* cur = &v;
  size_t start = 0;
  for (;;) {
    const size_t dot = dotted.find('.', start);
    const std::string key = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return nullptr;
    cur = cur->as_object().find(key);
    if (!cur || dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

std::string text(const Value* v) { return v ? v->to_text() : std::string("<missing>"); }

std::string dump(const Value& v) {
  std::string out;
  json_append_value(out, v);
  return out;
}

bool has_tag(const Value& event, const std::string& tag) {
  const Value* tags = at(event, "tags");
  if (!tags || !tags->is_array()) return false;
  for (const Value& t : tags->as_array())
    if (t.to_text() == tag) return true;
  return false;
}

using Events = std::map<std::string, std::vector<Value>>;  // output file (observer.type) -> events

Events read_outputs(const test::TempDir& out) {
  Events events;
  for (const char* type : {"firewall", "ids", "waf"}) {
    for (const auto& line : test::read_lines(out.file(std::string(type) + ".jsonl"))) {
      Value event;
      if (json_parse(line, event)) events[type].push_back(std::move(event));
      else ADD_FAILURE() << "not JSON: " << line;
    }
  }
  return events;
}

// The first event of `type` whose fields have all the given values.
const Value* find(const Events& events, const std::string& type, const std::map<std::string, std::string>& fields) {
  auto it = events.find(type);
  if (it != events.end()) {
    for (const Value& event : it->second) {
      bool all = true;
      for (const auto& [path, value] : fields) all = all && text(at(event, path)) == value;
      if (all) return &event;
    }
  }
  std::string wanted;
  for (const auto& [path, value] : fields) wanted += " " + path + "=" + value;
  ADD_FAILURE() << "no " << type << " event with" << wanted;
  return nullptr;
}

struct EnrichedRun {
  Events events;
  std::string error;   // why the run could not happen
  std::string output;  // sluice's stdout and stderr
  std::string assets_password, redis_password;
};

// Starts the servers, loads the example's data the way scripts/example-enrich.sh does, runs the
// example once for all tests here, and stops the servers.
const EnrichedRun& enriched_run() {
  static const EnrichedRun run = [] {
    EnrichedRun r;
    const std::string home = SLUICE_SOURCE_DIR;
    const std::string data = home + "/examples/security/enrich/";
    static test::TempDir out;
    try {
      test::PostgresServer pg;
      r.assets_password = "assets-reader-secret-4711";
      pg.exec(test::read_file(data + "assets.sql"));
      pg.exec("CREATE ROLE sluice_reader LOGIN PASSWORD '" + r.assets_password +
              "'; GRANT SELECT ON asset_ranges TO sluice_reader;");

      r.redis_password = "threat-intel-secret-0815";
      test::RedisServer redis(r.redis_password);
      std::vector<std::string> sadd = {"SADD", "threat-intel:ip"};
      for (const auto& line : test::read_lines(data + "threat-intel.txt"))
        if (!line.empty() && line[0] != '#') sadd.push_back(line);
      redis.command(sadd);

      const std::string mmdb = out.file("demo-city.mmdb");
      auto built = test::run_command({"perl", data + "build-geoip-db.pl", data + "geoip-demo.csv", mmdb}, "",
                                     std::chrono::seconds(120));
      if (built.exit_code != 0) throw std::runtime_error("build-geoip-db.pl failed: " + built.err + built.out);

      auto result = test::run_command(
          {"env", "-C", home, "SLUICE_HOME=" + home, "SLUICE_OUT=" + out.path().string(),
           "SLUICE_LOGS=" + home + "/examples/security/logs",
           "SLUICE_ASSETS_DB=jdbc:postgresql://127.0.0.1:" + std::to_string(pg.port()) + "/postgres",
           "SLUICE_ASSETS_USER=sluice_reader", "SLUICE_ASSETS_PASSWORD=" + r.assets_password,
           "SLUICE_REDIS_HOST=127.0.0.1", "SLUICE_REDIS_PORT=" + std::to_string(redis.port()),
           "SLUICE_REDIS_PASSWORD=" + r.redis_password, "SLUICE_GEOIP_DB=" + mmdb, test::sluice_binary(),
           "--path.settings", "examples/enrich", "--path.data", out.file("data"), "--api.enabled", "false"},
          "", std::chrono::seconds(120));
      r.output = result.out + result.err;
      if (result.exit_code != 0) r.error = "sluice exited " + std::to_string(result.exit_code) + ": " + r.output;
    } catch (const std::exception& e) {
      r.error = e.what();
    }
    r.events = read_outputs(out);
    return r;
  }();
  return run;
}

class ExampleEnrichment : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(enriched_run().error.empty()) << enriched_run().error; }
  const Events& events() { return enriched_run().events; }
};

TEST_F(ExampleEnrichment, EveryEventArrivesWithoutFailureTags) {
  EXPECT_EQ(events().at("firewall").size(), 15u);
  EXPECT_EQ(events().at("ids").size(), 5u);
  EXPECT_EQ(events().at("waf").size(), 2u);
  for (const auto& [type, list] : events())
    for (const Value& event : list) {
      const std::string tags = text(at(event, "tags"));
      EXPECT_EQ(tags.find("failure"), std::string::npos) << type << ": " << dump(event);
      EXPECT_EQ(tags.find("_jdbcstatic"), std::string::npos) << type << ": " << dump(event);
      EXPECT_EQ(tags.find("_redis"), std::string::npos) << type << ": " << dump(event);
    }
}

TEST_F(ExampleEnrichment, AssetOwnerAndZoneComeFromPostgres) {
  // FortiGate: source 10.20.0.15 lies in 10.20.0.0-10.20.0.63; the IPS target 10.20.0.80 in the next range.
  const Value* web = find(events(), "firewall", {{"source.ip", "10.20.0.15"}});
  if (web) {
    EXPECT_EQ(text(at(*web, "source.asset.owner")), "retail-stores");
    EXPECT_EQ(text(at(*web, "source.asset.zone")), "branch");
    EXPECT_EQ(at(*web, "destination.asset"), nullptr);  // 93.184.216.34: not ours
  }
  const Value* ips = find(events(), "firewall", {{"destination.ip", "10.20.0.80"}});
  if (ips) {
    EXPECT_EQ(text(at(*ips, "destination.asset.owner")), "retail-payments");
    EXPECT_EQ(text(at(*ips, "destination.asset.zone")), "pci");
  }
  const Value* sqli = find(events(), "ids", {{"source.ip", "203.0.113.9"}});
  if (sqli) EXPECT_EQ(text(at(*sqli, "destination.asset.owner")), "ecommerce");
  // The UniFi admin login has no destination: no row, and no failure tag either.
  const Value* admin = find(events(), "firewall", {{"source.ip", "10.70.0.40"}});
  if (admin) {
    EXPECT_EQ(text(at(*admin, "source.asset.zone")), "management");
    EXPECT_FALSE(has_tag(*admin, "_jdbcstaticfailure"));
  }
}

TEST_F(ExampleEnrichment, ThreatIntelHitsComeFromRedis) {
  // ASA 106023: the denied SSH attempt comes from a listed address.
  const Value* ssh = find(events(), "firewall", {{"source.ip", "192.0.2.77"}});
  if (ssh) {
    EXPECT_TRUE(has_tag(*ssh, "threat_intel_match")) << dump(*ssh);
    EXPECT_EQ(text(at(*ssh, "threat.indicator.ip")), "192.0.2.77");
  }
  // Suricata: the reverse shell goes out to a listed address (a destination hit).
  const Value* shell = find(events(), "ids", {{"destination.ip", "198.51.100.66"}});
  if (shell) {
    EXPECT_TRUE(has_tag(*shell, "threat_intel_match"));
    EXPECT_EQ(text(at(*shell, "threat.indicator.ip")), "198.51.100.66");
  }
  // ModSecurity blocked a listed client.
  const Value* waf = find(events(), "waf", {{"source.ip", "203.0.113.140"}});
  if (waf) EXPECT_TRUE(has_tag(*waf, "threat_intel_match"));
  // Snort: 192.0.2.15 is not listed.
  const Value* ping = find(events(), "ids", {{"source.ip", "192.0.2.15"}});
  if (ping) {
    EXPECT_FALSE(has_tag(*ping, "threat_intel_match")) << dump(*ping);
    EXPECT_EQ(at(*ping, "threat"), nullptr);
  }
  int hits = 0;
  for (const auto& [type, list] : events())
    for (const Value& event : list) hits += has_tag(event, "threat_intel_match");
  EXPECT_EQ(hits, 7);  // ASA x4 (203.0.113.45 twice), FortiGate IPS, Suricata, ModSecurity
}

TEST_F(ExampleEnrichment, GeoipLocatesExternalAddresses) {
  const Value* inbound = find(events(), "firewall", {{"source.ip", "203.0.113.45"}, {"event.code", "302013"}});
  if (inbound) {
    EXPECT_EQ(text(at(*inbound, "source.geo.country_iso_code")), "BR");
    EXPECT_EQ(text(at(*inbound, "source.geo.city_name")), "Sao Paulo");
    EXPECT_EQ(text(at(*inbound, "source.geo.continent_code")), "SA");
    EXPECT_EQ(at(*inbound, "destination.geo"), nullptr);  // 10.10.1.20 is internal: not looked up
  }
  const Value* web = find(events(), "firewall", {{"destination.ip", "93.184.216.34"}});
  if (web) {
    EXPECT_EQ(text(at(*web, "destination.geo.country_iso_code")), "US");
    EXPECT_EQ(text(at(*web, "destination.geo.city_name")), "Los Angeles");
    EXPECT_EQ(at(*web, "source.geo"), nullptr);
  }
}

TEST_F(ExampleEnrichment, FirewallRuleIdsGetNamesAndDirection) {
  const Value* telnet = find(events(), "firewall", {{"source.ip", "10.20.0.33"}});
  if (telnet) {
    EXPECT_EQ(text(at(*telnet, "rule.id")), "7");
    EXPECT_EQ(text(at(*telnet, "rule.name")), "Block legacy remote access (Telnet, rlogin)");
    EXPECT_EQ(text(at(*telnet, "network.direction")), "outbound");
  }
  // A rule the log names itself keeps its name (PAN-OS).
  const Value* panos = find(events(), "firewall", {{"source.ip", "192.0.2.200"}});
  if (panos) EXPECT_EQ(text(at(*panos, "rule.name")), "block-inbound");
}

TEST_F(ExampleEnrichment, SecretsStayOutOfTheOutput) {
  const EnrichedRun& run = enriched_run();
  EXPECT_EQ(run.output.find(run.assets_password), std::string::npos);
  EXPECT_EQ(run.output.find(run.redis_password), std::string::npos);
  for (const auto& [type, list] : run.events)
    for (const Value& event : list) {
      const std::string line = dump(event);
      EXPECT_EQ(line.find(run.assets_password), std::string::npos);
      EXPECT_EQ(line.find(run.redis_password), std::string::npos);
    }
}

// README command 1 (no servers): the per-type pipelines still end in enrich.conf, which names rules
// and marks internal addresses without any lookup server.
TEST(ExampleEnrichmentDefault, DefaultRunNamesRulesWithoutServers) {
  test::TempDir out;
  const std::string home = SLUICE_SOURCE_DIR;
  auto result = test::run_command({"env", "-C", home, "SLUICE_HOME=" + home, "SLUICE_OUT=" + out.path().string(),
                                   "SLUICE_LOGS=" + home + "/examples/security/logs", test::sluice_binary(),
                                   "--path.settings", "examples/settings", "--path.data", out.file("data"),
                                   "--api.enabled", "false"},
                                  "", std::chrono::seconds(60));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  Events events = read_outputs(out);
  const Value* web = find(events, "firewall", {{"source.ip", "10.20.0.15"}});
  if (web) {
    EXPECT_EQ(text(at(*web, "rule.name")), "LAN to Internet: web (HTTP, HTTPS)");
    EXPECT_EQ(text(at(*web, "network.direction")), "outbound");
    EXPECT_TRUE(has_tag(*web, "internal_source"));
    EXPECT_FALSE(has_tag(*web, "internal_destination"));
    EXPECT_EQ(at(*web, "source.asset"), nullptr);  // the lookups need the servers
  }
  const Value* inbound = find(events, "ids", {{"source.ip", "203.0.113.9"}});
  if (inbound) EXPECT_EQ(text(at(*inbound, "network.direction")), "inbound");
}

}  // namespace
}  // namespace sluice
