// The `syslog` input: RFC 3164 and RFC 5424 messages over UDP and TCP (newline or octet-counted
// framing, RFC 6587) on the same port, as Logstash's syslog input (which listens on both).
// Parsing gives the outcome of Logstash's default `grok_pattern` with a hand-written matcher
// (syslog3164.*); RFC 5424 messages (which Logstash leaves unparsed) are parsed too (syslog5424.*).
// A custom `grok_pattern` runs through the grok engine. Unparseable messages keep their text and
// get `_grokparsefailure_sysloginput` with priority 13, never dropped.
#include <cctz/time_zone.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config/parser.h"
#include "core/event_pool.h"
#include "core/field_ref.h"
#include "grok/grok_engine.h"
#include "net/framing.h"
#include "net/listener_options.h"
#include "net/tcp_server.h"
#include "net/udp_receiver.h"
#include "plugins/filters/date/date_parser.h"
#include "plugins/inputs/syslog/syslog3164.h"
#include "plugins/inputs/syslog/syslog5424.h"
#include "runtime/codec_unit_decoder.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

constexpr const char* kFailureTag = "_grokparsefailure_sysloginput";
constexpr const char* kDateFailureTag = "_dateparsefailure";

const std::vector<std::string> kFacilityLabels = {
    "kernel", "user-level", "mail", "system", "security/authorization", "syslogd", "line printer", "network news",
    "UUCP", "clock", "security/authorization", "FTP", "NTP", "log audit", "log alert", "clock", "local0", "local1",
    "local2", "local3", "local4", "local5", "local6", "local7"};
const std::vector<std::string> kSeverityLabels = {"Emergency", "Alert", "Critical", "Error",
                                                  "Warning", "Notice", "Informational", "Debug"};

// Where each piece goes, by ECS mode (Logstash's syslog input and its grok patterns).
struct SyslogFields {
  bool ecs = false;
  FieldRef priority, severity, facility, facility_label, severity_label, host_ip;
  FieldRef timestamp, timestamp8601, logsource, program, pid, message, original;
  FieldRef version, msgid, structured_data, procid;
};

SyslogFields syslog_fields(bool ecs) {
  SyslogFields f;
  f.ecs = ecs;
  auto r = [](const char* path) { return FieldRef::of(path); };
  f.timestamp = r("timestamp");
  f.timestamp8601 = r("timestamp8601");
  f.message = r("message");
  f.original = r("[event][original]");
  if (ecs) {
    f.priority = r("[log][syslog][priority]");
    f.severity = r("[log][syslog][severity][code]");
    f.facility = r("[log][syslog][facility][code]");
    f.facility_label = r("[log][syslog][facility][name]");
    f.severity_label = r("[log][syslog][severity][name]");
    f.host_ip = r("[host][ip]");
    f.logsource = r("[host][hostname]");
    f.program = r("[process][name]");
    f.pid = r("[process][pid]");
    f.version = r("[log][syslog][version]");
    f.msgid = r("[log][syslog][msgid]");
    f.structured_data = r("[log][syslog][structured_data]");
    f.procid = r("[log][syslog][procid]");
  } else {
    f.priority = r("priority");
    f.severity = r("severity");
    f.facility = r("facility");
    f.facility_label = r("facility_label");
    f.severity_label = r("severity_label");
    f.host_ip = r("host");
    f.logsource = r("logsource");
    f.program = r("program");
    f.pid = r("pid");
    f.version = r("syslog_version");
    f.msgid = r("msgid");
    f.structured_data = r("structured_data");
    f.procid = r("pid");
  }
  return f;
}

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int64_t to_int(std::string_view s) {
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

net::ListenerOptionDefaults syslog_listener_defaults() {
  net::ListenerOptionDefaults d;
  d.port = 514;
  d.client_authentication = "none";
  d.idle_timeout_seconds = 0;
  return d;
}

// Parses events the way the input's grok + date filters would; shared by the UDP and TCP paths
// (const apart from per-thread scratch, so both threads may call it).
class SyslogRelay {
 public:
  SyslogRelay(const Options& options, bool ecs) : fields_(syslog_fields(ecs)) {
    syslog_field_ = FieldRef::of(options.get_string("syslog_field"));
    use_labels_ = options.get_bool("use_labels");
    facility_labels_ = options.get_string_array("facility_labels");
    severity_labels_ = options.get_string_array("severity_labels");
    cctz::time_zone zone = cctz::utc_time_zone();
    if (options.has("timezone")) {
      std::string tz = options.get_string("timezone");
      if (!date::load_zone(tz, zone)) {
        throw config::ConfigError(options.position("timezone"), "syslog input: unknown time zone `" + tz + "`");
      }
    }
    const date::LocaleNames* names = &date::english_names();
    if (options.has("locale")) {
      names = date::locale_names(options.get_string("locale"));
      if (!names) names = &date::english_names();
    }
    for (const char* format : {"MMM dd HH:mm:ss", "MMM  d HH:mm:ss", "MMM d HH:mm:ss", "ISO8601"}) {
      formats_.push_back(date::DateFormat::compile(format, zone, *names));
    }
    if (options.has("grok_pattern")) {
      grok::GrokSettings settings;
      settings.match = {{options.get_string("syslog_field"), {options.get_string("grok_pattern")}}};
      settings.overwrite = {options.get_string("syslog_field")};
      settings.tag_on_failure = {kFailureTag};
      settings.ecs_compatibility = ecs ? "v8" : "disabled";
      try {
        grok_ = std::make_unique<grok::GrokEngine>(settings);
      } catch (const std::exception& e) {
        throw config::ConfigError(options.position("grok_pattern"), std::string("syslog input: ") + e.what());
      }
    }
  }

  // Returns false when the message did not match (tagged, priority 13).
  bool relay(Event& event) const {
    const SyslogFields& f = fields_;
    bool matched;
    if (f.ecs) {
      if (const Value* v = event.get(syslog_field_)) {
        Value copy = *v;
        event.put(f.original) = std::move(copy);
      }
    }
    if (grok_) {
      matched = grok_->process(event) == grok::GrokResult::Matched;
    } else {
      matched = parse_builtin(event);
    }
    if (matched) {
      int64_t priority = 0;  // Ruby's nil.to_i
      if (const Value* p = event.get(f.priority)) {
        if (p->is_int()) priority = p->as_int();
        else if (p->is_string() && all_digits(p->as_string())) priority = to_int(p->as_string());
      }
      set_priority(event, priority);
      apply_date(event);
    } else {
      if (!grok_) event.add_tag(kFailureTag);
      set_priority(event, 13);
    }
    if (use_labels_) set_labels(event);
    return matched;
  }

 private:
  bool parse_builtin(Event& event) const {
    const SyslogFields& f = fields_;
    const Value* v = event.get(syslog_field_);
    if (!v || !v->is_string()) return false;
    thread_local std::string line;
    line.assign(v->as_string());
    std::string_view text(line);
    syslog::Rfc5424 r5;
    if (looks_like_5424(text) && syslog::parse_rfc5424(text, r5)) {
      fill_5424(event, r5);
      return true;
    }
    syslog::Rfc3164 r3;
    if (!syslog::parse_rfc3164(text, f.ecs, r3)) return false;
    event.put(f.priority).set_int(r3.priority);
    if (f.ecs || !r3.iso_timestamp) event.put(f.timestamp).set_string(r3.timestamp);
    else event.put(f.timestamp8601).set_string(r3.timestamp);
    if (!r3.facility_code.empty() && all_digits(r3.facility_code)) {
      if (f.ecs) event.put(f.facility).set_int(to_int(r3.facility_code));
    }
    if (!r3.host.empty()) event.put(f.logsource).set_string(r3.host);
    if (!r3.program.empty()) event.put(f.program).set_string(r3.program);
    if (!r3.pid.empty()) {
      if (f.ecs) event.put(f.pid).set_int(to_int(r3.pid));
      else event.put(f.pid).set_string(r3.pid);
    }
    // grok drops empty captures: an empty message leaves the field as it was.
    if (!r3.message.empty()) event.put(f.message).set_string(r3.message);
    return true;
  }

  static bool looks_like_5424(std::string_view s) {
    size_t gt = s.find('>');
    return s.size() > 3 && s[0] == '<' && gt != std::string_view::npos && gt <= 4 && gt + 2 < s.size() &&
           s[gt + 1] >= '1' && s[gt + 1] <= '9' && s[gt + 2] == ' ';
  }

  void fill_5424(Event& event, const syslog::Rfc5424& r) const {
    const SyslogFields& f = fields_;
    event.put(f.priority).set_int(r.priority);
    event.put(f.version).set_int(r.version);
    if (!r.timestamp.empty()) event.put(f.timestamp).set_string(r.timestamp);
    if (!r.host.empty()) event.put(f.logsource).set_string(r.host);
    if (!r.app_name.empty()) event.put(f.program).set_string(r.app_name);
    if (!r.proc_id.empty()) {
      if (f.ecs && all_digits(r.proc_id)) event.put(f.pid).set_int(to_int(r.proc_id));
      else event.put(f.procid).set_string(r.proc_id);
    }
    if (!r.msg_id.empty()) event.put(f.msgid).set_string(r.msg_id);
    if (!r.structured_data.empty()) {
      thread_local std::string scratch;
      Value& sd = event.put(f.structured_data);
      Object* current = nullptr;
      syslog::for_each_sd(
          r.structured_data, scratch,
          [&](std::string_view id) {
            if (!sd.is_object()) sd = Value(Object());
            Value& element = sd.as_object()[id];
            if (!element.is_object()) element = Value(Object());
            current = &element.as_object();
          },
          [&](std::string_view, std::string_view name, std::string_view value) {
            if (current) (*current)[name].set_string(value);
          });
    }
    event.put(f.message).set_string(r.message);
  }

  void set_priority(Event& event, int64_t priority) const {
    const SyslogFields& f = fields_;
    event.put(f.priority).set_int(priority);
    event.put(f.severity).set_int(priority & 7);
    event.put(f.facility).set_int(priority >> 3);
  }

  void set_labels(Event& event) const {
    const SyslogFields& f = fields_;
    const Value* facility = event.get(f.facility);
    const Value* severity = event.get(f.severity);
    if (facility && facility->is_int() && facility->as_int() >= 0 &&
        size_t(facility->as_int()) < facility_labels_.size()) {
      event.put(f.facility_label).set_string(facility_labels_[size_t(facility->as_int())]);
    }
    if (severity && severity->is_int() && severity->as_int() >= 0 &&
        size_t(severity->as_int()) < severity_labels_.size()) {
      event.put(f.severity_label).set_string(severity_labels_[size_t(severity->as_int())]);
    }
  }

  void apply_date(Event& event) const {
    const SyslogFields& f = fields_;
    if (!f.ecs) {
      if (const Value* iso = event.get(f.timestamp8601)) {
        Value copy = *iso;
        event.put(f.timestamp) = std::move(copy);
      }
    }
    const Value* ts = event.get(f.timestamp);
    if (ts && ts->is_string()) {
      Timestamp parsed;
      bool ok = false;
      for (const auto& format : formats_) {
        if (format->parse(ts->as_string(), nullptr, parsed)) {
          ok = true;
          break;
        }
      }
      if (ok) event.set_timestamp(parsed);
      else event.add_tag(kDateFailureTag);
    } else if (ts) {
      event.add_tag(kDateFailureTag);
    }
    if (f.ecs) event.remove(f.timestamp);
  }

  SyslogFields fields_;
  FieldRef syslog_field_;
  bool use_labels_ = true;
  std::vector<std::string> facility_labels_, severity_labels_;
  std::vector<std::unique_ptr<date::DateFormat>> formats_;
  std::unique_ptr<grok::GrokEngine> grok_;
};

// Messages parsed on the workers (InputContext::push_unit) when the codec decodes each message on
// its own: the parse and the event are then on the core that filters them. The unit's origin is
// the sender's address.
class SyslogUnitDecoder final : public CodecUnitDecoder {
 public:
  SyslogUnitDecoder(const Codec& codec, const SyslogRelay& relay, const FieldRef& host_ref,
                    std::atomic<uint64_t>* unknown)
      : CodecUnitDecoder(codec), relay_(relay), host_ref_(host_ref), unknown_(unknown) {}

 private:
  void add_fields(Event& event, std::string_view ip) const override {
    event.put(host_ref_).set_string(ip);
    if (!relay_.relay(event) && unknown_) unknown_->fetch_add(1, std::memory_order_relaxed);
  }

  const SyslogRelay& relay_;
  const FieldRef& host_ref_;
  std::atomic<uint64_t>* unknown_;
};

class SyslogInput final : public Input {
 public:
  SyslogInput(const Options& options, PluginContext& ctx) : metrics_(ctx.metrics) {
    if (options.get_bool("proxy_protocol")) {
      throw config::ConfigError(options.position("proxy_protocol"), "syslog input: proxy_protocol is not supported by sluice");
    }
    std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                                                       : (ctx.settings ? ctx.settings->ecs_compatibility : "v8");
    relay_ = std::make_unique<SyslogRelay>(options, ecs != "disabled");
    host_ref_ = syslog_fields(ecs != "disabled").host_ip;
    listener_ = net::listener_config(options, syslog_listener_defaults(), "sluice.inputs.syslog");
    codec_ = ctx.make_codec(options.get_codec());
    int64_t max_message = options.get_int("max_message_bytes");
    if (max_message < 1) {
      throw config::ConfigError(options.position("max_message_bytes"), "syslog input: max_message_bytes must be >= 1");
    }
    max_message_bytes_ = size_t(max_message);
    udp_.host = listener_.host;
    udp_.port = listener_.port;
    udp_.receive_buffer_bytes = size_t(options.get_int("receive_buffer_bytes"));
    udp_.max_datagram = std::max<size_t>(max_message_bytes_, 1024);
    log_ = logging::get("sluice.inputs.syslog");
    if (metrics_) {
      received_ = &metrics_->counter("messages_received");
      unknown_ = &metrics_->counter("unknown_messages");
      udp_drops_ = &metrics_->counter("udp_kernel_drops");
    }
    if (codec_->decodes_units_independently())
      unit_decoder_ = std::make_unique<const SyslogUnitDecoder>(*codec_, *relay_, host_ref_, unknown_);
  }

  void run(InputContext& ctx) override {
    std::unique_ptr<net::UdpReceiver> udp;
    while (!stop_requested_.load() && !ctx.stopping()) {
      try {
        if (!udp) udp = std::make_unique<net::UdpReceiver>(udp_);
        // Both on the same port: with port 0 (tests) TCP takes the port UDP got.
        net::ListenerConfig tcp = listener_;
        tcp.port = udp->port();
        auto server = std::make_unique<net::TcpServer>(tcp, [this, &ctx] { return std::make_unique<Handler>(*this, ctx); });
        std::lock_guard lock(server_mutex_);
        server_ = std::move(server);
        break;
      } catch (const std::exception& e) {
        log_->error("syslog input: {}; retrying in 5 s", e.what());
        udp.reset();
        if (ctx.wait_for_stop(5000)) return;
      }
    }
    if (!server_) return;
    log_->info("syslog input listening on {}:{} (udp and tcp)", listener_.host, udp->port());
    std::thread udp_thread([&] { udp_loop(*udp, ctx); });
    if (!stop_requested_.load()) server_->run();
    udp_stop_.store(true);
    udp_thread.join();
    std::lock_guard lock(push_mutex_);
    ctx.flush();
  }

  void stop() override {
    stop_requested_.store(true);
    udp_stop_.store(true);
    std::lock_guard lock(server_mutex_);
    if (server_) server_->stop();
  }

 private:
  // One codec per source; events go through the relay and then (under the push mutex, since the
  // UDP and TCP threads share the context) into the pipeline.
  class Source final : public EventSink {
   public:
    Source(SyslogInput& input, InputContext& ctx) : input_(input), ctx_(ctx), codec_(input.codec_->clone()) {}
    void frame(std::string_view data, const std::string& ip) {
      ip_ = &ip;
      if (input_.received_) input_.received_->fetch_add(1, std::memory_order_relaxed);
      if (input_.unit_decoder_) {
        std::lock_guard lock(input_.push_mutex_);
        if (!ctx_.push_unit(*input_.unit_decoder_, data, ip, nullptr)) input_.stop();
        return;
      }
      codec_->decode_unit(data, *this);
    }
    void accept(Event* event) override {
      event->put(input_.host_ref_).set_string(*ip_);
      if (!input_.relay_->relay(*event) && input_.unknown_) input_.unknown_->fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lock(input_.push_mutex_);
      if (!ctx_.push(event)) input_.stop();
    }
    void flush() {
      std::lock_guard lock(input_.push_mutex_);
      ctx_.flush();
    }

   private:
    SyslogInput& input_;
    InputContext& ctx_;
    std::unique_ptr<Codec> codec_;
    const std::string* ip_ = nullptr;
  };

  class Handler final : public net::ConnectionHandler {
   public:
    Handler(SyslogInput& input, InputContext& ctx) : input_(input), source_(input, ctx), framer_(input.max_message_bytes_) {}
    void on_open(const std::shared_ptr<net::Connection>& conn) override { ip_ = conn->peer_ip(); }
    void on_data(net::Connection& conn, std::string_view bytes) override {
      framer_.feed(bytes, [&](std::string_view frame, bool truncated) { on_frame(frame, truncated); });
      source_.flush();
    }
    void on_close(net::Connection& conn, const std::string& reason) override {
      framer_.finish([&](std::string_view frame, bool truncated) { on_frame(frame, truncated); });
      source_.flush();
    }

   private:
    void on_frame(std::string_view frame, bool truncated) {
      if (truncated && !warned_) {
        warned_ = true;
        input_.log_->warn("syslog input: message from {} longer than max_message_bytes ({}): cut", ip_,
                          input_.max_message_bytes_);
      }
      source_.frame(frame, ip_);
    }
    SyslogInput& input_;
    Source source_;
    net::SyslogFramer framer_;
    std::string ip_;
    bool warned_ = false;
  };

  void udp_loop(net::UdpReceiver& udp, InputContext& ctx) {
    Source source(*this, ctx);
    while (!udp_stop_.load()) {
      int got = udp.receive(200, [&](std::string_view data, const std::string& ip, int) {
        while (!data.empty() && (data.back() == '\n' || data.back() == '\r' || data.back() == '\0')) data.remove_suffix(1);
        source.frame(data, ip);
      });
      if (got > 0) source.flush();
      if (got < 0) log_->warn("syslog input: UDP receive failed");
      if (udp_drops_) udp_drops_->store(udp.kernel_drops(), std::memory_order_relaxed);
    }
  }

  PluginMetrics* metrics_;
  std::unique_ptr<SyslogRelay> relay_;
  FieldRef host_ref_;
  net::ListenerConfig listener_;
  net::UdpConfig udp_;
  std::unique_ptr<Codec> codec_;
  std::unique_ptr<const SyslogUnitDecoder> unit_decoder_;  // when messages are parsed on the workers
  size_t max_message_bytes_ = 65536;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<uint64_t>* received_ = nullptr;
  std::atomic<uint64_t>* unknown_ = nullptr;
  std::atomic<uint64_t>* udp_drops_ = nullptr;
  std::mutex push_mutex_;
  std::mutex server_mutex_;
  std::unique_ptr<net::TcpServer> server_;
  std::atomic<bool> stop_requested_{false}, udp_stop_{false};
};

PluginSchema syslog_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Input;
  schema.name = "syslog";
  schema.doc =
      "Reads syslog messages (RFC 3164 and RFC 5424) over UDP and TCP on the same port (TCP: newline or "
      "octet-counted framing, RFC 6587). Parses them as Logstash's syslog input does (priority, facility, "
      "severity and their labels, timestamp, host, program, pid); RFC 5424 structured data too. Messages that do "
      "not parse are kept whole with the tag `_grokparsefailure_sysloginput`.";
  schema.options = net::listener_option_specs(syslog_listener_defaults());
  auto add = [&](OptionSpec spec) { schema.options.push_back(std::move(spec)); };
  add(option_spec("codec", OptionType::Codec, cv_string("plain"), "Decodes each message before parsing (default plain)."));
  OptionSpec ecs = option_spec("ecs_compatibility", OptionType::String, std::nullopt,
                               "`disabled`: priority, facility, severity, logsource, program...; `v1`, `v8`: "
                               "[log][syslog][...], [host][hostname], [process][name]. Default: pipeline's.",
                               {"disabled", "v1", "v8"});
  add(ecs);
  std::vector<std::string> facility(kFacilityLabels), severity(kSeverityLabels);
  add(option_spec("facility_labels", OptionType::Array, cv_array(facility), "Facility names, by facility number."));
  add(option_spec("severity_labels", OptionType::Array, cv_array(severity), "Severity names, by severity number."));
  add(option_spec("use_labels", OptionType::Boolean, cv_bool(true), "Add the facility and severity names."));
  add(option_spec("grok_pattern", OptionType::String, std::nullopt,
                  "A grok pattern replacing the built-in RFC 3164/5424 parser (must capture `timestamp`)."));
  add(option_spec("syslog_field", OptionType::String, cv_string("message"), "The field holding the syslog text."));
  add(option_spec("timezone", OptionType::String, std::nullopt,
                  "Time zone of timestamps without an offset (IANA id); default UTC."));
  add(option_spec("locale", OptionType::String, std::nullopt, "Locale of month names (English ships)."));
  add(option_spec("proxy_protocol", OptionType::Boolean, cv_bool(false), "Not supported by sluice; must stay false."));
  add(option_spec("max_message_bytes", OptionType::Number, cv_number(65536),
                  "sluice: longest message (TCP frame or UDP datagram); longer ones are cut (logged)."));
  add(option_spec("receive_buffer_bytes", OptionType::Number, cv_number(0),
                  "sluice: UDP socket receive buffer (SO_RCVBUF); 0 = system default."));
  return schema;
}

const RegisterInput kRegisterSyslog{syslog_schema(), [](const Options& options, PluginContext& ctx) -> std::unique_ptr<Input> {
                                      return std::make_unique<SyslogInput>(options, ctx);
                                    }};

}  // namespace
}  // namespace sluice
