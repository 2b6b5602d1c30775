// The redis filter (a sluice extension; Logstash has no redis filter): looks a key made from
// event fields up in Redis (GET, HGETALL or SISMEMBER) and puts the answer in `target`. The
// lookups of one batch that miss the local cache go to Redis pipelined: one round trip per
// batch, not per event. A Redis that is down or slow costs at most `timeout` per batch: the
// events are tagged and go on, and reconnects are paced by a backoff.
#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "core/sprintf.h"
#include "plugins/filters/lookup/backoff.h"
#include "plugins/filters/lookup/lru_cache.h"
#include "plugins/filters/lookup/params.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema redis_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "redis";
  schema.doc =
      "sluice extension: enriches events from Redis. `key` (a sprintf template) is looked up with GET (the "
      "string), HGETALL (a hash) or SISMEMBER (true/false for `member`); the answer goes into `target`. "
      "Answers, misses included, are cached for `cache_ttl` seconds; the rest of a batch is sent pipelined.";
  auto required = [](OptionSpec spec) {
    spec.required = true;
    return spec;
  };
  schema.options = {
      option_spec("host", OptionType::String, cv_string("127.0.0.1"), "Redis host."),
      option_spec("port", OptionType::Number, cv_number(6379), "Redis port."),
      option_spec("password", OptionType::Password, std::nullopt, "Password for AUTH (never logged)."),
      option_spec("db", OptionType::Number, cv_number(0), "Database number (SELECT)."),
      required(option_spec("key", OptionType::String, std::nullopt, "The key to look up (sprintf template, e.g. `ip:%{[source][ip]}`).")),
      option_spec("command", OptionType::String, cv_string("GET"), "The lookup command.", {"GET", "HGETALL", "SISMEMBER"}),
      option_spec("member", OptionType::String, std::nullopt, "For SISMEMBER: the member to test (sprintf template)."),
      required(option_spec("target", OptionType::String, std::nullopt, "The field that receives the answer.")),
      option_spec("cache_size", OptionType::Number, cv_number(10000), "Answers kept in the local LRU cache (0 = no cache)."),
      option_spec("cache_ttl", OptionType::Number, cv_number(60), "Seconds a cached answer stays valid (0 = until evicted)."),
      option_spec("timeout", OptionType::Number, cv_number(1.0), "Seconds to wait for Redis (connect and each reply)."),
      option_spec("tag_on_failure", OptionType::Array, cv_array({"_redislookupfailure"}),
          "Tags added when Redis cannot be asked (down, timeout, error reply)."),
      option_spec("tag_on_miss", OptionType::Array, cv_array({"_redislookupmiss"}),
          "Tags added when the key does not exist (GET, HGETALL)."),
  };
  return schema;
}

enum class Command { Get, HGetAll, SIsMember };
enum class Outcome : uint8_t { Found, Miss, Failed };

struct Answer {
  Outcome outcome = Outcome::Failed;
  Value value;
};

struct RedisConnDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using RedisConn = std::unique_ptr<redisContext, RedisConnDeleter>;

struct RedisConnection {
  RedisConn ctx;
};

class AuthError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class RedisFilter : public Filter {
 public:
  RedisFilter(const Options& options, PluginContext& context)
      : id_(context.id),
        metrics_(context.metrics),
        log_(logging::get("filter.redis")),
        cache_(size_t(std::max<int64_t>(0, options.get_int("cache_size"))), int64_t(options.get_number("cache_ttl") * 1e9)) {
    host_ = options.get_string("host");
    port_ = int(options.get_int("port"));
    password_ = options.get_string("password");
    db_ = options.get_int("db");
    key_ = Template(options.get_string("key"));
    const std::string command = options.get_string("command");
    command_ = command == "HGETALL" ? Command::HGetAll : command == "SISMEMBER" ? Command::SIsMember : Command::Get;
    if (command_ == Command::SIsMember) {
      if (!options.has("member"))
        throw config::ConfigError(options.position("command"), "redis: SISMEMBER needs the `member` option");
      member_ = Template(options.get_string("member"));
    }
    target_ = FieldRef::of(options.get_string("target"));
    const double timeout = options.get_number("timeout");
    timeout_.tv_sec = time_t(timeout);
    timeout_.tv_usec = suseconds_t((timeout - double(timeout_.tv_sec)) * 1e6);
    tag_on_failure_ = options.get_string_array("tag_on_failure");
    tag_on_miss_ = options.get_string_array("tag_on_miss");
    if (metrics_) {
      cache_hits_ = &metrics_->counter("cache_hits");
      cache_misses_ = &metrics_->counter("cache_misses");
      round_trips_ = &metrics_->counter("round_trips");
      errors_ = &metrics_->counter("lookup_errors");
      connects_ = &metrics_->counter("connects");
    }
    // A wrong password stops the pipeline now; an unreachable server only fails lookups until it is back.
    try {
      pool_.give_back(connect());
    } catch (const AuthError& e) {
      throw std::runtime_error(fmt::format("redis [{}]: {}:{} refused the login: {}", id_, host_, port_, e.what()));
    } catch (const std::exception& e) {
      log_->warn("[{}] cannot reach Redis at {}:{} yet ({}); lookups are tagged {} until it answers", id_, host_, port_,
                 e.what(), fmt::join(tag_on_failure_, ","));
      backoff_.failed();
    }
  }

  bool filter(Event& event, FilterContext& ctx) override {
    Event* one[1] = {&event};
    std::vector<char> matched;
    filter_batch(std::span<Event* const>(one, 1), matched, ctx);
    return matched[0] != 0;
  }

  void filter_batch(std::span<Event* const> events, std::vector<char>& matched, FilterContext&) override {
    matched.assign(events.size(), 0);
    Scratch& s = scratch();
    s.reset(events.size());
    const int64_t now = lookup::monotonic_nanos();
    uint64_t hits = 0, misses = 0;  // added to the shared counters once per batch
    // 1. Cache: answer what we can; collect the distinct keys still to ask.
    for (size_t i = 0; i < events.size(); ++i) {
      Event& event = *events[i];
      if (event.cancelled()) continue;
      std::string& key = s.keys[i];
      key_.render(event, key);
      // The cache key is the Redis key, plus the member for SISMEMBER.
      std::string* cache_key = &key;
      if (command_ == Command::SIsMember) {
        s.members[i].clear();
        member_.render(event, s.members[i]);
        cache_key = &s.cache_keys[i];
        *cache_key = key;
        *cache_key += '\x1f';
        *cache_key += s.members[i];
      }
      char hit_matched = 0;
      if (cache_.visit(*cache_key, now, [&](const Answer& answer) { hit_matched = apply(event, answer); })) {
        ++hits;
        matched[i] = hit_matched;
        continue;
      }
      ++misses;
      auto [it, inserted] = s.request_of.try_emplace(*cache_key, s.requests.size());
      if (inserted) s.requests.push_back(i);
      s.waiting.emplace_back(i, it->second);
    }
    if (cache_hits_ && hits) cache_hits_->fetch_add(hits, std::memory_order_relaxed);
    if (cache_misses_ && misses) cache_misses_->fetch_add(misses, std::memory_order_relaxed);
    if (s.requests.empty()) return;
    // 2. One pipelined round trip for all of them.
    s.answers.assign(s.requests.size(), Answer{});
    ask(s);
    for (size_t r = 0; r < s.requests.size(); ++r)
      if (s.answers[r].outcome != Outcome::Failed) {
        const size_t i = s.requests[r];
        cache_.put(command_ == Command::SIsMember ? s.cache_keys[i] : s.keys[i], s.answers[r], now);
      }
    for (auto [event_index, request] : s.waiting) matched[event_index] = apply(*events[event_index], s.answers[request]);
  }

 private:
  struct Scratch {
    std::vector<std::string> keys, members, cache_keys;
    std::unordered_map<std::string, size_t, lookup::StringHash, std::equal_to<>> request_of;
    std::vector<size_t> requests;                     // event index of each distinct request
    std::vector<std::pair<size_t, size_t>> waiting;   // event index, request index
    std::vector<Answer> answers;
    void reset(size_t n) {
      if (keys.size() < n) keys.resize(n), members.resize(n), cache_keys.resize(n);
      for (size_t i = 0; i < n; ++i) keys[i].clear();
      request_of.clear();
      requests.clear();
      waiting.clear();
    }
  };
  static Scratch& scratch() {
    thread_local Scratch s;
    return s;
  }

  char apply(Event& event, const Answer& answer) {
    switch (answer.outcome) {
      case Outcome::Found:
        event.put(target_) = answer.value;
        if (command_ == Command::SIsMember) return answer.value.as_bool() ? 1 : 0;
        return 1;
      case Outcome::Miss:
        lookup::add_tags(event, tag_on_miss_);
        return 0;
      case Outcome::Failed:
        lookup::add_tags(event, tag_on_failure_);
        if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
        return 0;
    }
    return 0;
  }

  std::unique_ptr<RedisConnection> connect() {
    auto conn = std::make_unique<RedisConnection>();
    conn->ctx.reset(redisConnectWithTimeout(host_.c_str(), port_, timeout_));
    if (!conn->ctx) throw std::runtime_error("out of memory");
    if (conn->ctx->err) throw std::runtime_error(conn->ctx->errstr);
    redisSetTimeout(conn->ctx.get(), timeout_);
    auto simple = [&](std::vector<std::string> argv, bool auth) {
      std::vector<const char*> args;
      std::vector<size_t> lens;
      for (auto& a : argv) args.push_back(a.data()), lens.push_back(a.size());
      auto* reply = static_cast<redisReply*>(redisCommandArgv(conn->ctx.get(), int(args.size()), args.data(), lens.data()));
      if (!reply) throw std::runtime_error(conn->ctx->errstr);
      std::string error = reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len) : "";
      freeReplyObject(reply);
      if (!error.empty()) {
        if (auth) throw AuthError(error);
        throw std::runtime_error(error);
      }
    };
    if (!password_.empty()) simple({"AUTH", password_}, true);
    else simple({"PING"}, true);  // a server that wants a password answers NOAUTH here, not on every lookup
    if (db_ != 0) simple({"SELECT", std::to_string(db_)}, false);
    count(connects_);
    return conn;
  }

  // Sends every request of the batch, then reads the replies in order. An I/O error or timeout
  // fails the remaining requests and drops the connection (its reply stream is out of step).
  void ask(Scratch& s) {
    if (!backoff_.ready()) return;  // answers stay Failed
    auto conn = pool_.take();
    try {
      if (!conn) {
        conn = connect();
        if (backoff_.consecutive_failures() > 0) log_->info("[{}] Redis at {}:{} is back", id_, host_, port_);
      }
    } catch (const AuthError& e) {
      log_->error("[{}] Redis refused the login: {}", id_, e.what());
      backoff_.failed();
      count(errors_);
      return;
    } catch (const std::exception& e) {
      note_lost(e.what());
      return;
    }
    redisContext* c = conn->ctx.get();
    const char* name = command_ == Command::Get ? "GET" : command_ == Command::HGetAll ? "HGETALL" : "SISMEMBER";
    const size_t name_len = std::strlen(name);
    for (size_t r = 0; r < s.requests.size(); ++r) {
      const size_t i = s.requests[r];
      const char* argv[3] = {name, s.keys[i].data(), s.members[i].data()};
      const size_t lens[3] = {name_len, s.keys[i].size(), command_ == Command::SIsMember ? s.members[i].size() : 0};
      redisAppendCommandArgv(c, command_ == Command::SIsMember ? 3 : 2, argv, lens);
    }
    count(round_trips_);
    for (size_t r = 0; r < s.requests.size(); ++r) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK || !raw) {
        note_lost(c->errstr[0] ? c->errstr : "no reply");
        return;  // the connection is dropped with `conn`
      }
      auto* reply = static_cast<redisReply*>(raw);
      convert(reply, s.answers[r]);
      freeReplyObject(reply);
    }
    backoff_.succeeded();
    pool_.give_back(std::move(conn));
  }

  void convert(const redisReply* reply, Answer& answer) {
    switch (reply->type) {
      case REDIS_REPLY_NIL: answer.outcome = Outcome::Miss; return;
      case REDIS_REPLY_STRING:
      case REDIS_REPLY_STATUS:
        answer.outcome = Outcome::Found;
        answer.value.set_string(std::string_view(reply->str, reply->len));
        return;
      case REDIS_REPLY_INTEGER:
        answer.outcome = Outcome::Found;
        if (command_ == Command::SIsMember) answer.value.set_bool(reply->integer != 0);
        else answer.value.set_int(reply->integer);
        return;
      case REDIS_REPLY_ARRAY: {
        if (reply->elements == 0) {
          answer.outcome = Outcome::Miss;
          return;
        }
        Object& o = answer.value.make_object();
        for (size_t k = 0; k + 1 < reply->elements; k += 2) {
          const redisReply* field = reply->element[k];
          const redisReply* value = reply->element[k + 1];
          if (field->type != REDIS_REPLY_STRING) continue;
          Value& v = o[std::string_view(field->str, field->len)];
          if (value->type == REDIS_REPLY_STRING) v.set_string(std::string_view(value->str, value->len));
        }
        answer.outcome = Outcome::Found;
        return;
      }
      default: {  // an error reply (WRONGTYPE...): this lookup fails, the connection is fine
        count(errors_);
        if (errors_logged_.fetch_add(1, std::memory_order_relaxed) < 10)
          log_->warn("[{}] Redis answered an error: {}", id_, std::string_view(reply->str ? reply->str : "", reply->len));
        answer.outcome = Outcome::Failed;
        return;
      }
    }
  }

  void note_lost(const char* what) {
    count(errors_);
    const int64_t delay = backoff_.failed();
    if (backoff_.consecutive_failures() <= 1 || delay >= 10000)
      log_->warn("[{}] Redis at {}:{} failed: {}; retrying in {} ms", id_, host_, port_, what, delay);
  }

  static void count(std::atomic<uint64_t>* counter) {
    if (counter) counter->fetch_add(1, std::memory_order_relaxed);
  }

  std::string id_;
  PluginMetrics* metrics_;
  std::shared_ptr<spdlog::logger> log_;
  std::string host_;
  int port_ = 6379;
  std::string password_;
  int64_t db_ = 0;
  Template key_, member_;
  Command command_ = Command::Get;
  FieldRef target_;
  timeval timeout_{1, 0};
  std::vector<std::string> tag_on_failure_, tag_on_miss_;
  lookup::LruCache<Answer> cache_;
  lookup::Backoff backoff_;
  lookup::ConnectionPool<RedisConnection> pool_;
  std::atomic<uint64_t> errors_logged_{0};
  std::atomic<uint64_t>* cache_hits_ = nullptr;
  std::atomic<uint64_t>* cache_misses_ = nullptr;
  std::atomic<uint64_t>* round_trips_ = nullptr;
  std::atomic<uint64_t>* errors_ = nullptr;
  std::atomic<uint64_t>* connects_ = nullptr;
};

const RegisterFilter registration{redis_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<RedisFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
