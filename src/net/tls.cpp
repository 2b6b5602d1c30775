#include "net/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cctype>
#include <cstring>

namespace sluice::net {

namespace {

int protocol_version(const std::string& name) {
  if (name == "TLSv1" || name == "TLSv1.0") return TLS1_VERSION;
  if (name == "TLSv1.1") return TLS1_1_VERSION;
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  throw TlsError("unknown TLS protocol '" + name + "' (supported: TLSv1.1, TLSv1.2, TLSv1.3)");
}

int pass_callback(char* buf, int size, int, void* userdata) {
  auto* pass = static_cast<const std::string*>(userdata);
  if (!pass || size <= 0) return 0;
  int n = int(std::min<size_t>(pass->size(), size_t(size)));
  std::memcpy(buf, pass->data(), size_t(n));
  return n;
}

bool is_tls13_suite(const std::string& name) {
  return name == "TLS_AES_128_GCM_SHA256" || name == "TLS_AES_256_GCM_SHA384" ||
         name == "TLS_CHACHA20_POLY1305_SHA256" || name == "TLS_AES_128_CCM_SHA256" ||
         name == "TLS_AES_128_CCM_8_SHA256";
}

// Logstash takes IANA cipher names (Java's); OpenSSL wants its own for TLS <= 1.2.
std::string openssl_cipher_name(SSL_CTX* ctx, const std::string& name) {
  SSL* probe = SSL_new(ctx);
  std::string result = name;
  if (probe) {
    STACK_OF(SSL_CIPHER)* all = SSL_get1_supported_ciphers(probe);
    if (all) {
      for (int i = 0; i < sk_SSL_CIPHER_num(all); ++i) {
        const SSL_CIPHER* c = sk_SSL_CIPHER_value(all, i);
        const char* standard = SSL_CIPHER_standard_name(c);
        if (standard && name == standard) {
          result = SSL_CIPHER_get_name(c);
          break;
        }
      }
      sk_SSL_CIPHER_free(all);
    }
    SSL_free(probe);
  }
  return result;
}

void apply_common(SSL_CTX* ctx, const TlsConfig& config) {
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  int min_version = TLS1_2_VERSION, max_version = TLS1_3_VERSION;
  if (!config.supported_protocols.empty()) {
    min_version = TLS1_3_VERSION + 1;
    max_version = 0;
    for (const auto& p : config.supported_protocols) {
      int v = protocol_version(p);
      min_version = std::min(min_version, v);
      max_version = std::max(max_version, v);
    }
    // OpenSSL's default security level refuses TLS < 1.2; an explicit request lowers it.
    if (min_version < TLS1_2_VERSION) SSL_CTX_set_security_level(ctx, 0);
  }
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_max_proto_version(ctx, max_version);
  if (!config.cipher_suites.empty()) {
    std::string tls12, tls13;
    for (const auto& name : config.cipher_suites) {
      if (is_tls13_suite(name)) {
        tls13 += (tls13.empty() ? "" : ":") + name;
      } else {
        tls12 += (tls12.empty() ? "" : ":") + openssl_cipher_name(ctx, name);
      }
    }
    if (!tls12.empty() && SSL_CTX_set_cipher_list(ctx, tls12.c_str()) != 1) {
      throw TlsError("no usable cipher in ssl_cipher_suites: " + openssl_errors());
    }
    if (SSL_CTX_set_ciphersuites(ctx, tls13.c_str()) != 1) {
      throw TlsError("bad TLSv1.3 cipher suite in ssl_cipher_suites: " + openssl_errors());
    }
  }
}

void load_identity(SSL_CTX* ctx, const TlsConfig& config, std::string* passphrase_holder) {
  if (config.certificate.empty()) return;
  if (SSL_CTX_use_certificate_chain_file(ctx, config.certificate.c_str()) != 1) {
    throw TlsError("cannot load certificate " + config.certificate + ": " + openssl_errors());
  }
  if (config.key.empty()) throw TlsError("a certificate needs its key (ssl_key)");
  *passphrase_holder = config.key_passphrase;
  SSL_CTX_set_default_passwd_cb(ctx, pass_callback);
  SSL_CTX_set_default_passwd_cb_userdata(ctx, passphrase_holder);
  if (SSL_CTX_use_PrivateKey_file(ctx, config.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    std::string detail = openssl_errors();
    if (detail.find("mismatch") != std::string::npos) {
      throw TlsError("key " + config.key + " does not match certificate " + config.certificate);
    }
    throw TlsError("cannot load key " + config.key + " (wrong passphrase or format?): " + detail);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    throw TlsError("key " + config.key + " does not match certificate " + config.certificate);
  }
  // The passphrase is not needed after loading; keep nothing around.
  SSL_CTX_set_default_passwd_cb_userdata(ctx, nullptr);
  passphrase_holder->assign(passphrase_holder->size(), '\0');
}

void load_authorities(SSL_CTX* ctx, const TlsConfig& config, bool server) {
  for (const auto& file : config.certificate_authorities) {
    if (SSL_CTX_load_verify_locations(ctx, file.c_str(), nullptr) != 1) {
      throw TlsError("cannot load certificate authorities from " + file + ": " + openssl_errors());
    }
    if (server) {
      // Tell clients which CAs we accept (CertificateRequest).
      STACK_OF(X509_NAME)* names = SSL_CTX_get_client_CA_list(ctx);
      if (!names) {
        SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(file.c_str()));
      } else {
        SSL_add_file_cert_subjects_to_stack(names, file.c_str());
      }
    }
  }
}

}  // namespace

std::string openssl_errors() {
  std::string out;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown error" : out;
}

std::string peer_certificate_subject(SSL* ssl) {
  if (!ssl) return "";
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return "";
  std::string result;
  char* line = X509_NAME_oneline(X509_get_subject_name(cert), nullptr, 0);
  if (line) {
    result = line;
    OPENSSL_free(line);
  }
  X509_free(cert);
  return result;
}

std::string peer_certificate_subject_rfc2253(SSL* ssl) {
  if (!ssl) return "";
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return "";
  std::string result;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
      char* data = nullptr;
      long n = BIO_get_mem_data(bio, &data);
      if (data && n > 0) result.assign(data, size_t(n));
    }
    BIO_free(bio);
  }
  X509_free(cert);
  return result;
}

std::optional<uint16_t> cipher_suite_id(const std::string& name) {
  std::string upper = name;
  for (char& ch : upper) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (!ctx) return std::nullopt;
  std::optional<uint16_t> id;
  SSL_CTX_set_security_level(ctx, 0);
  SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL:@SECLEVEL=0");
  if (SSL* probe = SSL_new(ctx)) {
    STACK_OF(SSL_CIPHER)* all = SSL_get_ciphers(probe);
    for (int i = 0; all && i < sk_SSL_CIPHER_num(all) && !id; ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(all, i);
      const char* standard = SSL_CIPHER_standard_name(c);
      if ((standard && upper == standard) || upper == SSL_CIPHER_get_name(c)) id = SSL_CIPHER_get_protocol_id(c);
    }
    SSL_free(probe);
  }
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return id;
}

std::string negotiated_protocol(SSL* ssl) { return ssl ? SSL_get_version(ssl) : ""; }

std::string negotiated_cipher_suite(SSL* ssl) {
  const SSL_CIPHER* cipher = ssl ? SSL_get_current_cipher(ssl) : nullptr;
  if (!cipher) return "";
  const char* standard = SSL_CIPHER_standard_name(cipher);
  return standard ? standard : SSL_CIPHER_get_name(cipher);
}

TlsServerContext::TlsServerContext(const TlsConfig& config) {
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (!ctx_) throw TlsError("cannot create TLS context: " + openssl_errors());
  try {
    if (config.certificate.empty() || config.key.empty()) {
      throw TlsError("TLS needs ssl_certificate and ssl_key");
    }
    apply_common(ctx_, config);
    std::string passphrase;
    load_identity(ctx_, config, &passphrase);
    load_authorities(ctx_, config, true);
    int mode = SSL_VERIFY_NONE;
    if (config.client_authentication != ClientAuthentication::None) {
      if (config.certificate_authorities.empty()) {
        throw TlsError("ssl_client_authentication optional/required needs ssl_certificate_authorities");
      }
      mode = SSL_VERIFY_PEER;
      if (config.client_authentication == ClientAuthentication::Required) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    SSL_CTX_set_verify(ctx_, mode, nullptr);
    // No session tickets/cache across restarts needed; keeps memory flat.
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx_, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  } catch (...) {
    SSL_CTX_free(ctx_);
    ctx_ = nullptr;
    throw;
  }
}

TlsServerContext::~TlsServerContext() {
  if (ctx_) SSL_CTX_free(ctx_);
}

TlsClientContext::TlsClientContext(const TlsConfig& config, bool verify) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ctx_) throw TlsError("cannot create TLS context: " + openssl_errors());
  try {
    apply_common(ctx_, config);
    std::string passphrase;
    load_identity(ctx_, config, &passphrase);
    if (config.certificate_authorities.empty()) {
      SSL_CTX_set_default_verify_paths(ctx_);
    } else {
      load_authorities(ctx_, config, false);
    }
    SSL_CTX_set_verify(ctx_, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  } catch (...) {
    SSL_CTX_free(ctx_);
    ctx_ = nullptr;
    throw;
  }
}

TlsClientContext::~TlsClientContext() {
  if (ctx_) SSL_CTX_free(ctx_);
}

}  // namespace sluice::net
