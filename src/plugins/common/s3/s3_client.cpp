#include "plugins/common/s3/s3_client.h"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

namespace sluice::s3 {

using net::HttpHeader;

bool S3Result::retryable() const {
  if (status == 0) return true;
  if (status == 501 || code == "NotImplemented") return false;  // a feature the store lacks (e.g. SSE on Swift)
  if (status >= 500 || status == 429 || status == 408) return true;
  return code == "SlowDown" || code == "RequestTimeout" || code == "RequestTimeTooSkewed" ||
         code == "InternalError" || code == "ServiceUnavailable";
}

std::string S3Result::describe() const {
  if (status == 0) return "transport error: " + code;
  std::string text = std::to_string(status);
  if (!code.empty()) text += " " + code;
  if (!message.empty()) text += ": " + message;
  return text;
}

std::string xml_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    size_t end = text.find(';', i);
    if (end == std::string_view::npos || end - i > 10) {
      out.push_back('&');
      continue;
    }
    std::string_view entity = text.substr(i + 1, end - i - 1);
    if (entity == "amp") out.push_back('&');
    else if (entity == "lt") out.push_back('<');
    else if (entity == "gt") out.push_back('>');
    else if (entity == "quot") out.push_back('"');
    else if (entity == "apos") out.push_back('\'');
    else if (!entity.empty() && entity[0] == '#') {
      unsigned long code = entity.size() > 1 && (entity[1] == 'x' || entity[1] == 'X')
                               ? std::strtoul(std::string(entity.substr(2)).c_str(), nullptr, 16)
                               : std::strtoul(std::string(entity.substr(1)).c_str(), nullptr, 10);
      // UTF-8 encode the code point.
      if (code < 0x80) {
        out.push_back(char(code));
      } else if (code < 0x800) {
        out.push_back(char(0xC0 | (code >> 6)));
        out.push_back(char(0x80 | (code & 0x3F)));
      } else if (code < 0x10000) {
        out.push_back(char(0xE0 | (code >> 12)));
        out.push_back(char(0x80 | ((code >> 6) & 0x3F)));
        out.push_back(char(0x80 | (code & 0x3F)));
      } else {
        out.push_back(char(0xF0 | (code >> 18)));
        out.push_back(char(0x80 | ((code >> 12) & 0x3F)));
        out.push_back(char(0x80 | ((code >> 6) & 0x3F)));
        out.push_back(char(0x80 | (code & 0x3F)));
      }
    } else {
      out.append(text.substr(i, end - i + 1));
    }
    i = end;
  }
  return out;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

void xml_each(std::string_view xml, std::string_view tag, const std::function<void(std::string_view)>& f) {
  std::string open = "<" + std::string(tag), close = "</" + std::string(tag) + ">";
  size_t at = 0;
  while ((at = xml.find(open, at)) != std::string_view::npos) {
    size_t after = at + open.size();
    if (after >= xml.size()) return;
    char next = xml[after];
    if (next != '>' && next != ' ' && next != '/') {  // a longer tag name (<KeyCount> for <Key>)
      at = after;
      continue;
    }
    size_t gt = xml.find('>', after);
    if (gt == std::string_view::npos) return;
    if (xml[gt - 1] == '/') {  // <Tag/>
      f(std::string_view());
      at = gt + 1;
      continue;
    }
    size_t end = xml.find(close, gt + 1);
    if (end == std::string_view::npos) return;
    f(xml.substr(gt + 1, end - gt - 1));
    at = end + close.size();
  }
}

std::optional<std::string> xml_value(std::string_view xml, std::string_view tag) {
  std::optional<std::string> value;
  bool found = false;
  xml_each(xml, tag, [&](std::string_view inner) {
    if (!found) value = xml_unescape(inner);
    found = true;
  });
  return value;
}

std::time_t parse_s3_time(std::string_view text) {
  std::tm tm{};
  std::string s(text);
  // ISO 8601: 2009-10-12T17:50:30.000Z
  if (strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return timegm(&tm);
  tm = {};
  // RFC 1123: Wed, 12 Oct 2009 17:50:00 GMT
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm)) return timegm(&tm);
  return 0;
}

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

S3Result result_of(const net::HttpResponse& response) {
  S3Result result;
  result.status = response.status;
  if (response.status == 0) {
    result.code = response.error;
    return result;
  }
  if (!response.success()) {
    result.code = xml_value(response.body, "Code").value_or("");
    result.message = xml_value(response.body, "Message").value_or("");
    if (result.code.empty()) {
      if (response.status == 404) result.code = "NotFound";
      else if (response.status == 403) result.code = "Forbidden";
      else result.code = "HTTP";
    }
  }
  return result;
}

}  // namespace

S3Client::S3Client(S3Settings settings) : settings_(std::move(settings)), http_(settings_.http) {
  if (settings_.credentials.access_key_id.empty()) {
    settings_.credentials.access_key_id = env("AWS_ACCESS_KEY_ID");
    settings_.credentials.secret_access_key = env("AWS_SECRET_ACCESS_KEY");
    if (settings_.credentials.session_token.empty()) settings_.credentials.session_token = env("AWS_SESSION_TOKEN");
  }
  std::string endpoint = settings_.endpoint;
  if (endpoint.empty()) {
    endpoint = "https://s3." + settings_.region + ".amazonaws.com";
    path_style_ = settings_.force_path_style || settings_.bucket.find('.') != std::string::npos;
  } else {
    path_style_ = true;  // custom endpoints (MinIO, Swift, Ceph) want path-style buckets
  }
  size_t scheme_end = endpoint.find("://");
  if (scheme_end == std::string::npos) {
    scheme_ = "https";
  } else {
    scheme_ = endpoint.substr(0, scheme_end);
    endpoint = endpoint.substr(scheme_end + 3);
  }
  size_t slash = endpoint.find('/');
  host_ = endpoint.substr(0, slash);
  if (slash != std::string::npos) {
    base_path_ = endpoint.substr(slash);
    while (base_path_.ends_with('/')) base_path_.pop_back();
  }
  // Host header as curl sends it: the default port is left out.
  if ((scheme_ == "https" && host_.ends_with(":443")) || (scheme_ == "http" && host_.ends_with(":80")))
    host_ = host_.substr(0, host_.rfind(':'));
}

S3Result S3Client::request(const std::string& method, const std::string& bucket, const std::string& key,
                           std::vector<std::pair<std::string, std::string>> query, std::vector<HttpHeader> headers,
                           std::string_view body, net::HttpResponse& response,
                           const std::function<bool(std::string_view)>* on_data) {
  std::string host = host_;
  std::string path = base_path_;
  if (!bucket.empty()) {
    if (path_style_) {
      path += "/" + net::url_encode(bucket);
    } else {
      host = bucket + "." + host_;
    }
  }
  if (!key.empty()) {
    path += "/" + net::url_encode(key, true);
  } else if (path.empty()) {
    path = "/";
  }

  std::string payload_hash = settings_.sign_payload ? net::sha256_hex(body) : std::string(net::kUnsignedPayload);
  headers.push_back({"host", host});
  headers.push_back({"x-amz-date", net::amz_date(std::time(nullptr))});
  headers.push_back({"x-amz-content-sha256", payload_hash});
  if (!settings_.credentials.session_token.empty())
    headers.push_back({"x-amz-security-token", settings_.credentials.session_token});

  net::SigV4Request to_sign;
  to_sign.method = method;
  to_sign.canonical_uri = path;
  to_sign.query = query;
  to_sign.headers = headers;
  to_sign.payload_hash = payload_hash;
  to_sign.region = settings_.region;
  to_sign.service = "s3";
  net::SigV4Result signature = net::sigv4_sign(to_sign, settings_.credentials);

  net::HttpRequest http_request;
  http_request.method = method;
  http_request.url = scheme_ + "://" + host + path;
  std::string query_string = net::canonical_query_string(query);
  if (!query_string.empty()) http_request.url += "?" + query_string;
  http_request.headers = std::move(headers);
  http_request.headers.push_back({"Authorization", signature.authorization});
  http_request.body = body;
  response = on_data ? http_.perform_streaming(http_request, *on_data) : http_.perform(http_request);
  // A broken connection must not be reused for the next attempt.
  if (response.status == 0) http_.reset_connection();
  return result_of(response);
}

S3Result S3Client::put_object(const std::string& key, std::string_view body, const std::vector<HttpHeader>& headers) {
  net::HttpResponse response;
  return request("PUT", settings_.bucket, key, {}, headers, body, response);
}

S3Result S3Client::create_multipart_upload(const std::string& key, const std::vector<HttpHeader>& headers,
                                           std::string& upload_id) {
  net::HttpResponse response;
  S3Result result = request("POST", settings_.bucket, key, {{"uploads", ""}}, headers, {}, response);
  if (result.ok()) {
    upload_id = xml_value(response.body, "UploadId").value_or("");
    if (upload_id.empty()) {
      result.status = 500;
      result.code = "InvalidResponse";
      result.message = "no UploadId in the CreateMultipartUpload response";
    }
  }
  return result;
}

S3Result S3Client::upload_part(const std::string& key, const std::string& upload_id, int part_number,
                               std::string_view body, std::string& etag) {
  net::HttpResponse response;
  S3Result result = request("PUT", settings_.bucket, key,
                            {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}}, {}, body, response);
  if (result.ok()) {
    const std::string* header = response.header("ETag");
    etag = header ? *header : "";
  }
  return result;
}

S3Result S3Client::complete_multipart_upload(const std::string& key, const std::string& upload_id,
                                             const std::vector<std::string>& part_etags) {
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < part_etags.size(); ++i) {
    xml += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", i + 1, xml_escape(part_etags[i]));
  }
  xml += "</CompleteMultipartUpload>";
  net::HttpResponse response;
  S3Result result = request("POST", settings_.bucket, key, {{"uploadId", upload_id}},
                            {{"Content-Type", "application/xml"}}, xml, response);
  // S3 may answer 200 with an <Error> body when the completion failed late.
  if (result.ok() && response.body.find("<Error>") != std::string::npos) {
    result.status = 500;
    result.code = xml_value(response.body, "Code").value_or("InternalError");
    result.message = xml_value(response.body, "Message").value_or("");
  }
  return result;
}

S3Result S3Client::abort_multipart_upload(const std::string& key, const std::string& upload_id) {
  net::HttpResponse response;
  return request("DELETE", settings_.bucket, key, {{"uploadId", upload_id}}, {}, {}, response);
}

S3Result S3Client::list_objects_v2(const std::string& prefix, const std::string& continuation_token, int max_keys,
                                   ListPage& page, const std::string& start_after) {
  std::vector<std::pair<std::string, std::string>> query{{"list-type", "2"}};
  if (!prefix.empty()) query.emplace_back("prefix", prefix);
  if (!start_after.empty() && continuation_token.empty()) query.emplace_back("start-after", start_after);
  if (!continuation_token.empty()) query.emplace_back("continuation-token", continuation_token);
  if (max_keys > 0) query.emplace_back("max-keys", std::to_string(max_keys));
  net::HttpResponse response;
  S3Result result = request("GET", settings_.bucket, "", std::move(query), {}, {}, response);
  page = ListPage{};
  if (!result.ok()) return result;
  xml_each(response.body, "Contents", [&](std::string_view block) {
    S3Object object;
    object.key = xml_value(block, "Key").value_or("");
    object.last_modified_text = xml_value(block, "LastModified").value_or("");
    object.last_modified = parse_s3_time(object.last_modified_text);
    object.size = std::strtoull(xml_value(block, "Size").value_or("0").c_str(), nullptr, 10);
    object.etag = xml_value(block, "ETag").value_or("");
    object.storage_class = xml_value(block, "StorageClass").value_or("");
    page.objects.push_back(std::move(object));
  });
  // Only the top-level IsTruncated (the <Contents> blocks have no such tag).
  page.truncated = xml_value(response.body, "IsTruncated").value_or("false") == "true";
  page.next_continuation_token = xml_value(response.body, "NextContinuationToken").value_or("");
  if (page.truncated && page.next_continuation_token.empty()) {
    result.status = 500;
    result.code = "InvalidResponse";
    result.message = "truncated listing without NextContinuationToken";
  }
  return result;
}

S3Result S3Client::get_object(const std::string& key, const std::function<bool(std::string_view)>& on_data,
                              uint64_t offset) {
  net::HttpResponse response;
  std::vector<HttpHeader> headers;
  if (offset > 0) headers.push_back({"Range", "bytes=" + std::to_string(offset) + "-"});
  return request("GET", settings_.bucket, key, {}, std::move(headers), {}, response, &on_data);
}

S3Result S3Client::get_object(const std::string& key, std::string& body) {
  net::HttpResponse response;
  S3Result result = request("GET", settings_.bucket, key, {}, {}, {}, response);
  if (result.ok()) body = std::move(response.body);
  return result;
}

S3Result S3Client::head_object(const std::string& key, S3Object* info) {
  net::HttpResponse response;
  S3Result result = request("HEAD", settings_.bucket, key, {}, {}, {}, response);
  if (result.ok() && info) {
    info->key = key;
    if (const std::string* lm = response.header("Last-Modified")) {
      info->last_modified_text = *lm;
      info->last_modified = parse_s3_time(*lm);
    }
    if (const std::string* size = response.header("Content-Length")) info->size = std::strtoull(size->c_str(), nullptr, 10);
    if (const std::string* etag = response.header("ETag")) info->etag = *etag;
  }
  return result;
}

S3Result S3Client::delete_object(const std::string& key) {
  net::HttpResponse response;
  return request("DELETE", settings_.bucket, key, {}, {}, {}, response);
}

S3Result S3Client::copy_object(const std::string& source_key, const std::string& target_bucket,
                               const std::string& target_key) {
  net::HttpResponse response;
  std::string source = "/" + settings_.bucket + "/" + net::url_encode(source_key, true);
  S3Result result = request("PUT", target_bucket, target_key, {}, {{"x-amz-copy-source", source}}, {}, response);
  if (result.ok() && response.body.find("<Error>") != std::string::npos) {
    result.status = 500;
    result.code = xml_value(response.body, "Code").value_or("InternalError");
  }
  return result;
}

S3Result S3Client::create_bucket(const std::string& bucket) {
  net::HttpResponse response;
  return request("PUT", bucket, "", {}, {}, {}, response);
}

S3Result S3Client::head_bucket() {
  net::HttpResponse response;
  return request("HEAD", settings_.bucket, "", {}, {}, {}, response);
}

}  // namespace sluice::s3
