// The main job (README command 1): the security example pipelines over the bundled sample logs must end by
// themselves and produce ECS fields for every vendor, with no parse failure.
#include <gtest/gtest.h>

#include <map>

#include "core/json.h"
#include "core/value.h"
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

}  // namespace
}  // namespace sluice
