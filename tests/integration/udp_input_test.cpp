// The udp input: one event per datagram with the sender's address, and kernel drops counted
// (every datagram sent is either received or counted as dropped).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pipeline_test_plugins.h"
#include "runtime/metrics.h"

namespace sluice {
namespace {

using namespace rt_test;

struct UdpSender {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  explicit UdpSender(int port) {
    to.sin_family = AF_INET;
    to.sin_port = htons(uint16_t(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~UdpSender() { ::close(fd); }
  void send(const std::string& data) {
    ::sendto(fd, data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }
};

uint64_t counter(const Pipeline& p, const std::string& plugin, const std::string& name) {
  for (const auto& m : p.metrics().plugins) {
    if (m->name != plugin) continue;
    for (const auto& [k, v] : m->counters()) {
      if (k == name) return v;
    }
  }
  return 0;
}

TEST(UdpInput, OneEventPerDatagramWithSender) {
  std::string key = unique_key("udp");
  int port = test::free_port();
  auto p = make_pipeline("input { udp { port => " + std::to_string(port) +
                         " ecs_compatibility => disabled } }\noutput { rt_collect { key => '" + key + "' } }");
  p->start();
  UdpSender sender(port);
  // The socket may not be bound yet: resend until something arrives.
  ASSERT_TRUE(test_wait([&] {
    sender.send("probe");
    return collector(key)->size() > 0;
  }));
  sender.send("first datagram");
  sender.send("second\nwith a newline inside");
  auto find = [&](const std::string& message, Collected& out) {
    for (const auto& e : collector(key)->snapshot()) {
      if (e.message == message) {
        out = e;
        return true;
      }
    }
    return false;
  };
  Collected first, second;
  ASSERT_TRUE(test_wait([&] { return find("first datagram", first) && find("second\nwith a newline inside", second); }));
  EXPECT_NE(first.json.find("\"host\":\"127.0.0.1\""), std::string::npos) << first.json;
  p->request_stop();
  EXPECT_TRUE(p->wait_for(10000));
}

TEST(UdpInput, KernelDropsAreCounted) {
  std::string key = unique_key("udpdrop");
  int port = test::free_port();
  PipelineSettings s = settings(1, 4, 1);
  s.queue_max_events = 4;
  auto p = make_pipeline("input { udp { port => " + std::to_string(port) +
                         " receive_buffer_bytes => 4096 ecs_compatibility => v8 } }\n"
                         "output { rt_collect { key => '" + key + "' delay_ms => 5 } }",
                         s);
  p->start();
  UdpSender sender(port);
  ASSERT_TRUE(test_wait([&] {
    sender.send("probe");
    return collector(key)->size() > 0;
  }));
  ASSERT_TRUE(test_wait([&] { return counter(*p, "udp", "datagrams_received") > 0; }));
  // Let the probes drain, then flood while the output crawls.
  test_wait([&] { return p->metrics().queue_events.load() == 0; });
  uint64_t received_before = counter(*p, "udp", "datagrams_received");
  uint64_t drops_before = counter(*p, "udp", "kernel_drops");
  const uint64_t sent = 3000;
  for (uint64_t i = 0; i < sent; ++i) sender.send("flood " + std::to_string(i) + std::string(200, '.'));
  // Every datagram is accounted for: read by the input or counted as a kernel drop. The drop
  // counter rides on the next datagram read, so keep sending markers until the sums meet.
  uint64_t markers = 0;
  bool balanced = test_wait(
      [&] {
        uint64_t received = counter(*p, "udp", "datagrams_received") - received_before;
        uint64_t drops = counter(*p, "udp", "kernel_drops") - drops_before;
        if (received + drops >= sent + markers) return true;
        sender.send("marker");
        ++markers;
        return false;
      },
      60000);
  EXPECT_TRUE(balanced);
  EXPECT_GT(counter(*p, "udp", "kernel_drops") - drops_before, 0u) << "a 4 KiB buffer absorbed 3000 datagrams";
  p->request_stop();
  EXPECT_TRUE(p->wait_for(20000));
}


// Codecs per datagram: json (one document), json_lines (several lines in one datagram, the
// last without newline flushed with it) and cef.
TEST(UdpInput, JsonJsonLinesAndCefCodecs) {
  auto run = [](const std::string& codec, const std::vector<std::string>& datagrams, size_t expected) {
    std::string key = unique_key("udpcodec");
    int port = test::free_port();
    auto p = make_pipeline("input { udp { port => " + std::to_string(port) + " workers => 1 codec => " + codec +
                           " } }\noutput { rt_collect { key => '" + key + "' } }");
    p->start();
    UdpSender sender(port);
    // Resend until the socket is bound and everything arrived (events are told apart by the caller).
    EXPECT_TRUE(test_wait([&] {
      if (collector(key)->size() >= expected) return true;
      if (collector(key)->size() == 0)
        for (const auto& d : datagrams) sender.send(d);
      return false;
    })) << codec;
    p->request_stop();
    EXPECT_TRUE(p->wait_for(10000));
    return collector(key)->snapshot();
  };
  auto json = run("json", {"{\"message\":\"j1\",\"k\":1}"}, 1);
  ASSERT_FALSE(json.empty());
  EXPECT_EQ(json[0].message, "j1");
  EXPECT_NE(json[0].json.find("\"k\":1"), std::string::npos) << json[0].json;
  auto lines = run("json_lines", {"{\"message\":\"a\"}\n{\"message\":\"b\"}"}, 2);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0].message, "a");
  EXPECT_EQ(lines[1].message, "b") << "the last line of a datagram is flushed with it";
  auto cef = run("cef { ecs_compatibility => disabled }", {"CEF:0|Acme|Gate|1.0|100|Blocked|5|src=10.0.0.1"}, 1);
  ASSERT_FALSE(cef.empty());
  EXPECT_NE(cef[0].json.find("\"deviceVendor\":\"Acme\""), std::string::npos) << cef[0].json;
}

// Decoding on `workers` threads behind a small `queue_size`: every datagram sent is read (and
// becomes exactly one event) or counted as a kernel drop; none arrives twice. The pipeline's own
// queue is small too (32 events) and its output slow, so that even a flood of which the kernel
// drops most (a busy machine) backs up into the input's queue.
void workers_account_for_every_datagram(int workers) {
  std::string key = unique_key("udpworkers");
  int port = test::free_port();
  PipelineSettings small_queue = settings();
  small_queue.queue_max_events = 32;
  auto p = make_pipeline("input { udp { port => " + std::to_string(port) + " workers => " + std::to_string(workers) +
                             " queue_size => 16 receive_buffer_bytes => 65536 ecs_compatibility => disabled } }\n"
                             "output { rt_collect { key => '" + key + "' delay_ms => 1 } }",
                         small_queue);
  p->start();
  UdpSender sender(port);
  int probes = 0;
  ASSERT_TRUE(test_wait([&] {
    sender.send("probe " + std::to_string(probes++));
    return collector(key)->size() > 0;
  }));
  // Probes sent before the socket was bound are lost without a count: start counting once settled.
  uint64_t received_before = 0;
  auto settled = [&] {
    received_before = counter(*p, "udp", "datagrams_received");
    return collector(key)->size() == received_before;
  };
  ASSERT_TRUE(test_wait(settled));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // a last probe still on its way
  ASSERT_TRUE(test_wait(settled));
  uint64_t drops_before = counter(*p, "udp", "kernel_drops");
  size_t collected_before = collector(key)->size();

  const uint64_t flood = 4000;
  for (uint64_t i = 0; i < flood; ++i) sender.send("datagram " + std::to_string(i) + " " + std::string(100, 'x'));
  uint64_t markers = 0;
  bool balanced = test_wait(
      [&] {
        uint64_t received = counter(*p, "udp", "datagrams_received") - received_before;
        uint64_t drops = counter(*p, "udp", "kernel_drops") - drops_before;
        if (received + drops >= flood + markers) return true;
        sender.send("marker " + std::to_string(markers++));
        return false;
      },
      60000);
  ASSERT_TRUE(balanced);
  uint64_t received = counter(*p, "udp", "datagrams_received") - received_before;
  uint64_t drops = counter(*p, "udp", "kernel_drops") - drops_before;
  EXPECT_EQ(received + drops, flood + markers);
  EXPECT_GT(received, 0u);
  // Every datagram read became one event: wait for the outputs, then look for doubles.
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() >= collected_before + received; }, 60000))
      << collector(key)->size() - collected_before << " events for " << received << " datagrams";
  p->request_stop();
  EXPECT_TRUE(p->wait_for(20000));
  auto events = collector(key)->snapshot();
  EXPECT_EQ(events.size(), collected_before + received);
  std::set<std::string> seen;
  for (const auto& e : events) EXPECT_TRUE(seen.insert(e.message).second) << "twice: " << e.message;
  EXPECT_GT(counter(*p, "udp", "queue_full_waits"), 0u) << "a 16-datagram queue never filled";
}

TEST(UdpInput, OneWorkerAccountsForEveryDatagram) { workers_account_for_every_datagram(1); }

TEST(UdpInput, FourWorkersAccountForEveryDatagramOnce) { workers_account_for_every_datagram(4); }

TEST(UdpInput, WorkersMustBePositive) {
  int port = test::free_port();
  try {
    make_pipeline("input { udp { port => " + std::to_string(port) + " workers => 0 } }\noutput { rt_collect { key => 'x' } }");
    FAIL() << "workers => 0 accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("workers"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(":1:"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sluice
