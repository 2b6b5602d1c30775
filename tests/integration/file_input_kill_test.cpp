// THE KILL TEST: a large file read by the file input into a json_lines file, sluice killed with
// SIGKILL in the middle, then restarted with the same sincedb. Every line must arrive at least
// once, and the only duplicates are lines of the last unconfirmed batches. A clean SIGTERM run
// then saves the sincedb so that a third start emits nothing.
#include <gtest/gtest.h>
#include <signal.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"
#include "runtime/plugin.h"
#include "plugins/inputs/file/sincedb.h"
#include "test_support.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kLines = 2'000'000;
constexpr int kWorkers = 2;
constexpr int kBatchSize = 125;

// Counts, per line number, how often it appears in a json_lines output (a torn last line is skipped).
void count_numbers(const std::string& path, std::vector<uint8_t>& seen, size_t* events) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    Value event;
    if (!json_parse(line, event) || !event.is_object()) continue;
    const Value* message = event.as_object().find("message");
    if (!message || !message->is_string()) continue;
    const std::string& text = message->as_string();  // "n=<number> payload"
    if (text.size() < 3 || text.compare(0, 2, "n=") != 0) continue;
    int number = -1;
    auto [end, ec] = std::from_chars(text.data() + 2, text.data() + text.size(), number);
    if (ec != std::errc() || number < 0 || number >= kLines) continue;
    if (seen[size_t(number)] < 255) ++seen[size_t(number)];
    ++*events;
  }
}

std::optional<uint64_t> sincedb_position(const std::string& sincedb, const std::string& path) {
  std::vector<file_input::SincedbEntry> entries;
  std::string error;
  if (!file_input::read_sincedb_file(sincedb, entries, &error)) return std::nullopt;
  for (auto& e : entries)
    if (e.path == path) return e.position;
  return std::nullopt;
}

TEST(FileInputKill, KillMinus9ThenRestartLosesNothingAndDuplicatesLittle) {
  test::TempDir dir;
  std::string input = dir.file("big.log");
  {
    std::string text;
    text.reserve(size_t(kLines) * 40);
    for (int i = 0; i < kLines; ++i) {
      text += "n=";
      text += std::to_string(i);
      text += " some payload to make the line longer\n";
    }
    test::write_file(input, text);
  }
  const uint64_t input_size = fs::file_size(input);
  std::string sincedb = dir.file("sincedb");
  auto config_for = [&](const std::string& out) {
    std::string path = out + ".conf";
    test::write_file(path, "input { file {\n"
                           "  path => \"" + input + "\"\n"
                           "  start_position => beginning\n"
                           "  stat_interval => \"100 ms\"\n"
                           "  sincedb_path => \"" + sincedb + "\"\n"
                           "  sincedb_write_interval => 0\n"
                           "} }\n"
                           "output { file { path => \"" + out + "\" codec => json_lines } }\n");
    return path;
  };
  auto args = [&](const std::string& config) {
    return std::vector<std::string>{test::sluice_binary(), "-f",  config,        "--path.data", dir.file("data"),
                                    "-w", std::to_string(kWorkers), "-b", std::to_string(kBatchSize),
                                    "--api.enabled", "false", "--log.level", "warn"};
  };

  // Run 1: killed with SIGKILL somewhere in the middle.
  std::string out1 = dir.file("out1.json");
  {
    test::Child sluice(args(config_for(out1)), "", dir.file("err1.txt"));
    // The sincedb moves once lines are confirmed; kill after a good part but well before the end.
    bool midway = test::wait_until(
        [&] {
          auto pos = sincedb_position(sincedb, input);
          return pos && *pos > input_size / 5;
        },
        120s);
    ASSERT_TRUE(midway) << test::read_file(dir.file("err1.txt"));
    sluice.signal(SIGKILL);
    ASSERT_TRUE(sluice.wait(10s).has_value());
  }
  auto killed_at = sincedb_position(sincedb, input);
  ASSERT_TRUE(killed_at.has_value());

  // Run 2: same sincedb; runs until every byte is confirmed, then a clean SIGTERM.
  std::string out2 = dir.file("out2.json");
  {
    test::Child sluice(args(config_for(out2)), "", dir.file("err2.txt"));
    bool done = test::wait_until(
        [&] {
          auto pos = sincedb_position(sincedb, input);
          return pos && *pos == input_size;
        },
        240s);
    ASSERT_TRUE(done) << test::read_file(dir.file("err2.txt"));
    sluice.signal(SIGTERM);
    auto code = sluice.wait(60s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << test::read_file(dir.file("err2.txt"));
  }
  EXPECT_EQ(sincedb_position(sincedb, input), input_size);

  std::vector<uint8_t> seen(size_t(kLines), 0);
  size_t events1 = 0, events2 = 0;
  count_numbers(out1, seen, &events1);
  count_numbers(out2, seen, &events2);
  size_t missing = 0, duplicated = 0;
  std::string duplicate_ranges;  // for the failure message: where the duplicates are
  int range_start = -1, ranges = 0;
  for (int i = 0; i <= kLines; ++i) {
    uint8_t count = i < kLines ? seen[size_t(i)] : 0;
    if (i < kLines && count == 0) ++missing;
    if (count > 1) duplicated += count - 1;
    if (count > 1 && range_start < 0) range_start = i;
    if (count <= 1 && range_start >= 0) {
      if (ranges++ < 8) duplicate_ranges += " [" + std::to_string(range_start) + ", " + std::to_string(i) + ")";
      range_start = -1;
    }
  }
  EXPECT_EQ(missing, 0u) << "lines lost across kill -9";
  EXPECT_GT(events1, 0u);
  EXPECT_LT(events1, size_t(kLines)) << "the kill came after the end: the test proved nothing";
  // Duplicates: only what was written but not yet confirmed in the sincedb when killed: at most
  // the file input's in-flight window (twice the queue and a batch per worker), plus what the
  // last acknowledgements confirmed before they reached the sincedb.
  const size_t queue = PipelineSettings::default_queue_max_events(kWorkers, kBatchSize);
  const size_t window = 2 * (queue + size_t(kWorkers) * kBatchSize);
  const size_t bound = window + size_t(kWorkers) * kBatchSize * 16;
  EXPECT_LE(duplicated, bound) << "run 1 wrote " << events1 << " events, run 2 " << events2;
  RecordProperty("duplicates", int(duplicated));
  std::cerr << "kill test: run 1 wrote " << events1 << " events, run 2 " << events2 << ", duplicates " << duplicated
            << " (bound " << bound << ") in " << ranges << " range(s):" << duplicate_ranges
            << "; killed with " << *killed_at << " of " << input_size << " bytes confirmed\n";

  // Run 3: everything is confirmed; nothing new comes out.
  std::string out3 = dir.file("out3.json");
  {
    test::Child sluice(args(config_for(out3)), "", dir.file("err3.txt"));
    std::this_thread::sleep_for(3s);
    sluice.signal(SIGTERM);
    auto code = sluice.wait(60s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0);
  }
  std::error_code ec;
  EXPECT_TRUE(!fs::exists(out3) || fs::file_size(out3, ec) == 0) << "the third run emitted events again";
}

}  // namespace
}  // namespace sluice
