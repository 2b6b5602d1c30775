// A STAND-IN for Elasticsearch in the tests (no real Elasticsearch can run here): a small
// HTTP/1.1 server on 127.0.0.1 (libmicrohttpd, one thread per connection) that speaks the parts of
// the documented REST API the elasticsearch output uses:
//   GET|HEAD /                   cluster info (version 8.x, X-Elastic-Product header)
//   POST /_bulk, /<index>/_bulk  NDJSON action + source lines; per-item status, `errors`, `items`
//   GET /<index>/_count          {"count": N} of the documents stored in that index ("_all" = all)
//   POST /<index>/_refresh       {} (documents are visible at once)
// It decodes gzip request bodies, checks basic auth / ApiKey when configured, stores documents
// with Elasticsearch's semantics (index replaces, create on an existing _id is 409, update needs
// an existing document unless doc_as_upsert, delete of a missing one is 404), and is scriptable
// per test: per-item replies (429, 400 mapping errors, ...) and per-request faults (an error
// status for the whole request, a slow response, a connection closed without a response).
// With a certificate and key it serves HTTPS (libmicrohttpd over GnuTLS), optionally requiring
// client certificates signed by given CAs (mutual TLS).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct MHD_Daemon;
struct MHD_Connection;

namespace sluice::test {

struct FakeBulkItem {
  std::string action;  // index, create, update, delete
  std::string index;
  std::string id;      // "" when the request gave none
  std::string routing;
  std::string pipeline;
  std::string action_line;  // the raw action line
  std::string source;       // the raw source line ("" for delete)
};

struct FakeItemReply {
  int status = 201;
  std::string error_type;    // e.g. "mapper_parsing_exception" (for status >= 300)
  std::string error_reason;  // e.g. "failed to parse field [bytes] of type [long]"
};

// A fault applied to one whole request (the next one that arrives).
struct FakeRequestFault {
  enum class Kind { Status, Delay, Reset };
  Kind kind = Kind::Status;
  int status = 503;         // Kind::Status: the whole request answers this
  int delay_ms = 0;         // Kind::Delay: wait before answering normally
  static FakeRequestFault error(int status) { return {Kind::Status, status, 0}; }
  static FakeRequestFault delay(int ms) { return {Kind::Delay, 0, ms}; }
  static FakeRequestFault reset() { return {Kind::Reset, 0, 0}; }
};

struct FakeRequestLog {
  std::string method, path;
  bool gzip = false;
  size_t wire_bytes = 0;  // body bytes as received
  size_t body_bytes = 0;  // after decoding
  std::string authorization;
  size_t items = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // every request header, as received
};

class FakeElasticsearch {
 public:
  struct Options {
    std::string user, password;  // basic auth required when user is set
    std::string api_key;         // "id:key": `Authorization: ApiKey base64(id:key)` required when set
    std::string tls_certificate_pem;  // PEM text: serve HTTPS with this certificate (chain, leaf first)...
    std::string tls_key_pem;          // ...and its key
    std::string tls_client_ca_pem;    // PEM text: require client certificates these CAs signed
  };
  // Returns nullopt for the natural outcome; the second argument counts earlier requests that
  // carried the same document (0 on the first).
  using ItemScript = std::function<std::optional<FakeItemReply>(const FakeBulkItem& item, int attempt)>;

  FakeElasticsearch();
  explicit FakeElasticsearch(Options options);
  ~FakeElasticsearch();
  FakeElasticsearch(const FakeElasticsearch&) = delete;

  // Binds 127.0.0.1 on a free port (or `port`). Throws std::runtime_error when it cannot.
  void start(int port = 0);
  void stop();
  int port() const { return port_; }
  std::string url() const;  // http://127.0.0.1:PORT (https:// with TLS)
  // TCP connections accepted so far (TLS handshakes that failed included).
  size_t connections() const;
  // Connections closed because the client presented no trusted certificate (mutual TLS).
  size_t rejected_clients() const;

  void set_item_script(ItemScript script);
  void push_fault(FakeRequestFault fault);  // faults are used in order, one per request
  // Every _bulk request answers `status` as a whole until called again with 0.
  void set_reject_all(int status);
  // Benchmarks: _bulk bodies are counted (bytes, requests) but not decoded or stored, and every
  // request answers `"errors":false`, so the server costs next to nothing.
  void set_sink_mode(bool sink);

  // Documents stored, in arrival order: (index, id, source).
  struct Doc {
    std::string index, id, source;
  };
  std::vector<Doc> documents() const;
  size_t document_count() const;
  std::vector<FakeRequestLog> requests() const;
  size_t bulk_requests() const;
  uint64_t wire_bytes() const;  // sum of the bulk request bodies as received
  std::vector<FakeBulkItem> bulk_items() const;  // every item received (retries included)
  // Waits until at least n documents are stored.
  bool wait_for_documents(size_t n, std::chrono::milliseconds timeout) const;
  // Drops the stored documents (scripts and counters stay).
  void clear_documents();

  // Internal (libmicrohttpd callback).
  int handle(MHD_Connection* connection, const char* url, const char* method, const char* upload_data,
             size_t* upload_size, void** state);
  void connection_started() { connections_.fetch_add(1); }

 private:
  struct Reply {
    int status = 200;
    std::string body;
    bool reset = false;
  };
  Reply bulk(const std::string& body, const std::string& default_index, size_t log_index);
  bool authorized(const std::string& authorization) const;
  bool client_certificate_trusted(MHD_Connection* connection);

  Options options_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
  mutable std::mutex mutex_;
  ItemScript script_;
  std::deque<FakeRequestFault> faults_;
  int reject_all_ = 0;
  bool sink_ = false;
  std::vector<Doc> docs_;
  std::map<std::pair<std::string, std::string>, size_t> by_id_;  // (index, id) -> docs_ index
  std::map<std::string, int> attempts_;
  std::vector<FakeRequestLog> requests_;
  std::vector<FakeBulkItem> items_;
  uint64_t wire_bytes_ = 0;
  uint64_t next_id_ = 1;
  std::atomic<size_t> connections_{0};
  std::atomic<size_t> rejected_clients_{0};
};

}  // namespace sluice::test
