// A forward HTTP proxy for the tests (plain http only, no CONNECT): clients configured with it
// (`proxy_uri`, HttpClientOptions::proxy) send absolute-form requests, which it records (method,
// URL, headers) and forwards unchanged to their target with libcurl, answering with the target's
// response. Lets a test check the exact headers a plugin sends to a real server (Swift), and
// that the proxy option is honoured. Binds 127.0.0.1 on a free port.
#pragma once

#include <mutex>
#include <string>
#include <utility>
#include <vector>

struct MHD_Daemon;
struct MHD_Connection;

namespace sluice::test {

struct ProxiedRequest {
  std::string method, url;
  std::vector<std::pair<std::string, std::string>> headers;
  long status = 0;  // the target's answer (0: it could not be reached)
  // Case-insensitive header lookup; "" when absent.
  std::string header(const std::string& name) const;
};

class RecordingProxy {
 public:
  RecordingProxy();  // starts; throws std::runtime_error when it cannot listen
  ~RecordingProxy();
  RecordingProxy(const RecordingProxy&) = delete;
  std::string url() const;  // http://127.0.0.1:PORT
  std::vector<ProxiedRequest> requests() const;

  // Internal (libmicrohttpd callback).
  int handle(MHD_Connection* connection, const char* url, const char* method, const char* upload_data,
             size_t* upload_size, void** state);

 private:
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::vector<ProxiedRequest> requests_;
};

}  // namespace sluice::test
