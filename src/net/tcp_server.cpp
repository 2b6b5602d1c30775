#include "net/tcp_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>

#include "runtime/logging.h"

namespace sluice::net {

namespace {

constexpr uint64_t kListenTag = 1;
constexpr uint64_t kWakeTag = 2;
constexpr uint64_t kFirstConnectionId = 16;
constexpr size_t kReadBufferSize = 64 * 1024;  // one per server, shared by every connection
constexpr int kReadsPerTurn = 4;                // fairness: then the next ready connection
constexpr int kSweepMillis = 1000;              // idle / handshake timeout resolution

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string errno_text(int err) { return std::strerror(err); }

void address_text(const sockaddr_storage& addr, std::string& ip, int& port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    }
    port = ntohs(in6->sin6_port);
  }
  ip = buf;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Connection

Connection::~Connection() {
  if (ssl_) SSL_free(ssl_);
  if (fd_ >= 0) ::close(fd_);
}

void Connection::update_interest_locked() {
  if (fd_ < 0 || !server_) return;
  epoll_event ev{};
  // Paused: no EPOLLRDHUP either, or a peer that sent its last bytes and closed would wake the
  // loop forever while those bytes wait in the kernel buffer for us.
  ev.events = 0;
  if (!paused_ || !handshake_done_) ev.events |= EPOLLIN | EPOLLRDHUP;
  if (want_write_) ev.events |= EPOLLOUT;
  ev.data.u64 = id_;
  ::epoll_ctl(server_->epoll_fd_, EPOLL_CTL_MOD, fd_, &ev);
}

bool Connection::flush_locked() {
  while (!out_.empty()) {
    if (ssl_) {
      ERR_clear_error();
      int n = SSL_write(ssl_, out_.data(), int(std::min<size_t>(out_.size(), 1 << 30)));
      if (n > 0) {
        out_.erase(0, size_t(n));
        continue;
      }
      int err = SSL_get_error(ssl_, n);
      if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) break;
      return false;
    }
    ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_.erase(0, size_t(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
    return false;
  }
  bool want = !out_.empty();
  if (want != want_write_) {
    want_write_ = want;
    update_interest_locked();
  }
  return true;
}

bool Connection::send(std::string_view bytes) {
  std::lock_guard lock(mutex_);
  if (closed_.load(std::memory_order_acquire) || close_after_flush_ || fd_ < 0) return false;
  if (out_.size() + bytes.size() > server_->config_.max_send_buffer) {
    close_after_flush_ = true;
    close_reason_ = "peer does not read (more than " + std::to_string(server_->config_.max_send_buffer) +
                    " bytes unsent)";
    out_.clear();
    server_->request(id_, false);
    return false;
  }
  out_.append(bytes);
  if (!handshake_done_) return true;  // written once the handshake is done
  if (!flush_locked()) {
    close_after_flush_ = true;
    close_reason_ = "write failed";
    out_.clear();
    server_->request(id_, false);
    return false;
  }
  return true;
}

void Connection::close(std::string reason) {
  std::lock_guard lock(mutex_);
  if (closed_.load(std::memory_order_acquire) || close_after_flush_) return;
  close_after_flush_ = true;
  close_reason_ = std::move(reason);
  server_->request(id_, false);
}

void Connection::pause_reading() {
  std::lock_guard lock(mutex_);
  if (closed_.load(std::memory_order_acquire) || paused_) return;
  paused_ = true;
  update_interest_locked();
}

void Connection::resume_reading() {
  std::lock_guard lock(mutex_);
  if (closed_.load(std::memory_order_acquire) || !paused_) return;
  paused_ = false;
  update_interest_locked();
  // TLS may hold decrypted bytes that no epoll event announces: let the loop look.
  server_->request(id_, true);
}

// ---------------------------------------------------------------------------------------------
// The loop

struct ServerLoop {
  struct Entry {
    std::shared_ptr<Connection> conn;
    std::unique_ptr<ConnectionHandler> handler;
  };

  TcpServer& server;
  std::shared_ptr<spdlog::logger> log;
  std::unordered_map<uint64_t, Entry> entries;
  std::vector<uint64_t> ready;  // connections that may have more to read without an event
  std::vector<char> buffer = std::vector<char>(kReadBufferSize);
  uint64_t next_id = kFirstConnectionId;
  int64_t last_sweep = now_ms();
  int64_t last_reject_log = 0;
  bool listening = true;
  int64_t listen_paused_until = 0;

  explicit ServerLoop(TcpServer& s) : server(s), log(logging::get(s.config_.log_name)) {}

  void run() {
    std::vector<epoll_event> events(64);
    while (!server.stop_.load(std::memory_order_acquire)) {
      int timeout = ready.empty() ? kSweepMillis : 0;
      int n = ::epoll_wait(server.epoll_fd_, events.data(), int(events.size()), timeout);
      if (n < 0) {
        if (errno == EINTR) continue;
        log->error("epoll_wait failed: {}", errno_text(errno));
        break;
      }
      int64_t turn_start = now_ms();
      for (int i = 0; i < n && !server.stop_.load(std::memory_order_relaxed); ++i) {
        uint64_t tag = events[i].data.u64;
        if (tag == kListenTag) {
          accept_all();
        } else if (tag == kWakeTag) {
          uint64_t value;
          [[maybe_unused]] ssize_t r = ::read(server.wake_fd_, &value, sizeof value);
          take_requests();
        } else {
          on_event(tag, events[i].events);
        }
      }
      if (!ready.empty()) {
        std::vector<uint64_t> again;
        again.swap(ready);
        for (uint64_t id : again) {
          auto it = entries.find(id);
          if (it != entries.end()) {
            it->second.conn->in_ready_list_ = false;
            read_some(it->second);
          }
        }
      }
      int64_t now = now_ms();
      if (now - turn_start > kSweepMillis) {
        // The loop was stalled (a handler blocked on a full queue): nobody could be read, so
        // nobody counts as idle for that time.
        for (auto& [id, entry] : entries) entry.conn->last_activity_ms_ = now;
      }
      if (now - last_sweep >= kSweepMillis) {
        last_sweep = now;
        sweep(now);
      }
    }
    std::vector<uint64_t> ids;
    for (auto& [id, entry] : entries) ids.push_back(id);
    for (uint64_t id : ids) close_connection(id, "server stopping", false);
  }

  void take_requests() {
    std::vector<uint64_t> closes, resumes;
    {
      std::lock_guard lock(server.requests_mutex_);
      closes.swap(server.close_requests_);
      resumes.swap(server.resume_requests_);
    }
    for (uint64_t id : resumes) {
      auto it = entries.find(id);
      if (it != entries.end()) {
        it->second.conn->last_activity_ms_ = now_ms();
        mark_ready(*it->second.conn);
      }
    }
    for (uint64_t id : closes) finish_close_request(id);
  }

  // A close() request: close now if nothing is left to write, else once written.
  void finish_close_request(uint64_t id) {
    auto it = entries.find(id);
    if (it == entries.end()) return;
    Connection& c = *it->second.conn;
    std::string reason;
    {
      std::lock_guard lock(c.mutex_);
      if (!c.out_.empty() && c.handshake_done_) {
        c.flush_locked();
        if (!c.out_.empty()) return;  // EPOLLOUT brings us back
      }
      reason = c.close_reason_;
    }
    close_connection(id, reason, true);
  }

  void mark_ready(Connection& c) {
    if (c.in_ready_list_) return;
    c.in_ready_list_ = true;
    ready.push_back(c.id_);
  }

  void accept_all() {
    for (;;) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      int fd = ::accept4(server.listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: stop accepting for a second instead of spinning on the listen socket.
          log->warn("cannot accept on {}:{}: {}; pausing accepts for 1s", server.config_.host, server.port_,
                    errno_text(errno));
          set_listening(false);
          listen_paused_until = now_ms() + 1000;
          return;
        }
        log->warn("accept failed on {}:{}: {}", server.config_.host, server.port_, errno_text(errno));
        return;
      }
      std::string ip;
      int port = 0;
      address_text(addr, ip, port);
      if (entries.size() >= server.config_.max_connections) {
        server.stats_.rejected_max_connections.fetch_add(1, std::memory_order_relaxed);
        int64_t now = now_ms();
        if (now - last_reject_log > 10000) {
          last_reject_log = now;
          log->warn("closing connection from {}:{}: max_connections ({}) reached", ip, port,
                    server.config_.max_connections);
        }
        ::close(fd);
        continue;
      }
      open_connection(fd, ip, port);
    }
  }

  void set_listening(bool on) {
    if (on == listening) return;
    listening = on;
    epoll_event ev{};
    ev.events = on ? uint32_t(EPOLLIN) : 0u;
    ev.data.u64 = kListenTag;
    ::epoll_ctl(server.epoll_fd_, EPOLL_CTL_MOD, server.listen_fd_, &ev);
  }

  void open_connection(int fd, const std::string& ip, int port) {
    const auto& cfg = server.config_;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (cfg.tcp_keep_alive) ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    auto conn = std::shared_ptr<Connection>(new Connection());
    conn->server_ = &server;
    conn->id_ = next_id++;
    conn->fd_ = fd;
    conn->peer_ip_ = ip;
    conn->peer_port_ = port;
    conn->local_port_ = server.port_;
    conn->opened_ms_ = conn->last_activity_ms_ = now_ms();
    if (server.tls_) {
      conn->ssl_ = SSL_new(server.tls_->native());
      if (!conn->ssl_ || SSL_set_fd(conn->ssl_, fd) != 1) {
        log->error("cannot set up TLS for {}:{}: {}", ip, port, openssl_errors());
        return;  // conn's destructor closes fd
      }
      SSL_set_accept_state(conn->ssl_);
    } else {
      conn->handshake_done_ = true;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = conn->id_;
    if (::epoll_ctl(server.epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      log->error("cannot watch connection from {}:{}: {}", ip, port, errno_text(errno));
      return;
    }
    Entry entry{conn, server.factory_()};
    uint64_t id = conn->id_;
    auto [it, inserted] = entries.emplace(id, std::move(entry));
    server.stats_.accepted.fetch_add(1, std::memory_order_relaxed);
    server.stats_.open.fetch_add(1, std::memory_order_relaxed);
    log->debug("connection {} from {}:{}", id, ip, port);
    if (!server.tls_) it->second.handler->on_open(it->second.conn);
  }

  void on_event(uint64_t id, uint32_t events) {
    auto it = entries.find(id);
    if (it == entries.end()) return;
    Entry& entry = it->second;
    Connection& c = *entry.conn;
    if (!c.handshake_done_) {
      handshake(entry);
      return;
    }
    if (events & (EPOLLHUP | EPOLLERR)) {
      bool paused;
      {
        std::lock_guard lock(c.mutex_);
        paused = c.paused_;
      }
      // Reset by the peer while we were not reading (EPOLLHUP is reported even when not asked for).
      if (paused) return close_connection(id, "connection reset by peer", false);
    }
    if (events & EPOLLOUT) {
      bool ok, close_now = false;
      std::string reason;
      {
        std::lock_guard lock(c.mutex_);
        ok = c.flush_locked();
        if (ok && c.out_.empty() && c.close_after_flush_) close_now = true, reason = c.close_reason_;
      }
      if (!ok) return close_connection(id, "write failed: " + write_error(c), false);
      if (close_now) return close_connection(id, reason, true);
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) read_some(entry);
  }

  std::string write_error(Connection& c) {
    (void)c;
    return errno ? errno_text(errno) : "connection lost";
  }

  void handshake(Entry& entry) {
    Connection& c = *entry.conn;
    int rc, err = 0;
    {
      std::lock_guard lock(c.mutex_);
      ERR_clear_error();
      rc = SSL_do_handshake(c.ssl_);
      if (rc != 1) err = SSL_get_error(c.ssl_, rc);
      if (rc == 1) {
        c.handshake_done_ = true;
        c.peer_subject_ = peer_certificate_subject(c.ssl_);
        c.peer_subject_rfc2253_ = peer_certificate_subject_rfc2253(c.ssl_);
        c.tls_protocol_ = negotiated_protocol(c.ssl_);
        c.tls_cipher_suite_ = negotiated_cipher_suite(c.ssl_);
        c.want_write_ = false;
        if (!c.out_.empty()) c.flush_locked();
        c.update_interest_locked();
      } else if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        bool want = err == SSL_ERROR_WANT_WRITE;
        if (want != c.want_write_) {
          c.want_write_ = want;
          c.update_interest_locked();
        }
        return;
      }
    }
    if (rc != 1) {
      server.stats_.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
      std::string detail = err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN ? "connection closed by peer"
                                                                                     : openssl_errors();
      close_connection(c.id_, "TLS handshake failed: " + detail, false, /*warn=*/true);
      return;
    }
    c.last_activity_ms_ = now_ms();
    log->debug("connection {} from {}:{}: TLS established{}", c.id_, c.peer_ip_, c.peer_port_,
               c.peer_subject_.empty() ? "" : ", client " + c.peer_subject_);
    entry.handler->on_open(entry.conn);
    mark_ready(c);  // the client may have sent data along with its Finished message
  }

  // Reads up to kReadsPerTurn buffers and hands them to the handler.
  void read_some(Entry& entry) {
    std::shared_ptr<Connection> hold = entry.conn;  // the handler may close; keep it alive here
    Connection& c = *hold;
    uint64_t id = c.id_;
    for (int turn = 0; turn < kReadsPerTurn; ++turn) {
      ssize_t got = 0;
      bool eof = false, again = false, want_write = false;
      std::string error;
      {
        std::lock_guard lock(c.mutex_);
        if (c.fd_ < 0 || c.paused_ || c.close_after_flush_) return;
        if (c.ssl_) {
          ERR_clear_error();
          int n = SSL_read(c.ssl_, buffer.data(), int(buffer.size()));
          if (n > 0) {
            got = n;
          } else {
            int err = SSL_get_error(c.ssl_, n);
            if (err == SSL_ERROR_WANT_READ) again = true;
            else if (err == SSL_ERROR_WANT_WRITE) again = want_write = true;
            else if (err == SSL_ERROR_ZERO_RETURN) eof = true;
            else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) eof = true;
            else error = "TLS error: " + openssl_errors();
          }
          if (want_write && !c.want_write_) {
            c.want_write_ = true;
            c.update_interest_locked();
          }
        } else {
          ssize_t n = ::recv(c.fd_, buffer.data(), buffer.size(), 0);
          if (n > 0) got = n;
          else if (n == 0) eof = true;
          else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) again = true;
          else if (errno == ECONNRESET) eof = true;
          else error = "read failed: " + errno_text(errno);
        }
      }
      if (again) return;
      if (eof) return close_connection(id, "peer closed", false);
      if (!error.empty()) return close_connection(id, error, false, true);
      c.last_activity_ms_ = now_ms();
      server.stats_.bytes_in.fetch_add(uint64_t(got), std::memory_order_relaxed);
      entry.handler->on_data(c, std::string_view(buffer.data(), size_t(got)));
      if (entries.find(id) == entries.end()) return;  // closed meanwhile
      if (size_t(got) < buffer.size() && !(c.ssl_ && SSL_pending(c.ssl_) > 0)) return;  // drained
    }
    mark_ready(c);  // more may be waiting: come back after the others had their turn
  }

  void sweep(int64_t now) {
    if (!listening && now >= listen_paused_until) set_listening(true);
    const auto& cfg = server.config_;
    std::vector<std::pair<uint64_t, std::string>> expired;
    for (auto& [id, entry] : entries) {
      Connection& c = *entry.conn;
      if (!c.handshake_done_) {
        if (cfg.handshake_timeout_ms > 0 && now - c.opened_ms_ > cfg.handshake_timeout_ms) {
          expired.emplace_back(id, "TLS handshake not finished within " + std::to_string(cfg.handshake_timeout_ms) + " ms");
        }
        continue;
      }
      bool paused;
      {
        std::lock_guard lock(c.mutex_);
        paused = c.paused_;
      }
      if (paused) {
        c.last_activity_ms_ = now;  // waiting on us, not idle
        continue;
      }
      if (cfg.idle_timeout_ms > 0 && now - c.last_activity_ms_ > cfg.idle_timeout_ms) {
        expired.emplace_back(id, fmt::format("idle for more than {:g} s (idle_timeout)", cfg.idle_timeout_ms / 1000.0));
      }
    }
    for (auto& [id, reason] : expired) {
      bool handshake = reason.rfind("TLS", 0) == 0;
      if (handshake) server.stats_.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
      else server.stats_.closed_idle.fetch_add(1, std::memory_order_relaxed);
      close_connection(id, reason, true);
    }
  }

  // Closes and forgets a connection; `notable` reasons are logged at info/warn, routine ones at debug.
  void close_connection(uint64_t id, const std::string& reason, bool notable, bool warn = false) {
    auto it = entries.find(id);
    if (it == entries.end()) return;
    Entry entry = std::move(it->second);
    entries.erase(it);
    Connection& c = *entry.conn;
    {
      std::lock_guard lock(c.mutex_);
      c.closed_.store(true, std::memory_order_release);
      ::epoll_ctl(server.epoll_fd_, EPOLL_CTL_DEL, c.fd_, nullptr);
      if (c.ssl_) {
        if (c.handshake_done_) {
          ERR_clear_error();
          SSL_shutdown(c.ssl_);  // best effort close_notify
        }
        SSL_free(c.ssl_);
        c.ssl_ = nullptr;
        ERR_clear_error();
      }
      ::close(c.fd_);
      c.fd_ = -1;
      c.out_.clear();
      c.out_.shrink_to_fit();
    }
    server.stats_.open.fetch_sub(1, std::memory_order_relaxed);
    if (warn) log->warn("closed connection from {}:{}: {}", c.peer_ip_, c.peer_port_, reason);
    else if (notable) log->info("closed connection from {}:{}: {}", c.peer_ip_, c.peer_port_, reason);
    else log->debug("closed connection from {}:{}: {}", c.peer_ip_, c.peer_port_, reason);
    if (entry.handler) entry.handler->on_close(c, reason);
  }
};

// ---------------------------------------------------------------------------------------------
// TcpServer

TcpServer::TcpServer(ListenerConfig config, HandlerFactory factory)
    : config_(std::move(config)), factory_(std::move(factory)) {
  if (config_.tls_enabled) tls_ = std::make_unique<TlsServerContext>(config_.tls);
  const std::string where = config_.host + ":" + std::to_string(config_.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string service = std::to_string(config_.port);
  int rc = ::getaddrinfo(config_.host.empty() ? nullptr : config_.host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0 || !found) throw std::runtime_error("cannot resolve listen address " + where + ": " + gai_strerror(rc));
  int last_errno = 0;
  for (addrinfo* ai = found; ai && listen_fd_ < 0; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    int one = 1, zero = 0;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);  // "::" = both
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 1024) != 0) {
      last_errno = errno;
      ::close(fd);
      continue;
    }
    listen_fd_ = fd;
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0) throw std::runtime_error("cannot listen on " + where + ": " + errno_text(last_errno));
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  std::string ip;
  address_text(bound, ip, port_);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    ::close(listen_fd_);
    throw std::runtime_error("cannot create epoll/eventfd: " + errno_text(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.u64 = kWakeTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
}

TcpServer::~TcpServer() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void TcpServer::run() {
  ServerLoop loop(*this);
  loop.run();
  // Free the port as soon as the input stops.
  if (listen_fd_ >= 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
}

void TcpServer::stop() {
  stop_.store(true, std::memory_order_release);
  wake();
}

void TcpServer::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wake_fd_, &one, sizeof one);
}

void TcpServer::request(uint64_t connection_id, bool resume) {
  {
    std::lock_guard lock(requests_mutex_);
    (resume ? resume_requests_ : close_requests_).push_back(connection_id);
  }
  wake();
}

}  // namespace sluice::net
