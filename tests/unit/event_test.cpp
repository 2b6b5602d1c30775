// Event: field access, tags, clones and acknowledgement, pool reuse.
#include "core/event.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "core/event_pool.h"

namespace sluice {
namespace {

class CountingListener : public AckListener {
 public:
  void acked(uint64_t chunk_id) override {
    ++count;
    last_chunk = chunk_id;
  }
  int count = 0;
  uint64_t last_chunk = 0;
};

TEST(EventTest, InitWithMessage) {
  Event e;
  e.init_with_message("hello", Timestamp::from_seconds(10));
  EXPECT_EQ(e.get(FieldRef::of("message"))->as_string(), "hello");
  EXPECT_EQ(e.get(FieldRef::of("@version"))->as_string(), "1");
  EXPECT_EQ(e.timestamp(), Timestamp::from_seconds(10));
}

TEST(EventTest, PutCreatesIntermediateObjects) {
  Event e;
  e.set(FieldRef::of("[a][b][c]"), Value("deep"));
  const Value* a = e.get(FieldRef::of("a"));
  ASSERT_TRUE(a && a->is_object());
  EXPECT_EQ(e.get(FieldRef::of("[a][b][c]"))->as_string(), "deep");
}

TEST(EventTest, PutReplacesScalarsOnTheWay) {
  Event e;
  e.set(FieldRef::of("a"), Value("scalar"));
  e.set(FieldRef::of("[a][b]"), Value(1));
  EXPECT_EQ(e.get(FieldRef::of("[a][b]"))->as_int(), 1);
}

TEST(EventTest, GetMissesReturnNull) {
  Event e;
  e.set(FieldRef::of("a"), Value("scalar"));
  EXPECT_EQ(e.get(FieldRef::of("b")), nullptr);
  EXPECT_EQ(e.get(FieldRef::of("[a][b]")), nullptr);
  EXPECT_EQ(e.get(FieldRef()), nullptr);
}

TEST(EventTest, ArrayIndexing) {
  Event e;
  e.set(FieldRef::of("list"), Value(Array{Value("x"), Value("y"), Value("z")}));
  EXPECT_EQ(e.get(FieldRef::of("[list][0]"))->as_string(), "x");
  EXPECT_EQ(e.get(FieldRef::of("[list][-1]"))->as_string(), "z");
  EXPECT_EQ(e.get(FieldRef::of("[list][3]")), nullptr);
  EXPECT_EQ(e.get(FieldRef::of("[list][-4]")), nullptr);
  EXPECT_EQ(e.get(FieldRef::of("[list][x]")), nullptr);
  e.set(FieldRef::of("[list][1]"), Value("Y"));
  EXPECT_EQ(e.get(FieldRef::of("[list][1]"))->as_string(), "Y");
  e.set(FieldRef::of("[list][4]"), Value("grown"));  // pads with nulls
  ASSERT_EQ(e.get(FieldRef::of("list"))->as_array().size(), 5u);
  EXPECT_TRUE(e.get(FieldRef::of("[list][3]"))->is_null());
  EXPECT_TRUE(e.remove(FieldRef::of("[list][0]")));
  EXPECT_EQ(e.get(FieldRef::of("[list][0]"))->as_string(), "Y");
}

TEST(EventTest, MetadataIsSeparate) {
  Event e;
  e.set(FieldRef::of("[@metadata][index]"), Value("logs"));
  EXPECT_EQ(e.fields().size(), 0u);
  EXPECT_EQ(e.metadata().find("index")->as_string(), "logs");
  EXPECT_EQ(e.get(FieldRef::of("[@metadata][index]"))->as_string(), "logs");
  EXPECT_TRUE(e.remove(FieldRef::of("[@metadata][index]")));
  EXPECT_TRUE(e.metadata().empty());
}

TEST(EventTest, Remove) {
  Event e;
  e.set(FieldRef::of("[a][b]"), Value(1));
  e.set(FieldRef::of("[a][c]"), Value(2));
  EXPECT_TRUE(e.remove(FieldRef::of("[a][b]")));
  EXPECT_FALSE(e.remove(FieldRef::of("[a][b]")));
  EXPECT_FALSE(e.remove(FieldRef::of("[x][y]")));
  EXPECT_TRUE(e.contains(FieldRef::of("[a][c]")));
  EXPECT_TRUE(e.remove(FieldRef::of("a")));
  EXPECT_FALSE(e.contains(FieldRef::of("a")));
}

TEST(EventTest, TagsStayUnique) {
  Event e;
  e.add_tag("a");
  e.add_tag("b");
  e.add_tag("a");
  const Value* tags = e.get(FieldRef::of("tags"));
  ASSERT_TRUE(tags && tags->is_array());
  EXPECT_EQ(tags->as_array().size(), 2u);
  EXPECT_TRUE(e.has_tag("b"));
  e.remove_tag("a");
  EXPECT_FALSE(e.has_tag("a"));
  EXPECT_EQ(tags->as_array().size(), 1u);
}

TEST(EventTest, ScalarTagsBecomeAnArray) {
  Event e;
  e.set(FieldRef::of("tags"), Value("first"));
  EXPECT_TRUE(e.has_tag("first"));
  e.add_tag("second");
  const Value* tags = e.get(FieldRef::of("tags"));
  ASSERT_TRUE(tags->is_array());
  ASSERT_EQ(tags->as_array().size(), 2u);
  EXPECT_EQ(tags->as_array()[0].as_string(), "first");
}

TEST(EventTest, CloneIsDeepAndSharesAck) {
  CountingListener listener;
  AckToken* token = AckToken::create(&listener, 7);
  auto* original = new Event();
  original->init_with_message("m", Timestamp::from_seconds(1));
  original->set(FieldRef::of("[nested][k]"), Value("v"));
  original->attach_ack(token);
  token->release();  // the input hands the chunk over
  EXPECT_EQ(listener.count, 0);

  auto* clone = new Event(*original);
  EXPECT_EQ(clone->ack_token(), token);
  clone->set(FieldRef::of("[nested][k]"), Value("changed"));
  EXPECT_EQ(original->get(FieldRef::of("[nested][k]"))->as_string(), "v");

  delete original;
  EXPECT_EQ(listener.count, 0);  // the clone still holds the chunk
  delete clone;
  EXPECT_EQ(listener.count, 1);
  EXPECT_EQ(listener.last_chunk, 7u);
}

TEST(EventTest, ResetReleasesAck) {
  CountingListener listener;
  AckToken* token = AckToken::create(&listener, 1);
  Event e;
  e.attach_ack(token);
  token->release();
  e.cancel();
  e.reset();
  EXPECT_EQ(listener.count, 1);
  EXPECT_FALSE(e.cancelled());
  EXPECT_EQ(e.ack_token(), nullptr);
}

TEST(EventTest, AdoptFieldsNormalizesLikeLogstash) {
  Event e;
  Object fields;
  fields["@timestamp"] = Value("2024-05-01T12:00:00.5Z");
  fields["@metadata"].make_object()["k"] = Value("meta");
  fields["a"] = Value(1);
  adopt_fields(e, fields);
  EXPECT_EQ(e.timestamp(), Timestamp::from_seconds(1714564800, 500000000));
  EXPECT_EQ(e.metadata().find("k")->as_string(), "meta");
  EXPECT_FALSE(e.fields().contains("@metadata"));
  EXPECT_EQ(e.fields().find("@version")->as_string(), "1");

  Event bad;
  Object bad_fields;
  bad_fields["@timestamp"] = Value("not a time");
  adopt_fields(bad, bad_fields);
  EXPECT_TRUE(bad.has_tag("_timestampparsefailure"));
  EXPECT_EQ(bad.fields().find("_@timestamp")->as_string(), "not a time");
  EXPECT_TRUE(bad.fields().find("@timestamp")->is_timestamp());
}

TEST(EventTest, ApproxBytesGrowsWithContent) {
  Event small, large;
  small.init_with_message("x", Timestamp{});
  large.init_with_message(std::string(10000, 'x'), Timestamp{});
  EXPECT_GT(large.approx_bytes(), small.approx_bytes() + 9000);
}

TEST(EventPoolTest, ReusesEventsOnOneThread) {
  Event* first = new_event();
  first->init_with_message("data", Timestamp{});
  free_event(first);
  Event* second = new_event();
  EXPECT_EQ(second, first);  // the thread cache hands back the last freed event
  EXPECT_TRUE(second->fields().empty());
  free_event(second);
}

TEST(EventPoolTest, BigEventsAreNotKept) {
  Event* big = new_event();
  big->init_with_message(std::string(1 << 20, 'x'), Timestamp{});
  free_event(big);  // deleted, not cached: the pool must not pin a megabyte per event
  Event* next = new_event();
  if (next == big) {
    // Same address reused by the allocator is possible; what matters is the storage.
    EXPECT_LT(next->fields().size(), 1u);
  }
  next->init_with_message("small", Timestamp{});
  EXPECT_LT(next->fields().find("message")->as_string().capacity(), size_t(1 << 20));
  free_event(next);
}

TEST(EventPoolTest, FreedEventReleasesAck) {
  CountingListener listener;
  AckToken* token = AckToken::create(&listener, 3);
  Event* e = new_event();
  e->attach_ack(token);
  token->release();
  free_event(e);
  EXPECT_EQ(listener.count, 1);
}

TEST(EventPoolTest, EventsFreedOnAnotherThreadComeBack) {
  // Allocate on this thread, free on a worker (which hands full blocks to the global list
  // and returns the rest at thread exit), then allocate again here.
  std::vector<Event*> made;
  for (int i = 0; i < 512; ++i) made.push_back(new_event());
  std::set<Event*> originals(made.begin(), made.end());
  std::thread worker([&] {
    for (Event* e : made) free_event(e);
  });
  worker.join();
  // Drain this thread's cache first, then the global blocks bring the worker's events.
  std::vector<Event*> again;
  int recycled = 0;
  for (int i = 0; i < 1024; ++i) {
    Event* e = new_event();
    if (originals.count(e)) ++recycled;
    again.push_back(e);
  }
  EXPECT_GT(recycled, 256);
  for (Event* e : again) free_event(e);
}

}  // namespace
}  // namespace sluice
