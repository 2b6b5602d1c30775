// What the http input makes of one request, apart from the server: the header map, the ECS
// fields, the codec choice, basic auth and compressed bodies. Pure functions, so they are unit
// tested and fuzzed without a socket.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/value.h"

namespace sluice::http_input {

struct Request {
  std::string method;   // "POST"
  std::string uri;      // path with the query string, as sent ("/logs?x=1")
  std::string version;  // "HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string remote_ip;
};

// The media type of a Content-Type value: parameters dropped, trimmed, lower-cased
// ("Application/JSON; charset=UTF-8" -> "application/json").
std::string mime_type(std::string_view content_type);

// The header map as Logstash's http input builds it: names lower-cased with '-' -> '_' (a later
// duplicate wins), `accept`, `host`, `user-agent` renamed http_accept, http_host,
// http_user_agent (null when absent, as Logstash's map holds them), plus request_method,
// request_path (the URI with its query), http_version. The Authorization header is left out.
void format_headers(const Request& request, Object& out);

// "host:port" / "[v6]:port" / "host" -> domain and port (port -1 when none).
void split_host_port(std::string_view host, std::string& domain, int64_t& port);

// Whether an Authorization header value carries the expected credentials ("Basic base64").
// Compares in time independent of where the values differ.
bool basic_auth_matches(std::string_view authorization, std::string_view user, std::string_view password);

enum class InflateResult { Ok, Unsupported, Corrupt, TooLarge };
// Decompresses a body sent with Content-Encoding gzip / deflate (x-gzip too), at most `cap`
// bytes of output. "identity" or "" copies the body.
InflateResult inflate_body(std::string_view encoding, std::string_view body, size_t cap, std::string& out);

// Where the request's data goes on each event (ECS v1/v8 or disabled).
struct FieldTargets {
  bool ecs = true;
  std::string remote_host_field;     // [host][ip] (ECS) or host
  std::string request_headers_field; // [@metadata][input][http][request][headers] (ECS) or headers
};
FieldTargets default_targets(bool ecs);

// Sets the request's fields on one decoded event, as Logstash's push_decoded_event does:
// under ECS [http][version], [user_agent][original], [url][domain], [url][port], [http][method],
// [url][path], [http][request][body][bytes], [http][request][mime_type]; then the header map at
// the headers target and the client address at the remote host target.
void add_request_fields(Event& event, const Object& headers, const Request& request, const FieldTargets& targets,
                        const FieldRef& headers_ref, const FieldRef& remote_ref);

}  // namespace sluice::http_input
