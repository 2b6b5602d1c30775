// The tcp input in a real pipeline with real sockets: lines and fields, TLS with client
// certificates (made by the openssl CLI), backpressure, and hostile clients that must only
// close their own connection.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "net/tls.h"
#include "pipeline_test_plugins.h"

namespace sluice {
namespace {

using namespace rt_test;

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int connect_when_up(int port) {
  int fd = -1;
  test_wait([&] { return (fd = connect_to(port)) >= 0; });
  return fd;
}

void send_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += size_t(n);
  }
}

// True once the server closed the connection (recv gives 0 or an error).
bool closed_by_server(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  char buf[256];
  return ::recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0;
}

int64_t rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

TEST(TcpInput, LinesFromSeveralClientsWithPeerFields) {
  std::string key = unique_key("tcp");
  int port = test::free_port();
  auto p = make_pipeline("input { tcp { port => " + std::to_string(port) +
                         " ecs_compatibility => disabled } }\noutput { rt_collect { key => '" + key + "' } }");
  p->start();
  std::vector<int> fds;
  for (int c = 0; c < 3; ++c) fds.push_back(connect_when_up(port));
  for (int c = 0; c < 3; ++c) {
    ASSERT_GE(fds[c], 0);
    send_all(fds[c], "client" + std::to_string(c) + " line1\nclient" + std::to_string(c) + " line2\n");
  }
  send_all(fds[0], "no newline at close");
  for (int fd : fds) ::close(fd);
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() == 7; })) << collector(key)->size();
  int with_fields = 0;
  bool saw_last = false;
  for (const auto& e : collector(key)->snapshot()) {
    if (e.json.find("\"host\":\"127.0.0.1\"") != std::string::npos && e.json.find("\"port\":") != std::string::npos) {
      ++with_fields;
    }
    saw_last |= e.message == "no newline at close";
  }
  EXPECT_EQ(with_fields, 7);
  EXPECT_TRUE(saw_last);
  p->request_stop();
  EXPECT_TRUE(p->wait_for(10000));
}

TEST(TcpInput, JsonLinesCodecAndEcsMetadata) {
  std::string key = unique_key("tcpjson");
  int port = test::free_port();
  auto p = make_pipeline("input { tcp { port => " + std::to_string(port) +
                         " codec => json_lines } }\nfilter { mutate { add_field => { 'peer' => "
                         "'%{[@metadata][input][tcp][source][ip]}' } } }\noutput { rt_collect { key => '" +
                         key + "' } }");
  p->start();
  int fd = connect_when_up(port);
  send_all(fd, "{\"message\":\"m1\",\"n\":1}\nnot json\n");
  ::close(fd);
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() == 2; }));
  auto events = collector(key)->snapshot();
  EXPECT_EQ(events[0].message, "m1");
  EXPECT_NE(events[0].json.find("\"n\":1"), std::string::npos);
  EXPECT_NE(events[0].json.find("\"peer\":\"127.0.0.1\""), std::string::npos);
  EXPECT_EQ(events[0].json.find("\"host\""), std::string::npos);  // ECS: metadata only
  ASSERT_EQ(events[1].tags.size(), 1u);
  EXPECT_EQ(events[1].tags[0], "_jsonparsefailure");
  p->request_stop();
  EXPECT_TRUE(p->wait_for(10000));
}

// The other codecs the issue lists: json (newline-framed, one document per line), plain (the
// bytes as read, nothing split) and cef.
TEST(TcpInput, JsonPlainAndCefCodecs) {
  auto run = [](const std::string& codec, const std::string& data, size_t expected) {
    std::string key = unique_key("tcpcodec");
    int port = test::free_port();
    auto p = make_pipeline("input { tcp { port => " + std::to_string(port) + " codec => " + codec +
                           " } }\noutput { rt_collect { key => '" + key + "' } }");
    p->start();
    int fd = connect_when_up(port);
    send_all(fd, data);
    ::close(fd);
    EXPECT_TRUE(test_wait([&] { return collector(key)->size() >= expected; })) << codec;
    p->request_stop();
    EXPECT_TRUE(p->wait_for(10000));
    return collector(key)->snapshot();
  };
  auto json = run("json", "{\"message\":\"j1\",\"k\":1}\n{\"message\":\"j2\",\"k\":2}\n", 2);
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0].message, "j1");
  EXPECT_NE(json[1].json.find("\"k\":2"), std::string::npos) << json[1].json;
  auto plain = run("plain", "no newline at the end", 1);
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].message, "no newline at the end");
  auto cef = run("cef { ecs_compatibility => disabled }",
                 "CEF:0|Acme|Gate|1.0|100|Blocked|5|src=10.0.0.1 dst=10.0.0.2\n", 1);
  ASSERT_EQ(cef.size(), 1u);
  EXPECT_NE(cef[0].json.find("\"deviceVendor\":\"Acme\""), std::string::npos) << cef[0].json;
  EXPECT_NE(cef[0].json.find("\"sourceAddress\":\"10.0.0.1\""), std::string::npos) << cef[0].json;
}

TEST(TcpInput, FullQueueBlocksTheSenderAndLosesNothing) {
  std::string key = unique_key("tcpbp");
  int port = test::free_port();
  PipelineSettings s = settings(1, 4, 1);
  s.queue_max_events = 8;
  auto p = make_pipeline("input { tcp { port => " + std::to_string(port) +
                          " } }\noutput { rt_collect { key => '" + key + "' delay_ms => 2 } }", s);
  p->start();
  int fd = connect_when_up(port);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  // Big lines fill the socket buffers with few events, so the crawling output drains them soon.
  std::string line = std::string(16 * 1024, 'x') + "\n";
  size_t sent_lines = 0;
  std::string pending;
  bool blocked = false;
  // Keep writing until the kernel refuses more: the server stopped reading.
  for (int i = 0; i < 200000 && !blocked; ++i) {
    ssize_t n = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
    if (n == ssize_t(line.size())) {
      ++sent_lines;
    } else if (n < 0 && errno == EAGAIN) {
      blocked = true;
    } else if (n > 0) {
      pending = line.substr(size_t(n));
      ++sent_lines;
      blocked = true;
    }
  }
  EXPECT_TRUE(blocked) << "the sender never blocked";
  EXPECT_LT(collector(key)->size(), sent_lines);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  send_all(fd, pending);
  ::close(fd);
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() == sent_lines; }, 120000))
      << collector(key)->size() << " of " << sent_lines;
  p->request_stop();
  EXPECT_TRUE(p->wait_for(10000));
}

TEST(TcpInput, HostileClientsCloseOnlyTheirOwnConnection) {
  std::string key = unique_key("tcphostile");
  int port = test::free_port();
  auto p = make_pipeline("input { tcp { port => " + std::to_string(port) +
                         " max_line_bytes => 1000 max_line_action => close idle_timeout => 1 max_connections => 3 } }\n"
                         "output { rt_collect { key => '" + key + "' } }");
  p->start();
  int good = connect_when_up(port);
  // The good client keeps talking (so the idle timeout does not concern it) while others misbehave.
  std::atomic<bool> ticking{true};
  std::thread ticker([&] {
    while (ticking.load()) {
      send_all(good, "tick\n");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  // An endless line: closed once it passes max_line_bytes.
  int endless = connect_to(port);
  send_all(endless, std::string(5000, 'a'));
  EXPECT_TRUE(closed_by_server(endless, 10000));
  ::close(endless);
  // A slowloris that sends nothing: closed by the idle timeout.
  int idle = connect_to(port);
  EXPECT_TRUE(closed_by_server(idle, 10000));
  ::close(idle);
  ticking.store(false);
  ticker.join();
  // The good client's connection is still open and still delivers.
  send_all(good, "still here\n");
  ASSERT_TRUE(test_wait([&] {
    auto events = collector(key)->snapshot();
    return !events.empty() && events.back().message == "still here";
  }));
  for (const auto& e : collector(key)->snapshot()) EXPECT_TRUE(e.message == "tick" || e.message == "still here") << e.message;
  // Over max_connections: accepted and closed at once.
  int a = connect_to(port), b = connect_to(port);
  int extra = connect_to(port);
  EXPECT_TRUE(closed_by_server(extra, 5000));
  for (int fd : {a, b, extra, good}) ::close(fd);
  p->request_stop();
  EXPECT_TRUE(p->wait_for(10000));
}

TEST(TcpInput, ThousandIdleConnectionsStayCheap) {
  std::string key = unique_key("tcpidle");
  int port = test::free_port();
  auto p = make_pipeline("input { tcp { port => " + std::to_string(port) + " max_connections => 2000 } }\n"
                         "output { rt_collect { key => '" + key + "' } }");
  p->start();
  int first = connect_when_up(port);
  send_all(first, "warm up\n");
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() == 1; }));
  int64_t before = rss_kib();
  std::vector<int> fds;
  for (int i = 0; i < 1000; ++i) {
    int fd = connect_to(port);
    ASSERT_GE(fd, 0) << i;
    fds.push_back(fd);
  }
  send_all(fds.back(), "after 1000\n");
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() == 2; }));
  int64_t growth = rss_kib() - before;
  EXPECT_LT(growth, 16 * 1024) << "RSS grew by " << growth << " KiB for 1000 idle connections";
  RecordProperty("rss_growth_kib_for_1000_idle", int(growth));
  for (int fd : fds) ::close(fd);
  ::close(first);
  p->request_stop();
  EXPECT_TRUE(p->wait_for(10000));
}

// ---- TLS -------------------------------------------------------------------------------------

struct Pki {
  test::TempDir dir;
  std::string ca, server_cert, server_key, client_cert, client_key;
  Pki() {
    auto run = [&](std::vector<std::string> argv) {
      auto r = test::run_command(argv);
      EXPECT_EQ(r.exit_code, 0) << r.err;
    };
    ca = dir.file("ca.pem");
    std::string ca_key = dir.file("ca.key");
    run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=sluice test CA"});
    auto issue = [&](const std::string& name, const std::string& cn, std::string& cert, std::string& key) {
      key = dir.file(name + ".key");
      cert = dir.file(name + ".pem");
      std::string csr = dir.file(name + ".csr"), ext = dir.file(name + ".ext");
      test::write_file(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
      run({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + cn});
      run({"openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
           "-days", "2", "-extfile", ext});
    };
    issue("server", "localhost", server_cert, server_key);
    issue("client", "test-client", client_cert, client_key);
  }
};

// A blocking TLS client; returns false when the handshake fails.
struct TlsClient {
  std::unique_ptr<net::TlsClientContext> ctx;
  SSL* ssl = nullptr;
  int fd = -1;
  bool connect(int port, const Pki& pki, bool with_cert) {
    net::TlsConfig cfg;
    cfg.certificate_authorities = {pki.ca};
    if (with_cert) {
      cfg.certificate = pki.client_cert;
      cfg.key = pki.client_key;
    }
    ctx = std::make_unique<net::TlsClientContext>(cfg, true);
    fd = connect_when_up(port);
    ssl = SSL_new(ctx->native());
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    if (SSL_connect(ssl) != 1) return false;
    // TLS 1.3 reports a rejected client certificate only on the first read/write.
    return true;
  }
  bool write(const std::string& data) { return SSL_write(ssl, data.data(), int(data.size())) == int(data.size()); }
  ~TlsClient() {
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
    if (fd >= 0) ::close(fd);
  }
};

TEST(TcpInputTls, ClientCertificateRequiredAndSubjectRecorded) {
  Pki pki;
  std::string key = unique_key("tcptls");
  int port = test::free_port();
  auto p = make_pipeline("input { tcp { port => " + std::to_string(port) +
                         " ecs_compatibility => disabled ssl_enabled => true ssl_certificate => '" + pki.server_cert +
                         "' ssl_key => '" + pki.server_key + "' ssl_certificate_authorities => ['" + pki.ca +
                         "'] ssl_client_authentication => required } }\noutput { rt_collect { key => '" + key + "' } }");
  p->start();
  {
    TlsClient good;
    ASSERT_TRUE(good.connect(port, pki, true));
    ASSERT_TRUE(good.write("over tls\n"));
    ASSERT_TRUE(test_wait([&] { return collector(key)->size() == 1; }));
  }
  auto e = collector(key)->snapshot()[0];
  EXPECT_EQ(e.message, "over tls");
  EXPECT_NE(e.json.find("\"sslsubject\":\"/CN=test-client\""), std::string::npos) << e.json;
  {
    TlsClient anonymous;  // no client certificate: refused
    bool ok = anonymous.connect(port, pki, false) && anonymous.write("must not arrive\n");
    char buf[16];
    if (ok) ok = SSL_read(anonymous.ssl, buf, sizeof buf) > 0;
    EXPECT_FALSE(ok);
  }
  {
    int garbage = connect_when_up(port);  // not TLS at all
    send_all(garbage, "GET / HTTP/1.0\r\n\r\n");
    EXPECT_TRUE(closed_by_server(garbage, 10000));
    ::close(garbage);
  }
  {
    TlsClient again;  // the server goes on
    ASSERT_TRUE(again.connect(port, pki, true));
    ASSERT_TRUE(again.write("second\n"));
    ASSERT_TRUE(test_wait([&] { return collector(key)->size() == 2; }));
  }
  EXPECT_EQ(collector(key)->size(), 2u);
  p->request_stop();
  EXPECT_TRUE(p->wait_for(10000));
}

TEST(TcpInputTls, BadKeyIsAConfigErrorWithPosition) {
  Pki pki;
  int port = test::free_port();
  try {
    auto p = make_pipeline("input { tcp { port => " + std::to_string(port) +
                           " ssl_enabled => true ssl_certificate => '" + pki.server_cert + "' ssl_key => '" +
                           pki.client_key + "' } }\noutput { rt_collect { key => 'x' } }");
    FAIL() << "a key not matching the certificate was accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(":1:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does not match certificate"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sluice
