// The file input through the real binary: file input -> file output (json_lines).
#include <gtest/gtest.h>

#include <algorithm>
#include <signal.h>
#include <unistd.h>

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

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string numbered_lines(int from, int to, const std::string& prefix) {
  std::string out;
  for (int i = from; i < to; ++i) out += prefix + std::to_string(i) + "\n";
  return out;
}

void append(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << text;
}

// The `message` of every complete JSON line of a json_lines file.
std::vector<std::string> output_messages(const std::string& path, std::vector<Value>* events = nullptr) {
  std::vector<std::string> messages;
  for (const std::string& line : test::read_lines(path)) {
    Value event;
    if (!json_parse(line, event) || !event.is_object()) continue;
    const Value* message = event.as_object().find("message");
    if (message && message->is_string()) messages.push_back(message->as_string());
    if (events) events->push_back(event);
  }
  return messages;
}

size_t count_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  size_t n = 0;
  std::string line;
  while (std::getline(in, line)) ++n;
  return n;
}

class FileInputCli : public ::testing::Test {
 protected:
  std::vector<std::string> sluice_args(const std::string& config_path) {
    return {test::sluice_binary(), "-f",  config_path, "--path.data", dir_.file("data"),
            "-w",                  "2",   "-b",        "125",         "--api.enabled",
            "false",               "--log.level", "warn"};
  }
  std::string write_config(const std::string& name, const std::string& text) {
    std::string path = dir_.file(name);
    test::write_file(path, text);
    return path;
  }
  // A read-mode job: `in` (file input options `input_options` added) -> `filters` -> json_lines file `out`.
  std::string read_job_config(const std::string& name, const std::string& in, const std::string& out,
                              const std::string& input_options = "", const std::string& filters = "") {
    return write_config(name, "input { file { path => \"" + in + "\" mode => read exit_after_read => true " +
                                  input_options + " file_completed_action => log file_completed_log_path => \"" +
                                  dir_.file(name + ".completed") + "\" sincedb_path => \"" +
                                  dir_.file(name + ".sincedb") + "\" } }\n"
                                  "filter { " + filters + " }\n"
                                  "output { file { path => \"" + out + "\" codec => json_lines } }\n");
  }
  test::TempDir dir_;
};

TEST_F(FileInputCli, ReadModeWithExitAfterReadEndsByItselfWithAllLines) {
  fs::create_directories(dir_.path() / "in");
  std::set<std::string> expected;
  for (int f = 0; f < 3; ++f) {
    std::string prefix = "file" + std::to_string(f) + " line ";
    test::write_file((dir_.path() / "in" / ("part" + std::to_string(f) + ".log")).string(),
                     numbered_lines(0, 1000, prefix));
    for (int i = 0; i < 1000; ++i) expected.insert(prefix + std::to_string(i));
  }
  std::string out = dir_.file("out.json");
  std::string completed = dir_.file("completed.txt");
  std::string config = write_config("read.conf", "input { file {\n"
                                                  "  path => \"" + dir_.path().string() + "/in/*.log\"\n"
                                                  "  mode => read\n"
                                                  "  exit_after_read => true\n"
                                                  "  file_completed_action => log\n"
                                                  "  file_completed_log_path => \"" + completed + "\"\n"
                                                  "  sincedb_path => \"" + dir_.file("sincedb") + "\"\n"
                                                  "} }\n"
                                                  "output { file { path => \"" + out + "\" codec => json_lines } }\n");
  auto result = test::run_command(sluice_args(config), "", 60s);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::vector<Value> events;
  auto messages = output_messages(out, &events);
  EXPECT_EQ(messages.size(), 3000u);
  EXPECT_EQ(std::set<std::string>(messages.begin(), messages.end()), expected);
  // Every completed file is logged once; the files stay (action log).
  auto logged = test::read_lines(completed);
  EXPECT_EQ(std::set<std::string>(logged.begin(), logged.end()).size(), 3u);
  EXPECT_EQ(logged.size(), 3u);
  EXPECT_TRUE(fs::exists(dir_.path() / "in" / "part0.log"));
  // ECS (v8 by default): [log][file][path] names the file.
  ASSERT_FALSE(events.empty());
  const Value* log = events[0].as_object().find("log");
  ASSERT_TRUE(log && log->is_object());
  const Value* file = log->as_object().find("file");
  ASSERT_TRUE(file && file->is_object());
  const Value* path = file->as_object().find("path");
  ASSERT_TRUE(path && path->is_string());
  EXPECT_EQ(path->as_string().rfind(dir_.path().string() + "/in/part", 0), 0u);
}

// One worker keeps the file's order (pipeline.ordered auto) while it takes each batch through
// in chunks (a file output and per-event filters allow them: plan.h): every line once, in order.
TEST_F(FileInputCli, OneWorkerWritesEveryLineOnceInTheFilesOrder) {
  fs::create_directories(dir_.path() / "in");
  test::write_file((dir_.path() / "in" / "big.log").string(), numbered_lines(0, 5000, "line "));
  std::string out = dir_.file("out.json");
  std::string config = read_job_config("ordered.conf", (dir_.path() / "in" / "big.log").string(), out, "",
                                       "mutate { add_field => { \"seen\" => \"yes\" } }");
  auto args = sluice_args(config);
  *(std::find(args.begin(), args.end(), "-w") + 1) = "1";
  auto result = test::run_command(args, "", 60s);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::vector<Value> events;
  auto messages = output_messages(out, &events);
  ASSERT_EQ(messages.size(), 5000u);
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(messages[size_t(i)], "line " + std::to_string(i));
  const Value* seen = events.back().as_object().find("seen");
  ASSERT_TRUE(seen && seen->is_string());
  EXPECT_EQ(seen->as_string(), "yes");
}

// The last lines of a read-mode job do not wait out pipeline.batch.delay (here 10 minutes)
// for a batch to fill: the input tells the workers it has nothing more.
TEST_F(FileInputCli, ReadModeEndsWithoutWaitingOutTheBatchDelay) {
  std::string in = dir_.file("short.log");
  test::write_file(in, numbered_lines(0, 10, "line "));
  std::string out = dir_.file("out.json");
  std::vector<std::string> args = sluice_args(read_job_config("short.conf", in, out));
  args.insert(args.end(), {"-u", "600000"});
  auto started = std::chrono::steady_clock::now();
  auto result = test::run_command(args, "", 120s);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(output_messages(out).size(), 10u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 60s);
}

// Lines are handed to the workers in packs copied with their delimiters between them: a
// two-byte delimiter must still cut every line exactly (packs of many lines, several chunks).
TEST_F(FileInputCli, MultiByteDelimiterSplitsEveryLineOnTheWorkers) {
  std::string in = dir_.file("pipes.log");
  std::string text;
  std::set<std::string> expected;
  for (int i = 0; i < 3000; ++i) {
    std::string line = "entry " + std::to_string(i) + (i % 7 == 0 ? " with | a pipe" : "");
    text += line + "||";
    expected.insert(line);
  }
  test::write_file(in, text);
  std::string out = dir_.file("out.json");
  auto result = test::run_command(sluice_args(read_job_config("pipes.conf", in, out, "delimiter => \"||\"")), "", 60s);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto messages = output_messages(out);
  EXPECT_EQ(messages.size(), 3000u);
  EXPECT_EQ(std::set<std::string>(messages.begin(), messages.end()), expected);
}

TEST_F(FileInputCli, ReadModeDeletesCompletedFilesByDefault) {
  std::string in = dir_.file("delete_me.log");
  test::write_file(in, numbered_lines(0, 10, "x"));
  std::string out = dir_.file("out.json");
  std::string config = write_config("del.conf", "input { file { path => \"" + in +
                                                    "\" mode => read exit_after_read => true "
                                                    "sincedb_path => \"" + dir_.file("sincedb") + "\" } }\n"
                                                    "output { file { path => \"" + out + "\" } }\n");
  auto result = test::run_command(sluice_args(config), "", 60s);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(output_messages(out).size(), 10u);
  EXPECT_FALSE(fs::exists(in));
}

TEST_F(FileInputCli, TailPicksUpAppendedLinesAndNewFiles) {
  fs::create_directories(dir_.path() / "logs");
  std::string a = (dir_.path() / "logs" / "a.log").string();
  test::write_file(a, numbered_lines(0, 100, "a"));
  std::string out = dir_.file("out.json");
  std::string config = write_config("tail.conf", "input { file {\n"
                                                  "  path => [\"" + dir_.path().string() + "/logs/*.log\"]\n"
                                                  "  start_position => beginning\n"
                                                  "  stat_interval => \"100 ms\"\n"
                                                  "  discover_interval => 2\n"
                                                  "  sincedb_path => \"" + dir_.file("sincedb") + "\"\n"
                                                  "} }\n"
                                                  "output { file { path => \"" + out + "\" } }\n");
  test::Child sluice(sluice_args(config), "", dir_.file("stderr.txt"));
  ASSERT_TRUE(test::wait_until([&] { return count_lines(out) >= 100; }, 30s)) << test::read_file(dir_.file("stderr.txt"));
  append(a, numbered_lines(100, 150, "a"));
  ASSERT_TRUE(test::wait_until([&] { return count_lines(out) >= 150; }, 30s));
  test::write_file((dir_.path() / "logs" / "b.log").string(), numbered_lines(0, 30, "b"));
  ASSERT_TRUE(test::wait_until([&] { return count_lines(out) >= 180; }, 30s));
  sluice.signal(SIGTERM);
  auto code = sluice.wait(30s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
  auto messages = output_messages(out);
  std::multiset<std::string> got(messages.begin(), messages.end());
  std::multiset<std::string> expected;
  for (int i = 0; i < 150; ++i) expected.insert("a" + std::to_string(i));
  for (int i = 0; i < 30; ++i) expected.insert("b" + std::to_string(i));
  EXPECT_EQ(got, expected);
}

TEST_F(FileInputCli, RotationByRenameAndByCopytruncateLoseNothing) {
  fs::create_directories(dir_.path() / "logs");
  std::string app = (dir_.path() / "logs" / "app.log").string();
  std::string other = (dir_.path() / "logs" / "other.log").string();
  test::write_file(app, numbered_lines(0, 200, "app "));
  test::write_file(other, numbered_lines(0, 100, "other "));
  std::string out = dir_.file("out.json");
  // Rotated names (app.log.1) do not match the pattern: the input must finish them by itself.
  std::string config = write_config("rotate.conf", "input { file {\n"
                                                    "  path => \"" + dir_.path().string() + "/logs/*.log\"\n"
                                                    "  start_position => beginning\n"
                                                    "  stat_interval => 0.1\n"
                                                    "  discover_interval => 2\n"
                                                    "  sincedb_path => \"" + dir_.file("sincedb") + "\"\n"
                                                    "} }\n"
                                                    "output { file { path => \"" + out + "\" } }\n");
  test::Child sluice(sluice_args(config), "", dir_.file("stderr.txt"));
  ASSERT_TRUE(test::wait_until([&] { return count_lines(out) >= 300; }, 30s)) << test::read_file(dir_.file("stderr.txt"));

  // Rename rotation: the writer appends a little more to the old file after the rename.
  {
    std::ofstream writer(app, std::ios::binary | std::ios::app);
    writer << numbered_lines(200, 250, "app ") << std::flush;
    fs::rename(app, app + ".1");
    writer << numbered_lines(250, 260, "app ") << std::flush;
  }
  test::write_file(app, numbered_lines(260, 300, "app "));
  ASSERT_TRUE(test::wait_until([&] { return count_lines(out) >= 400; }, 30s));

  // Copytruncate rotation of the other file.
  fs::copy_file(other, other + ".1");
  ASSERT_EQ(::truncate(other.c_str(), 0), 0);
  std::this_thread::sleep_for(500ms);
  append(other, numbered_lines(100, 140, "other "));
  ASSERT_TRUE(test::wait_until([&] { return count_lines(out) >= 440; }, 30s));
  std::this_thread::sleep_for(500ms);

  sluice.signal(SIGTERM);
  auto code = sluice.wait(30s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
  auto messages = output_messages(out);
  std::multiset<std::string> got(messages.begin(), messages.end());
  std::multiset<std::string> expected;
  for (int i = 0; i < 300; ++i) expected.insert("app " + std::to_string(i));
  for (int i = 0; i < 140; ++i) expected.insert("other " + std::to_string(i));
  EXPECT_EQ(got, expected);
}

TEST_F(FileInputCli, RelativePathIsAConfigErrorWithPosition) {
  std::string config = write_config("bad.conf", "input {\n  file {\n    path => \"logs/*.log\"\n  }\n}\n"
                                                "output { file { path => \"" + dir_.file("o") + "\" } }\n");
  auto result = test::run_command(sluice_args(config), "", 30s);
  EXPECT_EQ(result.exit_code, 1);
  std::string all = result.out + result.err;
  EXPECT_NE(all.find("File paths must be absolute"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.conf:3:"), std::string::npos) << all;
}

}  // namespace
}  // namespace sluice
