#include "support/memcached_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <stdexcept>

namespace sluice::test {

MemcachedServer::MemcachedServer() {
  port_ = free_port();
  start();
}

MemcachedServer::~MemcachedServer() { stop(); }

void MemcachedServer::start() {
  // -u root: memcached refuses to run as root without it (tests run as root in CI).
  child_ = std::make_unique<Child>(std::vector<std::string>{"memcached", "-l", "127.0.0.1", "-p", std::to_string(port_),
                                                            "-U", "0", "-m", "64", "-u", "root"},
                                   dir_.file("memcached.out"), dir_.file("memcached.err"));
  if (!wait_until([&] { return port_open(port_); }, std::chrono::seconds(20))) {
    child_.reset();
    throw std::runtime_error("memcached did not start: " + read_file(dir_.file("memcached.err")));
  }
}

void MemcachedServer::stop() {
  if (!child_) return;
  child_->signal(SIGKILL);
  child_->wait(std::chrono::seconds(10));
  child_.reset();
}

std::string MemcachedServer::round_trip(const std::string& request, const std::string& terminator) const {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("memcached connect failed");
  }
  std::string reply;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size())) {
    ::close(fd);
    throw std::runtime_error("memcached send failed");
  }
  char buffer[4096];
  while (reply.size() < terminator.size() || reply.compare(reply.size() - terminator.size(), terminator.size(), terminator) != 0) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("memcached recv failed");
    }
    reply.append(buffer, size_t(n));
    if (reply.rfind("ERROR\r\n", 0) == 0 || reply.rfind("SERVER_ERROR", 0) == 0 || reply.rfind("CLIENT_ERROR", 0) == 0) break;
  }
  ::close(fd);
  return reply;
}

void MemcachedServer::set(const std::string& key, const std::string& value, int ttl) const {
  std::string reply = round_trip("set " + key + " 0 " + std::to_string(ttl) + " " + std::to_string(value.size()) + "\r\n" +
                                     value + "\r\n",
                                 "\r\n");
  if (reply != "STORED\r\n") throw std::runtime_error("memcached set: " + reply);
}

std::optional<std::string> MemcachedServer::get(const std::string& key) const {
  std::string reply = round_trip("get " + key + "\r\n", "END\r\n");
  if (reply.rfind("VALUE ", 0) != 0) return std::nullopt;
  const size_t header_end = reply.find("\r\n");
  const size_t last_space = reply.rfind(' ', header_end);
  const size_t bytes = std::stoul(reply.substr(last_space + 1, header_end - last_space - 1));
  return reply.substr(header_end + 2, bytes);
}

long long MemcachedServer::stat(const std::string& name) const {
  std::string reply = round_trip("stats\r\n", "END\r\n");
  const std::string marker = "STAT " + name + " ";
  auto pos = reply.find(marker);
  if (pos == std::string::npos) return -1;
  return std::stoll(reply.substr(pos + marker.size()));
}

}  // namespace sluice::test
