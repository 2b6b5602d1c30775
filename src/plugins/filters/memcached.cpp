// The memcached filter (Logstash's shape): `get` copies memcached values into event fields,
// `set` stores event fields into memcached. sluice speaks memcached's text protocol itself
// (instead of libmemcached) so that a whole batch goes to each server as one write and one
// read (sets, then one multi-key `get`), with a hard deadline per round trip and the same
// backoff/reconnect behaviour as the other lookup filters.
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
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

PluginSchema memcached_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "memcached";
  schema.doc =
      "Reads event fields from memcached (`get`) and writes event fields to it (`set`). Keys are sprintf "
      "templates; one batch is one round trip per server.";
  schema.options = {
      option_spec("hosts", OptionType::Array, cv_array({"127.0.0.1"}),
          "memcached servers, `host` or `host:port` (port 11211 by default); keys are spread by hash."),
      option_spec("namespace", OptionType::String, std::nullopt, "Prefix of every key (`namespace:key`)."),
      option_spec("get", OptionType::Hash, cv_hash(), "memcached key (sprintf template) => event field to fill."),
      option_spec("set", OptionType::Hash, cv_hash(), "event field => memcached key (sprintf template) to store it under."),
      option_spec("ttl", OptionType::Number, cv_number(0), "Seconds a `set` value lives (0 = no expiry)."),
      option_spec("timeout", OptionType::Number, cv_number(1.0), "sluice: seconds to wait for a server per round trip."),
      option_spec("tag_on_failure", OptionType::String, cv_string("_memcached_failure"),
          "Tag added when a server cannot be reached or refuses an operation."),
  };
  return schema;
}

int64_t deadline_left_ms(int64_t deadline) {
  return std::max<int64_t>(0, (deadline - lookup::monotonic_nanos()) / 1000000);
}

// One TCP connection speaking the text protocol, with deadlines on every wait.
class MemcachedConnection {
 public:
  ~MemcachedConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Throws std::runtime_error.
  static std::unique_ptr<MemcachedConnection> open(const std::string& host, const std::string& port, int64_t deadline) {
    addrinfo hints{}, *found = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0)
      throw std::runtime_error(std::string("cannot resolve ") + host + ": " + gai_strerror(rc));
    std::string last = "no address";
    for (addrinfo* a = found; a; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
        last = std::strerror(errno);
        ::close(fd);
        continue;
      }
      pollfd pfd{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof err;
      if (::poll(&pfd, 1, int(deadline_left_ms(deadline))) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
          err != 0) {
        last = err ? std::strerror(err) : "connect timed out";
        ::close(fd);
        continue;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      freeaddrinfo(found);
      auto conn = std::unique_ptr<MemcachedConnection>(new MemcachedConnection());
      conn->fd_ = fd;
      return conn;
    }
    freeaddrinfo(found);
    throw std::runtime_error(last);
  }

  void send_all(const std::string& data, int64_t deadline) {
    size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += size_t(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        wait(POLLOUT, deadline);
      } else {
        throw std::runtime_error(std::string("send failed: ") + std::strerror(errno));
      }
    }
  }

  // The next line without its CRLF.
  std::string_view read_line(int64_t deadline) {
    for (;;) {
      if (auto eol = in_.find("\r\n", pos_); eol != std::string::npos) {
        std::string_view line(in_.data() + pos_, eol - pos_);
        pos_ = eol + 2;
        return line;
      }
      fill(deadline);
    }
  }
  // Exactly n bytes followed by CRLF.
  std::string_view read_block(size_t n, int64_t deadline) {
    while (in_.size() - pos_ < n + 2) fill(deadline);
    std::string_view block(in_.data() + pos_, n);
    pos_ += n + 2;
    return block;
  }
  void start_reply() {  // forget what the previous round trip consumed
    in_.erase(0, pos_);
    pos_ = 0;
  }

 private:
  MemcachedConnection() = default;
  void wait(short events, int64_t deadline) {
    pollfd pfd{fd_, events, 0};
    const int64_t left = deadline_left_ms(deadline);
    if (left <= 0) throw std::runtime_error("timed out");
    int rc = ::poll(&pfd, 1, int(left));
    if (rc == 0) throw std::runtime_error("timed out");
    if (rc < 0 && errno != EINTR) throw std::runtime_error(std::string("poll failed: ") + std::strerror(errno));
  }
  void fill(int64_t deadline) {
    char buffer[16384];
    for (;;) {
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) {
        in_.append(buffer, size_t(n));
        return;
      }
      if (n == 0) throw std::runtime_error("connection closed by the server");
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        throw std::runtime_error(std::string("recv failed: ") + std::strerror(errno));
      wait(POLLIN, deadline);
    }
  }

  int fd_ = -1;
  std::string in_;
  size_t pos_ = 0;
};

struct Server {
  std::string host, port, label;
  lookup::Backoff backoff{100, 10000};
  lookup::ConnectionPool<MemcachedConnection> pool;
};

bool valid_key(std::string_view key) {
  if (key.empty() || key.size() > 250) return false;
  for (unsigned char c : key)
    if (c <= 32 || c == 127) return false;
  return true;
}

class MemcachedFilter : public lookup::BatchFilter {
 public:
  MemcachedFilter(const Options& options, PluginContext& context)
      : id_(context.id), metrics_(context.metrics), log_(logging::get("filter.memcached")) {
    for (const std::string& entry : options.get_string_array("hosts")) {
      auto server = std::make_unique<Server>();
      const auto colon = entry.rfind(':');
      if (colon != std::string::npos && entry.find(']') == std::string::npos && entry.find(':') == colon) {
        server->host = entry.substr(0, colon);
        server->port = entry.substr(colon + 1);
      } else {
        server->host = entry;
        server->port = "11211";
      }
      if (server->host.size() > 2 && server->host.front() == '[') server->host = server->host.substr(1, server->host.size() - 2);
      server->label = entry;
      servers_.push_back(std::move(server));
    }
    if (servers_.empty()) throw config::ConfigError(options.position("hosts"), "memcached: `hosts` is empty");
    if (options.has("namespace")) namespace_ = options.get_string("namespace") + ":";
    for (auto& [key, field] : options.get_string_hash("get")) gets_.push_back({Template(key), parse_field(options, "get", field)});
    for (auto& [field, key] : options.get_string_hash("set")) sets_.push_back({Template(key), parse_field(options, "set", field)});
    if (gets_.empty() && sets_.empty())
      throw config::ConfigError(options.block_position(), "memcached: set at least one of `get` and `set`");
    ttl_ = options.get_int("ttl");
    timeout_ms_ = int64_t(options.get_number("timeout") * 1000);
    tag_on_failure_ = options.get_string("tag_on_failure");
    if (metrics_) {
      round_trips_ = &metrics_->counter("round_trips");
      hits_ = &metrics_->counter("get_hits");
      misses_ = &metrics_->counter("get_misses");
      errors_ = &metrics_->counter("lookup_errors");
      connects_ = &metrics_->counter("connects");
    }
  }

  void filter_batch(std::span<Event* const> events, std::vector<char>& matched, FilterContext&) override {
    matched.assign(events.size(), 0);
    thread_local std::vector<Batch> batches;
    thread_local std::vector<char> failed;
    batches.resize(servers_.size());
    for (auto& b : batches) b.clear();
    failed.assign(events.size(), 0);
    std::string key, value;
    for (size_t i = 0; i < events.size(); ++i) {
      Event& event = *events[i];
      if (event.cancelled()) continue;
      for (const Op& op : sets_) {
        const Value* v = event.get(op.field);
        if (!v) continue;
        if (!render_key(event, op, key)) {
          failed[i] = 1;
          continue;
        }
        value.clear();
        v->append_text(value);
        Batch& b = batches[pick(key)];
        fmt::format_to(std::back_inserter(b.out), "set {} 0 {} {}\r\n", key, ttl_, value.size());
        b.out += value;
        b.out += "\r\n";
        b.sets.push_back(i);
      }
      for (size_t g = 0; g < gets_.size(); ++g) {
        if (!render_key(event, gets_[g], key)) {
          failed[i] = 1;
          continue;
        }
        Batch& b = batches[pick(key)];
        auto [it, inserted] = b.get_index.try_emplace(key, b.get_keys.size());
        if (inserted) b.get_keys.push_back(key);
        b.waiting.push_back({i, g, it->second});
      }
    }
    for (size_t s = 0; s < servers_.size(); ++s) {
      Batch& b = batches[s];
      if (b.sets.empty() && b.get_keys.empty()) continue;
      if (!round_trip(*servers_[s], b)) {
        for (size_t i : b.sets) failed[i] = 1;
        for (auto& w : b.waiting) failed[w.event] = 1;
        continue;
      }
      for (size_t k = 0; k < b.set_ok.size(); ++k)
        if (b.set_ok[k]) matched[b.sets[k]] = 1;
        else failed[b.sets[k]] = 1;
      for (auto& w : b.waiting) {
        const auto& found = b.values[w.key];
        if (!found) continue;
        events[w.event]->put(gets_[w.op].field).set_string(*found);
        matched[w.event] = 1;
      }
    }
    for (size_t i = 0; i < events.size(); ++i) {
      if (!failed[i]) continue;
      events[i]->add_tag(tag_on_failure_);
      matched[i] = 0;
      if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
    }
  }

 private:
  struct Op {
    Template key;
    FieldRef field;
  };
  struct Waiting {
    size_t event, op, key;
  };
  struct Batch {
    std::string out;
    std::vector<size_t> sets;  // event index per `set` sent
    std::vector<char> set_ok;
    std::vector<std::string> get_keys;
    std::unordered_map<std::string, size_t, lookup::StringHash, std::equal_to<>> get_index;
    std::vector<Waiting> waiting;
    std::vector<std::optional<std::string>> values;  // per get key
    void clear() {
      out.clear();
      sets.clear();
      set_ok.clear();
      get_keys.clear();
      get_index.clear();
      waiting.clear();
      values.clear();
    }
  };

  static FieldRef parse_field(const Options& options, const char* option, const std::string& text) {
    std::string error;
    auto ref = FieldRef::parse(text, &error);
    if (!ref) throw config::ConfigError(options.position(option), "memcached: bad field reference `" + text + "`: " + error);
    return *ref;
  }

  bool render_key(const Event& event, const Op& op, std::string& key) const {
    key = namespace_;
    op.key.render(event, key);
    return valid_key(key);
  }

  size_t pick(std::string_view key) const {
    if (servers_.size() == 1) return 0;
    uint64_t h = 1469598103934665603ULL;
    for (char c : key) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    return size_t(h % servers_.size());
  }

  bool round_trip(Server& server, Batch& b) {
    if (!server.backoff.ready()) return false;
    const int64_t deadline = lookup::monotonic_nanos() + timeout_ms_ * 1000000;
    for (size_t start = 0; start < b.get_keys.size(); start += 100) {  // keep request lines short
      b.out += "get";
      for (size_t k = start; k < std::min(b.get_keys.size(), start + 100); ++k) b.out += ' ', b.out += b.get_keys[k];
      b.out += "\r\n";
    }
    auto conn = server.pool.take();
    try {
      if (!conn) {
        conn = MemcachedConnection::open(server.host, server.port, deadline);
        count(connects_);
        if (server.backoff.consecutive_failures() > 0) log_->info("[{}] memcached {} is back", id_, server.label);
      }
      conn->start_reply();
      conn->send_all(b.out, deadline);
      count(round_trips_);
      for (size_t k = 0; k < b.sets.size(); ++k) {
        std::string_view line = conn->read_line(deadline);
        b.set_ok.push_back(line == "STORED");
        if (line != "STORED") note_error(server, line);
      }
      b.values.assign(b.get_keys.size(), std::nullopt);
      for (size_t start = 0; start < b.get_keys.size(); start += 100) {
        for (;;) {
          std::string_view line = conn->read_line(deadline);
          if (line == "END") break;
          // VALUE <key> <flags> <bytes>
          if (line.rfind("VALUE ", 0) != 0) throw std::runtime_error("unexpected reply: " + std::string(line.substr(0, 80)));
          std::string_view rest = line.substr(6);
          const size_t sp1 = rest.find(' ');
          const size_t sp2 = rest.find(' ', sp1 + 1);
          if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) throw std::runtime_error("malformed VALUE line");
          const std::string key(rest.substr(0, sp1));
          const size_t bytes = std::strtoull(std::string(rest.substr(sp2 + 1)).c_str(), nullptr, 10);
          std::string_view data = conn->read_block(bytes, deadline);
          if (auto it = b.get_index.find(key); it != b.get_index.end()) b.values[it->second] = std::string(data);
        }
      }
      for (auto& v : b.values) count(v ? hits_ : misses_);
      server.backoff.succeeded();
      server.pool.give_back(std::move(conn));
      return true;
    } catch (const std::exception& e) {
      count(errors_);
      const int64_t delay = server.backoff.failed();
      if (server.backoff.consecutive_failures() <= 1 || delay >= 10000)
        log_->warn("[{}] memcached {} failed: {}; retrying in {} ms", id_, server.label, e.what(), delay);
      return false;
    }
  }

  void note_error(Server& server, std::string_view line) {
    count(errors_);
    if (logged_.fetch_add(1, std::memory_order_relaxed) < 10)
      log_->warn("[{}] memcached {} refused a set: {}", id_, server.label, line);
  }

  static void count(std::atomic<uint64_t>* counter) {
    if (counter) counter->fetch_add(1, std::memory_order_relaxed);
  }

  std::string id_;
  PluginMetrics* metrics_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<std::unique_ptr<Server>> servers_;
  std::string namespace_;
  std::vector<Op> gets_, sets_;
  int64_t ttl_ = 0;
  int64_t timeout_ms_ = 1000;
  std::string tag_on_failure_;
  std::atomic<uint64_t> logged_{0};
  std::atomic<uint64_t>* round_trips_ = nullptr;
  std::atomic<uint64_t>* hits_ = nullptr;
  std::atomic<uint64_t>* misses_ = nullptr;
  std::atomic<uint64_t>* errors_ = nullptr;
  std::atomic<uint64_t>* connects_ = nullptr;
};

const RegisterFilter registration{memcached_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<MemcachedFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
