// The beats input in a running pipeline, against two independent clients: the npm package
// `lumberjack-client` (node) and a minimal Lumberjack v2 writer written here from the protocol
// description. ACKs come only after the outputs took the window; keep-alive ACKs while the
// pipeline is slow; hostile frames close only their connection; TLS with client certificates.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <thread>

#include <fmt/format.h>

#include "core/json.h"
#include "pipeline_test_plugins.h"
#include "plugins/inputs/beats/lumberjack.h"
#include "support/lumberjack_writer.h"
#include "support/npm_clients.h"
#include "test_support.h"

namespace sluice {
namespace {

using namespace rt_test;

using test::LumberjackWriter;

std::string beat_event(int i, const std::string& extra = "") {
  return fmt::format(
      R"({{"@timestamp":"2024-05-01T10:00:0{}.000Z","@metadata":{{"beat":"filebeat","type":"_doc","version":"8.11.0"}},)"
      R"("message":"line {}","id":{},"agent":{{"type":"filebeat","name":"web-1"}},"host":{{"name":"web-1"}}{}}})",
      i % 10, i, i, extra);
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

class BeatsInputTest : public ::testing::Test {
 protected:
  // Copies a few @metadata fields into the event so the collector sees them.
  void start(const std::string& input_extra = "", const std::string& output_extra = "",
             PipelineSettings s = settings(1, 64, 5)) {
    port_ = test::free_port();
    key_ = unique_key("beats");
    std::string config = fmt::format(
        "input {{ beats {{ port => {} {} }} }}\n"
        "filter {{ mutate {{ add_field => {{ 'meta_beat' => '%{{[@metadata][beat]}}' "
        "'meta_ip' => '%{{[@metadata][input][beats][host][ip]}}' 'meta_ip_legacy' => '%{{[@metadata][ip_address]}}' "
        "'meta_version' => '%{{[@metadata][version]}}' }} }} }}\n"
        "output {{ rt_collect {{ key => '{}' {} }} }}",
        port_, input_extra, key_, output_extra);
    pipeline_ = make_pipeline(config, s);
    pipeline_->start();
    ASSERT_TRUE(test::wait_until([&] { return test::port_open(port_); }, std::chrono::seconds(10)));
  }
  void TearDown() override {
    if (pipeline_) {
      pipeline_->request_stop();
      EXPECT_TRUE(pipeline_->wait_for(30000));
    }
  }
  std::vector<Collected> wait_events(size_t n, int ms = 20000) {
    test_wait([&] { return collector(key_)->size() >= n; }, ms);
    return collector(key_)->snapshot();
  }

  int port_ = 0;
  std::string key_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(BeatsInputTest, WindowIsAckedWithItsLastSequenceAfterTheOutputTookIt) {
  start("", "delay_ms => 300");
  LumberjackWriter client(port_);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send_window({beat_event(1), beat_event(2), beat_event(3)}, false));
  int64_t ack = client.read_ack(20000);
  EXPECT_EQ(ack, 3);
  // The ACK left only once every event of the window had been written by the output.
  EXPECT_EQ(collector(key_)->size(), 3u);
  EXPECT_EQ(collector(key_)->arrived_already_acked.load(), 0u);
}

TEST_F(BeatsInputTest, EventFieldsAndMetadataAsLogstashSetsThem) {
  start();
  LumberjackWriter client(port_);
  ASSERT_TRUE(client.send_window({beat_event(7)}, true));
  EXPECT_EQ(client.read_ack(20000), 1);
  auto events = wait_events(1);
  ASSERT_EQ(events.size(), 1u);
  Value e = parse(events[0].json);
  EXPECT_EQ(events[0].message, "line 7");
  EXPECT_EQ(field(e, {"id"})->as_int(), 7);
  EXPECT_EQ(field(e, {"agent", "name"})->as_string(), "web-1");
  EXPECT_EQ(field(e, {"host", "name"})->as_string(), "web-1");
  EXPECT_NE(events[0].json.find("2024-05-01T10:00:07"), std::string::npos) << events[0].json;
  EXPECT_EQ(field(e, {"meta_beat"})->as_string(), "filebeat");
  EXPECT_EQ(field(e, {"meta_version"})->as_string(), "8.11.0");
  EXPECT_EQ(field(e, {"meta_ip"})->as_string(), "127.0.0.1");
  EXPECT_EQ(events[0].tags, (std::vector<std::string>{"beats_input_codec_plain_applied"}));
  EXPECT_EQ(field(e, {"@metadata"}), nullptr);
}

TEST_F(BeatsInputTest, LegacyIpFieldAndRawEventTagWithoutEcs) {
  start("ecs_compatibility => disabled");
  LumberjackWriter client(port_);
  ASSERT_TRUE(client.send_window({R"({"@metadata":{"beat":"metricbeat"},"system":{"load":1.5}})"}, false));
  EXPECT_EQ(client.read_ack(20000), 1);
  auto events = wait_events(1);
  ASSERT_EQ(events.size(), 1u);
  Value e = parse(events[0].json);
  EXPECT_EQ(field(e, {"meta_ip_legacy"})->as_string(), "127.0.0.1");
  EXPECT_EQ(field(e, {"system", "load"})->as_float(), 1.5);
  EXPECT_EQ(events[0].tags, (std::vector<std::string>{"beats_input_raw_event"}));
}

TEST_F(BeatsInputTest, JsonCodecDecodesTheMessage) {
  start("codec => json");
  LumberjackWriter client(port_);
  ASSERT_TRUE(client.send_window({R"({"@metadata":{"beat":"filebeat"},"message":"{\"level\":\"warn\"}","id":1})"},
                                 false));
  EXPECT_EQ(client.read_ack(20000), 1);
  auto events = wait_events(1);
  ASSERT_EQ(events.size(), 1u);
  Value e = parse(events[0].json);
  EXPECT_EQ(field(e, {"level"})->as_string(), "warn");
  EXPECT_EQ(field(e, {"id"})->as_int(), 1);
  EXPECT_EQ(events[0].tags, (std::vector<std::string>{"beats_input_codec_json_applied"}));
}

TEST_F(BeatsInputTest, ManyWindowsOnOneConnectionAreAckedInOrder) {
  start();
  LumberjackWriter client(port_);
  for (int w = 0; w < 20; ++w) {
    std::vector<std::string> events;
    for (int i = 0; i < 50; ++i) events.push_back(beat_event(w * 50 + i));
    ASSERT_TRUE(client.send_window(events, w % 2 == 0));
    ASSERT_EQ(client.read_ack(20000), 50) << "window " << w;
  }
  auto events = wait_events(1000);
  std::set<int64_t> ids;
  for (auto& c : events) ids.insert(field(parse(c.json), {"id"})->as_int());
  EXPECT_EQ(events.size(), 1000u);
  EXPECT_EQ(ids.size(), 1000u);
}

TEST_F(BeatsInputTest, KeepAliveAcksWhileThePipelineIsSlow) {
  start("", "delay_ms => 7000", settings(1, 1, 1));
  LumberjackWriter client(port_);
  ASSERT_TRUE(client.send_window({beat_event(1)}, false));
  // The output needs 7 s; within that the server says it is alive with ACK 0 (every 5 s).
  EXPECT_EQ(client.read_ack(6500), 0);
  EXPECT_EQ(client.read_ack(20000), 1);
}

TEST_F(BeatsInputTest, MalformedFramesCloseOnlyThatConnection) {
  start();
  LumberjackWriter good(port_);
  LumberjackWriter bad(port_);
  ASSERT_TRUE(bad.send(std::string("2Q\0\0\0\0", 6)));
  EXPECT_TRUE(bad.closed_by_server(10000));
  LumberjackWriter bad_json(port_);
  std::string frames;
  lumberjack::append_window(frames, 1);
  lumberjack::append_json(frames, 1, "{not json");
  ASSERT_TRUE(bad_json.send(frames));
  EXPECT_TRUE(bad_json.closed_by_server(10000));
  ASSERT_TRUE(good.send_window({beat_event(1)}, false));
  EXPECT_EQ(good.read_ack(20000), 1);
}

TEST_F(BeatsInputTest, DecompressionBombClosesTheConnection) {
  start("max_decompressed_bytes => 1048576");
  LumberjackWriter bomb(port_);
  std::string inner;
  lumberjack::append_json(inner, 1, std::string(size_t(4) << 20, ' '));  // 4 MiB of spaces: over the cap
  std::string zipped;
  lumberjack::append_window(zipped, 1);
  lumberjack::append_compressed(zipped, inner, 9);
  ASSERT_LT(zipped.size(), size_t(64) << 10);
  ASSERT_TRUE(bomb.send(zipped));
  EXPECT_TRUE(bomb.closed_by_server(20000));
  EXPECT_EQ(collector(key_)->size(), 0u);
  LumberjackWriter good(port_);
  ASSERT_TRUE(good.send_window({beat_event(1)}, true));
  EXPECT_EQ(good.read_ack(20000), 1);
}

TEST_F(BeatsInputTest, NodeLumberjackClientDeliversEveryEventOnce) {
  start();
  std::string modules = test::lumberjack_client_modules();
  ASSERT_FALSE(modules.empty()) << "npm install lumberjack-client failed (run scripts/deps.sh test)";
  test::TempDir dir;
  constexpr int kCount = 300;
  auto argv = test::lumberjack_node_command(dir.file("send.js"), port_, kCount, 200, "node-");
  test::Child node(argv, dir.file("node.out"), dir.file("node.err"));
  auto events = wait_events(kCount, 60000);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  events = collector(key_)->snapshot();
  std::set<std::string> messages;
  for (auto& c : events) messages.insert(c.message);
  EXPECT_EQ(events.size(), size_t(kCount)) << test::read_file(dir.file("node.err"));
  EXPECT_EQ(messages.size(), size_t(kCount));
  ASSERT_FALSE(events.empty());
  Value e = parse(events[0].json);
  EXPECT_EQ(field(e, {"meta_beat"})->as_string(), "testbeat");
  EXPECT_EQ(field(e, {"host", "name"})->as_string(), "node-client");
}

struct Certs {
  test::TempDir dir;
  bool make() {
    auto run = [&](std::vector<std::string> argv) { return test::run_command(argv).exit_code == 0; };
    std::string d = dir.path().string();
    test::write_file(d + "/ext.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    return run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
                "-keyout", d + "/ca.key", "-out", d + "/ca.crt"}) &&
           run({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout",
                d + "/server.key", "-out", d + "/server.csr"}) &&
           run({"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", d + "/ext.cnf", "-out", d + "/server.crt"}) &&
           run({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=client", "-keyout",
                d + "/client.key", "-out", d + "/client.csr"}) &&
           run({"openssl", "x509", "-req", "-in", d + "/client.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
                "-CAcreateserial", "-days", "2", "-out", d + "/client.crt"});
  }
  std::string f(const std::string& name) const { return dir.file(name); }
};

TEST_F(BeatsInputTest, NodeClientOverTlsWithRequiredClientCertificate) {
  Certs certs;
  ASSERT_TRUE(certs.make());
  start(fmt::format("ssl_enabled => true ssl_certificate => '{}' ssl_key => '{}' ssl_client_authentication => "
                    "required ssl_certificate_authorities => ['{}']",
                    certs.f("server.crt"), certs.f("server.key"), certs.f("ca.crt")));
  std::string modules = test::lumberjack_client_modules();
  ASSERT_FALSE(modules.empty());
  test::TempDir dir;
  auto anonymous = test::lumberjack_node_command(dir.file("anon.js"), port_, 5, 5, "anon-", certs.f("ca.crt"));
  test::Child anon(anonymous, dir.file("anon.out"), dir.file("anon.err"));
  auto argv = test::lumberjack_node_command(dir.file("tls.js"), port_, 50, 50, "tls-", certs.f("ca.crt"),
                                            certs.f("client.crt"), certs.f("client.key"));
  test::Child node(argv, dir.file("node.out"), dir.file("node.err"));
  auto events = wait_events(50, 60000);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  events = collector(key_)->snapshot();
  EXPECT_EQ(events.size(), 50u) << test::read_file(dir.file("node.err"));
  for (auto& c : events) EXPECT_EQ(c.message.rfind("tls-", 0), 0u) << c.message;
}

// enrich => [source_metadata, ssl_peer_metadata] with optional client certificates: the client
// with a certificate gets [@metadata][tls_peer][status] "verified" and the protocol, subject and
// cipher suite (ECS names); the one without gets "unverified"; codec_metadata is off (no tag).
TEST(BeatsInputEnrich, SslPeerMetadataFromTheNodeClientCertificate) {
  Certs certs;
  ASSERT_TRUE(certs.make());
  std::string modules = test::lumberjack_client_modules();
  ASSERT_FALSE(modules.empty()) << "npm install lumberjack-client failed (run scripts/deps.sh test)";
  int port = test::free_port();
  std::string key = unique_key("beatstls");
  auto p = make_pipeline(fmt::format(
      "input {{ beats {{ port => {} ssl_enabled => true ssl_certificate => '{}' ssl_key => '{}' "
      "ssl_client_authentication => optional ssl_certificate_authorities => ['{}'] "
      "enrich => [source_metadata, ssl_peer_metadata] }} }}\n"
      "filter {{ mutate {{ add_field => {{ 'status' => '%{{[@metadata][tls_peer][status]}}' "
      "'protocol' => '%{{[@metadata][input][beats][tls][version_protocol]}}' "
      "'subject' => '%{{[@metadata][input][beats][tls][client][subject]}}' "
      "'cipher' => '%{{[@metadata][input][beats][tls][cipher]}}' "
      "'ip' => '%{{[@metadata][input][beats][host][ip]}}' }} }} }}\n"
      "output {{ rt_collect {{ key => '{}' }} }}",
      port, certs.f("server.crt"), certs.f("server.key"), certs.f("ca.crt"), key));
  p->start();
  ASSERT_TRUE(test::wait_until([&] { return test::port_open(port); }, std::chrono::seconds(10)));
  test::TempDir dir;
  test::Child with_cert(test::lumberjack_node_command(dir.file("cert.js"), port, 3, 3, "cert-", certs.f("ca.crt"),
                                                      certs.f("client.crt"), certs.f("client.key")),
                        dir.file("cert.out"), dir.file("cert.err"));
  test::Child without(test::lumberjack_node_command(dir.file("anon.js"), port, 2, 2, "anon-", certs.f("ca.crt")),
                      dir.file("anon.out"), dir.file("anon.err"));
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() >= 5; }, 60000))
      << test::read_file(dir.file("cert.err")) << test::read_file(dir.file("anon.err"));
  p->request_stop();
  EXPECT_TRUE(p->wait_for(30000));
  auto events = collector(key)->snapshot();
  ASSERT_EQ(events.size(), 5u);
  for (const auto& c : events) {
    Value e = parse(c.json);
    EXPECT_EQ(field(e, {"ip"})->as_string(), "127.0.0.1") << c.json;
    EXPECT_TRUE(c.tags.empty()) << "codec_metadata is not enabled: " << c.json;
    EXPECT_EQ(field(e, {"event", "original"}), nullptr) << "codec_metadata is not enabled: " << c.json;
    if (c.message.rfind("cert-", 0) == 0) {
      EXPECT_EQ(field(e, {"status"})->as_string(), "verified") << c.json;
      EXPECT_EQ(field(e, {"subject"})->as_string(), "CN=client") << c.json;
      EXPECT_EQ(field(e, {"protocol"})->as_string().rfind("TLSv1.", 0), 0u) << c.json;
      EXPECT_EQ(field(e, {"cipher"})->as_string().rfind("TLS_", 0), 0u) << c.json;
    } else {
      EXPECT_EQ(field(e, {"status"})->as_string(), "unverified") << c.json;
      EXPECT_EQ(field(e, {"subject"})->as_string(), "%{[@metadata][input][beats][tls][client][subject]}") << c.json;
    }
  }
}

// The deprecated ssl_peer_metadata => true with ECS disabled: Logstash's legacy field names.
TEST(BeatsInputEnrich, LegacySslPeerMetadataFieldsWithoutEcs) {
  Certs certs;
  ASSERT_TRUE(certs.make());
  std::string modules = test::lumberjack_client_modules();
  ASSERT_FALSE(modules.empty());
  int port = test::free_port();
  std::string key = unique_key("beatstlslegacy");
  auto p = make_pipeline(fmt::format(
      "input {{ beats {{ port => {} ecs_compatibility => disabled ssl_enabled => true ssl_certificate => '{}' "
      "ssl_key => '{}' ssl_client_authentication => required ssl_certificate_authorities => ['{}'] "
      "ssl_peer_metadata => true }} }}\n"
      "filter {{ mutate {{ add_field => {{ 'status' => '%{{[@metadata][tls_peer][status]}}' "
      "'protocol' => '%{{[@metadata][tls_peer][protocol]}}' 'subject' => '%{{[@metadata][tls_peer][subject]}}' "
      "'cipher' => '%{{[@metadata][tls_peer][cipher_suite]}}' }} }} }}\n"
      "output {{ rt_collect {{ key => '{}' }} }}",
      port, certs.f("server.crt"), certs.f("server.key"), certs.f("ca.crt"), key));
  p->start();
  ASSERT_TRUE(test::wait_until([&] { return test::port_open(port); }, std::chrono::seconds(10)));
  test::TempDir dir;
  test::Child node(test::lumberjack_node_command(dir.file("cert.js"), port, 2, 2, "legacy-", certs.f("ca.crt"),
                                                 certs.f("client.crt"), certs.f("client.key")),
                   dir.file("node.out"), dir.file("node.err"));
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() >= 2; }, 60000)) << test::read_file(dir.file("node.err"));
  p->request_stop();
  EXPECT_TRUE(p->wait_for(30000));
  auto events = collector(key)->snapshot();
  ASSERT_EQ(events.size(), 2u);
  Value e = parse(events[0].json);
  EXPECT_EQ(field(e, {"status"})->as_string(), "verified") << events[0].json;
  EXPECT_EQ(field(e, {"subject"})->as_string(), "CN=client");
  EXPECT_EQ(field(e, {"protocol"})->as_string().rfind("TLSv1.", 0), 0u) << events[0].json;
  EXPECT_EQ(field(e, {"cipher"})->as_string().rfind("TLS_", 0), 0u) << events[0].json;
  // codec_metadata stays on by default: the codec tag.
  EXPECT_EQ(events[0].tags, (std::vector<std::string>{"beats_input_codec_plain_applied"}));
}

TEST_F(BeatsInputTest, DefaultCodecKeepsEventOriginalUnderEcs) {
  start();
  LumberjackWriter client(port_);
  ASSERT_TRUE(client.send_window({beat_event(3)}, false));
  EXPECT_EQ(client.read_ack(20000), 1);
  auto events = wait_events(1);
  ASSERT_EQ(events.size(), 1u);
  Value e = parse(events[0].json);
  ASSERT_NE(field(e, {"event", "original"}), nullptr) << events[0].json;
  EXPECT_EQ(field(e, {"event", "original"})->as_string(), "line 3");
}

TEST_F(BeatsInputTest, EnrichNoneAddsNothing) {
  start("enrich => none");
  LumberjackWriter client(port_);
  ASSERT_TRUE(client.send_window({beat_event(4)}, false));
  EXPECT_EQ(client.read_ack(20000), 1);
  auto events = wait_events(1);
  ASSERT_EQ(events.size(), 1u);
  Value e = parse(events[0].json);
  EXPECT_EQ(field(e, {"meta_ip"})->as_string(), "%{[@metadata][input][beats][host][ip]}") << events[0].json;
  EXPECT_TRUE(events[0].tags.empty()) << events[0].json;
  EXPECT_EQ(field(e, {"event", "original"}), nullptr) << events[0].json;
  EXPECT_EQ(field(e, {"meta_beat"})->as_string(), "filebeat") << "the Beat's own @metadata stays";
}

TEST(BeatsInputEnrich, ConflictingOrUnknownValuesAreConfigErrors) {
  auto error_of = [](const std::string& options) {
    try {
      make_pipeline("input {\n  beats { port => 1 " + options + " }\n}\noutput { rt_collect { key => 'x' } }");
    } catch (const config::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  std::string both = error_of("enrich => [source_metadata] include_codec_tag => false");
  EXPECT_NE(both.find("include_codec_tag"), std::string::npos) << both;
  EXPECT_NE(both.find(":2:"), std::string::npos) << both;
  std::string unknown = error_of("enrich => [source_metadata, nonsense]");
  EXPECT_NE(unknown.find("nonsense"), std::string::npos) << unknown;
  std::string alias = error_of("enrich => [all, source_metadata]");
  EXPECT_NE(alias.find("alias"), std::string::npos) << alias;
  EXPECT_EQ(error_of("enrich => all"), "");
  EXPECT_EQ(error_of("enrich => default"), "");
}

}  // namespace
}  // namespace sluice
