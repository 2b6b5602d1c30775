// The elasticsearch output over HTTPS, against tests/support/fake_elasticsearch serving TLS (a
// STAND-IN for Elasticsearch, see elasticsearch_output_test.cpp). The certificates are made per
// run with the openssl CLI: two test CAs, servers they signed for 127.0.0.1, one for another
// host name, and a client certificate for mutual TLS.
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "config/parser.h"
#include "pipeline_test_plugins.h"
#include "runtime/dlq.h"
#include "runtime/logging.h"
#include "support/fake_elasticsearch.h"
#include "test_support.h"

namespace sluice {
namespace {

using namespace rt_test;
using test::FakeElasticsearch;

// A throwaway PKI: ca1 and ca2; server1 (ca1) and server2 (ca2) valid for 127.0.0.1 and
// localhost; wrong_name (ca1) valid only for elsewhere.example; client (ca1).
class TestPki {
 public:
  TestPki() {
    auto run = [&](std::vector<std::string> argv) {
      test::CommandResult r = test::run_command(argv);
      if (r.exit_code != 0) error_ += fmt::format("{} failed: {}\n", argv[0] + " " + argv[1], r.err);
    };
    for (const char* ca : {"ca1", "ca2"})
      run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
           fmt::format("/CN=sluice test {}", ca), "-keyout", file(ca, "key"), "-out", file(ca, "crt")});
    auto issue = [&](const std::string& name, const std::string& ca, const std::string& extensions) {
      std::string ext = dir_.file(name + ".ext");
      test::write_file(ext, extensions + "\n");
      run({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout", file(name, "key"),
           "-out", file(name, "csr")});
      run({"openssl", "x509", "-req", "-in", file(name, "csr"), "-CA", file(ca, "crt"), "-CAkey", file(ca, "key"),
           "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", file(name, "crt")});
    };
    issue("server1", "ca1", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    issue("server2", "ca2", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    issue("wrong_name", "ca1", "subjectAltName=DNS:elsewhere.example");
    issue("client", "ca1", "extendedKeyUsage=clientAuth");
  }
  const std::string& error() const { return error_; }
  std::string file(const std::string& name, const std::string& ext) const { return dir_.file(name + "." + ext); }
  std::string pem(const std::string& name, const std::string& ext) const { return test::read_file(file(name, ext)); }

  // A stand-in serving HTTPS with `server`'s certificate (client certificates from `client_ca` required when set).
  std::unique_ptr<FakeElasticsearch> server(const std::string& server, const std::string& client_ca = "") const {
    FakeElasticsearch::Options options;
    options.tls_certificate_pem = pem(server, "crt");
    options.tls_key_pem = pem(server, "key");
    if (!client_ca.empty()) options.tls_client_ca_pem = pem(client_ca, "crt");
    auto es = std::make_unique<FakeElasticsearch>(options);
    es->start();
    return es;
  }

 private:
  test::TempDir dir_;
  std::string error_;
};

const TestPki& pki() {
  static TestPki instance;
  return instance;
}

std::string fast_retries() { return " retry_initial_interval => 0.02 retry_max_interval => 0.1 resurrect_delay => 0.1 "; }

// `hosts` as host:port (no scheme), so ssl_enabled decides https.
std::string host_of(const FakeElasticsearch& es) { return fmt::format("127.0.0.1:{}", es.port()); }

uint64_t plugin_counter(Pipeline& p, const std::string& id, const std::string& name) {
  for (auto& plugin : p.metrics().plugins) {
    if (plugin->id != id) continue;
    for (auto& [counter, value] : plugin->counters())
      if (counter == name) return value;
  }
  return 0;
}

// Captures what the elasticsearch output logs while it lives.
class LogCapture {
 public:
  LogCapture() : logger_(logging::get("sluice.outputs.elasticsearch")), sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(200)) {
    logger_->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = logger_->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::string text() const {
    std::string out;
    for (const std::string& line : sink_->last_formatted()) out += line;
    return out;
  }

 private:
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

class ElasticsearchTls : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(pki().error(), "") << "openssl could not make the test certificates"; }

  // Runs 20 events through an output with `tls_options`; expects them all stored and acknowledged.
  void expect_delivered(const std::vector<FakeElasticsearch*>& servers, const std::string& tls_options) {
    std::string hosts;
    for (FakeElasticsearch* es : servers) hosts += (hosts.empty() ? "'" : ", '") + host_of(*es) + "'";
    auto key = unique_key("es_tls_ok");
    auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 40 chunk => 5 } }\n"
                           "output { elasticsearch { hosts => [" + hosts + "] index => 'tls' ssl_enabled => true " +
                           tls_options + fast_retries() + " } }",
                           settings(1, 5, 5));
    p->start();
    ASSERT_TRUE(p->wait_for(60000));
    EXPECT_EQ(source(key)->acked_events.load(), 40u);
    size_t stored = 0;
    for (FakeElasticsearch* es : servers) stored += es->document_count();
    EXPECT_EQ(stored, 40u);
  }

  // Runs an output that cannot get through TLS: nothing is stored, acknowledged or dead-lettered,
  // it keeps trying, and the log says why. Returns the log.
  std::string expect_refused(FakeElasticsearch& es, const std::string& tls_options) {
    test::TempDir dlq_dir;
    PipelineSettings s = settings(1, 5, 5);
    s.dead_letter_queue.enabled = true;
    s.dead_letter_queue.path = dlq_dir.path().string();
    s.dead_letter_queue.flush_interval_ms = 50;
    LogCapture log;
    auto key = unique_key("es_tls_bad");
    auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 10 chunk => 5 } }\n"
                           "output { elasticsearch { id => 'es_tls' hosts => ['" + host_of(es) + "'] index => 'tls' "
                           "ssl_enabled => true " + tls_options + fast_retries() + " } }",
                           s);
    size_t connections_before = es.connections();
    p->start();
    EXPECT_TRUE(test_wait([&] { return es.connections() >= connections_before + 4; }, 30000))
        << "the output did not keep retrying";
    EXPECT_EQ(source(key)->acked_events.load(), 0u);
    EXPECT_GE(plugin_counter(*p, "es_tls", "bulk_request_failures"), 1u);
    p->request_stop();
    EXPECT_TRUE(p->wait_for(60000));
    EXPECT_EQ(source(key)->acked_events.load(), 0u);  // left for the source to deliver again
    EXPECT_EQ(es.document_count(), 0u);
    EXPECT_EQ(es.bulk_requests(), 0u);
    EXPECT_TRUE(list_dead_letter_segments(dlq_dir.file("main")).empty());  // Logstash: no DLQ for connection errors
    return log.text();
  }
};

TEST_F(ElasticsearchTls, VerifiesTheServerWithTheGivenCa) {
  auto es = pki().server("server1");
  expect_delivered({es.get()}, "ssl_certificate_authorities => ['" + pki().file("ca1", "crt") + "']");
  for (const auto& r : es->requests()) EXPECT_TRUE(r.path == "/_bulk" || r.path == "/") << r.path;
}

TEST_F(ElasticsearchTls, UnknownCaFailsClearlyUnderFullVerificationAndAcksNothing) {
  auto es = pki().server("server1");
  // No CA given: the system's CAs do not know the test CA (full verification is the default).
  std::string log = expect_refused(*es, "");
  EXPECT_NE(log.find("certificate"), std::string::npos) << log;
  EXPECT_NE(log.find("ssl_certificate_authorities"), std::string::npos) << log;
  // The other CA does not do either.
  log = expect_refused(*es, "ssl_certificate_authorities => ['" + pki().file("ca2", "crt") + "'] ssl_verification_mode => 'full'");
  EXPECT_NE(log.find("certificate"), std::string::npos) << log;
}

TEST_F(ElasticsearchTls, VerificationModeNoneAcceptsAnUnknownCa) {
  auto es = pki().server("server1");
  LogCapture log;
  expect_delivered({es.get()}, "ssl_verification_mode => 'none'");
  EXPECT_NE(log.text().find("not verified"), std::string::npos) << log.text();  // the insecure mode warns
}

TEST_F(ElasticsearchTls, HostNameMismatchFailsUnderFull) {
  auto es = pki().server("wrong_name");  // signed by ca1, but for elsewhere.example
  std::string log = expect_refused(*es, "ssl_certificate_authorities => ['" + pki().file("ca1", "crt") + "']");
  EXPECT_NE(log.find("127.0.0.1"), std::string::npos) << log;
  // The same server is accepted when verification is off.
  expect_delivered({es.get()}, "ssl_verification_mode => 'none'");
}

TEST_F(ElasticsearchTls, EveryCertificateAuthorityFileIsTrusted) {
  auto es1 = pki().server("server1");
  auto es2 = pki().server("server2");
  std::string both = "ssl_certificate_authorities => ['" + pki().file("ca1", "crt") + "', '" + pki().file("ca2", "crt") + "']";
  // The server signed by the second CA alone: only the second file can verify it.
  expect_delivered({es2.get()}, both);
  EXPECT_EQ(es2->document_count(), 40u);
  // Both servers in `hosts`: round-robin reaches each, each verified by its own CA.
  es2->clear_documents();
  expect_delivered({es1.get(), es2.get()}, both);
  EXPECT_GT(es1->document_count(), 0u);
  EXPECT_GT(es2->document_count(), 0u);
}

TEST_F(ElasticsearchTls, ClientCertificateForMutualTls) {
  auto es = pki().server("server1", "ca1");
  std::string ca = "ssl_certificate_authorities => ['" + pki().file("ca1", "crt") + "'] ";
  expect_delivered({es.get()}, ca + "ssl_certificate => '" + pki().file("client", "crt") + "' ssl_key => '" +
                                   pki().file("client", "key") + "'");
  EXPECT_EQ(es->rejected_clients(), 0u);
  // Without the client certificate the server closes every connection.
  auto strict = pki().server("server1", "ca1");
  expect_refused(*strict, ca);
  EXPECT_GE(strict->rejected_clients(), 1u);
}

TEST_F(ElasticsearchTls, UnreadableTlsFilesAreConfigErrors) {
  auto expect_error = [](const std::string& options, const std::string& needle) {
    try {
      make_pipeline("input { rt_source { count => 1 } }\noutput { elasticsearch { hosts => ['127.0.0.1:1'] " + options + " } }");
      ADD_FAILURE() << "expected a ConfigError for " << options;
    } catch (const config::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("test.conf:2:"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  std::string ca1 = pki().file("ca1", "crt");
  expect_error("ssl_certificate_authorities => ['" + ca1 + "', '/nonexistent/ca.pem']", "/nonexistent/ca.pem");
  expect_error("ssl_certificate_authorities => ['" + pki().file("server1", "ext") + "']", "no PEM certificate");
  expect_error("ssl_certificate => '" + pki().file("client", "crt") + "'", "ssl_key");
  expect_error("ssl_certificate => '/nonexistent/c.pem' ssl_key => '/nonexistent/k.pem'", "/nonexistent/c.pem");
}

}  // namespace
}  // namespace sluice
