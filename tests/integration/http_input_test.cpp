// The http input in a running pipeline, driven by curl (an independent client) and a raw
// socket: JSON documents, arrays, NDJSON, text, basic auth, 413, 429 on a full queue with no
// event lost or doubled, gzip bodies, HTTPS with and without client certificates.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "core/json.h"
#include "pipeline_test_plugins.h"
#include "test_support.h"

namespace sluice {
namespace {

using namespace rt_test;

struct Reply {
  int status = 0;
  std::string body;
  int exit_code = -1;  // curl's: 35 = the TLS handshake failed
};

// POSTs with curl; extra arguments go before the URL.
Reply curl(int port, const std::string& body, std::vector<std::string> extra = {}, const std::string& path = "/",
           const std::string& scheme = "http") {
  test::TempDir dir;
  test::write_file(dir.file("body"), body);
  std::vector<std::string> argv = {"curl", "-s", "-o", dir.file("out"), "-w", "%{http_code}", "--max-time", "20",
                                   "--data-binary", "@" + dir.file("body")};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(fmt::format("{}://127.0.0.1:{}{}", scheme, port, path));
  auto result = test::run_command(argv, "", std::chrono::seconds(30));
  Reply reply;
  reply.status = std::atoi(result.out.c_str());
  reply.exit_code = result.exit_code;
  if (std::filesystem::exists(dir.file("out"))) reply.body = test::read_file(dir.file("out"));
  return reply;
}

std::string http_config(int port, const std::string& key, const std::string& extra = "",
                        const std::string& output_extra = "") {
  return fmt::format("input {{ http {{ port => {} {} }} }}\noutput {{ rt_collect {{ key => '{}' {} }} }}", port, extra,
                     key, output_extra);
}

Value parse(const std::string& json) {
  Value v;
  EXPECT_TRUE(json_parse(json, v)) << json;
  return v;
}

const Value* field(const Value& root, std::initializer_list<const char*> path) {
  const Value* v = &root;
  for (const char* key : path) {
    if (!v->is_object()) return nullptr;
    v = v->as_object().find(key);
    if (!v) return nullptr;
  }
  return v;
}

class HttpInputTest : public ::testing::Test {
 protected:
  void start(const std::string& extra = "", const std::string& output_extra = "",
             PipelineSettings s = settings(1, 16, 5)) {
    port_ = test::free_port();
    key_ = unique_key("http");
    pipeline_ = make_pipeline(http_config(port_, key_, extra, output_extra), s);
    pipeline_->start();
    ASSERT_TRUE(test::wait_until([&] { return test::port_open(port_); }, std::chrono::seconds(10)));
  }
  void TearDown() override {
    if (pipeline_) {
      pipeline_->request_stop();
      EXPECT_TRUE(pipeline_->wait_for(30000));
    }
  }
  std::vector<Collected> wait_events(size_t n) {
    test_wait([&] { return collector(key_)->size() >= n; }, 20000);
    return collector(key_)->snapshot();
  }

  int port_ = 0;
  std::string key_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(HttpInputTest, JsonDocumentBecomesOneEventWithEcsRequestFields) {
  start();
  Reply reply = curl(port_, R"({"user":"ann","n":3})",
                     {"-H", "Content-Type: application/json", "-H", "User-Agent: sluice-test/1"}, "/logs?src=a");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "ok");
  auto events = wait_events(1);
  ASSERT_EQ(events.size(), 1u);
  Value e = parse(events[0].json);
  EXPECT_EQ(field(e, {"user"})->as_string(), "ann");
  EXPECT_EQ(field(e, {"n"})->as_int(), 3);
  EXPECT_EQ(field(e, {"http", "method"})->as_string(), "POST");
  EXPECT_EQ(field(e, {"url", "path"})->as_string(), "/logs?src=a");
  EXPECT_EQ(field(e, {"url", "port"})->as_int(), port_);
  EXPECT_EQ(field(e, {"user_agent", "original"})->as_string(), "sluice-test/1");
  EXPECT_EQ(field(e, {"host", "ip"})->as_string(), "127.0.0.1");
  EXPECT_EQ(field(e, {"http", "request", "mime_type"})->as_string(), "application/json");
  EXPECT_EQ(field(e, {"headers"}), nullptr) << "under ECS headers go to @metadata";
}

TEST_F(HttpInputTest, JsonArrayGivesOneEventPerElement) {
  start();
  Reply reply = curl(port_, R"([{"i":1},{"i":2},{"i":3}])", {"-H", "Content-Type: application/json"});
  EXPECT_EQ(reply.status, 200);
  auto events = wait_events(3);
  ASSERT_EQ(events.size(), 3u);
  std::set<int64_t> seen;
  for (auto& c : events) seen.insert(field(parse(c.json), {"i"})->as_int());
  EXPECT_EQ(seen, (std::set<int64_t>{1, 2, 3}));
}

TEST_F(HttpInputTest, NdjsonGivesOneEventPerLine) {
  start();
  Reply reply = curl(port_, "{\"i\":1}\n{\"i\":2}\n", {"-H", "Content-Type: application/x-ndjson"});
  EXPECT_EQ(reply.status, 200);
  auto events = wait_events(2);
  EXPECT_EQ(events.size(), 2u);
}

TEST_F(HttpInputTest, PlainTextKeepsTheBodyAsMessageAndLegacyFieldsWithoutEcs) {
  start("ecs_compatibility => disabled");
  Reply reply = curl(port_, "line one\nline two", {"-H", "Content-Type: text/plain"});
  EXPECT_EQ(reply.status, 200);
  auto events = wait_events(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message, "line one\nline two");
  Value e = parse(events[0].json);
  EXPECT_EQ(field(e, {"host"})->as_string(), "127.0.0.1");
  EXPECT_EQ(field(e, {"headers", "request_method"})->as_string(), "POST");
  EXPECT_EQ(field(e, {"headers", "content_type"})->as_string(), "text/plain");
}

TEST_F(HttpInputTest, InvalidJsonIsTaggedNotRejected) {
  start();
  Reply reply = curl(port_, "{not json", {"-H", "Content-Type: application/json"});
  EXPECT_EQ(reply.status, 200);
  auto events = wait_events(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NE(std::find(events[0].tags.begin(), events[0].tags.end(), "_jsonparsefailure"), events[0].tags.end());
}

TEST_F(HttpInputTest, BasicAuthRejectsWrongCredentials) {
  start("user => 'ingest' password => 's3cret'");
  EXPECT_EQ(curl(port_, "x").status, 401);
  EXPECT_EQ(curl(port_, "x", {"-u", "ingest:wrong"}).status, 401);
  EXPECT_EQ(curl(port_, "good", {"-u", "ingest:s3cret"}).status, 200);
  auto events = wait_events(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message, "good");
  EXPECT_EQ(events[0].json.find("s3cret"), std::string::npos);
  EXPECT_EQ(events[0].json.find("Basic"), std::string::npos);
}

TEST_F(HttpInputTest, BodyOverMaxContentLengthGets413) {
  start("max_content_length => 100");
  EXPECT_EQ(curl(port_, std::string(500, 'x')).status, 413);
  EXPECT_EQ(curl(port_, std::string(50, 'y')).status, 200);
  auto events = wait_events(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message, std::string(50, 'y'));
}

TEST_F(HttpInputTest, GzipBodyIsInflated) {
  start();
  test::TempDir dir;
  test::write_file(dir.file("b"), R"({"zipped":true})");
  ASSERT_EQ(test::run_command({"gzip", "-k", dir.file("b")}).exit_code, 0);
  Reply reply = curl(port_, test::read_file(dir.file("b.gz")),
                     {"-H", "Content-Type: application/json", "-H", "Content-Encoding: gzip"});
  EXPECT_EQ(reply.status, 200);
  auto events = wait_events(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(field(parse(events[0].json), {"zipped"})->as_bool());
}

TEST_F(HttpInputTest, ResponseCodeAndHeadersAreConfigurable) {
  start("response_code => 202 response_headers => { 'X-Ingest' => 'yes' }");
  test::TempDir dir;
  auto r = test::run_command({"curl", "-s", "-D", "-", "-o", "/dev/null", "--data-binary", "hi",
                              fmt::format("http://127.0.0.1:{}/", port_)});
  EXPECT_NE(r.out.find("HTTP/1.1 202"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("X-Ingest: yes"), std::string::npos) << r.out;
}

TEST_F(HttpInputTest, RawSocketKeepAliveRequests) {
  start();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string requests;
  for (int i = 0; i < 3; ++i)
    requests += fmt::format("PUT /r{} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nr{}", i, i);
  ASSERT_EQ(::send(fd, requests.data(), requests.size(), 0), ssize_t(requests.size()));
  std::string answers;
  char buf[4096];
  test::wait_until(
      [&] {
        ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) answers.append(buf, size_t(n));
        size_t count = 0;
        for (size_t at = answers.find("HTTP/1.1 200"); at != std::string::npos; at = answers.find("HTTP/1.1 200", at + 1))
          ++count;
        return count == 3;
      },
      std::chrono::seconds(10));
  ::close(fd);
  auto events = wait_events(3);
  ASSERT_EQ(events.size(), 3u);
  std::set<std::string> messages;
  for (auto& c : events) messages.insert(c.message);
  EXPECT_EQ(messages, (std::set<std::string>{"r0", "r1", "r2"}));
  EXPECT_EQ(field(parse(events[0].json), {"http", "method"})->as_string(), "PUT");
}

// A queue of 2 events and an output taking 1.5 s per event: concurrent requests beyond what the
// queue holds get 429 after the input's wait; every request answered 200 is delivered exactly once.
TEST_F(HttpInputTest, FullQueueAnswers429AndLosesNothing) {
  PipelineSettings s = settings(1, 1, 1);
  s.queue_max_events = 2;
  start("threads => 8", "delay_ms => 1500", s);
  constexpr int kRequests = 12;
  std::atomic<int> ok{0}, busy{0}, other{0};
  std::vector<std::thread> senders;
  std::mutex accepted_mutex;
  std::set<std::string> accepted;
  for (int i = 0; i < kRequests; ++i) {
    senders.emplace_back([&, i] {
      std::string body = "req-" + std::to_string(i);
      Reply r = curl(port_, body);
      if (r.status == 200) {
        ++ok;
        std::lock_guard lock(accepted_mutex);
        accepted.insert(body);
      } else if (r.status == 429) {
        ++busy;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : senders) t.join();
  EXPECT_GT(busy.load(), 0) << "a full queue must answer 429";
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(other.load(), 0);
  auto events = wait_events(size_t(ok.load()));
  // Let anything wrongly queued show up before counting.
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  events = collector(key_)->snapshot();
  std::set<std::string> delivered;
  for (auto& c : events) delivered.insert(c.message);
  EXPECT_EQ(events.size(), size_t(ok.load())) << "one event per accepted request, no rejected one";
  EXPECT_EQ(delivered, accepted);
}

// max_connections (sluice): libmicrohttpd stops accepting at the cap, so a connection beyond it
// waits in the listen backlog, unserved, until another one closes.
TEST_F(HttpInputTest, ConnectionsBeyondMaxConnectionsWait) {
  start("max_connections => 2 threads => 1");
  auto connect_raw = [&] {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(uint16_t(port_));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    return fd;
  };
  auto request = [](int fd, const std::string& body) {
    std::string text = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    EXPECT_EQ(::send(fd, text.data(), text.size(), MSG_NOSIGNAL), ssize_t(text.size()));
  };
  auto answered = [](int fd, int ms) {
    std::string got;
    test::wait_until(
        [&] {
          char buf[512];
          ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
          if (n > 0) got.append(buf, size_t(n));
          return got.find("\r\n\r\n") != std::string::npos;
        },
        std::chrono::milliseconds(ms));
    return got.rfind("HTTP/1.1 200", 0) == 0;
  };
  int first = connect_raw();
  request(first, "one");
  ASSERT_TRUE(answered(first, 10000));
  int second = connect_raw();
  request(second, "two");
  ASSERT_TRUE(answered(second, 10000));
  int third = connect_raw();
  request(third, "three");
  EXPECT_FALSE(answered(third, 1000)) << "a third connection was served beyond max_connections => 2";
  ::close(first);
  EXPECT_TRUE(answered(third, 10000)) << "the waiting connection was not served once one closed";
  ::close(second);
  ::close(third);
  EXPECT_EQ(wait_events(3).size(), 3u);
}

// ---- HTTPS ----

struct Certs {
  test::TempDir dir;
  bool make() {
    auto run = [&](std::vector<std::string> argv) { return test::run_command(argv).exit_code == 0; };
    std::string d = dir.path().string();
    return run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
                "-keyout", d + "/ca.key", "-out", d + "/ca.crt"}) &&
           run({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
                d + "/server.key", "-out", d + "/server.csr"}) &&
           write_ext() &&
           run({"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", d + "/ext.cnf", "-out", d + "/server.crt"}) &&
           run({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=client", "-keyout",
                d + "/client.key", "-out", d + "/client.csr"}) &&
           run({"openssl", "x509", "-req", "-in", d + "/client.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
                "-CAcreateserial", "-days", "2", "-out", d + "/client.crt"}) &&
           run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=rogue",
                "-keyout", d + "/rogue.key", "-out", d + "/rogue.crt"});
  }
  // server-enc.key: the server key encrypted (PKCS#8, AES-256) with `passphrase`; server-enc.crt its certificate.
  bool make_encrypted(const std::string& passphrase) {
    auto run = [&](std::vector<std::string> argv) { return test::run_command(argv).exit_code == 0; };
    std::string d = dir.path().string();
    return run({"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes-256-cbc", "-pass",
                "pass:" + passphrase, "-out", d + "/server-enc.key"}) &&
           run({"openssl", "req", "-new", "-key", d + "/server-enc.key", "-passin", "pass:" + passphrase, "-subj",
                "/CN=127.0.0.1", "-out", d + "/server-enc.csr"}) &&
           run({"openssl", "x509", "-req", "-in", d + "/server-enc.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", d + "/ext.cnf", "-out", d + "/server-enc.crt"});
  }
  bool write_ext() {
    test::write_file(dir.file("ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
    return true;
  }
  std::string f(const std::string& name) const { return dir.file(name); }
};

TEST_F(HttpInputTest, HttpsServesVerifiedClients) {
  Certs certs;
  ASSERT_TRUE(certs.make());
  start(fmt::format("ssl_enabled => true ssl_certificate => '{}' ssl_key => '{}'", certs.f("server.crt"),
                    certs.f("server.key")));
  EXPECT_EQ(curl(port_, "secure", {"--cacert", certs.f("ca.crt")}, "/", "https").status, 200);
  EXPECT_EQ(curl(port_, "insecure", {}, "/", "http").status, 0) << "plain HTTP on a TLS port fails";
  auto events = wait_events(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message, "secure");
}

TEST_F(HttpInputTest, HttpsRequiredClientCertificate) {
  Certs certs;
  ASSERT_TRUE(certs.make());
  start(fmt::format("ssl_enabled => true ssl_certificate => '{}' ssl_key => '{}' ssl_client_authentication => "
                    "required ssl_certificate_authorities => ['{}']",
                    certs.f("server.crt"), certs.f("server.key"), certs.f("ca.crt")));
  EXPECT_NE(curl(port_, "anonymous", {"--cacert", certs.f("ca.crt")}, "/", "https").status, 200);
  EXPECT_NE(curl(port_, "rogue", {"--cacert", certs.f("ca.crt"), "--cert", certs.f("rogue.crt"), "--key",
                                  certs.f("rogue.key")},
                 "/", "https")
                .status,
            200);
  EXPECT_EQ(curl(port_, "trusted", {"--cacert", certs.f("ca.crt"), "--cert", certs.f("client.crt"), "--key",
                                    certs.f("client.key")},
                 "/", "https")
                .status,
            200);
  auto events = wait_events(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  events = collector(key_)->snapshot();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message, "trusted");
}

TEST_F(HttpInputTest, HttpsRequiredClientCertificateFailsTheHandshakeItself) {
  Certs certs;
  ASSERT_TRUE(certs.make());
  // TLS 1.2: the client learns the outcome of client authentication inside the handshake.
  start(fmt::format("ssl_enabled => true ssl_certificate => '{}' ssl_key => '{}' ssl_client_authentication => "
                    "required ssl_certificate_authorities => ['{}'] ssl_supported_protocols => ['TLSv1.2']",
                    certs.f("server.crt"), certs.f("server.key"), certs.f("ca.crt")));
  Reply anonymous = curl(port_, "anonymous", {"--cacert", certs.f("ca.crt")}, "/", "https");
  EXPECT_EQ(anonymous.exit_code, 35) << "no certificate: the handshake must fail (curl 35), not the request";
  Reply rogue = curl(port_, "rogue", {"--cacert", certs.f("ca.crt"), "--cert", certs.f("rogue.crt"), "--key",
                                      certs.f("rogue.key")},
                     "/", "https");
  EXPECT_EQ(rogue.exit_code, 35) << "an untrusted certificate fails the handshake";
  Reply trusted = curl(port_, "trusted", {"--cacert", certs.f("ca.crt"), "--cert", certs.f("client.crt"), "--key",
                                          certs.f("client.key")},
                       "/", "https");
  EXPECT_EQ(trusted.status, 200);
  auto events = wait_events(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message, "trusted");
}

TEST_F(HttpInputTest, HttpsOptionalClientCertificateIsVerifiedWhenSent) {
  Certs certs;
  ASSERT_TRUE(certs.make());
  start(fmt::format("ssl_enabled => true ssl_certificate => '{}' ssl_key => '{}' ssl_client_authentication => "
                    "optional ssl_certificate_authorities => ['{}'] ssl_supported_protocols => ['TLSv1.2']",
                    certs.f("server.crt"), certs.f("server.key"), certs.f("ca.crt")));
  EXPECT_EQ(curl(port_, "anonymous", {"--cacert", certs.f("ca.crt")}, "/", "https").status, 200);
  EXPECT_EQ(curl(port_, "rogue", {"--cacert", certs.f("ca.crt"), "--cert", certs.f("rogue.crt"), "--key",
                                  certs.f("rogue.key")},
                 "/", "https")
                .exit_code,
            35);
  auto events = wait_events(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message, "anonymous");
}

TEST_F(HttpInputTest, HttpsEncryptedKeyWithPassphrase) {
  Certs certs;
  ASSERT_TRUE(certs.make());
  ASSERT_TRUE(certs.make_encrypted("s3cret-pass"));
  start(fmt::format("ssl_enabled => true ssl_certificate => '{}' ssl_key => '{}' ssl_key_passphrase => 's3cret-pass'",
                    certs.f("server-enc.crt"), certs.f("server-enc.key")));
  EXPECT_EQ(curl(port_, "encrypted key", {"--cacert", certs.f("ca.crt")}, "/", "https").status, 200);
  auto events = wait_events(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message, "encrypted key");
}

TEST(HttpInputConfig, WrongKeyPassphraseIsAConfigErrorWithPositionAndNoSecret) {
  Certs certs;
  ASSERT_TRUE(certs.make());
  ASSERT_TRUE(certs.make_encrypted("right-one"));
  std::string config = fmt::format(
      "input {{\n  http {{ port => 1 ssl_enabled => true ssl_certificate => '{}' ssl_key => '{}'\n"
      "    ssl_key_passphrase => 'wrong-secret-value' }}\n}}\noutput {{ rt_collect {{ key => 'x' }} }}",
      certs.f("server-enc.crt"), certs.f("server-enc.key"));
  try {
    make_pipeline(config);
    FAIL() << "a wrong passphrase was accepted";
  } catch (const config::ConfigError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("ssl_key_passphrase"), std::string::npos) << what;
    EXPECT_NE(what.find(":3:5"), std::string::npos) << what;
    EXPECT_EQ(what.find("wrong-secret-value"), std::string::npos) << "the passphrase leaked: " << what;
  }
  // Without any passphrase: the key is encrypted, said at ssl_key.
  try {
    make_pipeline(fmt::format("input {{ http {{ port => 1 ssl_enabled => true ssl_certificate => '{}' ssl_key => '{}' }} }}\n"
                              "output {{ rt_collect {{ key => 'x' }} }}",
                              certs.f("server-enc.crt"), certs.f("server-enc.key")));
    FAIL() << "an encrypted key without passphrase was accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("ssl_key_passphrase"), std::string::npos) << e.what();
  }
}

// A client that opens a TLS connection and stalls inside the handshake is closed after
// ssl_handshake_timeout (here 1 s), long before the 60 s idle timeout; others are served meanwhile.
TEST_F(HttpInputTest, HttpsSlowHandshakeIsClosed) {
  Certs certs;
  ASSERT_TRUE(certs.make());
  start(fmt::format("ssl_enabled => true ssl_certificate => '{}' ssl_key => '{}' ssl_handshake_timeout => 1000",
                    certs.f("server.crt"), certs.f("server.key")));
  auto open_stalled = [&](const std::string& first_bytes) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(uint16_t(port_));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    if (!first_bytes.empty()) {
      EXPECT_EQ(::send(fd, first_bytes.data(), first_bytes.size(), 0), ssize_t(first_bytes.size()));
    }
    return fd;
  };
  auto closed_by_server = [&](int fd) {
    return test::wait_until(
        [&] {
          char buf[256];
          ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
          return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
        },
        std::chrono::seconds(20));
  };
  int silent = open_stalled("");
  int partial = open_stalled(std::string("\x16\x03\x01\x00\x80", 5));  // a record header, then nothing
  EXPECT_EQ(curl(port_, "meanwhile", {"--cacert", certs.f("ca.crt")}, "/", "https").status, 200);
  EXPECT_TRUE(closed_by_server(silent)) << "a silent client was not closed within 20 s";
  EXPECT_TRUE(closed_by_server(partial)) << "a client stalled in the handshake was not closed within 20 s";
  ::close(silent);
  ::close(partial);
  EXPECT_EQ(curl(port_, "after", {"--cacert", certs.f("ca.crt")}, "/", "https").status, 200);
  EXPECT_EQ(wait_events(2).size(), 2u);
}

TEST_F(HttpInputTest, HttpsCipherSuitesRestrictTheHandshake) {
  Certs certs;
  ASSERT_TRUE(certs.make());
  // One TLS 1.3 and one TLS 1.2 suite: GnuTLS's priorities would also allow TLS_AES_128_GCM_SHA256
  // (its cipher is listed through the 1.2 suite); the handshake hook must refuse it.
  start(fmt::format("ssl_enabled => true ssl_certificate => '{}' ssl_key => '{}' ssl_cipher_suites => "
                    "['TLS_AES_256_GCM_SHA384', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256']",
                    certs.f("server.crt"), certs.f("server.key")));
  std::vector<std::string> ca = {"--cacert", certs.f("ca.crt")};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), ca.begin(), ca.end());
    return extra;
  };
  EXPECT_EQ(curl(port_, "tls13 listed", with({"--tls13-ciphers", "TLS_AES_256_GCM_SHA384"}), "/", "https").status, 200);
  EXPECT_NE(curl(port_, "tls13 unlisted", with({"--tls13-ciphers", "TLS_AES_128_GCM_SHA256"}), "/", "https").status,
            200);
  EXPECT_EQ(curl(port_, "tls12 listed",
                 with({"--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256"}), "/", "https")
                .status,
            200);
  EXPECT_EQ(curl(port_, "tls12 unlisted",
                 with({"--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES256-GCM-SHA384"}), "/", "https")
                .exit_code,
            35);
  auto events = wait_events(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  events = collector(key_)->snapshot();
  std::set<std::string> messages;
  for (auto& e : events) messages.insert(e.message);
  EXPECT_EQ(messages, (std::set<std::string>{"tls13 listed", "tls12 listed"}));
}

TEST(HttpInputConfig, UnknownCipherSuiteIsAConfigErrorWithPosition) {
  Certs certs;
  ASSERT_TRUE(certs.make());
  try {
    make_pipeline(fmt::format("input {{\n  http {{ port => 1 ssl_enabled => true ssl_certificate => '{}' ssl_key => '{}'\n"
                              "    ssl_cipher_suites => ['TLS_NO_SUCH_SUITE'] }}\n}}\noutput {{ rt_collect {{ key => 'x' }} }}",
                              certs.f("server.crt"), certs.f("server.key")));
    FAIL() << "an unknown cipher suite was accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("TLS_NO_SUCH_SUITE"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(":3:5"), std::string::npos) << e.what();
  }
}

TEST(HttpInputConfig, SslWithoutCertificateIsAConfigErrorWithPosition) {
  try {
    make_pipeline("input {\n  http { port => 1 ssl_enabled => true }\n}\noutput { rt_collect { key => 'x' } }");
    FAIL() << "expected a config error";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("ssl_certificate"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(":2:"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sluice
