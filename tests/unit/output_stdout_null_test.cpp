// The stdout output (with fd 1 redirected to a file) and the null output.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "core/event_pool.h"
#include "runtime/options.h"
#include "runtime/registry.h"
#include "test_support.h"

namespace sluice {
namespace {

std::unique_ptr<Output> make_output(const std::string& block) {
  config::PipelineConfig config = config::parse_config("output { " + block + " }", "test.conf");
  const config::PluginBlock& plugin = *config.outputs.at(0).plugin;
  const PluginEntry* entry = Registry::instance().find(PluginKind::Output, plugin.name);
  if (!entry) throw std::runtime_error("no output " + plugin.name);
  Options options = Options::validate(plugin, entry->schema);
  static PipelineSettings settings;
  PluginContext context;
  context.id = plugin.name + "_test";
  context.settings = &settings;
  return entry->output(options, context);
}

// Points fd 1 at a file for its lifetime.
class StdoutCapture {
 public:
  explicit StdoutCapture(const std::string& path) {
    std::fflush(stdout);
    saved_ = ::dup(STDOUT_FILENO);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::close(fd);
  }
  ~StdoutCapture() {
    std::fflush(stdout);
    ::dup2(saved_, STDOUT_FILENO);
    ::close(saved_);
  }

 private:
  int saved_ = -1;
};

std::vector<Event*> make_events(int n) {
  std::vector<Event*> events;
  for (int i = 0; i < n; ++i) {
    Event* event = new_event();
    event->init_with_message("line " + std::to_string(i), Timestamp::from_seconds(1714564800));
    events.push_back(event);
  }
  return events;
}

void free_events(std::vector<Event*>& events) {
  for (Event* event : events) free_event(event);
  events.clear();
}

TEST(StdoutOutputTest, WritesTheBatchBeforeWriteReturns) {
  test::TempDir dir;
  std::string path = dir.file("stdout.txt");
  auto output = make_output("stdout { codec => json_lines }");
  std::vector<Event*> events = make_events(3);
  {
    StdoutCapture capture(path);
    output->write(events);
    std::vector<std::string> lines = test::read_lines(path);  // still captured: no flush needed
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_NE(lines[2].find("\"message\":\"line 2\""), std::string::npos) << lines[2];
  }
  free_events(events);
}

TEST(StdoutOutputTest, DefaultCodecIsRubydebug) {
  test::TempDir dir;
  std::string path = dir.file("stdout.txt");
  auto output = make_output("stdout { }");
  std::vector<Event*> events = make_events(1);
  {
    StdoutCapture capture(path);
    output->write(events);
  }
  std::string text = test::read_file(path);
  EXPECT_NE(text.find("\"message\""), std::string::npos) << text;
  EXPECT_NE(text.find("=>"), std::string::npos) << text;
  EXPECT_NE(text.find("line 0"), std::string::npos) << text;
  free_events(events);
}

TEST(NullOutputTest, DiscardsAndIsThreadSafe) {
  auto output = make_output("null { }");
  EXPECT_TRUE(output->thread_safe());
  std::vector<Event*> events = make_events(2);
  output->write(events);
  EXPECT_EQ(events[0]->get(FieldRef::of("message"))->as_string(), "line 0");  // untouched
  free_events(events);
}

}  // namespace
}  // namespace sluice
