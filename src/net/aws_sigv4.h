// AWS Signature Version 4 (header form) for S3 and other AWS-style HTTP APIs. The payload is
// either hashed whole (SHA-256 hex) or declared UNSIGNED-PAYLOAD; the streaming aws-chunked form
// is deliberately absent (Swift's s3api and several S3 clones reject it).
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http_client.h"

namespace sluice::net {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;  // never logged
  std::string session_token;      // "" unless temporary credentials
};

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

std::string to_hex(std::string_view bytes);
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes

// "20130524T000000Z" for the given UTC time.
std::string amz_date(std::time_t when);

struct SigV4Request {
  std::string method;         // GET, PUT...
  std::string canonical_uri;  // the path exactly as sent (already percent-encoded), "/" at least
  std::vector<std::pair<std::string, std::string>> query;  // decoded names and values
  std::vector<HttpHeader> headers;  // every header to sign; must contain host and x-amz-date
  std::string payload_hash;   // sha256_hex(body) or "UNSIGNED-PAYLOAD"
  std::string region;
  std::string service = "s3";
};

// The canonical query string: names and values percent-encoded (RFC 3986), sorted by name then value.
std::string canonical_query_string(const std::vector<std::pair<std::string, std::string>>& query);

struct SigV4Result {
  std::string authorization;      // the Authorization header value
  std::string canonical_request;  // for diagnostics and tests
  std::string string_to_sign;
};

// Signs the request; the date comes from its x-amz-date header.
SigV4Result sigv4_sign(const SigV4Request& request, const AwsCredentials& credentials);

}  // namespace sluice::net
