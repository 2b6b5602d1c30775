// The monitoring API: response bodies (Logstash's JSON shape, Prometheus text) and the HTTP
// server on a real loopback port.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <simdjson.h>

#include <signal.h>

#include <string>

#include "runtime/metrics.h"
#include "runtime/monitoring_api.h"
#include "test_support.h"

namespace sluice {
namespace {

struct HttpResponse {
  int status = 0;
  std::string headers, body;
};

// A plain HTTP/1.0 GET (or other method) on 127.0.0.1; status 0 when nothing answered.
HttpResponse http_request(int port, const std::string& path, const std::string& method = "GET") {
  HttpResponse response;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return response;
  }
  std::string request = method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    close(fd);
    return response;
  }
  std::string raw;
  char buf[8192];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<size_t>(n));
  close(fd);
  size_t header_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || header_end == std::string::npos) return response;
  response.status = std::stoi(raw.substr(9, 3));
  response.headers = raw.substr(0, header_end);
  response.body = raw.substr(header_end + 4);
  return response;
}

// Two pipelines with known counters.
struct FakeNode {
  PipelineSettings main_settings, audit_settings;
  PipelineMetrics main_metrics, audit_metrics;
  NodeInfo node;

  FakeNode() {
    main_settings.id = "main";
    main_settings.workers = 2;
    audit_settings.id = "audit";
    audit_settings.workers = 1;
    main_metrics.id = "main";
    main_metrics.events_in = 3;
    main_metrics.events_filtered = 3;
    main_metrics.events_out = 3;
    main_metrics.duration_nanos = 5'000'000;
    main_metrics.queue_push_duration_nanos = 2'000'000;
    main_metrics.queue_max_bytes = 1 << 20;
    main_metrics.queue_max_events = 1000;
    auto* gen = main_metrics.add_plugin("gen_1", "generator", "input");
    gen->events_out = 3;
    auto* grok = main_metrics.add_plugin("grok_1", "grok", "filter");
    grok->events_in = 3;
    grok->events_out = 3;
    grok->counter("matches") = 2;
    grok->failures = 1;
    auto* out = main_metrics.add_plugin("out \"quoted\"", "stdout", "output");
    out->events_in = 3;
    out->events_out = 3;
    audit_metrics.id = "audit";
    audit_metrics.events_in = 7;
    node.id = "0b0e7f84-6d0c-4d1a-9e8a-2f9f0e1c2d3b";
    node.ephemeral_id = "e0";
    node.name = "test-node";
    node.host = "test-host";
    node.version = "0.1.0";
    node.started_at_millis = 1;
  }
  std::vector<PipelineView> views() const {
    return {{&main_settings, &main_metrics, false}, {&audit_settings, &audit_metrics, true}};
  }
};

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& text) {
  simdjson::dom::element doc;
  auto error = parser.parse(text).get(doc);
  EXPECT_FALSE(error) << simdjson::error_message(error) << " in: " << text;
  return doc;
}

uint64_t at_uint(simdjson::dom::element doc, std::string_view pointer) {
  uint64_t value = 0;
  auto error = doc.at_pointer(pointer).get(value);
  EXPECT_FALSE(error) << pointer << ": " << simdjson::error_message(error);
  return value;
}

std::string at_string(simdjson::dom::element doc, std::string_view pointer) {
  std::string_view value;
  auto error = doc.at_pointer(pointer).get(value);
  EXPECT_FALSE(error) << pointer << ": " << simdjson::error_message(error);
  return std::string(value);
}

TEST(MonitoringRender, RootHasNodeIdentityAndPipelineDefaults) {
  FakeNode fake;
  fake.node.defaults.workers = 4;
  fake.node.defaults.batch_size = 250;
  simdjson::dom::parser parser;
  std::string body = render_root(fake.node, fake.views());
  auto doc = parse(parser, body);
  EXPECT_EQ(at_string(doc, "/id"), fake.node.id);
  EXPECT_EQ(at_string(doc, "/name"), "test-node");
  EXPECT_EQ(at_string(doc, "/host"), "test-host");
  EXPECT_EQ(at_string(doc, "/version"), "0.1.0");
  EXPECT_EQ(at_string(doc, "/status"), "green");
  EXPECT_EQ(at_uint(doc, "/pipeline/workers"), 4u);
  EXPECT_EQ(at_uint(doc, "/pipeline/batch_size"), 250u);
  EXPECT_EQ(at_uint(doc, "/pipelines/count"), 2u);
}

TEST(MonitoringRender, PipelineStatsInLogstashShape) {
  FakeNode fake;
  simdjson::dom::parser parser;
  auto body = render_pipeline_stats(fake.node, fake.views());
  ASSERT_TRUE(body);
  auto doc = parse(parser, *body);
  EXPECT_EQ(at_uint(doc, "/pipelines/main/events/in"), 3u);
  EXPECT_EQ(at_uint(doc, "/pipelines/main/events/filtered"), 3u);
  EXPECT_EQ(at_uint(doc, "/pipelines/main/events/out"), 3u);
  EXPECT_EQ(at_uint(doc, "/pipelines/main/events/duration_in_millis"), 5u);
  EXPECT_EQ(at_uint(doc, "/pipelines/main/events/queue_push_duration_in_millis"), 2u);
  EXPECT_EQ(at_string(doc, "/pipelines/main/plugins/inputs/0/name"), "generator");
  EXPECT_EQ(at_uint(doc, "/pipelines/main/plugins/inputs/0/events/out"), 3u);
  EXPECT_EQ(at_string(doc, "/pipelines/main/plugins/filters/0/id"), "grok_1");
  EXPECT_EQ(at_uint(doc, "/pipelines/main/plugins/filters/0/events/in"), 3u);
  EXPECT_EQ(at_uint(doc, "/pipelines/main/plugins/filters/0/matches"), 2u);
  EXPECT_EQ(at_uint(doc, "/pipelines/main/plugins/filters/0/failures"), 1u);
  EXPECT_EQ(at_string(doc, "/pipelines/main/plugins/outputs/0/id"), "out \"quoted\"");
  EXPECT_EQ(at_string(doc, "/pipelines/main/queue/type"), "memory");
  EXPECT_EQ(at_uint(doc, "/pipelines/main/queue/events_count"), 0u);
  EXPECT_EQ(at_uint(doc, "/pipelines/main/queue/max_queue_size_in_bytes"), 1u << 20);
  EXPECT_EQ(at_uint(doc, "/pipelines/audit/events/in"), 7u);
  EXPECT_EQ(at_string(doc, "/pipelines/audit/status"), "finished");
}

TEST(MonitoringRender, OnePipelineAndUnknownPipeline) {
  FakeNode fake;
  simdjson::dom::parser parser;
  auto body = render_pipeline_stats(fake.node, fake.views(), "audit");
  ASSERT_TRUE(body);
  auto doc = parse(parser, *body);
  EXPECT_EQ(at_uint(doc, "/pipelines/audit/events/in"), 7u);
  simdjson::dom::element missing;
  EXPECT_TRUE(doc.at_pointer("/pipelines/main").get(missing));
  EXPECT_FALSE(render_pipeline_stats(fake.node, fake.views(), "nope"));
}

TEST(MonitoringRender, NodeStatsTotalsAndTypeFilter) {
  FakeNode fake;
  simdjson::dom::parser parser;
  auto doc = parse(parser, render_node_stats(fake.node, fake.views()));
  EXPECT_EQ(at_uint(doc, "/events/in"), 10u);
  EXPECT_EQ(at_uint(doc, "/events/out"), 3u);
  EXPECT_EQ(at_uint(doc, "/pipelines/main/events/in"), 3u);
  EXPECT_GT(at_uint(doc, "/process/open_file_descriptors"), 0u);
  EXPECT_EQ(at_uint(doc, "/reloads/failures"), 0u);

  auto filtered = parse(parser, render_node_stats(fake.node, fake.views(), {"events"}));
  EXPECT_EQ(at_uint(filtered, "/events/in"), 10u);
  simdjson::dom::element missing;
  EXPECT_TRUE(filtered.at_pointer("/pipelines").get(missing));
}

TEST(MonitoringRender, PrometheusText) {
  FakeNode fake;
  std::string text = render_prometheus(fake.node, fake.views());
  EXPECT_NE(text.find("# TYPE sluice_pipeline_events_in_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_pipeline_events_in_total{pipeline=\"main\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_pipeline_events_in_total{pipeline=\"audit\"} 7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_pipeline_events_out_total{pipeline=\"main\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_plugin_events_in_total{pipeline=\"main\",kind=\"filter\",plugin=\"grok\",id=\"grok_1\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sluice_plugin_metric{pipeline=\"main\",kind=\"filter\",plugin=\"grok\",id=\"grok_1\",metric=\"matches\"} 2\n"),
            std::string::npos)
      << text;
  // Label values are escaped.
  EXPECT_NE(text.find("id=\"out \\\"quoted\\\"\""), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_pipeline_running{pipeline=\"audit\"} 0\n"), std::string::npos) << text;
  // Every non-comment line is `name{labels} value` or `name value`.
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    std::string line = text.substr(start, end - start);
    if (line.rfind("#", 0) != 0) {
      EXPECT_EQ(line.find("sluice_"), 0u) << line;
      EXPECT_NE(line.rfind(' '), std::string::npos) << line;
    }
    start = end + 1;
  }
}

TEST(MonitoringRender, PrettyJsonIsStillJson) {
  FakeNode fake;
  std::string pretty = pretty_json(render_node_stats(fake.node, fake.views()));
  EXPECT_NE(pretty.find("\n  \"host\" : \"test-host\""), std::string::npos) << pretty;
  simdjson::dom::parser parser;
  auto doc = parse(parser, pretty);
  EXPECT_EQ(at_uint(doc, "/events/in"), 10u);
  EXPECT_EQ(pretty_json("{\"a\":[],\"b\":\"x,{y}\"}"), "{\n  \"a\" : [],\n  \"b\" : \"x,{y}\"\n}\n");
}

TEST(MonitoringServer, AnswersTheEndpointsOnLoopback) {
  FakeNode fake;
  MonitoringApi api(fake.node, [&] { return fake.views(); });
  int port = test::free_port();
  std::string error;
  ASSERT_TRUE(api.start("127.0.0.1", port, port, &error)) << error;
  EXPECT_EQ(api.port(), port);

  simdjson::dom::parser parser;
  HttpResponse root = http_request(port, "/");
  ASSERT_EQ(root.status, 200);
  EXPECT_NE(root.headers.find("application/json"), std::string::npos);
  EXPECT_EQ(at_string(parse(parser, root.body), "/http_address"), "127.0.0.1:" + std::to_string(port));

  HttpResponse stats = http_request(port, "/_node/stats");
  ASSERT_EQ(stats.status, 200);
  EXPECT_EQ(at_uint(parse(parser, stats.body), "/events/in"), 10u);

  HttpResponse one = http_request(port, "/_node/stats/pipelines/main?pretty");
  ASSERT_EQ(one.status, 200);
  EXPECT_NE(one.body.find('\n'), std::string::npos);
  EXPECT_EQ(at_uint(parse(parser, one.body), "/pipelines/main/events/out"), 3u);

  HttpResponse missing = http_request(port, "/_node/stats/pipelines/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(at_uint(parse(parser, missing.body), "/status"), 404u);

  HttpResponse metrics = http_request(port, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.headers.find("text/plain"), std::string::npos);
  EXPECT_NE(metrics.body.find("sluice_pipeline_events_in_total{pipeline=\"main\"} 3"), std::string::npos);

  EXPECT_EQ(http_request(port, "/nothing/here").status, 404);
  EXPECT_EQ(http_request(port, "/", "DELETE").status, 405);

  api.stop();
  EXPECT_FALSE(test::port_open(port));
}

TEST(MonitoringServer, TakesTheNextPortWhenTheFirstIsBusy) {
  // Hold a listening socket on one port, as another Logstash/sluice on the host would.
  int holder = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(holder, 1), 0);
  socklen_t len = sizeof addr;
  getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len);
  int busy = ntohs(addr.sin_port);

  FakeNode fake;
  MonitoringApi api(fake.node, [&] { return fake.views(); });
  int last = std::min(busy + 100, 65535);
  std::string error;
  ASSERT_TRUE(api.start("127.0.0.1", busy, last, &error)) << error;
  EXPECT_GT(api.port(), busy);
  EXPECT_LE(api.port(), last);
  EXPECT_EQ(http_request(api.port(), "/").status, 200);

  MonitoringApi second(fake.node, [&] { return fake.views(); });
  EXPECT_FALSE(second.start("127.0.0.1", busy, busy, &error));
  EXPECT_FALSE(error.empty());
  close(holder);
}

// The binary: a finite pipeline next to one that waits on a pipeline address keeps the
// process up after the first has finished, so its final counts can be read.
TEST(MonitoringBinary, ReportsTheCountsOfAFinishedPipeline) {
  test::TempDir dir;
  int port = test::free_port();
  test::write_file(dir.file("pipelines.yml"),
                   "- pipeline.id: finite\n"
                   "  config.string: 'input { generator { count => 5 } } "
                   "filter { mutate { id => \"tagger\" add_tag => [\"seen\"] } } output { null { id => \"sink\" } }'\n"
                   "- pipeline.id: idle\n"
                   "  config.string: 'input { pipeline { address => \"nobody-sends-here\" } } output { null {} }'\n");
  test::write_file(dir.file("sluice.yml"), "api.http.host: 127.0.0.1\napi.http.port: " + std::to_string(port) + "\n");
  test::Child child({test::sluice_binary(), "--path.settings", dir.path().string(), "--path.data", dir.file("data")}, "",
                    dir.file("err.log"));
  simdjson::dom::parser parser;
  uint64_t out = 0;
  bool done = test::wait_until(
      [&] {
        HttpResponse r = http_request(port, "/_node/stats/pipelines/finite");
        if (r.status != 200) return false;
        simdjson::dom::element doc;
        if (parser.parse(r.body).get(doc)) return false;
        std::string_view status;
        if (doc.at_pointer("/pipelines/finite/status").get(status) || status != "finished") return false;
        return !doc.at_pointer("/pipelines/finite/events/out").get(out);
      },
      std::chrono::seconds(30));
  ASSERT_TRUE(done) << test::read_file(dir.file("err.log"));
  EXPECT_EQ(out, 5u);

  HttpResponse one = http_request(port, "/_node/stats/pipelines/finite");
  auto doc = parse(parser, one.body);
  EXPECT_EQ(at_uint(doc, "/pipelines/finite/events/in"), 5u);
  EXPECT_EQ(at_uint(doc, "/pipelines/finite/events/filtered"), 5u);
  EXPECT_EQ(at_string(doc, "/pipelines/finite/plugins/inputs/0/name"), "generator");
  EXPECT_EQ(at_string(doc, "/pipelines/finite/plugins/filters/0/id"), "tagger");
  EXPECT_EQ(at_uint(doc, "/pipelines/finite/plugins/filters/0/events/in"), 5u);
  EXPECT_EQ(at_string(doc, "/pipelines/finite/plugins/outputs/0/id"), "sink");
  EXPECT_EQ(at_uint(doc, "/pipelines/finite/plugins/outputs/0/events/in"), 5u);
  EXPECT_EQ(at_string(doc, "/pipelines/finite/queue/type"), "memory");

  HttpResponse root = http_request(port, "/");
  ASSERT_EQ(root.status, 200);
  auto root_doc = parse(parser, root.body);
  EXPECT_EQ(at_string(root_doc, "/version"), SLUICE_VERSION);
  EXPECT_EQ(at_string(root_doc, "/id"), test::read_file(dir.file("data/uuid")));
  EXPECT_EQ(at_uint(root_doc, "/pipelines/count"), 2u);

  HttpResponse all = http_request(port, "/_node/stats/pipelines");
  ASSERT_EQ(all.status, 200);
  auto all_doc = parse(parser, all.body);
  EXPECT_EQ(at_uint(all_doc, "/pipelines/finite/events/out"), 5u);
  EXPECT_EQ(at_uint(all_doc, "/pipelines/idle/events/in"), 0u);
  EXPECT_EQ(at_string(all_doc, "/pipelines/idle/status"), "running");

  HttpResponse stats = http_request(port, "/_node/stats");
  ASSERT_EQ(stats.status, 200);
  EXPECT_EQ(at_uint(parse(parser, stats.body), "/events/out"), 5u);

  HttpResponse metrics = http_request(port, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("sluice_pipeline_events_out_total{pipeline=\"finite\"} 5\n"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("sluice_plugin_events_in_total{pipeline=\"finite\",kind=\"output\",plugin=\"null\",id=\"sink\"} 5\n"),
            std::string::npos)
      << metrics.body;

  child.signal(SIGTERM);
  auto code = child.wait(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << test::read_file(dir.file("err.log"));
}

}  // namespace
}  // namespace sluice
