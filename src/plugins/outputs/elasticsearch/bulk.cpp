// Network-free helpers of the elasticsearch output (see bulk.h).
#include "plugins/outputs/elasticsearch/bulk.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>

#include "core/json.h"

namespace sluice::es {

ItemOutcome classify_item(int status, const std::vector<int>& dlq_custom_codes) {
  if (status >= 200 && status < 300) return ItemOutcome::Done;
  if (status == 409) return ItemOutcome::Conflict;
  if (status == 400 || status == 404) return ItemOutcome::DeadLetter;
  if (std::find(dlq_custom_codes.begin(), dlq_custom_codes.end(), status) != dlq_custom_codes.end())
    return ItemOutcome::DeadLetter;
  return ItemOutcome::Retry;
}

bool parse_bulk_response(std::string_view body, size_t expected, std::vector<ItemResult>& out, bool& errors) {
  out.clear();
  // Elasticsearch writes `took` and `errors` first: the common all-good answer needs no parse.
  std::string_view head = body.substr(0, 96);
  if (head.find("\"errors\":false") != std::string_view::npos) {
    errors = false;
    return true;
  }
  Value root;
  if (!json_parse(body, root) || !root.is_object()) return false;
  const Object& object = root.as_object();
  const Value* flag = object.find("errors");
  const Value* items = object.find("items");
  if (!flag || !flag->is_bool() || !items || !items->is_array()) return false;
  errors = flag->as_bool();
  if (!errors) return true;
  const Array& list = items->as_array();
  if (list.size() < expected) return false;
  out.reserve(list.size());
  for (const Value& item : list) {
    ItemResult result;
    if (item.is_object() && item.as_object().size() == 1) {
      const Object::Entry& entry = *item.as_object().begin();
      result.action = entry.key;
      if (entry.value.is_object()) {
        const Object& detail = entry.value.as_object();
        if (const Value* status = detail.find("status"); status && status->is_number())
          result.status = int(status->as_number());
        if (const Value* error = detail.find("error")) json_append_value(result.error, *error);
      }
    }
    out.push_back(std::move(result));
  }
  return true;
}

std::string normalize_host(std::string_view host, bool ssl_enabled, std::string_view path_prefix, std::string* error) {
  std::string_view rest = host;
  std::string scheme = ssl_enabled ? "https" : "http";
  if (auto at = rest.find("://"); at != std::string_view::npos) {
    scheme.assign(rest.substr(0, at));
    for (char& c : scheme) c = char(std::tolower(static_cast<unsigned char>(c)));
    rest = rest.substr(at + 3);
  } else if (rest.starts_with("//")) {
    rest = rest.substr(2);
  }
  if (scheme != "http" && scheme != "https") {
    if (error) *error = "unsupported scheme `" + scheme + "` (http or https)";
    return "";
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view path = authority.size() < rest.size() ? rest.substr(authority.size()) : std::string_view();
  if (authority.find('@') != std::string_view::npos) {
    if (error) *error = "put credentials in `user`/`password` or `api_key`, not in the host";
    return "";
  }
  if (authority.empty()) {
    if (error) *error = "missing host name";
    return "";
  }
  std::string out = scheme + "://";
  out.append(authority);
  // A port is given unless the authority ends in ":digits" (IPv6 literals are bracketed).
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  bool has_port = colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
  if (!has_port) out += ":9200";
  std::string full_path(path);
  if (full_path.empty() || full_path == "/") full_path = std::string(path_prefix);
  while (!full_path.empty() && full_path.back() == '/') full_path.pop_back();
  if (!full_path.empty() && full_path.front() != '/') full_path.insert(full_path.begin(), '/');
  out += full_path;
  return out;
}

bool gzip_compress(std::string_view in, int level, std::string& out) {
  GzipCompressor compressor(level);
  std::string_view gz = compressor.compress(in);
  if (gz.empty()) return false;
  out.assign(gz);
  return true;
}

GzipCompressor::~GzipCompressor() {
  if (stream_) {
    deflateEnd(stream_);
    delete stream_;
  }
}

std::string_view GzipCompressor::compress(std::string_view in) {
  if (!stream_) {
    stream_ = new z_stream{};
    if (deflateInit2(stream_, std::clamp(level_, 1, 9), Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      delete stream_;
      stream_ = nullptr;
      return {};
    }
  } else if (deflateReset(stream_) != Z_OK) {
    return {};
  }
  size_t bound = deflateBound(stream_, uLong(in.size())) + 32;
  if (out_.size() < bound) out_.resize(bound);  // grows only: no zero-filling on every body
  stream_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  stream_->avail_in = uInt(in.size());
  stream_->next_out = reinterpret_cast<Bytef*>(out_.data());
  stream_->avail_out = uInt(out_.size());
  if (deflate(stream_, Z_FINISH) != Z_STREAM_END) return {};
  return std::string_view(out_.data(), stream_->total_out);
}

void GzipCompressor::trim(size_t max_bytes) {
  if (out_.capacity() > max_bytes) std::string().swap(out_);
}

std::string base64_encode(std::string_view in) {
  static constexpr char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += kTable[v >> 18];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (size_t left = in.size() - i; left > 0) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    if (left == 2) v |= uint32_t(uint8_t(in[i + 1])) << 8;
    out += kTable[v >> 18];
    out += kTable[(v >> 12) & 63];
    out += left == 2 ? kTable[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace sluice::es
