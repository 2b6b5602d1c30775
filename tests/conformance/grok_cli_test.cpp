// The sluice binary runs a Logstash config with grok end to end: the built-in pattern library
// is embedded (no patterns/ directory needed at run time), ECS fields by default, and a
// pattern error is reported at startup with its position.
#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace sluice {
namespace {

TEST(GrokCli, ParsesApacheLinesWithTheEmbeddedLibrary) {
  test::TempDir dir;  // run from a directory without patterns/
  const std::string config =
      "input { stdin { } }\n"
      "filter { grok { match => { \"message\" => \"%{COMBINEDAPACHELOG}\" } } }\n"
      "output { stdout { codec => json_lines } }\n";
  const std::string input =
      "203.0.113.9 - alice [10/Oct/2024:13:55:36 +0000] \"GET /index.html HTTP/1.1\" 200 2326 \"-\" \"curl/8.0\"\n"
      "not an access log line\n";
  auto r = test::run_command({test::sluice_binary(), "-w", "1", "--path.data", dir.path().string(), "-e", config},
                             input, std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"address\":\"203.0.113.9\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"status_code\":200"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"name\":\"alice\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("_grokparsefailure"), std::string::npos) << r.out;
}

TEST(GrokCli, BadPatternStopsStartupWithItsPosition) {
  test::TempDir dir;
  std::string conf = dir.file("bad.conf");
  test::write_file(conf,
                   "input { stdin { } }\n"
                   "filter {\n"
                   "  grok { match => { \"message\" => \"%{NO_SUCH_PATTERN:x}\" } }\n"
                   "}\n"
                   "output { stdout { } }\n");
  // Like Logstash's, `-t` checks options only; the pattern is compiled when the pipeline starts.
  auto r = test::run_command({test::sluice_binary(), "-w", "1", "--path.data", dir.path().string(), "-f", conf}, "",
                             std::chrono::seconds(60));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("bad.conf:3:"), std::string::npos) << r.err << r.out;
  EXPECT_NE((r.err + r.out).find("NO_SUCH_PATTERN"), std::string::npos) << r.err << r.out;
}

}  // namespace
}  // namespace sluice
