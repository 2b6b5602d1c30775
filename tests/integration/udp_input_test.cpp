// The udp input: one event per datagram with the sender's address, and kernel drops counted
// (every datagram sent is either received or counted as dropped).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace sluice
