// The listener layer on its own: data to the handler, replies sent from another thread,
// per-connection pause/resume, close with a reason, max_connections and idle timeout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/tcp_server.h"
#include "test_support.h"

namespace sluice::net {
namespace {

struct Shared {
  std::mutex mutex;
  std::string received;
  std::vector<std::string> close_reasons;
  std::vector<std::shared_ptr<Connection>> opened;
  std::string text() {
    std::lock_guard lock(mutex);
    return received;
  }
  size_t closes() {
    std::lock_guard lock(mutex);
    return close_reasons.size();
  }
};

class RecordingHandler : public ConnectionHandler {
 public:
  explicit RecordingHandler(Shared& s) : s_(s) {}
  void on_open(const std::shared_ptr<Connection>& conn) override {
    std::lock_guard lock(s_.mutex);
    s_.opened.push_back(conn);
  }
  void on_data(Connection& conn, std::string_view bytes) override {
    std::lock_guard lock(s_.mutex);
    s_.received.append(bytes);
  }
  void on_close(Connection&, const std::string& reason) override {
    std::lock_guard lock(s_.mutex);
    s_.close_reasons.push_back(reason);
  }

 private:
  Shared& s_;
};

struct RunningServer {
  Shared shared;
  std::unique_ptr<TcpServer> server;
  std::thread thread;
  explicit RunningServer(ListenerConfig config) {
    server = std::make_unique<TcpServer>(config, [this] { return std::make_unique<RecordingHandler>(shared); });
    thread = std::thread([this] { server->run(); });
  }
  ~RunningServer() {
    server->stop();
    thread.join();
  }
};

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

std::string read_some(int fd, int timeout_ms = 5000) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return "<timeout>";
  char buf[4096];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n <= 0 ? "<closed>" : std::string(buf, size_t(n));
}

bool wait(const std::function<bool()>& probe) { return test::wait_until(probe, std::chrono::seconds(10)); }

TEST(NetTcpServer, BindsEphemeralPortAndDeliversBytes) {
  RunningServer s(ListenerConfig{});
  ASSERT_GT(s.server->port(), 0);
  int fd = connect_to(s.server->port());
  ::send(fd, "hello", 5, 0);
  ASSERT_TRUE(wait([&] { return s.shared.text() == "hello"; }));
  ::close(fd);
  ASSERT_TRUE(wait([&] { return s.shared.closes() == 1; }));
  EXPECT_EQ(s.shared.close_reasons[0], "peer closed");
  EXPECT_EQ(s.server->stats().accepted.load(), 1u);
}

TEST(NetTcpServer, SendFromAnotherThreadAndCloseWithReason) {
  RunningServer s(ListenerConfig{});
  int fd = connect_to(s.server->port());
  ASSERT_TRUE(wait([&] {
    std::lock_guard lock(s.shared.mutex);
    return !s.shared.opened.empty();
  }));
  std::shared_ptr<Connection> conn = s.shared.opened[0];
  EXPECT_EQ(conn->peer_ip(), "127.0.0.1");
  std::thread sender([&] { EXPECT_TRUE(conn->send("ack-1")); });
  sender.join();
  EXPECT_EQ(read_some(fd), "ack-1");
  conn->close("protocol error: test");
  EXPECT_EQ(read_some(fd), "<closed>");
  ASSERT_TRUE(wait([&] { return s.shared.closes() == 1; }));
  EXPECT_EQ(s.shared.close_reasons[0], "protocol error: test");
  EXPECT_FALSE(conn->send("late"));  // after close: refused, no crash
  ::close(fd);
}

TEST(NetTcpServer, PausedConnectionIsNotReadUntilResumed) {
  RunningServer s(ListenerConfig{});
  int fd = connect_to(s.server->port());
  ASSERT_TRUE(wait([&] {
    std::lock_guard lock(s.shared.mutex);
    return !s.shared.opened.empty();
  }));
  auto conn = s.shared.opened[0];
  conn->pause_reading();
  ::send(fd, "held", 4, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(s.shared.text(), "");
  conn->resume_reading();
  ASSERT_TRUE(wait([&] { return s.shared.text() == "held"; }));
  ::close(fd);
}

TEST(NetTcpServer, MaxConnectionsAndIdleTimeout) {
  ListenerConfig config;
  config.max_connections = 1;
  config.idle_timeout_ms = 500;
  RunningServer s(config);
  int first = connect_to(s.server->port());
  ASSERT_TRUE(wait([&] { return s.server->stats().open.load() == 1; }));
  int second = connect_to(s.server->port());
  EXPECT_EQ(read_some(second), "<closed>");
  EXPECT_EQ(s.server->stats().rejected_max_connections.load(), 1u);
  EXPECT_EQ(read_some(first), "<closed>");  // idle
  ASSERT_TRUE(wait([&] { return s.shared.closes() == 1; }));
  EXPECT_NE(s.shared.close_reasons[0].find("idle"), std::string::npos) << s.shared.close_reasons[0];
  ::close(first);
  ::close(second);
}

TEST(NetTcpServer, BusyPortIsAnErrorNamingIt) {
  RunningServer s(ListenerConfig{});
  ListenerConfig same;
  same.port = s.server->port();
  try {
    TcpServer other(same, [] { return std::unique_ptr<ConnectionHandler>(); });
    FAIL() << "bound a busy port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(same.port)), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sluice::net
