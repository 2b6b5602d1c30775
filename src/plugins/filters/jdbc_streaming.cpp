// The jdbc_streaming filter: runs a parameterized SQL statement against PostgreSQL for each
// event (through an LRU cache with expiry) and puts the rows, an array of hashes, in `target`.
// A database that is slow or down costs at most `statement_timeout` per lookup attempt: the
// event is tagged and goes on, and reconnects are paced by a backoff.
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "plugins/filters/lookup/backoff.h"
#include "plugins/filters/lookup/lru_cache.h"
#include "plugins/filters/lookup/params.h"
#include "plugins/filters/lookup/pg_client.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema jdbc_streaming_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "jdbc_streaming";
  schema.doc =
      "Enriches events with the rows of a SQL statement run against PostgreSQL (libpq; no JDBC driver), "
      "parameterized from event fields and cached. The rows (an array of hashes) go into `target`.";
  auto required = [](OptionSpec spec) {
    spec.required = true;
    return spec;
  };
  schema.options = lookup::postgres_connection_options();
  schema.options.insert(schema.options.end(), {
      option_spec("jdbc_validate_connection", OptionType::Boolean, cv_bool(false),
          "Accepted for compatibility; connections are always checked."),
      option_spec("jdbc_validation_timeout", OptionType::Number, cv_number(3600), "Accepted for compatibility; ignored."),
      option_spec("sequel_opts", OptionType::Hash, cv_hash(), "Accepted for compatibility; ignored (see statement_timeout)."),
      required(option_spec("statement", OptionType::String, std::nullopt,
          "The SQL statement; `:name` placeholders take their values from `parameters`.")),
      option_spec("parameters", OptionType::Hash, cv_hash(),
          "Placeholder name => event field (`[a][b]`), sprintf template (`%{x}`) or constant number."),
      required(option_spec("target", OptionType::String, std::nullopt, "The field that receives the rows.")),
      option_spec("default_hash", OptionType::Hash, cv_hash(),
          "Used as the only row when the statement returns none (or fails)."),
      option_spec("tag_on_failure", OptionType::Array, cv_array({"_jdbcstreamingfailure"}),
          "Tags added when the lookup fails (database down, timeout, SQL error)."),
      option_spec("tag_on_default_use", OptionType::Array, cv_array({"_jdbcstreamingdefaultsused"}),
          "Tags added when default_hash was used."),
      option_spec("use_cache", OptionType::Boolean, cv_bool(true), "Cache results by parameter values."),
      option_spec("cache_expiration", OptionType::Number, cv_number(5.0), "Seconds a cached result stays valid."),
      option_spec("cache_size", OptionType::Number, cv_number(500), "Maximum number of cached results."),
      option_spec("use_prepared_statements", OptionType::Boolean, cv_bool(false),
          "Run `statement` (with `?` placeholders) as a server-side prepared statement."),
      option_spec("prepared_statement_name", OptionType::String, cv_string(""),
          "Name of the prepared statement (generated when empty)."),
      option_spec("prepared_statement_bind_values", OptionType::Array, cv_array({}),
          "Values for the `?` placeholders, in order: field references, sprintf templates or constants."),
      option_spec("statement_timeout", OptionType::Number, cv_number(5.0),
          "sluice: seconds one lookup may take (client deadline and server statement_timeout)."),
      option_spec("connect_timeout", OptionType::Number, cv_number(5.0), "sluice: seconds to wait for a connection."),
  });
  return schema;
}

struct CachedRows {
  Value rows;  // Array of Objects
};

class JdbcStreamingFilter : public Filter {
 public:
  JdbcStreamingFilter(const Options& options, PluginContext& context)
      : id_(context.id),
        metrics_(context.metrics),
        log_(logging::get("filter.jdbc_streaming")),
        cache_(options.get_bool("use_cache") ? size_t(std::max<int64_t>(0, options.get_int("cache_size"))) : 0,
               int64_t(options.get_number("cache_expiration") * 1e9)) {
    settings_.connection_string = options.get_string("jdbc_connection_string");
    settings_.user = options.get_string("jdbc_user");
    settings_.password = options.get_string("jdbc_password");
    timeout_ms_ = int64_t(options.get_number("statement_timeout") * 1000);
    settings_.statement_timeout_ms = timeout_ms_;
    settings_.connect_timeout_ms = int64_t(options.get_number("connect_timeout") * 1000);
    try {
      std::vector<std::string> ignored;
      lookup::pg_connection_params(settings_, &ignored);
      for (auto& key : ignored) log_->warn("[{}] JDBC property `{}` has no libpq equivalent and is ignored", id_, key);
    } catch (const std::invalid_argument& e) {
      throw config::ConfigError(options.position("jdbc_connection_string"), std::string("jdbc_streaming: ") + e.what());
    }
    target_ = FieldRef::of(options.get_string("target"));
    tag_on_failure_ = options.get_string_array("tag_on_failure");
    tag_on_default_ = options.get_string_array("tag_on_default_use");
    for (auto& [key, value] : options.get_hash("default_hash")) default_row_[key] = lookup::config_to_value(value);

    const std::string statement = options.get_string("statement");
    prepared_ = options.get_bool("use_prepared_statements");
    try {
      if (prepared_) {
        size_t count = 0;
        sql_ = lookup::pg_question_to_positional(statement, count);
        const config::ConfigValue* binds = options.raw("prepared_statement_bind_values");
        if (binds && binds->kind == config::ConfigValue::Kind::Array)
          for (auto& item : binds->items) params_.emplace_back(item);
        if (params_.size() != count)
          throw config::ConfigError(options.position("prepared_statement_bind_values"),
              fmt::format("jdbc_streaming: the statement has {} `?` placeholders but {} bind values are given",
                          count, params_.size()));
        prepared_name_ = options.get_string("prepared_statement_name");
        if (prepared_name_.empty()) prepared_name_ = "sluice_" + id_;
      } else {
        std::vector<std::string> names;
        sql_ = lookup::pg_named_to_positional(statement, names);
        auto given = options.get_hash("parameters");
        for (const auto& name : names) {
          const config::ConfigValue* found = nullptr;
          for (auto& [key, value] : given)
            if (key == name) found = &value;
          if (!found)
            throw config::ConfigError(options.position("statement"),
                fmt::format("jdbc_streaming: the statement uses `:{}` but `parameters` has no `{}`", name, name));
          params_.emplace_back(*found);
        }
      }
    } catch (const std::invalid_argument& e) {
      throw config::ConfigError(options.position(prepared_ ? "prepared_statement_bind_values" : "parameters"),
                                std::string("jdbc_streaming: ") + e.what());
    }

    if (metrics_) {
      cache_hits_ = &metrics_->counter("cache_hits");
      cache_misses_ = &metrics_->counter("cache_misses");
      errors_ = &metrics_->counter("lookup_errors");
      reconnects_ = &metrics_->counter("connects");
    }
    // Connect once now: wrong credentials or an unknown database stop the pipeline here, with the
    // server's message; an unreachable server only delays the lookups (they fail, tagged, until it is back).
    try {
      auto conn = lookup::PgConnection::connect(settings_);
      count(reconnects_);
      pool_.give_back(std::move(conn));
    } catch (const lookup::PgError& e) {
      if (e.rejected_by_server())
        throw std::runtime_error(fmt::format("jdbc_streaming [{}]: the database refused the connection: {}", id_, e.what()));
      log_->warn("[{}] cannot reach the database yet ({}); lookups are tagged {} until it answers", id_, e.what(),
                 fmt::join(tag_on_failure_, ","));
      backoff_.failed();
    }
  }

  bool filter(Event& event, FilterContext&) override {
    thread_local std::vector<std::optional<std::string>> values;
    thread_local std::string key;
    values.resize(params_.size());
    key.clear();
    for (size_t i = 0; i < params_.size(); ++i) {
      std::string text;
      if (params_[i].render(event, text)) {
        key += text;
        values[i] = std::move(text);
      } else {
        key += "\x1eNULL";
        values[i].reset();
      }
      key += '\x1f';
    }
    const int64_t now = lookup::monotonic_nanos();
    CachedRows cached;
    bool ok = true;
    if (cache_.get(key, cached, now)) {
      count(cache_hits_);
    } else {
      count(cache_misses_);
      ok = run_query(values, cached);
      if (ok) cache_.put(key, cached, now);
    }
    if (!ok) {
      lookup::add_tags(event, tag_on_failure_);
      if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
      if (!default_row_.empty()) {
        set_default(event);
      }
      return false;
    }
    if (cached.rows.as_array().empty() && !default_row_.empty()) {
      set_default(event);
      return true;
    }
    event.put(target_) = cached.rows;
    return true;
  }

 private:
  void set_default(Event& event) {
    Array rows;
    rows.emplace_back(default_row_);
    event.put(target_) = Value(std::move(rows));
    lookup::add_tags(event, tag_on_default_);
  }

  bool run_query(const std::vector<std::optional<std::string>>& values, CachedRows& out) {
    if (!backoff_.ready()) return false;
    auto conn = pool_.take();
    try {
      if (!conn) {
        conn = lookup::PgConnection::connect(settings_);
        count(reconnects_);
        if (backoff_.consecutive_failures() > 0) log_->info("[{}] database connection is back", id_);
      }
      lookup::PgResult result = prepared_ ? conn->query_prepared(prepared_name_, sql_, values, timeout_ms_)
                                          : conn->query(sql_, values, timeout_ms_);
      Array rows;
      rows.reserve(result.rows.size());
      for (auto& row : result.rows) {
        Object o;
        for (size_t c = 0; c < result.columns.size(); ++c) o[result.columns[c]] = std::move(row[c]);
        rows.emplace_back(std::move(o));
      }
      out.rows = Value(std::move(rows));
      backoff_.succeeded();
      pool_.give_back(std::move(conn));
      return true;
    } catch (const lookup::PgError& e) {
      count(errors_);
      if (e.connection_lost()) {
        const int64_t delay = backoff_.failed();
        if (backoff_.consecutive_failures() <= 1 || delay >= 10000)
          log_->warn("[{}] lookup failed: {}; retrying the database in {} ms", id_, e.what(), delay);
      } else {
        // SQL errors can come with every event (a bad parameter): the first ones, then 1 in 1000.
        const uint64_t n = sql_errors_.fetch_add(1, std::memory_order_relaxed);
        if (n < 10 || n % 1000 == 0) log_->warn("[{}] lookup failed ({} so far): {}", id_, n + 1, e.what());
        pool_.give_back(std::move(conn));
      }
      return false;
    }
  }

  static void count(std::atomic<uint64_t>* counter) {
    if (counter) counter->fetch_add(1, std::memory_order_relaxed);
  }

  std::string id_;
  PluginMetrics* metrics_;
  std::shared_ptr<spdlog::logger> log_;
  lookup::PgSettings settings_;
  int64_t timeout_ms_ = 5000;
  std::string sql_;
  bool prepared_ = false;
  std::string prepared_name_;
  std::vector<lookup::ParamSource> params_;
  FieldRef target_;
  Object default_row_;
  std::vector<std::string> tag_on_failure_, tag_on_default_;
  lookup::LruCache<CachedRows> cache_;
  lookup::Backoff backoff_;
  lookup::ConnectionPool<lookup::PgConnection> pool_;
  std::atomic<uint64_t> sql_errors_{0};
  std::atomic<uint64_t>* cache_hits_ = nullptr;
  std::atomic<uint64_t>* cache_misses_ = nullptr;
  std::atomic<uint64_t>* errors_ = nullptr;
  std::atomic<uint64_t>* reconnects_ = nullptr;
};

const RegisterFilter registration{jdbc_streaming_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<JdbcStreamingFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
