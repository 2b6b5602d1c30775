#include "support/lumberjack_writer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "plugins/inputs/beats/lumberjack.h"

namespace sluice::test {

LumberjackWriter::LumberjackWriter(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

LumberjackWriter::~LumberjackWriter() {
  if (fd_ >= 0) ::close(fd_);
}

bool LumberjackWriter::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(size_t(n));
  }
  return true;
}

bool LumberjackWriter::send_window(const std::vector<std::string>& events, bool compressed) {
  std::string frames, inner;
  lumberjack::append_window(frames, uint32_t(events.size()));
  for (size_t i = 0; i < events.size(); ++i) lumberjack::append_json(inner, uint32_t(i + 1), events[i]);
  if (compressed) lumberjack::append_compressed(frames, inner);
  else frames += inner;
  return send(frames);
}

int64_t LumberjackWriter::read_ack(int timeout_ms) {
  unsigned char buf[6];
  size_t have = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (have < 6) {
    int left = int(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) return -1;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) return -1;
    ssize_t n = ::recv(fd_, buf + have, 6 - have, 0);
    if (n <= 0) return -1;
    have += size_t(n);
  }
  if (buf[0] != '2' || buf[1] != 'A') return -2;
  return int64_t((uint32_t(buf[2]) << 24) | (uint32_t(buf[3]) << 16) | (uint32_t(buf[4]) << 8) | uint32_t(buf[5]));
}

bool LumberjackWriter::send_window_acked(const std::vector<std::string>& events, bool compressed, int timeout_ms) {
  if (!send_window(events, compressed)) return false;
  while (true) {
    int64_t ack = read_ack(timeout_ms);
    if (ack < 0) return false;
    if (ack == int64_t(events.size())) return true;
    if (ack != 0) return false;  // only keep-alives may come before the window's ACK
  }
}

bool LumberjackWriter::closed_by_server(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[256];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;
    }
  }
  return false;
}

}  // namespace sluice::test
