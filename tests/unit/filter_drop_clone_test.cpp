// The drop and clone filters: cancelling, percentages, clones in legacy and ECS modes, and
// the shared acknowledgement of clones.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "core/event_pool.h"
#include "runtime/options.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

class CollectingContext : public FilterContext {
 public:
  ~CollectingContext() override {
    for (Event* event : emitted) free_event(event);
  }
  Event* new_event() override { return sluice::new_event(); }
  void emit(Event* event) override { emitted.push_back(event); }
  std::vector<Event*> emitted;
};

class CountingListener : public AckListener {
 public:
  void acked(uint64_t) override { ++count; }
  int count = 0;
};

std::unique_ptr<Filter> make_filter(const std::string& block, const std::string& ecs = "v8") {
  config::PipelineConfig config = config::parse_config("filter { " + block + " }", "test.conf");
  const config::PluginBlock& plugin = *config.filters.at(0).plugin;
  const PluginEntry* entry = Registry::instance().find(PluginKind::Filter, plugin.name);
  if (!entry) throw std::runtime_error("no filter " + plugin.name);
  Options options = Options::validate(plugin, entry->schema);
  static PipelineSettings settings_v8, settings_disabled;
  settings_disabled.ecs_compatibility = "disabled";
  PluginContext context;
  context.id = plugin.name + "_test";
  context.settings = ecs == "disabled" ? &settings_disabled : &settings_v8;
  return entry->filter(options, context);
}

const std::string* string_field(const Event& event, const char* ref) {
  const Value* value = event.get(FieldRef::of(ref));
  return value && value->is_string() ? &value->as_string() : nullptr;
}

TEST(DropFilterTest, CancelsTheEvent) {
  auto drop = make_filter("drop { }");
  CollectingContext context;
  Event event;
  event.init_with_message("bye", Timestamp::from_seconds(1));
  EXPECT_TRUE(drop->filter(event, context));
  EXPECT_TRUE(event.cancelled());
}

TEST(DropFilterTest, PercentageZeroKeepsEverything) {
  auto drop = make_filter("drop { percentage => 0 }");
  CollectingContext context;
  for (int i = 0; i < 100; ++i) {
    Event event;
    drop->filter(event, context);
    EXPECT_FALSE(event.cancelled());
  }
}

TEST(DropFilterTest, PercentageDropsAboutThatShare) {
  auto drop = make_filter("drop { percentage => 40 }");
  CollectingContext context;
  int dropped = 0;
  for (int i = 0; i < 2000; ++i) {
    Event event;
    drop->filter(event, context);
    dropped += event.cancelled();
  }
  // Expected 800, standard deviation ~22: these bounds are ~9 sigma away.
  EXPECT_GT(dropped, 600);
  EXPECT_LT(dropped, 1000);
}

TEST(CloneFilterTest, EcsModeTagsEachCloneAndLeavesTheOriginal) {
  auto clone = make_filter(R"(clone { clones => ["sun", "moon"] })");
  CollectingContext context;
  Event event;
  event.init_with_message("hello", Timestamp::from_seconds(5));
  event.fields()["type"].set_string("original");
  EXPECT_FALSE(clone->filter(event, context));  // the original is not decorated
  ASSERT_EQ(context.emitted.size(), 2u);
  EXPECT_TRUE(context.emitted[0]->has_tag("sun"));
  EXPECT_FALSE(context.emitted[0]->has_tag("moon"));
  EXPECT_TRUE(context.emitted[1]->has_tag("moon"));
  EXPECT_EQ(*string_field(*context.emitted[1], "message"), "hello");
  EXPECT_EQ(*string_field(*context.emitted[1], "type"), "original");
  EXPECT_EQ(context.emitted[1]->timestamp(), Timestamp::from_seconds(5));
  EXPECT_EQ(event.get(FieldRef::of("tags")), nullptr);
}

TEST(CloneFilterTest, LegacyModeSetsType) {
  auto clone = make_filter(R"(clone { clones => ["copy"] })", "disabled");
  CollectingContext context;
  Event event;
  event.init_with_message("hello", Timestamp::from_seconds(5));
  event.metadata()["secret"].set_string("m");
  clone->filter(event, context);
  ASSERT_EQ(context.emitted.size(), 1u);
  EXPECT_EQ(*string_field(*context.emitted[0], "type"), "copy");
  EXPECT_EQ(context.emitted[0]->get(FieldRef::of("tags")), nullptr);
  EXPECT_EQ(*string_field(*context.emitted[0], "[@metadata][secret]"), "m");
  EXPECT_EQ(event.get(FieldRef::of("type")), nullptr);
}

TEST(CloneFilterTest, ExplicitEcsOptionWinsOverThePipeline) {
  auto clone = make_filter(R"(clone { clones => ["c"] ecs_compatibility => disabled })", "v8");
  CollectingContext context;
  Event event;
  clone->filter(event, context);
  ASSERT_EQ(context.emitted.size(), 1u);
  EXPECT_EQ(*string_field(*context.emitted[0], "type"), "c");
}

TEST(CloneFilterTest, ClonesShareTheAcknowledgement) {
  auto clone = make_filter(R"(clone { clones => ["a", "b"] })");
  CountingListener listener;
  AckToken* token = AckToken::create(&listener, 7);
  Event* original = new_event();
  original->attach_ack(token);
  token->release();  // the input hands the chunk over: only the event's hold remains
  {
    CollectingContext context;
    clone->filter(*original, context);
    ASSERT_EQ(context.emitted.size(), 2u);
    EXPECT_EQ(context.emitted[0]->ack_token(), token);
    free_event(original);
    EXPECT_EQ(listener.count, 0);  // the clones still hold it
    free_event(context.emitted.back());
    context.emitted.pop_back();
    EXPECT_EQ(listener.count, 0);
  }  // the last clone dies here
  EXPECT_EQ(listener.count, 1);
}

TEST(CloneFilterTest, ClonesIsRequired) {
  EXPECT_THROW(make_filter("clone { }"), config::ConfigError);
}

// Clone emits events: the worker must give it whole batches so that the clones still follow
// all of the batch's originals (plan.h, chunk_events_for). Drop works event by event.
TEST(CloneFilterTest, NeedsWholeBatchesWhileDropDoesNot) {
  EXPECT_TRUE(make_filter("clone { clones => ['a'] }")->needs_whole_batches());
  EXPECT_FALSE(make_filter("drop { }")->needs_whole_batches());
}

}  // namespace
}  // namespace sluice
