// The security example pipelines over the real vendor samples in ../shared/corpus/logs (firewall, ids,
// waf): chosen fields of chosen lines must hold the values the raw line carries (read off each line
// by hand and cross-checked with the CrowdSec parser assertions stored beside the samples), and only
// the lines listed here may carry a failure tag. Skipped, with a message, when ../shared is absent.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/json.h"
#include "core/value.h"
#include "test_support.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

const Value* at(const Value& v, const std::string& dotted) {
  const Value* cur = &v;
  size_t start = 0;
  while (cur && start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    std::string key = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return nullptr;
    cur = cur->as_object().find(key);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

std::string text(const Value* v) { return v ? v->to_text() : std::string("<missing>"); }

struct CorpusRun {
  std::map<std::string, std::vector<Value>> events;  // pipeline -> events
  std::string error;
};

const CorpusRun& corpus_run() {
  static CorpusRun run = [] {
    CorpusRun r;
    auto shared = test::shared_dir();
    static test::TempDir out;
    std::string home = SLUICE_SOURCE_DIR;
    auto result = test::run_command(
        {"env", "-C", home, "SLUICE_HOME=" + home, "SLUICE_OUT=" + out.path().string(),
         "SLUICE_LOGS=" + (*shared / "corpus" / "logs").string(), test::sluice_binary(), "--path.settings",
         "examples/settings", "--path.data", out.file("data"), "--api.enabled", "false"},
        "", std::chrono::seconds(120));
    if (result.exit_code != 0) r.error = result.err;
    for (const char* pipeline : {"firewall", "ids", "waf"}) {
      for (const auto& line : test::read_lines(out.file(std::string(pipeline) + ".jsonl"))) {
        Value event;
        if (json_parse(line, event)) r.events[pipeline].push_back(std::move(event));
      }
    }
    return r;
  }();
  return run;
}

class CorpusSecurityLogs : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::shared_dir()) GTEST_SKIP() << "../shared/corpus is absent: the corpus log tests are skipped";
    ASSERT_TRUE(corpus_run().error.empty()) << corpus_run().error;
  }

  // The event of `pipeline` read from the file whose name ends with `file` and whose original line
  // contains `marker`.
  const Value* find(const std::string& pipeline, const std::string& file, const std::string& marker) {
    for (const Value& event : corpus_run().events.at(pipeline)) {
      if (!text(at(event, "log.file.path")).ends_with(file)) continue;
      if (text(at(event, "event.original")).find(marker) != std::string::npos) return &event;
    }
    ADD_FAILURE() << "no " << pipeline << " event from " << file << " containing " << marker;
    return nullptr;
  }

  void expect_fields(const Value* event, const std::map<std::string, std::string>& fields) {
    if (!event) return;
    for (const auto& [path, expected] : fields)
      EXPECT_EQ(text(at(*event, path)), expected) << path << " in " << text(at(*event, "event.original"));
  }
};

TEST_F(CorpusSecurityLogs, EveryLineArrivesAndOnlyKnownLinesFail) {
  const auto& events = corpus_run().events;
  EXPECT_EQ(events.at("firewall").size(), 104u);
  EXPECT_EQ(events.at("ids").size(), 20u);
  EXPECT_EQ(events.at("waf").size(), 21u);
  // The lines that may fail, each for a reason given in docs/compatibility.md.
  const std::set<std::string> allowed = {
      "XX=enp1s0 OUT=",                    // iptables: not an iptables line (no IN=)
      "dst srv:192.168.2.2/51635(testhostname.domain)",  // ASA 106023 without hash codes: upstream pattern
      "access-list testrulename denied tcp insideintf/somedomainname.local",  // ASA 106100 with names
      "login failure for user admin from 10.127.0.35",  // MikroTik system topic, not a firewall record
  };
  for (const auto& [pipeline, list] : events) {
    for (const Value& event : list) {
      std::string tags = text(at(event, "tags"));
      if (tags.find("failure") == std::string::npos && tags.find("_unknown") == std::string::npos) continue;
      std::string original = text(at(event, "event.original"));
      bool known = false;
      for (const auto& marker : allowed) known = known || original.find(marker) != std::string::npos;
      EXPECT_TRUE(known) << pipeline << " line failed: " << tags << " " << original;
    }
  }
}

TEST_F(CorpusSecurityLogs, Iptables) {
  expect_fields(find("firewall", "crowdsec-iptables-logs.log", "IN=enp1s0 OUT="),
                {{"source.ip", "195.54.160.107"}, {"destination.ip", "51.15.166.67"}, {"source.port", "8080"},
                 {"destination.port", "8123"}, {"network.transport", "TCP"},
                 {"observer.ingress.interface.name", "enp1s0"}, {"observer.product", "iptables"}});
}

TEST_F(CorpusSecurityLogs, PanOsThreat) {
  expect_fields(find("firewall", "crowdsec-palo-alto-threat.log", "7204134051344758260"),
                {{"source.ip", "1.2.3.2"}, {"destination.ip", "1.2.3.3"}, {"destination.port", "22"},
                 {"network.transport", "tcp"}, {"panos.type", "THREAT"}, {"event.kind", "alert"},
                 {"rule.name", "SSH User Authentication Brute Force Attempt(40015)"},
                 {"observer.ingress.zone", "Untrust"}, {"event.action", "reset-both"}});
}

TEST_F(CorpusSecurityLogs, UnifiCef) {
  expect_fields(find("firewall", "crowdsec-unifi-cef.log", "src=10.0.0.100"),
                {{"source.ip", "10.0.0.100"}, {"source.port", "52331"}, {"destination.ip", "192.168.0.233"},
                 {"destination.port", "443"}, {"observer.vendor", "Ubiquiti"}, {"event.code", "201"}});
  // Behind a BSD syslog header.
  expect_fields(find("firewall", "crowdsec-unifi-cef.log", "src=198.51.100.10"),
                {{"source.ip", "198.51.100.10"}, {"observer.product", "UniFi Network"}});
}

TEST_F(CorpusSecurityLogs, PfSenseFilterlog) {
  expect_fields(find("firewall", "crowdsec-pfsense-rfc5424-filterlog.log", "42970,80"),
                {{"source.ip", "192.168.5.6"}, {"destination.ip", "192.168.1.100"}, {"source.port", "42970"},
                 {"destination.port", "80"}, {"event.action", "block"}, {"network.transport", "tcp"},
                 {"observer.ingress.interface.name", "vtnet0.5"}, {"@timestamp", "2025-11-06T11:32:42.868Z"}});
  expect_fields(find("firewall", "crowdsec-pfsense-rfc5424-filterlog.log", "fdfd:ace:ace:10"),
                {{"source.ip", "fdfd:ace:ace:10:d8:cdbf:f6f8:6d69"}, {"destination.ip", "fdfd:ace:ace:5::6"},
                 {"destination.port", "443"}, {"network.transport", "tcp"}});
}

TEST_F(CorpusSecurityLogs, MikroTik) {
  expect_fields(find("firewall", "crowdsec-mikrotik-logs.log", "186.26.78.68:44355"),
                {{"source.ip", "186.26.78.68"}, {"source.port", "44355"}, {"destination.ip", "81.82.202.145"},
                 {"destination.port", "53"}, {"network.transport", "udp"}, {"rule.name", "drop-in"},
                 {"source.mac", "00:17:10:88:bc:02"}});
  expect_fields(find("firewall", "crowdsec-mikrotik-logs.log", "[2001:db8:1234::1]:40384"),
                {{"source.ip", "2001:db8:1234::1"}, {"destination.port", "20461"}});
}

TEST_F(CorpusSecurityLogs, FortiGate) {
  expect_fields(find("firewall", "elastic-beats-fortinet-firewall-traffic.log", "srcip=10.10.10.10 "),
                {{"source.ip", "10.10.10.10"}, {"source.port", "60899"}, {"destination.ip", "175.16.199.1"},
                 {"destination.port", "161"}, {"event.action", "deny"}, {"observer.name", "testswitch1"}});
}

TEST_F(CorpusSecurityLogs, CiscoFtd) {
  expect_fields(find("firewall", "elastic-beats-cisco-asa-additional_messages.log", "%FTD-6-302013"),
                {{"source.ip", "10.10.10.10"}, {"source.port", "53500"}, {"destination.ip", "192.168.2.2"},
                 {"source.nat.ip", "8.8.8.8"}, {"observer.product", "FTD"}, {"event.code", "302013"},
                 {"cisco.asa.network.transport", "TCP"}});
}

TEST_F(CorpusSecurityLogs, CheckPoint) {
  expect_fields(find("firewall", "elastic-beats-checkpoint-firewall-R81.X.log", "CheckPoint"),
                {{"event.action", "Accept"}, {"observer.ip", "81.2.69.144"}, {"observer.name", "fw1"},
                 {"observer.ingress.interface.name", "eth0.11"}, {"@timestamp", "2022-07-16T18:51:20.000Z"}});
}

TEST_F(CorpusSecurityLogs, SuricataEve) {
  expect_fields(find("ids", "crowdsec-suricata-logs-evelog.log", "1258832998001901"),
                {{"source.ip", "1.2.3.4"}, {"source.port", "52812"}, {"destination.ip", "127.0.0.1"},
                 {"destination.port", "80"}, {"rule.id", "2024468"}, {"network.transport", "TCP"},
                 {"@timestamp", "2022-07-10T23:50:05.533Z"}});
  // An EVE record exported from Elasticsearch (`_source` of a search hit).
  expect_fields(find("ids", "selks-suricata-eve-examples.ndjson", "71.78.79.138"),
                {{"destination.ip", "71.78.79.138"}, {"destination.port", "443"}, {"event.type", "alert"}});
}

TEST_F(CorpusSecurityLogs, SuricataFastLog) {
  expect_fields(find("ids", "crowdsec-suricata-logs-fastlog.log", "2.57.122.209:28487"),
                {{"rule.id", "2200074"}, {"source.ip", "2.57.122.209"}, {"source.port", "28487"},
                 {"destination.ip", "172.31.18.55"}, {"destination.port", "80"}, {"network.transport", "TCP"},
                 {"rule.category", "Generic Protocol Command Decode"}, {"event.severity", "3"},
                 {"observer.product", "Suricata"}, {"@timestamp", "2022-07-11T10:29:01.860Z"}});
}

TEST_F(CorpusSecurityLogs, ModSecurity) {
  expect_fields(find("waf", "crowdsec-modsecurity-logs.log", "[client ::1:37752]"),
                {{"source.ip", "::1"}, {"source.port", "37752"}, {"rule.id", "930100"},
                 {"rule.name", "Path Traversal Attack (/../)"}, {"log.level", "error"},
                 {"@timestamp", "2021-09-30T13:27:06.009Z"}});
  expect_fields(find("waf", "crowdsec-modsecurity-logs-nginx.log", "*1083 "),
                {{"source.ip", "82.64.145.141"}, {"rule.id", "930100"}, {"log.level", "info"},
                 {"event.action", "detected"}});
  expect_fields(find("waf", "crowdsec-modsecurity-logs-nginx.log", "[client 161.97.102.240]"),
                {{"source.ip", "161.97.102.240"}, {"event.action", "blocked"}});
}

}  // namespace
}  // namespace sluice
