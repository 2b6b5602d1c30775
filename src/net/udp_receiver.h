// A bound UDP socket read in batches (recvmmsg) that also reports the datagrams the kernel
// dropped because the socket's receive buffer was full (SO_RXQ_OVFL), for the udp and syslog inputs.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::net {

struct UdpConfig {
  std::string host = "127.0.0.1";
  int port = 0;                      // 0 = any free port
  size_t receive_buffer_bytes = 0;   // SO_RCVBUF; 0 = the system default
  size_t max_datagram = 65536;       // longer datagrams are cut (the kernel truncates them)
  int batch = 16;                    // datagrams per recvmmsg call
};

class UdpReceiver {
 public:
  explicit UdpReceiver(const UdpConfig& config);  // binds now; throws std::runtime_error
  ~UdpReceiver();
  UdpReceiver(const UdpReceiver&) = delete;
  UdpReceiver& operator=(const UdpReceiver&) = delete;

  int port() const { return port_; }
  // Waits up to timeout_ms, then reads what is there (one batch); calls
  // on_datagram(data, peer_ip, peer_port) for each datagram. Returns how many were read, -1 on error.
  using OnDatagram = std::function<void(std::string_view data, const std::string& peer_ip, int peer_port)>;
  int receive(int timeout_ms, const OnDatagram& on_datagram);
  // Datagrams dropped by the kernel on this socket so far (receive buffer full).
  uint64_t kernel_drops() const { return drops_.load(std::memory_order_relaxed); }

 private:
  UdpConfig config_;
  int fd_ = -1;
  int port_ = 0;
  std::vector<char> buffers_;
  // recvmmsg bookkeeping, allocated once.
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<sockaddr_storage> addrs_;
  std::vector<char> control_;
  std::atomic<uint64_t> drops_{0};
  uint32_t last_overflow_ = 0;
  bool have_overflow_ = false;
};

}  // namespace sluice::net
