// The request-to-event pieces of the http input: Logstash's header map, the ECS fields, mime
// types, basic auth and compressed bodies.
#include <gtest/gtest.h>
#include <zlib.h>

#include "core/event.h"
#include "core/field_ref.h"
#include "plugins/inputs/http/request.h"

namespace sluice::http_input {
namespace {

Request sample_request() {
  Request r;
  r.method = "POST";
  r.uri = "/ingest?source=app";
  r.version = "HTTP/1.1";
  r.remote_ip = "127.0.0.1";
  r.headers = {{"Host", "127.0.0.1:8080"},
               {"User-Agent", "curl/7.88"},
               {"Content-Type", "application/json; charset=UTF-8"},
               {"Content-Length", "17"},
               {"Authorization", "Basic c2VjcmV0"},
               {"X-Request-Id", "abc"}};
  return r;
}

TEST(HttpInputRequest, MimeTypeDropsParametersAndCase) {
  EXPECT_EQ(mime_type("Application/JSON; charset=UTF-8"), "application/json");
  EXPECT_EQ(mime_type("  text/plain  "), "text/plain");
  EXPECT_EQ(mime_type(""), "");
}

TEST(HttpInputRequest, HeaderMapAsLogstashBuildsIt) {
  Object headers;
  format_headers(sample_request(), headers);
  ASSERT_NE(headers.find("http_host"), nullptr);
  EXPECT_EQ(headers.find("http_host")->as_string(), "127.0.0.1:8080");
  EXPECT_EQ(headers.find("http_user_agent")->as_string(), "curl/7.88");
  EXPECT_EQ(headers.find("content_type")->as_string(), "application/json; charset=UTF-8");
  EXPECT_EQ(headers.find("x_request_id")->as_string(), "abc");
  EXPECT_EQ(headers.find("request_method")->as_string(), "POST");
  EXPECT_EQ(headers.find("request_path")->as_string(), "/ingest?source=app");
  EXPECT_EQ(headers.find("http_version")->as_string(), "HTTP/1.1");
  ASSERT_NE(headers.find("http_accept"), nullptr);
  EXPECT_TRUE(headers.find("http_accept")->is_null()) << "absent, but present as null as in Logstash";
  EXPECT_EQ(headers.find("authorization"), nullptr) << "credentials never reach the event";
  EXPECT_EQ(headers.find("host"), nullptr);
}

TEST(HttpInputRequest, EcsFieldsAndTargets) {
  Request request = sample_request();
  Object headers;
  format_headers(request, headers);
  FieldTargets targets = default_targets(true);
  Event event;
  add_request_fields(event, headers, request, targets, FieldRef::of(targets.request_headers_field),
                     FieldRef::of(targets.remote_host_field));
  EXPECT_EQ(event.get(FieldRef::of("[http][method]"))->as_string(), "POST");
  EXPECT_EQ(event.get(FieldRef::of("[url][path]"))->as_string(), "/ingest?source=app");
  EXPECT_EQ(event.get(FieldRef::of("[url][domain]"))->as_string(), "127.0.0.1");
  EXPECT_EQ(event.get(FieldRef::of("[url][port]"))->as_int(), 8080);
  EXPECT_EQ(event.get(FieldRef::of("[user_agent][original]"))->as_string(), "curl/7.88");
  EXPECT_EQ(event.get(FieldRef::of("[http][version]"))->as_string(), "HTTP/1.1");
  EXPECT_EQ(event.get(FieldRef::of("[http][request][body][bytes]"))->as_string(), "17");
  EXPECT_EQ(event.get(FieldRef::of("[http][request][mime_type]"))->as_string(), "application/json; charset=UTF-8");
  EXPECT_EQ(event.get(FieldRef::of("[host][ip]"))->as_string(), "127.0.0.1");
  const Value* kept = event.get(FieldRef::of("[@metadata][input][http][request][headers][x_request_id]"));
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->as_string(), "abc");
  EXPECT_EQ(event.get(FieldRef::of("headers")), nullptr);
}

TEST(HttpInputRequest, LegacyFieldsWithoutEcs) {
  Request request = sample_request();
  Object headers;
  format_headers(request, headers);
  FieldTargets targets = default_targets(false);
  Event event;
  add_request_fields(event, headers, request, targets, FieldRef::of(targets.request_headers_field),
                     FieldRef::of(targets.remote_host_field));
  EXPECT_EQ(event.get(FieldRef::of("host"))->as_string(), "127.0.0.1");
  EXPECT_EQ(event.get(FieldRef::of("[headers][request_method]"))->as_string(), "POST");
  EXPECT_EQ(event.get(FieldRef::of("[http][method]")), nullptr);
}

TEST(HttpInputRequest, SplitHostPort) {
  std::string domain;
  int64_t port;
  split_host_port("example.com:9200", domain, port);
  EXPECT_EQ(domain, "example.com");
  EXPECT_EQ(port, 9200);
  split_host_port("[2001:db8::1]:8080", domain, port);
  EXPECT_EQ(domain, "2001:db8::1");
  EXPECT_EQ(port, 8080);
  split_host_port("example.com", domain, port);
  EXPECT_EQ(domain, "example.com");
  EXPECT_EQ(port, -1);
  split_host_port("2001:db8::1", domain, port);
  EXPECT_EQ(domain, "2001:db8::1");
  EXPECT_EQ(port, -1);
}

TEST(HttpInputRequest, BasicAuth) {
  // "user:pa:ss" in base64
  EXPECT_TRUE(basic_auth_matches("Basic dXNlcjpwYTpzcw==", "user", "pa:ss"));
  EXPECT_TRUE(basic_auth_matches("basic dXNlcjpwYTpzcw==", "user", "pa:ss"));
  EXPECT_FALSE(basic_auth_matches("Basic dXNlcjpwYTpzcw==", "user", "pa:sx"));
  EXPECT_FALSE(basic_auth_matches("Bearer dXNlcjpwYTpzcw==", "user", "pa:ss"));
  EXPECT_FALSE(basic_auth_matches("Basic !!!", "user", "pa:ss"));
  EXPECT_FALSE(basic_auth_matches("", "user", "pa:ss"));
}

std::string gzip(const std::string& text) {
  z_stream s{};
  deflateInit2(&s, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&s, uLong(text.size())) + 32, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  s.avail_in = uInt(text.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = uInt(out.size());
  deflate(&s, Z_FINISH);
  out.resize(out.size() - s.avail_out);
  deflateEnd(&s);
  return out;
}

TEST(HttpInputRequest, InflatesGzipBodiesWithinTheCap) {
  std::string body = gzip("hello world");
  std::string out;
  EXPECT_EQ(inflate_body("gzip", body, 1024, out), InflateResult::Ok);
  EXPECT_EQ(out, "hello world");
  EXPECT_EQ(inflate_body("gzip", gzip(std::string(100000, 'x')), 1000, out), InflateResult::TooLarge);
  EXPECT_EQ(inflate_body("gzip", "not gzip at all", 1000, out), InflateResult::Corrupt);
  EXPECT_EQ(inflate_body("gzip", body.substr(0, body.size() / 2), 1000, out), InflateResult::Corrupt);
  EXPECT_EQ(inflate_body("br", body, 1000, out), InflateResult::Unsupported);
  EXPECT_EQ(inflate_body("identity", "plain", 1000, out), InflateResult::Ok);
  EXPECT_EQ(out, "plain");
}

}  // namespace
}  // namespace sluice::http_input
