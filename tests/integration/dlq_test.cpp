// The dead letter queue in running pipelines: filter failures routed to it (sluice's
// dead_letter_queue.failure_tags / conditional_errors), and the dead_letter_queue input reading it
// back with [@metadata][dead_letter_queue], commit_offsets across restarts, clean_consumed and
// start_timestamp.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "core/time_format.h"
#include "pipeline_test_plugins.h"
#include "runtime/dlq.h"
#include "test_support.h"

namespace sluice {
namespace {

using namespace rt_test;
namespace fs = std::filesystem;

std::vector<DeadLetterEntry> dlq_entries(const std::string& directory) {
  std::vector<DeadLetterEntry> out;
  for (const auto& seg : list_dead_letter_segments(directory))
    for (const auto& line : test::read_lines(seg.path)) {
      DeadLetterEntry e;
      if (!line.empty() && parse_dead_letter_entry(line, e)) out.push_back(std::move(e));
    }
  return out;
}

PipelineSettings dlq_settings(const test::TempDir& dir, const std::string& id) {
  PipelineSettings s = settings(1, 16, 5);
  s.id = id;
  s.dead_letter_queue.enabled = true;
  s.dead_letter_queue.path = dir.file("dlq");
  s.dead_letter_queue.flush_interval_ms = 50;
  s.dead_letter_queue.failure_tags = {"_grokparsefailure"};
  s.path_data = dir.file("data");
  return s;
}

void run_to_end(Pipeline& p) {
  p.start();
  ASSERT_TRUE(p.wait_for(30000)) << "pipeline did not finish";
}

// Writes `count` events tagged as grok failures into the DLQ of pipeline `origin`.
void fill_dlq(const test::TempDir& dir, int count, const std::string& message) {
  auto key = unique_key("fill");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => " + std::to_string(count) +
                             " message => '" + message + "' } }\n"
                             "filter { mutate { add_tag => ['_grokparsefailure'] } }\n"
                             "output { rt_collect { key => '" + key + "' } }",
                         dlq_settings(dir, "origin"));
  run_to_end(*p);
  ASSERT_EQ(source(key)->acked_events.load(), uint64_t(count));
  ASSERT_EQ(collector(key)->size(), 0u);
}

std::string reader_config(const test::TempDir& dir, const std::string& key, const std::string& extra = "") {
  return "input { dead_letter_queue { path => '" + dir.file("dlq") + "' pipeline_id => 'origin' " + extra + " } }\n"
         "filter { mutate { add_field => { 'dlq_reason' => '%{[@metadata][dead_letter_queue][reason]}' "
         "'dlq_plugin' => '%{[@metadata][dead_letter_queue][plugin_type]}/%{[@metadata][dead_letter_queue][plugin_id]}' } } }\n"
         "output { rt_collect { key => '" + key + "' } }";
}

PipelineSettings reader_settings(const test::TempDir& dir) {
  PipelineSettings s = settings(1, 16, 5);
  s.id = "reader";
  s.path_data = dir.file("data");
  return s;
}

TEST(DeadLetterQueue, FilterFailureTagsGoToTheDlqNotTheOutputs) {
  test::TempDir dir;
  auto key = unique_key("dlq_tags");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 30 } }\n"
                         "filter { if [seq] < 10 { mutate { add_tag => ['_grokparsefailure'] } } }\n"
                         "output { rt_collect { key => '" + key + "' } }",
                         dlq_settings(dir, "tags"));
  run_to_end(*p);
  EXPECT_EQ(source(key)->acked_events.load(), 30u);  // the DLQ'd ones are acknowledged too
  auto collected = collector(key)->snapshot();
  ASSERT_EQ(collected.size(), 20u);
  for (const auto& e : collected) EXPECT_GE(e.seq, 10);
  auto entries = dlq_entries(dir.file("dlq/tags"));
  ASSERT_EQ(entries.size(), 10u);
  EXPECT_EQ(entries[0].plugin_type, "pipeline");
  EXPECT_EQ(entries[0].plugin_id, "tags");
  EXPECT_NE(entries[0].reason.find("_grokparsefailure"), std::string::npos);
  EXPECT_EQ(p->metrics().events_filtered.load(), 20u);
  EXPECT_EQ(p->metrics().dead_letter_queue.events_written.load(), 10u);
}

TEST(DeadLetterQueue, ConditionalErrorsGoToTheDlqWhenAsked) {
  test::TempDir dir;
  auto key = unique_key("dlq_cond");
  PipelineSettings s = dlq_settings(dir, "cond");
  s.dead_letter_queue.failure_tags.clear();
  s.dead_letter_queue.conditional_errors = true;
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 12 } }\n"
                         "filter { if [seq] < 4 { mutate { add_field => { 'n' => 'text' } } }\n"
                         "  else { mutate { add_field => { 'n' => '7' } } mutate { convert => { 'n' => 'integer' } } }\n"
                         "  if [n] > 5 { mutate { add_tag => ['big'] } } }\n"
                         "output { rt_collect { key => '" + key + "' } }",
                         s);
  run_to_end(*p);
  EXPECT_EQ(source(key)->acked_events.load(), 12u);
  auto entries = dlq_entries(dir.file("dlq/cond"));
  auto collected = collector(key)->snapshot();
  // "text" > 5 cannot be evaluated: those 4 go to the DLQ; the others compare fine.
  EXPECT_EQ(entries.size(), 4u);
  EXPECT_EQ(collected.size(), 8u);
  for (const auto& e : entries) EXPECT_NE(e.reason.find("_conditional_evaluation_error"), std::string::npos);
}

TEST(DeadLetterQueue, InputReadsEntriesWithTheirMetadata) {
  test::TempDir dir;
  fill_dlq(dir, 20, "first");
  auto key = unique_key("dlq_read");
  auto p = make_pipeline(reader_config(dir, key, "sincedb_path => '" + dir.file("sincedb") + "'"), reader_settings(dir));
  p->start();
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() >= 20; }));
  p->request_stop();
  ASSERT_TRUE(p->wait_for(30000));
  auto collected = collector(key)->snapshot();
  ASSERT_EQ(collected.size(), 20u);
  EXPECT_EQ(collected[0].message, "first");
  EXPECT_NE(collected[0].json.find("\"dlq_reason\":\"event tagged _grokparsefailure"), std::string::npos) << collected[0].json;
  EXPECT_NE(collected[0].json.find("\"dlq_plugin\":\"pipeline/origin\""), std::string::npos) << collected[0].json;
  std::set<int64_t> seqs;
  for (const auto& e : collected) seqs.insert(e.seq);
  EXPECT_EQ(seqs.size(), 20u);
  EXPECT_TRUE(fs::exists(dir.file("sincedb")));
}

TEST(DeadLetterQueue, CommitOffsetsSurviveARestart) {
  test::TempDir dir;
  fill_dlq(dir, 15, "first");
  {
    auto key = unique_key("dlq_r1");
    auto p = make_pipeline(reader_config(dir, key), reader_settings(dir));
    p->start();
    ASSERT_TRUE(test_wait([&] { return collector(key)->size() >= 15; }));
    p->request_stop();
    ASSERT_TRUE(p->wait_for(30000));
    EXPECT_EQ(collector(key)->size(), 15u);
  }
  // Default sincedb location under path.data.
  EXPECT_TRUE(fs::exists(dir.file("data/plugins/inputs/dead_letter_queue/origin/.sincedb")));
  fill_dlq(dir, 5, "second");
  auto key = unique_key("dlq_r2");
  auto p = make_pipeline(reader_config(dir, key), reader_settings(dir));
  p->start();
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() >= 5; }));
  p->request_stop();
  ASSERT_TRUE(p->wait_for(30000));
  // Segments are read in order: had the first 15 come again, they would be here, before these.
  auto collected = collector(key)->snapshot();
  ASSERT_EQ(collected.size(), 5u);
  for (const auto& e : collected) EXPECT_EQ(e.message, "second");
}

TEST(DeadLetterQueue, WithoutCommitOffsetsARestartReadsEverythingAgain) {
  test::TempDir dir;
  fill_dlq(dir, 6, "again");
  for (int run = 0; run < 2; ++run) {
    auto key = unique_key("dlq_nocommit");
    auto p = make_pipeline(reader_config(dir, key, "commit_offsets => false"), reader_settings(dir));
    p->start();
    ASSERT_TRUE(test_wait([&] { return collector(key)->size() >= 6; }));
    p->request_stop();
    ASSERT_TRUE(p->wait_for(30000));
    EXPECT_EQ(collector(key)->size(), 6u);
  }
}

TEST(DeadLetterQueue, CleanConsumedRemovesReadSegments) {
  test::TempDir dir;
  fill_dlq(dir, 10, "gone");
  ASSERT_FALSE(list_dead_letter_segments(dir.file("dlq/origin")).empty());
  auto key = unique_key("dlq_clean");
  auto p = make_pipeline(reader_config(dir, key, "clean_consumed => true"), reader_settings(dir));
  p->start();
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() >= 10; }));
  EXPECT_TRUE(test_wait([&] { return list_dead_letter_segments(dir.file("dlq/origin")).empty(); }));
  p->request_stop();
  ASSERT_TRUE(p->wait_for(30000));
  // The writer keeps numbering after the removed segments.
  fill_dlq(dir, 2, "later");
  auto segments = list_dead_letter_segments(dir.file("dlq/origin"));
  ASSERT_EQ(segments.size(), 1u);
  EXPECT_GT(segments[0].number, 1u);
}

TEST(DeadLetterQueue, StartTimestampSkipsOlderEntries) {
  test::TempDir dir;
  fill_dlq(dir, 4, "old");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // entry times are in milliseconds
  std::string start;
  format_iso8601(Timestamp::now(), start);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  fill_dlq(dir, 3, "new");
  auto key = unique_key("dlq_start");
  auto p = make_pipeline(reader_config(dir, key, "start_timestamp => '" + start + "'"), reader_settings(dir));
  p->start();
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() >= 3; }));
  p->request_stop();
  ASSERT_TRUE(p->wait_for(30000));
  auto collected = collector(key)->snapshot();
  ASSERT_EQ(collected.size(), 3u);
  for (const auto& e : collected) EXPECT_EQ(e.message, "new");
}

// sluice: without `path` (and `bucket`), the input reads the DLQ its own pipeline settings name.
TEST(DeadLetterQueue, InputWithoutPathReadsTheDlqOfItsPipelineSettings) {
  test::TempDir dir;
  fill_dlq(dir, 7, "settings");
  auto key = unique_key("dlq_settings");
  PipelineSettings s = reader_settings(dir);
  s.dead_letter_queue.path = dir.file("dlq");  // path.dead_letter_queue; the reader's own DLQ stays disabled
  auto p = make_pipeline("input { dead_letter_queue { pipeline_id => 'origin' } }\noutput { rt_collect { key => '" + key + "' } }", s);
  p->start();
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() >= 7; }));
  p->request_stop();
  ASSERT_TRUE(p->wait_for(30000));
  auto collected = collector(key)->snapshot();
  ASSERT_EQ(collected.size(), 7u);
  for (const auto& e : collected) EXPECT_EQ(e.message, "settings");
}

TEST(DeadLetterQueue, BadInputOptionsAreConfigErrors) {
  test::TempDir dir;
  try {
    make_pipeline("input { dead_letter_queue { path => '" + dir.path().string() + "' commit_offsets => false clean_consumed => true } }\n"
                  "output { rt_collect {} }");
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("test.conf:1:"), std::string::npos) << e.what();
  }
  try {
    make_pipeline("input { dead_letter_queue { path => '" + dir.path().string() + "' start_timestamp => 'yesterday' } }\noutput { rt_collect {} }");
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("start_timestamp"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sluice
