// The dns filter: Logstash's `dns` (resolve names to addresses, reverse addresses to names, in
// place: append or replace), with its hit and failure caches. Unlike Logstash, the lookups of a
// whole batch that miss the caches run concurrently (c-ares), within one bound per batch of
// `timeout x (max_retries + 1)`: a dead name server delays a batch by that much, never more.
#include <fmt/format.h>

#include <cctype>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "plugins/filters/dns/resolver.h"
#include "plugins/filters/lookup/batch_filter.h"
#include "plugins/filters/lookup/lru_cache.h"
#include "plugins/filters/lookup/params.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema dns_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "dns";
  schema.doc =
      "Resolves names to addresses (`resolve`, A then AAAA) and addresses to names (`reverse`, PTR) in "
      "place. Hosts files are answered first, then DNS (c-ares). The lookups of a batch run concurrently, "
      "bounded by `timeout` x (`max_retries` + 1); a lookup that times out tags the event with "
      "`tag_on_timeout` and the event goes on.";
  schema.options = {
      option_spec("resolve", OptionType::Array, std::nullopt, "Fields holding a name to resolve to an address."),
      option_spec("reverse", OptionType::Array, std::nullopt, "Fields holding an address to resolve to a name."),
      option_spec("action", OptionType::String, cv_string("append"),
                  "Append the answer to the field (making it an array) or replace the field's value.",
                  {"append", "replace"}),
      option_spec("nameserver", OptionType::Any, std::nullopt,
                  "Name servers: an address, an array of them, or a hash with `address` (string or array), "
                  "`search` (up to 6 domains) and `ndots`; an address may carry a port (`127.0.0.1:5353`, "
                  "`[::1]:5353`). Default: /etc/resolv.conf."),
      option_spec("timeout", OptionType::Number, cv_number(0.5), "Seconds to wait for an answer, per try."),
      option_spec("max_retries", OptionType::Number, cv_number(2), "Tries after a timed-out one."),
      option_spec("hit_cache_size", OptionType::Number, cv_number(0), "Answers cached (0 = no cache)."),
      option_spec("hit_cache_ttl", OptionType::Number, cv_number(60), "Seconds an answer stays cached."),
      option_spec("failed_cache_size", OptionType::Number, cv_number(0),
                  "Failed lookups (not found, timed out) cached (0 = no cache)."),
      option_spec("failed_cache_ttl", OptionType::Number, cv_number(5), "Seconds a failed lookup stays cached."),
      option_spec("hostsfile", OptionType::Array, std::nullopt,
                  "Hosts files read before /etc/hosts. Without `nameserver`, only the hosts files are used."),
      option_spec("tag_on_timeout", OptionType::Array, cv_array({"_dnstimeout"}), "Tags added when a lookup times out."),
      option_spec("warn_on_timeout", OptionType::Boolean, cv_bool(false),
                  "Log timeouts at warn level (default: info)."),
  };
  return schema;
}

enum class FieldAction : uint8_t { Resolve, Reverse };

// What the filter knows about one (event, field) before applying answers.
struct Slot {
  bool wanted = false;      // the field held a value to look up
  std::string key;          // the value looked up
  dns::Status status = dns::Status::Error;
  bool failed_cache_hit = false;
  std::string answer;
  size_t query = SIZE_MAX;  // index into the batch's distinct queries
};

class DnsFilter : public lookup::BatchFilter {
 public:
  DnsFilter(const Options& options, PluginContext& context)
      : id_(context.id),
        metrics_(context.metrics),
        log_(logging::get("filter.dns")),
        hit_cache_(size_t(std::max<int64_t>(0, options.get_int("hit_cache_size"))),
                   int64_t(options.get_number("hit_cache_ttl") * 1e9)),
        failed_cache_(size_t(std::max<int64_t>(0, options.get_int("failed_cache_size"))),
                      int64_t(options.get_number("failed_cache_ttl") * 1e9)) {
    auto refs = [&](const char* option, FieldAction action) {
      for (const auto& text : options.get_string_array(option)) {
        std::string message;
        auto ref = FieldRef::parse(text, &message);
        if (!ref || ref->empty())
          throw config::ConfigError(options.position(option), fmt::format("dns: invalid field reference `{}`: {}", text, message));
        fields_.push_back({action, *ref});
      }
    };
    refs("resolve", FieldAction::Resolve);
    refs("reverse", FieldAction::Reverse);
    replace_ = options.get_string("action") == "replace";
    tag_on_timeout_ = options.get_string_array("tag_on_timeout");
    warn_on_timeout_ = options.get_bool("warn_on_timeout");

    dns::ResolverSettings settings;
    settings.timeout_seconds = options.get_number("timeout");
    settings.max_retries = int(options.get_int("max_retries"));
    settings.hostsfiles = options.get_string_array("hostsfile");
    const bool has_nameserver = options.has("nameserver");
    if (has_nameserver) read_nameserver(options, settings);
    // As in Logstash: with custom hosts files and no name server, only hosts files answer.
    settings.use_dns = has_nameserver || settings.hostsfiles.empty();
    if (settings.timeout_seconds <= 0)
      throw config::ConfigError(options.position("timeout"), "dns: `timeout` must be positive");
    if (settings.max_retries < 0)
      throw config::ConfigError(options.position("max_retries"), "dns: `max_retries` must not be negative");
    try {
      resolver_ = std::make_unique<dns::Resolver>(std::move(settings));
    } catch (const dns::DnsConfigError& e) {
      const char* option = has_nameserver ? "nameserver" : options.has("hostsfile") ? "hostsfile" : "timeout";
      throw config::ConfigError(options.has(option) ? options.position(option) : options.block_position(),
                                std::string("dns: ") + e.what());
    }
    if (metrics_) {
      cache_hits_ = &metrics_->counter("cache_hits");
      cache_misses_ = &metrics_->counter("cache_misses");
      failed_cache_hits_ = &metrics_->counter("failed_cache_hits");
      lookups_ = &metrics_->counter("lookups");
      timeouts_ = &metrics_->counter("timeouts");
      not_found_ = &metrics_->counter("not_found");
    }
  }

  void filter_batch(std::span<Event* const> events, std::vector<char>& matched, FilterContext&) override {
    matched.assign(events.size(), 0);
    Scratch& s = scratch();
    const size_t per_event = fields_.size();
    s.reset(events.size() * per_event);
    const int64_t now = lookup::monotonic_nanos();
    uint64_t hits = 0, misses = 0, failed_hits = 0;
    // 1. What each event asks; the caches answer what they can; the rest becomes distinct queries.
    for (size_t i = 0; i < events.size(); ++i) {
      if (events[i]->cancelled()) continue;
      for (size_t f = 0; f < per_event; ++f) {
        Slot& slot = s.slots[i * per_event + f];
        if (!lookup_key(*events[i], fields_[f], slot.key)) continue;
        if (fields_[f].action == FieldAction::Reverse && !dns::canonical_address(slot.key, s.text)) continue;
        slot.wanted = true;
        const char kind = fields_[f].action == FieldAction::Resolve ? 'n' : 'a';
        cache_key(s.cache_key, kind, slot.key);
        if (failed_cache_.enabled() && failed_cache_.visit(s.cache_key, now, [](char) {})) {
          slot.failed_cache_hit = true;
          ++failed_hits;
          continue;
        }
        if (hit_cache_.visit(s.cache_key, now, [&](const std::string& answer) { slot.answer = answer; })) {
          slot.status = dns::Status::Found;
          ++hits;
          continue;
        }
        ++misses;
        auto [it, inserted] = s.query_of.try_emplace(s.cache_key, s.queries.size());
        if (inserted) {
          s.queries.emplace_back();
          s.queries.back().reverse = kind == 'a';
          s.queries.back().key = slot.key;
        }
        slot.query = it->second;
      }
    }
    add(cache_hits_, hits), add(cache_misses_, misses), add(failed_cache_hits_, failed_hits);
    // 2. All queries at once, within the bound.
    if (!s.queries.empty()) {
      s.query_pointers.clear();
      for (auto& q : s.queries) s.query_pointers.push_back(&q);
      resolver_->run(s.query_pointers);
      add(lookups_, s.queries.size());
      const dns::Query* timed_out = nullptr;
      size_t timeouts = 0;
      for (auto& q : s.queries) {
        remember(q, now);
        if (q.status == dns::Status::Timeout) timed_out = &q, ++timeouts;
      }
      if (timed_out) note_timeouts(*timed_out, timeouts);
    }
    // 3. Answers go into the events, field by field in order, as Logstash applies them.
    for (size_t i = 0; i < events.size(); ++i) {
      if (events[i]->cancelled()) continue;
      matched[i] = apply(*events[i], &s.slots[i * per_event], s) ? 1 : 0;
    }
  }

 private:
  struct FieldSpec {
    FieldAction action;
    FieldRef ref;
  };

  struct Scratch {
    std::vector<Slot> slots;
    std::vector<dns::Query> queries;
    std::vector<dns::Query*> query_pointers;
    std::unordered_map<std::string, size_t, lookup::StringHash, std::equal_to<>> query_of;
    std::string cache_key, text;
    void reset(size_t n) {
      if (slots.size() < n) slots.resize(n);
      for (size_t i = 0; i < n; ++i) {
        Slot& slot = slots[i];
        slot.wanted = false;
        slot.failed_cache_hit = false;
        slot.status = dns::Status::Error;
        slot.query = SIZE_MAX;
        slot.answer.clear();
      }
      queries.clear();
      query_of.clear();
    }
  };
  static Scratch& scratch() {
    thread_local Scratch s;
    return s;
  }

  static void cache_key(std::string& out, char kind, const std::string& key) {
    out.clear();
    out += kind;
    out += ':';
    out += key;
  }

  // The value a field asks to look up: a string, or the only string of a one-item array.
  // False when there is nothing to look up (missing field, several values, not a string).
  static bool lookup_key(const Event& event, const FieldSpec& spec, std::string& out) {
    const Value* raw = event.get(spec.ref);
    if (!raw) return false;
    if (raw->is_array()) {
      if (raw->as_array().size() != 1) return false;
      raw = &raw->as_array().front();
    }
    if (!raw->is_string()) return false;
    out = raw->as_string();
    return true;
  }

  void remember(const dns::Query& q, int64_t now) {
    std::string key;
    cache_key(key, q.reverse ? 'a' : 'n', q.key);
    switch (q.status) {
      case dns::Status::Found: hit_cache_.put(key, q.answer, now); break;
      case dns::Status::NotFound:
        count(not_found_);
        failed_cache_.put(key, 1, now);
        break;
      case dns::Status::Timeout:
        count(timeouts_);
        failed_cache_.put(key, 1, now);
        break;
      case dns::Status::Error: break;
    }
  }

  // One line per batch, rate-limited: a dead server times out every lookup.
  void note_timeouts(const dns::Query& example, size_t count_in_batch) {
    const uint64_t n = timeouts_logged_.fetch_add(1, std::memory_order_relaxed);
    if (n >= 10 && n % 1000 != 0) return;
    const auto level = warn_on_timeout_ ? spdlog::level::warn : spdlog::level::info;
    log_->log(level, "[{}] DNS: {} lookup(s) of a batch timed out (e.g. {} `{}`); events tagged {}", id_,
              count_in_batch, example.reverse ? "reversing" : "resolving", example.key,
              fmt::join(tag_on_timeout_, ","));
  }

  // Logstash's order: resolve fields, then reverse fields; a field missing is skipped, any other
  // failure stops the filter for this event (no later field, not "matched").
  bool apply(Event& event, Slot* slots, Scratch& s) {
    for (size_t f = 0; f < fields_.size(); ++f) {
      const FieldSpec& spec = fields_[f];
      Slot& slot = slots[f];
      Value* raw = event.get(spec.ref);
      if (!raw) continue;
      // An earlier field of this filter may have changed this one (the same field twice).
      if (!lookup_key(event, spec, s.text)) return false;
      if (spec.action == FieldAction::Reverse) {
        std::string canonical;
        if (!dns::canonical_address(s.text, canonical)) return false;  // not an address
      }
      if (!slot.wanted || s.text != slot.key) {
        slot.key = s.text;
        resolve_now(spec.action, slot, s);
        raw = event.get(spec.ref);
      }
      if (slot.failed_cache_hit) return false;
      dns::Status status = slot.status;
      const std::string* answer = &slot.answer;
      if (slot.query != SIZE_MAX) {
        status = s.queries[slot.query].status;
        answer = &s.queries[slot.query].answer;
      }
      switch (status) {
        case dns::Status::Found: break;
        case dns::Status::Timeout:
          lookup::add_tags(event, tag_on_timeout_);
          if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
          return false;
        default: return false;
      }
      const bool was_array = raw->is_array();
      if (replace_) {
        if (was_array) {
          Array& items = raw->make_array();
          items.emplace_back(std::string_view(*answer));
        } else {
          raw->set_string(*answer);
        }
      } else if (was_array) {
        raw->as_array().emplace_back(std::string_view(*answer));
      } else {
        Value original = std::move(*raw);
        Array& items = raw->make_array();
        items.push_back(std::move(original));
        items.emplace_back(std::string_view(*answer));
      }
    }
    return true;
  }

  // One lookup outside the batch's plan (a field changed by an earlier one).
  void resolve_now(FieldAction action, Slot& slot, Scratch& s) {
    const int64_t now = lookup::monotonic_nanos();
    slot.failed_cache_hit = false;
    slot.query = SIZE_MAX;
    std::string key;
    cache_key(key, action == FieldAction::Resolve ? 'n' : 'a', slot.key);
    if (failed_cache_.visit(key, now, [](char) {})) {
      slot.failed_cache_hit = true;
      return;
    }
    if (hit_cache_.visit(key, now, [&](const std::string& answer) { slot.answer = answer; })) {
      slot.status = dns::Status::Found;
      return;
    }
    dns::Query q;
    q.reverse = action == FieldAction::Reverse;
    q.key = slot.key;
    std::vector<dns::Query*> one{&q};
    resolver_->run(one);
    count(lookups_);
    remember(q, now);
    if (q.status == dns::Status::Timeout) note_timeouts(q, 1);
    slot.status = q.status;
    slot.answer = q.answer;
    (void)s;
  }

  void read_nameserver(const Options& options, dns::ResolverSettings& settings) {
    const config::ConfigValue* value = options.raw("nameserver");
    const config::Position pos = options.position("nameserver");
    using K = config::ConfigValue::Kind;
    auto strings = [&](const config::ConfigValue& v, const char* what) {
      std::vector<std::string> out;
      if (v.kind == K::Array) {
        for (const auto& item : v.items) {
          if (item.kind == K::Array || item.kind == K::Hash || item.kind == K::Plugin)
            throw config::ConfigError(item.pos, fmt::format("dns: `nameserver` {} must be strings", what));
          out.push_back(item.text);
        }
      } else if (v.kind == K::Hash || v.kind == K::Plugin) {
        throw config::ConfigError(v.pos, fmt::format("dns: `nameserver` {} must be a string or an array", what));
      } else {
        out.push_back(v.text);
      }
      return out;
    };
    if (value->kind != K::Hash) {
      settings.nameservers = strings(*value, "addresses");
    } else {
      bool has_address = false;
      for (const auto& [key, v] : value->entries) {
        if (key.text == "address") {
          settings.nameservers = strings(v, "addresses");
          has_address = true;
        } else if (key.text == "search") {
          settings.search = strings(v, "search domains");
        } else if (key.text == "ndots") {
          if (v.kind != K::Number && !(v.kind == K::String && !v.text.empty() && std::isdigit(static_cast<unsigned char>(v.text[0]))))
            throw config::ConfigError(v.pos, "dns: `ndots` must be a number");
          settings.ndots = std::atoi(v.text.c_str());
          if (v.kind == K::Number) settings.ndots = int(v.number);
          if (settings.ndots <= 0) throw config::ConfigError(v.pos, "dns: `ndots` must be positive");
        } else {
          throw config::ConfigError(key.pos, fmt::format("dns: unknown `nameserver` key `{}` (expected address, search, ndots)", key.text));
        }
      }
      if (!has_address) throw config::ConfigError(pos, "dns: the `nameserver` hash must include `address`");
    }
    if (settings.nameservers.empty()) throw config::ConfigError(pos, "dns: `nameserver` addresses cannot be empty");
  }

  static void count(std::atomic<uint64_t>* counter) {
    if (counter) counter->fetch_add(1, std::memory_order_relaxed);
  }
  static void add(std::atomic<uint64_t>* counter, uint64_t n) {
    if (counter && n) counter->fetch_add(n, std::memory_order_relaxed);
  }

  std::string id_;
  PluginMetrics* metrics_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<FieldSpec> fields_;
  bool replace_ = false;
  bool warn_on_timeout_ = false;
  std::vector<std::string> tag_on_timeout_;
  std::unique_ptr<dns::Resolver> resolver_;
  lookup::LruCache<std::string> hit_cache_;
  lookup::LruCache<char> failed_cache_;
  std::atomic<uint64_t> timeouts_logged_{0};
  std::atomic<uint64_t>* cache_hits_ = nullptr;
  std::atomic<uint64_t>* cache_misses_ = nullptr;
  std::atomic<uint64_t>* failed_cache_hits_ = nullptr;
  std::atomic<uint64_t>* lookups_ = nullptr;
  std::atomic<uint64_t>* timeouts_ = nullptr;
  std::atomic<uint64_t>* not_found_ = nullptr;
};

const RegisterFilter registration{dns_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<DnsFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
