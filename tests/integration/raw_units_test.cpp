// Raw units (InputContext::push_unit): an input queues undecoded units and the worker that takes
// them builds the events, so an event is decoded on the thread that writes it. Acks still follow
// every event: a unit decoded into several events holds its chunk until all are done, a unit
// decoded into none releases it at once.
#include <gtest/gtest.h>

#include <map>

#include "pipeline_test_plugins.h"

namespace sluice {
namespace {

using namespace rt_test;

std::string config_with_units(const std::string& key, int count, int chunk, int events_per_unit,
                              const std::string& filter = "") {
  return "input { rt_source { key => '" + key + "' count => " + std::to_string(count) + " chunk => " +
         std::to_string(chunk) + " unit_events => " + std::to_string(events_per_unit) +
         " message => 'from a unit' type => 'units' } }\n" + (filter.empty() ? "" : "filter { " + filter + " }\n") +
         "output { rt_collect { key => '" + key + "' source => '" + key + "' } }";
}

TEST(RawUnits, AreDecodedOnTheWorkerThatWritesTheEvent) {
  auto key = unique_key("units_thread");
  auto p = make_pipeline(config_with_units(key, 400, 9, 1), settings(2, 16, 1));
  p->start();
  ASSERT_TRUE(p->wait_for(30000));
  auto events = collector(key)->snapshot();
  ASSERT_EQ(events.size(), 400u);
  std::map<int64_t, int> seen;
  for (const Collected& c : events) {
    ++seen[c.seq];
    EXPECT_EQ(c.message, "from a unit");
    EXPECT_EQ(c.type, "units");  // the input's decoration applies to decoded events
    ASSERT_FALSE(c.decoded_on.empty());
    EXPECT_NE(c.decoded_on, source(key)->input_thread);
    EXPECT_EQ(c.decoded_on, c.written_on);
  }
  EXPECT_EQ(seen.size(), 400u);  // each once
  EXPECT_EQ(collector(key)->arrived_already_acked.load(), 0u);
  EXPECT_EQ(source(key)->acked_events.load(), 400u);
  EXPECT_EQ(source(key)->acked_chunks.size(), source(key)->chunks_created.load());
}

TEST(RawUnits, AUnitDecodedIntoSeveralEventsIsDoneOnlyWhenAllAre) {
  auto key = unique_key("units_two");
  auto p = make_pipeline(config_with_units(key, 150, 7, 2, "if [seq] >= 100 { rt_drop {} }"), settings(2, 8, 1));
  p->start();
  ASSERT_TRUE(p->wait_for(30000));
  EXPECT_EQ(collector(key)->size(), 200u);  // two per unit, units 100.. dropped
  EXPECT_EQ(collector(key)->arrived_already_acked.load(), 0u);
  EXPECT_EQ(source(key)->acked_events.load(), 150u);  // counts units
  EXPECT_EQ(source(key)->acked_chunks.size(), source(key)->chunks_created.load());
}

TEST(RawUnits, AUnitDecodedIntoNoEventIsDoneAtOnce) {
  auto key = unique_key("units_none");
  auto p = make_pipeline(config_with_units(key, 90, 10, 0), settings(1, 16, 1));
  p->start();
  ASSERT_TRUE(p->wait_for(30000));
  EXPECT_EQ(collector(key)->size(), 0u);
  EXPECT_EQ(source(key)->acked_events.load(), 90u);
  EXPECT_EQ(source(key)->acked_chunks.size(), 9u);
}

}  // namespace
}  // namespace sluice
