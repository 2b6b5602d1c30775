// The pipeline runtime in process: events flow from inputs through filters and conditionals
// to outputs, common options decorate them, the pipeline ends by itself after finite inputs
// and stops in bounded time when asked.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "config/parser.h"
#include "pipeline_test_plugins.h"
#include "runtime/conditions.h"
#include "runtime/pipeline.h"

namespace sluice {
namespace {

using namespace rt_test;

// Runs a finite pipeline to its end (fails the test if it does not end in 20 s).
void run_to_end(Pipeline& p) {
  p.start();
  ASSERT_TRUE(p.wait_for(20000)) << "pipeline did not finish by itself";
  EXPECT_TRUE(p.finished());
}

TEST(PipelineFlow, EventsFlowAndCount) {
  auto key = unique_key("flow");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 1000 chunk => 7 } }\n"
                         "output { rt_collect { key => '" + key + "' source => '" + key + "' } }");
  run_to_end(*p);
  auto events = collector(key)->snapshot();
  ASSERT_EQ(events.size(), 1000u);
  std::vector<int64_t> seqs;
  for (auto& e : events) seqs.push_back(e.seq);
  std::sort(seqs.begin(), seqs.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(seqs[size_t(i)], i);
  const PipelineMetrics& m = p->metrics();
  EXPECT_EQ(m.events_in.load(), 1000u);
  EXPECT_EQ(m.events_filtered.load(), 1000u);
  EXPECT_EQ(m.events_out.load(), 1000u);
  EXPECT_EQ(m.queue_events.load(), 0);
  EXPECT_EQ(source(key)->acked_events.load(), 1000u);
  ASSERT_EQ(m.plugins.size(), 2u);
  EXPECT_EQ(m.plugins[0]->kind, "input");
  EXPECT_EQ(m.plugins[0]->events_out.load(), 1000u);
  EXPECT_EQ(m.plugins[1]->kind, "output");
  EXPECT_EQ(m.plugins[1]->events_in.load(), 1000u);
}

// A worker that empties the queue tells the outputs (caught_up), so that one gathering writes
// (the file output) writes them now instead of waiting for the periodic flush.
TEST(PipelineFlow, OutputsHearWhenAWorkerEmptiesTheQueue) {
  auto key = unique_key("caught_up");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 40 chunk => 10 } }\n"
                         "output { rt_collect { key => '" + key + "' } }",
                         settings(1, 16, 1));
  p->start();
  ASSERT_TRUE(p->wait_for(30000));
  std::lock_guard lock(collector(key)->mutex);
  EXPECT_GE(collector(key)->caught_ups, 1);
  // The last batch emptied the queue: the outputs heard it after taking every event.
  EXPECT_EQ(collector(key)->collected_at_last_caught_up, 40u);
}

// With two workers the one that empties the queue may finish before the other: the last to
// finish still tells the outputs, so nothing they hold back waits for the periodic flush.
TEST(PipelineFlow, TheLastWorkerToFinishTellsTheOutputs) {
  auto key = unique_key("caught_up_two");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 40 chunk => 10 } }\n"
                         "output { rt_collect { key => '" + key + "' delay_ms => 300 slow_seq => 0 } }",
                         settings(2, 10, 1));
  p->start();
  ASSERT_TRUE(p->wait_for(30000));
  std::lock_guard lock(collector(key)->mutex);
  EXPECT_EQ(collector(key)->events.size(), 40u);
  EXPECT_EQ(collector(key)->collected_at_last_caught_up, 40u);
}

TEST(PipelineFlow, GeneratedAndExplicitIds) {
  auto key = unique_key("ids");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 1 } rt_source { key => '" + key +
                         "' count => 1 id => 'rt_source_2' } }\n"
                         "filter { rt_mark {} rt_mark { id => 'mine' } }\n"
                         "output { rt_collect { key => '" + key + "' } }");
  const auto& plugins = p->metrics().plugins;
  ASSERT_EQ(plugins.size(), 5u);
  EXPECT_EQ(plugins[0]->id, "rt_source_1");
  EXPECT_EQ(plugins[1]->id, "rt_source_2");
  EXPECT_EQ(plugins[2]->id, "rt_mark_1");
  EXPECT_EQ(plugins[3]->id, "mine");
  EXPECT_EQ(plugins[4]->id, "rt_collect_1");
  run_to_end(*p);
  EXPECT_EQ(collector(key)->size(), 2u);
}

TEST(PipelineFlow, DuplicateIdIsAConfigError) {
  try {
    make_pipeline("input { rt_source { id => 'x' } }\noutput { rt_collect { id => 'x' } }");
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate plugin id 'x'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test.conf:2:"), std::string::npos) << e.what();
  }
}

TEST(PipelineFlow, UnknownPluginIsAConfigErrorWithPosition) {
  try {
    make_pipeline("input { rt_source {} }\nfilter {\n  no_such_filter {}\n}\noutput { rt_collect {} }");
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("test.conf:3:3"), std::string::npos) << what;
    EXPECT_NE(what.find("unknown filter plugin 'no_such_filter'"), std::string::npos) << what;
  }
}

TEST(PipelineFlow, BadRegexpIsAConfigError) {
  EXPECT_THROW(make_pipeline("input { rt_source {} }\nfilter { if [a] =~ /(/ { rt_mark {} } }"), config::ConfigError);
}

TEST(PipelineFlow, InputDecorationTypeAddFieldTags) {
  auto key = unique_key("deco_in");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 3 type => 'web' "
                         "add_field => { 'src' => 'n%{seq}' } tags => ['a', 't%{seq}'] } }\n"
                         "output { rt_collect { key => '" + key + "' } }");
  run_to_end(*p);
  auto events = collector(key)->snapshot();
  ASSERT_EQ(events.size(), 3u);
  for (auto& e : events) {
    EXPECT_EQ(e.type, "web");
    EXPECT_NE(e.json.find("\"src\":\"n" + std::to_string(e.seq) + "\""), std::string::npos) << e.json;
    ASSERT_EQ(e.tags.size(), 2u);
    EXPECT_EQ(e.tags[0], "a");
    EXPECT_EQ(e.tags[1], "t" + std::to_string(e.seq));
  }
}

TEST(PipelineFlow, InputTypeDoesNotOverrideAnExistingType) {
  auto key = unique_key("type_keep");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 2 preset_type => 'pre' type => 'web' } }\n"
                         "output { rt_collect { key => '" + key + "' } }");
  run_to_end(*p);
  auto events = collector(key)->snapshot();
  ASSERT_EQ(events.size(), 2u);
  for (auto& e : events) EXPECT_EQ(e.type, "pre");
}

TEST(PipelineFlow, FilterDecorationsInLogstashOrder) {
  auto key = unique_key("deco_filter");
  // add_field, then remove_field, then add_tag, then remove_tag: the removed field was just added,
  // the tag added from the field value is then removed by the same template.
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 2 } }\n"
                         "filter { rt_mark { field => 'f' value => 'v' add_field => { 'a_%{f}' => 'x%{seq}' 'gone' => '1' }"
                         " remove_field => ['gone'] add_tag => ['t_%{f}', 'keep'] remove_tag => ['t_v'] } }\n"
                         "output { rt_collect { key => '" + key + "' } }");
  run_to_end(*p);
  auto events = collector(key)->snapshot();
  ASSERT_EQ(events.size(), 2u);
  for (auto& e : events) {
    EXPECT_NE(e.json.find("\"a_v\":\"x" + std::to_string(e.seq) + "\""), std::string::npos) << e.json;
    EXPECT_EQ(e.json.find("\"gone\""), std::string::npos) << e.json;
    ASSERT_EQ(e.tags.size(), 1u) << e.json;
    EXPECT_EQ(e.tags[0], "keep");
  }
}

TEST(PipelineFlow, AddFieldOnExistingFieldMakesAnArray) {
  auto key = unique_key("deco_array");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 1 message => 'm' } }\n"
                         "filter { rt_mark { field => 'other' add_field => { 'message' => 'second' } } }\n"
                         "output { rt_collect { key => '" + key + "' } }");
  run_to_end(*p);
  auto events = collector(key)->snapshot();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NE(events[0].json.find("\"message\":[\"m\",\"second\"]"), std::string::npos) << events[0].json;
}

TEST(PipelineFlow, ConditionalsRouteEventsInFiltersAndOutputs) {
  auto key = unique_key("route");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 30 } }\n"
                         "filter {\n"
                         "  if [seq] < 10 { rt_mark { field => 'bucket' value => 'low' } }\n"
                         "  else if [seq] < 20 { rt_mark { field => 'bucket' value => 'mid' } }\n"
                         "  else { rt_mark { field => 'bucket' value => 'high' } }\n"
                         "  if [bucket] == 'mid' and [seq] >= 15 { rt_mark { field => 'late' value => 'yes' } }\n"
                         "}\n"
                         "output {\n"
                         "  if [bucket] != 'low' { rt_collect { key => '" + key + "' } }\n"
                         "  else { rt_collect { key => '" + key + "_low' } }\n"
                         "}");
  run_to_end(*p);
  auto events = collector(key)->snapshot();
  EXPECT_EQ(collector(key + "_low")->size(), 10u);
  ASSERT_EQ(events.size(), 20u);
  for (auto& e : events) {
    std::string bucket = e.seq < 20 ? "mid" : "high";
    EXPECT_NE(e.json.find("\"bucket\":\"" + bucket + "\""), std::string::npos) << e.json;
    bool late = e.seq >= 15 && e.seq < 20;
    EXPECT_EQ(e.json.find("\"late\":\"yes\"") != std::string::npos, late) << e.json;
  }
}

TEST(PipelineFlow, CloneGoesThroughLaterFiltersOnly) {
  auto key = unique_key("clone");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 5 } }\n"
                         "filter {\n"
                         "  rt_mark { field => 'before' }\n"
                         "  rt_clone { copies => 2 add_tag => ['cloned'] }\n"
                         "  if [clone] { rt_mark { field => 'after_clone' } } else { rt_mark { field => 'after_orig' } }\n"
                         "}\n"
                         "output { rt_collect { key => '" + key + "' source => '" + key + "' } }");
  run_to_end(*p);
  auto events = collector(key)->snapshot();
  ASSERT_EQ(events.size(), 15u);
  int clones = 0;
  for (auto& e : events) {
    bool is_clone = e.json.find("\"clone\":true") != std::string::npos;
    clones += is_clone;
    // The clone copied the field set before it, and went through the later filters.
    EXPECT_NE(e.json.find("\"before\":\"yes\""), std::string::npos) << e.json;
    EXPECT_EQ(e.json.find(is_clone ? "\"after_clone\"" : "\"after_orig\"") != std::string::npos, true) << e.json;
    // The filter's add_tag applies to emitted events (Logstash's clone calls filter_matched on them),
    // not to the original (clone's filter() returned false).
    EXPECT_EQ(std::find(e.tags.begin(), e.tags.end(), "cloned") != e.tags.end(), is_clone) << e.json;
  }
  EXPECT_EQ(clones, 10);
  EXPECT_EQ(source(key)->acked_events.load(), 5u);
  EXPECT_EQ(collector(key)->arrived_already_acked.load(), 0u);
}

TEST(PipelineFlow, ConditionEvaluationErrorDoesNotStopThePipeline) {
  auto key = unique_key("cond_error");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 20 message => 'text' } }\n"
                         "filter {\n"
                         "  if [message] > 5 { rt_mark { field => 'branch' value => 'if' } }\n"
                         "  else { rt_mark { field => 'branch' value => 'else' } }\n"
                         "}\n"
                         "output { rt_collect { key => '" + key + "' } }");
  run_to_end(*p);
  auto events = collector(key)->snapshot();
  ASSERT_EQ(events.size(), 20u);
  for (auto& e : events) {
    EXPECT_NE(e.json.find("\"branch\":\"else\""), std::string::npos) << e.json;
    EXPECT_NE(std::find(e.tags.begin(), e.tags.end(), std::string(kConditionalErrorTag)), e.tags.end()) << e.json;
  }
  EXPECT_EQ(p->metrics().conditional_errors.load(), 20u);
}

TEST(PipelineFlow, FailingFilterDoesNotStopThePipeline) {
  auto key = unique_key("filter_throw");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 10 } }\n"
                         "filter { rt_throw {} rt_mark {} }\n"
                         "output { rt_collect { key => '" + key + "' } }");
  run_to_end(*p);
  EXPECT_EQ(collector(key)->size(), 10u);
  EXPECT_GT(p->metrics().plugin_errors.load(), 0u);
}

TEST(PipelineFlow, FinalFlushEventsReachTheOutputs) {
  auto key = unique_key("flush");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 3 } }\n"
                         "filter { rt_flusher {} rt_mark { field => 'after_flusher' } }\n"
                         "output { rt_collect { key => '" + key + "' } }");
  run_to_end(*p);
  auto events = collector(key)->snapshot();
  ASSERT_EQ(events.size(), 4u);
  auto flushed = std::find_if(events.begin(), events.end(), [](auto& e) { return e.message == "flushed"; });
  ASSERT_NE(flushed, events.end());
  EXPECT_NE(flushed->json.find("\"after_flusher\":\"yes\""), std::string::npos) << flushed->json;
}

TEST(PipelineFlow, OrderedTrueKeepsOrderWithManyWorkersConfigured) {
  auto key = unique_key("ordered");
  PipelineSettings s = settings(4, 7, 1);
  s.ordered = "true";
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 2000 } }\n"
                         "filter { if [seq] in [3, 5, 7] { rt_mark {} } else { rt_mark { field => 'other' } } "
                         "rt_clone { copies => 0 } }\n"
                         "output { rt_collect { key => '" + key + "' } }",
                         s);
  EXPECT_EQ(p->settings().workers, 1);
  run_to_end(*p);
  auto events = collector(key)->snapshot();
  ASSERT_EQ(events.size(), 2000u);
  for (size_t i = 0; i < events.size(); ++i) ASSERT_EQ(events[i].seq, int64_t(i));
}

TEST(PipelineFlow, NonThreadSafeOutputIsSerialized) {
  auto key = unique_key("serial");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 400 } }\n"
                         "output { rt_collect { key => '" + key + "' delay_ms => 1 } }",
                         settings(4, 5, 1));
  run_to_end(*p);
  EXPECT_EQ(collector(key)->size(), 400u);
  EXPECT_EQ(collector(key)->max_concurrent.load(), 1);
}

TEST(PipelineFlow, StopWhileBusyEndsInBoundedTime) {
  auto key = unique_key("stop_busy");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 0 } }\n"
                         "output { rt_collect { key => '" + key + "' source => '" + key + "' delay_ms => 2 } }",
                         settings(2, 50, 5));
  p->start();
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() > 100; }));
  p->request_stop();
  ASSERT_TRUE(p->wait_for(10000)) << "stop did not finish in 10 s";
  EXPECT_TRUE(source(key)->run_returned.load());
  // Everything the input pushed went out, and every chunk was acknowledged.
  EXPECT_EQ(collector(key)->size(), source(key)->pushed.load());
  EXPECT_EQ(source(key)->acked_events.load(), source(key)->pushed.load());
  EXPECT_EQ(p->metrics().queue_events.load(), 0);
}

TEST(PipelineFlow, PipelineWithoutInputsFinishesAtOnce) {
  auto p = make_pipeline("filter { rt_mark {} }");
  run_to_end(*p);
}

// The agent's loop is woken by this callback when a pipeline ends: it runs once, after every
// event went out.
TEST(PipelineFlow, OnFinishedCallsBackOnceWhenEverythingWentOut) {
  auto key = unique_key("finished");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 500 } }\n"
                         "output { rt_collect { key => '" + key + "' } }");
  std::atomic<int> calls{0};
  std::atomic<size_t> events_when_called{0};
  p->on_finished([&] {
    calls.fetch_add(1);
    events_when_called = collector(key)->size();
  });
  run_to_end(*p);
  EXPECT_TRUE(p->finished());
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(events_when_called.load(), 500u);
}

TEST(PipelineFlow, DestroyingARunningPipelineStopsIt) {
  auto key = unique_key("destroy");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 0 } }\n"
                         "output { rt_collect { key => '" + key + "' } }");
  p->start();
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() > 10; }));
  p.reset();
  EXPECT_TRUE(source(key)->run_returned.load());
}

}  // namespace
}  // namespace sluice
