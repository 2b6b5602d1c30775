// The uap-core parser against uap-core's own test data (Debian package uap-core ships
// tests/test_ua.yaml, test_os.yaml and test_device.yaml next to regexes.yaml).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "plugins/filters/useragent/uap_parser.h"

namespace sluice {
namespace {

const char* kRegexes = "/usr/share/uap-core/regexes.yaml";
const char* kTests = "/usr/share/uap-core/tests/";

const useragent::UapParser& parser() {
  static std::unique_ptr<useragent::UapParser> instance = useragent::UapParser::load(kRegexes);
  return *instance;
}

std::string expected(const YAML::Node& test, const char* key) {
  const YAML::Node v = test[key];
  return v && !v.IsNull() ? v.as<std::string>() : std::string();
}

// Runs every case of one file; `check` compares the result and returns a description of the
// mismatch ("" when it agrees).
template <typename Check>
void run_cases(const std::string& file, Check check, size_t& total) {
  ASSERT_TRUE(std::filesystem::exists(file)) << file << " is missing: install the Debian package uap-core";
  const YAML::Node root = YAML::LoadFile(file);
  size_t failures = 0;
  total = 0;
  for (const YAML::Node& test : root["test_cases"]) {
    ++total;
    const std::string agent = test["user_agent_string"].as<std::string>();
    useragent::UapResult result;
    const std::string mismatch = check(agent, test, result);
    if (!mismatch.empty() && ++failures <= 20) ADD_FAILURE() << file << ": `" << agent << "`: " << mismatch;
  }
  EXPECT_EQ(failures, 0u) << "of " << total << " cases in " << file;
  EXPECT_GT(total, 100u);
}

TEST(UseragentUapData, UserAgentCases) {
  size_t total = 0;
  run_cases(std::string(kTests) + "test_ua.yaml", [](const std::string& agent, const YAML::Node& test,
                                                      useragent::UapResult& r) {
    parser().parse_user_agent(agent, r);
    for (auto [key, got] : {std::pair<const char*, std::string*>{"family", &r.ua_family}, {"major", &r.ua_major},
                            {"minor", &r.ua_minor}, {"patch", &r.ua_patch}})
      if (expected(test, key) != *got) return std::string(key) + " `" + *got + "` != `" + expected(test, key) + "`";
    return std::string();
  }, total);
}

TEST(UseragentUapData, OsCases) {
  size_t total = 0;
  run_cases(std::string(kTests) + "test_os.yaml", [](const std::string& agent, const YAML::Node& test,
                                                      useragent::UapResult& r) {
    parser().parse_os(agent, r);
    for (auto [key, got] : {std::pair<const char*, std::string*>{"family", &r.os_family}, {"major", &r.os_major},
                            {"minor", &r.os_minor}, {"patch", &r.os_patch}, {"patch_minor", &r.os_patch_minor}})
      if (expected(test, key) != *got) return std::string(key) + " `" + *got + "` != `" + expected(test, key) + "`";
    return std::string();
  }, total);
}

TEST(UseragentUapData, DeviceCases) {
  size_t total = 0;
  run_cases(std::string(kTests) + "test_device.yaml", [](const std::string& agent, const YAML::Node& test,
                                                          useragent::UapResult& r) {
    parser().parse_device(agent, r);
    for (auto [key, got] : {std::pair<const char*, std::string*>{"family", &r.device_family},
                            {"brand", &r.device_brand}, {"model", &r.device_model}})
      if (expected(test, key) != *got) return std::string(key) + " `" + *got + "` != `" + expected(test, key) + "`";
    return std::string();
  }, total);
}

// A measurement, printed (not asserted): uncached parses per second.
TEST(UseragentUapData, ParseThroughput) {
  const YAML::Node root = YAML::LoadFile(std::string(kTests) + "test_ua.yaml");
  std::vector<std::string> agents;
  for (const YAML::Node& test : root["test_cases"]) agents.push_back(test["user_agent_string"].as<std::string>());
  ASSERT_FALSE(agents.empty());
  auto measure = [&](const useragent::UapParser& p) {
    useragent::UapResult r;
    const auto start = std::chrono::steady_clock::now();
    size_t n = 0;
    for (int round = 0; round < 2; ++round)
      for (const auto& agent : agents) p.parse(agent, r), ++n;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::pair<double, std::string>(double(n) / seconds, r.ua_family);
  };
  const auto [rate, last] = measure(parser());
  std::printf("[ measure  ] uap parse (UA+OS+device), uncached: %.0f agents/s on one thread\n", rate);
  EXPECT_EQ(last, parser().regex_count() > 0 ? last : std::string("?"));
  EXPECT_GT(rate, 0.0);
}

}  // namespace
}  // namespace sluice
