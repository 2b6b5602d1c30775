// End-to-end acknowledgement inside one pipeline: a source hears that a chunk is done only
// after every output took its events; dropped events count as done; events an output failed
// to take are never acknowledged.
#include <gtest/gtest.h>

#include "pipeline_test_plugins.h"

namespace sluice {
namespace {

using namespace rt_test;

TEST(Acks, ChunksAreAcknowledgedOnlyAfterEveryOutput) {
  auto key = unique_key("acks_after");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 500 chunk => 9 } }\n"
                         "output {\n"
                         "  rt_collect { key => '" + key + "' source => '" + key + "' }\n"
                         "  rt_collect { key => '" + key + "_second' source => '" + key + "' delay_ms => 1 }\n"
                         "}",
                         settings(3, 8, 1));
  p->start();
  ASSERT_TRUE(p->wait_for(30000));
  EXPECT_EQ(collector(key)->size(), 500u);
  EXPECT_EQ(collector(key + "_second")->size(), 500u);
  // No output ever saw an event of a chunk that was already acknowledged.
  EXPECT_EQ(collector(key)->arrived_already_acked.load(), 0u);
  EXPECT_EQ(collector(key + "_second")->arrived_already_acked.load(), 0u);
  EXPECT_EQ(source(key)->acked_events.load(), 500u);
  EXPECT_EQ(source(key)->acked_chunks.size(), source(key)->chunks_created.load());
}

TEST(Acks, ConditionalOutputsStillAcknowledgeEveryEvent) {
  auto key = unique_key("acks_cond");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 100 chunk => 10 } }\n"
                         "output { if [seq] < 10 { rt_collect { key => '" + key + "' source => '" + key + "' } } }");
  p->start();
  ASSERT_TRUE(p->wait_for(30000));
  EXPECT_EQ(collector(key)->size(), 10u);
  EXPECT_EQ(source(key)->acked_events.load(), 100u);
}

TEST(Acks, DroppedEventsReleaseTheirAcks) {
  auto key = unique_key("acks_drop");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 200 chunk => 7 } }\n"
                         "filter { if [seq] >= 50 { rt_drop {} } }\n"
                         "output { rt_collect { key => '" + key + "' source => '" + key + "' } }");
  p->start();
  ASSERT_TRUE(p->wait_for(30000));
  EXPECT_EQ(collector(key)->size(), 50u);
  EXPECT_EQ(source(key)->acked_events.load(), 200u);
  EXPECT_EQ(p->metrics().events_filtered.load(), 50u);
}

TEST(Acks, ClonesHoldTheSourceChunkToo) {
  auto key = unique_key("acks_clone");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 60 chunk => 6 } }\n"
                         "filter { rt_clone { copies => 3 } if [clone] { rt_mark {} } else { rt_drop {} } }\n"
                         "output { rt_collect { key => '" + key + "' source => '" + key + "' delay_ms => 1 } }");
  p->start();
  ASSERT_TRUE(p->wait_for(30000));
  EXPECT_EQ(collector(key)->size(), 180u);
  EXPECT_EQ(collector(key)->arrived_already_acked.load(), 0u);
  EXPECT_EQ(source(key)->acked_events.load(), 60u);
}

TEST(Acks, EventsAnOutputFailedToTakeAreNeverAcknowledged) {
  auto key = unique_key("acks_fail");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 40 chunk => 10 } }\n"
                         "output { if [seq] >= 20 { rt_collect { key => '" + key + "' throw => true } } }",
                         settings(1, 10, 1));
  p->start();
  ASSERT_TRUE(p->wait_for(30000)) << "a failing output must not block the pipeline";
  // Chunks 0 and 1 (seq 0..19) bypass the failing output; chunks 2 and 3 must stay unacknowledged.
  auto state = source(key);
  EXPECT_TRUE(state->chunk_acked(0));
  EXPECT_TRUE(state->chunk_acked(1));
  EXPECT_FALSE(state->chunk_acked(2));
  EXPECT_FALSE(state->chunk_acked(3));
  EXPECT_EQ(state->acked_events.load(), 20u);
  EXPECT_GT(p->metrics().plugin_errors.load(), 0u);
}

}  // namespace
}  // namespace sluice
