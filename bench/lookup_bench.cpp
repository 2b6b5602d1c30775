// The redis lookup filter's cost per 1M events on one worker, 90% of lookups answered by the
// local cache (keys `ip:<the event's IPv4 address>`: a hot set of 1,000 drawn 90% of the time, the
// rest from 1M cold ones), the misses of each batch (pipeline.batch.size: 125, the default, and
// 1000) sent to a local redis-server in one pipelined round trip.
// Reported (not asserted): `added_cpu_s_per_1M` = CPU of the filter minus the same loop without it,
// and its user and system (kernel: mostly the round trips) parts.
// Needs redis-server on PATH. Run: sluice_microbench --benchmark_filter=RedisLookup
#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "runtime/metrics.h"
#include "runtime/options.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

// This thread's CPU time so far, split into user and system (the kernel's share is mostly the
// round trips to redis-server).
struct CpuTime {
  double user = 0, system = 0;
  double total() const { return user + system; }
  CpuTime operator-(const CpuTime& o) const { return {user - o.user, system - o.system}; }
};
CpuTime thread_cpu() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return {seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

int pick_free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class LocalRedis {
 public:
  LocalRedis() : port_(pick_free_port()) {
    signal(SIGPIPE, SIG_IGN);  // as sluice's main does (hiredis writes without MSG_NOSIGNAL)
    pid_ = fork();
    if (pid_ == 0) {
      const std::string port = std::to_string(port_);
      execlp("redis-server", "redis-server", "--bind", "127.0.0.1", "--port", port.c_str(), "--save", "", "--appendonly",
             "no", "--loglevel", "warning", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200 && !ctx_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      redisContext* c = redisConnect("127.0.0.1", port_);
      if (c && !c->err) ctx_ = c;
      else if (c) redisFree(c);
    }
  }
  ~LocalRedis() {
    if (ctx_) redisFree(ctx_);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool ok() const { return ctx_ != nullptr; }
  int port() const { return port_; }
  void fill(int n) {
    auto* r = static_cast<redisReply*>(redisCommand(
        ctx_, "EVAL %s 0 %d",
        "for i=0,tonumber(ARGV[1])-1 do redis.call('SET','ip:10.'..math.floor(i/65536)..'.'..(math.floor(i/256)%256).."
        "'.'..(i%256),'owner-'..i) end",
        n));
    if (r) freeReplyObject(r);
  }

 private:
  int port_;
  pid_t pid_ = -1;
  redisContext* ctx_ = nullptr;
};

class NullContext : public FilterContext {
 public:
  Event* new_event() override { return nullptr; }
  void emit(Event*) override {}
};

// The key of event i: 90% from 1,000 hot keys, 10% from 1M cold ones (a fixed pseudo-random walk).
int64_t key_of(uint64_t i) {
  uint64_t x = i * 0x9E3779B97F4A7C15ULL;
  x ^= x >> 31;
  return (x % 10) != 0 ? int64_t((x >> 8) % 1000) : int64_t(1000 + (x >> 8) % 999000);
}

// Key n as the IPv4 address 10.a.b.c (n = a*65536 + b*256 + c), written without snprintf: the
// events carry an IP field, as in the benchmark.
void ip_of(int64_t n, std::string& out) {
  out.assign("10.");
  char digits[8];
  for (int shift : {16, 8, 0}) {
    const auto end = std::to_chars(digits, digits + sizeof digits, (n >> shift) & 255).ptr;
    out.append(digits, size_t(end - digits));
    if (shift) out.push_back('.');
  }
}

// Runs `total` events through batches of `batch` (pipeline.batch.size); `with_filter` false
// measures the loop alone.
CpuTime run(Filter* filter, uint64_t total, bool with_filter, size_t batch = 125) {
  const size_t kBatch = batch;
  std::vector<Event> events(kBatch);
  std::vector<Event*> pointers;
  for (auto& e : events) {
    e.init_with_message("a log line", Timestamp::from_seconds(1700000000));
    pointers.push_back(&e);
  }
  const FieldRef key_field = FieldRef::of("ip"), target = FieldRef::of("owner");
  std::vector<char> matched;
  NullContext ctx;
  const CpuTime start = thread_cpu();
  for (uint64_t done = 0; done < total; done += kBatch) {
    for (size_t k = 0; k < kBatch; ++k) {
      ip_of(key_of(done + k), events[k].put(key_field).make_string());
      events[k].remove(target);
    }
    if (with_filter) filter->filter_batch(pointers, matched, ctx);
    benchmark::DoNotOptimize(pointers.data());
  }
  return thread_cpu() - start;
}

// SLUICE_REDIS_SPIN=<microseconds> overrides the filter's reply_spin_microseconds (to compare).
std::string spin_option() {
  const char* spin = std::getenv("SLUICE_REDIS_SPIN");
  return spin ? std::string(" reply_spin_microseconds => ") + spin : std::string();
}

void BM_RedisLookup90PctCacheHits(benchmark::State& state) {
  LocalRedis redis;
  if (!redis.ok()) {
    state.SkipWithError("redis-server did not start");
    return;
  }
  redis.fill(1000000);
  config::PipelineConfig config = config::parse_config(
      "filter { redis { port => " + std::to_string(redis.port()) +
          " key => 'ip:%{ip}' target => 'owner' cache_size => 10000 cache_ttl => 600" + spin_option() + " } }",
      "bench.conf");
  const PluginEntry* entry = Registry::instance().find(PluginKind::Filter, "redis");
  Options options = Options::validate(*config.filters.at(0).plugin, entry->schema);
  PluginMetrics metrics;
  PipelineSettings settings;
  PluginContext context;
  context.id = "redis_bench";
  context.settings = &settings;
  context.metrics = &metrics;
  auto filter = entry->filter(options, context);
  const size_t batch = size_t(state.range(0));
  run(filter.get(), 100000, true, batch);  // warm the hot keys into the cache
  const uint64_t hits0 = metrics.counter("cache_hits").load(), misses0 = metrics.counter("cache_misses").load();
  const uint64_t trips0 = metrics.counter("round_trips").load();
  const uint64_t blocked0 = metrics.counter("round_trips_blocked").load();
  constexpr uint64_t kEvents = 1000000;
  CpuTime with, without;
  for (auto _ : state) {
    with = run(filter.get(), kEvents, true, batch);
    without = run(filter.get(), kEvents, false, batch);
  }
  const double hits = double(metrics.counter("cache_hits").load() - hits0);
  const double misses = double(metrics.counter("cache_misses").load() - misses0);
  state.counters["cpu_s_per_1M_with"] = with.total();
  state.counters["cpu_s_per_1M_without"] = without.total();
  state.counters["added_cpu_s_per_1M"] = (with - without).total();
  state.counters["added_user_s_per_1M"] = (with - without).user;
  state.counters["added_system_s_per_1M"] = (with - without).system;
  state.counters["cache_hit_rate"] = hits / (hits + misses);
  state.counters["round_trips"] = double(metrics.counter("round_trips").load() - trips0);
  state.counters["round_trips_blocked"] = double(metrics.counter("round_trips_blocked").load() - blocked0);
  state.counters["failures"] = double(metrics.failures.load());
}
// The argument is pipeline.batch.size: the default 125, and 1000 (one round trip per 1000 events).
BENCHMARK(BM_RedisLookup90PctCacheHits)->Arg(125)->Arg(1000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice
