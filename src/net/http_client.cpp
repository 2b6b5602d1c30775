#include "net/http_client.h"

#include <curl/curl.h>
#include <strings.h>

#include <mutex>
#include <stdexcept>

namespace sluice::net {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

const std::string* HttpResponse::header(std::string_view name) const {
  for (const HttpHeader& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

struct HttpClient::Handle {
  CURL* curl = nullptr;
  ~Handle() {
    if (curl) curl_easy_cleanup(curl);
  }
};

// What the curl callbacks of one transfer write into.
namespace {
struct Transfer {
  CURL* curl = nullptr;
  HttpResponse* response = nullptr;
  const std::function<bool(std::string_view)>* on_data = nullptr;
  bool aborted = false;
  int streaming_state = 0;  // 0 unknown, 1 streaming to on_data, 2 collecting (error status)
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    // A new response (after 100 Continue or a redirect): only the last one's headers count.
    transfer->response->headers.clear();
    return line.size();
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    transfer->response->headers.push_back(
        HttpHeader{std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1)))});
  }
  return line.size();
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  if (transfer->on_data) {
    if (transfer->streaming_state == 0) {
      long status = 0;
      curl_easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &status);
      transfer->streaming_state = status >= 200 && status < 300 ? 1 : 2;
    }
    if (transfer->streaming_state == 1) {
      if (!(*transfer->on_data)(std::string_view(data, bytes))) {
        transfer->aborted = true;
        return CURL_WRITEFUNC_ERROR;
      }
      return bytes;
    }
    // An error body is small (XML/JSON): keep a bounded amount for the message.
    if (transfer->response->body.size() < (1u << 20)) transfer->response->body.append(data, bytes);
    return bytes;
  }
  transfer->response->body.append(data, bytes);
  return bytes;
}
}  // namespace

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)), handle_(std::make_unique<Handle>()) {
  global_init();
  handle_->curl = curl_easy_init();
  if (!handle_->curl) throw std::runtime_error("libcurl: curl_easy_init failed");
}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

void HttpClient::reset_connection() {
  // A fresh handle has no connection cache: the next request connects anew.
  auto fresh = std::make_unique<Handle>();
  fresh->curl = curl_easy_init();
  if (fresh->curl) handle_ = std::move(fresh);
}

HttpResponse HttpClient::perform(const HttpRequest& request) { return run(request, nullptr); }

HttpResponse HttpClient::perform_streaming(const HttpRequest& request,
                                           const std::function<bool(std::string_view)>& on_data) {
  return run(request, &on_data);
}

HttpResponse HttpClient::run(const HttpRequest& request, const std::function<bool(std::string_view)>* on_data) {
  HttpResponse response;
  CURL* curl = handle_->curl;
  // curl_easy_reset keeps the connection cache, so keep-alive survives it.
  curl_easy_reset(curl);
  Transfer transfer{curl, &response, on_data};

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  long timeout = request.timeout_ms >= 0 ? request.timeout_ms : options_.timeout_ms;
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout);
  if (options_.low_speed_seconds > 0) {
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, options_.low_speed_bytes > 0 ? options_.low_speed_bytes : 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options_.low_speed_seconds);
  }
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());

  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_pem.empty()) {
    curl_blob blob{const_cast<char*>(options_.ca_pem.data()), options_.ca_pem.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
  } else if (!options_.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  }
  if (!options_.ca_path.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAPATH, options_.ca_path.c_str());
  } else if (!options_.ca_pem.empty() || !options_.ca_file.empty()) {
    // Configured CAs are the whole trust: the build's default CA directory must not add to them.
    curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
  }
  if (!options_.client_cert_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLCERT, options_.client_cert_file.c_str());
  if (!options_.client_key_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLKEY, options_.client_key_file.c_str());
  if (!options_.client_key_password.empty())
    curl_easy_setopt(curl, CURLOPT_KEYPASSWD, options_.client_key_password.c_str());
  if (!options_.proxy.empty()) {
    curl_easy_setopt(curl, CURLOPT_PROXY, options_.proxy.c_str());
  } else if (!options_.use_environment_proxy) {
    curl_easy_setopt(curl, CURLOPT_PROXY, "");  // "" disables the environment's proxies
  }
  if (!options_.user.empty() || !options_.password.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, options_.user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.password.c_str());
  }
  if (options_.accept_compressed) curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");

  const std::string& method = request.method;
  bool has_body = !request.body.empty() || method == "POST" || method == "PUT";
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.empty() ? "" : request.body.data());
    if (method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    if (method != "GET") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }

  curl_slist* headers = nullptr;
  bool has_content_type = false, has_expect = false;
  std::string line;
  for (const HttpHeader& h : request.headers) {
    if (iequals(h.name, "Content-Type")) has_content_type = true;
    if (iequals(h.name, "Expect")) has_expect = true;
    line.assign(h.name);
    // "Name;" is curl's way to send a header with an empty value.
    if (h.value.empty()) {
      line.push_back(';');
    } else {
      line.append(": ");
      line.append(h.value);
    }
    headers = curl_slist_append(headers, line.c_str());
  }
  // No 100-continue round trip before uploads; no form content type curl would add by itself.
  if (!has_expect) headers = curl_slist_append(headers, "Expect:");
  if (has_body && !has_content_type) headers = curl_slist_append(headers, "Content-Type:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, nullptr);

  if (rc != CURLE_OK) {
    response.status = 0;
    if (transfer.aborted) {
      response.error = "aborted by callback";
    } else {
      response.error = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
    }
    return response;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::string url_encode(std::string_view text, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + 8);
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(char(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace sluice::net
