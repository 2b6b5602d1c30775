// The file output through the real binary: generator -> file, with sprintf paths and gzip.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "test_support.h"

namespace sluice {
namespace {

test::CommandResult run_sluice(const test::TempDir& dir, const std::string& config) {
  return test::run_command({test::sluice_binary(), "--path.data", dir.file("data"), "-e", config});
}

std::string gunzip_file(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) return "<cannot open>";
  std::string out;
  char buffer[4096];
  int n;
  while ((n = gzread(file, buffer, sizeof buffer)) > 0) out.append(buffer, size_t(n));
  gzclose(file);
  return out;
}

TEST(FileOutputIntegrationTest, GeneratorToFileWritesEveryEvent) {
  test::TempDir dir;
  std::string path = dir.file("out/events.log");
  auto result = run_sluice(dir, "input { generator { count => 500 } } output { file { path => \"" + path + "\" } }");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::vector<std::string> lines = test::read_lines(path);
  ASSERT_EQ(lines.size(), 500u);
  for (const std::string& line : lines) {
    ASSERT_EQ(line.front(), '{') << line;
    ASSERT_NE(line.find("\"message\":\"Hello world!\""), std::string::npos) << line;
  }
}

// Four workers append to one file at once (outside the output's lock): every line must arrive
// whole and exactly once, never torn by another worker's write.
TEST(FileOutputIntegrationTest, WorkersAppendingAtOnceNeverTearLines) {
  test::TempDir dir;
  std::string path = dir.file("out/events.log");
  const std::string payload(300, 'x');
  auto result = test::run_command({test::sluice_binary(), "--path.data", dir.file("data"), "-w", "4", "-b", "50", "-e",
                                   "input { generator { count => 8000 lines => [\"" + payload + "\"] } } "
                                   "output { file { path => \"" + path + "\" codec => json_lines } }"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::vector<std::string> lines = test::read_lines(path);
  ASSERT_EQ(lines.size(), 8000u);
  std::vector<int> seen(8000, 0);
  for (const std::string& line : lines) {
    ASSERT_EQ(line.front(), '{') << line.substr(0, 80);
    ASSERT_EQ(line.back(), '}') << line.substr(line.size() > 80 ? line.size() - 80 : 0);
    ASSERT_NE(line.find(payload), std::string::npos) << line.substr(0, 80);
    size_t at = line.find("\"sequence\":");
    ASSERT_NE(at, std::string::npos) << line.substr(0, 80);
    long sequence = std::stol(line.substr(at + 11));
    ASSERT_GE(sequence, 0);
    ASSERT_LT(sequence, 8000);
    ++seen[size_t(sequence)];
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), 8000);
}

TEST(FileOutputIntegrationTest, SprintfPathsSplitEventsAndGzipIsReadable) {
  test::TempDir dir;
  std::string config = "input { generator { lines => [\"alpha\", \"beta\"] count => 10 } } "
                       "output { file { path => \"" +
                       dir.path().string() + "/by-message/%{message}-%{+YYYY}.log.gz\" gzip => true } }";
  auto result = run_sluice(dir, config);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir.file("by-message")))
    files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].rfind("alpha-", 0), 0u) << files[0];
  EXPECT_EQ(files[1].rfind("beta-", 0), 0u) << files[1];
  std::string alpha = gunzip_file(dir.file("by-message/" + files[0]));
  EXPECT_EQ(std::count(alpha.begin(), alpha.end(), '\n'), 10) << alpha;
  EXPECT_EQ(alpha.find("beta"), std::string::npos);
}

TEST(FileOutputIntegrationTest, MutateAndCloneFeedTheFile) {
  test::TempDir dir;
  std::string path = dir.file("mutated.log");
  std::string config =
      "input { generator { count => 3 message => \"a,b\" } } "
      "filter { mutate { split => { \"message\" => \",\" } add_field => { \"stage\" => \"one\" } } "
      "clone { clones => [\"copy\"] ecs_compatibility => disabled } } "
      "output { file { path => \"" +
      path + "\" codec => line { format => \"%{type} %{[message][1]} %{stage}\" } } }";
  auto result = run_sluice(dir, config);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::vector<std::string> lines = test::read_lines(path);
  std::sort(lines.begin(), lines.end());
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "%{type} b one");  // originals have no type
  EXPECT_EQ(lines[5], "copy b one");
}

}  // namespace
}  // namespace sluice
