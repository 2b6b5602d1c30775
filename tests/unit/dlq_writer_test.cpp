// The file dead letter queue: entry format round trip, segments (sealing, numbering, crash
// leftovers), the max_bytes storage policies, the routing of filter failures, the settings and
// the monitoring API's dead_letter_queue section.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/settings.h"
#include "core/event_pool.h"
#include "plugins/common/s3/s3_dead_letter_writer.h"
#include "runtime/dlq.h"
#include "runtime/monitoring_api.h"
#include "test_support.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

Event make_event(const std::string& message) {
  Event e;
  e.init_with_message(message, Timestamp::from_seconds(1700000000, 123000000));
  e.fields()["n"] = Value(int64_t(42));
  e.metadata()["route"] = Value("blue");
  e.add_tag("t1");
  return e;
}

FileDeadLetterWriter::Config config_for(const test::TempDir& dir, uint64_t max_bytes = 1 << 20) {
  FileDeadLetterWriter::Config c;
  c.directory = dir.file("main");
  c.max_bytes = max_bytes;
  c.flush_interval_ms = 60000;  // the tests seal explicitly
  return c;
}

std::vector<DeadLetterEntry> read_all(const std::string& directory) {
  std::vector<DeadLetterEntry> out;
  for (const auto& segment : list_dead_letter_segments(directory)) {
    for (const std::string& line : test::read_lines(segment.path)) {
      if (line.empty()) continue;
      DeadLetterEntry entry;
      EXPECT_TRUE(parse_dead_letter_entry(line, entry)) << line;
      out.push_back(std::move(entry));
    }
  }
  return out;
}

TEST(DlqEntry, FormatParseRoundTrip) {
  Event e = make_event("hello \"world\"\n");
  std::string line;
  format_dead_letter_entry(line, e, "elasticsearch", "es_1", "status: 400", Timestamp::from_seconds(1700000100));
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);  // one line per entry, whatever the message
  line.pop_back();
  DeadLetterEntry entry;
  ASSERT_TRUE(parse_dead_letter_entry(line, entry));
  EXPECT_EQ(entry.plugin_type, "elasticsearch");
  EXPECT_EQ(entry.plugin_id, "es_1");
  EXPECT_EQ(entry.reason, "status: 400");
  EXPECT_EQ(entry.entry_time, Timestamp::from_seconds(1700000100));
  ASSERT_NE(entry.fields.find("message"), nullptr);
  EXPECT_EQ(entry.fields.find("message")->as_string(), "hello \"world\"\n");
  EXPECT_EQ(entry.fields.find("n")->as_int(), 42);
  ASSERT_NE(entry.metadata.find("route"), nullptr);
  EXPECT_EQ(entry.metadata.find("route")->as_string(), "blue");
  EXPECT_EQ(entry.fields.find("@metadata"), nullptr);
}

TEST(DlqEntry, RejectsGarbage) {
  DeadLetterEntry entry;
  EXPECT_FALSE(parse_dead_letter_entry("not json", entry));
  EXPECT_FALSE(parse_dead_letter_entry("{\"event\":{}}", entry));
  EXPECT_FALSE(parse_dead_letter_entry("{\"entry_time\":\"x\",\"event\":{}}", entry));
}

TEST(DlqWriter, WritesSealsAndReadsBack) {
  test::TempDir dir;
  DeadLetterQueueMetrics metrics;
  FileDeadLetterWriter writer(config_for(dir), &metrics);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(writer.write(make_event("m" + std::to_string(i)), "elasticsearch", "es", "r"), DeadLetterResult::Stored);
  // Not sealed yet: the open segment is N.log.tmp, which readers do not see.
  EXPECT_TRUE(list_dead_letter_segments(dir.file("main")).empty());
  EXPECT_TRUE(fs::exists(dir.file("main/1.log.tmp")));
  writer.flush();
  auto segments = list_dead_letter_segments(dir.file("main"));
  ASSERT_EQ(segments.size(), 1u);
  EXPECT_EQ(segments[0].number, 1u);
  auto entries = read_all(dir.file("main"));
  ASSERT_EQ(entries.size(), 10u);
  EXPECT_EQ(entries[3].fields.find("message")->as_string(), "m3");
  EXPECT_EQ(metrics.events_written.load(), 10u);
  EXPECT_EQ(metrics.queue_size_bytes.load(), segments[0].size);
  // The next write opens segment 2.
  writer.write(make_event("x"), "elasticsearch", "es", "r");
  writer.flush();
  segments = list_dead_letter_segments(dir.file("main"));
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(segments[1].number, 2u);
}

TEST(DlqWriter, FlushIntervalSealsAnIdleSegment) {
  test::TempDir dir;
  auto c = config_for(dir);
  c.flush_interval_ms = 50;
  FileDeadLetterWriter writer(c, nullptr);
  writer.write(make_event("a"), "t", "i", "r");
  EXPECT_TRUE(test::wait_until([&] { return list_dead_letter_segments(dir.file("main")).size() == 1; },
                               std::chrono::seconds(10)));
}

TEST(DlqWriter, SegmentsRollOverAtTheSegmentSize) {
  test::TempDir dir;
  auto c = config_for(dir);
  c.segment_max_bytes = 2000;
  FileDeadLetterWriter writer(c, nullptr);
  for (int i = 0; i < 50; ++i) writer.write(make_event(std::string(100, 'a')), "t", "i", "r");
  writer.flush();
  auto segments = list_dead_letter_segments(dir.file("main"));
  EXPECT_GT(segments.size(), 3u);
  for (const auto& s : segments) EXPECT_LE(s.size, 2000u);
  EXPECT_EQ(read_all(dir.file("main")).size(), 50u);
}

TEST(DlqWriter, DropNewerRefusesWhenFull) {
  test::TempDir dir;
  DeadLetterQueueMetrics metrics;
  FileDeadLetterWriter writer(config_for(dir, 4096), &metrics);
  int stored = 0, dropped = 0;
  for (int i = 0; i < 100; ++i) {
    auto r = writer.write(make_event(std::string(100, 'b')), "t", "i", "r");
    (r == DeadLetterResult::Stored ? stored : dropped)++;
  }
  writer.flush();
  EXPECT_GT(stored, 5);
  EXPECT_GT(dropped, 50);
  EXPECT_EQ(metrics.dropped_events.load(), uint64_t(dropped));
  EXPECT_EQ(metrics.expired_events.load(), 0u);
  EXPECT_NE(metrics.last_error().find("maxQueueSize"), std::string::npos);
  EXPECT_LE(writer.size_bytes(), 4096u);
  // The oldest entries are the ones kept.
  auto entries = read_all(dir.file("main"));
  EXPECT_EQ(entries.size(), size_t(stored));
}

TEST(DlqWriter, DropOlderRemovesTheOldestSegments) {
  test::TempDir dir;
  DeadLetterQueueMetrics metrics;
  auto c = config_for(dir, 8192);
  c.drop_older = true;
  FileDeadLetterWriter writer(c, &metrics);
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(writer.write(make_event("n" + std::to_string(i) + std::string(100, 'c')), "t", "i", "r"),
              DeadLetterResult::Stored);
  writer.flush();
  EXPECT_LE(writer.size_bytes(), 8192u);
  EXPECT_GT(metrics.expired_events.load(), 100u);
  EXPECT_EQ(metrics.dropped_events.load(), 0u);
  auto entries = read_all(dir.file("main"));
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.size() + metrics.expired_events.load(), 200u);
  // The newest entry survived.
  EXPECT_EQ(entries.back().fields.find("message")->as_string().substr(0, 4), "n199");
}

TEST(DlqWriter, ReopenSealsCrashLeftoversAndNeverReusesNumbers) {
  test::TempDir dir;
  {
    FileDeadLetterWriter writer(config_for(dir), nullptr);
    writer.write(make_event("a"), "t", "i", "r");
    writer.flush();
    writer.write(make_event("b"), "t", "i", "r");  // left in 2.log.tmp by the "crash" below
    // Simulate a crash: copy the open segment aside before close() seals it.
    fs::copy_file(dir.file("main/2.log.tmp"), dir.file("crash.tmp"));
  }
  fs::remove(dir.file("main/2.log"));
  fs::rename(dir.file("crash.tmp"), dir.file("main/2.log.tmp"));
  {
    FileDeadLetterWriter writer(config_for(dir), nullptr);
    EXPECT_TRUE(fs::exists(dir.file("main/2.log")));
    EXPECT_FALSE(fs::exists(dir.file("main/2.log.tmp")));
    // A reader consumed and removed everything: numbering still goes on.
    fs::remove(dir.file("main/1.log"));
    fs::remove(dir.file("main/2.log"));
  }
  FileDeadLetterWriter writer(config_for(dir), nullptr);
  writer.write(make_event("c"), "t", "i", "r");
  writer.flush();
  auto segments = list_dead_letter_segments(dir.file("main"));
  ASSERT_EQ(segments.size(), 1u);
  EXPECT_EQ(segments[0].number, 3u);
}

TEST(DlqRouting, FailureTagsAndConditionalErrors) {
  DeadLetterRouting routing;
  Event e = make_event("x");
  EXPECT_FALSE(routing.active());
  routing.failure_tags = {"_grokparsefailure"};
  EXPECT_EQ(routing.failure_of(e), "");
  e.add_tag("_grokparsefailure");
  EXPECT_EQ(routing.failure_of(e), "_grokparsefailure");
  Event f = make_event("y");
  f.add_tag("_conditional_evaluation_error");
  EXPECT_EQ(routing.failure_of(f), "");
  routing.conditional_errors = true;
  EXPECT_EQ(routing.failure_of(f), "_conditional_evaluation_error");
}

TEST(DlqSettings, PipelinesYmlKeys) {
  config::Warnings warnings;
  config::NodeSettings node;
  auto sources = config::parse_pipelines_yml(
      "- pipeline.id: a\n"
      "  config.string: 'input { stdin {} }'\n"
      "  dead_letter_queue.enable: true\n"
      "  path.dead_letter_queue: /tmp/dlq\n"
      "  dead_letter_queue.max_bytes: 2mb\n"
      "  dead_letter_queue.storage_policy: drop_older\n"
      "  dead_letter_queue.flush_interval: 100\n"
      "  dead_letter_queue.failure_tags: [_grokparsefailure, _dateparsefailure]\n"
      "  dead_letter_queue.conditional_errors: true\n",
      "pipelines.yml", node, warnings);
  ASSERT_EQ(sources.size(), 1u);
  const DeadLetterQueueSettings& d = sources[0].settings.dead_letter_queue;
  EXPECT_TRUE(d.enabled);
  EXPECT_EQ(d.path, "/tmp/dlq");
  EXPECT_EQ(d.max_bytes, size_t(2) << 20);
  EXPECT_EQ(d.storage_policy, "drop_older");
  EXPECT_EQ(d.flush_interval_ms, 100);
  EXPECT_EQ(d.failure_tags, (std::vector<std::string>{"_grokparsefailure", "_dateparsefailure"}));
  EXPECT_TRUE(d.conditional_errors);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
}

TEST(DlqSettings, BadPolicyHasAPosition) {
  config::Warnings warnings;
  try {
    config::parse_node_settings("dead_letter_queue:\n  storage_policy: drop_all\n", "sluice.yml", warnings);
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("sluice.yml:2:"), std::string::npos) << e.what();
  }
}

TEST(DlqSettings, DisabledMakesNoWriter) {
  DeadLetterQueueSettings s;
  DeadLetterQueueMetrics metrics;
  EXPECT_EQ(make_dead_letter_writer(s, "main", "/nonexistent", &metrics), nullptr);
  EXPECT_FALSE(metrics.enabled);
  test::TempDir dir;
  s.enabled = true;
  s.path = dir.path().string();
  auto writer = make_dead_letter_writer(s, "p1", "/nonexistent", &metrics);
  ASSERT_NE(writer, nullptr);
  EXPECT_TRUE(metrics.enabled);
  EXPECT_TRUE(fs::is_directory(dir.file("p1")));
}

TEST(DlqMonitoring, PipelineStatsShowTheQueue) {
  PipelineSettings settings;
  settings.dead_letter_queue.enabled = true;
  PipelineMetrics metrics;
  metrics.dead_letter_queue.enabled = true;
  metrics.dead_letter_queue.storage_policy = "drop_newer";
  metrics.dead_letter_queue.max_bytes = 1024;
  metrics.dead_letter_queue.dropped_events = 3;
  std::vector<PipelineView> views{{&settings, &metrics, false}};
  NodeInfo node;
  auto stats = render_pipeline_stats(node, views);
  ASSERT_TRUE(stats.has_value());
  EXPECT_NE(stats->find("\"dead_letter_queue\":{"), std::string::npos) << *stats;
  EXPECT_NE(stats->find("\"dropped_events\":3"), std::string::npos) << *stats;
  EXPECT_NE(stats->find("\"storage_policy\":\"drop_newer\""), std::string::npos) << *stats;
  auto pipelines = render_node_pipelines(node, views);
  ASSERT_TRUE(pipelines.has_value());
  EXPECT_NE(pipelines->find("\"dead_letter_queue_enabled\":true"), std::string::npos) << *pipelines;
}

// S3 target: the key time (20 digits after <prefix><pipeline>/) orders keys and drives settle_time.
TEST(DlqS3Keys, KeyTimeComesFromTheKey) {
  EXPECT_EQ(s3::dead_letter_key_nanos("dlq/main/01700000000123456789.42.0badcafe.7.json", "dlq/main/"),
            std::optional<int64_t>(1700000000123456789));
  EXPECT_EQ(s3::dead_letter_key_nanos("dlq/main/notatime.json", "dlq/main/"), std::nullopt);
  EXPECT_EQ(s3::dead_letter_key_nanos("dlq/other/01700000000123456789.json", "dlq/main/"), std::nullopt);
  EXPECT_EQ(s3::dead_letter_key_nanos("dlq/main/0170", "dlq/main/"), std::nullopt);
  // Zero-padded: string order is time order.
  EXPECT_LT(std::string("dlq/main/00999999999999999999.x"), std::string("dlq/main/01000000000000000000.a"));
}

}  // namespace
}  // namespace sluice
