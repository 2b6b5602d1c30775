// translate + cidr reloading their files while events flow through the real binary: a file input
// tailed by sluice, the dictionary and the network list rewritten mid-run, then a broken dictionary.
// Every line must come out exactly once; early lines carry the old values, late lines the new ones,
// and the broken file leaves the last good dictionary in place (seen in the monitoring API).
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"
#include "test_support.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct OutputLine {
  int n = -1;
  std::string label;
  bool internal = false;
};

std::vector<OutputLine> read_output(const std::string& path) {
  std::vector<OutputLine> lines;
  for (const std::string& text : test::read_lines(path)) {
    Value doc;
    if (!json_parse(text, doc) || !doc.is_object()) continue;
    OutputLine line;
    const Object& event = doc.as_object();
    if (const Value* n = event.find("n"); n && n->is_string()) line.n = std::stoi(n->as_string());
    if (const Value* label = event.find("label"); label && label->is_string()) line.label = label->as_string();
    if (const Value* tags = event.find("tags"); tags && tags->is_array()) {
      for (const Value& tag : tags->as_array()) line.internal = line.internal || (tag.is_string() && tag.as_string() == "internal");
    }
    lines.push_back(line);
  }
  return lines;
}

// Replaces a file in one step, as configuration management tools do.
void replace_file(const std::string& path, const std::string& content) {
  test::write_file(path + ".tmp", content);
  fs::rename(path + ".tmp", path);
}

void append_lines(const std::string& path, int from, int to) {
  std::ofstream out(path, std::ios::app | std::ios::binary);
  for (int i = from; i < to; ++i) out << "n=" << i << " ip=10.1.1.1\n";
}

// A filter's counter from the monitoring API (curl: a test package), or -1.
int64_t filter_counter(int port, const std::string& id, const std::string& counter) {
  auto result = test::run_command({"curl", "-s", "--max-time", "5",
                                   "http://127.0.0.1:" + std::to_string(port) + "/_node/stats/pipelines/main"},
                                  "", 10s);
  Value doc;
  if (result.exit_code != 0 || !json_parse(result.out, doc) || !doc.is_object()) return -1;
  const Value* pipelines = doc.as_object().find("pipelines");
  const Value* main = pipelines && pipelines->is_object() ? pipelines->as_object().find("main") : nullptr;
  const Value* plugins = main && main->is_object() ? main->as_object().find("plugins") : nullptr;
  const Value* filters = plugins && plugins->is_object() ? plugins->as_object().find("filters") : nullptr;
  if (!filters || !filters->is_array()) return -1;
  for (const Value& filter : filters->as_array()) {
    if (!filter.is_object()) continue;
    const Value* filter_id = filter.as_object().find("id");
    if (!filter_id || !filter_id->is_string() || filter_id->as_string() != id) continue;
    const Value* value = filter.as_object().find(counter);
    return value && value->is_number() ? int64_t(value->as_number()) : 0;
  }
  return -1;
}

TEST(EnrichmentReload, TranslateAndCidrReloadWhileEventsFlow) {
  test::TempDir dir;
  const std::string in = dir.file("in.log");
  const std::string out = dir.file("out.json");
  const std::string dictionary = dir.file("dict.json");
  const std::string networks = dir.file("nets.txt");
  replace_file(dictionary, R"({"10.1.1.1": "old"})");
  replace_file(networks, "10.0.0.0/8\n");
  test::write_file(in, "");
  append_lines(in, 0, 200);
  const int port = test::free_port();
  const std::string config =
      "input { file { path => \"" + in + "\" start_position => beginning stat_interval => 0.1 "
      "sincedb_path => \"" + dir.file("sincedb") + "\" } }\n"
      "filter {\n"
      "  kv { }\n"
      "  translate { id => \"dict\" source => \"ip\" target => \"label\" dictionary_path => \"" + dictionary +
      "\" refresh_interval => 0.2 fallback => \"none\" }\n"
      "  cidr { id => \"nets\" address => \"%{ip}\" network_path => \"" + networks +
      "\" refresh_interval => 0.2 add_tag => [\"internal\"] }\n"
      "}\n"
      "output { file { path => \"" + out + "\" } }\n";
  test::write_file(dir.file("reload.conf"), config);
  test::Child sluice({test::sluice_binary(), "-f", dir.file("reload.conf"), "--path.data", dir.file("data"),
                      "-w", "2", "--api.http.port", std::to_string(port)},
                     "", dir.file("stderr.txt"));
  auto stderr_text = [&] { return test::read_file(dir.file("stderr.txt")); };

  ASSERT_TRUE(test::wait_until([&] { return read_output(out).size() >= 200; }, 60s)) << stderr_text();

  // New dictionary and network list while lines keep coming.
  replace_file(dictionary, R"({"10.1.1.1": "new"})");
  replace_file(networks, "192.168.0.0/16\n");
  int written = 200;
  auto switched = [&] {
    for (const OutputLine& line : read_output(out)) {
      if (line.label == "new" && !line.internal) return true;
    }
    return false;
  };
  for (int round = 0; round < 300 && !switched(); ++round) {
    append_lines(in, written, written + 20);
    written += 20;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(test::wait_until(switched, 30s)) << stderr_text();

  // A broken dictionary: counted as a failed reload, the last good one stays in use.
  replace_file(dictionary, R"({"10.1.1.1": )");
  ASSERT_TRUE(test::wait_until([&] { return filter_counter(port, "dict", "reload_failures") >= 1; }, 60s))
      << stderr_text();
  const int before_broken = written;
  append_lines(in, written, written + 100);
  written += 100;
  ASSERT_TRUE(test::wait_until([&] { return int(read_output(out).size()) >= written; }, 60s)) << stderr_text();
  EXPECT_GE(filter_counter(port, "dict", "reloads"), 1);
  EXPECT_GE(filter_counter(port, "nets", "reloads"), 1);

  sluice.signal(SIGTERM);
  auto code = sluice.wait(60s);
  ASSERT_TRUE(code.has_value()) << stderr_text();
  EXPECT_EQ(*code, 0) << stderr_text();

  // Every line exactly once; old values first, new values last, the switch happening once.
  std::vector<OutputLine> lines = read_output(out);
  std::map<int, OutputLine> by_n;
  for (const OutputLine& line : lines) {
    EXPECT_TRUE(by_n.emplace(line.n, line).second) << "line " << line.n << " came out twice";
  }
  ASSERT_EQ(int(by_n.size()), written);
  EXPECT_EQ(by_n.begin()->first, 0);
  EXPECT_EQ(by_n.rbegin()->first, written - 1);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(by_n[i].label, "old") << i;
    EXPECT_TRUE(by_n[i].internal) << i;
  }
  for (int i = before_broken; i < written; ++i) {
    EXPECT_EQ(by_n[i].label, "new") << i;  // the broken file changed nothing
    EXPECT_FALSE(by_n[i].internal) << i;
  }
  for (const auto& [n, line] : by_n) EXPECT_TRUE(line.label == "old" || line.label == "new") << n << " " << line.label;
  EXPECT_NE(stderr_text().find("continuing with the previously loaded content"), std::string::npos);
}

}  // namespace
}  // namespace sluice
