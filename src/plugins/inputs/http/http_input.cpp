// The `http` input: an HTTP(S) server (libmicrohttpd, GnuTLS) turning each POST/PUT body into
// events through the codec chosen by Content-Type (additional_codecs, else `codec`), as
// Logstash's http input does. A request is answered 200 ("ok") once its events are in the
// pipeline queue; when the queue stays full, 429 so the client retries instead of losing data.
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/event_pool.h"
#include "core/field_ref.h"
#include "net/tls.h"
#include "plugins/inputs/http/request.h"
#include "runtime/logging.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

using http_input::Request;

constexpr int kQueueWaitMs = 1000;        // how long a request waits for queue room before 429
constexpr int kIdleConnectionSeconds = 60;  // keep-alive connections without traffic are closed
constexpr int kRestartDelayMs = 5000;       // after a failed bind, as Logstash restarts an input

// A cipher suite as GnuTLS sees it; kx is GNUTLS_KX_UNKNOWN for TLS 1.3 suites.
struct GnutlsSuite {
  gnutls_kx_algorithm_t kx = GNUTLS_KX_UNKNOWN;
  gnutls_cipher_algorithm_t cipher = GNUTLS_CIPHER_UNKNOWN;
  gnutls_mac_algorithm_t mac = GNUTLS_MAC_UNKNOWN;
  bool tls13 = false;
};

std::optional<GnutlsSuite> gnutls_suite(uint16_t id) {
  unsigned char cs[2];
  GnutlsSuite suite;
  gnutls_protocol_t min_version;
  for (size_t i = 0;; ++i) {
    if (!gnutls_cipher_suite_info(i, cs, &suite.kx, &suite.cipher, &suite.mac, &min_version)) return std::nullopt;
    if (cs[0] == (id >> 8) && cs[1] == (id & 0xff)) {
      suite.tls13 = min_version == GNUTLS_TLS1_3;
      return suite;
    }
  }
}

std::shared_ptr<spdlog::logger> log() { return logging::get("sluice.inputs.http"); }

std::string read_whole_file(const std::string& path, const config::Position& where, const char* option) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config::ConfigError(where, fmt::format("http input: cannot read {} '{}'", option, path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class CollectSink final : public EventSink {
 public:
  void accept(Event* event) override { events.push_back(event); }
  std::vector<Event*> events;
};

// One decoder per request thread: codecs keep per-stream state and are not thread-safe.
struct CodecSet {
  std::unique_ptr<Codec> fallback;
  std::vector<std::pair<std::string, std::unique_ptr<Codec>>> by_mime;

  Codec& for_mime(const std::string& mime) {
    for (auto& [type, codec] : by_mime)
      if (type == mime) return *codec;
    return *fallback;
  }
  std::unique_ptr<CodecSet> clone() const {
    auto copy = std::make_unique<CodecSet>();
    copy->fallback = fallback->clone();
    for (const auto& [type, codec] : by_mime) copy->by_mime.emplace_back(type, codec->clone());
    return copy;
  }
};

// Per request, from the URI callback to the completion callback.
struct RequestState {
  Request request;
  std::string body;
  bool started = false;
  bool counted = false;
  bool too_large = false;
};

class HttpInput final : public Input {
 public:
  HttpInput(const Options& options, PluginContext& ctx) : id_(ctx.id) {
    host_ = options.get_string("host");
    port_ = int(options.get_int("port"));
    if (port_ < 0 || port_ > 65535)
      throw config::ConfigError(options.position("port"), "http input: port must be between 0 and 65535");
    user_ = options.get_string("user");
    password_ = options.get_string("password");
    auth_ = options.has("user") && options.has("password");
    int64_t threads = options.has("threads") ? options.get_int("threads") : int64_t(std::thread::hardware_concurrency());
    threads_ = int(std::clamp<int64_t>(threads, 1, 256));
    max_pending_ = std::max<int64_t>(0, options.get_int("max_pending_requests"));
    max_content_length_ = size_t(std::max<int64_t>(1, options.get_int("max_content_length")));
    int64_t max_connections = options.get_int("max_connections");
    if (max_connections < 1 || max_connections > 1000000)
      throw config::ConfigError(options.position("max_connections"), "http input: max_connections must be 1..1000000");
    max_connections_ = unsigned(max_connections);
    response_code_ = int(options.get_int("response_code"));
    if (response_code_ != 200 && response_code_ != 201 && response_code_ != 202 && response_code_ != 204)
      throw config::ConfigError(options.position("response_code"),
                                "http input: response_code must be one of 200, 201, 202, 204");
    response_headers_ = options.get_string_hash("response_headers");

    std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                                                       : (ctx.settings ? ctx.settings->ecs_compatibility : "v8");
    targets_ = http_input::default_targets(ecs != "disabled");
    if (options.has("remote_host_target_field")) targets_.remote_host_field = options.get_string("remote_host_target_field");
    if (options.has("request_headers_target_field"))
      targets_.request_headers_field = options.get_string("request_headers_target_field");
    auto parse_ref = [&](const std::string& text, const char* option) {
      std::string error;
      auto ref = FieldRef::parse(text, &error);
      if (!ref) throw config::ConfigError(options.position(option), fmt::format("http input: {}: {}", option, error));
      return *ref;
    };
    remote_ref_ = parse_ref(targets_.remote_host_field, "remote_host_target_field");
    headers_ref_ = parse_ref(targets_.request_headers_field, "request_headers_target_field");

    prototype_ = std::make_unique<CodecSet>();
    prototype_->fallback = ctx.make_codec(options.get_codec());
    for (const auto& [type, value] : options.get_hash("additional_codecs")) {
      std::shared_ptr<config::PluginBlock> block;
      if (value.kind == config::ConfigValue::Kind::Plugin) {
        block = value.plugin;
      } else {
        block = std::make_shared<config::PluginBlock>();
        block->name = value.text;
        block->pos = value.pos;
      }
      prototype_->by_mime.emplace_back(http_input::mime_type(type), ctx.make_codec(block));
    }

    configure_tls(options);
  }

  ~HttpInput() override { stop_daemon(); }

  void run(InputContext& ctx) override {
    ctx_ = &ctx;
    while (!stopping()) {
      if (!daemon_) start_daemon();
      if (ctx.wait_for_stop(daemon_ ? 200 : kRestartDelayMs)) break;
    }
    stop_daemon();  // waits for the request threads; their pushes finish first
  }

  void stop() override { stop_requested_.store(true); }

 private:
  bool stopping() const { return stop_requested_.load() || (ctx_ && ctx_->stopping()); }

  void configure_tls(const Options& options) {
    tls_ = options.get_bool("ssl_enabled");
    std::string client_auth = options.get_string("ssl_client_authentication");
    auto authorities = options.get_string_array("ssl_certificate_authorities");
    if (!tls_) {
      for (const char* name : {"ssl_certificate", "ssl_key", "ssl_key_passphrase", "ssl_certificate_authorities",
                               "ssl_client_authentication", "ssl_supported_protocols", "ssl_cipher_suites",
                               "ssl_handshake_timeout"})
        if (options.has(name)) log()->warn("[{}] {} is not used while ssl_enabled is false", id_, name);
      return;
    }
    if (!options.has("ssl_certificate") || !options.has("ssl_key"))
      throw config::ConfigError(options.position("ssl_enabled"),
                                "http input: ssl_enabled => true needs ssl_certificate and ssl_key");
    certificate_ = read_whole_file(options.get_string("ssl_certificate"), options.position("ssl_certificate"),
                                   "ssl_certificate");
    key_ = read_whole_file(options.get_string("ssl_key"), options.position("ssl_key"), "ssl_key");
    verify_clients_ = client_auth != "none";
    require_client_certificate_ = client_auth == "required";
    if (verify_clients_ && authorities.empty())
      throw config::ConfigError(options.position("ssl_client_authentication"),
                                "http input: ssl_client_authentication optional or required needs "
                                "ssl_certificate_authorities");
    if (!verify_clients_ && !authorities.empty())
      throw config::ConfigError(options.position("ssl_certificate_authorities"),
                                "http input: ssl_certificate_authorities needs ssl_client_authentication set to "
                                "optional or required");
    for (const std::string& path : authorities)
      trust_ += read_whole_file(path, options.position("ssl_certificate_authorities"), "ssl_certificate_authorities");
    if (options.has("ssl_key_passphrase")) key_passphrase_ = options.get_string("ssl_key_passphrase");
    int64_t handshake_ms = options.get_int("ssl_handshake_timeout");
    if (handshake_ms < 0)
      throw config::ConfigError(options.position("ssl_handshake_timeout"), "http input: ssl_handshake_timeout must be >= 0");
    // libmicrohttpd times connections in whole seconds.
    handshake_timeout_seconds_ = unsigned((handshake_ms + 999) / 1000);

    bool tls11 = false, tls12 = false, tls13 = false;
    for (const std::string& protocol : options.get_string_array("ssl_supported_protocols")) {
      if (protocol == "TLSv1.1") tls11 = true;
      else if (protocol == "TLSv1.2") tls12 = true;
      else if (protocol == "TLSv1.3") tls13 = true;
      else
        throw config::ConfigError(options.position("ssl_supported_protocols"),
                                  fmt::format("http input: unsupported TLS protocol '{}' (TLSv1.1, TLSv1.2, TLSv1.3)",
                                              protocol));
    }
    configure_cipher_suites(options, tls11, tls12, tls13);
    priorities_ = "NORMAL:-VERS-ALL";
    if (tls11) priorities_ += ":+VERS-TLS1.1";
    if (tls12) priorities_ += ":+VERS-TLS1.2";
    if (tls13) priorities_ += ":+VERS-TLS1.3";
    priorities_ += cipher_priorities_;
    check_tls_material(options);
  }

  // ssl_cipher_suites (IANA names as Logstash/Java, or OpenSSL's) onto GnuTLS: its priority strings
  // choose key exchanges, ciphers and MACs separately, so the priority allows the combinations
  // of the listed suites' parts and a handshake hook refuses any negotiated suite not listed.
  void configure_cipher_suites(const Options& options, bool& tls11, bool& tls12, bool& tls13) {
    auto names = options.get_string_array("ssl_cipher_suites");
    if (names.empty()) return;
    std::set<std::string> kx, ciphers, macs;
    bool any13 = false, any12 = false;
    for (const std::string& name : names) {
      std::optional<uint16_t> id = net::cipher_suite_id(name);
      std::optional<GnutlsSuite> suite = id ? gnutls_suite(*id) : std::nullopt;
      if (!suite)
        throw config::ConfigError(options.position("ssl_cipher_suites"),
                                  fmt::format("http input: unknown or unsupported cipher suite '{}'", name));
      allowed_suites_.push_back(*suite);
      if (suite->tls13) any13 = true;
      else {
        any12 = true;
        if (const char* n = gnutls_kx_get_name(suite->kx)) kx.insert(n);
      }
      if (const char* n = gnutls_cipher_get_name(suite->cipher)) ciphers.insert(n);
      if (const char* n = gnutls_mac_get_name(suite->mac)) macs.insert(n);
    }
    // A protocol none of the listed suites belongs to cannot be negotiated (as in Java).
    if (!any13) tls13 = false;
    if (!any12) tls11 = tls12 = false;
    if (!tls11 && !tls12 && !tls13)
      throw config::ConfigError(options.position("ssl_cipher_suites"),
                                "http input: no cipher suite of ssl_cipher_suites fits ssl_supported_protocols");
    cipher_priorities_ = ":-CIPHER-ALL:-MAC-ALL:-KX-ALL";
    for (const auto& n : ciphers) cipher_priorities_ += ":+" + n;
    for (const auto& n : macs) cipher_priorities_ += ":+" + n;
    for (const auto& n : kx) cipher_priorities_ += ":+" + n;
  }

  // The certificate, key (with its passphrase), trusted CAs and priority string load now, so a
  // mistake is a config error with its position rather than a listener that never starts.
  void check_tls_material(const Options& options) {
    const char* error_position = nullptr;
    gnutls_priority_t priority = nullptr;
    const char* where = nullptr;
    if (gnutls_priority_init(&priority, priorities_.c_str(), &where) < 0)
      throw config::ConfigError(options.position(options.has("ssl_cipher_suites") ? "ssl_cipher_suites"
                                                                                   : "ssl_supported_protocols"),
                                "http input: GnuTLS rejects the TLS protocol/cipher settings");
    gnutls_priority_deinit(priority);
    gnutls_certificate_credentials_t credentials = nullptr;
    if (gnutls_certificate_allocate_credentials(&credentials) < 0)
      throw config::ConfigError(options.position("ssl_enabled"), "http input: cannot allocate TLS credentials");
    gnutls_datum_t cert{reinterpret_cast<unsigned char*>(certificate_.data()), unsigned(certificate_.size())};
    gnutls_datum_t key{reinterpret_cast<unsigned char*>(key_.data()), unsigned(key_.size())};
    int rc = gnutls_certificate_set_x509_key_mem2(credentials, &cert, &key, GNUTLS_X509_FMT_PEM,
                                                  key_passphrase_.empty() ? nullptr : key_passphrase_.c_str(), 0);
    std::string message;
    if (rc < 0) {
      bool encrypted = key_.find("ENCRYPTED") != std::string::npos;
      if (encrypted && key_passphrase_.empty()) {
        error_position = "ssl_key";
        message = "http input: ssl_key is encrypted; set ssl_key_passphrase";
      } else if (encrypted) {
        error_position = "ssl_key_passphrase";
        message = "http input: cannot decrypt ssl_key with ssl_key_passphrase (wrong passphrase?)";
      } else if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
        error_position = "ssl_key";
        message = "http input: ssl_key does not match ssl_certificate";
      } else {
        error_position = "ssl_certificate";
        message = fmt::format("http input: cannot load ssl_certificate/ssl_key: {}", gnutls_strerror(rc));
      }
    } else if (!trust_.empty()) {
      gnutls_datum_t trust{reinterpret_cast<unsigned char*>(trust_.data()), unsigned(trust_.size())};
      if (gnutls_certificate_set_x509_trust_mem(credentials, &trust, GNUTLS_X509_FMT_PEM) <= 0) {
        error_position = "ssl_certificate_authorities";
        message = "http input: no usable certificate in ssl_certificate_authorities";
      }
    }
    gnutls_certificate_free_credentials(credentials);
    if (error_position) throw config::ConfigError(options.position(error_position), message);
    if (!key_passphrase_.empty() && !MHD_is_feature_supported(MHD_FEATURE_HTTPS_KEY_PASSWORD))
      throw config::ConfigError(options.position("ssl_key_passphrase"),
                                "http input: this libmicrohttpd cannot load encrypted keys");
  }

  void start_daemon() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    addrinfo* found = nullptr;
    std::string port_text = std::to_string(port_);
    if (getaddrinfo(host_.empty() ? nullptr : host_.c_str(), port_text.c_str(), &hints, &found) != 0 || !found) {
      log()->error("[{}] cannot resolve host '{}'; retrying in {} s", id_, host_, kRestartDelayMs / 1000);
      return;
    }
    sockaddr_storage address{};
    std::memcpy(&address, found->ai_addr, found->ai_addrlen);
    bool ipv6 = found->ai_family == AF_INET6;
    freeaddrinfo(found);

    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (ipv6) flags |= MHD_USE_IPv6;
    if (tls_) flags |= MHD_USE_TLS;
    std::vector<MHD_OptionItem> items;
    items.push_back({MHD_OPTION_SOCK_ADDR, 0, &address});
    items.push_back({MHD_OPTION_THREAD_POOL_SIZE, threads_, nullptr});
    items.push_back({MHD_OPTION_CONNECTION_TIMEOUT, kIdleConnectionSeconds, nullptr});
    items.push_back({MHD_OPTION_CONNECTION_LIMIT, intptr_t(max_connections_), nullptr});
    items.push_back({MHD_OPTION_URI_LOG_CALLBACK, intptr_t(&HttpInput::on_uri), this});
    items.push_back({MHD_OPTION_NOTIFY_COMPLETED, intptr_t(&HttpInput::on_completed), this});
    items.push_back({MHD_OPTION_EXTERNAL_LOGGER, intptr_t(&HttpInput::on_mhd_log), this});
    if (tls_) {
      items.push_back({MHD_OPTION_NOTIFY_CONNECTION, intptr_t(&HttpInput::on_connection), this});
      if (!key_passphrase_.empty())
        items.push_back({MHD_OPTION_HTTPS_KEY_PASSWORD, 0, const_cast<char*>(key_passphrase_.c_str())});
      items.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(certificate_.c_str())});
      items.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(key_.c_str())});
      items.push_back({MHD_OPTION_HTTPS_PRIORITIES, 0, const_cast<char*>(priorities_.c_str())});
      if (verify_clients_) items.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0, const_cast<char*>(trust_.c_str())});
    }
    items.push_back({MHD_OPTION_END, 0, nullptr});
    daemon_ = MHD_start_daemon(flags, uint16_t(port_), nullptr, nullptr, &HttpInput::on_access, this,
                               MHD_OPTION_ARRAY, items.data(), MHD_OPTION_END);
    if (!daemon_) {
      log()->error("[{}] cannot listen on {}:{} (address in use, or bad TLS certificate/key); retrying in {} s", id_,
                   host_, port_, kRestartDelayMs / 1000);
      return;
    }
    log()->info("[{}] Starting http input listener {{\"address\"=>\"{}:{}\", \"ssl_enabled\"=>{}}}", id_, host_, port_,
                tls_);
  }

  void stop_daemon() {
    if (daemon_) {
      MHD_stop_daemon(daemon_);
      daemon_ = nullptr;
    }
  }

  // ---- libmicrohttpd callbacks ----

  static void on_mhd_log(void* cls, const char* format, va_list args) {
    char text[512];
    std::vsnprintf(text, sizeof text, format, args);
    std::string_view line(text);
    while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    // A failed TLS handshake closes that connection: say why (libmicrohttpd's words).
    bool tls = line.find("andshake") != std::string_view::npos || line.find("TLS") != std::string_view::npos;
    if (tls) log()->warn("[{}] TLS handshake failed, connection closed: {}", static_cast<HttpInput*>(cls)->id_, line);
    else log()->debug("[{}] {}", static_cast<HttpInput*>(cls)->id_, line);
  }

  // A TLS connection was accepted; its GnuTLS session exists, the handshake has not begun.
  // libmicrohttpd only *requests* a client certificate (and the access handler used to refuse a
  // client without one at its first request): here the session is told to require one and to
  // verify it during the handshake, and the connection gets the handshake timeout until the
  // handshake is done.
  static void on_connection(void* cls, MHD_Connection* connection, void** socket_context,
                            MHD_ConnectionNotificationCode code) {
    auto* self = static_cast<HttpInput*>(cls);
    if (code != MHD_CONNECTION_NOTIFY_STARTED) return;
    *socket_context = self;
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!info || !info->tls_session) return;
    auto session = static_cast<gnutls_session_t>(info->tls_session);
    if (self->require_client_certificate_) {
      gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
      gnutls_session_set_verify_cert(session, nullptr, 0);  // GnuTLS verifies it in the handshake
    }
    // `optional`: GnuTLS's own verification would also refuse a client without a certificate,
    // so the hook below verifies one that was sent.
    if (self->handshake_timeout_seconds_ > 0)
      MHD_set_connection_option(connection, MHD_CONNECTION_OPTION_TIMEOUT, self->handshake_timeout_seconds_);
    // libmicrohttpd keeps the connection as the session's (or the transport's) pointer: the hook
    // finds it there. Should neither hold, the access handler still checks the suite per request
    // and on_uri restores the idle timeout.
    int where = gnutls_session_get_ptr(session) == connection     ? kConnectionInSessionPtr
                : gnutls_transport_get_ptr(session) == connection ? kConnectionInTransportPtr
                                                                   : 0;
    if (where != 0) {
      connection_pointer().store(where);
      gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_FINISHED, GNUTLS_HOOK_POST,
                                         &HttpInput::on_handshake_finished);
    }
  }

  static constexpr int kConnectionInSessionPtr = 1, kConnectionInTransportPtr = 2;
  // The same for every connection of this libmicrohttpd build.
  static std::atomic<int>& connection_pointer() {
    static std::atomic<int> where{0};
    return where;
  }

  static int on_handshake_finished(gnutls_session_t session, unsigned, unsigned, unsigned, const gnutls_datum_t*) {
    int where = connection_pointer().load();
    auto* connection = static_cast<MHD_Connection*>(where == kConnectionInSessionPtr ? gnutls_session_get_ptr(session)
                                                    : where == kConnectionInTransportPtr
                                                        ? gnutls_transport_get_ptr(session)
                                                        : nullptr);
    const MHD_ConnectionInfo* info =
        connection ? MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : nullptr;
    auto* self = info ? static_cast<HttpInput*>(info->socket_context) : nullptr;
    if (!self) return 0;
    if (self->verify_clients_ && !self->require_client_certificate_ && !self->presented_certificate_valid(session)) {
      log()->warn("[{}] TLS handshake refused: client certificate not trusted", self->id_);
      return GNUTLS_E_CERTIFICATE_ERROR;
    }
    if (!self->suite_allowed(session)) {
      const char* name =
          gnutls_cipher_suite_get_name(gnutls_kx_get(session), gnutls_cipher_get(session), gnutls_mac_get(session));
      log()->warn("[{}] TLS handshake refused: negotiated cipher suite {} is not in ssl_cipher_suites", self->id_,
                  name ? name : "?");
      return GNUTLS_E_UNWANTED_ALGORITHM;
    }
    MHD_set_connection_option(connection, MHD_CONNECTION_OPTION_TIMEOUT, unsigned(kIdleConnectionSeconds));
    return 0;
  }

  // True without a certificate (so far: in TLS 1.3 it comes after the server's Finished) or with one
  // that verifies against ssl_certificate_authorities.
  static bool presented_certificate_valid(gnutls_session_t session) {
    unsigned count = 0;
    if (!gnutls_certificate_get_peers(session, &count) || count == 0) return true;
    unsigned status = 0;
    return gnutls_certificate_verify_peers2(session, &status) == GNUTLS_E_SUCCESS && status == 0;
  }

  bool suite_allowed(gnutls_session_t session) const {
    if (allowed_suites_.empty()) return true;
    bool tls13 = gnutls_protocol_get_version(session) == GNUTLS_TLS1_3;
    gnutls_cipher_algorithm_t cipher = gnutls_cipher_get(session);
    gnutls_mac_algorithm_t mac = gnutls_mac_get(session);
    gnutls_kx_algorithm_t kx = gnutls_kx_get(session);
    for (const GnutlsSuite& suite : allowed_suites_) {
      if (suite.tls13 != tls13 || suite.cipher != cipher || suite.mac != mac) continue;
      if (tls13 || suite.kx == kx) return true;
    }
    return false;
  }

  static void* on_uri(void* cls, const char* uri, MHD_Connection* connection) {
    auto* self = static_cast<HttpInput*>(cls);
    // Past the handshake (a request line arrived): back to the idle timeout, in case the hook
    // could not be installed.
    if (self->tls_ && self->handshake_timeout_seconds_ > 0)
      MHD_set_connection_option(connection, MHD_CONNECTION_OPTION_TIMEOUT, unsigned(kIdleConnectionSeconds));
    auto* state = new RequestState;
    state->request.uri = uri ? uri : "";
    return state;
  }

  static void on_completed(void* cls, MHD_Connection* connection, void** con_cls, MHD_RequestTerminationCode code) {
    (void)connection;
    (void)code;
    auto* self = static_cast<HttpInput*>(cls);
    auto* state = static_cast<RequestState*>(*con_cls);
    if (!state) return;
    if (state->counted) self->in_flight_.fetch_sub(1);
    delete state;
    *con_cls = nullptr;
  }

  static MHD_Result collect_header(void* cls, MHD_ValueKind kind, const char* key, const char* value) {
    (void)kind;
    auto* request = static_cast<Request*>(cls);
    request->headers.emplace_back(key ? key : "", value ? value : "");
    return MHD_YES;
  }

  static MHD_Result on_access(void* cls, MHD_Connection* connection, const char* url, const char* method,
                              const char* version, const char* upload_data, size_t* upload_data_size,
                              void** con_cls) {
    auto* self = static_cast<HttpInput*>(cls);
    auto* state = static_cast<RequestState*>(*con_cls);
    if (!state) {  // no URI callback ran (cannot happen with MHD >= 0.9.x; defensive)
      state = new RequestState;
      state->request.uri = url ? url : "";
      *con_cls = state;
    }
    if (!state->started) {
      state->started = true;
      state->counted = true;
      int64_t pending = self->in_flight_.fetch_add(1) + 1;
      state->request.method = method ? method : "";
      state->request.version = version ? version : "";
      return self->begin(connection, *state, pending);
    }
    if (*upload_data_size > 0) {
      if (!state->too_large) {
        if (state->body.size() + *upload_data_size > self->max_content_length_) {
          state->too_large = true;
          state->body.clear();
          state->body.shrink_to_fit();
        } else {
          state->body.append(upload_data, *upload_data_size);
        }
      }
      *upload_data_size = 0;
      return MHD_YES;
    }
    return self->finish(connection, *state);
  }

  // ---- request handling ----

  MHD_Result respond(MHD_Connection* connection, unsigned status, std::string_view body, bool with_headers) {
    MHD_Response* response =
        MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
    if (!response) return MHD_NO;
    if (with_headers) {
      bool has_content_type = false;
      for (const auto& [name, value] : response_headers_) {
        MHD_add_response_header(response, name.c_str(), value.c_str());
        if (strcasecmp(name.c_str(), "Content-Type") == 0) has_content_type = true;
      }
      if (!has_content_type) MHD_add_response_header(response, "Content-Type", "text/plain");
    }
    if (status == MHD_HTTP_UNAUTHORIZED)
      MHD_add_response_header(response, "WWW-Authenticate", "Basic realm=\"Logstash HTTP Input\"");
    MHD_Result result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
  }

  // Headers are in: reject what can be rejected before reading the body.
  MHD_Result begin(MHD_Connection* connection, RequestState& state, int64_t pending) {
    if (tls_ && verify_clients_ && !client_certificate_ok(connection)) return MHD_NO;  // closes the connection
    if (tls_ && !allowed_suites_.empty()) {  // the handshake hook refused it already; kept as a second check
      const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
      if (!info || !info->tls_session || !suite_allowed(static_cast<gnutls_session_t>(info->tls_session))) {
        log()->warn("[{}] cipher suite not in ssl_cipher_suites; connection closed", id_);
        return MHD_NO;
      }
    }
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &HttpInput::collect_header, &state.request);
    if (const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS)) {
      const sockaddr* address = info->client_addr;
      char text[INET6_ADDRSTRLEN] = {};
      if (address && address->sa_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text, sizeof text);
      else if (address && address->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text, sizeof text);
      state.request.remote_ip = text;
    }
    if (auth_) {
      const char* authorization = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Authorization");
      if (!authorization || !http_input::basic_auth_matches(authorization, user_, password_))
        return respond(connection, MHD_HTTP_UNAUTHORIZED, "", false);
    }
    if (pending > int64_t(threads_) + max_pending_) return respond(connection, MHD_HTTP_TOO_MANY_REQUESTS, "", false);
    if (const char* length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Content-Length")) {
      char* end = nullptr;
      unsigned long long declared = std::strtoull(length, &end, 10);
      if (end != length && declared > max_content_length_)
        return respond(connection, MHD_HTTP_CONTENT_TOO_LARGE, "", false);
    }
    return MHD_YES;
  }

  bool client_certificate_ok(MHD_Connection* connection) {
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!info || !info->tls_session) return false;
    auto session = static_cast<gnutls_session_t>(info->tls_session);
    unsigned count = 0;
    if (!gnutls_certificate_get_peers(session, &count) || count == 0) {
      if (require_client_certificate_) log()->warn("[{}] client sent no certificate; connection closed", id_);
      return !require_client_certificate_;
    }
    unsigned status = 0;
    if (gnutls_certificate_verify_peers2(session, &status) != GNUTLS_E_SUCCESS || status != 0) {
      log()->warn("[{}] client certificate not trusted; connection closed", id_);
      return false;
    }
    return true;
  }

  MHD_Result finish(MHD_Connection* connection, RequestState& state) {
    if (state.too_large) return respond(connection, MHD_HTTP_CONTENT_TOO_LARGE, "", false);
    const std::string* content_type = nullptr;
    const std::string* content_encoding = nullptr;
    for (const auto& [name, value] : state.request.headers) {
      if (strcasecmp(name.c_str(), "Content-Type") == 0) content_type = &value;
      if (strcasecmp(name.c_str(), "Content-Encoding") == 0) content_encoding = &value;
    }
    std::string inflated;
    std::string_view body = state.body;
    if (content_encoding) {
      switch (http_input::inflate_body(*content_encoding, state.body, max_content_length_, inflated)) {
        case http_input::InflateResult::Ok: body = inflated; break;
        case http_input::InflateResult::TooLarge: return respond(connection, MHD_HTTP_CONTENT_TOO_LARGE, "", false);
        case http_input::InflateResult::Unsupported:
          return respond(connection, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "", false);
        case http_input::InflateResult::Corrupt: return respond(connection, MHD_HTTP_BAD_REQUEST, "", false);
      }
    }

    Object headers;
    http_input::format_headers(state.request, headers);
    CollectSink sink;
    std::unique_ptr<CodecSet> codecs = acquire_codecs();
    try {
      Codec& codec = codecs->for_mime(content_type ? http_input::mime_type(*content_type) : std::string());
      codec.decode(body, sink);
      codec.flush(sink);
    } catch (const std::exception& e) {
      release_codecs(std::move(codecs));
      for (Event* event : sink.events) free_event(event);
      log()->error("[{}] unable to process event: {}", id_, e.what());
      return respond(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "", false);
    }
    release_codecs(std::move(codecs));
    for (Event* event : sink.events)
      http_input::add_request_fields(*event, headers, state.request, targets_, headers_ref_, remote_ref_);
    if (!sink.events.empty() && !ctx_->try_push(sink.events, kQueueWaitMs)) {
      for (Event* event : sink.events) free_event(event);
      return respond(connection, MHD_HTTP_TOO_MANY_REQUESTS, "", false);
    }
    return respond(connection, unsigned(response_code_), response_code_ == 204 ? "" : "ok", true);
  }

  std::unique_ptr<CodecSet> acquire_codecs() {
    {
      std::lock_guard lock(codecs_mutex_);
      if (!free_codecs_.empty()) {
        auto set = std::move(free_codecs_.back());
        free_codecs_.pop_back();
        return set;
      }
    }
    return prototype_->clone();
  }

  void release_codecs(std::unique_ptr<CodecSet> set) {
    std::lock_guard lock(codecs_mutex_);
    if (free_codecs_.size() < size_t(threads_)) free_codecs_.push_back(std::move(set));
  }

  std::string id_;
  std::string host_;
  int port_ = 8080;
  bool auth_ = false;
  std::string user_;
  std::string password_;  // never logged
  int threads_ = 1;
  int64_t max_pending_ = 200;
  size_t max_content_length_ = 100 << 20;
  unsigned max_connections_ = 1000;
  int response_code_ = 200;
  std::vector<std::pair<std::string, std::string>> response_headers_;
  http_input::FieldTargets targets_;
  FieldRef remote_ref_;
  FieldRef headers_ref_;

  bool tls_ = false;
  bool verify_clients_ = false;
  bool require_client_certificate_ = false;
  std::string certificate_, key_, trust_, priorities_, cipher_priorities_;
  std::string key_passphrase_;  // never logged
  unsigned handshake_timeout_seconds_ = 10;
  std::vector<GnutlsSuite> allowed_suites_;  // empty = GnuTLS's defaults

  std::unique_ptr<CodecSet> prototype_;
  std::mutex codecs_mutex_;
  std::vector<std::unique_ptr<CodecSet>> free_codecs_;

  InputContext* ctx_ = nullptr;
  MHD_Daemon* daemon_ = nullptr;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> stop_requested_{false};
};

config::ConfigValue additional_codecs_default() {
  config::ConfigValue hash = cv_hash();
  auto entry = [&](const char* type, const char* codec) {
    config::ConfigValue key = cv_string(type);
    config::ConfigValue value = cv_string(codec);
    hash.entries.emplace_back(key, value);
  };
  entry("application/json", "json");
  entry("application/x-ndjson", "json_lines");
  return hash;
}

config::ConfigValue response_headers_default() {
  config::ConfigValue hash = cv_hash();
  hash.entries.emplace_back(cv_string("Content-Type"), cv_string("text/plain"));
  return hash;
}

PluginSchema http_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Input;
  schema.name = "http";
  schema.doc =
      "Receives events over HTTP(S): each POST/PUT body is decoded by the codec chosen by its Content-Type "
      "(`additional_codecs`, else `codec`): a JSON document, a JSON array (one event per element), NDJSON or "
      "text. Answers 200 once the events are queued, 429 when the pipeline queue stays full (the client should "
      "retry), 401 on bad credentials, 413 when the body exceeds `max_content_length`.";
  schema.options = {
      option_spec("host", OptionType::String, cv_string("127.0.0.1"),
                  "Address to listen on (Logstash's default is 0.0.0.0; sluice listens on loopback unless told)."),
      option_spec("port", OptionType::Number, cv_number(8080), "TCP port to listen on."),
      option_spec("user", OptionType::String, std::nullopt, "Username for HTTP basic authentication."),
      option_spec("password", OptionType::Password, std::nullopt,
                  "Password for HTTP basic authentication (both user and password enable it)."),
      option_spec("ssl_enabled", OptionType::Boolean, cv_bool(false), "Serve HTTPS."),
      option_spec("ssl_certificate", OptionType::Path, std::nullopt, "PEM certificate (chain) of the server."),
      option_spec("ssl_key", OptionType::Path, std::nullopt,
                  "PEM private key of the server (PKCS#1 or PKCS#8, encrypted with ssl_key_passphrase or not)."),
      option_spec("ssl_key_passphrase", OptionType::Password, std::nullopt, "Passphrase of an encrypted ssl_key."),
      option_spec("ssl_cipher_suites", OptionType::Array, cv_array({}),
                  "Allowed cipher suites, IANA names as Logstash's (TLS_AES_128_GCM_SHA256, "
                  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) or OpenSSL's; default GnuTLS's."),
      option_spec("ssl_handshake_timeout", OptionType::Number, cv_number(10000),
                  "Milliseconds a client has to complete the TLS handshake (counted in whole seconds); 0 = the "
                  "idle timeout (60 s)."),
      option_spec("ssl_certificate_authorities", OptionType::Array, cv_array({}),
                  "PEM files of the CAs that client certificates are verified against."),
      option_spec("ssl_client_authentication", OptionType::String, cv_string("none"),
                  "Whether clients must present a certificate: `none`, `optional` (verified when sent), `required`.",
                  {"none", "optional", "required"}),
      option_spec("ssl_supported_protocols", OptionType::Array, cv_array({"TLSv1.2", "TLSv1.3"}),
                  "TLS versions accepted: TLSv1.1, TLSv1.2, TLSv1.3."),
      option_spec("threads", OptionType::Number, std::nullopt,
                  "Request-handling threads (default: the number of cores)."),
      option_spec("max_pending_requests", OptionType::Number, cv_number(200),
                  "Requests accepted beyond `threads` before answering 429."),
      option_spec("max_connections", OptionType::Number, cv_number(1000),
                  "sluice: most concurrent connections (shared among `threads`); more wait in the listen backlog."),
      option_spec("max_content_length", OptionType::Number, cv_number(100 * 1024 * 1024),
                  "Largest request body (after decompression) in bytes; larger ones get 413."),
      option_spec("response_code", OptionType::Number, cv_number(200),
                  "Status of a successful response: 200, 201, 202 or 204."),
      option_spec("response_headers", OptionType::Hash, response_headers_default(),
                  "Headers of a successful response."),
      option_spec("additional_codecs", OptionType::Hash, additional_codecs_default(),
                  "Content-Type => codec; other content types use `codec`."),
      option_spec("remote_host_target_field", OptionType::String, std::nullopt,
                  "Field for the client's address (default `[host][ip]` under ECS, `host` without)."),
      option_spec("request_headers_target_field", OptionType::String, std::nullopt,
                  "Field for the request headers (default `[@metadata][input][http][request][headers]` under ECS, "
                  "`headers` without)."),
      option_spec("ecs_compatibility", OptionType::String, std::nullopt,
                  "`disabled`, `v1`, `v8`: where request data goes (default: pipeline.ecs_compatibility).",
                  {"disabled", "v1", "v8"}),
  };
  return schema;
}

const RegisterInput kRegisterHttp{http_schema(), [](const Options& options, PluginContext& ctx) -> std::unique_ptr<Input> {
                                    return std::make_unique<HttpInput>(options, ctx);
                                  }};

}  // namespace
}  // namespace sluice
