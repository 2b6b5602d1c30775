// A small HTTP/1.1 client over libcurl for plugins that talk to HTTP services (S3, Elasticsearch).
// One HttpClient owns one curl easy handle, so consecutive requests to the same host reuse the
// connection (keep-alive). It is NOT thread-safe: give each thread (or each owner that serializes
// its calls) its own client.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::net {

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpClientOptions {
  long connect_timeout_ms = 10000;
  long timeout_ms = 60000;        // the whole request, unless HttpRequest::timeout_ms overrides it
  // Abort a transfer slower than low_speed_bytes per second for low_speed_seconds (0 = off); for
  // long streaming downloads where a whole-request timeout does not fit.
  long low_speed_bytes = 0;
  long low_speed_seconds = 0;
  // TLS. Verification of the peer certificate and host name is on unless verify_tls is false
  // (Logstash's `ssl_verification_mode => none`).
  bool verify_tls = true;
  std::string ca_file;            // PEM bundle of trusted CAs; "" = the system's
  // PEM text of trusted CAs held in memory (several files concatenated); when set it replaces
  // ca_file and the system's CAs (curl's CAINFO_BLOB), so no bundle is written to disk.
  std::string ca_pem;
  std::string ca_path;            // directory of hashed CA certificates; "" = the system's
  std::string client_cert_file;   // PEM client certificate (mutual TLS), with client_key_file
  std::string client_key_file;
  std::string client_key_password;  // never logged
  // "http://host:port" (or socks5://...); "" = no proxy. Environment variables (http_proxy...)
  // are ignored unless use_environment_proxy is true, so a config means the same everywhere.
  std::string proxy;
  bool use_environment_proxy = false;
  // Basic authentication for every request ("" = none). Never logged.
  std::string user;
  std::string password;
  // Ask for compressed responses and decode them transparently (Accept-Encoding: gzip, deflate).
  bool accept_compressed = false;
  std::string user_agent = "sluice";
};

struct HttpRequest {
  std::string method = "GET";  // any verb: GET, PUT, POST, HEAD, DELETE...
  std::string url;             // already percent-encoded
  std::vector<HttpHeader> headers;
  std::string_view body;       // sent as is (not copied: must outlive perform())
  long timeout_ms = -1;        // -1 = HttpClientOptions::timeout_ms; 0 = none
};

struct HttpResponse {
  long status = 0;                  // 0 when the request did not complete (see error)
  std::vector<HttpHeader> headers;  // of the final response, names as sent by the server
  std::string body;                 // empty for streaming requests
  std::string error;                // transport error (connect refused, timeout, TLS...); "" when status > 0
  bool transport_failed() const { return status == 0; }
  bool success() const { return status >= 200 && status < 300; }
  // Case-insensitive header lookup; nullptr when absent.
  const std::string* header(std::string_view name) const;
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  // Sends the request and collects the whole response. Never throws for HTTP or transport
  // errors: look at status / error.
  HttpResponse perform(const HttpRequest& request);

  // Like perform(), but the body of a 2xx response goes to on_data piece by piece as it
  // arrives (a non-2xx body is collected in response.body for the error message). on_data
  // returning false aborts the transfer (response.error = "aborted by callback").
  HttpResponse perform_streaming(const HttpRequest& request,
                                 const std::function<bool(std::string_view)>& on_data);

  // Drops the kept-alive connection (e.g. after the server was restarted).
  void reset_connection();

  const HttpClientOptions& options() const { return options_; }

 private:
  struct Handle;
  HttpResponse run(const HttpRequest& request, const std::function<bool(std::string_view)>* on_data);
  HttpClientOptions options_;
  std::unique_ptr<Handle> handle_;
};

// Percent-encodes per RFC 3986 (unreserved characters kept); `keep_slash` leaves '/' as is (paths).
std::string url_encode(std::string_view text, bool keep_slash = false);

}  // namespace sluice::net
