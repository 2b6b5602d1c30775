// The main job (README command 1): the security example pipelines over the bundled sample logs must end by
// themselves and produce ECS fields for every vendor, with no parse failure.
#include <gtest/gtest.h>

#include <csignal>
#include <map>

#include "core/json.h"
#include "core/value.h"
#include "support/lumberjack_writer.h"
#include "test_support.h"

namespace sluice {
namespace {

const Value* at(const Value& v, std::initializer_list<const char*> path) {
  const Value* cur = &v;
  for (const char* key : path) {
    if (!cur->is_object()) return nullptr;
    cur = cur->as_object().find(key);
    if (!cur) return nullptr;
  }
  return cur;
}

std::string text(const Value* v) { return v ? v->to_text() : std::string("<missing>"); }

TEST(ExamplePipelines, SecurityLogsBecomeEcsEvents) {
  test::TempDir out;
  std::string home = SLUICE_SOURCE_DIR;
  auto result = test::run_command({"env", "-C", home, "SLUICE_HOME=" + home, "SLUICE_OUT=" + out.path().string(),
                                   "SLUICE_LOGS=" + home + "/examples/security/logs",
                                   test::sluice_binary(), "--path.settings", "examples/settings", "--path.data",
                                   out.file("data"), "--api.enabled", "false"},
                                  "", std::chrono::seconds(60));
  ASSERT_EQ(result.exit_code, 0) << result.err;

  std::map<std::string, int> per_product;
  for (const char* type : {"firewall", "ids", "waf"}) {
    auto lines = test::read_lines(out.file(std::string(type) + ".jsonl"));
    EXPECT_FALSE(lines.empty()) << type;
    for (const auto& line : lines) {
      Value event;
      ASSERT_TRUE(json_parse(line, event)) << line;
      const Value* tags = at(event, {"tags"});
      std::string tag_text = text(tags);
      EXPECT_EQ(tag_text.find("failure"), std::string::npos) << type << ": " << line;
      EXPECT_NE(at(event, {"source", "ip"}), nullptr) << line;
      EXPECT_EQ(text(at(event, {"observer", "type"})), type);
      // The event time comes from the log line (2026-11-26), not from the clock.
      EXPECT_EQ(text(at(event, {"@timestamp"})).rfind("2026-11-26T", 0), 0u) << line;
      per_product[text(at(event, {"observer", "product"}))]++;
    }
  }
  for (const char* product : {"ASA", "FortiGate", "PAN-OS", "iptables", "Suricata", "Snort", "ModSecurity"})
    EXPECT_GT(per_product[product], 0) << product;
}

// The README tour's front tier (examples/front): `logger` sends syslog, a beats client sends a
// window, and both reach the per-type pipelines with their ECS fields.
TEST(ExamplePipelines, FrontTierTakesSyslogAndBeats) {
  test::TempDir out;
  std::string home = SLUICE_SOURCE_DIR;
  const int syslog_port = test::free_port();
  const int beats_port = test::free_port();
  test::Child sluice({"env", "-C", home, "SLUICE_OUT=" + out.path().string(),
                      "SLUICE_SYSLOG_PORT=" + std::to_string(syslog_port),
                      "SLUICE_BEATS_PORT=" + std::to_string(beats_port), test::sluice_binary(), "--path.settings",
                      "examples/front", "--path.data", out.file("data"), "--api.enabled", "false"},
                     out.file("stdout"), out.file("stderr"));
  ASSERT_TRUE(test::wait_until([&] { return test::port_open(syslog_port) && test::port_open(beats_port); },
                               std::chrono::seconds(60)));

  auto sent = test::run_command(
      {"logger", "-n", "127.0.0.1", "-P", std::to_string(syslog_port), "--tcp", "--octet-count", "-t", "kernel",
       "[812345.1] IPTABLES-DROP: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=198.51.100.77 "
       "DST=10.40.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=54321 DF PROTO=TCP SPT=49822 DPT=22 WINDOW=29200 "
       "RES=0x00 SYN URGP=0"},
      "", std::chrono::seconds(20));
  ASSERT_EQ(sent.exit_code, 0) << sent.err;

  test::LumberjackWriter beats(beats_port);
  ASSERT_TRUE(beats.connected());
  ASSERT_TRUE(beats.send_window_acked(
      {R"({"@timestamp":"2026-11-26T08:19:01.000Z","@metadata":{"beat":"filebeat","type":"_doc","version":"8.11.0"},)"
       R"("message":"11/26-08:19:01.123456  [**] [1:1000001:1] ICMP Ping detected [**] [Classification: Misc )"
       R"(activity] [Priority: 3] {ICMP} 192.0.2.15 -> 10.60.0.5","fields":{"log_type":"ids"}})"},
      false, 30000));

  std::vector<std::string> firewall, ids;
  test::wait_until(
      [&] {
        firewall = test::read_lines(out.file("firewall.jsonl"));
        ids = test::read_lines(out.file("ids.jsonl"));
        return !firewall.empty() && !ids.empty();
      },
      std::chrono::seconds(30));
  sluice.signal(SIGTERM);
  EXPECT_EQ(sluice.wait(std::chrono::seconds(30)), std::optional<int>(0));

  ASSERT_EQ(firewall.size(), 1u);
  Value event;
  ASSERT_TRUE(json_parse(firewall[0], event));
  EXPECT_EQ(text(at(event, {"source", "ip"})), "198.51.100.77");
  EXPECT_EQ(text(at(event, {"destination", "port"})), "22");
  EXPECT_EQ(text(at(event, {"observer", "product"})), "iptables");
  EXPECT_EQ(text(at(event, {"process", "name"})), "kernel");  // from the syslog header

  ASSERT_EQ(ids.size(), 1u);
  ASSERT_TRUE(json_parse(ids[0], event));
  EXPECT_EQ(text(at(event, {"rule", "id"})), "1000001");
  EXPECT_EQ(text(at(event, {"source", "ip"})), "192.0.2.15");
  EXPECT_EQ(text(at(event, {"observer", "product"})), "Snort");
}

}  // namespace
}  // namespace sluice
