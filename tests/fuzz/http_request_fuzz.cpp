// libFuzzer target for what the http input makes of a request apart from the socket: header
// map, ECS fields, basic auth and body inflation. The input is split into header lines and a
// body; nothing may crash, and inflation never exceeds its cap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/event.h"
#include "core/field_ref.h"
#include "plugins/inputs/http/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::http_input;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t split = input.find("\n\n");
  std::string_view head = input.substr(0, split);
  std::string_view body = split == std::string_view::npos ? std::string_view() : input.substr(split + 2);

  Request request;
  request.method = "POST";
  request.version = "HTTP/1.1";
  request.remote_ip = "127.0.0.1";
  bool first = true;
  std::string encoding;
  while (!head.empty()) {
    size_t end = head.find('\n');
    std::string_view line = head.substr(0, end);
    head = end == std::string_view::npos ? std::string_view() : head.substr(end + 1);
    if (first) {
      request.uri.assign(line);
      first = false;
      continue;
    }
    size_t colon = line.find(':');
    std::string name(line.substr(0, colon));
    std::string value(colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1));
    if (name == "Content-Encoding") encoding = value;
    if (name == "Authorization") basic_auth_matches(value, "user", "pass");
    (void)mime_type(value);
    request.headers.emplace_back(std::move(name), std::move(value));
  }

  sluice::Object headers;
  format_headers(request, headers);
  for (bool ecs : {true, false}) {
    FieldTargets targets = default_targets(ecs);
    sluice::Event event;
    add_request_fields(event, headers, request, targets, sluice::FieldRef::of(targets.request_headers_field),
                       sluice::FieldRef::of(targets.remote_host_field));
  }
  std::string out;
  constexpr size_t kCap = 1 << 16;
  inflate_body(encoding.empty() ? "gzip" : encoding, body, kCap, out);
  if (out.size() > kCap) std::abort();
  return 0;
}
