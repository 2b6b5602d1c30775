// The Elasticsearch stand-in of the tests (see fake_elasticsearch.h).
#include "fake_elasticsearch.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <zlib.h>

#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "core/json.h"
#include "test_support.h"

namespace sluice::test {

namespace {

// Per-connection request state: the body collected across upload callbacks.
struct RequestState {
  std::string wire;
};

bool gunzip(const std::string& in, std::string& out) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) return false;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  stream.avail_in = uInt(in.size());
  char buffer[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    rc = inflate(&stream, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&stream);
      return false;
    }
    out.append(buffer, sizeof buffer - stream.avail_out);
    if (rc == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) break;  // truncated input
  }
  inflateEnd(&stream);
  return rc == Z_STREAM_END;
}

std::string base64(std::string_view in) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string text_of(const Object& object, const char* key) {
  const Value* v = object.find(key);
  if (!v) return "";
  if (v->is_string()) return v->as_string();
  return v->to_text();
}

MHD_Result access_handler(void* cls, MHD_Connection* connection, const char* url, const char* method,
                          const char* /*version*/, const char* upload_data, size_t* upload_data_size, void** state) {
  auto* self = static_cast<FakeElasticsearch*>(cls);
  return self->handle(connection, url, method, upload_data, upload_data_size, state) ? MHD_YES : MHD_NO;
}

void connection_notified(void* cls, MHD_Connection* /*connection*/, void** /*socket_context*/,
                         MHD_ConnectionNotificationCode code) {
  if (code == MHD_CONNECTION_NOTIFY_STARTED) static_cast<FakeElasticsearch*>(cls)->connection_started();
}

void completed(void* /*cls*/, MHD_Connection* /*connection*/, void** state, MHD_RequestTerminationCode /*code*/) {
  delete static_cast<RequestState*>(*state);
  *state = nullptr;
}

}  // namespace

FakeElasticsearch::FakeElasticsearch() : FakeElasticsearch(Options{}) {}
FakeElasticsearch::FakeElasticsearch(Options options) : options_(std::move(options)) {}
FakeElasticsearch::~FakeElasticsearch() { stop(); }

void FakeElasticsearch::start(int port) {
  for (int attempt = 0; attempt < 5 && !daemon_; ++attempt) {
    int candidate = port > 0 ? port : free_port();
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(candidate));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool tls = !options_.tls_certificate_pem.empty();
    std::vector<MHD_OptionItem> items;
    items.push_back({MHD_OPTION_SOCK_ADDR, 0, &address});
    items.push_back({MHD_OPTION_NOTIFY_COMPLETED, intptr_t(&completed), nullptr});
    items.push_back({MHD_OPTION_NOTIFY_CONNECTION, intptr_t(&connection_notified), this});
    items.push_back({MHD_OPTION_CONNECTION_TIMEOUT, 120, nullptr});
    if (tls) {
      items.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(options_.tls_certificate_pem.c_str())});
      items.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(options_.tls_key_pem.c_str())});
      if (!options_.tls_client_ca_pem.empty())
        items.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0, const_cast<char*>(options_.tls_client_ca_pem.c_str())});
    }
    items.push_back({MHD_OPTION_END, 0, nullptr});
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | (tls ? MHD_USE_TLS : 0);
    daemon_ = MHD_start_daemon(flags, uint16_t(candidate), nullptr, nullptr, &access_handler, this, MHD_OPTION_ARRAY,
                               items.data(), MHD_OPTION_END);
    if (daemon_) port_ = candidate;
    if (port > 0) break;
  }
  if (!daemon_) throw std::runtime_error("fake elasticsearch: cannot listen on 127.0.0.1");
}

void FakeElasticsearch::stop() {
  if (daemon_) MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
}

std::string FakeElasticsearch::url() const {
  return fmt::format("{}://127.0.0.1:{}", options_.tls_certificate_pem.empty() ? "http" : "https", port_);
}

size_t FakeElasticsearch::connections() const { return connections_.load(); }
size_t FakeElasticsearch::rejected_clients() const { return rejected_clients_.load(); }

// libmicrohttpd only asks for the client's certificate; checking it against the trusted CAs is ours.
bool FakeElasticsearch::client_certificate_trusted(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (!info || !info->tls_session) return false;
  auto session = static_cast<gnutls_session_t>(info->tls_session);
  unsigned count = 0;
  if (!gnutls_certificate_get_peers(session, &count) || count == 0) return false;
  unsigned status = 0;
  return gnutls_certificate_verify_peers2(session, &status) == GNUTLS_E_SUCCESS && status == 0;
}

void FakeElasticsearch::set_item_script(ItemScript script) {
  std::lock_guard lock(mutex_);
  script_ = std::move(script);
}

void FakeElasticsearch::push_fault(FakeRequestFault fault) {
  std::lock_guard lock(mutex_);
  faults_.push_back(fault);
}

void FakeElasticsearch::set_sink_mode(bool sink) {
  std::lock_guard lock(mutex_);
  sink_ = sink;
}

void FakeElasticsearch::set_reject_all(int status) {
  std::lock_guard lock(mutex_);
  reject_all_ = status;
}

std::vector<FakeElasticsearch::Doc> FakeElasticsearch::documents() const {
  std::lock_guard lock(mutex_);
  std::vector<Doc> out;
  for (const Doc& d : docs_)
    if (!d.index.empty()) out.push_back(d);
  return out;
}

size_t FakeElasticsearch::document_count() const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (const Doc& d : docs_) n += d.index.empty() ? 0 : 1;
  return n;
}

std::vector<FakeRequestLog> FakeElasticsearch::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

size_t FakeElasticsearch::bulk_requests() const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (const auto& r : requests_) n += r.path.ends_with("_bulk") ? 1 : 0;
  return n;
}

uint64_t FakeElasticsearch::wire_bytes() const {
  std::lock_guard lock(mutex_);
  return wire_bytes_;
}

std::vector<FakeBulkItem> FakeElasticsearch::bulk_items() const {
  std::lock_guard lock(mutex_);
  return items_;
}

bool FakeElasticsearch::wait_for_documents(size_t n, std::chrono::milliseconds timeout) const {
  return wait_until([&] { return document_count() >= n; }, timeout);
}

void FakeElasticsearch::clear_documents() {
  std::lock_guard lock(mutex_);
  docs_.clear();
  by_id_.clear();
}

bool FakeElasticsearch::authorized(const std::string& authorization) const {
  if (!options_.user.empty() && authorization == "Basic " + base64(options_.user + ":" + options_.password)) return true;
  if (!options_.api_key.empty() && authorization == "ApiKey " + base64(options_.api_key)) return true;
  return options_.user.empty() && options_.api_key.empty();
}

// Runs one _bulk body (decoded) against the store. Called with mutex_ held.
FakeElasticsearch::Reply FakeElasticsearch::bulk(const std::string& body, const std::string& default_index,
                                                 size_t log_index) {
  Reply reply;
  std::string out = "{\"took\":1,\"errors\":";
  std::string items_json;
  bool errors = false;
  size_t pos = 0;
  size_t count = 0;
  auto next_line = [&](std::string& line) {
    while (pos < body.size()) {
      size_t end = body.find('\n', pos);
      if (end == std::string::npos) end = body.size();
      line.assign(body, pos, end - pos);
      pos = end + 1;
      if (!line.empty()) return true;
    }
    return false;
  };
  std::string line;
  while (next_line(line)) {
    Value action_value;
    if (!json_parse(line, action_value) || !action_value.is_object() || action_value.as_object().size() != 1) {
      reply.status = 400;
      reply.body = R"({"error":{"type":"illegal_argument_exception","reason":"Malformed action/metadata line"},"status":400})";
      return reply;
    }
    FakeBulkItem item;
    const Object::Entry& entry = *action_value.as_object().begin();
    item.action = entry.key;
    item.action_line = line;
    if (entry.value.is_object()) {
      const Object& meta = entry.value.as_object();
      item.index = text_of(meta, "_index");
      item.id = text_of(meta, "_id");
      item.routing = text_of(meta, "routing");
      item.pipeline = text_of(meta, "pipeline");
    }
    if (item.index.empty()) item.index = default_index;
    if (item.action != "delete") {
      if (!next_line(item.source)) {
        reply.status = 400;
        reply.body = R"({"error":{"type":"illegal_argument_exception","reason":"The bulk request must be terminated by a newline [\n]"},"status":400})";
        return reply;
      }
    }
    items_.push_back(item);
    ++count;
    std::string key = item.id.empty() ? item.source : item.index + "\x1f" + item.id;
    int attempt = attempts_[key]++;

    std::optional<FakeItemReply> scripted;
    if (script_) scripted = script_(item, attempt);
    FakeItemReply result;
    std::string result_word;
    auto existing = by_id_.end();
    if (!item.id.empty()) existing = by_id_.find({item.index, item.id});
    if (scripted) {
      result = *scripted;
    } else if (item.action != "index" && item.action != "create" && item.action != "update" && item.action != "delete") {
      result = {400, "illegal_argument_exception", "Malformed action/metadata line, expected one of [create, delete, index, update] but found [" + item.action + "]"};
    } else if (item.action == "create" && existing != by_id_.end()) {
      result = {409, "version_conflict_engine_exception", fmt::format("[{}]: version conflict, document already exists", item.id)};
    } else if (item.action == "update" && existing == by_id_.end() && item.source.find("\"doc_as_upsert\":true") == std::string::npos &&
               item.source.find("\"upsert\"") == std::string::npos) {
      result = {404, "document_missing_exception", fmt::format("[{}]: document missing", item.id)};
    } else if (item.action == "delete" && existing == by_id_.end()) {
      result = {404, "", ""};
    } else {
      result = {item.action == "delete" || existing != by_id_.end() ? 200 : 201, "", ""};
    }
    if (item.action != "delete" && item.action != "update" && result.status < 300) {
      Value source;
      if (!json_parse(item.source, source) || !source.is_object()) {
        result = {400, "mapper_parsing_exception", "failed to parse"};
      }
    }
    if (result.status >= 200 && result.status < 300) {
      if (item.id.empty()) item.id = fmt::format("fake{}", next_id_++);
      if (item.action == "delete") {
        if (existing != by_id_.end()) {
          docs_[existing->second].index.clear();
          by_id_.erase(existing);
        }
        result_word = "deleted";
      } else {
        std::string source = item.source;
        if (item.action == "update") {
          // Keep the "doc" part as the stored source (good enough for the tests' assertions).
          Value update;
          if (json_parse(item.source, update) && update.is_object()) {
            if (const Value* doc = update.as_object().find("doc")) {
              source.clear();
              json_append_value(source, *doc);
            }
          }
        }
        if (existing != by_id_.end()) {
          docs_[existing->second].source = source;
          result_word = "updated";
        } else {
          by_id_[{item.index, item.id}] = docs_.size();
          docs_.push_back({item.index, item.id, source});
          result_word = "created";
        }
      }
    }
    if (!items_json.empty()) items_json += ',';
    items_json += "{";
    json_append_string(items_json, item.action);
    items_json += ":{\"_index\":";
    json_append_string(items_json, item.index);
    items_json += ",\"_id\":";
    json_append_string(items_json, item.id);
    if (result.status < 300) {
      items_json += fmt::format(",\"_version\":1,\"result\":\"{}\",\"_shards\":{{\"total\":1,\"successful\":1,\"failed\":0}}", result_word);
    }
    items_json += fmt::format(",\"status\":{}", result.status);
    if (result.status >= 300 && !result.error_type.empty()) {
      errors = true;
      items_json += ",\"error\":{\"type\":";
      json_append_string(items_json, result.error_type);
      items_json += ",\"reason\":";
      json_append_string(items_json, result.error_reason);
      items_json += "}";
    } else if (result.status >= 300) {
      errors = true;
      if (item.action == "delete" && result.status == 404) items_json += ",\"result\":\"not_found\"";
    }
    items_json += "}}";
  }
  requests_[log_index].items = count;
  out += errors ? "true" : "false";
  out += ",\"items\":[";
  out += items_json;
  out += "]}";
  reply.body = std::move(out);
  return reply;
}

int FakeElasticsearch::handle(MHD_Connection* connection, const char* url, const char* method,
                              const char* upload_data, size_t* upload_size, void** state) {
  if (*state == nullptr) {
    if (!options_.tls_client_ca_pem.empty() && !client_certificate_trusted(connection)) {
      rejected_clients_.fetch_add(1);
      return 0;  // closes the connection
    }
    *state = new RequestState();
    return 1;
  }
  auto* request = static_cast<RequestState*>(*state);
  if (*upload_size > 0) {
    request->wire.append(upload_data, *upload_size);
    *upload_size = 0;
    return 1;
  }
  std::string path = url ? url : "/";
  std::string verb = method ? method : "GET";
  bool sink;
  {
    std::lock_guard lock(mutex_);
    sink = sink_;
    if (sink && path.ends_with("_bulk")) {
      wire_bytes_ += request->wire.size();
      requests_.push_back({verb, path, false, request->wire.size(), 0, "", 0});
    }
  }
  if (sink && path.ends_with("_bulk")) {
    static const char kAllGood[] = "{\"took\":0,\"errors\":false,\"items\":[]}";
    MHD_Response* response = MHD_create_response_from_buffer(sizeof kAllGood - 1, const_cast<char*>(kAllGood), MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(response, "Content-Type", "application/json");
    MHD_Result result = MHD_queue_response(connection, 200, response);
    MHD_destroy_response(response);
    return result == MHD_YES ? 1 : 0;
  }
  auto header = [&](const char* name) {
    const char* v = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
    return std::string(v ? v : "");
  };
  std::string authorization = header("Authorization");
  std::string encoding = header("Content-Encoding");

  Reply reply;
  std::optional<FakeRequestFault> fault;
  size_t log_index = 0;
  {
    std::lock_guard lock(mutex_);
    FakeRequestLog log;
    log.method = verb;
    log.path = path;
    log.gzip = encoding == "gzip";
    log.wire_bytes = request->wire.size();
    log.authorization = authorization;
    MHD_get_connection_values(
        connection, MHD_HEADER_KIND,
        [](void* cls, MHD_ValueKind, const char* key, const char* value) -> MHD_Result {
          static_cast<FakeRequestLog*>(cls)->headers.emplace_back(key ? key : "", value ? value : "");
          return MHD_YES;
        },
        &log);
    log_index = requests_.size();
    requests_.push_back(log);
    if (path.ends_with("_bulk") && reject_all_ != 0) {
      fault = FakeRequestFault::error(reject_all_);
    } else if (path.ends_with("_bulk") && !faults_.empty()) {
      fault = faults_.front();
      faults_.pop_front();
    }
  }
  if (fault && fault->kind == FakeRequestFault::Kind::Delay)
    std::this_thread::sleep_for(std::chrono::milliseconds(fault->delay_ms));
  if (fault && fault->kind == FakeRequestFault::Kind::Reset) return 0;  // closes without a response

  std::string body;
  if (encoding == "gzip") {
    if (!gunzip(request->wire, body)) {
      reply.status = 400;
      reply.body = R"({"error":{"type":"parse_exception","reason":"invalid gzip body"},"status":400})";
    }
  } else {
    body = std::move(request->wire);
  }

  if (reply.status == 400) {
    // bad gzip: answered below
  } else if (!authorized(authorization)) {
    reply.status = 401;
    reply.body = R"({"error":{"type":"security_exception","reason":"unable to authenticate user"},"status":401})";
  } else if (fault && fault->kind == FakeRequestFault::Kind::Status) {
    reply.status = fault->status;
    reply.body = fmt::format(R"({{"error":{{"type":"fake_fault","reason":"scripted failure {}"}},"status":{}}})", fault->status,
                             fault->status);
  } else if (path == "/" && (verb == "GET" || verb == "HEAD")) {
    reply.body = R"({"name":"fake-es","cluster_name":"sluice-stand-in","cluster_uuid":"stand-in","version":{"number":"8.11.0","build_flavor":"default","lucene_version":"9.8.0"},"tagline":"You Know, for Search"})";
  } else if (path.ends_with("/_bulk") && (verb == "POST" || verb == "PUT")) {
    std::string default_index;
    if (path != "/_bulk") default_index = path.substr(1, path.size() - 1 - 6);
    std::lock_guard lock(mutex_);
    wire_bytes_ += request->wire.size() ? request->wire.size() : body.size();
    requests_[log_index].body_bytes = body.size();
    reply = bulk(body, default_index, log_index);
  } else if (path.ends_with("/_refresh")) {
    reply.body = "{}";
  } else if (path.ends_with("/_count")) {
    std::string index = path.substr(1, path.size() - 1 - 7);
    std::lock_guard lock(mutex_);
    size_t n = 0;
    for (const Doc& d : docs_)
      if (!d.index.empty() && (index == "_all" || index == "*" || d.index == index)) ++n;
    reply.body = fmt::format(R"({{"count":{},"_shards":{{"total":1,"successful":1,"skipped":0,"failed":0}}}})", n);
  } else {
    reply.status = 404;
    reply.body = R"({"error":{"type":"fake_not_supported","reason":"the stand-in does not serve this endpoint"},"status":404})";
  }

  MHD_Response* response =
      MHD_create_response_from_buffer(reply.body.size(), reply.body.data(), MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(response, "Content-Type", "application/json");
  MHD_add_response_header(response, "X-Elastic-Product", "Elasticsearch");
  MHD_Result result = MHD_queue_response(connection, unsigned(reply.status), response);
  MHD_destroy_response(response);
  return result == MHD_YES ? 1 : 0;
}

}  // namespace sluice::test
