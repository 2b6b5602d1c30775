#include "net/udp_receiver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sluice::net {

namespace {

void peer_of(const sockaddr_storage& addr, std::string& ip, int& port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, sizeof buf);
    else inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    port = ntohs(in6->sin6_port);
  }
  ip = buf;
}

}  // namespace

UdpReceiver::UdpReceiver(const UdpConfig& config) : config_(config) {
  if (config_.batch < 1) config_.batch = 1;
  if (config_.max_datagram < 1) config_.max_datagram = 65536;
  const std::string where = config_.host + ":" + std::to_string(config_.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string service = std::to_string(config_.port);
  int rc = ::getaddrinfo(config_.host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0 || !found) throw std::runtime_error("cannot resolve UDP address " + where + ": " + gai_strerror(rc));
  int last_errno = 0;
  for (addrinfo* ai = found; ai && fd_ < 0; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    int one = 1, zero = 0;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (config_.receive_buffer_bytes > 0) {
      int size = int(std::min<size_t>(config_.receive_buffer_bytes, 1u << 30));
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    ::setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);  // drop counter in each message's cmsg
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      last_errno = errno;
      ::close(fd);
      continue;
    }
    fd_ = fd;
  }
  ::freeaddrinfo(found);
  if (fd_ < 0) throw std::runtime_error("cannot bind UDP " + where + ": " + std::strerror(last_errno));
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  std::string ip;
  peer_of(bound, ip, port_);
  const size_t n = size_t(config_.batch);
  constexpr size_t kControl = CMSG_SPACE(sizeof(uint32_t));
  buffers_.resize(n * config_.max_datagram);
  msgs_.resize(n);
  iovs_.resize(n);
  addrs_.resize(n);
  control_.resize(n * kControl);
  for (size_t k = 0; k < n; ++k) {
    iovs_[k].iov_base = buffers_.data() + k * config_.max_datagram;
    iovs_[k].iov_len = config_.max_datagram;
    msgs_[k].msg_hdr = msghdr{};
    msgs_[k].msg_hdr.msg_name = &addrs_[k];
    msgs_[k].msg_hdr.msg_iov = &iovs_[k];
    msgs_[k].msg_hdr.msg_iovlen = 1;
    msgs_[k].msg_hdr.msg_control = control_.data() + k * kControl;
  }
}

UdpReceiver::~UdpReceiver() {
  if (fd_ >= 0) ::close(fd_);
}

int UdpReceiver::receive(int timeout_ms, const OnDatagram& on_datagram) {
  pollfd pfd{fd_, POLLIN, 0};
  int ready = ::poll(&pfd, 1, timeout_ms);
  if (ready < 0) return errno == EINTR ? 0 : -1;
  if (ready == 0) return 0;
  const int n = config_.batch;
  constexpr size_t kControl = CMSG_SPACE(sizeof(uint32_t));
  auto& msgs = msgs_;
  auto& iovs = iovs_;
  for (int k = 0; k < n; ++k) {
    msgs[k].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    msgs[k].msg_hdr.msg_controllen = kControl;
    msgs[k].msg_len = 0;
  }
  int got = ::recvmmsg(fd_, msgs.data(), unsigned(n), MSG_DONTWAIT, nullptr);
  if (got < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
  std::string ip;
  int port = 0;
  for (int k = 0; k < got; ++k) {
    msghdr& h = msgs[k].msg_hdr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        uint32_t overflow;
        std::memcpy(&overflow, CMSG_DATA(c), sizeof overflow);
        // The kernel reports a running total per socket.
        if (overflow > last_overflow_) drops_.fetch_add(overflow - last_overflow_, std::memory_order_relaxed);
        last_overflow_ = overflow;
        have_overflow_ = true;
      }
    }
    peer_of(addrs_[k], ip, port);
    size_t len = std::min<size_t>(msgs[k].msg_len, config_.max_datagram);
    on_datagram(std::string_view(static_cast<const char*>(iovs[k].iov_base), len), ip, port);
  }
  return got;
}

}  // namespace sluice::net
