// The s3 output: events encoded with the codec (json_lines by default), compressed on the fly
// (none, gzip, zstd) into objects built in memory (no temporary files), rotated by size and/or
// time, and uploaded by a pool of upload workers (PutObject, or a multipart upload once an
// object passes upload_multipart_threshold). Acknowledgement: an event's source chunk is held
// until the object holding it is stored (PUT or CompleteMultipartUpload succeeded). Memory is
// bounded by buffer_max_bytes: beyond it write() waits for uploads (backpressure).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "config/parser.h"
#include "core/sprintf.h"
#include "plugins/common/s3/s3_client.h"
#include "plugins/common/s3/s3_options.h"
#include "plugins/outputs/s3/compressor.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

constexpr uint64_t kMinPartSize = 5ull << 20;  // S3's minimum for every part but the last

PluginSchema s3_output_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Output;
  schema.name = "s3";
  schema.doc =
      "Writes events to objects in an S3 bucket (AWS or any S3-compatible store), built in memory and "
      "compressed on the fly, rotated by size and/or time. Events are acknowledged once the object holding "
      "them is stored.";
  schema.options = s3::connection_option_specs();
  auto add = [&](OptionSpec spec) { schema.options.push_back(std::move(spec)); };
  add(option_spec("prefix", OptionType::String, cv_string(""),
                  "Key prefix of the objects; may use %{field} and %{+YYYY/MM/dd} (one object stream per rendered prefix)."));
  add(option_spec("codec", OptionType::Codec, cv_string("json_lines"), "The codec that encodes events."));
  add(option_spec("encoding", OptionType::String, cv_string("none"),
                  "Compression of the objects: none, gzip, or zstd (sluice extension).", {"none", "gzip", "zstd"}));
  add(option_spec("size_file", OptionType::Number, cv_number(5242880),
                  "Rotate an object once it holds this many (compressed) bytes."));
  add(option_spec("time_file", OptionType::Number, cv_number(15), "Rotate an object this many minutes after it was opened."));
  add(option_spec("rotation_strategy", OptionType::String, cv_string("size_and_time"),
                  "Which of size_file / time_file rotate objects.", {"size_and_time", "size", "time"}));
  add(option_spec("canned_acl", OptionType::String, std::nullopt, "The canned ACL of the objects (x-amz-acl).",
                  {"private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
                   "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write"}));
  add(option_spec("server_side_encryption", OptionType::Boolean, cv_bool(false), "Ask S3 to encrypt the objects at rest."));
  add(option_spec("server_side_encryption_algorithm", OptionType::String, cv_string("AES256"),
                  "The server-side encryption: AES256 or aws:kms.", {"AES256", "aws:kms"}));
  add(option_spec("ssekms_key_id", OptionType::String, std::nullopt, "The KMS key for aws:kms encryption."));
  add(option_spec("storage_class", OptionType::String, std::nullopt,
                  "The storage class (x-amz-storage-class); unset = the bucket's default (STANDARD).",
                  {"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER",
                   "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE"}));
  add(option_spec("upload_multipart_threshold", OptionType::Number, cv_number(15 * 1024 * 1024),
                  "Objects larger than this are uploaded in parts of this size (at least 5 MiB) while they fill."));
  add(option_spec("upload_workers_count", OptionType::Number, cv_number(2), "Concurrent uploads."));
  add(option_spec("upload_queue_size", OptionType::Number, cv_number(4), "Finished objects waiting for an upload worker."));
  add(option_spec("retry_count", OptionType::Number, cv_number(-1),
                  "Attempts after a failed upload; -1 = unlimited (Logstash's Infinity) until the pipeline stops."));
  add(option_spec("retry_delay", OptionType::Number, cv_number(1),
                  "Seconds before the first retry; doubles on each further failure, at most 30 s."));
  add(option_spec("validate_credentials_on_root_bucket", OptionType::Boolean, cv_bool(true),
                  "At start, write and delete a test object at the bucket root (false: under the prefix)."));
  add(option_spec("buffer_max_bytes", OptionType::Number, cv_number(256 * 1024 * 1024),
                  "sluice extension: bytes held in memory (objects filling + waiting for upload); beyond it the "
                  "pipeline waits."));
  add(option_spec("compression_level", OptionType::Number, cv_number(0),
                  "sluice extension: gzip 1-9 / zstd 1-19; 0 = the library default (gzip 6, zstd 3)."));
  add(option_spec("temporary_directory", OptionType::String, std::nullopt,
                  "Accepted for compatibility; sluice builds objects in memory."));
  add(option_spec("restore", OptionType::Boolean, cv_bool(false),
                  "Accepted for compatibility; there are no temporary files to restore."));
  add(option_spec("signature_version", OptionType::String, std::nullopt, "Accepted for compatibility; always v4.",
                  {"v2", "v4"}));
  return schema;
}

// One object being filled.
struct OpenObject {
  std::string prefix;
  std::string key;
  std::string buffer;  // compressed bytes not uploaded yet
  std::string staged;  // encoded events of the current write(), not compressed yet
  uint64_t compressed_total = 0;  // including parts already uploaded
  uint64_t events = 0;
  std::vector<AckHold> holds;
  AckToken* last_token = nullptr;
  std::chrono::steady_clock::time_point opened;
  std::unique_ptr<s3::StreamCompressor> compressor;
  std::string upload_id;  // multipart, once started
  std::vector<std::string> part_etags;
};

std::string random_hex(size_t digits) {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^ uint64_t(::getpid()) << 32};
  std::string out;
  while (out.size() < digits) out += fmt::format("{:016x}", rng());
  out.resize(digits);
  return out;
}

std::string host_name() {
  char name[256] = {0};
  if (::gethostname(name, sizeof name - 1) != 0 || !name[0]) return "localhost";
  std::string out(name);
  for (char& c : out)
    if (c == '/' || c == ' ') c = '_';
  return out;
}

class S3Output : public Output {
 public:
  S3Output(const Options& options, PluginContext& context)
      : settings_(s3::settings_from_options(options)),
        codec_(context.make_codec(options.get_codec())),
        metrics_(context.metrics),
        stopping_(context.pipeline_stopping),
        log_(logging::get("output.s3")),
        prefix_(options.get_string("prefix")),
        size_file_(uint64_t(std::max<int64_t>(0, options.get_int("size_file")))),
        time_file_(std::chrono::milliseconds(int64_t(options.get_number("time_file") * 60000))),
        retry_count_(options.get_int("retry_count")),
        retry_delay_ms_(int64_t(options.get_number("retry_delay") * 1000)),
        buffer_max_bytes_(uint64_t(std::max<int64_t>(1 << 20, options.get_int("buffer_max_bytes")))),
        writer_client_(settings_) {
    std::string encoding = options.get_string("encoding");
    encoding_ = encoding == "gzip" ? s3::Encoding::Gzip : encoding == "zstd" ? s3::Encoding::Zstd : s3::Encoding::None;
    extension_ = encoding_ == s3::Encoding::Gzip ? "txt.gz" : encoding_ == s3::Encoding::Zstd ? "txt.zst" : "txt";
    compression_level_ = int(options.get_int("compression_level"));
    std::string strategy = options.get_string("rotation_strategy");
    rotate_on_size_ = strategy != "time";
    rotate_on_time_ = strategy != "size";
    if (rotate_on_size_ && size_file_ == 0)
      throw config::ConfigError(options.position("size_file"), "s3: `size_file` must be greater than 0");
    if (rotate_on_time_ && time_file_.count() <= 0)
      throw config::ConfigError(options.position("time_file"), "s3: `time_file` must be greater than 0");
    int64_t threshold = options.get_int("upload_multipart_threshold");
    if (threshold < int64_t(kMinPartSize))
      throw config::ConfigError(options.position("upload_multipart_threshold"),
                                "s3: `upload_multipart_threshold` must be at least 5 MiB (5242880): S3's smallest part");
    part_size_ = uint64_t(threshold);
    int workers = int(options.get_int("upload_workers_count"));
    if (workers < 1) throw config::ConfigError(options.position("upload_workers_count"), "s3: `upload_workers_count` must be at least 1");
    queue_limit_ = size_t(std::max<int64_t>(1, options.get_int("upload_queue_size")));
    if (prefix_.starts_with('/'))
      throw config::ConfigError(options.position("prefix"), "s3: `prefix` must not start with '/'");
    prefix_template_ = Template(prefix_);

    if (options.has("canned_acl")) object_headers_.push_back({"x-amz-acl", options.get_string("canned_acl")});
    if (options.has("storage_class"))
      object_headers_.push_back({"x-amz-storage-class", options.get_string("storage_class")});
    if (options.get_bool("server_side_encryption") || options.has("ssekms_key_id")) {
      std::string algorithm = options.get_string("server_side_encryption_algorithm");
      object_headers_.push_back({"x-amz-server-side-encryption", algorithm});
      if (algorithm == "aws:kms" && options.has("ssekms_key_id"))
        object_headers_.push_back({"x-amz-server-side-encryption-aws-kms-key-id", options.get_string("ssekms_key_id")});
    }
    object_headers_.push_back({"Content-Type", "text/plain"});
    if (encoding_ == s3::Encoding::Gzip) object_headers_.push_back({"Content-Encoding", "gzip"});
    if (encoding_ == s3::Encoding::Zstd) object_headers_.push_back({"Content-Encoding", "zstd"});

    writer_id_ = fmt::format("{}.{}.{}", host_name(), ::getpid(), random_hex(12));
    validate_credentials(options.get_bool("validate_credentials_on_root_bucket"));
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { upload_loop(); });
  }

  ~S3Output() override {
    close();
  }

  void write(std::span<Event* const> events) override {
    std::string& rendered = rendered_prefix_;
    OpenObject* current = nullptr;
    std::vector<OpenObject*>& touched = touched_;
    touched.clear();
    for (Event* event : events) {
      if (event->cancelled()) continue;
      if (prefix_template_.is_constant()) {
        if (!current) current = &object_for(prefix_);
      } else {
        rendered.clear();
        prefix_template_.render(*event, rendered);
        if (!current || current->prefix != rendered) current = &object_for(rendered);
      }
      if (std::find(touched.begin(), touched.end(), current) == touched.end()) touched.push_back(current);
      codec_->encode(*event, current->staged);
      ++current->events;
      AckToken* token = event->ack_token();
      if (token && token != current->last_token) {
        current->holds.push_back(AckHold::retain(token));
        current->last_token = token;
      }
    }
    for (OpenObject* object : touched) {
      std::string& staged = object->staged;
      size_t before = object->buffer.size();
      object->compressor->append(staged, object->buffer);
      object->compressed_total += object->buffer.size() - before;
      buffered_bytes_ += object->buffer.size() - before;
      staged.clear();
      if (staged.capacity() > (8u << 20)) std::string().swap(staged);  // an unusual batch should not pin memory
    }
    for (OpenObject* object : touched) {
      if (object->buffer.size() >= part_size_ && (!rotate_on_size_ || size_file_ > part_size_)) upload_part(*object);
      if (rotate_on_size_ && object->compressed_total >= size_file_) rotate(object->prefix);
    }
    wait_for_room();
  }

  // write() only appends to the objects' buffers (parts upload by size): chunks cost no more.
  bool needs_whole_batches() const override { return false; }

  void flush() override {
    if (!rotate_on_time_) return;
    auto now = std::chrono::steady_clock::now();
    std::vector<std::string> due;
    for (auto& [prefix, object] : open_)
      if (now - object->opened >= time_file_) due.push_back(prefix);
    for (const std::string& prefix : due) rotate(prefix);
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    std::vector<std::string> prefixes;
    for (auto& [prefix, object] : open_) prefixes.push_back(prefix);
    for (const std::string& prefix : prefixes) rotate(prefix);
    {
      std::unique_lock lock(mutex_);
      shutting_down_ = true;
      work_ready_.notify_all();
    }
    for (std::thread& worker : workers_) worker.join();
    workers_.clear();
  }

 private:
  OpenObject& object_for(const std::string& prefix) {
    auto found = open_.find(prefix);
    if (found != open_.end()) return *found->second;
    auto object = std::make_unique<OpenObject>();
    object->prefix = prefix;
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm utc{};
    gmtime_r(&t, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H.%M", &utc);
    object->key = fmt::format("{}ls.s3.{}.{}.part{}.{}", prefix, writer_id_, stamp, sequence_++, extension_);
    object->opened = std::chrono::steady_clock::now();
    object->compressor = std::make_unique<s3::StreamCompressor>(encoding_, compression_level_);
    object->compressor->begin();
    OpenObject& ref = *object;
    open_.emplace(prefix, std::move(object));
    return ref;
  }

  // Closes the object of `prefix` and queues it for upload.
  void rotate(const std::string& prefix) {
    auto found = open_.find(prefix);
    if (found == open_.end()) return;
    std::unique_ptr<OpenObject> object = std::move(found->second);
    open_.erase(found);
    size_t before = object->buffer.size();
    object->compressor->finish(object->buffer);
    buffered_bytes_ += object->buffer.size() - before;
    object->compressor.reset();
    std::unique_lock lock(mutex_);
    // Bounded queue: the writer waits for a free upload slot.
    room_.wait(lock, [&] { return queue_.size() < queue_limit_ || shutting_down_; });
    queue_.push_back(std::move(object));
    work_ready_.notify_one();
  }

  void wait_for_room() {
    std::unique_lock lock(mutex_);
    while (buffered_bytes_.load() > buffer_max_bytes_) {
      if (queue_.empty() && in_flight_ == 0) {
        // Only open objects hold the bytes (many prefixes): ship the largest.
        lock.unlock();
        auto largest = std::max_element(open_.begin(), open_.end(), [](auto& a, auto& b) {
          return a.second->buffer.size() < b.second->buffer.size();
        });
        if (largest == open_.end()) return;
        rotate(largest->first);
        lock.lock();
        continue;
      }
      room_.wait_for(lock, std::chrono::milliseconds(100));
    }
  }

  // Multipart: the buffer becomes the next part of the object's upload (synchronously: this is
  // also the backpressure of a single huge stream).
  void upload_part(OpenObject& object) {
    if (object.upload_id.empty()) {
      bool ok = with_retries("create multipart upload " + object.key, writer_client_, [&](s3::S3Client& client) {
        return client.create_multipart_upload(object.key, object_headers_, object.upload_id);
      });
      if (!ok) return;  // keeps buffering; the final upload tries again
    }
    std::string etag;
    int part = int(object.part_etags.size()) + 1;
    bool ok = with_retries(fmt::format("upload part {} of {}", part, object.key), writer_client_,
                           [&](s3::S3Client& client) { return client.upload_part(object.key, object.upload_id, part, object.buffer, etag); });
    if (!ok) return;
    object.part_etags.push_back(etag);
    count("bytes_uploaded", object.buffer.size());
    buffered_bytes_ -= object.buffer.size();
    object.buffer.clear();
    object.buffer.shrink_to_fit();
  }

  void upload_loop() {
    s3::S3Client client(settings_);
    for (;;) {
      std::unique_ptr<OpenObject> object;
      {
        std::unique_lock lock(mutex_);
        work_ready_.wait(lock, [&] { return !queue_.empty() || shutting_down_; });
        if (queue_.empty()) return;
        object = std::move(queue_.front());
        queue_.pop_front();
        ++in_flight_;
        room_.notify_all();
      }
      store(client, *object);
      buffered_bytes_ -= object->buffer.size();
      object.reset();  // releases the holds: acknowledged (or parked, see store())
      std::lock_guard lock(mutex_);
      --in_flight_;
      room_.notify_all();
    }
  }

  void store(s3::S3Client& client, OpenObject& object) {
    bool ok;
    uint64_t bytes = object.buffer.size();
    if (object.upload_id.empty()) {
      ok = with_retries("upload " + object.key, client,
                        [&](s3::S3Client& c) { return c.put_object(object.key, object.buffer, object_headers_); });
    } else {
      std::string etag;
      int part = int(object.part_etags.size()) + 1;
      ok = object.buffer.empty() ||  // the object ended exactly on a part boundary
           with_retries(fmt::format("upload part {} of {}", part, object.key), client, [&](s3::S3Client& c) {
             return c.upload_part(object.key, object.upload_id, part, object.buffer, etag);
           });
      if (ok) {
        if (!object.buffer.empty()) object.part_etags.push_back(etag);
        int attempt = 0;
        ok = with_retries("complete " + object.key, client, [&](s3::S3Client& c) {
          s3::S3Result r = c.complete_multipart_upload(object.key, object.upload_id, object.part_etags);
          // A retried completion whose first try did succeed: the upload is gone, the object is there.
          if (attempt++ > 0 && r.status == 404 && c.head_object(object.key).ok()) r = s3::S3Result{200, "", ""};
          return r;
        });
      }
      if (!ok) client.abort_multipart_upload(object.key, object.upload_id);
    }
    if (ok) {
      count("objects_uploaded", 1);
      count("bytes_uploaded", bytes);
      log_->debug("S3: stored {} ({} events, {} bytes)", object.key, object.events, object.compressed_total);
      return;
    }
    // Not stored: these events must never be acknowledged (the source delivers them again after a
    // restart), so their holds go to a list that is never released.
    if (metrics_) metrics_->failures.fetch_add(object.events, std::memory_order_relaxed);
    log_->error("S3: giving up on {} ({} events); they stay unacknowledged", object.key, object.events);
    static std::mutex graveyard_mutex;
    static auto* graveyard = new std::vector<AckHold>();
    std::lock_guard lock(graveyard_mutex);
    for (AckHold& hold : object.holds) graveyard->push_back(std::move(hold));
  }

  template <typename Call>
  bool with_retries(const std::string& what, s3::S3Client& client, Call&& call) {
    int64_t delay = std::max<int64_t>(retry_delay_ms_, 10);
    int attempts_after_stop = 0;
    for (int64_t attempt = 0;; ++attempt) {
      s3::S3Result result = call(client);
      if (result.ok()) return true;
      bool stopping = stopping_ && stopping_->load(std::memory_order_relaxed);
      if (stopping) ++attempts_after_stop;
      bool give_up = !result.retryable() || (retry_count_ >= 0 && attempt >= retry_count_) || attempts_after_stop > 5;
      if (give_up) {
        log_->error("S3: {} failed: {}", what, result.describe());
        return false;
      }
      count("upload_retries", 1);
      log_->warn("S3: {} failed ({}), retrying in {} ms", what, result.describe(), delay);
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      delay = std::min<int64_t>(delay * 2, 30000);
    }
  }

  void validate_credentials(bool on_root) {
    std::string base = on_root ? "" : prefix_.substr(0, prefix_.find("%{"));
    std::string key = fmt::format("{}logstash-programmatic-access-test-object-{}", base, random_hex(12));
    s3::S3Result put = writer_client_.put_object(key, "test");
    if (!put.ok())
      throw std::runtime_error(fmt::format("cannot write to bucket `{}` at {}: {}", settings_.bucket,
                                           settings_.endpoint.empty() ? "AWS" : settings_.endpoint, put.describe()));
    s3::S3Result del = writer_client_.delete_object(key);
    if (!del.ok()) log_->warn("S3: cannot delete the test object {}: {}", key, del.describe());
  }

  void count(const char* name, uint64_t n) {
    if (metrics_) metrics_->counter(name).fetch_add(n, std::memory_order_relaxed);
  }

  s3::S3Settings settings_;
  std::unique_ptr<Codec> codec_;
  PluginMetrics* metrics_;
  const std::atomic<bool>* stopping_;
  std::shared_ptr<spdlog::logger> log_;
  std::string prefix_;
  Template prefix_template_;
  uint64_t size_file_;
  std::chrono::milliseconds time_file_;
  bool rotate_on_size_ = true, rotate_on_time_ = true;
  int64_t retry_count_, retry_delay_ms_;
  uint64_t buffer_max_bytes_;
  uint64_t part_size_ = 15 << 20;
  size_t queue_limit_ = 4;
  s3::Encoding encoding_ = s3::Encoding::None;
  int compression_level_ = 0;
  std::string extension_;
  std::vector<net::HttpHeader> object_headers_;
  std::string writer_id_;
  uint64_t sequence_ = 0;
  s3::S3Client writer_client_;  // writer thread: validation and multipart parts

  // Writer state (write/flush/close are serialized by the runtime).
  std::unordered_map<std::string, std::unique_ptr<OpenObject>> open_;
  std::vector<OpenObject*> touched_;
  std::string rendered_prefix_;
  bool closed_ = false;

  // Upload queue.
  std::mutex mutex_;
  std::condition_variable work_ready_, room_;
  std::deque<std::unique_ptr<OpenObject>> queue_;
  size_t in_flight_ = 0;
  bool shutting_down_ = false;
  std::atomic<uint64_t> buffered_bytes_{0};
  std::vector<std::thread> workers_;
};

const RegisterOutput registration{s3_output_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<S3Output>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
