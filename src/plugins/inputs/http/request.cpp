#include "plugins/inputs/http/request.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>

#include "core/field_ref.h"

namespace sluice::http_input {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool base64_decode(std::string_view in, std::string& out) {
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = base64_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xff));
    }
  }
  return true;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

}  // namespace

std::string mime_type(std::string_view content_type) {
  size_t semicolon = content_type.find(';');
  if (semicolon != std::string_view::npos) content_type = content_type.substr(0, semicolon);
  return lower(trim(content_type));
}

void format_headers(const Request& request, Object& out) {
  out.clear();
  std::string key;
  for (const auto& [name, value] : request.headers) {
    key = lower(name);
    std::replace(key.begin(), key.end(), '-', '_');
    if (key == "authorization") continue;  // Logstash removes it before building the map
    out[key].set_string(value);
  }
  auto rename = [&](std::string_view from, std::string_view to) {
    Value moved;
    if (!out.take(from, moved)) moved.set_null();
    out[to] = std::move(moved);
  };
  rename("accept", "http_accept");
  rename("host", "http_host");
  rename("user_agent", "http_user_agent");
  out["request_method"].set_string(request.method);
  out["request_path"].set_string(request.uri);
  out["http_version"].set_string(request.version);
}

void split_host_port(std::string_view host, std::string& domain, int64_t& port) {
  port = -1;
  domain.assign(host);
  size_t colon = host.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= host.size()) return;
  std::string_view digits = host.substr(colon + 1);
  if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return;
  std::string_view name = host.substr(0, colon);
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  } else if (name.empty() || name.find(':') != std::string_view::npos || name.find('[') != std::string_view::npos) {
    return;  // a bare IPv6 address has no port part
  }
  domain.assign(name);
  port = std::stoll(std::string(digits));
}

bool basic_auth_matches(std::string_view authorization, std::string_view user, std::string_view password) {
  authorization = trim(authorization);
  if (authorization.size() < 6 || !iequals(authorization.substr(0, 6), "basic ")) return false;
  std::string decoded;
  if (!base64_decode(trim(authorization.substr(6)), decoded)) return false;
  std::string expected;
  expected.reserve(user.size() + 1 + password.size());
  expected.append(user).push_back(':');
  expected.append(password);
  return constant_time_equal(decoded, expected);
}

InflateResult inflate_body(std::string_view encoding, std::string_view body, size_t cap, std::string& out) {
  std::string coding = lower(trim(encoding));
  out.clear();
  if (coding.empty() || coding == "identity") {
    if (body.size() > cap) return InflateResult::TooLarge;
    out.assign(body);
    return InflateResult::Ok;
  }
  int window_bits;
  if (coding == "gzip" || coding == "x-gzip") {
    window_bits = 16 + MAX_WBITS;
  } else if (coding == "deflate") {
    window_bits = 32 + MAX_WBITS;  // zlib or gzip header, auto-detected
  } else {
    return InflateResult::Unsupported;
  }
  z_stream stream{};
  if (inflateInit2(&stream, window_bits) != Z_OK) return InflateResult::Corrupt;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = uInt(body.size());
  char chunk[16384];
  InflateResult result = InflateResult::Corrupt;
  while (true) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof chunk;
    int rc = inflate(&stream, Z_NO_FLUSH);
    size_t produced = sizeof chunk - stream.avail_out;
    if (out.size() + produced > cap) {
      result = InflateResult::TooLarge;
      break;
    }
    out.append(chunk, produced);
    if (rc == Z_STREAM_END) {
      result = InflateResult::Ok;
      break;
    }
    if (rc != Z_OK || (produced == 0 && stream.avail_in == 0)) break;  // error or truncated input
  }
  inflateEnd(&stream);
  if (result != InflateResult::Ok) out.clear();
  return result;
}

FieldTargets default_targets(bool ecs) {
  FieldTargets targets;
  targets.ecs = ecs;
  targets.remote_host_field = ecs ? "[host][ip]" : "host";
  targets.request_headers_field = ecs ? "[@metadata][input][http][request][headers]" : "headers";
  return targets;
}

void add_request_fields(Event& event, const Object& headers, const Request& request, const FieldTargets& targets,
                        const FieldRef& headers_ref, const FieldRef& remote_ref) {
  if (targets.ecs) {
    static const FieldRef http_version = FieldRef::of("[http][version]");
    static const FieldRef user_agent = FieldRef::of("[user_agent][original]");
    static const FieldRef url_domain = FieldRef::of("[url][domain]");
    static const FieldRef url_port = FieldRef::of("[url][port]");
    static const FieldRef http_method = FieldRef::of("[http][method]");
    static const FieldRef url_path = FieldRef::of("[url][path]");
    static const FieldRef body_bytes = FieldRef::of("[http][request][body][bytes]");
    static const FieldRef request_mime = FieldRef::of("[http][request][mime_type]");
    auto string_header = [&](std::string_view key) -> const std::string* {
      const Value* v = headers.find(key);
      return v && v->is_string() ? &v->as_string() : nullptr;
    };
    if (auto* v = string_header("http_version")) event.put(http_version).set_string(*v);
    if (auto* v = string_header("http_user_agent")) event.put(user_agent).set_string(*v);
    if (auto* v = string_header("http_host")) {
      std::string domain;
      int64_t port;
      split_host_port(*v, domain, port);
      event.put(url_domain).set_string(domain);
      if (port >= 0) event.put(url_port).set_int(port);
    }
    if (auto* v = string_header("request_method")) event.put(http_method).set_string(*v);
    if (auto* v = string_header("request_path")) event.put(url_path).set_string(*v);
    if (auto* v = string_header("content_length")) event.put(body_bytes).set_string(*v);
    if (auto* v = string_header("content_type")) event.put(request_mime).set_string(*v);
  }
  event.put(headers_ref) = Value(headers);
  event.put(remote_ref).set_string(request.remote_ip);
}

}  // namespace sluice::http_input
