// The `tcp` input (server mode): reads events from TCP connections (optionally TLS) through the
// shared listener layer (src/net/tcp_server.h), one line each with the default `line` codec.
// Sets the peer's address as Logstash's tcp input does: `host`, `port`, `[@metadata][ip_address]`,
// `sslsubject` (ECS disabled) or `[@metadata][input][tcp][source][name|ip|port]`,
// `[@metadata][input][tcp][tls][client][subject]` (ECS v1/v8).
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "config/parser.h"
#include "core/field_ref.h"
#include "net/framing.h"
#include "net/listener_options.h"
#include "net/tcp_server.h"
#include "runtime/codec_unit_decoder.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

constexpr const char* kTruncatedTag = "_line_truncated";

struct TcpFields {
  FieldRef host, ip, port, subject;
};

TcpFields tcp_fields(bool ecs) {
  if (ecs) {
    return {FieldRef::of("[@metadata][input][tcp][source][name]"), FieldRef::of("[@metadata][input][tcp][source][ip]"),
            FieldRef::of("[@metadata][input][tcp][source][port]"),
            FieldRef::of("[@metadata][input][tcp][tls][client][subject]")};
  }
  return {FieldRef::of("host"), FieldRef::of("[@metadata][ip_address]"), FieldRef::of("port"), FieldRef::of("sslsubject")};
}

void add_peer_fields(Event& event, const TcpFields& f, std::string_view ip, int64_t port, std::string_view subject) {
  if (!event.get(f.host)) event.put(f.host).set_string(ip);
  if (!event.get(f.ip)) event.put(f.ip).set_string(ip);
  if (!event.get(f.port)) event.put(f.port).set_int(port);
  if (!subject.empty() && !event.get(f.subject)) event.put(f.subject).set_string(subject);
}

// Lines decoded on the workers (InputContext::push_unit) when the codec decodes each line on its
// own: the event is built on the core that filters it. The peer travels as the unit's origin,
// "ip port subject" (the subject may hold spaces; it comes last).
class TcpUnitDecoder final : public CodecUnitDecoder {
 public:
  TcpUnitDecoder(const Codec& codec, const TcpFields& fields) : CodecUnitDecoder(codec), fields_(fields) {}

  static std::string origin(const std::string& ip, int port, const std::string& subject) {
    return ip + ' ' + std::to_string(port) + ' ' + subject;
  }

 private:
  void add_fields(Event& event, std::string_view origin) const override {
    size_t space = origin.find(' ');
    std::string_view ip = origin.substr(0, space);
    std::string_view rest = space == std::string_view::npos ? std::string_view() : origin.substr(space + 1);
    int64_t port = 0;
    size_t i = 0;
    for (; i < rest.size() && rest[i] >= '0' && rest[i] <= '9'; ++i) port = port * 10 + (rest[i] - '0');
    std::string_view subject = i + 1 < rest.size() ? rest.substr(i + 1) : std::string_view();
    add_peer_fields(event, fields_, ip, port, subject);
  }

  const TcpFields& fields_;
};

net::ListenerOptionDefaults tcp_listener_defaults() {
  net::ListenerOptionDefaults d;
  d.port = 0;  // required
  d.client_authentication = "required";  // Logstash's default; acts as `none` without CAs
  d.legacy_ssl_aliases = true;
  d.idle_timeout_seconds = 0;
  return d;
}

class TcpInput final : public Input {
 public:
  TcpInput(const Options& options, PluginContext& ctx) : metrics_(ctx.metrics) {
    std::string mode = options.get_string("mode");
    if (mode == "client") {
      throw config::ConfigError(options.position("mode"),
                                "tcp input: mode `client` is not supported by sluice (use mode `server`)");
    }
    listener_ = net::listener_config(options, tcp_listener_defaults(), "sluice.inputs.tcp");
    std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                                                       : (ctx.settings ? ctx.settings->ecs_compatibility : "v8");
    fields_ = tcp_fields(ecs != "disabled");
    auto codec_block = options.get_codec();
    codec_ = ctx.make_codec(codec_block);
    // Line-oriented codecs are framed here, with the size cap; others (plain, a custom
    // delimiter) get the byte stream as read, as in Logstash.
    bool custom_delimiter = false;
    for (const auto& attr : codec_block->attributes) custom_delimiter |= attr.name == "delimiter";
    const std::string& name = codec_block->name;
    framed_ = !custom_delimiter && (name == "line" || name == "json_lines" || name == "json" || name == "cef");
    int64_t max_line = options.get_int("max_line_bytes");
    if (max_line < 1) {
      throw config::ConfigError(options.position("max_line_bytes"), "tcp input: max_line_bytes must be >= 1");
    }
    max_line_bytes_ = size_t(max_line);
    close_on_long_line_ = options.get_string("max_line_action") == "close";
    if (framed_ && codec_->decodes_units_independently())
      unit_decoder_ = std::make_unique<const TcpUnitDecoder>(*codec_, fields_);
    log_ = logging::get("sluice.inputs.tcp");
  }

  void run(InputContext& ctx) override {
    while (!stop_requested_.load() && !ctx.stopping()) {
      try {
        auto server = std::make_unique<net::TcpServer>(listener_, [this, &ctx] {
          return std::make_unique<Handler>(*this, ctx);
        });
        std::lock_guard lock(server_mutex_);
        server_ = std::move(server);
      } catch (const std::exception& e) {
        log_->error("tcp input: {}; retrying in 5 s", e.what());
        if (ctx.wait_for_stop(5000)) break;
        continue;
      }
      log_->info("tcp input listening on {}:{}{}", listener_.host, server_->port(), listener_.tls_enabled ? " (TLS)" : "");
      if (stop_requested_.load()) break;
      server_->run();
      ctx.flush();
      publish_stats();
      break;
    }
  }

  void stop() override {
    stop_requested_.store(true);
    std::lock_guard lock(server_mutex_);
    if (server_) server_->stop();
  }

 private:
  void publish_stats() {
    if (!metrics_ || !server_) return;
    const auto& st = server_->stats();
    metrics_->counter("connections_accepted").store(st.accepted.load());
    metrics_->counter("connections_rejected").store(st.rejected_max_connections.load());
    metrics_->counter("connections_idle_closed").store(st.closed_idle.load());
    metrics_->counter("tls_handshake_failures").store(st.tls_handshake_failures.load());
  }

  class Handler final : public net::ConnectionHandler, public EventSink {
   public:
    Handler(TcpInput& input, InputContext& ctx)
        : input_(input), ctx_(ctx), codec_(input.codec_->clone()), framer_(input.max_line_bytes_) {}

    void on_open(const std::shared_ptr<net::Connection>& conn) override {
      ip_ = conn->peer_ip();
      port_ = conn->peer_port();
      subject_ = conn->peer_subject();
      if (input_.unit_decoder_) origin_ = TcpUnitDecoder::origin(ip_, port_, subject_);
      input_.publish_stats();
    }

    void on_data(net::Connection& conn, std::string_view bytes) override {
      if (!input_.framed_) {
        codec_->decode(bytes, *this);
      } else {
        framer_.feed(bytes, [&](std::string_view line, bool truncated) { on_line(conn, line, truncated); });
      }
      input_.ctx_flush(ctx_);
    }

    void on_close(net::Connection& conn, const std::string& reason) override {
      // The last line without newline is an event too (Logstash flushes the codec at close).
      if (input_.framed_) {
        framer_.finish([&](std::string_view line, bool truncated) { on_line(conn, line, truncated); });
      } else {
        codec_->flush(*this);
      }
      ctx_.flush();
      input_.publish_stats();
    }

    void accept(Event* event) override {
      add_peer_fields(*event, input_.fields_, ip_, port_, subject_);
      if (truncated_) event->add_tag(kTruncatedTag);
      if (!ctx_.push(event)) input_.stop();
    }

   private:
    void on_line(net::Connection& conn, std::string_view line, bool truncated) {
      if (closing_) return;  // not conn.closed(): the last line arrives in on_close
      if (truncated) {
        if (input_.close_on_long_line_) {
          closing_ = true;
          conn.close("line longer than max_line_bytes (" + std::to_string(input_.max_line_bytes_) + ")");
          return;
        }
        if (!warned_) {
          warned_ = true;
          input_.log_->warn("tcp input: line from {}:{} longer than max_line_bytes ({}): cut, tagged {}", ip_, port_,
                            input_.max_line_bytes_, kTruncatedTag);
        }
      }
      if (!truncated && input_.unit_decoder_) {
        if (!ctx_.push_unit(*input_.unit_decoder_, line, origin_, nullptr)) input_.stop();
        return;
      }
      truncated_ = truncated;
      codec_->decode_unit(line, *this);
      truncated_ = false;
    }

    TcpInput& input_;
    InputContext& ctx_;
    std::unique_ptr<Codec> codec_;
    net::LineFramer framer_;
    std::string ip_, subject_;
    std::string origin_;  // the peer, for units decoded on the workers
    int port_ = 0;
    bool truncated_ = false, warned_ = false, closing_ = false;
  };

  // Pushes are buffered by the context: hand them over after each read.
  void ctx_flush(InputContext& ctx) { ctx.flush(); }

  PluginMetrics* metrics_;
  net::ListenerConfig listener_;
  TcpFields fields_;
  std::unique_ptr<Codec> codec_;
  std::unique_ptr<const TcpUnitDecoder> unit_decoder_;  // when lines are decoded on the workers
  bool framed_ = true;
  size_t max_line_bytes_ = 1 << 20;
  bool close_on_long_line_ = false;
  std::shared_ptr<spdlog::logger> log_;
  std::mutex server_mutex_;  // stop() comes from another thread
  std::unique_ptr<net::TcpServer> server_;
  std::atomic<bool> stop_requested_{false};
};

PluginSchema tcp_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Input;
  schema.name = "tcp";
  schema.doc =
      "Reads events over TCP (optionally TLS), one line each with the default `line` codec. Listens on 127.0.0.1 "
      "unless `host` says otherwise. A full pipeline stops reading (senders block); nothing is dropped. Sets "
      "`host`/`port`/`[@metadata][ip_address]` (ECS disabled) or `[@metadata][input][tcp][source][...]` (ECS).";
  schema.options = net::listener_option_specs(tcp_listener_defaults());
  schema.options.push_back(option_spec("mode", OptionType::String, cv_string("server"),
                                       "`server` (listen). `client` is not supported by sluice.", {"server", "client"}));
  schema.options.push_back(option_spec("codec", OptionType::Codec, cv_string("line"),
                                       "Decodes the stream (default `line`; `json_lines`, `json`, `cef` are framed by "
                                       "newline; `plain` gets each read as it comes)."));
  schema.options.push_back(option_spec("ssl_verification_mode", OptionType::String, std::nullopt,
                                       "Client mode only (not supported); accepted for compatibility.", {"full", "none"}));
  schema.options.push_back(option_spec("proxy_protocol", OptionType::Boolean, cv_bool(false),
                                       "Not supported by sluice; must stay false."));
  schema.options.push_back(option_spec("max_line_bytes", OptionType::Number, cv_number(1 << 20),
                                       "sluice: longest line (bytes) accepted; see max_line_action."));
  schema.options.push_back(option_spec("max_line_action", OptionType::String, cv_string("truncate"),
                                       "sluice: a longer line is cut to max_line_bytes and tagged `_line_truncated` "
                                       "(`truncate`), or its connection is closed (`close`).",
                                       {"truncate", "close"}));
  OptionSpec ecs = option_spec("ecs_compatibility", OptionType::String, std::nullopt,
                               "`disabled`: host/port fields; `v1`, `v8`: [@metadata][input][tcp][...]. "
                               "Default: pipeline.ecs_compatibility.",
                               {"disabled", "v1", "v8"});
  schema.options.push_back(ecs);
  return schema;
}

const RegisterInput kRegisterTcp{tcp_schema(), [](const Options& options, PluginContext& ctx) -> std::unique_ptr<Input> {
                                   if (options.get_bool("proxy_protocol")) {
                                     throw config::ConfigError(options.position("proxy_protocol"),
                                                               "tcp input: proxy_protocol is not supported by sluice");
                                   }
                                   return std::make_unique<TcpInput>(options, ctx);
                                 }};

}  // namespace
}  // namespace sluice
