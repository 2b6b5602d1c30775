// JSON serialization of typical events (the passthrough and the parsed Apache line) and
// parsing of one JSON line. Run: sluice_microbench --benchmark_filter=Json
#include <benchmark/benchmark.h>

#include <string>

#include "core/event.h"
#include "core/json.h"
#include "core/time_format.h"

namespace sluice {
namespace {

constexpr const char* kApacheLine =
    "83.149.9.216 - - [17/May/2015:10:05:03 +0000] \"GET /presentations/logstash-monitorama-2013/images/"
    "kibana-search.png HTTP/1.1\" 200 203023 \"http://semicomplete.com/presentations/logstash-monitorama-2013/\" "
    "\"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1)\"";

// Nanosecond-free timestamps advancing by a millisecond, like a stream of log lines.
Timestamp nth_timestamp(int64_t i) { return {1431857103000000000LL + i * 1000000LL}; }

void BM_JsonSerializePassthrough(benchmark::State& state) {
  Event event;
  event.init_with_message(kApacheLine, nth_timestamp(0));
  std::string out;
  out.reserve(1024);
  int64_t i = 0;
  for (auto _ : state) {
    event.set_timestamp(nth_timestamp(i++ / 16));  // several events share each second
    out.clear();
    json_append_event(out, event);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(out.size()));
}
BENCHMARK(BM_JsonSerializePassthrough);

void fill_apache_event(Event& event) {
  event.init_with_message(kApacheLine, nth_timestamp(0));
  event.set(FieldRef::of("[source][address]"), Value("83.149.9.216"));
  event.set(FieldRef::of("[http][request][method]"), Value("GET"));
  event.set(FieldRef::of("[url][original]"), Value("/presentations/logstash-monitorama-2013/images/kibana-search.png"));
  event.set(FieldRef::of("[http][version]"), Value("1.1"));
  event.set(FieldRef::of("[http][response][status_code]"), Value(200));
  event.set(FieldRef::of("[http][response][body][bytes]"), Value(203023));
  event.set(FieldRef::of("[http][request][referrer]"), Value("http://semicomplete.com/presentations/logstash-monitorama-2013/"));
  event.set(FieldRef::of("[user_agent][original]"), Value("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1)"));
  event.set(FieldRef::of("timestamp"), Value("17/May/2015:10:05:03 +0000"));
  event.set(FieldRef::of("[host][name]"), Value("web-01"));
  event.set(FieldRef::of("[event][original]"), Value(kApacheLine));
  event.add_tag("apache");
}

void BM_JsonSerializeApacheEvent(benchmark::State& state) {
  Event event;
  fill_apache_event(event);
  std::string out;
  out.reserve(2048);
  for (auto _ : state) {
    out.clear();
    json_append_event(out, event);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(out.size()));
}
BENCHMARK(BM_JsonSerializeApacheEvent);

void BM_JsonEscapeHeavyString(benchmark::State& state) {
  std::string text;
  for (int i = 0; i < 20; ++i) text += "path\\to\\file \"quoted\"\t";
  std::string out;
  for (auto _ : state) {
    out.clear();
    json_append_string(out, text);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
}
BENCHMARK(BM_JsonEscapeHeavyString);

void BM_JsonParseApacheEvent(benchmark::State& state) {
  Event event;
  fill_apache_event(event);
  std::string text;
  json_append_event(text, event);
  Value parsed;
  for (auto _ : state) {
    bool ok = json_parse(text, parsed);
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
}
BENCHMARK(BM_JsonParseApacheEvent);

void BM_FormatIso8601(benchmark::State& state) {
  std::string out;
  int64_t i = 0;
  for (auto _ : state) {
    out.clear();
    format_iso8601(nth_timestamp(i++), out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_FormatIso8601);

}  // namespace
}  // namespace sluice

BENCHMARK_MAIN();
