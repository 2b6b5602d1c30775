// The redis filter (a sluice extension; Logstash has no redis filter): looks a key made from
// event fields up in Redis (GET, HGETALL or SISMEMBER) and puts the answer in `target`. The
// lookups of one batch that miss the local cache go to Redis pipelined: one round trip per
// batch, not per event. A Redis that is down or slow costs at most `timeout` per batch: the
// events are tagged and go on, and reconnects are paced by a backoff.
#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <sys/socket.h>

#include <cerrno>

#include <bit>
#include <charconv>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "core/sprintf.h"
#include "plugins/filters/lookup/batch_filter.h"
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
      option_spec("reply_spin_microseconds", OptionType::Number, cv_number(0),
          "Microseconds the worker polls the socket for a batch's replies before it sleeps in a blocking read "
          "(0: block at once). Polling saves the sleep and wake-up when Redis answers within that time, but "
          "each poll is a system call: measure before turning it on."),
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

// Where the reply being read goes: hiredis's reader calls these functions instead of building a
// redisReply tree (two allocations per reply, more for a hash), so a pipelined batch is parsed
// straight into its answers. Set on the reading thread for the duration of one receive().
struct ReplySink {
  Answer* answer = nullptr;
  bool sismember = false;
  bool error = false;        // an error reply (WRONGTYPE...)
  std::string error_text;
  bool has_field = false;    // HGETALL: a string field name is waiting for its value
  std::string field;
};
thread_local ReplySink* reply_sink = nullptr;
char reply_token;  // hiredis only needs a non-null object back

// A value inside HGETALL's array: even positions are field names, odd ones their values.
Value* hash_slot(const redisReadTask* task, ReplySink& sink) {
  if (task->idx % 2 == 0) {
    sink.has_field = false;
    return nullptr;
  }
  if (!sink.has_field || !sink.answer->value.is_object()) return nullptr;
  sink.has_field = false;
  return &sink.answer->value.as_object()[sink.field];
}

void* sink_string(const redisReadTask* task, char* text, size_t length) {
  ReplySink& sink = *reply_sink;
  const std::string_view value(text, length);
  if (!task->parent) {
    if (task->type == REDIS_REPLY_ERROR) {
      sink.error = true;
      sink.error_text.assign(value);
    } else {  // a string or status reply
      sink.answer->outcome = Outcome::Found;
      sink.answer->value.set_string(value);
    }
  } else if (task->idx % 2 == 0) {
    sink.has_field = task->type == REDIS_REPLY_STRING;
    if (sink.has_field) sink.field.assign(value);
  } else if (Value* slot = hash_slot(task, sink); slot && task->type == REDIS_REPLY_STRING) {
    slot->set_string(value);
  }
  return &reply_token;
}

void* sink_array(const redisReadTask* task, int elements) {
  ReplySink& sink = *reply_sink;
  if (!task->parent) {
    sink.has_field = false;
    if (elements <= 0) {
      sink.answer->outcome = Outcome::Miss;  // HGETALL of a missing key: an empty array
    } else {
      sink.answer->outcome = Outcome::Found;
      sink.answer->value.make_object();
    }
  } else {
    hash_slot(task, sink);  // a nested array is not a field value we keep
  }
  return &reply_token;
}

void* sink_integer(const redisReadTask* task, long long value) {
  ReplySink& sink = *reply_sink;
  if (!task->parent) {
    sink.answer->outcome = Outcome::Found;
    if (sink.sismember) sink.answer->value.set_bool(value != 0);
    else sink.answer->value.set_int(value);
  } else {
    hash_slot(task, sink);  // kept as null, as before
  }
  return &reply_token;
}

void* sink_nil(const redisReadTask* task) {
  ReplySink& sink = *reply_sink;
  if (!task->parent) sink.answer->outcome = Outcome::Miss;
  else hash_slot(task, sink);
  return &reply_token;
}

void sink_free(void*) {}

redisReplyObjectFunctions sink_functions = {sink_string, sink_array, sink_integer, sink_nil, sink_free};

// Appends one command in RESP (what redisAppendCommandArgv formats with several allocations).
void append_resp_command(std::string& out, std::string_view name, std::string_view key, const std::string* member) {
  char digits[24];
  auto append_length = [&](char marker, size_t n) {
    out.push_back(marker);
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out.append(digits, size_t(end - digits));
    out.append("\r\n", 2);
  };
  auto append_bulk = [&](std::string_view text) {
    append_length('$', text.size());
    out.append(text);
    out.append("\r\n", 2);
  };
  append_length('*', member ? 3 : 2);
  append_bulk(name);
  append_bulk(key);
  if (member) append_bulk(*member);
}

enum class ReadResult { Data, Nothing, Failed };

// Feeds whatever the socket holds now into the reader, polling until `deadline_nanos`; never blocks.
ReadResult read_until(redisContext* c, int64_t deadline_nanos, std::string& error) {
  char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = recv(c->fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) {
      if (redisReaderFeed(c->reader, buffer, size_t(n)) == REDIS_OK) return ReadResult::Data;
      error = "reader error";
      return ReadResult::Failed;
    }
    if (n == 0) {
      error = "connection closed by the server";
      return ReadResult::Failed;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      error = std::strerror(errno);
      return ReadResult::Failed;
    }
    if (lookup::monotonic_nanos() >= deadline_nanos) return ReadResult::Nothing;
    __builtin_ia32_pause();
  }
}

class AuthError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class RedisFilter : public lookup::BatchFilter {
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
    // Polling never outlasts the reply timeout.
    spin_nanos_ = int64_t(std::min(std::max(0.0, options.get_number("reply_spin_microseconds")) * 1e3, timeout * 1e9));
    if (metrics_) {
      cache_hits_ = &metrics_->counter("cache_hits");
      cache_misses_ = &metrics_->counter("cache_misses");
      round_trips_ = &metrics_->counter("round_trips");
      round_trips_polled_ = &metrics_->counter("round_trips_answered_while_polling");
      round_trips_blocked_ = &metrics_->counter("round_trips_blocked");
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

  void filter_batch(std::span<Event* const> events, std::vector<char>& matched, FilterContext&) override {
    matched.assign(events.size(), 0);
    Scratch& s = scratch();
    s.reset(events.size());
    const int64_t now = lookup::monotonic_nanos();
    uint64_t hits = 0, misses = 0;  // added to the shared counters once per batch
    // 1. The keys, and their cache buckets prefetched (they are likely not in the core's caches).
    for (size_t i = 0; i < events.size(); ++i) {
      Event& event = *events[i];
      if (event.cancelled()) continue;
      std::string& key = s.keys[i];
      key_.render(event, key);
      // The cache key is the Redis key, plus the member for SISMEMBER.
      if (command_ == Command::SIsMember) {
        s.members[i].clear();
        member_.render(event, s.members[i]);
        std::string& cache_key = s.cache_keys[i];
        cache_key = key;
        cache_key += '\x1f';
        cache_key += s.members[i];
      }
      s.hashes[i] = Cache::hash_of(key_of(s, i));
      cache_.prefetch(s.hashes[i]);
    }
    // 2. A hit is written into its event at once (under the cache's lock: one copy of the
    // answer); the distinct keys that missed are collected.
    for (size_t i = 0; i < events.size(); ++i) {
      Event& event = *events[i];
      if (event.cancelled()) continue;
      const std::string& cache_key = key_of(s, i);
      if (cache_.visit(cache_key, s.hashes[i], now, [&](const Answer& answer) { matched[i] = apply(event, answer); })) {
        ++hits;
        continue;
      }
      ++misses;
      s.waiting.emplace_back(i, request_for(s, i, cache_key, s.hashes[i]));
    }
    if (cache_hits_ && hits) cache_hits_->fetch_add(hits, std::memory_order_relaxed);
    if (cache_misses_ && misses) cache_misses_->fetch_add(misses, std::memory_order_relaxed);
    if (s.requests.empty()) return;
    // 3. One pipelined round trip for the rest.
    s.answers.assign(s.requests.size(), Answer{});
    if (std::unique_ptr<RedisConnection> conn = send(s)) receive(s, std::move(conn));
    for (size_t r = 0; r < s.requests.size(); ++r)
      if (s.answers[r].outcome != Outcome::Failed) {
        const size_t i = s.requests[r];
        cache_.put(key_of(s, i), s.hashes[i], s.answers[r], now);
      }
    for (auto [event_index, request] : s.waiting) matched[event_index] = apply(*events[event_index], s.answers[request]);
  }

 private:
  using Cache = lookup::LruCache<Answer>;

  struct Scratch {
    std::vector<std::string> keys, members, cache_keys;
    std::vector<uint64_t> hashes;                     // of each event's cache key
    std::vector<size_t> requests;                     // event index of each distinct request
    std::vector<uint32_t> request_table;              // open addressing: request index + 1, 0 = free
    std::vector<std::pair<size_t, size_t>> waiting;   // event index, request index
    std::vector<Answer> answers;
    std::string commands;  // the batch's pipelined commands, in RESP
    size_t batch_size = 0;
    void reset(size_t n) {
      batch_size = n;
      if (keys.size() < n) keys.resize(n), members.resize(n), cache_keys.resize(n), hashes.resize(n);
      for (size_t i = 0; i < n; ++i) keys[i].clear();
      requests.clear();
      request_table.clear();
      waiting.clear();
    }
  };
  static Scratch& scratch() {
    thread_local Scratch s;
    return s;
  }

  // The index of the batch's request for this cache key, added if it is the first event asking:
  // a key is sent once per batch however many of its events ask for it.
  size_t request_for(Scratch& s, size_t event_index, const std::string& cache_key, uint64_t hash) const {
    if (s.request_table.empty()) s.request_table.assign(std::bit_ceil(2 * s.batch_size), 0);  // the first miss
    const size_t mask = s.request_table.size() - 1;
    for (size_t at = hash & mask;; at = (at + 1) & mask) {
      uint32_t& entry = s.request_table[at];
      if (entry == 0) {
        entry = uint32_t(s.requests.size() + 1);
        s.requests.push_back(event_index);
        return s.requests.size() - 1;
      }
      const size_t other = s.requests[entry - 1];
      if (s.hashes[other] == hash && key_of(s, other) == cache_key) return entry - 1;
    }
  }
  const std::string& key_of(const Scratch& s, size_t event_index) const {
    return command_ == Command::SIsMember ? s.cache_keys[event_index] : s.keys[event_index];
  }

  char apply(Event& event, const Answer& answer) {
    switch (answer.outcome) {
      case Outcome::Found:
        event.put(target_).assign_unrelated(answer.value);
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

  // Sends every request of the batch; nullptr when Redis cannot be asked (the answers stay Failed).
  std::unique_ptr<RedisConnection> send(Scratch& s) {
    if (!backoff_.ready()) return nullptr;
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
      return nullptr;
    } catch (const std::exception& e) {
      note_lost(e.what());
      return nullptr;
    }
    redisContext* c = conn->ctx.get();
    const std::string_view name = command_ == Command::Get ? "GET" : command_ == Command::HGetAll ? "HGETALL" : "SISMEMBER";
    s.commands.clear();
    for (size_t r = 0; r < s.requests.size(); ++r) {
      const size_t i = s.requests[r];
      append_resp_command(s.commands, name, s.keys[i], command_ == Command::SIsMember ? &s.members[i] : nullptr);
    }
    redisAppendFormattedCommand(c, s.commands.data(), s.commands.size());
    count(round_trips_);
    for (int done = 0; !done;) {
      if (redisBufferWrite(c, &done) != REDIS_OK) {
        note_lost(c->errstr[0] ? c->errstr : "write failed");
        return nullptr;
      }
    }
    return conn;
  }

  // Reads the replies in order. An I/O error or timeout fails the remaining requests and drops the
  // connection (its reply stream is out of step).
  void receive(Scratch& s, std::unique_ptr<RedisConnection> conn) {
    redisContext* c = conn->ctx.get();
    // The replies are parsed into s.answers by the sink functions; hiredis's own functions come
    // back before the connection is used for anything else (connect()'s commands, redisFree).
    // They are first polled for (spin_nanos_), then waited for in a blocking read.
    const int64_t spin_deadline = spin_nanos_ > 0 ? lookup::monotonic_nanos() + spin_nanos_ : 0;
    bool blocked = false;
    {
      ReplySink sink;
      sink.sismember = command_ == Command::SIsMember;
      redisReplyObjectFunctions* const own_functions = c->reader->fn;
      c->reader->fn = &sink_functions;
      reply_sink = &sink;
      struct Restore {
        redisContext* c;
        redisReplyObjectFunctions* fn;
        ~Restore() {
          c->reader->fn = fn;
          reply_sink = nullptr;
        }
      } restore{c, own_functions};
      std::string read_error;
      for (size_t r = 0; r < s.requests.size(); ++r) {
        sink.answer = &s.answers[r];
        sink.error = false;
        void* raw = nullptr;
        if (redisGetReplyFromReader(c, &raw) != REDIS_OK) {
          note_lost(c->errstr[0] ? c->errstr : "protocol error");
          return;
        }
        while (!raw) {
          const ReadResult got = spin_deadline ? read_until(c, spin_deadline, read_error) : ReadResult::Nothing;
          if (got == ReadResult::Failed) {
            note_lost(read_error.c_str());
            return;  // the connection is dropped with `conn`
          }
          if (got == ReadResult::Data) {
            if (redisGetReplyFromReader(c, &raw) != REDIS_OK) {
              note_lost(c->errstr[0] ? c->errstr : "protocol error");
              return;
            }
            continue;
          }
          blocked = true;
          if (redisGetReply(c, &raw) != REDIS_OK || !raw) {
            note_lost(c->errstr[0] ? c->errstr : "no reply");
            return;
          }
        }
        if (sink.error) {  // this lookup fails, the connection is fine
          s.answers[r].outcome = Outcome::Failed;
          count(errors_);
          if (errors_logged_.fetch_add(1, std::memory_order_relaxed) < 10)
            log_->warn("[{}] Redis answered an error: {}", id_, sink.error_text);
        }
      }
    }
    count(blocked ? round_trips_blocked_ : round_trips_polled_);
    backoff_.succeeded();
    pool_.give_back(std::move(conn));
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
  int64_t spin_nanos_ = 0;
  std::vector<std::string> tag_on_failure_, tag_on_miss_;
  Cache cache_;
  lookup::Backoff backoff_;
  lookup::ConnectionPool<RedisConnection> pool_;
  std::atomic<uint64_t> errors_logged_{0};
  std::atomic<uint64_t>* cache_hits_ = nullptr;
  std::atomic<uint64_t>* cache_misses_ = nullptr;
  std::atomic<uint64_t>* round_trips_ = nullptr;
  std::atomic<uint64_t>* round_trips_polled_ = nullptr;
  std::atomic<uint64_t>* round_trips_blocked_ = nullptr;
  std::atomic<uint64_t>* errors_ = nullptr;
  std::atomic<uint64_t>* connects_ = nullptr;
};

const RegisterFilter registration{redis_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<RedisFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
