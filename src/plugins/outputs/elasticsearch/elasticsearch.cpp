// The elasticsearch output: events as _bulk requests over HTTP(S) (libcurl, keep-alive), gzip
// bodies, a list of hosts with failover and health checks, and Logstash's per-item rules:
// 2xx done; 409 logged and done (a `create` that found its document already there); 400/404
// and `dlq_custom_codes` to the dead letter queue; 429/5xx/others retried with backoff (only those
// items). A request that fails as a whole (connection refused or reset, timeout, an HTTP error
// status) is retried with backoff on the next live host.
//
// Acknowledgement: write() returns only when every event of the batch is done (stored, or in the
// DLQ), so the batch's acks are released after that and backpressure holds the inputs meanwhile.
// If the pipeline is stopping while Elasticsearch keeps failing, write() gives up after a few more
// attempts and leaves the unfinished events unacknowledged (their source delivers them again).
//
// Hot path: each concurrent writer takes a Session (an HTTP client, its connection, and reused
// buffers); every event is serialized once into the session's buffer (action line + source),
// which is the request body as is on the first attempt; retries copy only the failed items.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "config/parser.h"
#include "core/json.h"
#include "core/sprintf.h"
#include "net/http_client.h"
#include "plugins/outputs/elasticsearch/bulk.h"
#include "runtime/dlq.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

constexpr size_t kTargetBulkBytes = 20 * 1024 * 1024;  // Logstash's TARGET_BULK_BYTES
constexpr int kAttemptsAfterStop = 3;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<spdlog::logger> es_log() { return logging::get("sluice.outputs.elasticsearch"); }

PluginSchema elasticsearch_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Output;
  schema.name = "elasticsearch";
  schema.doc =
      "Sends events to Elasticsearch (or OpenSearch) with the _bulk API: keep-alive connections, gzip bodies, "
      "failover between `hosts`, per-item retries (429/5xx) with backoff, 400/404 to the dead letter queue. "
      "Events are acknowledged once Elasticsearch took them or the dead letter queue has them. With "
      "ecs_compatibility v1/v8 and no `index`, events go to the data stream `logs-generic-default` as in Logstash. "
      "Index templates and ILM policies are not installed (manage them in Elasticsearch).";
  auto o = [](const char* name, OptionType type, std::optional<config::ConfigValue> def, const char* doc,
              std::vector<std::string> allowed = {}) { return option_spec(name, type, std::move(def), doc, std::move(allowed)); };
  auto deprecated = [](OptionSpec spec) {
    spec.deprecated = true;
    return spec;
  };
  schema.options = {
      o("hosts", OptionType::Array, cv_array({"//127.0.0.1"}),
        "Elasticsearch nodes: `host`, `host:port` or `https://host:port/path` (port 9200 by default). Requests "
        "go round-robin to the live ones; a node that fails is health-checked until it answers again."),
      o("index", OptionType::String, std::nullopt,
        "Index to write to (sprintf, e.g. `logs-%{[event][dataset]}-%{+YYYY.MM.dd}`). Default: "
        "`logstash-%{+yyyy.MM.dd}` without ECS, `ecs-logstash-%{+yyyy.MM.dd}` with ECS when data streams are off."),
      o("document_id", OptionType::String, std::nullopt, "The document `_id` (sprintf); Elasticsearch makes one when unset."),
      o("routing", OptionType::String, std::nullopt, "Routing value of each document (sprintf)."),
      o("pipeline", OptionType::String, std::nullopt, "Ingest pipeline to run on each document (sprintf); none when it renders empty."),
      o("action", OptionType::String, cv_string("index"),
        "index, create, update or delete (sprintf, e.g. `%{[@metadata][action]}`). Data streams always use create."),
      o("doc_as_upsert", OptionType::Boolean, cv_bool(false), "With action update: create the document when it is missing."),
      o("upsert", OptionType::String, cv_string(""), "With action update: JSON document (sprintf) to insert when the document is missing."),
      o("retry_on_conflict", OptionType::Number, cv_number(1), "With action update: times Elasticsearch retries a version conflict."),
      o("version", OptionType::String, std::nullopt, "External version of the document (sprintf)."),
      o("version_type", OptionType::String, std::nullopt, "internal, external, external_gt or external_gte.",
        {"internal", "external", "external_gt", "external_gte", "force"}),
      o("data_stream", OptionType::String, cv_string("auto"),
        "true: write to data streams `<type>-<dataset>-<namespace>`; auto: true when ecs_compatibility is on and "
        "no `index`, `document_type` or template/ILM option is set.",
        {"true", "false", "auto"}),
      o("data_stream_type", OptionType::String, cv_string("logs"), "Data stream type: logs, metrics, synthetics, traces.",
        {"logs", "metrics", "synthetics", "traces"}),
      o("data_stream_dataset", OptionType::String, cv_string("generic"), "Data stream dataset."),
      o("data_stream_namespace", OptionType::String, cv_string("default"), "Data stream namespace."),
      o("data_stream_auto_routing", OptionType::Boolean, cv_bool(true),
        "Take type, dataset and namespace from the event's `[data_stream][...]` fields when present."),
      o("data_stream_sync_fields", OptionType::Boolean, cv_bool(true),
        "Write the `data_stream` fields of the document to match the data stream used."),
      o("user", OptionType::String, std::nullopt, "User for basic authentication."),
      o("password", OptionType::Password, std::nullopt, "Password for basic authentication."),
      o("api_key", OptionType::Password, std::nullopt, "API key as `id:api_key` (sent as `Authorization: ApiKey base64`)."),
      o("ssl_enabled", OptionType::Boolean, std::nullopt, "Use https for hosts given without a scheme."),
      deprecated(o("ssl", OptionType::Boolean, std::nullopt, "Deprecated: use ssl_enabled.")),
      o("ssl_certificate_authorities", OptionType::Array, std::nullopt, "PEM files of the CAs that verify the nodes' certificates (all of them are trusted, instead of the system's CAs; default: the system's)."),
      deprecated(o("cacert", OptionType::Path, std::nullopt, "Deprecated: use ssl_certificate_authorities.")),
      o("ssl_verification_mode", OptionType::String, cv_string("full"),
        "full: verify the certificate and host name; none: no verification (insecure).", {"full", "none"}),
      o("ssl_certificate", OptionType::Path, std::nullopt, "PEM client certificate (with ssl_key) for mutual TLS."),
      o("ssl_key", OptionType::Path, std::nullopt, "PEM private key of ssl_certificate."),
      o("proxy", OptionType::Uri, std::nullopt, "HTTP proxy URL."),
      o("path", OptionType::String, std::nullopt, "Path prefix of the Elasticsearch HTTP API (for hosts given without a path)."),
      o("bulk_path", OptionType::String, std::nullopt, "Path of the bulk endpoint (default `<path>/_bulk`)."),
      o("parameters", OptionType::Hash, std::nullopt, "Query parameters added to every request."),
      o("custom_headers", OptionType::Hash, std::nullopt, "Headers added to every request."),
      o("timeout", OptionType::Number, cv_number(60), "Seconds a request may take before it is retried."),
      o("retry_initial_interval", OptionType::Number, cv_number(2), "Seconds before the first retry; doubled on each retry."),
      o("retry_max_interval", OptionType::Number, cv_number(64), "Most seconds between retries."),
      o("compression_level", OptionType::Number, cv_number(1), "gzip level of request bodies (1-9); 0 sends them uncompressed."),
      deprecated(o("http_compression", OptionType::Boolean, std::nullopt,
                   "Deprecated: true compresses request bodies (level 1 unless compression_level is set), false disables it.")),
      o("healthcheck_path", OptionType::String, cv_string("/"), "Path requested to check that a failed node is back."),
      o("resurrect_delay", OptionType::Number, cv_number(5), "Seconds between health checks of a failed node."),
      o("dlq_custom_codes", OptionType::Array, cv_array({}), "More item status codes sent to the dead letter queue (besides 400 and 404)."),
      o("dlq_on_failed_indexname_interpolation", OptionType::Boolean, cv_bool(true),
        "An event whose index still holds a %{...} reference after sprintf goes to the dead letter queue."),
      o("silence_errors_in_log", OptionType::Array, cv_array({}), "Item error types not logged (e.g. version_conflict_engine_exception)."),
      deprecated(o("failure_type_logging_whitelist", OptionType::Array, std::nullopt,
                   "Deprecated: the old name of silence_errors_in_log.")),
      o("ecs_compatibility", OptionType::String, std::nullopt, "disabled, v1 or v8 (default: the pipeline's).", {"disabled", "v1", "v8"}),
      o("manage_template", OptionType::Boolean, cv_bool(true), "Accepted for compatibility: sluice does not install index templates."),
      o("template", OptionType::Path, std::nullopt, "Accepted for compatibility (templates are not installed)."),
      o("template_name", OptionType::String, std::nullopt, "Accepted for compatibility (templates are not installed)."),
      o("template_overwrite", OptionType::Boolean, cv_bool(false), "Accepted for compatibility (templates are not installed)."),
      o("template_api", OptionType::String, cv_string("auto"), "Accepted for compatibility (templates are not installed).",
        {"auto", "legacy", "composable"}),
      o("ilm_enabled", OptionType::String, cv_string("auto"), "Accepted for compatibility: sluice does not manage ILM.",
        {"true", "false", "auto"}),
      o("ilm_rollover_alias", OptionType::String, std::nullopt, "Accepted for compatibility (ILM is not managed)."),
      o("ilm_pattern", OptionType::String, std::nullopt, "Accepted for compatibility (ILM is not managed)."),
      o("ilm_policy", OptionType::String, std::nullopt, "Accepted for compatibility (ILM is not managed)."),
      deprecated(o("document_type", OptionType::String, std::nullopt, "Removed in Elasticsearch 8: ignored.")),
      o("sniffing", OptionType::Boolean, cv_bool(false), "Accepted for compatibility: sluice uses the `hosts` list only."),
      o("pool_max", OptionType::Number, cv_number(1000), "Accepted for compatibility (one connection per worker)."),
      o("pool_max_per_route", OptionType::Number, cv_number(100), "Accepted for compatibility (one connection per worker)."),
      o("validate_after_inactivity", OptionType::Number, cv_number(10000), "Accepted for compatibility."),
  };
  return schema;
}

enum class Action : uint8_t { Index, Create, Update, Delete, Invalid };

Action parse_action(std::string_view text) {
  if (text == "index") return Action::Index;
  if (text == "create") return Action::Create;
  if (text == "update") return Action::Update;
  if (text == "delete") return Action::Delete;
  return Action::Invalid;
}

const char* action_name(Action a) {
  switch (a) {
    case Action::Index: return "index";
    case Action::Create: return "create";
    case Action::Update: return "update";
    case Action::Delete: return "delete";
    case Action::Invalid: break;
  }
  return "invalid";
}

// The nodes, their health and the round-robin position. Shared by every session.
class HostPool {
 public:
  HostPool(std::vector<std::string> urls, int64_t resurrect_delay_ms)
      : resurrect_delay_ms_(resurrect_delay_ms) {
    for (auto& url : urls) hosts_.push_back({std::move(url), true, 0});
  }
  // A dead host due for a health check (`needs_check`), else a live one (round-robin).
  std::optional<std::string> pick(bool& needs_check) {
    std::lock_guard lock(mutex_);
    int64_t now = steady_ms();
    for (Host& h : hosts_) {
      if (!h.alive && now >= h.next_check_ms) {
        h.next_check_ms = now + resurrect_delay_ms_;  // one checker at a time
        needs_check = true;
        return h.url;
      }
    }
    for (size_t n = 0; n < hosts_.size(); ++n) {
      Host& h = hosts_[(next_ + n) % hosts_.size()];
      if (h.alive) {
        next_ = (next_ + n + 1) % hosts_.size();
        needs_check = false;
        return h.url;
      }
    }
    return std::nullopt;
  }
  // `error` (for a dead host) is why it failed; kept for the "no node is reachable" message.
  void mark(const std::string& url, bool alive, const std::string& error = "") {
    std::lock_guard lock(mutex_);
    for (Host& h : hosts_) {
      if (h.url != url) continue;
      if (h.alive && !alive)
        es_log()->warn("Elasticsearch node {} is unreachable ({}); using the other nodes and checking it every {} ms", url,
                       error, resurrect_delay_ms_);
      if (!h.alive && alive) es_log()->info("Elasticsearch node {} is back", url);
      h.alive = alive;
      if (!alive) {
        h.next_check_ms = steady_ms() + resurrect_delay_ms_;
        last_error_ = fmt::format("{}: {}", url, error);
      }
    }
  }
  // The last connection-level failure, "url: error" ("" when none).
  std::string last_error() {
    std::lock_guard lock(mutex_);
    return last_error_;
  }
  // Milliseconds until a dead host may be checked (0 when one may be now).
  int64_t wait_for_check_ms() {
    std::lock_guard lock(mutex_);
    int64_t now = steady_ms(), best = INT64_MAX;
    for (const Host& h : hosts_) best = std::min(best, h.alive ? 0 : std::max<int64_t>(0, h.next_check_ms - now));
    return best;
  }

 private:
  struct Host {
    std::string url;
    bool alive;
    int64_t next_check_ms;
  };
  std::mutex mutex_;
  std::vector<Host> hosts_;
  size_t next_ = 0;
  int64_t resurrect_delay_ms_;
  std::string last_error_;
};

// One event of the batch in flight.
struct Item {
  Event* event = nullptr;
  uint32_t offset = 0, length = 0;  // its bytes in Session::serialized
  Action action = Action::Index;
  bool done = false;
};

struct Session {
  Session(const net::HttpClientOptions& options, int compression_level) : client(options), gzip(compression_level) {}
  net::HttpClient client;
  std::string serialized;  // action + source lines of the batch's events, in order
  std::string body;        // request body when it is not `serialized` as a whole
  es::GzipCompressor gzip;
  std::string scratch, index, id, routing, pipeline, action_text;
  std::vector<Item> items;
  std::vector<uint32_t> pending, chunk, failed;
  std::vector<es::ItemResult> results;
};

class ElasticsearchOutput final : public Output {
 public:
  ElasticsearchOutput(const Options& options, PluginContext& ctx)
      : id_(ctx.id), metrics_(ctx.metrics), stopping_(ctx.pipeline_stopping), dlq_(ctx.dead_letter_queue) {
    std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                                                       : (ctx.settings ? ctx.settings->ecs_compatibility : "v8");
    bool ssl_enabled = options.has("ssl_enabled") ? options.get_bool("ssl_enabled")
                                                  : (options.has("ssl") && options.get_bool("ssl"));
    std::string path_prefix = options.get_string("path");
    std::vector<std::string> urls;
    for (const std::string& host : options.get_string_array("hosts")) {
      std::string error;
      std::string url = es::normalize_host(host, ssl_enabled, path_prefix, &error);
      if (url.empty()) throw config::ConfigError(options.position("hosts"), fmt::format("elasticsearch: bad host `{}`: {}", host, error));
      urls.push_back(std::move(url));
    }
    if (urls.empty()) throw config::ConfigError(options.position("hosts"), "elasticsearch: `hosts` is empty");

    // Data streams: Logstash's `auto` turns them on under ECS when nothing index-specific is set.
    std::string data_stream = options.get_string("data_stream");
    bool index_specific = options.has("index") || options.has("document_type") || options.has("template") ||
                          options.has("template_name") || options.has("ilm_rollover_alias") ||
                          options.has("ilm_policy") || options.has("ilm_pattern") ||
                          (options.has("action") && options.get_string("action") != "create");
    data_stream_ = data_stream == "true" || (data_stream == "auto" && ecs != "disabled" && !index_specific);
    if (data_stream == "true" && options.has("action") && options.get_string("action") != "create")
      throw config::ConfigError(options.position("action"), "elasticsearch: data streams only accept action `create`");
    ds_type_ = options.get_string("data_stream_type");
    ds_dataset_ = options.get_string("data_stream_dataset");
    ds_namespace_ = options.get_string("data_stream_namespace");
    ds_auto_routing_ = options.get_bool("data_stream_auto_routing");
    ds_sync_fields_ = options.get_bool("data_stream_sync_fields");

    std::string default_index = ecs == "disabled" ? "logstash-%{+yyyy.MM.dd}" : "ecs-logstash-%{+yyyy.MM.dd}";
    index_ = Template(options.has("index") ? options.get_string("index") : default_index);
    action_ = Template(data_stream_ ? std::string("create") : options.get_string("action"));
    if (action_.is_constant() && parse_action(action_.source()) == Action::Invalid)
      throw config::ConfigError(options.position("action"),
                                fmt::format("elasticsearch: action must be index, create, update or delete (got `{}`)", action_.source()));
    if (options.has("document_id")) document_id_ = Template(options.get_string("document_id"));
    if (options.has("routing")) routing_ = Template(options.get_string("routing"));
    if (options.has("pipeline")) pipeline_ = Template(options.get_string("pipeline"));
    if (options.has("version")) version_ = Template(options.get_string("version"));
    version_type_ = options.get_string("version_type");
    doc_as_upsert_ = options.get_bool("doc_as_upsert");
    if (!options.get_string("upsert").empty()) upsert_ = Template(options.get_string("upsert"));
    retry_on_conflict_ = options.get_int("retry_on_conflict");
    for (const std::string& code : options.get_string_array("dlq_custom_codes")) {
      char* end = nullptr;
      long value = std::strtol(code.c_str(), &end, 10);
      if (code.empty() || *end != '\0' || value < 100 || value > 599)
        throw config::ConfigError(options.position("dlq_custom_codes"), fmt::format("elasticsearch: dlq_custom_codes: `{}` is not an HTTP status code", code));
      if (value >= 200 && value < 300)
        throw config::ConfigError(options.position("dlq_custom_codes"), fmt::format("elasticsearch: dlq_custom_codes cannot hold the success code {}", value));
      dlq_custom_codes_.push_back(int(value));
    }
    dlq_on_failed_index_ = options.get_bool("dlq_on_failed_indexname_interpolation");
    silenced_errors_ = options.get_string_array("silence_errors_in_log");
    if (options.has("failure_type_logging_whitelist")) {
      for (auto& type : options.get_string_array("failure_type_logging_whitelist")) silenced_errors_.push_back(type);
    }
    retry_initial_ms_ = std::max<int64_t>(1, int64_t(options.get_number("retry_initial_interval") * 1000));
    retry_max_ms_ = std::max<int64_t>(retry_initial_ms_, int64_t(options.get_number("retry_max_interval") * 1000));
    compression_level_ = int(std::clamp<int64_t>(options.get_int("compression_level"), 0, 9));
    if (options.has("http_compression")) {
      if (!options.get_bool("http_compression")) compression_level_ = 0;
      else if (compression_level_ == 0) compression_level_ = 1;
    }
    if (options.get_bool("sniffing"))
      es_log()->warn("[{}] sniffing is not supported: using the `hosts` list as given", id_);

    std::string bulk_path = options.has("bulk_path") ? options.get_string("bulk_path") : "/_bulk";
    if (!bulk_path.starts_with("/")) bulk_path.insert(bulk_path.begin(), '/');
    std::string query;
    for (const auto& [key, value] : options.get_string_hash("parameters"))
      query += fmt::format("{}{}={}", query.empty() ? "?" : "&", net::url_encode(key), net::url_encode(value));
    if (!query.empty() && bulk_path.find('?') != std::string::npos) query[0] = '&';
    bulk_suffix_ = bulk_path + query;
    healthcheck_path_ = options.get_string("healthcheck_path");
    if (!healthcheck_path_.starts_with("/")) healthcheck_path_.insert(healthcheck_path_.begin(), '/');
    hosts_ = std::make_unique<HostPool>(urls, std::max<int64_t>(100, int64_t(options.get_number("resurrect_delay") * 1000)));

    headers_.push_back({"Content-Type", "application/json"});
    if (compression_level_ > 0) headers_.push_back({"Content-Encoding", "gzip"});
    if (options.has("api_key")) {
      std::string key = options.get_string("api_key");
      if (key.find(':') == std::string::npos)
        throw config::ConfigError(options.position("api_key"), "elasticsearch: api_key must be `id:api_key`");
      headers_.push_back({"Authorization", "ApiKey " + es::base64_encode(key)});
      if (options.has("user"))
        throw config::ConfigError(options.position("api_key"), "elasticsearch: use either user/password or api_key, not both");
    }
    for (const auto& [name, value] : options.get_string_hash("custom_headers")) headers_.push_back({name, value});

    client_options_.timeout_ms = long(std::max(1.0, options.get_number("timeout")) * 1000);
    client_options_.connect_timeout_ms = std::min<long>(client_options_.timeout_ms, 10000);
    client_options_.verify_tls = options.get_string("ssl_verification_mode") != "none";
    // Every CA file is read now (a missing one is a config error) and handed to curl from memory.
    std::vector<std::string> cas = options.get_string_array("ssl_certificate_authorities");
    const char* ca_option = "ssl_certificate_authorities";
    if (cas.empty() && options.has("cacert")) {
      cas.push_back(options.get_string("cacert"));
      ca_option = "cacert";
    }
    for (const std::string& file : cas) {
      std::string pem = read_pem_file(file, options, ca_option);
      if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
        throw config::ConfigError(options.position(ca_option),
                                  fmt::format("elasticsearch: {} `{}` holds no PEM certificate", ca_option, file));
      client_options_.ca_pem += pem;
      if (!client_options_.ca_pem.ends_with('\n')) client_options_.ca_pem += '\n';
    }
    if (options.has("ssl_certificate") != options.has("ssl_key"))
      throw config::ConfigError(options.position(options.has("ssl_certificate") ? "ssl_certificate" : "ssl_key"),
                                "elasticsearch: ssl_certificate and ssl_key go together");
    for (const char* name : {"ssl_certificate", "ssl_key"})
      if (options.has(name)) read_pem_file(options.get_string(name), options, name);  // readable now, or a config error
    client_options_.client_cert_file = options.get_string("ssl_certificate");
    client_options_.client_key_file = options.get_string("ssl_key");
    client_options_.proxy = options.get_string("proxy");
    if (options.has("user")) {
      client_options_.user = options.get_string("user");
      client_options_.password = options.get_string("password");
    }
    client_options_.accept_compressed = true;
    client_options_.user_agent = "sluice elasticsearch output";
    if (!client_options_.verify_tls)
      es_log()->warn("[{}] ssl_verification_mode is none: TLS certificates are not verified", id_);
    if (metrics_) {
      bulk_requests_ = &metrics_->counter("bulk_requests");
      bulk_failures_ = &metrics_->counter("bulk_request_failures");
      retried_ = &metrics_->counter("documents_retried");
      dead_lettered_ = &metrics_->counter("documents_dead_lettered");
      conflicts_ = &metrics_->counter("documents_conflict");
      bytes_sent_ = &metrics_->counter("bytes_sent");
    }
  }

  bool thread_safe() const override { return true; }

  void write(std::span<Event* const> events) override {
    if (events.empty()) return;
    std::unique_ptr<Session> session = take_session();
    prepare(*session, events);
    deliver(*session);
    give_back(std::move(session));
  }

 private:
  // A TLS file read at start: unreadable or empty is a config error at the option.
  static std::string read_pem_file(const std::string& path, const Options& options, const char* option) {
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof())
      throw config::ConfigError(options.position(option), fmt::format("elasticsearch: {}: cannot read `{}`", option, path));
    if (!in.is_open() || text.empty())
      throw config::ConfigError(options.position(option),
                                fmt::format("elasticsearch: {}: cannot read `{}` (missing or empty)", option, path));
    return text;
  }

  std::unique_ptr<Session> take_session() {
    {
      std::lock_guard lock(sessions_mutex_);
      if (!free_sessions_.empty()) {
        auto s = std::move(free_sessions_.back());
        free_sessions_.pop_back();
        return s;
      }
    }
    return std::make_unique<Session>(client_options_, compression_level_);
  }

  void give_back(std::unique_ptr<Session> session) {
    // A huge batch must not pin its memory for good.
    if (session->serialized.capacity() > 4 * kTargetBulkBytes) std::string().swap(session->serialized);
    session->gzip.trim(4 * kTargetBulkBytes);
    if (session->body.capacity() > 4 * kTargetBulkBytes) std::string().swap(session->body);
    std::lock_guard lock(sessions_mutex_);
    free_sessions_.push_back(std::move(session));
  }

  static bool renders_unresolved(std::string_view text) { return text.find("%{") != std::string_view::npos; }

  // Serializes every event (action line + source line) into session.serialized.
  void prepare(Session& s, std::span<Event* const> events) {
    s.serialized.clear();
    s.items.clear();
    for (Event* event : events) {
      Item item;
      item.event = event;
      size_t start = s.serialized.size();
      std::string reason;
      if (!serialize(s, *event, item.action, reason)) {
        s.serialized.resize(start);
        item.done = true;
        reject(*event, reason, "");
        continue;
      }
      item.offset = uint32_t(start);
      item.length = uint32_t(s.serialized.size() - start);
      s.items.push_back(item);
    }
  }

  void append_meta(Session& s, std::string_view key, std::string_view value) {
    s.serialized += ",\"";
    s.serialized += key;
    s.serialized += "\":";
    json_append_string(s.serialized, value);
  }

  // The data stream fields of the event (auto routing) or the configured ones.
  void data_stream_of(const Event& event, std::string_view& type, std::string_view& dataset, std::string_view& ns) const {
    type = ds_type_;
    dataset = ds_dataset_;
    ns = ds_namespace_;
    if (!ds_auto_routing_) return;
    const Value* ds = event.fields().find("data_stream");
    if (!ds || !ds->is_object()) return;
    auto pick = [&](const char* key, std::string_view& out) {
      const Value* v = ds->as_object().find(key);
      if (v && v->is_string() && !v->as_string().empty()) out = v->as_string();
    };
    pick("type", type);
    pick("dataset", dataset);
    pick("namespace", ns);
  }

  // The event's document, with `data_stream` synced when data_stream_sync_fields asks for it.
  void append_source(Session& s, const Event& event, std::string_view type, std::string_view dataset, std::string_view ns) {
    if (!data_stream_ || !ds_sync_fields_) {
      json_append_event(s.serialized, event);
      return;
    }
    const Value* ds = event.fields().find("data_stream");
    if (!ds) {
      // Common case: no data_stream field; append it to the object (no duplicate key possible).
      json_append_event(s.serialized, event);
      s.serialized.pop_back();  // '}'
      if (!event.fields().empty()) s.serialized.push_back(',');
      s.serialized += "\"data_stream\":{\"type\":";
      json_append_string(s.serialized, type);
      s.serialized += ",\"dataset\":";
      json_append_string(s.serialized, dataset);
      s.serialized += ",\"namespace\":";
      json_append_string(s.serialized, ns);
      s.serialized += "}}";
      return;
    }
    auto same = [&](const char* key, std::string_view want) {
      const Value* v = ds->is_object() ? ds->as_object().find(key) : nullptr;
      return v && v->is_string() && v->as_string() == want;
    };
    if (same("type", type) && same("dataset", dataset) && same("namespace", ns)) {
      json_append_event(s.serialized, event);
      return;
    }
    // Rare: a partial or different data_stream object; write a corrected copy.
    Value copy{Object(event.fields())};
    Value& fixed = copy.as_object()["data_stream"];
    if (!fixed.is_object()) fixed.make_object();
    fixed.as_object()["type"] = Value(type);
    fixed.as_object()["dataset"] = Value(dataset);
    fixed.as_object()["namespace"] = Value(ns);
    json_append_value(s.serialized, copy);
  }

  bool serialize(Session& s, const Event& event, Action& action, std::string& reason) {
    if (action_.is_constant()) {
      action = parse_action(action_.source());
    } else {
      s.action_text.clear();
      action_.render(event, s.action_text);
      action = parse_action(s.action_text);
      if (action == Action::Invalid) {
        reason = fmt::format("invalid action `{}` (index, create, update or delete)", s.action_text);
        return false;
      }
    }
    std::string_view type, dataset, ns;
    s.index.clear();
    if (data_stream_) {
      data_stream_of(event, type, dataset, ns);
      s.index.append(type).append("-").append(dataset).append("-").append(ns);
    } else {
      index_.render(event, s.index);
      if (renders_unresolved(s.index) && dlq_on_failed_index_) {
        reason = fmt::format("Badly formatted index, after interpolation still contains placeholder: [{}]", s.index);
        return false;
      }
    }
    s.serialized += "{\"";
    s.serialized += action_name(action);
    s.serialized += "\":{\"_index\":";
    json_append_string(s.serialized, s.index);
    if (document_id_) {
      s.id.clear();
      document_id_->render(event, s.id);
      if (!s.id.empty()) append_meta(s, "_id", s.id);
    }
    if (routing_) {
      s.routing.clear();
      routing_->render(event, s.routing);
      if (!s.routing.empty()) append_meta(s, "routing", s.routing);
    }
    if (pipeline_ && action != Action::Delete) {
      s.pipeline.clear();
      pipeline_->render(event, s.pipeline);
      if (!s.pipeline.empty() && !renders_unresolved(s.pipeline)) append_meta(s, "pipeline", s.pipeline);
    }
    if (version_) {
      s.scratch.clear();
      version_->render(event, s.scratch);
      if (!s.scratch.empty()) append_meta(s, "version", s.scratch);
      if (!version_type_.empty()) append_meta(s, "version_type", version_type_);
    }
    if (action == Action::Update) fmt::format_to(std::back_inserter(s.serialized), ",\"retry_on_conflict\":{}", retry_on_conflict_);
    s.serialized += "}}\n";
    switch (action) {
      case Action::Delete: break;
      case Action::Update:
        s.serialized += "{\"doc\":";
        json_append_event(s.serialized, event);
        if (doc_as_upsert_) {
          s.serialized += ",\"doc_as_upsert\":true";
        } else if (upsert_) {
          s.scratch.clear();
          upsert_->render(event, s.scratch);
          Value parsed;
          if (json_parse(s.scratch, parsed) && parsed.is_object()) {
            s.serialized += ",\"upsert\":";
            s.serialized += s.scratch;
          }
        }
        s.serialized += "}\n";
        break;
      default:
        append_source(s, event, type, dataset, ns);
        s.serialized += '\n';
        break;
    }
    return true;
  }

  // An event Elasticsearch (or the output) rejected for good: to the DLQ, or logged and dropped.
  void reject(Event& event, const std::string& reason, std::string_view response) {
    if (dead_lettered_) dead_lettered_->fetch_add(1, std::memory_order_relaxed);
    if (dlq_) {
      std::string full = response.empty() ? reason : fmt::format("{}, response: {}", reason, response);
      if (dlq_->write(event, "elasticsearch", id_, full) == DeadLetterResult::Failed) {
        // Not stored anywhere: the event must not count as done.
        if (AckToken* token = event.ack_token()) token->retain();
        es_log()->error("[{}] could not write a rejected event to the dead letter queue; it stays unacknowledged", id_);
      }
      return;
    }
    if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
    log_rate_limited(fmt::format("[{}] Could not index event to Elasticsearch (dropped, no dead letter queue): {}{}{}", id_,
                                 reason, response.empty() ? "" : ", response: ", response));
  }

  void log_rate_limited(const std::string& message) {
    int64_t now = steady_ms();
    int64_t last = last_log_ms_.load(std::memory_order_relaxed);
    if (last != 0 && now - last < 1000) return;
    last_log_ms_.store(now, std::memory_order_relaxed);
    es_log()->warn("{}", message);
  }

  bool silenced(std::string_view error) const {
    for (const std::string& type : silenced_errors_)
      if (error.find("\"type\":\"" + type + "\"") != std::string_view::npos) return true;
    return false;
  }

  // Sends one request body; true with the response when Elasticsearch answered 2xx.
  bool send(Session& s, std::string_view body, net::HttpResponse& response) {
    std::string_view payload = body;
    if (compression_level_ > 0) {
      payload = s.gzip.compress(body);
      if (payload.empty()) {
        response.error = "gzip failed";
        return false;
      }
    }
    for (;;) {
      bool needs_check = false;
      std::optional<std::string> host = hosts_->pick(needs_check);
      if (!host) {
        response = net::HttpResponse{};
        std::string last = hosts_->last_error();
        response.error = last.empty() ? "no Elasticsearch node is reachable"
                                      : fmt::format("no Elasticsearch node is reachable; last failure: {}", last);
        return false;
      }
      if (needs_check) {
        net::HttpRequest check;
        check.method = "GET";
        check.url = *host + healthcheck_path_;
        check.headers = headers_for_check();
        net::HttpResponse answer = s.client.perform(check);
        bool alive = !answer.transport_failed() && answer.status < 500;
        hosts_->mark(*host, alive, describe_transport_error(answer));
        if (!alive) continue;
      }
      net::HttpRequest request;
      request.method = "POST";
      request.url = *host + bulk_suffix_;
      request.headers = headers_;
      request.body = payload;
      if (bulk_requests_) bulk_requests_->fetch_add(1, std::memory_order_relaxed);
      if (bytes_sent_) bytes_sent_->fetch_add(payload.size(), std::memory_order_relaxed);
      response = s.client.perform(request);
      if (response.transport_failed()) {
        hosts_->mark(*host, false, describe_transport_error(response));
        s.client.reset_connection();
        response.error = describe_transport_error(response);
      }
      return response.success();
    }
  }

  // curl's error, with a hint where TLS verification failed (the usual cause: a missing CA).
  std::string describe_transport_error(const net::HttpResponse& response) const {
    if (!response.transport_failed()) return fmt::format("HTTP {}", response.status);
    const std::string& error = response.error;
    bool tls = error.find("certificate") != std::string::npos || error.find("SSL") != std::string::npos ||
               error.find("TLS") != std::string::npos;
    if (!tls || error.find("ssl_certificate_authorities") != std::string::npos) return error;
    return error + " (TLS: check ssl_certificate_authorities, the host name in `hosts`, ssl_certificate/ssl_key; "
                   "ssl_verification_mode => none skips verification)";
  }

  std::vector<net::HttpHeader> headers_for_check() const {
    std::vector<net::HttpHeader> out;
    for (const auto& h : headers_)
      if (h.name != "Content-Encoding" && h.name != "Content-Type") out.push_back(h);
    return out;
  }

  bool stopping() const { return stopping_ && stopping_->load(std::memory_order_relaxed); }

  // Sends the pending items until each is done, retrying with backoff.
  void deliver(Session& s) {
    s.pending.clear();
    for (uint32_t i = 0; i < s.items.size(); ++i) s.pending.push_back(i);
    int64_t interval = retry_initial_ms_;
    int attempts_after_stop = 0;
    bool first = true;
    while (!s.pending.empty()) {
      s.failed.clear();
      size_t at = 0;
      while (at < s.pending.size()) {
        // The next chunk: up to the target size (at least one item).
        s.chunk.clear();
        size_t bytes = 0;
        while (at < s.pending.size() && (s.chunk.empty() || bytes + s.items[s.pending[at]].length <= kTargetBulkBytes)) {
          bytes += s.items[s.pending[at]].length;
          s.chunk.push_back(s.pending[at++]);
        }
        std::string_view body;
        if (first && s.chunk.size() == s.items.size()) {
          body = s.serialized;  // the whole batch as serialized: no copy
        } else {
          s.body.clear();
          for (uint32_t index : s.chunk) s.body.append(s.serialized, s.items[index].offset, s.items[index].length);
          body = s.body;
        }
        send_chunk(s, body);
      }
      first = false;
      s.pending.swap(s.failed);
      if (s.pending.empty()) break;
      if (retried_) retried_->fetch_add(s.pending.size(), std::memory_order_relaxed);
      if (stopping() && ++attempts_after_stop > kAttemptsAfterStop) {
        es_log()->error("[{}] pipeline stopping: giving up on {} events Elasticsearch did not take; they stay "
                        "unacknowledged and their source delivers them again",
                        id_, s.pending.size());
        for (uint32_t index : s.pending)
          if (AckToken* token = s.items[index].event->ack_token()) token->retain();
        s.pending.clear();
        break;
      }
      int64_t wait = std::max(interval, std::min<int64_t>(hosts_->wait_for_check_ms(), retry_max_ms_));
      if (stopping()) wait = std::min<int64_t>(wait, 1000);
      sleep_ms(wait);
      interval = std::min(interval * 2, retry_max_ms_);
    }
  }

  // Sends one chunk and sorts its items into done / dead letter / failed (retry).
  void send_chunk(Session& s, std::string_view body) {
    net::HttpResponse response;
    if (!send(s, body, response)) {
      if (bulk_failures_) bulk_failures_->fetch_add(1, std::memory_order_relaxed);
      if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
      log_rate_limited(response.transport_failed()
                           ? fmt::format("[{}] bulk request failed ({}); retrying {} events", id_, response.error, s.chunk.size())
                           : fmt::format("[{}] bulk request answered {} ({}); retrying {} events", id_, response.status,
                                         response.body.substr(0, 300), s.chunk.size()));
      s.failed.insert(s.failed.end(), s.chunk.begin(), s.chunk.end());
      return;
    }
    bool errors = false;
    if (!es::parse_bulk_response(response.body, s.chunk.size(), s.results, errors)) {
      log_rate_limited(fmt::format("[{}] unreadable bulk response; retrying {} events", id_, s.chunk.size()));
      s.failed.insert(s.failed.end(), s.chunk.begin(), s.chunk.end());
      return;
    }
    if (!errors) {
      for (uint32_t index : s.chunk) s.items[index].done = true;
      return;
    }
    for (size_t k = 0; k < s.chunk.size(); ++k) {
      Item& item = s.items[s.chunk[k]];
      const es::ItemResult& result = s.results[k];
      switch (es::classify_item(result.status, dlq_custom_codes_)) {
        case es::ItemOutcome::Done: item.done = true; break;
        case es::ItemOutcome::Conflict:
          item.done = true;
          if (conflicts_) conflicts_->fetch_add(1, std::memory_order_relaxed);
          if (!silenced(result.error) && item.action != Action::Create)
            log_rate_limited(fmt::format("[{}] Failed action (409, not retried): {}", id_, result.error));
          break;
        case es::ItemOutcome::DeadLetter:
          item.done = true;
          reject(*item.event,
                 fmt::format("Could not index event to Elasticsearch. status: {}, action: [\"{}\", {{:_index=>\"{}\"}}]",
                             result.status, action_name(item.action), index_of(s, item)),
                 result.error);
          break;
        case es::ItemOutcome::Retry:
          s.failed.push_back(s.chunk[k]);
          if (!silenced(result.error))
            log_rate_limited(fmt::format("[{}] retrying failed action (status {}): {}", id_, result.status, result.error));
          break;
      }
    }
  }

  // The _index of an item, read back from its action line (only for messages about rejected items).
  std::string index_of(const Session& s, const Item& item) const {
    std::string_view text(s.serialized.data() + item.offset, item.length);
    Value action;
    if (!json_parse(text.substr(0, text.find('\n')), action) || !action.is_object() || action.as_object().empty()) return "";
    const Value& meta = action.as_object().begin()->value;
    const Value* index = meta.is_object() ? meta.as_object().find("_index") : nullptr;
    return index && index->is_string() ? index->as_string() : "";
  }

  // Waits between retries; a stopping pipeline cuts the wait to at most 1 s.
  void sleep_ms(int64_t ms) {
    int64_t start = steady_ms();
    for (;;) {
      int64_t elapsed = steady_ms() - start;
      if (elapsed >= ms || (stopping() && elapsed >= 1000)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(50, ms - elapsed)));
    }
  }

  std::string id_;
  PluginMetrics* metrics_;
  const std::atomic<bool>* stopping_;
  DeadLetterWriter* dlq_;

  bool data_stream_ = false;
  std::string ds_type_, ds_dataset_, ds_namespace_;
  bool ds_auto_routing_ = true, ds_sync_fields_ = true;
  Template index_, action_;
  std::optional<Template> document_id_, routing_, pipeline_, version_, upsert_;
  std::string version_type_;
  bool doc_as_upsert_ = false;
  int64_t retry_on_conflict_ = 1;
  std::vector<int> dlq_custom_codes_;
  bool dlq_on_failed_index_ = true;
  std::vector<std::string> silenced_errors_;
  int64_t retry_initial_ms_ = 2000, retry_max_ms_ = 64000;
  int compression_level_ = 1;
  std::string bulk_suffix_, healthcheck_path_;
  std::vector<net::HttpHeader> headers_;
  net::HttpClientOptions client_options_;
  std::unique_ptr<HostPool> hosts_;

  std::mutex sessions_mutex_;
  std::vector<std::unique_ptr<Session>> free_sessions_;
  std::atomic<int64_t> last_log_ms_{0};

  std::atomic<uint64_t>* bulk_requests_ = nullptr;
  std::atomic<uint64_t>* bulk_failures_ = nullptr;
  std::atomic<uint64_t>* retried_ = nullptr;
  std::atomic<uint64_t>* dead_lettered_ = nullptr;
  std::atomic<uint64_t>* conflicts_ = nullptr;
  std::atomic<uint64_t>* bytes_sent_ = nullptr;
};

const RegisterOutput registration{elasticsearch_schema(), [](const Options& options, PluginContext& ctx) {
                                    return std::make_unique<ElasticsearchOutput>(options, ctx);
                                  }};

}  // namespace
}  // namespace sluice
