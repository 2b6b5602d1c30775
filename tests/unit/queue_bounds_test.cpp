// The bounded event queue: FIFO, bounds by events and by bytes, blocking pushes, batch
// delay, close and drain.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/event_pool.h"
#include "runtime/queue.h"

namespace sluice {
namespace {

using std::chrono::milliseconds;

std::vector<EventQueue::Item> make_group(int n, int first_seq = 0, uint32_t bytes = 100) {
  std::vector<EventQueue::Item> group;
  for (int i = 0; i < n; ++i) {
    Event* e = new_event();
    e->fields()["seq"].set_int(first_seq + i);
    group.push_back({e, nullptr, bytes});
  }
  return group;
}

int64_t seq_of(Event* e) { return e->fields().find("seq")->as_int(); }

void free_all(std::vector<Event*>& events) {
  for (Event* e : events) free_event(e);
  events.clear();
}

TEST(EventQueue, KeepsOrderAcrossGroupsAndBatches) {
  PipelineMetrics metrics;
  EventQueue queue(100, 1 << 20, &metrics);
  auto a = make_group(5, 0);
  auto b = make_group(5, 5);
  ASSERT_TRUE(queue.push(a));
  ASSERT_TRUE(queue.push(b));
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(queue.size(), 10u);
  EXPECT_EQ(metrics.queue_events.load(), 10);
  EXPECT_EQ(metrics.queue_bytes.load(), 1000);
  std::vector<Event*> out;
  EXPECT_EQ(queue.pop_batch(out, 4, milliseconds(0), milliseconds(0)), 4u);
  EXPECT_EQ(queue.pop_batch(out, 100, milliseconds(0), milliseconds(0)), 6u);
  ASSERT_EQ(out.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(seq_of(out[size_t(i)]), i);
  EXPECT_EQ(metrics.queue_events.load(), 0);
  EXPECT_EQ(metrics.queue_bytes.load(), 0);
  free_all(out);
}

TEST(EventQueue, FullByEventsBlocksThePusherUntilAPop) {
  PipelineMetrics metrics;
  EventQueue queue(4, 1 << 20, &metrics);
  std::atomic<bool> pushed{false};
  std::thread pusher([&] {
    auto group = make_group(10);
    EXPECT_TRUE(queue.push(group));
    pushed.store(true);
  });
  std::vector<Event*> out;
  // The pusher can only have placed 4 events; it must be waiting for room.
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(pushed.load());
  EXPECT_EQ(queue.size(), 4u);
  size_t total = 0;
  while (total < 10) {
    EXPECT_LE(queue.size(), 4u);
    total += queue.pop_batch(out, 3, milliseconds(0), milliseconds(100));
  }
  pusher.join();
  EXPECT_TRUE(pushed.load());
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(seq_of(out[i]), int64_t(i));
  EXPECT_GT(metrics.queue_push_duration_nanos.load(), 0u);
  free_all(out);
}

TEST(EventQueue, FullByBytesBlocksButAnOversizeEventPassesAlone) {
  EventQueue queue(100, 250);
  auto group = make_group(2, 0, 100);
  ASSERT_TRUE(queue.push(group));
  EXPECT_EQ(queue.bytes(), 200u);
  std::atomic<bool> pushed{false};
  std::thread pusher([&] {
    auto more = make_group(1, 2, 100);  // 300 > 250: must wait
    EXPECT_TRUE(queue.push(more));
    auto huge = make_group(1, 3, 1000);  // larger than the bound: admitted into an empty queue
    EXPECT_TRUE(queue.push(huge));
    pushed.store(true);
  });
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(queue.size(), 2u);
  std::vector<Event*> out;
  while (out.size() < 4) {
    EXPECT_LE(queue.bytes(), 1000u);
    queue.pop_batch(out, 1, milliseconds(0), milliseconds(100));
  }
  pusher.join();
  EXPECT_TRUE(pushed.load());
  EXPECT_EQ(seq_of(out[3]), 3);
  free_all(out);
}

TEST(EventQueue, BatchDelayWaitsForMoreThenGivesUp) {
  EventQueue queue(100, 1 << 20);
  auto group = make_group(3);
  ASSERT_TRUE(queue.push(group));
  std::vector<Event*> out;
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(queue.pop_batch(out, 10, milliseconds(30), milliseconds(0)), 3u);
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(25));
  free_all(out);
  // A late push completes a waiting batch.
  std::thread pusher([&] {
    std::this_thread::sleep_for(milliseconds(20));
    auto late = make_group(5);
    queue.push(late);
  });
  auto first = make_group(5);
  queue.push(first);
  EXPECT_EQ(queue.pop_batch(out, 10, milliseconds(5000), milliseconds(0)), 10u);
  pusher.join();
  free_all(out);
}

// An input with nothing more to give (a batch job's last lines) lets a partial batch go at once,
// whether the worker was already waiting for it to fill or comes afterwards; the next push
// restores the wait. The fill delays are minutes: only the hint can end these pops early.
TEST(EventQueue, IdleInputsLetAPartialBatchGoWithoutTheBatchDelay) {
  EventQueue queue(100, 1 << 20);
  const auto long_delay = std::chrono::minutes(5);
  auto first = make_group(3);
  ASSERT_TRUE(queue.push(first));
  std::vector<Event*> out;
  std::atomic<bool> popped{false};
  std::thread popper([&] {
    EXPECT_EQ(queue.pop_batch(out, 10, std::chrono::duration_cast<milliseconds>(long_delay), milliseconds(0)), 3u);
    popped = true;
  });
  std::this_thread::sleep_for(milliseconds(50));  // the popper is (most likely) waiting to fill
  queue.inputs_idle();
  auto started = std::chrono::steady_clock::now();
  popper.join();
  EXPECT_TRUE(popped.load());
  EXPECT_LT(std::chrono::steady_clock::now() - started, long_delay / 2);
  free_all(out);

  auto second = make_group(2);
  ASSERT_TRUE(queue.push(second));
  queue.inputs_idle();  // before the worker comes
  EXPECT_EQ(queue.pop_batch(out, 10, std::chrono::duration_cast<milliseconds>(long_delay), milliseconds(0)), 2u);
  free_all(out);

  // A push after the hint: the batch waits to fill again (here, until the late push completes it).
  auto third = make_group(4);
  ASSERT_TRUE(queue.push(third));
  std::thread pusher([&] {
    std::this_thread::sleep_for(milliseconds(20));
    auto late = make_group(6);
    queue.push(late);
  });
  EXPECT_EQ(queue.pop_batch(out, 10, milliseconds(60000), milliseconds(0)), 10u);
  pusher.join();
  free_all(out);
}

TEST(EventQueue, CloseDrainsThenReportsDrained) {
  EventQueue queue(10, 1 << 20);
  auto group = make_group(3);
  ASSERT_TRUE(queue.push(group));
  queue.close();
  EXPECT_TRUE(queue.closed());
  EXPECT_FALSE(queue.drained());
  auto rejected = make_group(2);
  EXPECT_FALSE(queue.push(rejected));
  EXPECT_EQ(rejected.size(), 2u);  // left with the caller
  for (auto& item : rejected) free_event(item.event);
  std::vector<Event*> out;
  EXPECT_EQ(queue.pop_batch(out, 10, milliseconds(1000), milliseconds(1000)), 3u);
  EXPECT_EQ(queue.pop_batch(out, 10, milliseconds(1000), milliseconds(1000)), 0u);
  EXPECT_TRUE(queue.drained());
  free_all(out);
}

TEST(EventQueue, CloseWakesABlockedPusher) {
  EventQueue queue(2, 1 << 20);
  auto group = make_group(2);
  ASSERT_TRUE(queue.push(group));
  std::atomic<bool> result{true};
  std::thread pusher([&] {
    auto more = make_group(3);
    result.store(queue.push(more));
    for (auto& item : more) free_event(item.event);
  });
  std::this_thread::sleep_for(milliseconds(30));
  queue.close();
  pusher.join();
  EXPECT_FALSE(result.load());
}

TEST(EventQueue, IdleWaitReturnsNothingWhenEmpty) {
  EventQueue queue(10, 1 << 20);
  std::vector<Event*> out;
  EXPECT_EQ(queue.pop_batch(out, 5, milliseconds(0), milliseconds(10)), 0u);
  EXPECT_FALSE(queue.drained());
}

TEST(EventQueue, DestructionFreesQueuedEventsWithoutAcknowledgingThem) {
  struct Listener : AckListener {
    int count = 0;
    void acked(uint64_t) override { ++count; }
  } listener;
  {
    EventQueue queue(10, 1 << 20);
    AckToken* token = AckToken::create(&listener, 1);
    auto group = make_group(3);
    for (auto& item : group) item.event->attach_ack(token);
    token->release();
    ASSERT_TRUE(queue.push(group));
    EXPECT_EQ(listener.count, 0);
  }
  // The events were never processed: their chunk must not look done to the source.
  EXPECT_EQ(listener.count, 0);
}

TEST(EventQueue, RawUnitsCountAsEventsAndAQueuedUnitKeepsItsChunkOpen) {
  struct Listener : AckListener {
    int count = 0;
    void acked(uint64_t) override { ++count; }
  } listener;
  {
    EventQueue queue(3, 1 << 20);
    AckToken* token = AckToken::create(&listener, 1);
    std::vector<EventQueue::Item> group;
    for (int i = 0; i < 2; ++i) {
      RawUnit* unit = new_raw_unit();
      unit->bytes = "line";
      token->retain();  // the unit's hold, as InputRunner takes it
      unit->token = token;
      group.push_back({nullptr, unit, 10});
    }
    token->release();  // the input's own hold
    ASSERT_TRUE(queue.push(group));
    EXPECT_EQ(queue.size(), 2u);
    std::vector<EventQueue::Item> out;
    ASSERT_EQ(queue.pop_batch(out, 1, milliseconds(0), milliseconds(0)), 1u);
    ASSERT_NE(out[0].unit, nullptr);
    EXPECT_EQ(out[0].unit->bytes, "line");
    token->release();  // the popped unit is done (decoded into no event)
    free_raw_unit(out[0].unit);
    EXPECT_EQ(listener.count, 0);  // the other unit is still queued
  }
  // Destroyed unprocessed: the chunk stays open for the source to offer it again.
  EXPECT_EQ(listener.count, 0);
}


// A RawUnit may pack several units: the item counts as that many events, for the bound and
// for the batch size, and a batch never splits it.
TEST(EventQueue, PackedUnitsCountAsTheirUnitsAndAreTakenWhole) {
  auto pack = [](int units) {
    RawUnit* unit = new_raw_unit();
    for (int i = 0; i < units; ++i) unit->append_unit("line " + std::to_string(i));
    return EventQueue::Item{nullptr, unit, 10, uint32_t(units)};
  };
  EventQueue queue(8, 1 << 20);
  std::vector<EventQueue::Item> group{pack(3), pack(3)};
  ASSERT_TRUE(queue.push(group));
  EXPECT_EQ(queue.size(), 6u);
  // A third pack of 3 does not fit in 8 events: the pusher waits.
  std::vector<EventQueue::Item> more{pack(3)};
  EXPECT_FALSE(queue.try_push_all(more, milliseconds(0)));
  ASSERT_EQ(more.size(), 1u);
  std::vector<EventQueue::Item> out;
  // 4 events asked: the first pack whole (3), not the second (3 + 3 > 4).
  ASSERT_EQ(queue.pop_batch(out, 4, milliseconds(0), milliseconds(0)), 3u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].unit->unit_count(), 3u);
  EXPECT_EQ(out[0].unit->unit(2), "line 2");
  EXPECT_EQ(queue.size(), 3u);
  // Fewer asked than the first pack holds: it still comes whole (a batch takes at least one item).
  ASSERT_EQ(queue.pop_batch(out, 1, milliseconds(0), milliseconds(0)), 3u);
  EXPECT_EQ(queue.size(), 0u);
  ASSERT_TRUE(queue.push(more));
  ASSERT_EQ(queue.pop_batch(out, 100, milliseconds(0), milliseconds(0)), 3u);
  for (auto& item : out) free_raw_unit(item.unit);
}

}  // namespace
}  // namespace sluice
