// The sluice binary: flags, exit codes, -t, -e, pipelines.yml, settings and SIGTERM.
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.h"

namespace sluice {
namespace {

using test::run_command;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

size_t count_containing(const std::vector<std::string>& lines, const std::string& needle) {
  size_t n = 0;
  for (const auto& l : lines)
    if (l.find(needle) != std::string::npos) ++n;
  return n;
}

// Flags every run in a test gets: its own data dir, no monitoring port.
std::vector<std::string> base_argv(const test::TempDir& dir) {
  return {test::sluice_binary(), "--path.data", dir.file("data"), "--api.enabled", "false"};
}

TEST(Cli, VersionPrintsNameAndVersion) {
  auto r = run_command({test::sluice_binary(), "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, std::string("sluice ") + SLUICE_VERSION + "\n");
}

TEST(Cli, HelpListsLogstashFlagsAndExitCodes) {
  auto r = run_command({test::sluice_binary(), "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"-f,--path.config", "-e,--config.string", "-t,--config.test_and_exit", "--path.settings",
                           "-w,--pipeline.workers", "-b,--pipeline.batch.size", "-u,--pipeline.batch.delay",
                           "--log.level", "--api.http.port", "Exit codes", "2  usage error"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag << "\n" << r.out;
}

TEST(Cli, UsageErrorsExitTwo) {
  auto unknown = run_command({test::sluice_binary(), "--no-such-flag"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("--no-such-flag"), std::string::npos) << unknown.err;
  EXPECT_EQ(run_command({test::sluice_binary(), "-w", "0", "-e", ""}).exit_code, 2);
  EXPECT_EQ(run_command({test::sluice_binary(), "--log.level", "loud", "-e", ""}).exit_code, 2);
  EXPECT_EQ(run_command({test::sluice_binary(), "--api.http.port", "http", "-e", ""}).exit_code, 2);
  EXPECT_EQ(run_command({test::sluice_binary(), "--api.enabled", "maybe", "-e", ""}).exit_code, 2);
  EXPECT_EQ(run_command({test::sluice_binary(), "-f"}).exit_code, 2);
}

TEST(Cli, NoConfigGivesLogstashsMessage) {
  auto r = run_command({test::sluice_binary()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("No configuration file was specified. Perhaps you forgot to provide the '-f yourlogstash.conf' flag?"),
            std::string::npos)
      << r.err;
}

TEST(Cli, ConfigFileAndStringTogetherIsAnError) {
  test::TempDir dir;
  test::write_file(dir.file("a.conf"), "input { generator { count => 1 } } output { null {} }\n");
  auto r = run_command({test::sluice_binary(), "-f", dir.file("a.conf"), "-e", "output { null {} }"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("can't be used simultaneously"), std::string::npos) << r.err;
}

TEST(Cli, TestAndExitReportsConfigurationOk) {
  test::TempDir dir;
  test::write_file(dir.file("ok.conf"),
                   "input { generator { count => 3 } }\n"
                   "filter { mutate { add_field => { \"x\" => \"y\" } } }\n"
                   "output { stdout { codec => json_lines } }\n");
  auto r = run_command({test::sluice_binary(), "-t", "-f", dir.file("ok.conf")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Configuration OK"), std::string::npos) << r.out;
}

TEST(Cli, TestAndExitReportsSyntaxErrorWithPosition) {
  test::TempDir dir;
  std::string file = dir.file("bad.conf");
  test::write_file(file,
                   "input { generator { count => 3 } }\n"
                   "filter {\n"
                   "  mutate { add_field => { \"x\" \"y\" } }\n"
                   "}\n"
                   "output { null {} }\n");
  auto r = run_command({test::sluice_binary(), "-t", "-f", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.find("Configuration OK"), std::string::npos);
  EXPECT_NE(r.err.find(file + ":3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("error"), std::string::npos) << r.err;
}

TEST(Cli, TestAndExitReportsEveryBadPluginOfEveryPipeline) {
  test::TempDir dir;
  test::write_file(dir.file("pipelines.yml"),
                   "- pipeline.id: one\n"
                   "  config.string: \"input { generator { count => 1 } } output { nosuchoutput {} }\"\n"
                   "- pipeline.id: two\n"
                   "  config.string: \"input { generator { cuont => 1 } } output { null {} }\"\n");
  auto r = run_command({test::sluice_binary(), "-t", "--path.settings", dir.path().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nosuchoutput"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cuont"), std::string::npos) << r.err;
}

TEST(Cli, ConfigStringRunsGeneratorToStdout) {
  test::TempDir dir;
  auto argv = base_argv(dir);
  argv.insert(argv.end(), {"-e", "input { generator { count => 3 message => \"hello\" } } "
                                 "output { stdout { codec => json_lines } }"});
  auto r = run_command(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (const auto& line : lines) {
    EXPECT_EQ(line.front(), '{') << line;
    EXPECT_NE(line.find("\"message\":\"hello\""), std::string::npos) << line;
  }
}

TEST(Cli, ConfigFileWithWorkerAndBatchFlags) {
  test::TempDir dir;
  test::write_file(dir.file("p.conf"),
                   "input { generator { count => 50 message => \"m\" } }\noutput { stdout { codec => json_lines } }\n");
  auto argv = base_argv(dir);
  argv.insert(argv.end(), {"-f", dir.file("p.conf"), "-w", "2", "-b", "7", "-u", "1", "--log.level", "warn"});
  auto r = run_command(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines_of(r.out).size(), 50u);
  EXPECT_EQ(r.err.find("[INFO "), std::string::npos) << "log.level warn hides info lines:\n" << r.err;
}

TEST(Cli, PipelinesYmlRunsEveryPipeline) {
  test::TempDir dir;
  test::write_file(dir.file("sluice.yml"), "pipeline.batch.size: 10\napi.enabled: false\n");
  test::write_file(dir.file("b.conf"),
                   "input { generator { count => 3 message => \"from-b\" } }\noutput { stdout { codec => json_lines } }\n");
  test::write_file(dir.file("pipelines.yml"),
                   "- pipeline.id: a\n"
                   "  config.string: 'input { generator { count => 2 message => \"from-a\" } } "
                   "output { stdout { codec => json_lines } }'\n"
                   "- pipeline.id: b\n"
                   "  path.config: \"" + dir.file("b.conf") + "\"\n"
                   "  pipeline.workers: 1\n");
  auto r = run_command({test::sluice_binary(), "--path.settings", dir.path().string(), "--path.data", dir.file("data")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto lines = lines_of(r.out);
  EXPECT_EQ(count_containing(lines, "from-a"), 2u) << r.out;
  EXPECT_EQ(count_containing(lines, "from-b"), 3u) << r.out;
  EXPECT_EQ(lines.size(), 5u) << r.out;
}

TEST(Cli, CommandLineConfigIgnoresPipelinesYmlWithWarning) {
  test::TempDir dir;
  test::write_file(dir.file("pipelines.yml"), "- pipeline.id: other\n  config.string: 'output { nosuch {} }'\n");
  auto argv = base_argv(dir);
  argv.insert(argv.end(), {"--path.settings", dir.path().string(), "-e",
                           "input { generator { count => 1 message => \"solo\" } } output { stdout { codec => json_lines } }"});
  auto r = run_command(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_containing(lines_of(r.out), "solo"), 1u) << r.out;
  EXPECT_NE(r.err.find("Ignoring the 'pipelines.yml' file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[WARN ]"), std::string::npos) << r.err;
}

TEST(Cli, BadSettingsFileIsAnErrorWithPosition) {
  test::TempDir dir;
  test::write_file(dir.file("sluice.yml"), "pipeline.workers: 2\npipeline.batch.size: many\n");
  auto argv = base_argv(dir);
  argv.insert(argv.end(), {"--path.settings", dir.path().string(), "-e", "output { null {} }"});
  auto r = run_command(argv);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(dir.file("sluice.yml") + ":2:22"), std::string::npos) << r.err;
}

TEST(Cli, DuplicatePipelineIdsAreAnError) {
  test::TempDir dir;
  test::write_file(dir.file("pipelines.yml"),
                   "- pipeline.id: x\n  config.string: 'output { null {} }'\n"
                   "- pipeline.id: x\n  config.string: 'output { null {} }'\n");
  auto r = run_command({test::sluice_binary(), "--path.settings", dir.path().string(), "--path.data", dir.file("data")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("duplicate pipeline.id `x`"), std::string::npos) << r.err;
}

TEST(Cli, InvalidConfigAtStartupExitsOne) {
  test::TempDir dir;
  auto argv = base_argv(dir);
  argv.insert(argv.end(), {"-e", "input { generator { count => 1 } } output { nosuchoutput {} }"});
  auto r = run_command(argv);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nosuchoutput"), std::string::npos) << r.err;
}

TEST(Cli, SigtermDrainsARunningPipelineAndExitsZero) {
  test::TempDir dir;
  int port = test::free_port();
  // An endless generator: only a signal ends this process.
  test::Child child({test::sluice_binary(), "--path.data", dir.file("data"), "--api.http.port", std::to_string(port),
                     "-e", "input { generator { } } output { null {} }"},
                    dir.file("out.log"), dir.file("err.log"));
  ASSERT_TRUE(test::wait_until([&] { return test::port_open(port) || !child.running(); }, std::chrono::seconds(30)))
      << test::read_file(dir.file("err.log"));
  ASSERT_TRUE(child.running()) << test::read_file(dir.file("err.log"));
  child.signal(SIGTERM);
  auto code = child.wait(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value()) << "still running 30 s after SIGTERM";
  EXPECT_EQ(*code, 0) << test::read_file(dir.file("err.log"));
  EXPECT_NE(test::read_file(dir.file("err.log")).find("SIGTERM received. Shutting down."), std::string::npos);
}

TEST(Cli, SigintDrainsToo) {
  test::TempDir dir;
  int port = test::free_port();
  test::Child child({test::sluice_binary(), "--path.data", dir.file("data"), "--api.http.port", std::to_string(port),
                     "-e", "input { generator { } } output { null {} }"},
                    "", dir.file("err.log"));
  ASSERT_TRUE(test::wait_until([&] { return test::port_open(port) || !child.running(); }, std::chrono::seconds(30)));
  ASSERT_TRUE(child.running()) << test::read_file(dir.file("err.log"));
  child.signal(SIGINT);
  auto code = child.wait(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << test::read_file(dir.file("err.log"));
}

TEST(Cli, SecondSignalExitsAtOnceWhenDrainingIsStuck) {
  test::TempDir dir;
  int port = test::free_port();
  // stdout is a fifo nobody reads: once its buffer is full the stdout output blocks, so the
  // pipeline cannot drain and only the second signal ends the process.
  std::string fifo = dir.file("stdout.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  test::Child child({test::sluice_binary(), "--path.data", dir.file("data"), "--api.http.port", std::to_string(port),
                     "-e", "input { generator { } } output { stdout { codec => json_lines } }"},
                    fifo, dir.file("err.log"));
  ASSERT_TRUE(test::wait_until([&] { return test::port_open(port) || !child.running(); }, std::chrono::seconds(30)));
  ASSERT_TRUE(child.running()) << test::read_file(dir.file("err.log"));
  int capacity = fcntl(reader, F_GETPIPE_SZ);
  ASSERT_GT(capacity, 0);
  ASSERT_TRUE(test::wait_until(
      [&] {
        int buffered = 0;
        return ioctl(reader, FIONREAD, &buffered) == 0 && buffered > capacity - 4096;
      },
      std::chrono::seconds(30)))
      << "stdout never filled its pipe";
  child.signal(SIGTERM);
  ASSERT_TRUE(test::wait_until(
      [&] { return test::read_file(dir.file("err.log")).find("Shutting down") != std::string::npos; },
      std::chrono::seconds(30)));
  EXPECT_FALSE(child.wait(std::chrono::milliseconds(300)).has_value()) << "drained although stdout is blocked";
  child.signal(SIGINT);
  auto code = child.wait(std::chrono::seconds(30));
  close(reader);
  ASSERT_TRUE(code.has_value()) << "the second signal did not end the process";
  EXPECT_EQ(*code, 130) << test::read_file(dir.file("err.log"));
  EXPECT_NE(test::read_file(dir.file("err.log")).find("terminating immediately"), std::string::npos);
}

TEST(Cli, NodeIdPersistsInPathData) {
  test::TempDir dir;
  auto argv = base_argv(dir);
  argv.insert(argv.end(), {"-e", "input { generator { count => 1 } } output { null {} }"});
  ASSERT_EQ(run_command(argv).exit_code, 0);
  std::string first = test::read_file(dir.file("data/uuid"));
  EXPECT_EQ(first.size(), 36u) << first;
  ASSERT_EQ(run_command(argv).exit_code, 0);
  EXPECT_EQ(test::read_file(dir.file("data/uuid")), first);
}

}  // namespace
}  // namespace sluice
