// grok: %{COMBINEDAPACHELOG} on Apache "combined" lines (the shape of ../shared/bench/gen.py),
// per ECS mode, and a multi-pattern `match` with and without the Hyperscan pre-filter.
// SLUICE_GROK_PATTERNS=<dir> runs with pattern files from <dir> instead of the built-in library.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/event.h"
#include "grok/grok_engine.h"

namespace {

using sluice::Event;
using sluice::FieldRef;
using sluice::Value;

// Deterministic lines in the style of gen.py's apache_lines (not byte-identical).
std::vector<std::string> apache_lines(size_t n) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  static const char* kMethods[] = {"GET", "GET", "GET", "GET", "POST", "HEAD", "PUT"};
  static const char* kWords[] = {"news", "blog", "products", "cart", "search", "users", "api", "static", "images"};
  static const char* kAgents[] = {
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
      "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "curl/7.88.1", "-"};
  static const int kStatus[] = {200, 200, 200, 304, 404, 301, 500};
  uint64_t seed = 42;
  auto next = [&](uint64_t mod) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (seed >> 33) % mod;
  };
  std::vector<std::string> lines;
  for (size_t i = 0; i < n; ++i) {
    std::string ip = std::to_string(1 + next(223)) + "." + std::to_string(next(256)) + "." +
                     std::to_string(next(256)) + "." + std::to_string(1 + next(254));
    if (next(20) == 0) ip = "2001:db8:" + std::to_string(next(9999)) + "::" + std::to_string(1 + next(999));
    std::string path = "/" + std::string(kWords[next(9)]) + "/" + kWords[next(9)] + std::to_string(next(1000)) + ".html";
    if (next(4) == 0) path += "?q=" + std::string(kWords[next(9)]) + "&page=" + std::to_string(next(50));
    char buf[1024];
    snprintf(buf, sizeof buf, "%s - %s [%02d/%s/2024:%02d:%02d:%02d +0000] \"%s %s HTTP/1.1\" %d %d \"%s\" \"%s\"",
             ip.c_str(), next(30) == 0 ? "alice" : "-", int(1 + next(28)), kMonths[next(12)], int(next(24)),
             int(next(60)), int(next(60)), kMethods[next(7)], path.c_str(), kStatus[next(7)], int(next(100000)),
             next(2) ? "-" : "https://www.example.com/search?q=x", kAgents[next(4)]);
    lines.emplace_back(buf);
  }
  return lines;
}

sluice::grok::GrokSettings settings_for(std::string ecs, std::vector<std::string> patterns) {
  sluice::grok::GrokSettings s;
  s.match = {{"message", std::move(patterns)}};
  s.ecs_compatibility = std::move(ecs);
  if (const char* dir = std::getenv("SLUICE_GROK_PATTERNS")) {
    s.builtin_patterns = false;
    s.patterns_dir = {std::string(dir) + (s.ecs_compatibility == "disabled" ? "/legacy" : "/ecs-v1")};
  }
  return s;
}

void run(benchmark::State& state, const sluice::grok::GrokSettings& settings) {
  sluice::grok::GrokEngine engine(settings);
  auto lines = apache_lines(4096);
  FieldRef message = FieldRef::of("message");
  Event event;
  size_t i = 0, failures = 0;
  for (auto _ : state) {
    event.reset();
    event.put(message).set_string(lines[i++ & 4095]);
    if (engine.process(event) != sluice::grok::GrokResult::Matched) ++failures;
    benchmark::DoNotOptimize(event);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["failures"] = double(failures);
}

void BM_GrokCombinedApacheEcsV1(benchmark::State& state) { run(state, settings_for("v1", {"%{COMBINEDAPACHELOG}"})); }
void BM_GrokCombinedApacheLegacy(benchmark::State& state) {
  run(state, settings_for("disabled", {"%{COMBINEDAPACHELOG}"}));
}

// Three patterns that cannot match an Apache line before the one that does.
std::vector<std::string> multi_patterns() {
  return {"%{SYSLOGTIMESTAMP:ts} %{SYSLOGHOST:host} %{DATA:program}(?:\\[%{POSINT:pid}\\])?: %{GREEDYDATA:msg}",
          "^%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:msg}",
          "^<%{NONNEGINT:pri}>%{GREEDYDATA:msg}", "%{COMBINEDAPACHELOG}"};
}
void BM_GrokMultiPatternPrefilter(benchmark::State& state) { run(state, settings_for("v1", multi_patterns())); }
void BM_GrokMultiPatternOrdered(benchmark::State& state) {
  auto s = settings_for("v1", multi_patterns());
  s.prefilter = false;
  run(state, s);
}

// Eight unanchored security patterns that cannot match an Apache line, then the one that does:
// the case the pre-filter is for (each failing PCRE2 search scans the whole line).
std::vector<std::string> many_patterns() {
  return {"%{IP:src} sshd\\[%{POSINT:pid}\\]: Failed password for %{USER:user}",
          "%{IP:src} .* Accepted publickey for %{USER:user}",
          "%{SYSLOGTIMESTAMP:ts} %{HOSTNAME:host} kernel: \\[UFW %{WORD:action}\\]",
          "%{IP:src}:%{POSINT:sport} -> %{IP:dst}:%{POSINT:dport} %{WORD:proto}",
          "%{CISCOTAG:tag}: %{GREEDYDATA:cisco}",
          "%{IPORHOST:host} %{DATA:prog}\\[%{POSINT:pid}\\]: %{DATA:user} : TTY=%{NOTSPACE:tty}",
          "%{IP:client}#%{POSINT:port} \\(%{HOSTNAME:query}\\): query:",
          "%{TIMESTAMP_ISO8601:ts} %{IP:src} %{WORD:verb} %{URIPATHPARAM:req} %{NUMBER:status} %{NUMBER:ms}ms",
          "%{COMBINEDAPACHELOG}"};
}
void BM_GrokManyPatternsPrefilter(benchmark::State& state) { run(state, settings_for("v1", many_patterns())); }
void BM_GrokManyPatternsOrdered(benchmark::State& state) {
  auto s = settings_for("v1", many_patterns());
  s.prefilter = false;
  run(state, s);
}

BENCHMARK(BM_GrokCombinedApacheEcsV1);
BENCHMARK(BM_GrokCombinedApacheLegacy);
BENCHMARK(BM_GrokMultiPatternPrefilter);
BENCHMARK(BM_GrokMultiPatternOrdered);
BENCHMARK(BM_GrokManyPatternsPrefilter);
BENCHMARK(BM_GrokManyPatternsOrdered);

}  // namespace
