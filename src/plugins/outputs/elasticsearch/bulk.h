// Pieces of the elasticsearch output that need no network: host URLs, the per-item outcome of a
// _bulk response, gzip, base64. Kept apart so the unit tests can check them directly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct z_stream_s;  // zlib's stream state

namespace sluice::es {

// What the output does with one item of a bulk response (Logstash's rules).
enum class ItemOutcome {
  Done,        // 2xx
  Conflict,    // 409: logged, counted as done (with `create` it means "already there")
  DeadLetter,  // 400, 404 and `dlq_custom_codes`: to the DLQ (or logged and dropped without one)
  Retry,       // 429, 5xx and anything else: sent again with backoff
};
ItemOutcome classify_item(int status, const std::vector<int>& dlq_custom_codes);

struct ItemResult {
  int status = 0;
  std::string action;  // the key of the item ("index", "create", ...)
  std::string error;   // the item's `error` object as JSON ("" when none)
};

// Parses a _bulk response body. Returns false when it is not one (or has fewer items than
// `expected`). `errors` receives the response's `errors` flag. When the body says
// `"errors":false` the items are not parsed (all succeeded) and `out` is left empty.
bool parse_bulk_response(std::string_view body, size_t expected, std::vector<ItemResult>& out, bool& errors);

// One entry of `hosts`: "host", "host:port", "http://host:port/path", "//host". Returns the base
// URL without a trailing slash (e.g. "https://es1:9200/prefix"); "" with *error on nonsense.
std::string normalize_host(std::string_view host, bool ssl_enabled, std::string_view path_prefix, std::string* error);

// gzip (RFC 1952) of `in` at `level` (1-9) into `out` (replaced). False on a zlib failure.
bool gzip_compress(std::string_view in, int level, std::string& out);

// gzip for a stream of request bodies: one deflate state kept and reset between bodies, and an
// output buffer that only grows. A fresh deflateInit per body allocates ~270 KB, which glibc may
// serve with mmap/munmap each time: measured 10x slower than compressing the body itself.
class GzipCompressor {
 public:
  explicit GzipCompressor(int level) : level_(level) {}
  ~GzipCompressor();
  GzipCompressor(const GzipCompressor&) = delete;
  GzipCompressor& operator=(const GzipCompressor&) = delete;
  // The gzip of `in`, valid until the next call; an empty view on a zlib failure.
  std::string_view compress(std::string_view in);
  // Frees the output buffer when it grew beyond `max_bytes` (a huge body must not pin its memory).
  void trim(size_t max_bytes);

 private:
  int level_;
  z_stream_s* stream_ = nullptr;
  std::string out_;
};

std::string base64_encode(std::string_view in);

}  // namespace sluice::es
