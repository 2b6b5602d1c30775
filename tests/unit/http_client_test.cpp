// HttpClient against a small libmicrohttpd server on 127.0.0.1.
#include <gtest/gtest.h>
#include <microhttpd.h>

#include <atomic>
#include <cstring>
#include <string>

#include "net/http_client.h"
#include "test_support.h"

namespace sluice::net {
namespace {

// Echoes method, path and body; /big streams 1 MiB; /status/N answers N; counts connections.
class EchoServer {
 public:
  EchoServer() {
    port_ = test::free_port();
    daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, uint16_t(port_), nullptr, nullptr, &EchoServer::handle,
                               this, MHD_OPTION_NOTIFY_CONNECTION, &EchoServer::on_connection, this, MHD_OPTION_END);
  }
  ~EchoServer() {
    if (daemon_) MHD_stop_daemon(daemon_);
  }
  bool ok() const { return daemon_ != nullptr; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int connections() const { return connections_.load(); }

 private:
  struct Upload {
    std::string body;
  };
  static void on_connection(void* cls, MHD_Connection*, void**, MHD_ConnectionNotificationCode code) {
    if (code == MHD_CONNECTION_NOTIFY_STARTED) static_cast<EchoServer*>(cls)->connections_++;
  }
  static MHD_Result handle(void*, MHD_Connection* connection, const char* url, const char* method, const char*,
                           const char* upload_data, size_t* upload_size, void** state) {
    if (!*state) {
      *state = new Upload();
      return MHD_YES;
    }
    auto* upload = static_cast<Upload*>(*state);
    if (*upload_size) {
      upload->body.append(upload_data, *upload_size);
      *upload_size = 0;
      return MHD_YES;
    }
    std::string path = url;
    unsigned status = 200;
    std::string body;
    if (path == "/big") {
      body.assign(1 << 20, 'x');
    } else if (path.rfind("/status/", 0) == 0) {
      status = unsigned(std::stoi(path.substr(8)));
      body = "<Error>nope</Error>";
    } else {
      const char* header = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "X-Test");
      body = std::string(method) + " " + path + " " + (header ? header : "-") + " " + upload->body;
    }
    delete upload;
    *state = nullptr;
    MHD_Response* response = MHD_create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(response, "X-Reply", "yes");
    MHD_Result r = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return r;
  }
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
  std::atomic<int> connections_{0};
};

TEST(HttpClient, RequestsWithHeadersAndBodyReuseTheConnection) {
  EchoServer server;
  ASSERT_TRUE(server.ok());
  HttpClient client;
  HttpRequest put;
  put.method = "PUT";
  put.url = server.url("/a/b");
  put.headers = {{"X-Test", "t1"}};
  put.body = "payload";
  HttpResponse r = client.perform(put);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "PUT /a/b t1 payload");
  ASSERT_NE(r.header("x-reply"), nullptr);  // case-insensitive
  EXPECT_EQ(*r.header("x-reply"), "yes");
  HttpRequest get;
  get.url = server.url("/c");
  r = client.perform(get);
  EXPECT_EQ(r.body, "GET /c - ");
  HttpRequest del;
  del.method = "DELETE";
  del.url = server.url("/d");
  EXPECT_EQ(client.perform(del).body, "DELETE /d - ");
  EXPECT_EQ(server.connections(), 1);  // keep-alive
}

TEST(HttpClient, StreamingDeliversPiecesAndCanAbort) {
  EchoServer server;
  ASSERT_TRUE(server.ok());
  HttpClient client;
  HttpRequest get;
  get.url = server.url("/big");
  size_t total = 0;
  HttpResponse r = client.perform_streaming(get, [&](std::string_view piece) {
    total += piece.size();
    return true;
  });
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(total, size_t(1) << 20);
  EXPECT_TRUE(r.body.empty());
  r = client.perform_streaming(get, [&](std::string_view) { return false; });
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "aborted by callback");
  // An error status: the body is collected for the message, not streamed.
  get.url = server.url("/status/403");
  bool called = false;
  r = client.perform_streaming(get, [&](std::string_view) { return called = true; });
  EXPECT_EQ(r.status, 403);
  EXPECT_FALSE(called);
  EXPECT_EQ(r.body, "<Error>nope</Error>");
}

TEST(HttpClient, TransportErrorsAreReportedNotThrown) {
  HttpClientOptions options;
  options.connect_timeout_ms = 2000;
  HttpClient client(options);
  HttpRequest get;
  get.url = "http://127.0.0.1:" + std::to_string(test::free_port()) + "/";
  HttpResponse r = client.perform(get);
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(r.transport_failed());
  EXPECT_FALSE(r.error.empty());
}

TEST(HttpClient, TlsIsVerifiedByDefault) {
  HttpClientOptions defaults;
  EXPECT_TRUE(defaults.verify_tls);
  EXPECT_TRUE(defaults.proxy.empty());
}

TEST(HttpClient, UrlEncodeKeepsUnreservedAndOptionallySlash) {
  EXPECT_EQ(url_encode("a b/c~d"), "a%20b%2Fc~d");
  EXPECT_EQ(url_encode("a b/c", true), "a%20b/c");
  EXPECT_EQ(url_encode("\xC3\xA9"), "%C3%A9");
}

}  // namespace
}  // namespace sluice::net
