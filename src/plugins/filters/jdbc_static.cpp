// The jdbc_static filter: loaders copy reference tables from PostgreSQL into memory (at start
// and then on `loader_schedule`), and local_lookups answer from those tables per event without
// touching the network. Logstash keeps the copy in an embedded Derby database and runs the
// lookups as SQL; sluice parses the lookup queries (the subset in lookup/local_db.h) once and
// answers them from hash and range indexes. A failed reload keeps the previous data.
#include <fmt/format.h>

#include <cctype>
#include <condition_variable>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "plugins/filters/lookup/cron.h"
#include "plugins/filters/lookup/local_db.h"
#include "plugins/filters/lookup/params.h"
#include "plugins/filters/lookup/pg_client.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

using config::ConfigError;
using config::ConfigValue;

PluginSchema jdbc_static_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "jdbc_static";
  schema.doc =
      "Enriches events from reference data loaded from PostgreSQL into memory (at start and on "
      "`loader_schedule`). local_lookups are a subset of SQL answered from indexes: `SELECT cols FROM table "
      "WHERE col = :param [AND ...]`, `:ip BETWEEN lo AND hi`, `cidr_col >>= :ip`.";
  schema.options = lookup::postgres_connection_options();
  schema.options.insert(schema.options.end(), {
      option_spec("loaders", OptionType::Array, cv_array({}),
          "Hashes {id, query, local_table, max_rows}: remote queries whose rows fill a local table."),
      option_spec("local_db_objects", OptionType::Array, cv_array({}),
          "Hashes {name, columns => [[name, type], ...], index_columns, preserve_existing}: the local tables."),
      option_spec("local_lookups", OptionType::Array, cv_array({}),
          "Hashes {id, query, parameters | prepared_parameters, target, default_hash, tag_on_default_use}."),
      option_spec("loader_schedule", OptionType::String, std::nullopt,
          "Cron schedule of reloads (`*/30 * * * *`; a 6th leading field gives seconds). Unset: load once."),
      option_spec("staging_directory", OptionType::String, std::nullopt, "Accepted for compatibility; ignored."),
      option_spec("tag_on_failure", OptionType::Array, cv_array({"_jdbcstaticfailure"}),
          "Tags added when a lookup cannot run (a parameter field is missing)."),
      option_spec("tag_on_default_use", OptionType::Array, cv_array({"_jdbcstaticdefaultsused"}),
          "Tags added when a lookup found nothing and default_hash was used."),
      option_spec("statement_timeout", OptionType::Number, cv_number(60),
          "sluice: seconds a loader query may take."),
      option_spec("connect_timeout", OptionType::Number, cv_number(5.0), "sluice: seconds to wait for a connection."),
  });
  return schema;
}

const ConfigValue* hash_entry(const ConfigValue& hash, const char* key) {
  for (const auto& [k, v] : hash.entries)
    if (k.text == key) return &v;
  return nullptr;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct Loader {
  std::string id, query, table;
  size_t max_rows = 1000000;
};

struct Lookup {
  std::string id;
  lookup::LocalQuery query;
  std::vector<lookup::ParamSource> params;  // per query.params
  FieldRef target;
  Object default_row;
  bool use_default = false;
  std::vector<std::string> tag_on_default, tag_on_failure;
};

class JdbcStaticFilter : public Filter {
 public:
  JdbcStaticFilter(const Options& options, PluginContext& context)
      : id_(context.id), metrics_(context.metrics), log_(logging::get("filter.jdbc_static")) {
    settings_.connection_string = options.get_string("jdbc_connection_string");
    settings_.user = options.get_string("jdbc_user");
    settings_.password = options.get_string("jdbc_password");
    settings_.connect_timeout_ms = int64_t(options.get_number("connect_timeout") * 1000);
    settings_.statement_timeout_ms = int64_t(options.get_number("statement_timeout") * 1000);
    try {
      lookup::pg_connection_params(settings_);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(options.position("jdbc_connection_string"), std::string("jdbc_static: ") + e.what());
    }
    read_tables(options);
    read_loaders(options);
    read_lookups(options);
    if (options.has("loader_schedule")) {
      std::string error;
      schedule_ = lookup::CronSchedule::parse(options.get_string("loader_schedule"), &error);
      if (!schedule_) throw ConfigError(options.position("loader_schedule"), "jdbc_static: loader_schedule: " + error);
    }
    if (metrics_) {
      reloads_ = &metrics_->counter("reloads");
      reload_failures_ = &metrics_->counter("reload_failures");
      last_reload_ = &metrics_->counter("last_reload_unix_seconds");
      rows_loaded_ = &metrics_->counter("rows_loaded");
      defaults_used_ = &metrics_->counter("defaults_used");
    }
    // The first load must succeed: without data every lookup would answer wrongly.
    std::string error;
    bool rejected = false;
    if (!reload(error, rejected))
      throw std::runtime_error(fmt::format("jdbc_static [{}]: the initial load failed: {}", id_, error));
    if (schedule_) scheduler_ = std::thread([this] { schedule_loop(); });
  }

  ~JdbcStaticFilter() override {
    {
      std::lock_guard lock(stop_mutex_);
      stop_ = true;
    }
    stop_cv_.notify_all();
    if (scheduler_.joinable()) scheduler_.join();
  }

  bool filter(Event& event, FilterContext&) override { return enrich(event, *snapshot()); }

  void filter_batch(std::span<Event* const> events, std::vector<char>& matched, FilterContext&) override {
    matched.assign(events.size(), 0);
    std::shared_ptr<const lookup::LocalDatabase> db = snapshot();  // one reload-safe view per batch
    for (size_t i = 0; i < events.size(); ++i)
      if (!events[i]->cancelled()) matched[i] = enrich(*events[i], *db) ? 1 : 0;
  }

 private:
  std::shared_ptr<const lookup::LocalDatabase> snapshot() {
    std::lock_guard lock(db_mutex_);
    return db_;
  }

  bool enrich(Event& event, const lookup::LocalDatabase& db) {
    thread_local std::vector<std::optional<std::string>> values;
    bool all_ok = true;
    for (const auto& lookup_ptr : lookups_) {
      const Lookup& l = *lookup_ptr;
      values.resize(l.params.size());
      bool missing = false;
      for (size_t p = 0; p < l.params.size(); ++p) {
        std::string text;
        if (l.params[p].render(event, text)) values[p] = std::move(text);
        else values[p].reset(), missing = true;
      }
      if (missing) {  // Logstash: invalid parameters fail the lookup
        lookup::add_tags(event, l.tag_on_failure);
        if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
        all_ok = false;
        continue;
      }
      Array rows;
      db.run(l.query, values, rows);
      if (rows.empty() && l.use_default) {
        rows.emplace_back(l.default_row);
        lookup::add_tags(event, l.tag_on_default);
        if (defaults_used_) defaults_used_->fetch_add(1, std::memory_order_relaxed);
      }
      event.put(l.target) = Value(std::move(rows));
    }
    return all_ok;
  }

  void read_tables(const Options& options) {
    const ConfigValue* objects = options.raw("local_db_objects");
    if (!objects) return;
    for (const ConfigValue& item : objects->items) {
      if (item.kind != ConfigValue::Kind::Hash) throw ConfigError(item.pos, "jdbc_static: each local_db_objects entry must be a hash");
      lookup::LocalTableDef def;
      const ConfigValue* name = hash_entry(item, "name");
      if (!name) throw ConfigError(item.pos, "jdbc_static: local_db_objects entry without `name`");
      def.name = lower(name->text);
      const ConfigValue* columns = hash_entry(item, "columns");
      if (!columns || columns->kind != ConfigValue::Kind::Array || columns->items.empty())
        throw ConfigError(item.pos, "jdbc_static: local_db_objects `" + def.name + "` needs columns => [[name, type], ...]");
      for (const ConfigValue& column : columns->items) {
        if (column.kind != ConfigValue::Kind::Array || column.items.size() != 2)
          throw ConfigError(column.pos, "jdbc_static: a column is written [\"name\", \"type\"]");
        def.columns.push_back({lower(column.items[0].text), lower(column.items[1].text)});
      }
      if (const ConfigValue* index = hash_entry(item, "index_columns"))
        for (const ConfigValue& c : index->items) {
          if (def.column_index(lower(c.text)) < 0)
            throw ConfigError(c.pos, "jdbc_static: index column `" + c.text + "` is not a column of `" + def.name + "`");
          def.index_columns.push_back(lower(c.text));
        }
      for (const auto& existing : tables_)
        if (existing.name == def.name) throw ConfigError(name->pos, "jdbc_static: local table `" + def.name + "` is defined twice");
      tables_.push_back(std::move(def));
    }
  }

  void read_loaders(const Options& options) {
    const ConfigValue* list = options.raw("loaders");
    if (!list) return;
    for (const ConfigValue& item : list->items) {
      if (item.kind != ConfigValue::Kind::Hash) throw ConfigError(item.pos, "jdbc_static: each loaders entry must be a hash");
      Loader loader;
      const ConfigValue* query = hash_entry(item, "query");
      const ConfigValue* table = hash_entry(item, "local_table");
      if (!query || !table) throw ConfigError(item.pos, "jdbc_static: a loader needs `query` and `local_table`");
      loader.query = query->text;
      loader.table = lower(table->text);
      if (const ConfigValue* id = hash_entry(item, "id")) loader.id = id->text;
      if (loader.id.empty()) loader.id = "loader_" + std::to_string(loaders_.size() + 1);
      if (const ConfigValue* max_rows = hash_entry(item, "max_rows")) loader.max_rows = size_t(std::max(0.0, max_rows->number));
      bool known = false;
      for (const auto& t : tables_) known |= t.name == loader.table;
      if (!known) throw ConfigError(table->pos, "jdbc_static: loader `" + loader.id + "` fills `" + loader.table +
                                                    "`, which local_db_objects does not define");
      loaders_.push_back(std::move(loader));
    }
  }

  void read_lookups(const Options& options) {
    const ConfigValue* list = options.raw("local_lookups");
    const auto plugin_default_tags = options.get_string_array("tag_on_default_use");
    const auto plugin_failure_tags = options.get_string_array("tag_on_failure");
    if (!list) return;
    for (const ConfigValue& item : list->items) {
      if (item.kind != ConfigValue::Kind::Hash) throw ConfigError(item.pos, "jdbc_static: each local_lookups entry must be a hash");
      auto l = std::make_unique<Lookup>();
      if (const ConfigValue* id = hash_entry(item, "id")) l->id = id->text;
      if (l->id.empty()) l->id = "lookup_" + std::to_string(lookups_.size() + 1);
      const ConfigValue* query = hash_entry(item, "query");
      if (!query) throw ConfigError(item.pos, "jdbc_static: local lookup `" + l->id + "` needs a `query`");
      try {
        l->query = lookup::parse_local_query(query->text, tables_);
      } catch (const lookup::LocalQueryError& e) {
        throw ConfigError(query->pos, fmt::format("jdbc_static: local lookup `{}`: {} (at character {} of the query). "
                                                  "Local lookups support SELECT cols FROM table WHERE col = :param "
                                                  "[AND ...], :param BETWEEN lo AND hi, cidr_col >>= :param",
                                                  l->id, e.what(), e.offset() + 1));
      }
      const ConfigValue* parameters = hash_entry(item, "parameters");
      const ConfigValue* prepared = hash_entry(item, "prepared_parameters");
      for (size_t p = 0; p < l->query.params.size(); ++p) {
        const std::string& name = l->query.params[p];
        const ConfigValue* source = nullptr;
        const bool positional = !name.empty() && std::isdigit(static_cast<unsigned char>(name[0]));
        if (positional && prepared && prepared->kind == ConfigValue::Kind::Array) {
          const size_t index = std::stoul(name) - 1;
          if (index < prepared->items.size()) source = &prepared->items[index];
        } else if (!positional && parameters) {
          source = hash_entry(*parameters, name.c_str());
        }
        if (!source)
          throw ConfigError(query->pos, positional
              ? fmt::format("jdbc_static: local lookup `{}` has more `?` placeholders than prepared_parameters", l->id)
              : fmt::format("jdbc_static: local lookup `{}` uses `:{}` but its `parameters` has no `{}`", l->id, name, name));
        try {
          l->params.emplace_back(*source);
        } catch (const std::invalid_argument& e) {
          throw ConfigError(source->pos, std::string("jdbc_static: ") + e.what());
        }
      }
      const ConfigValue* target = hash_entry(item, "target");
      l->target = FieldRef::of(target ? target->text : l->id);
      if (const ConfigValue* defaults = hash_entry(item, "default_hash"); defaults && defaults->kind == ConfigValue::Kind::Hash) {
        for (const auto& [k, v] : defaults->entries) l->default_row[k.text] = lookup::config_to_value(v);
        l->use_default = !l->default_row.empty();
      }
      l->tag_on_default = plugin_default_tags;
      if (const ConfigValue* tags = hash_entry(item, "tag_on_default_use")) {
        l->tag_on_default.clear();
        if (tags->kind == ConfigValue::Kind::Array) for (auto& t : tags->items) l->tag_on_default.push_back(t.text);
        else if (tags->kind != ConfigValue::Kind::Boolean) l->tag_on_default.push_back(tags->text);
        else if (tags->boolean) l->tag_on_default = plugin_default_tags;
      }
      l->tag_on_failure = plugin_failure_tags;
      lookups_.push_back(std::move(l));
    }
  }

  // Loads every loader's rows into a new database and swaps it in. Keeps the old one on failure.
  bool reload(std::string& error, bool& rejected) {
    auto db = std::make_shared<lookup::LocalDatabase>(&tables_);
    size_t total = 0;
    try {
      auto conn = lookup::PgConnection::connect(settings_);
      for (const Loader& loader : loaders_) {
        lookup::PgResult result = conn->query(loader.query, {}, settings_.statement_timeout_ms, loader.max_rows);
        total += db->add_rows(loader.table, result.columns, std::move(result.rows));
      }
    } catch (const lookup::PgError& e) {
      error = e.what();
      rejected = e.rejected_by_server();
      if (reload_failures_) reload_failures_->fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    std::vector<const lookup::LocalQuery*> queries;
    for (const auto& l : lookups_) queries.push_back(&l->query);
    db->prepare(queries);
    {
      std::lock_guard lock(db_mutex_);
      db_ = std::move(db);
    }
    if (reloads_) reloads_->fetch_add(1, std::memory_order_relaxed);
    if (last_reload_) last_reload_->store(uint64_t(std::time(nullptr)), std::memory_order_relaxed);
    if (rows_loaded_) rows_loaded_->store(total, std::memory_order_relaxed);
    log_->info("[{}] loaded {} rows from {} loader(s)", id_, total, loaders_.size());
    return true;
  }

  void schedule_loop() {
    for (;;) {
      const int64_t next = schedule_->next_after(int64_t(std::time(nullptr)));
      if (next < 0) return;
      std::unique_lock lock(stop_mutex_);
      if (stop_cv_.wait_until(lock, std::chrono::system_clock::from_time_t(time_t(next)), [this] { return stop_; })) return;
      lock.unlock();
      std::string error;
      bool rejected = false;
      if (!reload(error, rejected)) log_->warn("[{}] scheduled reload failed ({}); keeping the previous data", id_, error);
    }
  }

  std::string id_;
  PluginMetrics* metrics_;
  std::shared_ptr<spdlog::logger> log_;
  lookup::PgSettings settings_;
  std::vector<lookup::LocalTableDef> tables_;
  std::vector<Loader> loaders_;
  std::vector<std::unique_ptr<Lookup>> lookups_;
  std::optional<lookup::CronSchedule> schedule_;
  std::mutex db_mutex_;
  std::shared_ptr<const lookup::LocalDatabase> db_;
  std::thread scheduler_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::atomic<uint64_t>* reloads_ = nullptr;
  std::atomic<uint64_t>* reload_failures_ = nullptr;
  std::atomic<uint64_t>* last_reload_ = nullptr;
  std::atomic<uint64_t>* rows_loaded_ = nullptr;
  std::atomic<uint64_t>* defaults_used_ = nullptr;
};

const RegisterFilter registration{jdbc_static_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<JdbcStaticFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
