// The option names network inputs share (Logstash's), as schema entries and as a ListenerConfig:
// host/port, ssl_* (with the deprecated tcp-input aliases ssl_enable, ssl_cert, ssl_verify,
// ssl_extra_chain_certs), and sluice's connection limits.
#pragma once

#include <string>
#include <vector>

#include "net/tcp_server.h"
#include "runtime/options.h"
#include "runtime/schema.h"

namespace sluice::net {

struct ListenerOptionDefaults {
  int port = 0;                      // 0: the `port` option is required
  std::string client_authentication = "none";
  bool legacy_ssl_aliases = false;   // ssl_enable, ssl_cert, ssl_verify (tcp input)
  double idle_timeout_seconds = 0;   // 0 = no idle timeout
  std::string idle_timeout_name = "idle_timeout";  // beats: "client_inactivity_timeout"
  size_t max_connections = 1000;
};

// host, port, ssl_enabled, ssl_certificate, ssl_key, ssl_key_passphrase, ssl_certificate_authorities,
// ssl_client_authentication, ssl_supported_protocols, ssl_cipher_suites, tcp_keep_alive,
// max_connections, <idle_timeout_name>, ssl_handshake_timeout (+ legacy aliases).
std::vector<OptionSpec> listener_option_specs(const ListenerOptionDefaults& defaults);

// Reads those options into a ListenerConfig. Throws config::ConfigError at the option's position
// (ssl_enabled without certificate, bad protocol name, client authentication without CAs...).
// Checks that the TLS files load (builds a TlsServerContext once), so a bad key fails at startup.
ListenerConfig listener_config(const Options& options, const ListenerOptionDefaults& defaults,
                               const std::string& log_name);

// The ssl_* part alone (for a TLS client, e.g. tcp mode => client).
TlsConfig tls_config(const Options& options);

}  // namespace sluice::net
