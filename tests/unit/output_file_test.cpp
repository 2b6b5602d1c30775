// The file output: static and sprintf paths, the files root, gzip, append vs overwrite,
// deleted files, modes, concurrent writers, and unwritable events staying unacknowledged.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "core/event_pool.h"
#include "core/json.h"
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

// Events owned by the test, freed on destruction.
class Batch {
 public:
  ~Batch() {
    for (Event* event : events_) free_event(event);
  }
  Event& add(const std::string& message, const std::string& type = "",
             Timestamp ts = Timestamp::from_seconds(1714564800)) {  // 2024-05-01T12:00:00Z
    Event* event = new_event();
    event->init_with_message(message, ts);
    if (!type.empty()) event->fields()["type"].set_string(type);
    events_.push_back(event);
    return *event;
  }
  std::span<Event* const> span() const { return events_; }

 private:
  std::vector<Event*> events_;
};

class CountingListener : public AckListener {
 public:
  void acked(uint64_t) override { ++count; }
  std::atomic<int> count{0};
};

// Acknowledgements of batch ids, each checked against the file: a batch acknowledged before its
// first and last lines are in the file counts in acked_before_written.
struct FileCheckingListener : AckListener {
  FileCheckingListener(std::string file, int events_per_batch, size_t padding)
      : path(std::move(file)), per_batch(events_per_batch), padding_(padding) {}
  // The message of event `index` of batch `batch`.
  std::string message(uint64_t batch, int index) const {
    return "b" + std::to_string(batch) + "-" + std::to_string(index) + std::string(padding_, 'x');
  }
  void acked(uint64_t batch) override {
    const std::string text = test::read_file(path);
    if (text.find("\"" + message(batch, 0) + "\"") == std::string::npos ||
        text.find("\"" + message(batch, per_batch - 1) + "\"") == std::string::npos)
      ++acked_before_written;
    ++acked_batches;
  }
  const std::string path;
  const int per_batch;
  std::atomic<int> acked_batches{0};
  std::atomic<int> acked_before_written{0};

 private:
  const size_t padding_;
};

// The "message" of each JSON line.
std::vector<std::string> messages(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (const std::string& line : lines) {
    Value parsed;
    if (!json_parse(line, parsed) || !parsed.is_object()) {
      out.push_back("<invalid: " + line + ">");
      continue;
    }
    const Value* message = parsed.as_object().find("message");
    out.push_back(message && message->is_string() ? message->as_string() : "<no message>");
  }
  return out;
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

TEST(FileOutputTest, WithFlushIntervalZeroEachBatchIsInTheFileBeforeWriteReturns) {
  test::TempDir dir;
  std::string path = dir.file("out.log");
  auto output = make_output("file { path => \"" + path + "\" flush_interval => 0 }");
  Batch first;
  first.add("m0");
  first.add("m1");
  output->write(first.span());
  // No close, no flush: the bytes must already be in the file.
  EXPECT_EQ(messages(test::read_lines(path)), (std::vector<std::string>{"m0", "m1"}));
  Batch second;
  second.add("m2");
  output->write(second.span());
  EXPECT_EQ(messages(test::read_lines(path)), (std::vector<std::string>{"m0", "m1", "m2"}));
  output->close();
}

TEST(FileOutputTest, SprintfPathByFieldAndDate) {
  test::TempDir dir;
  auto output = make_output("file { path => \"" + dir.path().string() + "/logs/%{type}/%{+YYYY-MM-dd}.log\" flush_interval => 0 }");
  Batch batch;
  batch.add("a1", "alpha");
  batch.add("b1", "beta");
  batch.add("a2", "alpha");
  batch.add("next-day", "alpha", Timestamp::from_seconds(1714564800 + 86400));
  output->write(batch.span());
  EXPECT_EQ(messages(test::read_lines(dir.file("logs/alpha/2024-05-01.log"))),
            (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(messages(test::read_lines(dir.file("logs/beta/2024-05-01.log"))), (std::vector<std::string>{"b1"}));
  EXPECT_EQ(messages(test::read_lines(dir.file("logs/alpha/2024-05-02.log"))),
            (std::vector<std::string>{"next-day"}));
}

TEST(FileOutputTest, PathLeavingTheRootGoesToTheFailureFile) {
  test::TempDir dir;
  auto output = make_output("file { path => \"" + dir.path().string() + "/logs/%{type}.log\" flush_interval => 0 }");
  Batch batch;
  batch.add("escape", "../outside");
  batch.add("fine", "inside");
  batch.add("sneaky", "x/../../y");
  output->write(batch.span());
  EXPECT_FALSE(std::filesystem::exists(dir.file("outside.log")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("y.log")));
  EXPECT_EQ(messages(test::read_lines(dir.file("logs/_filepath_failures"))),
            (std::vector<std::string>{"escape", "sneaky"}));
  EXPECT_EQ(messages(test::read_lines(dir.file("logs/inside.log"))), (std::vector<std::string>{"fine"}));
}

TEST(FileOutputTest, CustomFailureFileName) {
  test::TempDir dir;
  auto output = make_output("file { path => \"" + dir.path().string() +
                            "/logs/%{type}.log\" filename_failure => \"rejected\" flush_interval => 0 }");
  Batch batch;
  batch.add("escape", "../../etc/passwd");
  output->write(batch.span());
  EXPECT_EQ(messages(test::read_lines(dir.file("logs/rejected"))), (std::vector<std::string>{"escape"}));
}

TEST(FileOutputTest, DynamicFirstDirectoryIsAConfigError) {
  EXPECT_THROW(make_output(R"(file { path => "/%{type}/x.log" })"), config::ConfigError);
}

TEST(FileOutputTest, GzipBatchesAreReadableWithZlib) {
  test::TempDir dir;
  std::string path = dir.file("out.log.gz");
  auto output = make_output("file { path => \"" + path + "\" gzip => true flush_interval => 0 }");
  Batch first, second;
  first.add("one");
  first.add("two");
  second.add("three");
  output->write(first.span());
  output->write(second.span());
  std::string content = gunzip_file(path);
  EXPECT_NE(content.find("\"message\":\"one\""), std::string::npos) << content;
  EXPECT_NE(content.find("\"message\":\"three\""), std::string::npos) << content;
  EXPECT_EQ(std::count(content.begin(), content.end(), '\n'), 3);
  // The raw file is not plain text.
  EXPECT_EQ(test::read_file(path).find("\"message\""), std::string::npos);
}

TEST(FileOutputTest, OverwriteKeepsOnlyTheLatestEvent) {
  test::TempDir dir;
  std::string path = dir.file("latest.log");
  test::write_file(path, "old content\n");
  auto output = make_output("file { path => \"" + path + "\" write_behavior => \"overwrite\" }");
  Batch first;
  first.add("a");
  first.add("b");
  first.add("c");
  output->write(first.span());
  EXPECT_EQ(messages(test::read_lines(path)), (std::vector<std::string>{"c"}));
  Batch second;
  second.add("d");
  output->write(second.span());
  EXPECT_EQ(messages(test::read_lines(path)), (std::vector<std::string>{"d"}));
}

TEST(FileOutputTest, AppendKeepsExistingContent) {
  test::TempDir dir;
  std::string path = dir.file("app.log");
  test::write_file(path, "old line\n");
  auto output = make_output("file { path => \"" + path + "\" codec => line { format => \"%{message}\" } flush_interval => 0 }");
  Batch batch;
  batch.add("new line");
  output->write(batch.span());
  EXPECT_EQ(test::read_lines(path), (std::vector<std::string>{"old line", "new line"}));
}

TEST(FileOutputTest, DeletedFileIsRecreated) {
  test::TempDir dir;
  std::string path = dir.file("rotating.log");
  auto output = make_output("file { path => \"" + path + "\" flush_interval => 0 }");
  Batch first, second;
  first.add("before");
  second.add("after");
  output->write(first.span());
  std::filesystem::remove(path);
  output->write(second.span());
  EXPECT_EQ(messages(test::read_lines(path)), (std::vector<std::string>{"after"}));
}

TEST(FileOutputTest, RenamedFileIsReplacedByANewOne) {
  test::TempDir dir;
  std::string path = dir.file("rotating.log");
  auto output = make_output("file { path => \"" + path + "\" flush_interval => 0 }");
  Batch first, second;
  first.add("before");
  second.add("after");
  output->write(first.span());
  std::filesystem::rename(path, dir.file("rotating.log.1"));
  test::write_file(path, "");  // logrotate `create`
  output->write(second.span());
  EXPECT_EQ(messages(test::read_lines(dir.file("rotating.log.1"))), (std::vector<std::string>{"before"}));
  EXPECT_EQ(messages(test::read_lines(path)), (std::vector<std::string>{"after"}));
}

TEST(FileOutputTest, WithoutCreateIfDeletedEventsGoToTheFailureFile) {
  test::TempDir dir;
  std::string path = dir.file("kept.log");
  test::write_file(path, "");
  auto output = make_output("file { path => \"" + path + "\" create_if_deleted => false flush_interval => 0 }");
  Batch first, second;
  first.add("before");
  second.add("after");
  output->write(first.span());
  std::filesystem::remove(path);
  output->write(second.span());
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(messages(test::read_lines(dir.file("_filepath_failures"))), (std::vector<std::string>{"after"}));
}

TEST(FileOutputTest, FileAndDirectoryModesAreOctal) {
  test::TempDir dir;
  std::string path = dir.file("sub/deeper/x.log");
  auto output = make_output("file { path => \"" + path + "\" file_mode => 0640 dir_mode => 0750 }");
  Batch batch;
  batch.add("m");
  output->write(batch.span());
  struct stat file_info, dir_info;
  ASSERT_EQ(::stat(path.c_str(), &file_info), 0);
  ASSERT_EQ(::stat(dir.file("sub/deeper").c_str(), &dir_info), 0);
  EXPECT_EQ(file_info.st_mode & 07777, 0640u);
  EXPECT_EQ(dir_info.st_mode & 07777, 0750u);
}

TEST(FileOutputTest, ConcurrentWritersNeverInterleaveLines) {
  test::TempDir dir;
  std::string path = dir.file("shared.log");
  auto output = make_output("file { path => \"" + path + "\" }");
  ASSERT_TRUE(output->thread_safe());
  constexpr int kThreads = 4, kBatches = 40, kPerBatch = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        Batch batch;
        for (int i = 0; i < kPerBatch; ++i)
          batch.add("t" + std::to_string(t) + "-" + std::to_string(b) + "-" + std::to_string(i) +
                    std::string(200, 'x'));
        output->write(batch.span());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  output->flush();  // what is still gathered
  std::vector<std::string> found = messages(test::read_lines(path));
  ASSERT_EQ(found.size(), size_t(kThreads * kBatches * kPerBatch));
  for (const std::string& message : found) ASSERT_EQ(message.rfind("t", 0), 0u) << message;
}

// Workers that find another appending hand their bytes over and return: their events must
// still be acknowledged only once their lines are in the file, and every batch exactly once.
TEST(FileOutputTest, ConcurrentWritersAcknowledgeOnlyWhatIsInTheFile) {
  test::TempDir dir;
  const std::string path = dir.file("shared.log");
  constexpr int kThreads = 4, kBatches = 40, kPerBatch = 25;
  FileCheckingListener listener(path, kPerBatch, 200);
  {
    auto output = make_output("file { path => \"" + path + "\" }");
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int b = 0; b < kBatches; ++b) {
          const uint64_t id = uint64_t(t * kBatches + b);
          AckToken* token = AckToken::create(&listener, id);
          {
            Batch batch;
            for (int i = 0; i < kPerBatch; ++i) batch.add(listener.message(id, i)).attach_ack(token);
            token->release();  // the input's own hold
            output->write(batch.span());
          }  // the batch's events are freed, as after a pipeline's batch
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }  // closing the output appends whatever is still handed over
  EXPECT_EQ(listener.acked_batches.load(), kThreads * kBatches);
  EXPECT_EQ(listener.acked_before_written.load(), 0);
  EXPECT_EQ(messages(test::read_lines(path)).size(), size_t(kThreads * kBatches * kPerBatch));
}

TEST(FileOutputTest, UnwritableEventsStayUnacknowledged) {
  test::TempDir dir;
  test::write_file(dir.file("not_a_dir"), "");
  CountingListener listener;
  AckToken* token = AckToken::create(&listener, 1);
  {
    auto output = make_output("file { path => \"" + dir.file("not_a_dir/x.log") + "\" }");
    Batch batch;
    batch.add("lost?").attach_ack(token);
    output->write(batch.span());
  }  // the events and the output are gone
  token->release();  // the input's own hold
  EXPECT_EQ(listener.count.load(), 0);
}

TEST(FileOutputTest, WrittenEventsAreAcknowledgedByTheirOwnersOnly) {
  test::TempDir dir;
  CountingListener listener;
  AckToken* token = AckToken::create(&listener, 1);
  auto output = make_output("file { path => \"" + dir.file("ok.log") + "\" flush_interval => 0 }");
  {
    Batch batch;
    batch.add("kept").attach_ack(token);
    output->write(batch.span());
    token->release();
    EXPECT_EQ(listener.count.load(), 0);  // the output took no hold of its own
  }
  EXPECT_EQ(listener.count.load(), 1);
}

// By default batches are gathered into fewer, larger writes. Their events are acknowledged only
// once written: when the queue runs dry (caught_up), at the periodic flush, or at close.
TEST(FileOutputTest, SmallBatchesWaitForTheQueueToRunDryAndAreAcknowledgedOnceWritten) {
  test::TempDir dir;
  const std::string path = dir.file("gathered.log");
  CountingListener listener;
  auto output = make_output("file { path => \"" + path + "\" }");
  for (int b = 0; b < 3; ++b) {
    AckToken* token = AckToken::create(&listener, uint64_t(b));
    Batch batch;
    batch.add("m" + std::to_string(b)).attach_ack(token);
    token->release();  // the input's own hold
    output->write(batch.span());
  }  // the batches' events are freed, as after a pipeline's batch
  EXPECT_TRUE(test::read_lines(path).empty());
  EXPECT_EQ(listener.count.load(), 0);
  output->caught_up();
  EXPECT_EQ(messages(test::read_lines(path)), (std::vector<std::string>{"m0", "m1", "m2"}));
  EXPECT_EQ(listener.count.load(), 3);
  output->caught_up();  // nothing left: no second copy
  EXPECT_EQ(test::read_lines(path).size(), 3u);
}

// A gathered batch goes to the file it was encoded for, even if that file was rotated (renamed and
// replaced) before the batch was written: as if it had been written at once.
TEST(FileOutputTest, ABatchGatheredBeforeARotationGoesToTheRotatedFile) {
  test::TempDir dir;
  const std::string path = dir.file("rotating.log");
  auto output = make_output("file { path => \"" + path + "\" }");
  Batch first, second;
  first.add("before");
  second.add("after");
  output->write(first.span());
  std::filesystem::rename(path, dir.file("rotating.log.1"));
  test::write_file(path, "");  // logrotate `create`
  output->write(second.span());
  output->caught_up();
  EXPECT_EQ(messages(test::read_lines(dir.file("rotating.log.1"))), (std::vector<std::string>{"before"}));
  EXPECT_EQ(messages(test::read_lines(path)), (std::vector<std::string>{"after"}));
}

// A gathered batch whose append fails (here: /dev/full, ENOSPC) is retried and, failing again,
// never acknowledged, so its source offers it again after a restart.
TEST(FileOutputTest, AGatheredBatchThatCannotBeWrittenStaysUnacknowledged) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  CountingListener listener;
  AckToken* token = AckToken::create(&listener, 1);
  {
    auto output = make_output("file { path => \"/dev/full\" }");
    {
      Batch batch;
      batch.add("nowhere to go").attach_ack(token);
      output->write(batch.span());
    }
    token->release();  // the input's own hold
    output->caught_up();  // the append fails, then the retries
    EXPECT_EQ(listener.count.load(), 0);
  }  // and not at close either
  EXPECT_EQ(listener.count.load(), 0);
}

TEST(FileOutputTest, ThePeriodicFlushWritesGatheredBatches) {
  test::TempDir dir;
  const std::string path = dir.file("gathered.log");
  auto output = make_output("file { path => \"" + path + "\" }");
  Batch first, second;
  first.add("a");
  second.add("b");
  output->write(first.span());
  output->write(second.span());
  EXPECT_TRUE(test::read_lines(path).empty());
  output->flush();
  EXPECT_EQ(messages(test::read_lines(path)), (std::vector<std::string>{"a", "b"}));
}

// Once 256 KiB are gathered they are written without waiting for the queue to run dry, and
// an event is never acknowledged before its line is in the file.
TEST(FileOutputTest, AQuarterMegabyteGatheredIsWrittenAtOnce) {
  test::TempDir dir;
  const std::string path = dir.file("big.log");
  constexpr int kBatches = 8, kPerBatch = 100;
  FileCheckingListener listener(path, kPerBatch, 1000);
  auto output = make_output("file { path => \"" + path + "\" }");
  for (int b = 0; b < kBatches; ++b) {
    AckToken* token = AckToken::create(&listener, uint64_t(b));
    Batch batch;
    for (int i = 0; i < kPerBatch; ++i) batch.add(listener.message(uint64_t(b), i)).attach_ack(token);
    token->release();
    output->write(batch.span());
  }
  // ~110 KB a batch: every third takes the gathered bytes past 256 KiB, so six are in the file.
  EXPECT_EQ(listener.acked_batches.load(), 6);
  EXPECT_EQ(test::read_lines(path).size(), size_t(listener.acked_batches.load() * kPerBatch));
  output->close();
  EXPECT_EQ(listener.acked_batches.load(), kBatches);
  EXPECT_EQ(listener.acked_before_written.load(), 0);
  EXPECT_EQ(messages(test::read_lines(path)).size(), size_t(kBatches * kPerBatch));
}

}  // namespace
}  // namespace sluice
