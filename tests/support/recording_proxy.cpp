// The recording forward proxy of the tests (see recording_proxy.h).
#include "support/recording_proxy.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <strings.h>

#include <stdexcept>

#include <fmt/format.h>

#include "net/http_client.h"
#include "test_support.h"

namespace sluice::test {

namespace {

struct PendingRequest {
  std::string target;  // the request target as sent (absolute form, query included)
  std::string body;
  bool started = false;
};

// Called with the raw request target before it is parsed (MHD drops the query from `url`).
void* on_uri(void*, const char* uri, MHD_Connection*) {
  auto* pending = new PendingRequest();
  pending->target = uri ? uri : "";
  return pending;
}

MHD_Result access_handler(void* cls, MHD_Connection* connection, const char* url, const char* method,
                          const char* /*version*/, const char* upload_data, size_t* upload_size, void** state) {
  return static_cast<RecordingProxy*>(cls)->handle(connection, url, method, upload_data, upload_size, state) ? MHD_YES
                                                                                                              : MHD_NO;
}

void completed(void*, MHD_Connection*, void** state, MHD_RequestTerminationCode) {
  delete static_cast<PendingRequest*>(*state);
  *state = nullptr;
}

bool hop_by_hop(const std::string& name) {
  for (const char* skip : {"Connection", "Proxy-Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length",
                           "Host", "Expect", "Proxy-Authorization", "TE", "Upgrade"})
    if (strcasecmp(name.c_str(), skip) == 0) return true;
  return false;
}

}  // namespace

std::string ProxiedRequest::header(const std::string& name) const {
  for (const auto& [key, value] : headers)
    if (strcasecmp(key.c_str(), name.c_str()) == 0) return value;
  return "";
}

RecordingProxy::RecordingProxy() {
  for (int attempt = 0; attempt < 5 && !daemon_; ++attempt) {
    int candidate = free_port();
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(candidate));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon_ = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, uint16_t(candidate),
                               nullptr, nullptr, &access_handler, this, MHD_OPTION_SOCK_ADDR, &address,
                               MHD_OPTION_NOTIFY_COMPLETED, &completed, nullptr, MHD_OPTION_URI_LOG_CALLBACK, &on_uri,
                               nullptr, MHD_OPTION_CONNECTION_TIMEOUT,
                               (unsigned int)120, MHD_OPTION_END);
    if (daemon_) port_ = candidate;
  }
  if (!daemon_) throw std::runtime_error("recording proxy: cannot listen on 127.0.0.1");
}

RecordingProxy::~RecordingProxy() {
  if (daemon_) MHD_stop_daemon(daemon_);
}

std::string RecordingProxy::url() const { return fmt::format("http://127.0.0.1:{}", port_); }

std::vector<ProxiedRequest> RecordingProxy::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

int RecordingProxy::handle(MHD_Connection* connection, const char* /*url*/, const char* method, const char* upload_data,
                           size_t* upload_size, void** state) {
  auto* pending = static_cast<PendingRequest*>(*state);
  if (!pending) return 0;
  if (!pending->started) {
    pending->started = true;
    return 1;
  }
  if (*upload_size > 0) {
    pending->body.append(upload_data, *upload_size);
    *upload_size = 0;
    return 1;
  }
  ProxiedRequest record;
  record.method = method ? method : "GET";
  record.url = pending->target;
  MHD_get_connection_values(
      connection, MHD_HEADER_KIND,
      [](void* cls, MHD_ValueKind, const char* key, const char* value) -> MHD_Result {
        static_cast<ProxiedRequest*>(cls)->headers.emplace_back(key ? key : "", value ? value : "");
        return MHD_YES;
      },
      &record);
  net::HttpResponse answer;  // a request not in absolute form (not meant for a proxy) gets 502
  if (record.url.starts_with("http://")) {
    net::HttpRequest forward;
    forward.method = record.method;
    forward.url = record.url;
    for (const auto& [key, value] : record.headers)
      if (!hop_by_hop(key)) forward.headers.push_back({key, value});
    forward.body = pending->body;
    net::HttpClient client;
    answer = client.perform(forward);
  }
  record.status = answer.status;
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(record);
  }
  if (answer.transport_failed()) {
    static const char kBadGateway[] = "bad gateway";
    MHD_Response* response = MHD_create_response_from_buffer(sizeof kBadGateway - 1, const_cast<char*>(kBadGateway),
                                                             MHD_RESPMEM_PERSISTENT);
    MHD_Result result = MHD_queue_response(connection, 502, response);
    MHD_destroy_response(response);
    return result == MHD_YES ? 1 : 0;
  }
  MHD_Response* response = MHD_create_response_from_buffer(answer.body.size(), answer.body.data(), MHD_RESPMEM_MUST_COPY);
  for (const auto& h : answer.headers)
    if (!hop_by_hop(h.name)) MHD_add_response_header(response, h.name.c_str(), h.value.c_str());
  MHD_Result result = MHD_queue_response(connection, unsigned(answer.status), response);
  MHD_destroy_response(response);
  return result == MHD_YES ? 1 : 0;
}

}  // namespace sluice::test
