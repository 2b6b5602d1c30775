#include "net/listener_options.h"

#include "config/parser.h"

namespace sluice::net {

namespace {

OptionSpec deprecated(OptionSpec spec) {
  spec.deprecated = true;
  return spec;
}

ClientAuthentication client_authentication_of(const std::string& name) {
  if (name == "required") return ClientAuthentication::Required;
  if (name == "optional") return ClientAuthentication::Optional;
  return ClientAuthentication::None;
}

}  // namespace

std::vector<OptionSpec> listener_option_specs(const ListenerOptionDefaults& d) {
  std::vector<OptionSpec> specs;
  specs.push_back(option_spec("host", OptionType::String, cv_string("127.0.0.1"),
                              "Address to listen on (sluice default 127.0.0.1; `0.0.0.0` or `::` for every interface)."));
  OptionSpec port = option_spec("port", OptionType::Number, d.port > 0 ? std::optional(cv_number(d.port)) : std::nullopt,
                                "TCP port to listen on.");
  port.required = d.port <= 0;
  specs.push_back(port);
  specs.push_back(option_spec("ssl_enabled", OptionType::Boolean, cv_bool(false), "Accept TLS connections only."));
  specs.push_back(option_spec("ssl_certificate", OptionType::Path, std::nullopt,
                              "PEM certificate (chain, leaf first) presented to clients."));
  specs.push_back(option_spec("ssl_key", OptionType::Path, std::nullopt, "PEM private key of ssl_certificate."));
  specs.push_back(option_spec("ssl_key_passphrase", OptionType::Password, std::nullopt, "Passphrase of ssl_key."));
  specs.push_back(option_spec("ssl_certificate_authorities", OptionType::Array, cv_array({}),
                              "PEM files of the CAs that client certificates are verified against."));
  specs.push_back(option_spec("ssl_client_authentication", OptionType::String, cv_string(d.client_authentication),
                              "Client certificates: `none`, `optional` (verified when presented) or `required` "
                              "(needs ssl_certificate_authorities; without them the default acts as `none`).",
                              {"none", "optional", "required"}));
  specs.push_back(option_spec("ssl_supported_protocols", OptionType::Array, cv_array({}),
                              "Allowed TLS versions: TLSv1.1, TLSv1.2, TLSv1.3 (default TLSv1.2 and TLSv1.3)."));
  specs.push_back(option_spec("ssl_cipher_suites", OptionType::Array, cv_array({}),
                              "Allowed cipher suites (IANA or OpenSSL names); default OpenSSL's."));
  specs.push_back(option_spec("ssl_handshake_timeout", OptionType::Number, cv_number(10000),
                              "Milliseconds a client has to finish the TLS handshake (slow clients are closed)."));
  specs.push_back(option_spec("tcp_keep_alive", OptionType::Boolean, cv_bool(false),
                              "Enable TCP keep-alive (SO_KEEPALIVE) on accepted connections."));
  specs.push_back(option_spec("max_connections", OptionType::Number, cv_number(double(d.max_connections)),
                              "sluice: most concurrent connections; more are accepted and closed at once (logged)."));
  specs.push_back(option_spec(d.idle_timeout_name, OptionType::Number, cv_number(d.idle_timeout_seconds),
                              "Seconds without data from a client after which its connection is closed (0 = never)."));
  if (d.legacy_ssl_aliases) {
    specs.push_back(deprecated(option_spec("ssl_enable", OptionType::Boolean, std::nullopt, "Deprecated: ssl_enabled.")));
    specs.push_back(deprecated(option_spec("ssl_cert", OptionType::Path, std::nullopt, "Deprecated: ssl_certificate.")));
    specs.push_back(deprecated(option_spec("ssl_verify", OptionType::Boolean, std::nullopt,
                                           "Deprecated: true = ssl_client_authentication `required`, false = `none`.")));
    specs.push_back(deprecated(option_spec("ssl_extra_chain_certs", OptionType::Array, std::nullopt,
                                           "Deprecated: extra certificates sent after ssl_certificate "
                                           "(put them in the ssl_certificate file instead).")));
  }
  return specs;
}

TlsConfig tls_config(const Options& options) {
  TlsConfig tls;
  tls.certificate = options.get_string("ssl_certificate");
  if (tls.certificate.empty() && options.raw("ssl_cert")) tls.certificate = options.get_string("ssl_cert");
  tls.key = options.get_string("ssl_key");
  tls.key_passphrase = options.get_string("ssl_key_passphrase");
  tls.certificate_authorities = options.get_string_array("ssl_certificate_authorities");
  tls.supported_protocols = options.get_string_array("ssl_supported_protocols");
  for (const auto& p : tls.supported_protocols) {
    if (p != "TLSv1.1" && p != "TLSv1.2" && p != "TLSv1.3" && p != "TLSv1") {
      throw config::ConfigError(options.position("ssl_supported_protocols"),
                                "unknown TLS protocol `" + p + "` for " + options.plugin_name() +
                                    " (expected TLSv1.1, TLSv1.2 or TLSv1.3)");
    }
  }
  tls.cipher_suites = options.get_string_array("ssl_cipher_suites");
  std::string auth = options.get_string("ssl_client_authentication");
  if (options.has("ssl_verify") && !options.has("ssl_client_authentication")) {
    auth = options.get_bool("ssl_verify") ? "required" : "none";
  }
  tls.client_authentication = client_authentication_of(auth);
  bool explicit_auth = options.has("ssl_client_authentication") || options.has("ssl_verify");
  if (tls.certificate_authorities.empty() && tls.client_authentication != ClientAuthentication::None) {
    if (explicit_auth) {
      throw config::ConfigError(options.position(options.has("ssl_verify") ? "ssl_verify" : "ssl_client_authentication"),
                                options.plugin_name() + ": ssl_client_authentication `" + auth +
                                    "` needs ssl_certificate_authorities");
    }
    tls.client_authentication = ClientAuthentication::None;
  }
  return tls;
}

ListenerConfig listener_config(const Options& options, const ListenerOptionDefaults& d, const std::string& log_name) {
  ListenerConfig config;
  config.host = options.get_string("host");
  if (config.host.empty()) config.host = "127.0.0.1";
  int64_t port = options.get_int("port");
  if (port < 0 || port > 65535) {
    throw config::ConfigError(options.position("port"), options.plugin_name() + ": port must be 0..65535");
  }
  config.port = int(port);
  config.tls_enabled = options.get_bool("ssl_enabled") || (options.raw("ssl_enable") && options.has("ssl_enable") &&
                                                           options.get_bool("ssl_enable"));
  int64_t max_connections = options.get_int("max_connections");
  if (max_connections < 1) {
    throw config::ConfigError(options.position("max_connections"), options.plugin_name() + ": max_connections must be >= 1");
  }
  config.max_connections = size_t(max_connections);
  double idle = options.get_number(d.idle_timeout_name);
  if (idle < 0) {
    throw config::ConfigError(options.position(d.idle_timeout_name), options.plugin_name() + ": " +
                                                                          d.idle_timeout_name + " must be >= 0");
  }
  config.idle_timeout_ms = int(idle * 1000);
  config.handshake_timeout_ms = int(options.get_number("ssl_handshake_timeout"));
  config.tcp_keep_alive = options.get_bool("tcp_keep_alive");
  config.log_name = log_name;
  if (config.tls_enabled) {
    config.tls = tls_config(options);
    if (config.tls.certificate.empty() || config.tls.key.empty()) {
      throw config::ConfigError(options.position(options.has("ssl_enable") ? "ssl_enable" : "ssl_enabled"),
                                options.plugin_name() + ": ssl_enabled needs ssl_certificate and ssl_key");
    }
    try {
      TlsServerContext probe(config.tls);  // fail at startup, not at the first client
    } catch (const TlsError& e) {
      throw config::ConfigError(options.position("ssl_certificate"), options.plugin_name() + ": " + e.what());
    }
  }
  return config;
}

}  // namespace sluice::net
