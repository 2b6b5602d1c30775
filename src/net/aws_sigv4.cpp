#include "net/aws_sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>

namespace sluice::net {

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = digits[c >> 4];
    out[2 * i + 1] = digits[c & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return to_hex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), key.data(), int(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), digest, &length))
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string amz_date(std::time_t when) {
  std::tm utc{};
  gmtime_r(&when, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &utc);
  return buffer;
}

std::string canonical_query_string(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) encoded.emplace_back(url_encode(name), url_encode(value));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out.append(name);
    out.push_back('=');
    out.append(value);
  }
  return out;
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trims and collapses runs of spaces, as the canonical header form requires.
std::string canonical_header_value(std::string_view value) {
  std::string out;
  bool in_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out.push_back(' ');
    in_space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

SigV4Result sigv4_sign(const SigV4Request& request, const AwsCredentials& credentials) {
  std::map<std::string, std::string> headers;  // sorted by lower-cased name
  for (const HttpHeader& h : request.headers) {
    std::string name = lower(h.name);
    std::string value = canonical_header_value(h.value);
    auto [it, inserted] = headers.emplace(name, value);
    if (!inserted) it->second.append(",").append(value);
  }
  auto date_it = headers.find("x-amz-date");
  if (date_it == headers.end() || date_it->second.size() < 8)
    throw std::invalid_argument("sigv4: the request has no x-amz-date header");
  const std::string& timestamp = date_it->second;
  std::string date = timestamp.substr(0, 8);

  std::string canonical_headers, signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers.append(name).append(":").append(value).append("\n");
    if (!signed_headers.empty()) signed_headers.push_back(';');
    signed_headers.append(name);
  }

  SigV4Result result;
  result.canonical_request.append(request.method).append("\n");
  result.canonical_request.append(request.canonical_uri.empty() ? "/" : request.canonical_uri).append("\n");
  result.canonical_request.append(canonical_query_string(request.query)).append("\n");
  result.canonical_request.append(canonical_headers).append("\n");
  result.canonical_request.append(signed_headers).append("\n");
  result.canonical_request.append(request.payload_hash);

  std::string scope = date + "/" + request.region + "/" + request.service + "/aws4_request";
  result.string_to_sign = "AWS4-HMAC-SHA256\n" + timestamp + "\n" + scope + "\n" + sha256_hex(result.canonical_request);

  std::string key = hmac_sha256("AWS4" + credentials.secret_access_key, date);
  key = hmac_sha256(key, request.region);
  key = hmac_sha256(key, request.service);
  key = hmac_sha256(key, "aws4_request");
  std::string signature = to_hex(hmac_sha256(key, result.string_to_sign));

  result.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
                         ",SignedHeaders=" + signed_headers + ",Signature=" + signature;
  return result;
}

}  // namespace sluice::net
