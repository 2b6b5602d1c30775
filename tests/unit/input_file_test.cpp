// The file input run in-process against a fake pipeline context that records events and lets
// the test decide when each one is acknowledged (freed).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <zlib.h>

#include "config/parser.h"
#include "core/event_pool.h"
#include "plugins/inputs/file/file_input.h"
#include "runtime/registry.h"
#include "test_support.h"

namespace sluice::file_input {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Decodes each unit into one event with that message (no dependence on the codec plugins).
class UnitCodec final : public Codec {
 public:
  void decode(std::string_view data, EventSink& sink) override {
    Event* event = sluice::new_event();
    event->init_with_message(data, Timestamp::now());
    sink.accept(event);
  }
  void encode(const Event&, std::string&) override {}
  std::unique_ptr<Codec> clone() const override { return std::make_unique<UnitCodec>(); }
};

struct Received {
  std::string message;
  std::string path;       // the path field (ECS or not)
  std::string host;       // the host field
  std::string meta_path;  // [@metadata][path]
};

class FakeContext final : public InputContext {
 public:
  explicit FakeContext(bool auto_ack, bool ecs = false) : auto_ack_(auto_ack), ecs_(ecs) {}
  ~FakeContext() override { ack_all(); }

  Event* new_event() override { return sluice::new_event(); }
  bool push(Event* event) override {
    Received r;
    r.message = text(event, FieldRef::of("message"));
    r.path = text(event, FieldRef::of(ecs_ ? "[log][file][path]" : "path"));
    r.host = text(event, FieldRef::of(ecs_ ? "[host][name]" : "host"));
    r.meta_path = text(event, FieldRef::of("[@metadata][path]"));
    std::lock_guard lock(mutex_);
    received_.push_back(r);
    if (auto_ack_) sluice::free_event(event);
    else held_.push_back(event);
    changed_.notify_all();
    return !stop_;
  }
  void flush() override {}
  bool stopping() const override {
    std::lock_guard lock(mutex_);
    return stop_;
  }
  bool wait_for_stop(int ms) override {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stop_; });
    return stop_;
  }

  void request_stop() {
    std::lock_guard lock(mutex_);
    stop_ = true;
    changed_.notify_all();
  }
  bool wait_count(size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
  }
  size_t count() const {
    std::lock_guard lock(mutex_);
    return received_.size();
  }
  std::vector<Received> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  std::vector<std::string> messages() const {
    std::vector<std::string> out;
    for (auto& r : received()) out.push_back(r.message);
    return out;
  }
  // Acknowledges the held events [from, to) (by push order among held events).
  void ack_range(size_t from, size_t to) {
    std::lock_guard lock(mutex_);
    for (size_t i = from; i < to && i < held_.size(); ++i) {
      sluice::free_event(held_[i]);
      held_[i] = nullptr;
    }
  }
  void ack_all() {
    std::lock_guard lock(mutex_);
    for (Event*& e : held_) {
      sluice::free_event(e);
      e = nullptr;
    }
  }

 private:
  static std::string text(const Event* event, const FieldRef& ref) {
    const Value* v = event->get(ref);
    return v && v->is_string() ? v->as_string() : std::string();
  }

  bool auto_ack_;
  bool ecs_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Received> received_;
  std::vector<Event*> held_;
  bool stop_ = false;
};

// Runs a FileInput on its own thread.
class Running {
 public:
  Running(FileInputConfig cfg, FakeContext& ctx)
      : input_(std::make_unique<FileInput>(std::move(cfg), std::make_unique<UnitCodec>())), ctx_(ctx) {
    done_ = std::async(std::launch::async, [this] { input_->run(ctx_); });
  }
  ~Running() { stop(); }
  // Stops and waits for run() to return; false if it did not within the timeout.
  bool stop(std::chrono::milliseconds timeout = 10s) {
    if (!done_.valid()) return true;
    ctx_.request_stop();
    input_->stop();
    bool ok = done_.wait_for(timeout) == std::future_status::ready;
    if (ok) done_.get();
    return ok;
  }
  bool finished_within(std::chrono::milliseconds timeout) {
    if (!done_.valid()) return true;
    bool ok = done_.wait_for(timeout) == std::future_status::ready;
    if (ok) done_.get();
    return ok;
  }
  FileInput& input() { return *input_; }

 private:
  std::unique_ptr<FileInput> input_;
  FakeContext& ctx_;
  std::future<void> done_;
};

std::string numbered_lines(int from, int to, const std::string& prefix = "line ") {
  std::string out;
  for (int i = from; i < to; ++i) out += prefix + std::to_string(i) + "\n";
  return out;
}

std::vector<std::string> numbered(int from, int to, const std::string& prefix = "line ") {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

void append(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << text;
}

class InputFile : public ::testing::Test {
 protected:
  FileInputConfig config(std::vector<std::string> paths) {
    FileInputConfig cfg;
    cfg.paths = std::move(paths);
    cfg.sincedb_path = dir_.file("sincedb");
    cfg.stat_interval = 0.02;
    cfg.discover_interval = 2;
    cfg.sincedb_write_interval = 0.05;
    cfg.stop_ack_wait = 0.3;
    cfg.host = "testhost";
    cfg.ecs = false;
    return cfg;
  }
  std::optional<uint64_t> position_of(FileInput& input, const std::string& path) {
    for (auto& e : input.positions())
      if (e.path == path) return e.position;
    return std::nullopt;
  }
  std::optional<uint64_t> saved_position(const std::string& path) {
    std::vector<SincedbEntry> entries;
    std::string error;
    if (!read_sincedb_file(dir_.file("sincedb"), entries, &error)) return std::nullopt;
    for (auto& e : entries)
      if (e.path == path) return e.position;
    return std::nullopt;
  }
  // A file of 200 lines named `name`, read in chunks of 10 with an in-flight window of 50 lines.
  FileInputConfig windowed_config(const std::string& name) {
    std::string path = dir_.file(name);
    test::write_file(path, numbered_lines(0, 200));
    FileInputConfig cfg = config({path});
    cfg.start_at_beginning = true;
    cfg.max_chunk_lines = 10;
    cfg.max_in_flight_lines = 50;
    return cfg;
  }
  test::TempDir dir_;
};

TEST_F(InputFile, ReadModeExitAfterReadDeletesOnlyAfterAcks) {
  std::string path = dir_.file("batch.log");
  test::write_file(path, numbered_lines(0, 1000) + "last line without newline");
  FileInputConfig cfg = config({dir_.path().string() + "/*.log"});
  cfg.read_mode = true;
  cfg.exit_after_read = true;
  FakeContext ctx(/*auto_ack=*/false);
  Running run(cfg, ctx);
  ASSERT_TRUE(ctx.wait_count(1001));
  auto expected = numbered(0, 1000);
  expected.push_back("last line without newline");
  EXPECT_EQ(ctx.messages(), expected);
  // Nothing acknowledged yet: the file is kept and the input keeps waiting.
  EXPECT_FALSE(run.finished_within(300ms));
  EXPECT_TRUE(fs::exists(path));
  ctx.ack_all();
  ASSERT_TRUE(run.finished_within(10s)) << "exit_after_read did not end the input";
  EXPECT_FALSE(fs::exists(path));  // file_completed_action => delete (the default)
  auto received = ctx.received();
  EXPECT_EQ(received[0].path, path);
  EXPECT_EQ(received[0].meta_path, path);
  EXPECT_EQ(received[0].host, "testhost");
}

TEST_F(InputFile, ReadModeLogActionKeepsFileAndSavesPosition) {
  std::string path = dir_.file("a.log");
  std::string content = numbered_lines(0, 20);
  test::write_file(path, content);
  FileInputConfig cfg = config({path});
  cfg.read_mode = true;
  cfg.exit_after_read = true;
  cfg.completed_delete = false;
  cfg.completed_log = true;
  cfg.completed_log_path = dir_.file("completed.txt");
  FakeContext ctx(/*auto_ack=*/true);
  {
    Running run(cfg, ctx);
    ASSERT_TRUE(run.finished_within(10s));
  }
  EXPECT_EQ(ctx.messages(), numbered(0, 20));
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(test::read_file(cfg.completed_log_path), path + "\n");
  EXPECT_EQ(saved_position(path), content.size());
  // A second run finds the file done in the sincedb: nothing again, and it ends by itself.
  FakeContext again(true);
  Running second(cfg, again);
  ASSERT_TRUE(second.finished_within(10s));
  EXPECT_EQ(again.count(), 0u);
  EXPECT_EQ(test::read_file(cfg.completed_log_path), path + "\n");
}

TEST_F(InputFile, EcsFieldNames) {
  std::string path = dir_.file("ecs.log");
  test::write_file(path, "hello\n");
  FileInputConfig cfg = config({path});
  cfg.read_mode = true;
  cfg.exit_after_read = true;
  cfg.completed_delete = false;
  cfg.ecs = true;
  FakeContext ctx(true, /*ecs=*/true);
  Running run(cfg, ctx);
  ASSERT_TRUE(run.finished_within(10s));
  auto received = ctx.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].path, path);  // [log][file][path]
  EXPECT_EQ(received[0].host, "testhost");  // [host][name]
}

TEST_F(InputFile, TailStartEndSkipsOldContentThenReadsAppended) {
  std::string path = dir_.file("app.log");
  test::write_file(path, "old 1\nold 2\n");
  FakeContext ctx(true);
  Running run(config({path}), ctx);
  ASSERT_TRUE(test::wait_until([&] { return position_of(run.input(), path).has_value(); }, 5s));
  EXPECT_EQ(position_of(run.input(), path), 12u);
  append(path, "new 1\nnew 2\npartial");
  ASSERT_TRUE(ctx.wait_count(2));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(ctx.messages(), (std::vector<std::string>{"new 1", "new 2"}));  // "partial" waits for its newline
  append(path, " done\n");
  ASSERT_TRUE(ctx.wait_count(3));
  EXPECT_EQ(ctx.messages()[2], "partial done");
}

TEST_F(InputFile, TailDiscoversNewFilesAndReadsThemFromTheStart) {
  FakeContext ctx(true);
  Running run(config({dir_.path().string() + "/*.log"}), ctx);
  std::this_thread::sleep_for(100ms);
  test::write_file(dir_.file("new.log"), numbered_lines(0, 5));
  test::write_file(dir_.file("skip.txt"), "not matched\n");
  ASSERT_TRUE(ctx.wait_count(5));
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(ctx.messages(), numbered(0, 5));
}

TEST_F(InputFile, ExcludedFilesAreNotRead) {
  test::write_file(dir_.file("keep.log"), "keep\n");
  test::write_file(dir_.file("drop.log"), "drop\n");
  FileInputConfig cfg = config({dir_.path().string() + "/*.log"});
  cfg.start_at_beginning = true;
  cfg.exclude = {"drop*"};
  FakeContext ctx(true);
  Running run(cfg, ctx);
  ASSERT_TRUE(ctx.wait_count(1));
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(ctx.messages(), (std::vector<std::string>{"keep"}));
}

TEST_F(InputFile, SincedbAdvancesOnlyOverTheAcknowledgedPrefix) {
  std::string path = dir_.file("acks.log");
  std::string content = numbered_lines(0, 100, "l");  // "l0\n".."l99\n"
  test::write_file(path, content);
  FileInputConfig cfg = config({path});
  cfg.start_at_beginning = true;
  cfg.max_chunk_lines = 10;
  FakeContext ctx(/*auto_ack=*/false);
  Running run(cfg, ctx);
  ASSERT_TRUE(ctx.wait_count(100));
  EXPECT_EQ(position_of(run.input(), path), 0u);
  ctx.ack_range(10, 100);  // every chunk but the first
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(position_of(run.input(), path), 0u) << "advanced past an unacknowledged chunk";
  ctx.ack_range(0, 5);  // half of the first chunk
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(position_of(run.input(), path), 0u);
  ctx.ack_range(5, 10);
  ASSERT_TRUE(test::wait_until([&] { return position_of(run.input(), path) == content.size(); }, 5s));
  ASSERT_TRUE(run.stop());
  EXPECT_EQ(saved_position(path), content.size());
}

// Acknowledges every event as it arrives (from the `acked`-th on) until `total` came, in order.
void acknowledge_as_read(FakeContext& ctx, size_t acked, size_t total) {
  while (ctx.count() < total) {
    size_t now = ctx.count();
    ctx.ack_range(acked, now);
    acked = now;
    ASSERT_TRUE(ctx.wait_count(std::min<size_t>(now + 10, total), 5s)) << "stuck at " << now;
  }
  EXPECT_EQ(ctx.messages(), numbered(0, int(total)));
}

TEST_F(InputFile, ReadingPausesWhileTooManyLinesAreUnacknowledged) {
  FileInputConfig cfg = windowed_config("window.log");
  FakeContext ctx(/*auto_ack=*/false);
  Running run(cfg, ctx);
  ASSERT_TRUE(ctx.wait_count(50));
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(ctx.count(), 50u) << "read past the in-flight window";
  acknowledge_as_read(ctx, 0, 200);
}

// The window counts from the oldest unacknowledged chunk: later chunks being done does not let
// the reader run on while one chunk stalls (a crash would re-read everything past it).
TEST_F(InputFile, OneStalledChunkHoldsTheWindow) {
  FileInputConfig cfg = windowed_config("stalled.log");
  FakeContext ctx(/*auto_ack=*/false);
  Running run(cfg, ctx);
  ASSERT_TRUE(ctx.wait_count(50));
  ctx.ack_range(10, 50);  // every chunk read so far but the first
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(ctx.count(), 50u) << "read on past a stalled chunk";
  ctx.ack_range(0, 10);  // the stalled chunk is done: reading goes on
  acknowledge_as_read(ctx, 50, 200);
}

TEST_F(InputFile, StopSavesOnlyAcknowledgedPositions) {
  std::string path = dir_.file("stop.log");
  test::write_file(path, numbered_lines(0, 100, "l"));
  FileInputConfig cfg = config({path});
  cfg.start_at_beginning = true;
  cfg.max_chunk_lines = 10;
  FakeContext ctx(/*auto_ack=*/false);
  Running run(cfg, ctx);
  ASSERT_TRUE(ctx.wait_count(100));
  ctx.ack_range(0, 30);
  ctx.ack_range(50, 100);  // chunks 5..9 done too, but 3 and 4 are not
  ASSERT_TRUE(run.stop());
  EXPECT_EQ(saved_position(path), numbered_lines(0, 30, "l").size());
}

TEST_F(InputFile, RestartResumesWhereTheSincedbSays) {
  std::string path = dir_.file("resume.log");
  test::write_file(path, numbered_lines(0, 50));
  FileInputConfig cfg = config({path});
  cfg.start_at_beginning = true;
  {
    FakeContext ctx(true);
    Running run(cfg, ctx);
    ASSERT_TRUE(ctx.wait_count(50));
    ASSERT_TRUE(run.stop());
    EXPECT_EQ(ctx.count(), 50u);
  }
  append(path, numbered_lines(50, 60));
  FakeContext ctx(true);
  Running run(cfg, ctx);
  ASSERT_TRUE(ctx.wait_count(10));
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(ctx.messages(), numbered(50, 60));
}

TEST_F(InputFile, SincedbPositionPastTheEndRestartsFromZero) {
  std::string path = dir_.file("replaced.log");
  test::write_file(path, "short\n");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  std::string error;
  ASSERT_TRUE(write_sincedb_file(dir_.file("sincedb"),
                                 {{{uint64_t(st.st_ino), uint64_t(major(st.st_dev)), uint64_t(minor(st.st_dev))},
                                   100000, 1.0, path}},
                                 &error));
  FakeContext ctx(true);
  Running run(config({path}), ctx);
  ASSERT_TRUE(ctx.wait_count(1));
  EXPECT_EQ(ctx.messages(), (std::vector<std::string>{"short"}));
}

TEST_F(InputFile, RotationByRenameLosesNothing) {
  std::string path = dir_.file("app.log");
  test::write_file(path, numbered_lines(0, 100));
  FileInputConfig cfg = config({path});
  cfg.start_at_beginning = true;
  FakeContext ctx(true);
  Running run(cfg, ctx);
  ASSERT_TRUE(ctx.wait_count(100));
  // The writer keeps its descriptor across the rename and writes a little more before reopening.
  {
    std::ofstream writer(path, std::ios::binary | std::ios::app);
    writer << numbered_lines(100, 110) << std::flush;
    fs::rename(path, dir_.file("app.log.1"));
    writer << numbered_lines(110, 115) << std::flush;
  }
  test::write_file(path, numbered_lines(115, 135));
  ASSERT_TRUE(ctx.wait_count(135));
  std::this_thread::sleep_for(200ms);
  auto messages = ctx.messages();
  std::multiset<std::string> got(messages.begin(), messages.end());
  auto expected = numbered(0, 135);
  EXPECT_EQ(got, std::multiset<std::string>(expected.begin(), expected.end()));
}

TEST_F(InputFile, CopytruncateRotationLosesNothing) {
  std::string path = dir_.file("app.log");
  test::write_file(path, numbered_lines(0, 50));
  FileInputConfig cfg = config({path});
  cfg.start_at_beginning = true;
  FakeContext ctx(true);
  Running run(cfg, ctx);
  ASSERT_TRUE(ctx.wait_count(50));
  fs::copy_file(path, dir_.file("app.log.1"));
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  std::this_thread::sleep_for(100ms);  // noticed as a shrink
  append(path, numbered_lines(50, 70));
  ASSERT_TRUE(ctx.wait_count(70));
  std::this_thread::sleep_for(150ms);
  auto expected = numbered(0, 70);
  EXPECT_EQ(ctx.messages(), expected);
}

TEST_F(InputFile, MultiCharacterDelimiter) {
  std::string path = dir_.file("pipes.log");
  test::write_file(path, "a||b|c||d");
  FileInputConfig cfg = config({path});
  cfg.read_mode = true;
  cfg.exit_after_read = true;
  cfg.completed_delete = false;
  cfg.delimiter = "||";
  FakeContext ctx(true);
  Running run(cfg, ctx);
  ASSERT_TRUE(run.finished_within(10s));
  EXPECT_EQ(ctx.messages(), (std::vector<std::string>{"a", "b|c", "d"}));
}

TEST_F(InputFile, IgnoreOlderSkipsOldFilesInReadMode) {
  std::string old_path = dir_.file("old.log");
  std::string new_path = dir_.file("new.log");
  test::write_file(old_path, "old\n");
  test::write_file(new_path, "new\n");
  struct timeval times[2] = {{1000000000, 0}, {1000000000, 0}};  // 2001
  ASSERT_EQ(::utimes(old_path.c_str(), times), 0);
  FileInputConfig cfg = config({dir_.path().string() + "/*.log"});
  cfg.read_mode = true;
  cfg.exit_after_read = true;
  cfg.completed_delete = false;
  cfg.ignore_older = 3600;
  FakeContext ctx(true);
  Running run(cfg, ctx);
  ASSERT_TRUE(run.finished_within(10s));
  EXPECT_EQ(ctx.messages(), (std::vector<std::string>{"new"}));
}

TEST_F(InputFile, ManyFilesWithFewHandles) {
  for (int i = 0; i < 6; ++i) test::write_file(dir_.file("f" + std::to_string(i) + ".log"), numbered_lines(0, 3));
  FileInputConfig cfg = config({dir_.path().string() + "/*.log"});
  cfg.read_mode = true;
  cfg.exit_after_read = true;
  cfg.max_open_files = 1;
  FakeContext ctx(true);
  Running run(cfg, ctx);
  ASSERT_TRUE(run.finished_within(10s));
  EXPECT_EQ(ctx.count(), 18u);
}

TEST_F(InputFile, LargeFileInChunks) {
  std::string path = dir_.file("big.log");
  test::write_file(path, numbered_lines(0, 200000));
  FileInputConfig cfg = config({path});
  cfg.read_mode = true;
  cfg.exit_after_read = true;
  cfg.completed_delete = false;
  FakeContext ctx(true);
  Running run(cfg, ctx);
  ASSERT_TRUE(run.finished_within(30s));
  auto messages = ctx.messages();
  ASSERT_EQ(messages.size(), 200000u);
  EXPECT_EQ(messages.front(), "line 0");
  EXPECT_EQ(messages[123456], "line 123456");
  EXPECT_EQ(messages.back(), "line 199999");
}

void write_gzip(const std::string& path, const std::string& content) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, content.data(), unsigned(content.size())), int(content.size()));
  gzclose(gz);
}

TEST_F(InputFile, ReadModeDecompressesGzipArchives) {
  std::string path = dir_.file("archive.log.gz");
  write_gzip(path, numbered_lines(0, 3000) + "crlf line\r\nlast without newline");
  FileInputConfig cfg = config({dir_.path().string() + "/*.gz"});
  cfg.read_mode = true;
  cfg.exit_after_read = true;
  cfg.completed_delete = false;
  cfg.completed_log = true;
  cfg.completed_log_path = dir_.file("done.txt");
  cfg.check_archive_validity = true;
  FakeContext ctx(true);
  {
    Running run(cfg, ctx);
    ASSERT_TRUE(run.finished_within(10s));
  }
  auto expected = numbered(0, 3000);
  expected.push_back("crlf line");
  expected.push_back("last without newline");
  EXPECT_EQ(ctx.messages(), expected);
  EXPECT_EQ(saved_position(path), fs::file_size(path));  // the compressed size, as Logstash records it
  EXPECT_EQ(test::read_file(cfg.completed_log_path), path + "\n");
  FakeContext again(true);
  Running second(cfg, again);
  ASSERT_TRUE(second.finished_within(10s));
  EXPECT_EQ(again.count(), 0u);
}

TEST_F(InputFile, CorruptGzipIsSkippedAndKept) {
  std::string good = dir_.file("good.gz");
  write_gzip(good, numbered_lines(0, 2000));
  std::string content = test::read_file(good);
  std::string bad = dir_.file("bad.gz");
  test::write_file(bad, content.substr(0, content.size() / 2));  // cut in the middle
  ::unlink(good.c_str());
  FileInputConfig cfg = config({bad});
  cfg.read_mode = true;
  cfg.exit_after_read = true;
  cfg.check_archive_validity = true;  // completed_delete stays on: a corrupt file must not be deleted
  FakeContext ctx(true);
  Running run(cfg, ctx);
  ASSERT_TRUE(run.finished_within(10s));
  EXPECT_EQ(ctx.count(), 0u);
  EXPECT_TRUE(fs::exists(bad));
}

// ---- through the registry and option validation ----

config::PluginBlock block(std::vector<std::pair<std::string, config::ConfigValue>> attributes) {
  config::PluginBlock b;
  b.name = "file";
  b.pos = {"test.conf", 3, 3};
  for (auto& [name, value] : attributes) {
    config::Attribute a;
    a.name = name;
    a.pos = {"test.conf", 4, 5};
    a.value = value;
    a.value.pos = a.pos;
    b.attributes.push_back(a);
  }
  return b;
}

FileInputConfig config_from(const config::PluginBlock& b) {
  const PluginEntry* entry = Registry::instance().find(PluginKind::Input, "file");
  if (!entry) throw std::runtime_error("file input not registered");
  Options options = Options::validate(b, entry->schema);
  PipelineSettings settings;
  settings.path_data = "/tmp/sluice-data";
  settings.ecs_compatibility = "disabled";
  PluginContext ctx;
  ctx.settings = &settings;
  return make_file_input_config(options, ctx);
}

TEST(InputFileConfig, DefaultsAsLogstash) {
  FileInputConfig cfg = config_from(block({{"path", cv_array({"/var/log/*.log"})}}));
  EXPECT_FALSE(cfg.read_mode);
  EXPECT_FALSE(cfg.start_at_beginning);
  EXPECT_EQ(cfg.sincedb_write_interval, 15);
  EXPECT_EQ(cfg.stat_interval, 1);
  EXPECT_EQ(cfg.discover_interval, 15);
  EXPECT_EQ(cfg.close_older, 3600);
  EXPECT_EQ(cfg.sincedb_clean_after, 14 * 86400);
  EXPECT_EQ(cfg.delimiter, "\n");
  EXPECT_TRUE(cfg.completed_delete);
  EXPECT_FALSE(cfg.completed_log);
  EXPECT_EQ(cfg.max_open_files, 4095u);
  EXPECT_FALSE(cfg.ecs);
  EXPECT_EQ(cfg.sincedb_path.rfind("/tmp/sluice-data/plugins/inputs/file/.sincedb_", 0), 0u);
}

TEST(InputFileConfig, FriendlyDurationsAndModes) {
  FileInputConfig cfg = config_from(block({{"path", cv_array({"/a.log"})},
                                           {"stat_interval", cv_string("500 ms")},
                                           {"close_older", cv_number(30)},
                                           {"sincedb_clean_after", cv_number(0.5)},
                                           {"mode", cv_string("read")},
                                           {"file_completed_action", cv_string("log_and_delete")},
                                           {"file_completed_log_path", cv_string("/tmp/done.txt")},
                                           {"ecs_compatibility", cv_string("v8")}}));
  EXPECT_DOUBLE_EQ(cfg.stat_interval, 0.5);
  EXPECT_DOUBLE_EQ(cfg.close_older, 30);
  EXPECT_DOUBLE_EQ(cfg.sincedb_clean_after, 43200);
  EXPECT_TRUE(cfg.read_mode);
  EXPECT_TRUE(cfg.completed_delete);
  EXPECT_TRUE(cfg.completed_log);
  EXPECT_TRUE(cfg.ecs);
}

TEST(InputFileConfig, RelativePathIsRejectedWithItsPosition) {
  try {
    config_from(block({{"path", cv_array({"logs/*.log"})}}));
    FAIL() << "relative path accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("File paths must be absolute, relative path specified: logs/*.log"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("test.conf:4:5"), std::string::npos) << e.what();
  }
}

TEST(InputFileConfig, LogActionNeedsALogPath) {
  EXPECT_THROW(config_from(block({{"path", cv_array({"/a.log"})}, {"file_completed_action", cv_string("log")}})),
               config::ConfigError);
}

TEST(InputFileConfig, BadDurationIsAConfigError) {
  EXPECT_THROW(config_from(block({{"path", cv_array({"/a.log"})}, {"stat_interval", cv_string("often")}})),
               config::ConfigError);
}

TEST(InputFileConfig, SincedbPathMustNotBeADirectory) {
  test::TempDir dir;
  EXPECT_THROW(config_from(block({{"path", cv_array({"/a.log"})}, {"sincedb_path", cv_string(dir.path().string())}})),
               config::ConfigError);
}

}  // namespace
}  // namespace sluice::file_input
