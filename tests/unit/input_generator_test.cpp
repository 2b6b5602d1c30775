// The generator and stdin inputs, built through the registry as the runtime builds them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/event_pool.h"
#include "core/json.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;

// Records a copy of every pushed event; refuses (stopping) after `limit` events when set.
class CollectContext final : public InputContext {
 public:
  explicit CollectContext(size_t limit = 0) : limit_(limit) {}
  ~CollectContext() override {
    for (Event* e : events_) free_event(e);
  }
  Event* new_event() override { return sluice::new_event(); }
  bool push(Event* event) override {
    std::lock_guard lock(mutex_);
    events_.push_back(event);
    if (limit_ && events_.size() >= limit_) stop_ = true;
    return !stop_;
  }
  void flush() override { ++flushes_; }
  bool stopping() const override { return stop_; }
  bool wait_for_stop(int) override { return stop_; }

  size_t size() const { return events_.size(); }
  const Event& at(size_t i) const { return *events_[i]; }
  std::string text(size_t i, const char* ref) const {
    const Value* v = events_[i]->get(FieldRef::of(ref));
    return v ? v->to_text() : std::string("<missing>");
  }
  int64_t integer(size_t i, const char* ref) const {
    const Value* v = events_[i]->get(FieldRef::of(ref));
    return v && v->is_int() ? v->as_int() : -1;
  }
  std::atomic<int> flushes_{0};

 private:
  size_t limit_;
  std::mutex mutex_;
  std::vector<Event*> events_;
  std::atomic<bool> stop_{false};
};

struct Built {
  PipelineSettings settings;
  std::unique_ptr<Input> input;
};

config::ConfigValue number(double n) { return cv_number(n); }
config::ConfigValue text(const std::string& s) { return cv_string(s); }
config::ConfigValue codec_block(const std::string& name) {
  config::ConfigValue v;
  v.kind = config::ConfigValue::Kind::Plugin;
  v.plugin = std::make_shared<config::PluginBlock>();
  v.plugin->name = name;
  return v;
}

std::unique_ptr<Built> build(const std::string& name, std::vector<std::pair<std::string, config::ConfigValue>> attrs,
                             const std::string& ecs = "v8") {
  config::PluginBlock block;
  block.name = name;
  block.pos = {"test.conf", 1, 9};
  for (auto& [key, value] : attrs) {
    config::Attribute a;
    a.name = key;
    a.pos = {"test.conf", 2, 3};
    a.value = value;
    block.attributes.push_back(a);
  }
  const PluginEntry* entry = Registry::instance().find(PluginKind::Input, name);
  if (!entry) throw std::runtime_error(name + " input not registered");
  auto built = std::make_unique<Built>();
  built->settings.ecs_compatibility = ecs;
  PluginContext ctx;
  ctx.settings = &built->settings;
  ctx.id = name + "_test";
  built->input = entry->input(Options::validate(block, entry->schema), ctx);
  return built;
}

std::string host_name() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

TEST(InputGenerator, CountAndDefaultsWithoutEcs) {
  auto built = build("generator", {{"count", number(3)}}, "disabled");
  CollectContext ctx;
  built->input->run(ctx);  // finite: returns by itself
  ASSERT_EQ(ctx.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(ctx.text(i, "message"), "Hello world!");
    EXPECT_EQ(ctx.text(i, "host"), host_name());
    EXPECT_EQ(ctx.integer(i, "sequence"), int64_t(i));
    EXPECT_EQ(ctx.text(i, "@version"), "1");
    EXPECT_TRUE(ctx.at(i).fields().contains("@timestamp"));
    EXPECT_EQ(ctx.at(i).ack_token(), nullptr);  // nothing to acknowledge
  }
}

TEST(InputGenerator, LinesInTurnWithEcsFields) {
  config::ConfigValue lines = cv_array({"first", "second", "third"});
  auto built = build("generator", {{"lines", lines}, {"count", number(2)}}, "v8");
  CollectContext ctx;
  built->input->run(ctx);
  ASSERT_EQ(ctx.size(), 6u);
  const char* expected[] = {"first", "second", "third", "first", "second", "third"};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(ctx.text(i, "message"), expected[i]);
    EXPECT_EQ(ctx.integer(i, "[event][sequence]"), int64_t(i / 3));  // one sequence per round of lines
    EXPECT_EQ(ctx.text(i, "[host][name]"), host_name());
    EXPECT_FALSE(ctx.at(i).fields().contains("sequence"));
  }
}

TEST(InputGenerator, MessageOption) {
  auto built = build("generator", {{"count", number(2)}, {"message", text("custom text")}}, "disabled");
  CollectContext ctx;
  built->input->run(ctx);
  ASSERT_EQ(ctx.size(), 2u);
  EXPECT_EQ(ctx.text(1, "message"), "custom text");
  EXPECT_GT(ctx.flushes_.load(), 0);
}

TEST(InputGenerator, ThreadsRunIndependentCopies) {
  auto built = build("generator", {{"count", number(500)}, {"threads", number(3)}}, "disabled");
  CollectContext ctx;
  built->input->run(ctx);
  ASSERT_EQ(ctx.size(), 1500u);
  std::map<int64_t, int> per_sequence;
  for (size_t i = 0; i < ctx.size(); ++i) ++per_sequence[ctx.integer(i, "sequence")];
  ASSERT_EQ(per_sequence.size(), 500u);
  for (auto& [sequence, n] : per_sequence) EXPECT_EQ(n, 3) << "sequence " << sequence;
}

TEST(InputGenerator, ForeverUntilThePipelineStops) {
  auto built = build("generator", {}, "disabled");  // count 0 = forever
  CollectContext ctx(/*limit=*/20000);
  auto done = std::async(std::launch::async, [&] { built->input->run(ctx); });
  ASSERT_EQ(done.wait_for(10s), std::future_status::ready);
  EXPECT_GE(ctx.size(), 20000u);
  EXPECT_LE(ctx.size(), 20001u);
}

TEST(InputGenerator, StopEndsAnEndlessRun) {
  auto built = build("generator", {}, "disabled");
  CollectContext ctx(/*limit=*/2'000'000);
  auto done = std::async(std::launch::async, [&] { built->input->run(ctx); });
  std::this_thread::sleep_for(20ms);
  built->input->stop();
  ASSERT_EQ(done.wait_for(10s), std::future_status::ready);
  EXPECT_LT(ctx.size(), 2'000'000u);
}

TEST(InputGenerator, JsonCodecDecodesEachLine) {
  auto built = build("generator", {{"count", number(2)}, {"message", text(R"({"user":"ann","n":7})")},
                                   {"codec", codec_block("json")}},
                     "disabled");
  CollectContext ctx;
  built->input->run(ctx);
  ASSERT_EQ(ctx.size(), 2u);
  EXPECT_EQ(ctx.text(0, "user"), "ann");
  EXPECT_EQ(ctx.integer(1, "n"), 7);
  EXPECT_EQ(ctx.integer(1, "sequence"), 1);
}

TEST(InputGenerator, PlainEcsKeepsTheCodecsFields) {
  // The replay fast path must produce what the plain codec produces (ECS: [event][original]).
  auto built = build("generator", {{"count", number(1)}, {"message", text("m")}}, "v8");
  CollectContext ctx;
  built->input->run(ctx);
  ASSERT_EQ(ctx.size(), 1u);
  EXPECT_EQ(ctx.text(0, "[event][original]"), "m");
  EXPECT_EQ(ctx.integer(0, "[event][sequence]"), 0);
}

// ---- stdin ----

// Runs the stdin input with `input` as standard input.
void run_stdin(Input& stdin_input, CollectContext& ctx, const std::string& input) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  int saved = dup(0);
  dup2(fds[0], 0);
  close(fds[0]);
  auto writer = std::async(std::launch::async, [&] {
    ssize_t n = write(fds[1], input.data(), input.size());
    (void)n;
    close(fds[1]);
  });
  auto done = std::async(std::launch::async, [&] { stdin_input.run(ctx); });
  bool finished = done.wait_for(10s) == std::future_status::ready;
  writer.wait();
  dup2(saved, 0);
  close(saved);
  ASSERT_TRUE(finished) << "stdin input did not end at EOF";
}

TEST(InputStdin, LinesUntilEofWithHostName) {
  auto built = build("stdin", {}, "v8");
  CollectContext ctx;
  run_stdin(*built->input, ctx, "one\ntwo\nthree without newline");
  ASSERT_EQ(ctx.size(), 3u);
  EXPECT_EQ(ctx.text(0, "message"), "one");
  EXPECT_EQ(ctx.text(2, "message"), "three without newline");
  EXPECT_EQ(ctx.text(0, "[host][hostname]"), host_name());
}

TEST(InputStdin, LegacyHostFieldAndCodecValuesWin) {
  auto built = build("stdin", {{"codec", codec_block("json_lines")}}, "disabled");
  CollectContext ctx;
  run_stdin(*built->input, ctx, "{\"host\":\"given\",\"x\":1}\n{\"x\":2}\n");
  ASSERT_EQ(ctx.size(), 2u);
  EXPECT_EQ(ctx.text(0, "host"), "given");  // set only when the codec did not
  EXPECT_EQ(ctx.text(1, "host"), host_name());
  EXPECT_EQ(ctx.integer(1, "x"), 2);
}

TEST(InputStdin, LargeInputInManyReads) {
  std::string input;
  for (int i = 0; i < 50000; ++i) input += "row " + std::to_string(i) + "\n";
  auto built = build("stdin", {}, "disabled");
  CollectContext ctx;
  run_stdin(*built->input, ctx, input);
  ASSERT_EQ(ctx.size(), 50000u);
  EXPECT_EQ(ctx.text(49999, "message"), "row 49999");
}

}  // namespace
}  // namespace sluice
