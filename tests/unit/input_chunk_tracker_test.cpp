#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "plugins/inputs/file/chunk_tracker.h"

namespace sluice::file_input {
namespace {

TEST(InputChunkTracker, InOrderAcksAdvance) {
  ChunkTracker t(0);
  uint64_t a = t.add(100), b = t.add(250);
  EXPECT_EQ(t.committed(), 0u);
  EXPECT_TRUE(t.ack(a));
  EXPECT_EQ(t.committed(), 100u);
  EXPECT_TRUE(t.ack(b));
  EXPECT_EQ(t.committed(), 250u);
  EXPECT_EQ(t.pending(), 0u);
}

TEST(InputChunkTracker, OutOfOrderAckWaitsForTheGap) {
  ChunkTracker t(10);
  uint64_t a = t.add(100), b = t.add(200), c = t.add(300);
  EXPECT_FALSE(t.ack(c));
  EXPECT_FALSE(t.ack(b));
  EXPECT_EQ(t.committed(), 10u);  // chunk a is still out
  EXPECT_EQ(t.pending(), 3u);
  EXPECT_TRUE(t.ack(a));
  EXPECT_EQ(t.committed(), 300u);  // the whole prefix at once
  EXPECT_EQ(t.pending(), 0u);
}

TEST(InputChunkTracker, DoubleAndUnknownAcksAreIgnored) {
  ChunkTracker t(0);
  uint64_t a = t.add(5);
  EXPECT_TRUE(t.ack(a));
  EXPECT_FALSE(t.ack(a));
  EXPECT_FALSE(t.ack(a + 100));
  EXPECT_EQ(t.committed(), 5u);
}

TEST(InputChunkTracker, RebaseForgetsPendingChunks) {
  ChunkTracker t(0);
  uint64_t a = t.add(1000), b = t.add(2000);
  t.rebase(0);  // the file was truncated
  EXPECT_EQ(t.pending(), 0u);
  EXPECT_FALSE(t.ack(a));
  EXPECT_FALSE(t.ack(b));
  EXPECT_EQ(t.committed(), 0u);  // stale acks from before the truncation move nothing
  uint64_t c = t.add(40);
  EXPECT_GT(c, b);
  EXPECT_TRUE(t.ack(c));
  EXPECT_EQ(t.committed(), 40u);
}

TEST(InputChunkTracker, RandomOrderAlwaysCommitsTheContiguousPrefix) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    ChunkTracker t(0);
    std::vector<uint64_t> seqs;
    for (uint64_t i = 1; i <= 40; ++i) seqs.push_back(t.add(i * 10));
    std::vector<uint64_t> order = seqs;
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<bool> done(40, false);
    for (uint64_t s : order) {
      t.ack(s);
      done[s - seqs[0]] = true;
      uint64_t prefix = 0;
      while (prefix < 40 && done[prefix]) ++prefix;
      ASSERT_EQ(t.committed(), prefix * 10);
    }
    EXPECT_EQ(t.pending(), 0u);
  }
}

}  // namespace
}  // namespace sluice::file_input
