// TLS for the network inputs (and their tests): an OpenSSL context built from the options
// Logstash's tcp/beats/http inputs share (ssl_certificate, ssl_key, ssl_certificate_authorities,
// ssl_client_authentication, ssl_supported_protocols, ssl_cipher_suites).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace sluice::net {

enum class ClientAuthentication { None, Optional, Required };

struct TlsConfig {
  std::string certificate;     // PEM file: the server's certificate (chain: leaf first)
  std::string key;             // PEM file: its private key (PKCS#8 or traditional)
  std::string key_passphrase;  // never logged
  std::vector<std::string> certificate_authorities;  // PEM files trusted for client certificates
  ClientAuthentication client_authentication = ClientAuthentication::None;
  // "TLSv1.1", "TLSv1.2", "TLSv1.3"; empty = TLSv1.2 and TLSv1.3 (Logstash's default).
  std::vector<std::string> supported_protocols;
  // OpenSSL or IANA names (TLS_AES_128_GCM_SHA256, ECDHE-RSA-AES128-GCM-SHA256 or
  // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256); empty = OpenSSL's defaults.
  std::vector<std::string> cipher_suites;
};

// Thrown for unusable TLS material (missing file, key not matching, unknown protocol...);
// what() names the problem, never a passphrase.
struct TlsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A server-side SSL_CTX. Client certificates are verified against certificate_authorities
// (required: a connection without a valid one fails the handshake; optional: a certificate
// that is presented must be valid).
class TlsServerContext {
 public:
  explicit TlsServerContext(const TlsConfig& config);  // throws TlsError
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;
  SSL_CTX* native() const { return ctx_; }

 private:
  SSL_CTX* ctx_ = nullptr;
};

// A client-side SSL_CTX (tcp input in client mode, tests): verifies the server against
// `certificate_authorities` (system store when empty) unless verify is false; presents
// certificate/key when given.
class TlsClientContext {
 public:
  TlsClientContext(const TlsConfig& config, bool verify);  // throws TlsError
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;
  SSL_CTX* native() const { return ctx_; }

 private:
  SSL_CTX* ctx_ = nullptr;
};

// The last OpenSSL errors as one line (and clears the queue).
std::string openssl_errors();

// Subject DN of the peer's certificate ("CN=client,O=Test"), "" when none.
std::string peer_certificate_subject(SSL* ssl);

// The same DN as Java's X500Principal.getName() prints it (RFC 2253: most specific first,
// "CN=client,O=Test,C=NL"), as Logstash reports it; "" when none.
std::string peer_certificate_subject_rfc2253(SSL* ssl);

// The IANA number of a cipher suite named as Logstash (Java) names it (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
// any case) or as OpenSSL does (ECDHE-RSA-AES128-GCM-SHA256); nullopt when unknown. For TLS stacks
// that are not OpenSSL (the http input's GnuTLS) to map names onto their own suites.
std::optional<uint16_t> cipher_suite_id(const std::string& name);

// The negotiated protocol ("TLSv1.3") and cipher suite, IANA-named ("TLS_AES_256_GCM_SHA384").
std::string negotiated_protocol(SSL* ssl);
std::string negotiated_cipher_suite(SSL* ssl);

}  // namespace sluice::net
