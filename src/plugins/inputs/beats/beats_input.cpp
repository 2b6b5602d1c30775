// The `beats` input: Lumberjack v2 (Filebeat, Winlogbeat, Metricbeat... and v1 data frames) on
// the shared listener layer (src/net). Each window the client announces becomes one AckToken:
// its events carry it, and the ACK for the window's last sequence is sent only once every
// event of the window went through every output (or was dropped / dead-lettered), windows of
// a connection acknowledged in order. While a window waits for its ACK the connection is not
// read (memory bounded to one window per connection; the client is waiting anyway) and a
// keep-alive ACK (sequence 0) tells the client every few seconds that the server is alive.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/event_pool.h"
#include "core/field_ref.h"
#include "core/json.h"
#include "net/listener_options.h"
#include "net/tcp_server.h"
#include "plugins/inputs/beats/lumberjack.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

constexpr int kKeepAliveMs = 5000;  // as Logstash's beats input (writer idle 5 s while a batch is in flight)

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Shared by a connection's handler (loop thread) and its windows' ack listeners (worker threads).
struct ConnectionState {
  struct Window {
    uint64_t id = 0;
    uint32_t last_sequence = 0;
    uint8_t version = '2';
    bool acked = false;
  };

  std::shared_ptr<net::Connection> conn;
  std::mutex mutex;
  std::deque<Window> unacked;  // complete windows, oldest first
  int64_t last_sent_ms = 0;
  std::atomic<uint64_t>* acks_sent = nullptr;

  // A window was fully read: from now on its ACK is awaited; stop reading until it came.
  void window_complete(const Window& window) {
    std::lock_guard lock(mutex);
    if (unacked.empty()) last_sent_ms = steady_ms();
    unacked.push_back(window);
    conn->pause_reading();
  }

  // Any thread (the one releasing the window's last event).
  void window_acked(uint64_t id) {
    std::lock_guard lock(mutex);
    for (Window& window : unacked)
      if (window.id == id) window.acked = true;
    bool any = false;
    Window last;
    while (!unacked.empty() && unacked.front().acked) {
      last = unacked.front();
      unacked.pop_front();
      any = true;
    }
    if (!any) return;
    std::string frame;
    lumberjack::append_ack(frame, last.version, last.last_sequence);
    if (conn->send(frame) && acks_sent) acks_sent->fetch_add(1, std::memory_order_relaxed);
    last_sent_ms = steady_ms();
    if (unacked.empty()) conn->resume_reading();
  }

  void keep_alive(int64_t now) {
    std::lock_guard lock(mutex);
    if (unacked.empty() || now - last_sent_ms < kKeepAliveMs) return;
    std::string frame;
    lumberjack::append_ack(frame, unacked.front().version, 0);
    conn->send(frame);
    last_sent_ms = now;
  }
};

// The listener of one window's token; deletes itself once called.
class WindowAck final : public AckListener {
 public:
  WindowAck(std::shared_ptr<ConnectionState> state, uint64_t id) : state_(std::move(state)), id_(id) {}
  void acked(uint64_t) override {
    state_->window_acked(id_);
    delete this;
  }

 private:
  std::shared_ptr<ConnectionState> state_;
  uint64_t id_;
};

class CollectSink final : public EventSink {
 public:
  void accept(Event* event) override { events.push_back(event); }
  std::vector<Event*> events;
};

struct BeatsSettings {
  bool ecs = true;
  bool add_hostname = false;
  bool include_codec_tag = true;
  bool plain_codec = true;  // the message stays as sent: no codec run needed
  bool event_original = false;  // plain fast path: [event][original] as Logstash's default codec under ECS
  std::string codec_name = "plain";
  bool source_metadata = true;   // enrich: source_metadata
  bool ssl_peer_metadata = false;  // enrich: ssl_peer_metadata (only with TLS and client authentication)
  FieldRef host_ip_ref;     // [@metadata][input][beats][host][ip] or [@metadata][ip_address]
  FieldRef tls_status_ref, tls_protocol_ref, tls_subject_ref, tls_cipher_ref;
  lumberjack::Limits limits;
};

// Logstash's `enrich` categories.
constexpr const char* kSourceMetadata = "source_metadata";
constexpr const char* kCodecMetadata = "codec_metadata";
constexpr const char* kSslPeerMetadata = "ssl_peer_metadata";

// Which categories are on: `enrich` (a list of categories, or one of the aliases all, none,
// default), else the defaults (source_metadata, codec_metadata). Throws ConfigError.
std::set<std::string> active_enrichments(const Options& options) {
  std::set<std::string> defaults = {kSourceMetadata, kCodecMetadata};
  if (!options.has("enrich")) return defaults;
  for (const char* deprecated : {"ssl_peer_metadata", "include_codec_tag"}) {
    if (options.has(deprecated))
      throw config::ConfigError(options.position("enrich"),
                                fmt::format("beats input: both `enrich` and (deprecated) `{}` were provided; use only "
                                            "`enrich`",
                                            deprecated));
  }
  auto values = options.get_string_array("enrich");
  std::set<std::string> active;
  for (const std::string& value : values) {
    bool alias = value == "all" || value == "none" || value == "default";
    if (!alias && value != kSourceMetadata && value != kCodecMetadata && value != kSslPeerMetadata)
      throw config::ConfigError(options.position("enrich"),
                                fmt::format("beats input: unknown `enrich` value `{}` (expected source_metadata, "
                                            "codec_metadata, ssl_peer_metadata, all, none or default)",
                                            value));
    if (alias && values.size() > 1)
      throw config::ConfigError(options.position("enrich"),
                                fmt::format("beats input: when an alias is given to `enrich` it must be the only value "
                                            "(got `{}` among {} values)",
                                            value, values.size()));
    if (value == "all") return {kSourceMetadata, kCodecMetadata, kSslPeerMetadata};
    if (value == "none") return {};
    if (value == "default") return defaults;
    active.insert(value);
  }
  return active;
}

class BeatsInput;

class BeatsHandler final : public net::ConnectionHandler, public lumberjack::FrameHandler {
 public:
  BeatsHandler(BeatsInput& input, InputContext& ctx);
  void on_open(const std::shared_ptr<net::Connection>& conn) override;
  void on_data(net::Connection& conn, std::string_view bytes) override;
  void on_close(net::Connection& conn, const std::string& reason) override;

  void on_window(uint8_t version, uint32_t size) override;
  void on_json(uint8_t version, uint32_t sequence, std::string_view payload) override;
  void on_data(uint8_t version, uint32_t sequence,
               const std::vector<std::pair<std::string_view, std::string_view>>& pairs) override;

 private:
  void open_window(uint8_t version, uint32_t size);
  void finish_window();
  void emit(Object& hash, uint8_t version, uint32_t sequence);
  void push(Event* event, uint32_t sequence);
  void add_tls_peer(Event& event, const net::Connection& conn);

  BeatsInput& input_;
  InputContext& ctx_;
  const BeatsSettings& settings_;
  std::shared_ptr<ConnectionState> state_ = std::make_shared<ConnectionState>();
  lumberjack::FrameParser parser_;
  std::unique_ptr<Codec> codec_;  // per connection (codecs keep stream state)
  std::string failure_;

  // The window being read.
  AckToken* token_ = nullptr;
  uint64_t next_window_id_ = 0;
  uint8_t window_version_ = '2';
  uint32_t expected_ = 0;  // 0: no window frame was sent; the window ends with the bytes at hand
  uint32_t received_ = 0;
  uint32_t last_sequence_ = 0;

  Value parsed_;
  Object scratch_;
  CollectSink decoded_;
};

class BeatsInput final : public Input {
 public:
  BeatsInput(const Options& options, PluginContext& ctx) : metrics_(ctx.metrics) {
    defaults_.port = 5044;
    defaults_.idle_timeout_name = "client_inactivity_timeout";
    defaults_.idle_timeout_seconds = 60;
    listener_ = net::listener_config(options, defaults_, "sluice.inputs.beats");
    std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                                                       : (ctx.settings ? ctx.settings->ecs_compatibility : "v8");
    settings_.ecs = ecs != "disabled";
    settings_.host_ip_ref =
        FieldRef::of(settings_.ecs ? "[@metadata][input][beats][host][ip]" : "[@metadata][ip_address]");
    settings_.add_hostname = options.get_bool("add_hostname");
    std::set<std::string> enrich = active_enrichments(options);
    bool codec_metadata = enrich.count(kCodecMetadata) > 0;
    settings_.include_codec_tag = options.has("include_codec_tag") ? options.get_bool("include_codec_tag") : codec_metadata;
    settings_.source_metadata = enrich.count(kSourceMetadata) > 0;
    settings_.ssl_peer_metadata =
        options.has("ssl_peer_metadata") ? options.get_bool("ssl_peer_metadata") : enrich.count(kSslPeerMetadata) > 0;
    auto codec_block = options.get_codec();
    codec_ = ctx.make_codec(codec_block);
    settings_.codec_name = codec_block ? codec_block->name : "plain";
    settings_.plain_codec = settings_.codec_name == "plain" && codec_block->attributes.empty();
    // Logstash's plain codec keeps the line in [event][original] under ECS (the pipeline's setting:
    // the codec does not inherit the input's); without codec_metadata and without an explicit
    // codec, Logstash swaps in a plain codec with ECS disabled.
    bool pipeline_ecs = !ctx.settings || ctx.settings->ecs_compatibility != "disabled";
    settings_.event_original = settings_.plain_codec && pipeline_ecs && (codec_metadata || options.has("codec"));
    settings_.tls_status_ref = FieldRef::of("[@metadata][tls_peer][status]");
    settings_.tls_protocol_ref =
        FieldRef::of(settings_.ecs ? "[@metadata][input][beats][tls][version_protocol]" : "[@metadata][tls_peer][protocol]");
    settings_.tls_subject_ref =
        FieldRef::of(settings_.ecs ? "[@metadata][input][beats][tls][client][subject]" : "[@metadata][tls_peer][subject]");
    settings_.tls_cipher_ref =
        FieldRef::of(settings_.ecs ? "[@metadata][input][beats][tls][cipher]" : "[@metadata][tls_peer][cipher_suite]");
    if (settings_.ssl_peer_metadata && listener_.tls_enabled) {
      if (listener_.tls.client_authentication == net::ClientAuthentication::None) {
        if (!listener_.tls.certificate_authorities.empty())
          throw config::ConfigError(options.position(options.has("enrich") ? "enrich" : "ssl_peer_metadata"),
                                    "beats input: `enrich => [ssl_peer_metadata]` needs ssl_client_authentication "
                                    "`optional` or `required`");
        settings_.ssl_peer_metadata = false;  // no client authentication: nothing to report (as Logstash)
      }
    } else {
      settings_.ssl_peer_metadata = false;
    }
    int64_t max_frame = options.get_int("max_frame_bytes");
    int64_t max_inflated = options.get_int("max_decompressed_bytes");
    if (max_frame < 1024)
      throw config::ConfigError(options.position("max_frame_bytes"), "beats input: max_frame_bytes must be >= 1024");
    if (max_inflated < 1024)
      throw config::ConfigError(options.position("max_decompressed_bytes"),
                                "beats input: max_decompressed_bytes must be >= 1024");
    settings_.limits.max_frame_bytes = size_t(max_frame);
    settings_.limits.max_decompressed_bytes = size_t(max_inflated);
    log_ = logging::get("sluice.inputs.beats");
    if (metrics_) acks_sent_ = &metrics_->counter("acks_sent");
  }

  void run(InputContext& ctx) override {
    std::unique_ptr<net::TcpServer> server;
    while (!stop_requested_.load() && !ctx.stopping()) {
      try {
        server = std::make_unique<net::TcpServer>(listener_, [this, &ctx] {
          return std::make_unique<BeatsHandler>(*this, ctx);
        });
        break;
      } catch (const std::exception& e) {
        log_->error("beats input: {}; retrying in 5 s", e.what());
        if (ctx.wait_for_stop(5000)) return;
      }
    }
    if (!server) return;
    {
      std::lock_guard lock(server_mutex_);
      server_ = server.get();
    }
    log_->info("Starting input listener {{\"address\"=>\"{}:{}\"}}{}", listener_.host, server->port(),
               listener_.tls_enabled ? " (TLS)" : "");
    if (stop_requested_.load()) server->stop();
    std::atomic<bool> done{false};
    std::thread keeper([&] { keep_alive_loop(ctx, *server, done); });
    server->run();
    done.store(true);
    {
      std::lock_guard lock(keeper_mutex_);
      keeper_wake_.notify_all();
    }
    keeper.join();
    ctx.flush();
    {
      std::lock_guard lock(server_mutex_);
      server_ = nullptr;
    }
    publish_stats(*server);
  }

  void stop() override {
    stop_requested_.store(true);
    std::lock_guard lock(server_mutex_);
    if (server_) server_->stop();
  }

  const BeatsSettings& settings() const { return settings_; }
  std::unique_ptr<Codec> new_codec() const { return codec_->clone(); }
  std::atomic<uint64_t>* acks_sent() const { return acks_sent_; }
  const std::shared_ptr<spdlog::logger>& log() const { return log_; }

  void track(const std::shared_ptr<ConnectionState>& state) {
    std::lock_guard lock(states_mutex_);
    states_.push_back(state);
  }

 private:
  // Keep-alive ACKs, stop requests from the pipeline, and the monitoring counters.
  void keep_alive_loop(InputContext& ctx, net::TcpServer& server, std::atomic<bool>& done) {
    while (!done.load()) {
      {
        std::unique_lock lock(keeper_mutex_);
        keeper_wake_.wait_for(lock, std::chrono::milliseconds(500), [&] { return done.load(); });
      }
      if (done.load()) break;
      if (ctx.stopping()) server.stop();
      int64_t now = steady_ms();
      std::vector<std::shared_ptr<ConnectionState>> live;
      {
        std::lock_guard lock(states_mutex_);
        std::erase_if(states_, [](const std::weak_ptr<ConnectionState>& s) { return s.expired(); });
        for (auto& weak : states_)
          if (auto state = weak.lock()) live.push_back(std::move(state));
      }
      for (auto& state : live)
        if (!state->conn->closed()) state->keep_alive(now);
      publish_stats(server);
    }
  }

  void publish_stats(const net::TcpServer& server) {
    if (!metrics_) return;
    const auto& st = server.stats();
    metrics_->counter("connections_accepted").store(st.accepted.load());
    metrics_->counter("connections_rejected").store(st.rejected_max_connections.load());
    metrics_->counter("connections_idle_closed").store(st.closed_idle.load());
    metrics_->counter("tls_handshake_failures").store(st.tls_handshake_failures.load());
    metrics_->counter("current_connections").store(uint64_t(std::max<int64_t>(0, st.open.load())));
  }

  PluginMetrics* metrics_ = nullptr;
  std::atomic<uint64_t>* acks_sent_ = nullptr;
  net::ListenerOptionDefaults defaults_;
  net::ListenerConfig listener_;
  BeatsSettings settings_;
  std::unique_ptr<Codec> codec_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<bool> stop_requested_{false};
  std::mutex server_mutex_;
  net::TcpServer* server_ = nullptr;
  std::mutex keeper_mutex_;
  std::condition_variable keeper_wake_;
  std::mutex states_mutex_;
  std::vector<std::weak_ptr<ConnectionState>> states_;
};

// ---- BeatsHandler -------------------------------------------------------------------------

BeatsHandler::BeatsHandler(BeatsInput& input, InputContext& ctx)
    : input_(input), ctx_(ctx), settings_(input.settings()), parser_(input.settings().limits) {
  if (!settings_.plain_codec) codec_ = input.new_codec();
  state_->acks_sent = input.acks_sent();
}

void BeatsHandler::on_open(const std::shared_ptr<net::Connection>& conn) {
  state_->conn = conn;
  input_.track(state_);
}

void BeatsHandler::on_data(net::Connection& conn, std::string_view bytes) {
  if (!failure_.empty()) return;
  bool ok = parser_.feed(bytes, *this);
  if (!ok && failure_.empty()) failure_ = "invalid Lumberjack frame: " + parser_.error();
  if (!failure_.empty()) {
    if (token_) finish_window();  // what was read goes on; the client resends the window anyway
    ctx_.flush();
    input_.log()->warn("closing beats connection from {}:{}: {}", conn.peer_ip(), conn.peer_port(), failure_);
    conn.close(failure_);
    return;
  }
  // A client that sent no window frame gets its events acknowledged per read.
  if (token_ && expected_ == 0) finish_window();
  // Buffered events go to the queue now: the client waits for their ACK.
  ctx_.flush();
}

void BeatsHandler::on_close(net::Connection& conn, const std::string& reason) {
  (void)conn;
  (void)reason;
  if (token_) finish_window();
  ctx_.flush();
}

void BeatsHandler::open_window(uint8_t version, uint32_t size) {
  uint64_t id = next_window_id_++;
  token_ = AckToken::create(new WindowAck(state_, id), id);
  window_version_ = version;
  expected_ = size;
  received_ = 0;
  last_sequence_ = 0;
}

void BeatsHandler::finish_window() {
  ConnectionState::Window window;
  window.id = token_->chunk_id();
  window.last_sequence = last_sequence_;
  window.version = window_version_;
  state_->window_complete(window);
  AckToken* token = token_;
  token_ = nullptr;
  token->release();  // the input's own hold: from now on the window's events decide
}

void BeatsHandler::on_window(uint8_t version, uint32_t size) {
  if (!failure_.empty()) return;
  if (token_) finish_window();  // a new window before the last one was complete
  open_window(version, size);
  if (size == 0) finish_window();
}

void BeatsHandler::on_json(uint8_t version, uint32_t sequence, std::string_view payload) {
  if (!failure_.empty()) return;
  std::string error;
  if (!json_parse(payload, parsed_, &error)) {
    failure_ = fmt::format("invalid JSON in event {}: {}", sequence, error);
    return;
  }
  if (!parsed_.is_object()) {
    failure_ = fmt::format("event {} is JSON {}, not an object", sequence, type_name(parsed_.type()));
    return;
  }
  emit(parsed_.as_object(), version, sequence);
}

void BeatsHandler::on_data(uint8_t version, uint32_t sequence,
                           const std::vector<std::pair<std::string_view, std::string_view>>& pairs) {
  if (!failure_.empty()) return;
  Object& hash = parsed_.make_object();
  for (const auto& [key, value] : pairs) hash[key].set_string(value);
  emit(hash, version, sequence);
}

void BeatsHandler::emit(Object& hash, uint8_t version, uint32_t sequence) {
  if (!token_) open_window(version, 0);
  const std::string& ip = state_->conn ? state_->conn->peer_ip() : std::string();
  bool had_metadata = false;
  if (const Value* metadata = hash.find("@metadata")) had_metadata = metadata->is_object();

  // Filebeat sends its line as `message`, the old Lumberjack forwarder as `line`: that field
  // goes through the codec; events without one are taken as they are.
  const char* target = nullptr;
  if (const Value* m = hash.find("message"); m && !m->is_null()) target = "message";
  else if (const Value* l = hash.find("line"); l && !l->is_null()) target = "line";

  auto finish = [&](Event* event, std::string_view tag_kind) {
    if (settings_.source_metadata && had_metadata && !ip.empty()) event->put(settings_.host_ip_ref).set_string(ip);
    if (settings_.ssl_peer_metadata && state_->conn) add_tls_peer(*event, *state_->conn);
    if (settings_.add_hostname) {
      static const FieldRef beat_hostname = FieldRef::of("[beat][hostname]");
      static const FieldRef host = FieldRef::of("host");
      const Value* name = event->get(beat_hostname);
      const Value* current = event->get(host);
      if (name && (!current || current->is_null())) event->set(host, *name);
    }
    if (settings_.include_codec_tag) {
      if (tag_kind.empty()) event->add_tag("beats_input_raw_event");
      else event->add_tag(fmt::format("beats_input_codec_{}_applied", tag_kind));
    }
    push(event, sequence);
  };

  if (!target || settings_.plain_codec) {
    if (target) {
      Value* line = hash.find(target);
      if (!line->is_string()) line->set_string(line->to_text());
      if (std::string_view(target) == "line") {  // plain puts the text in `message`
        Value text;
        hash.take("line", text);
        hash["message"] = std::move(text);
      }
    }
    Event* event = ctx_.new_event();
    adopt_fields(*event, hash);
    if (target && settings_.event_original) {
      static const FieldRef original = FieldRef::of("[event][original]");
      static const FieldRef message = FieldRef::of("message");
      const Value* text = event->get(message);
      if (text && !event->get(original)) event->put(original) = *text;
    }
    finish(event, target ? std::string_view(settings_.codec_name) : std::string_view());
    return;
  }

  // A codec decodes the line; the other fields of the beat's event are set on what it made.
  Value line;
  hash.take(target, line);
  std::string text = line.is_string() ? line.as_string() : line.to_text();
  Value timestamp;
  bool has_timestamp = hash.take("@timestamp", timestamp);
  decoded_.events.clear();
  codec_->decode_unit(text, decoded_);
  for (Event* event : decoded_.events) {
    if (has_timestamp) {
      // Logstash keeps the codec's time when the beat's @timestamp does not parse.
      Event probe;
      Object holder;
      holder["@timestamp"] = timestamp;
      adopt_fields(probe, holder);
      if (!probe.has_tag("_timestampparsefailure")) event->set_timestamp(probe.timestamp());
    }
    for (const Object::Entry& entry : hash) {
      if (entry.key == "@metadata" && entry.value.is_object()) {
        for (const Object::Entry& meta : entry.value.as_object()) event->metadata()[meta.key] = meta.value;
      } else {
        event->fields()[entry.key] = entry.value;
      }
    }
    finish(event, settings_.codec_name);
  }
  decoded_.events.clear();
}

// Logstash's [@metadata][tls_peer]: "verified" with the protocol, subject and cipher suite when
// the client presented a certificate (it was verified in the handshake), else "unverified".
void BeatsHandler::add_tls_peer(Event& event, const net::Connection& conn) {
  if (conn.peer_subject_rfc2253().empty()) {
    event.put(settings_.tls_status_ref).set_string("unverified");
    return;
  }
  event.put(settings_.tls_status_ref).set_string("verified");
  event.put(settings_.tls_protocol_ref).set_string(conn.tls_protocol());
  event.put(settings_.tls_subject_ref).set_string(conn.peer_subject_rfc2253());
  event.put(settings_.tls_cipher_ref).set_string(conn.tls_cipher_suite());
}

void BeatsHandler::push(Event* event, uint32_t sequence) {
  event->attach_ack(token_);
  ctx_.push(event);
  ++received_;
  last_sequence_ = sequence;
  if (expected_ != 0 && received_ >= expected_) finish_window();
}

PluginSchema beats_schema() {
  net::ListenerOptionDefaults defaults;
  defaults.port = 5044;
  defaults.idle_timeout_name = "client_inactivity_timeout";
  defaults.idle_timeout_seconds = 60;
  PluginSchema schema;
  schema.kind = PluginKind::Input;
  schema.name = "beats";
  schema.doc =
      "Receives events from Elastic Beats (Lumberjack v2, compressed windows included) and Lumberjack v1 "
      "data frames. A window is acknowledged only once all of its events went through every output; while "
      "the pipeline is slow the client gets keep-alive ACKs.";
  schema.options = net::listener_option_specs(defaults);
  schema.options.push_back(option_spec("add_hostname", OptionType::Boolean, cv_bool(false),
                                       "Copy [beat][hostname] into `host` when the event has no `host` (deprecated "
                                       "in Logstash)."));
  OptionSpec codec_tag = option_spec("include_codec_tag", OptionType::Boolean, cv_bool(true),
                                     "Deprecated (use `enrich`): tag events `beats_input_codec_<codec>_applied` or "
                                     "`beats_input_raw_event`.");
  codec_tag.deprecated = true;
  schema.options.push_back(codec_tag);
  OptionSpec peer = option_spec("ssl_peer_metadata", OptionType::Boolean, cv_bool(false),
                                "Deprecated (use `enrich`): put the client certificate's details in "
                                "[@metadata][tls_peer] (needs ssl_client_authentication optional or required).");
  peer.deprecated = true;
  schema.options.push_back(peer);
  schema.options.push_back(option_spec(
      "enrich", OptionType::Array, std::nullopt,
      "What is added to each event: any of `source_metadata` (client address), `codec_metadata` (codec tag, "
      "[event][original] under ECS), `ssl_peer_metadata` (client certificate: [@metadata][tls_peer][status], "
      "protocol, subject, cipher suite), or one alias `all`, `none`, `default` (source_metadata + "
      "codec_metadata, the default)."));
  schema.options.push_back(option_spec("max_frame_bytes", OptionType::Number, cv_number(32 << 20),
                                       "sluice: largest frame accepted; a larger one closes the connection."));
  schema.options.push_back(option_spec("max_decompressed_bytes", OptionType::Number, cv_number(64 << 20),
                                       "sluice: largest size a compressed window may inflate to; beyond it the "
                                       "connection is closed."));
  schema.options.push_back(option_spec("ecs_compatibility", OptionType::String, std::nullopt,
                                       "`disabled`: client address in [@metadata][ip_address]; `v1`, `v8`: in "
                                       "[@metadata][input][beats][host][ip]. Default: pipeline.ecs_compatibility.",
                                       {"disabled", "v1", "v8"}));
  return schema;
}

const RegisterInput kRegisterBeats{beats_schema(), [](const Options& options, PluginContext& ctx) -> std::unique_ptr<Input> {
                                     return std::make_unique<BeatsInput>(options, ctx);
                                   }};

}  // namespace
}  // namespace sluice
