// Backpressure: a slow output fills the bounded queue, the input then blocks (the blocked
// time is counted), and the queue never holds more than its bounds.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "pipeline_test_plugins.h"

namespace sluice {
namespace {

using namespace rt_test;

// Samples the queue gauges while the pipeline runs; returns the maxima seen.
struct QueueSampler {
  const PipelineMetrics& metrics;
  std::atomic<bool> done{false};
  std::atomic<int64_t> max_events{0}, max_bytes{0};
  std::thread thread;
  explicit QueueSampler(const PipelineMetrics& m) : metrics(m) {
    thread = std::thread([this] {
      while (!done.load()) {
        max_events.store(std::max(max_events.load(), metrics.queue_events.load()));
        max_bytes.store(std::max(max_bytes.load(), metrics.queue_bytes.load()));
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  }
  ~QueueSampler() {
    done.store(true);
    thread.join();
  }
};

TEST(Backpressure, SlowOutputBlocksTheInputAndTheQueueStaysBounded) {
  auto key = unique_key("bp_events");
  PipelineSettings s = settings(1, 10, 1);
  s.queue_max_events = 20;
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 300 } }\n"
                         "output { rt_collect { key => '" + key + "' delay_ms => 3 } }",
                         s);
  EXPECT_EQ(p->metrics().queue_max_events, 20u);
  QueueSampler sampler(p->metrics());
  p->start();
  // While the output crawls, the input has long pushed everything it could: it is blocked.
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() >= 50; }));
  EXPECT_LT(source(key)->pushed.load(), 300u);
  EXPECT_LE(p->metrics().queue_events.load(), 20);
  ASSERT_TRUE(p->wait_for(30000));
  EXPECT_EQ(collector(key)->size(), 300u);
  EXPECT_LE(sampler.max_events.load(), 20);
  EXPECT_GT(sampler.max_events.load(), 0);
  EXPECT_GT(p->metrics().queue_push_duration_nanos.load(), 0u);
}

TEST(Backpressure, ByteBoundLimitsTheQueue) {
  auto key = unique_key("bp_bytes");
  PipelineSettings s = settings(1, 50, 1);
  s.queue_max_events = 10000;
  s.queue_max_bytes = 4096;  // a few events of ~300 bytes each
  std::string big(200, 'x');
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 200 message => '" + big + "' } }\n"
                         "output { rt_collect { key => '" + key + "' delay_ms => 2 } }",
                         s);
  QueueSampler sampler(p->metrics());
  p->start();
  ASSERT_TRUE(p->wait_for(30000));
  EXPECT_EQ(collector(key)->size(), 200u);
  EXPECT_GT(sampler.max_bytes.load(), 0);
  EXPECT_LE(sampler.max_bytes.load(), 4096);
  EXPECT_LT(sampler.max_events.load(), 50);
}

TEST(Backpressure, StopWhileTheInputIsBlockedEndsInBoundedTime) {
  auto key = unique_key("bp_stop");
  PipelineSettings s = settings(1, 5, 1);
  s.queue_max_events = 10;
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 0 } }\n"
                         "output { rt_collect { key => '" + key + "' source => '" + key + "' delay_ms => 5 } }",
                         s);
  p->start();
  ASSERT_TRUE(test_wait([&] { return p->metrics().queue_push_duration_nanos.load() > 0; }));
  p->request_stop();
  ASSERT_TRUE(p->wait_for(10000));
  EXPECT_EQ(collector(key)->size(), source(key)->pushed.load());
  EXPECT_EQ(source(key)->acked_events.load(), source(key)->pushed.load());
}

}  // namespace
}  // namespace sluice
