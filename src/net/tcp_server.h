// The listener layer of the network inputs (tcp, syslog, beats): one epoll loop per server that
// accepts, reads (plain or TLS) and hands bytes to a per-connection handler.
//
// Why one epoll loop on the input's own thread, not a thread per connection: an idle connection
// then costs a socket, a small Connection object and its handler (no stack, no read buffer: the
// loop reads into ONE shared buffer; OpenSSL's buffers are released while idle), so 1,000 idle
// clients stay within a few MiB. The loop thread is the input's run() thread, so the handler may
// call InputContext::push() directly (push is single-threaded): when push blocks on a full queue
// the loop stops reading every connection of this server, the kernel buffers fill and the
// senders block. Nothing is buffered in between.
//
// Threads: run() runs the loop on the calling thread; on_open/on_data/on_close are called there.
// Connection::send/close/pause_reading/resume_reading may be called from ANY thread (e.g. an ack
// listener sending Lumberjack ACKs). stop() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "net/tls.h"

namespace sluice::net {

struct ListenerConfig {
  std::string host = "127.0.0.1";  // "0.0.0.0" / "::" (dual stack) listen on every interface
  int port = 0;                    // 0 = any free port (see TcpServer::port())
  bool tls_enabled = false;
  TlsConfig tls;
  size_t max_connections = 1000;     // more are accepted and closed at once (logged, counted)
  int idle_timeout_ms = 0;           // 0 = never; a connection that sends nothing for this long is closed
  int handshake_timeout_ms = 10000;  // TLS handshake must finish within this (slowloris guard)
  bool tcp_keep_alive = false;       // SO_KEEPALIVE on accepted sockets
  size_t max_send_buffer = 1 << 20;  // bytes queued by send() and not yet written: over this, close
  std::string log_name = "sluice.net";  // logger for connection open/close reasons
};

class TcpServer;

// One accepted connection. Shared: the server keeps it while open; a handler or another thread
// may keep a shared_ptr (from TcpServer's on_open) to send later; after close, send() returns false.
class Connection {
 public:
  uint64_t id() const { return id_; }
  const std::string& peer_ip() const { return peer_ip_; }  // "127.0.0.1", "::1"
  int peer_port() const { return peer_port_; }
  int local_port() const { return local_port_; }
  bool tls() const { return ssl_ != nullptr; }
  // TLS: the verified client certificate's subject ("" without one). Set before on_open.
  const std::string& peer_subject() const { return peer_subject_; }
  // TLS, set before on_open: the client certificate's subject as Java prints it (RFC 2253,
  // "CN=client,O=Test"; "" without a certificate), the protocol ("TLSv1.3") and the IANA-named
  // cipher suite ("TLS_AES_256_GCM_SHA384"), for Logstash's [@metadata][tls_peer] fields.
  const std::string& peer_subject_rfc2253() const { return peer_subject_rfc2253_; }
  const std::string& tls_protocol() const { return tls_protocol_; }
  const std::string& tls_cipher_suite() const { return tls_cipher_suite_; }

  // Queues bytes for the peer and writes what the socket takes now. Any thread. False when
  // the connection is closed (or is closed because the unsent bytes exceeded max_send_buffer).
  bool send(std::string_view bytes);
  // Closes the connection after the bytes already queued by send() were written (best effort);
  // the reason is logged and given to on_close. Any thread; idempotent.
  void close(std::string reason);
  // Stop / restart reading this connection (flow control per connection). Any thread.
  void pause_reading();
  void resume_reading();
  bool closed() const { return closed_.load(std::memory_order_acquire); }

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

 private:
  friend class TcpServer;
  Connection() = default;
  bool flush_locked();         // writes out_; false on a fatal error
  void update_interest_locked();

  TcpServer* server_ = nullptr;
  uint64_t id_ = 0;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string peer_ip_, peer_subject_, peer_subject_rfc2253_, tls_protocol_, tls_cipher_suite_;
  int peer_port_ = 0, local_port_ = 0;

  std::mutex mutex_;              // guards fd_ use for writing, ssl_, out_, flags below
  std::string out_;               // bytes not yet written (empty almost always)
  bool handshake_done_ = false;
  bool paused_ = false;
  bool want_write_ = false;       // EPOLLOUT registered
  bool close_after_flush_ = false;
  std::string close_reason_;
  std::atomic<bool> closed_{false};
  int64_t last_activity_ms_ = 0;  // loop thread only
  int64_t opened_ms_ = 0;
  bool in_ready_list_ = false;    // loop thread only: more to read without a new epoll event
  friend struct ServerLoop;
};

// What a server does with each connection. One handler object per connection, created by the
// server's factory on accept; it lives until on_close returned.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // The connection is established (TLS handshake done). Keep `conn` to send from elsewhere.
  virtual void on_open(const std::shared_ptr<Connection>& conn) { (void)conn; }
  // Bytes received (a view into the loop's buffer, valid during the call). May block (push).
  virtual void on_data(Connection& conn, std::string_view bytes) = 0;
  // The peer closed, an error occurred, or close() was called; reason is human readable
  // ("peer closed", "idle for 60s", "TLS handshake failed: ...", "line longer than ...").
  virtual void on_close(Connection& conn, const std::string& reason) { (void)conn; (void)reason; }
};

using HandlerFactory = std::function<std::unique_ptr<ConnectionHandler>()>;

// Counters for the monitoring API (the input copies them into its PluginMetrics counters).
struct ServerStats {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> rejected_max_connections{0};
  std::atomic<uint64_t> closed_idle{0};
  std::atomic<uint64_t> tls_handshake_failures{0};
  std::atomic<int64_t> open{0};
  std::atomic<uint64_t> bytes_in{0};
};

class TcpServer {
 public:
  // Binds and listens now (throws std::runtime_error naming host:port and errno text; TlsError
  // for bad TLS material), so config errors surface at pipeline start.
  TcpServer(ListenerConfig config, HandlerFactory factory);
  ~TcpServer();  // closes every connection (on_close "server stopping"); call after run() returned
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  int port() const { return port_; }  // the bound port (useful with port 0)
  // Runs the loop on the calling thread until stop(). Handlers are called from this thread.
  void run();
  // Makes run() return soon (any thread). Open connections are closed by run() on its way out.
  void stop();
  const ServerStats& stats() const { return stats_; }
  const ListenerConfig& config() const { return config_; }

 private:
  friend class Connection;
  friend struct ServerLoop;
  void wake();
  // Requests from other threads, carried out by the loop.
  void request(uint64_t connection_id, bool resume);

  ListenerConfig config_;
  HandlerFactory factory_;
  std::unique_ptr<TlsServerContext> tls_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  ServerStats stats_;
  std::mutex requests_mutex_;
  std::vector<uint64_t> close_requests_, resume_requests_;
};

}  // namespace sluice::net
