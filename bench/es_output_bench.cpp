// The elasticsearch output's cost per event: 1M Apache-like events (the fields grok + date give
// under ECS v8) written in batches of 125 to the Elasticsearch stand-in (tests/support/
// fake_elasticsearch, in sink mode: it counts the bytes and answers "errors":false without
// decoding). Reported: CPU seconds of the writing thread per 1M events (serialization, gzip,
// libcurl) and the bytes sent, with gzip (compression_level 1, the default) and without.
//   build-x/sluice_microbench --benchmark_filter=EsOutput
#include <benchmark/benchmark.h>
#include <time.h>

#if __has_include("support/fake_elasticsearch.h")
#include <fmt/format.h>

#include "config/parser.h"
#include "core/event.h"
#include "runtime/metrics.h"
#include "runtime/options.h"
#include "runtime/registry.h"
#include "support/fake_elasticsearch.h"

namespace sluice {
namespace {

constexpr size_t kEvents = 1000000;
constexpr size_t kBatch = 125;
constexpr size_t kDistinct = 1000;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

void fill_apache_event(Event& e, size_t i) {
  static const char* verbs[] = {"GET", "GET", "GET", "POST", "HEAD"};
  static const char* paths[] = {"/index.html", "/images/logo.png", "/api/v1/items?id=", "/login", "/static/app.js"};
  static const char* agents[] = {
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
      "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "curl/8.4.0"};
  std::string ip = fmt::format("10.{}.{}.{}", i % 200, (i / 7) % 250, (i / 13) % 250);
  std::string path = std::string(paths[i % 5]) + (i % 5 == 2 ? std::to_string(i) : "");
  int status = (i % 17 == 0) ? 404 : 200;
  int64_t bytes = int64_t(200 + (i * 37) % 50000);
  Timestamp ts = Timestamp::from_seconds(1700000000 + int64_t(i));
  e.init_with_message(fmt::format("{} - - [14/Nov/2023:22:13:{:02d} +0000] \"{} {} HTTP/1.1\" {} {} \"-\" \"{}\"", ip,
                                  i % 60, verbs[i % 5], path, status, bytes, agents[i % 3]),
                      ts);
  Object& f = e.fields();
  f["source"].make_object()["address"] = Value(ip);
  Object& http = f["http"].make_object();
  Object& request = http["request"].make_object();
  request["method"] = Value(verbs[i % 5]);
  http["version"] = Value("1.1");
  Object& response = http["response"].make_object();
  response["status_code"] = Value(int64_t(status));
  response["body"].make_object()["bytes"] = Value(bytes);
  f["url"].make_object()["original"] = Value(path);
  f["user_agent"].make_object()["original"] = Value(agents[i % 3]);
  f["host"].make_object()["name"] = Value("web-01");
  f["log"].make_object()["file"].make_object()["path"] = Value("/var/log/apache2/access.log");
}

void run(benchmark::State& state, bool gzip) {
  test::FakeElasticsearch es;
  es.start();
  es.set_sink_mode(true);
  std::vector<std::unique_ptr<Event>> events;
  for (size_t i = 0; i < kDistinct; ++i) {
    events.push_back(std::make_unique<Event>());
    fill_apache_event(*events.back(), i);
  }
  std::vector<Event*> batch;
  for (size_t i = 0; i < kBatch; ++i) batch.push_back(events[i].get());

  config::PipelineConfig parsed = config::parse_config(
      fmt::format("output {{ elasticsearch {{ hosts => ['{}'] index => 'logs-apache-%{{+YYYY.MM.dd}}' compression_level => {} }} }}",
                  es.url(), gzip ? 1 : 0),
      "bench.conf");
  const config::PluginBlock& block = *parsed.outputs.at(0).plugin;
  const PluginEntry* entry = Registry::instance().find(PluginKind::Output, "elasticsearch");
  Options options = Options::validate(block, entry->schema);
  PipelineSettings settings;
  PipelineMetrics pipeline_metrics;
  PluginMetrics* metrics = pipeline_metrics.add_plugin("es", "elasticsearch", "output");
  std::atomic<bool> stopping{false};
  PluginContext ctx;
  ctx.id = "es";
  ctx.settings = &settings;
  ctx.metrics = metrics;
  ctx.pipeline_stopping = &stopping;
  auto output = entry->output(options, ctx);

  double cpu = 0;
  for (auto _ : state) {
    double start = thread_cpu_seconds();
    for (size_t sent = 0; sent < kEvents; sent += kBatch) {
      for (size_t k = 0; k < kBatch; ++k) batch[k] = events[(sent + k) % kDistinct].get();
      output->write(std::span<Event* const>(batch));
    }
    cpu += thread_cpu_seconds() - start;
  }
  output->close();
  state.counters["cpu_s_per_1M"] = cpu / double(state.iterations());
  state.counters["MB_sent_per_1M"] = double(es.wire_bytes()) / double(state.iterations()) / 1e6;
  state.counters["bulk_requests"] = double(es.bulk_requests()) / double(state.iterations());
}

void BM_EsOutputGzip(benchmark::State& state) { run(state, true); }
void BM_EsOutputPlain(benchmark::State& state) { run(state, false); }
BENCHMARK(BM_EsOutputGzip)->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK(BM_EsOutputPlain)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace
}  // namespace sluice
#endif
