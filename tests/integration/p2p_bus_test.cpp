// Pipeline-to-pipeline: events cross pipelines through the bus with their acknowledgement,
// backpressure and the shutdown order work, a missing address never deadlocks a stop.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "pipeline_test_plugins.h"
#include "runtime/bus.h"

namespace sluice {
namespace {

using namespace rt_test;

TEST(PipelineToPipeline, EventsCrossWithTheirAcks) {
  PipelineBus bus;
  auto key = unique_key("p2p");
  auto address = key + "_addr";
  auto down = make_pipeline("input { pipeline { address => '" + address + "' type => 'relayed' } }\n"
                            "filter { rt_mark { field => 'downstream' } }\n"
                            "output { rt_collect { key => '" + key + "' source => '" + key + "' delay_ms => 1 } }",
                            settings(2, 10, 1), &bus);
  auto up = make_pipeline("input { rt_source { key => '" + key + "' count => 300 chunk => 7 } }\n"
                          "output { pipeline { send_to => ['" + address + "'] } }",
                          settings(2, 10, 1), &bus);
  down->start();
  up->start();
  ASSERT_TRUE(up->wait_for(30000)) << "upstream did not finish";
  EXPECT_EQ(bus.senders(address), 0);
  // Upstream finished, so everything was delivered; downstream may still be writing.
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() == 300; }));
  ASSERT_TRUE(test_wait([&] { return source(key)->acked_events.load() == 300; }));
  EXPECT_EQ(collector(key)->arrived_already_acked.load(), 0u) << "an upstream chunk was acknowledged too early";
  for (auto& e : collector(key)->snapshot()) {
    EXPECT_EQ(e.type, "relayed");
    EXPECT_NE(e.json.find("\"downstream\":\"yes\""), std::string::npos) << e.json;
  }
  down->request_stop();
  ASSERT_TRUE(down->wait_for(10000));
  EXPECT_FALSE(bus.has_receiver(address));
}

TEST(PipelineToPipeline, FanOutAcknowledgesAfterEveryCopy) {
  PipelineBus bus;
  auto key = unique_key("fanout");
  auto down_a = make_pipeline("input { pipeline { address => '" + key + "_a' } }\n"
                              "output { rt_collect { key => '" + key + "_a' source => '" + key + "' } }",
                              settings(1, 10, 1), &bus);
  auto down_b = make_pipeline("input { pipeline { address => '" + key + "_b' } }\n"
                              "output { rt_collect { key => '" + key + "_b' source => '" + key + "' delay_ms => 2 } }",
                              settings(1, 10, 1), &bus);
  auto up = make_pipeline("input { rt_source { key => '" + key + "' count => 100 chunk => 10 } }\n"
                          "output { pipeline { send_to => ['" + key + "_a', '" + key + "_b'] } }",
                          settings(1, 10, 1), &bus);
  down_a->start();
  down_b->start();
  up->start();
  ASSERT_TRUE(up->wait_for(30000));
  ASSERT_TRUE(test_wait([&] { return collector(key + "_b")->size() == 100; }));
  ASSERT_TRUE(test_wait([&] { return source(key)->acked_events.load() == 100; }));
  EXPECT_EQ(collector(key + "_a")->size(), 100u);
  EXPECT_EQ(collector(key + "_a")->arrived_already_acked.load(), 0u);
  EXPECT_EQ(collector(key + "_b")->arrived_already_acked.load(), 0u);
  down_a->request_stop();
  down_b->request_stop();
  EXPECT_TRUE(down_a->wait_for(10000));
  EXPECT_TRUE(down_b->wait_for(10000));
}

TEST(PipelineToPipeline, DownstreamEndsOnceItsSendersHaveFinished) {
  // A chain behind a finite input is a batch job: it must end by itself, with everything delivered.
  PipelineBus bus;
  auto key = unique_key("finite_chain");
  auto down = make_pipeline("input { pipeline { address => '" + key + "' } }\n"
                            "output { rt_collect { key => '" + key + "' } }",
                            settings(1, 10, 1), &bus);
  auto up = make_pipeline("input { rt_source { key => '" + key + "' count => 120 chunk => 10 } }\n"
                          "output { pipeline { send_to => ['" + key + "'] } }",
                          settings(1, 10, 1), &bus);
  down->start();
  up->start();
  ASSERT_TRUE(up->wait_for(30000));
  ASSERT_TRUE(down->wait_for(10000)) << "the downstream pipeline did not end after its only sender finished";
  EXPECT_EQ(collector(key)->size(), 120u);
  EXPECT_EQ(source(key)->acked_events.load(), 120u);
}

TEST(PipelineToPipeline, DownstreamWithoutSendersKeepsListening) {
  PipelineBus bus;
  auto key = unique_key("no_senders");
  auto down = make_pipeline("input { pipeline { address => '" + key + "' } }\n"
                            "output { rt_collect { key => '" + key + "' } }",
                            settings(1, 10, 1), &bus);
  down->start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(down->finished());
  down->request_stop();
  EXPECT_TRUE(down->wait_for(10000));
}

TEST(PipelineToPipeline, SenderWaitsForTheAddressToAppear) {
  PipelineBus bus;
  auto key = unique_key("late_address");
  auto up = make_pipeline("input { rt_source { key => '" + key + "' count => 50 } }\n"
                          "output { pipeline { send_to => ['" + key + "'] } }",
                          settings(1, 10, 1), &bus);
  up->start();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(up->finished());
  EXPECT_EQ(source(key)->acked_events.load(), 0u);
  auto down = make_pipeline("input { pipeline { address => '" + key + "' } }\n"
                            "output { rt_collect { key => '" + key + "' } }",
                            settings(1, 10, 1), &bus);
  down->start();
  ASSERT_TRUE(up->wait_for(30000));
  ASSERT_TRUE(test_wait([&] { return source(key)->acked_events.load() == 50; }));
  EXPECT_EQ(collector(key)->size(), 50u);
  down->request_stop();
  EXPECT_TRUE(down->wait_for(10000));
}

TEST(PipelineToPipeline, StoppingBothInAnyOrderLosesNothing) {
  PipelineBus bus;
  auto key = unique_key("p2p_stop");
  auto down = make_pipeline("input { pipeline { address => '" + key + "' } }\n"
                            "output { rt_collect { key => '" + key + "' source => '" + key + "' delay_ms => 1 } }",
                            settings(1, 20, 1), &bus);
  auto up = make_pipeline("input { rt_source { key => '" + key + "' count => 0 chunk => 5 } }\n"
                          "output { pipeline { send_to => ['" + key + "'] } }",
                          settings(2, 20, 1), &bus);
  down->start();
  up->start();
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() > 200; }));
  // Downstream first: its pipeline input keeps listening until the upstream sender is gone.
  down->request_stop();
  up->request_stop();
  ASSERT_TRUE(up->wait_for(15000)) << "upstream did not stop";
  ASSERT_TRUE(down->wait_for(15000)) << "downstream did not stop";
  EXPECT_EQ(collector(key)->size(), source(key)->pushed.load());
  EXPECT_EQ(source(key)->acked_events.load(), source(key)->pushed.load());
}

TEST(PipelineToPipeline, MissingAddressDoesNotBlockAStop) {
  PipelineBus bus;
  auto key = unique_key("p2p_nobody");
  auto up = make_pipeline("input { rt_source { key => '" + key + "' count => 0 chunk => 5 } }\n"
                          "output { pipeline { send_to => ['" + key + "_nowhere'] } }",
                          settings(1, 10, 1), &bus);
  up->start();
  ASSERT_TRUE(test_wait([&] { return source(key)->pushed.load() > 0; }));
  up->request_stop();
  ASSERT_TRUE(up->wait_for(10000));
  // Nothing was delivered, so nothing may be acknowledged: the source will send it again.
  EXPECT_EQ(source(key)->acked_events.load(), 0u);
}

TEST(PipelineToPipeline, AddressInUseIsRefused) {
  PipelineBus bus;
  struct Nobody : PipelineBus::Receiver {
    void deliver(std::span<Event* const>) override {}
  } a, b;
  bus.listen("taken", &a);
  EXPECT_THROW(bus.listen("taken", &b), std::runtime_error);
  bus.unlisten("taken", &a);
  EXPECT_NO_THROW(bus.listen("taken", &b));
  bus.unlisten("taken", &b);
}

}  // namespace
}  // namespace sluice
