// The `udp` input: one event per datagram (codec `plain` by default), as Logstash's udp input.
// The sender's address goes to `host` (ECS disabled) or `[host][ip]` (ECS). Datagrams the kernel
// dropped because the socket buffer was full are counted (SO_RXQ_OVFL) and shown in the monitoring
// API as the plugin counter `kernel_drops`.
#include <atomic>
#include <memory>
#include <string>

#include "config/parser.h"
#include "core/field_ref.h"
#include "net/udp_receiver.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

class UdpInput final : public Input {
 public:
  UdpInput(const Options& options, PluginContext& ctx) : metrics_(ctx.metrics) {
    config_.host = options.get_string("host");
    int64_t port = options.get_int("port");
    if (port < 0 || port > 65535) throw config::ConfigError(options.position("port"), "udp input: port must be 0..65535");
    config_.port = int(port);
    int64_t buffer = options.get_int("buffer_size");
    if (buffer < 1 || buffer > 65536) {
      throw config::ConfigError(options.position("buffer_size"), "udp input: buffer_size must be 1..65536");
    }
    config_.max_datagram = size_t(buffer);
    if (options.has("receive_buffer_bytes")) config_.receive_buffer_bytes = size_t(options.get_int("receive_buffer_bytes"));
    std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                                                       : (ctx.settings ? ctx.settings->ecs_compatibility : "v8");
    std::string source_field = options.has("source_ip_fieldname") ? options.get_string("source_ip_fieldname")
                                                                  : (ecs == "disabled" ? "host" : "[host][ip]");
    source_ref_ = FieldRef::of(source_field);
    codec_ = ctx.make_codec(options.get_codec());
    log_ = logging::get("sluice.inputs.udp");
    if (metrics_) {
      drops_ = &metrics_->counter("kernel_drops");
      received_ = &metrics_->counter("datagrams_received");
    }
  }

  void run(InputContext& ctx) override {
    std::unique_ptr<net::UdpReceiver> receiver;
    while (!stop_.load() && !ctx.stopping()) {
      try {
        receiver = std::make_unique<net::UdpReceiver>(config_);
        break;
      } catch (const std::exception& e) {
        log_->error("udp input: {}; retrying in 5 s", e.what());
        if (ctx.wait_for_stop(5000)) return;
      }
    }
    if (!receiver) return;
    log_->info("udp input listening on {}:{}", config_.host, receiver->port());
    class Sink final : public EventSink {
     public:
      Sink(UdpInput& input, InputContext& ctx) : input_(input), ctx_(ctx) {}
      void accept(Event* event) override {
        if (!event->get(input_.source_ref_)) event->put(input_.source_ref_).set_string(*ip);
        if (!ctx_.push(event)) input_.stop();
      }
      const std::string* ip = nullptr;

     private:
      UdpInput& input_;
      InputContext& ctx_;
    } sink(*this, ctx);
    while (!stop_.load() && !ctx.stopping()) {
      int got = receiver->receive(200, [&](std::string_view data, const std::string& ip, int) {
        sink.ip = &ip;
        codec_->decode_unit(data, sink);
      });
      if (got > 0) {
        ctx.flush();
        if (received_) received_->fetch_add(uint64_t(got), std::memory_order_relaxed);
      } else if (got < 0) {
        log_->warn("udp input: receive failed");
        if (ctx.wait_for_stop(100)) break;
      }
      if (drops_) drops_->store(receiver->kernel_drops(), std::memory_order_relaxed);
    }
    ctx.flush();
  }

  void stop() override { stop_.store(true); }

 private:
  PluginMetrics* metrics_;
  net::UdpConfig config_;
  FieldRef source_ref_;
  std::unique_ptr<Codec> codec_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<uint64_t>* drops_ = nullptr;
  std::atomic<uint64_t>* received_ = nullptr;
  std::atomic<bool> stop_{false};
};

PluginSchema udp_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Input;
  schema.name = "udp";
  schema.doc =
      "Reads one event per UDP datagram (codec `plain` by default). Listens on 127.0.0.1 unless `host` says "
      "otherwise. Kernel drops (receive buffer full) are counted in the plugin counter `kernel_drops`.";
  auto add = [&](OptionSpec spec) { schema.options.push_back(std::move(spec)); };
  add(option_spec("host", OptionType::String, cv_string("127.0.0.1"),
                  "Address to listen on (sluice default 127.0.0.1; `0.0.0.0` or `::` for every interface)."));
  OptionSpec port = option_spec("port", OptionType::Number, std::nullopt, "UDP port to listen on.");
  port.required = true;
  add(port);
  add(option_spec("buffer_size", OptionType::Number, cv_number(65536), "Largest datagram read (bytes); longer are cut."));
  add(option_spec("receive_buffer_bytes", OptionType::Number, std::nullopt,
                  "Socket receive buffer (SO_RCVBUF); default the system's."));
  add(option_spec("workers", OptionType::Number, cv_number(2),
                  "Accepted for compatibility: sluice decodes on the receiving thread."));
  add(option_spec("queue_size", OptionType::Number, cv_number(2000),
                  "Accepted for compatibility: datagrams wait in the socket buffer, not in a second queue."));
  add(option_spec("source_ip_fieldname", OptionType::String, std::nullopt,
                  "Field for the sender's address (default `host`, or `[host][ip]` under ECS)."));
  add(option_spec("codec", OptionType::Codec, cv_string("plain"), "Decodes each datagram (default plain)."));
  add(option_spec("ecs_compatibility", OptionType::String, std::nullopt,
                  "`disabled`: `host`; `v1`, `v8`: `[host][ip]`. Default: pipeline.ecs_compatibility.",
                  {"disabled", "v1", "v8"}));
  return schema;
}

const RegisterInput kRegisterUdp{udp_schema(), [](const Options& options, PluginContext& ctx) -> std::unique_ptr<Input> {
                                   return std::make_unique<UdpInput>(options, ctx);
                                 }};

}  // namespace
}  // namespace sluice
