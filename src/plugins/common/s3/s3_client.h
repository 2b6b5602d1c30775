// A minimal S3 REST client (the calls the s3 input and output need), signed with SigV4 over
// HttpClient. One S3Client per thread: it owns one keep-alive connection. Each call is one
// attempt; callers decide about retries with S3Result::retryable().
#pragma once

#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/aws_sigv4.h"
#include "net/http_client.h"

namespace sluice::s3 {

struct S3Settings {
  std::string bucket;
  std::string region = "us-east-1";
  // "" = AWS (https://s3.<region>.amazonaws.com, virtual-hosted buckets); a custom endpoint
  // (MinIO, Swift, Ceph...) uses path-style addressing.
  std::string endpoint;
  bool force_path_style = false;
  net::AwsCredentials credentials;  // empty: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
  net::HttpClientOptions http;
  // Sign the body's SHA-256 (true) or send UNSIGNED-PAYLOAD (saves a pass over large bodies on TLS).
  bool sign_payload = true;
};

struct S3Result {
  long status = 0;         // HTTP status; 0 = transport failure
  std::string code;        // S3 error code (SignatureDoesNotMatch, NoSuchKey...) or the transport error
  std::string message;
  bool ok() const { return status >= 200 && status < 300; }
  // Worth another attempt: transport failures, 5xx, throttling (429, SlowDown), timeouts (408).
  bool retryable() const;
  std::string describe() const;  // "403 SignatureDoesNotMatch: The request signature ..."
};

struct S3Object {
  std::string key;
  std::time_t last_modified = 0;
  std::string last_modified_text;  // as S3 wrote it (ISO 8601)
  uint64_t size = 0;
  std::string etag;
  std::string storage_class;
};

struct ListPage {
  std::vector<S3Object> objects;
  bool truncated = false;
  std::string next_continuation_token;
};

class S3Client {
 public:
  explicit S3Client(S3Settings settings);

  const S3Settings& settings() const { return settings_; }
  const std::string& bucket() const { return settings_.bucket; }

  S3Result put_object(const std::string& key, std::string_view body, const std::vector<net::HttpHeader>& headers = {});
  S3Result create_multipart_upload(const std::string& key, const std::vector<net::HttpHeader>& headers,
                                   std::string& upload_id);
  S3Result upload_part(const std::string& key, const std::string& upload_id, int part_number, std::string_view body,
                       std::string& etag);
  S3Result complete_multipart_upload(const std::string& key, const std::string& upload_id,
                                     const std::vector<std::string>& part_etags);
  S3Result abort_multipart_upload(const std::string& key, const std::string& upload_id);
  // start_after (first page only): list the keys that sort after it.
  S3Result list_objects_v2(const std::string& prefix, const std::string& continuation_token, int max_keys,
                           ListPage& page, const std::string& start_after = "");
  // Streams the object's bytes from `offset` on to on_data (return false to stop).
  S3Result get_object(const std::string& key, const std::function<bool(std::string_view)>& on_data,
                      uint64_t offset = 0);
  // Whole small object into `body`.
  S3Result get_object(const std::string& key, std::string& body);
  S3Result head_object(const std::string& key, S3Object* info = nullptr);
  S3Result delete_object(const std::string& key);
  S3Result copy_object(const std::string& source_key, const std::string& target_bucket, const std::string& target_key);
  S3Result create_bucket(const std::string& bucket);  // tests and tools
  S3Result head_bucket();

  // Low level: one signed request against `bucket` (empty = the service root).
  S3Result request(const std::string& method, const std::string& bucket, const std::string& key,
                   std::vector<std::pair<std::string, std::string>> query, std::vector<net::HttpHeader> headers,
                   std::string_view body, net::HttpResponse& response,
                   const std::function<bool(std::string_view)>* on_data = nullptr);

 private:
  S3Settings settings_;
  net::HttpClient http_;
  std::string scheme_, host_;  // from the endpoint ("http", "127.0.0.1:8080")
  std::string base_path_;      // endpoint path prefix, usually ""
  bool path_style_ = true;
};

// Small XML helpers for S3's responses (no namespaces, no attributes needed).
std::string xml_unescape(std::string_view text);
std::string xml_escape(std::string_view text);
// The text of the first <tag>...</tag> in xml (unescaped), or nullopt.
std::optional<std::string> xml_value(std::string_view xml, std::string_view tag);
// Calls f with the inner text of each <tag>...</tag> block (not unescaped).
void xml_each(std::string_view xml, std::string_view tag, const std::function<void(std::string_view)>& f);
// ISO 8601 "2009-10-12T17:50:30.000Z" (or RFC 1123 as in Last-Modified headers) to epoch seconds; 0 if invalid.
std::time_t parse_s3_time(std::string_view text);

}  // namespace sluice::s3
