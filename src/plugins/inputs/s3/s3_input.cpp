// The s3 input: lists a bucket prefix (ListObjectsV2, paged), streams each object (gzip / zstd
// decoded on the fly, never written to local disk), splits lines and decodes them with the
// codec. Every event of an object holds that object's AckToken; an object counts as done only
// once all its events were acknowledged, and progress (sincedb: the last done object's
// last_modified and key, in listing order) advances only over the contiguous run of done
// objects. Done objects can be deleted or copied to a backup bucket, as in Logstash.
// Watch mode re-lists every `interval` seconds; finite mode (watch_for_new_files => false) reads
// the prefix once and ends, printing a progress line on stderr.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "config/parser.h"
#include "core/event.h"
#include "core/field_ref.h"
#include "net/aws_sigv4.h"
#include "plugins/common/s3/s3_client.h"
#include "plugins/common/s3/s3_options.h"
#include "plugins/inputs/s3/decompressor.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema s3_input_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Input;
  schema.name = "s3";
  schema.doc =
      "Reads objects from an S3 bucket (AWS or S3-compatible) line by line, streamed and decompressed on the fly "
      "(gzip, zstd), oldest first. An object is marked done (sincedb, delete, backup) only once all its events "
      "were acknowledged by every output.";
  schema.options = s3::connection_option_specs();
  auto add = [&](OptionSpec spec) { schema.options.push_back(std::move(spec)); };
  add(option_spec("prefix", OptionType::String, std::nullopt, "Only objects whose key starts with this."));
  add(option_spec("exclude_pattern", OptionType::String, std::nullopt, "Skip objects whose key matches this regexp."));
  add(option_spec("codec", OptionType::Codec, cv_string("plain"), "The codec that decodes each line."));
  add(option_spec("interval", OptionType::Number, cv_number(60), "Seconds between listings in watch mode."));
  add(option_spec("watch_for_new_files", OptionType::Boolean, cv_bool(true),
                  "true: keep listing for new objects; false: read the prefix once, then the input ends."));
  add(option_spec("sincedb_path", OptionType::String, std::nullopt,
                  "Where progress is kept (default: <path.data>/plugins/inputs/s3/sincedb_<hash>); /dev/null keeps none."));
  add(option_spec("delete", OptionType::Boolean, cv_bool(false), "Delete each object once all its events are acknowledged."));
  add(option_spec("backup_to_bucket", OptionType::String, std::nullopt, "Copy each done object to this bucket."));
  add(option_spec("backup_add_prefix", OptionType::String, cv_string(""), "Key prefix of backup copies."));
  add(option_spec("backup_to_dir", OptionType::String, std::nullopt,
                  "Not supported by sluice (objects never touch local disk); use backup_to_bucket."));
  add(option_spec("include_object_properties", OptionType::Boolean, cv_bool(false),
                  "Also put etag, size and storage_class into [@metadata][s3]."));
  add(option_spec("gzip_pattern", OptionType::String, cv_string("\\.gz(ip)?$"),
                  "Keys treated as gzip (gzip and zstd are also recognized by their first bytes)."));
  add(option_spec("temporary_directory", OptionType::String, std::nullopt,
                  "Accepted for compatibility; sluice streams objects without temporary files."));
  add(option_spec("start_time", OptionType::String, std::nullopt,
                  "sluice extension: only objects last modified at or after this ISO 8601 time (UTC)."));
  add(option_spec("end_time", OptionType::String, std::nullopt,
                  "sluice extension: only objects last modified before this ISO 8601 time (UTC)."));
  add(option_spec("progress_marker_key", OptionType::String, std::nullopt,
                  "sluice extension: keep progress in this object of the bucket instead of a local sincedb file."));
  add(option_spec("list_max_keys", OptionType::Number, cv_number(1000),
                  "sluice extension: keys per ListObjectsV2 page."));
  add(option_spec("progress", OptionType::Boolean, cv_bool(true),
                  "sluice extension: in finite mode, print objects/bytes done, rate and ETA on stderr."));
  return schema;
}

// Position in listing order: objects are read oldest first, ties by key.
struct Position {
  std::time_t last_modified = 0;
  std::string key;
  bool operator<(const Position& o) const {
    return last_modified != o.last_modified ? last_modified < o.last_modified : key < o.key;
  }
  bool operator<=(const Position& o) const { return !(o < *this); }
};

std::string iso_time(std::time_t t) {
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

// "2024-01-02T03:04:05Z <key>"; an empty text is "nothing done yet".
std::optional<Position> parse_position(const std::string& text) {
  size_t space = text.find(' ');
  std::string time = text.substr(0, space);
  std::time_t t = s3::parse_s3_time(time);
  if (t == 0) return std::nullopt;
  Position p{t, space == std::string::npos ? "" : text.substr(space + 1)};
  while (!p.key.empty() && (p.key.back() == '\n' || p.key.back() == '\r')) p.key.pop_back();
  return p;
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", bytes, units[unit]);
}

class S3Input;

// Hears the objects' acknowledgements. Kept apart from the input (and leaked if tokens are still
// out when the input goes away) so a late acknowledgement never touches freed memory.
class DoneListener final : public AckListener {
 public:
  void acked(uint64_t chunk_id) override {
    std::lock_guard lock(mutex);
    done.push_back(chunk_id);
    --outstanding;
    changed.notify_all();
  }
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<uint64_t> done;
  int64_t outstanding = 0;
};

class S3Input : public Input {
 public:
  S3Input(const Options& options, PluginContext& context)
      : settings_(s3::settings_from_options(options)),
        codec_(context.make_codec(options.get_codec())),
        metrics_(context.metrics),
        log_(logging::get("input.s3")),
        id_(context.id),
        prefix_(options.get_string("prefix")),
        interval_ms_(int64_t(options.get_number("interval") * 1000)),
        watch_(options.get_bool("watch_for_new_files")),
        delete_(options.get_bool("delete")),
        backup_bucket_(options.get_string("backup_to_bucket")),
        backup_prefix_(options.get_string("backup_add_prefix")),
        include_properties_(options.get_bool("include_object_properties")),
        marker_key_(options.get_string("progress_marker_key")),
        max_keys_(int(options.get_int("list_max_keys"))),
        show_progress_(options.get_bool("progress")),
        listener_(new DoneListener()) {
    if (options.has("backup_to_dir"))
      throw config::ConfigError(options.position("backup_to_dir"),
                                "s3 input: `backup_to_dir` is not supported by sluice; use backup_to_bucket");
    auto regex = [&](const char* name) -> std::optional<std::regex> {
      if (!options.has(name) && !options.raw(name)) return std::nullopt;
      std::string text = options.get_string(name);
      if (text.empty()) return std::nullopt;
      try {
        return std::regex(text, std::regex::ECMAScript | std::regex::optimize);
      } catch (const std::regex_error& e) {
        throw config::ConfigError(options.position(name), fmt::format("s3 input: invalid `{}` regexp: {}", name, e.what()));
      }
    };
    exclude_ = regex("exclude_pattern");
    gzip_pattern_ = regex("gzip_pattern");
    auto bound = [&](const char* name) -> std::time_t {
      if (!options.has(name)) return 0;
      std::time_t t = s3::parse_s3_time(options.get_string(name));
      if (t == 0)
        throw config::ConfigError(options.position(name),
                                  fmt::format("s3 input: `{}` must be an ISO 8601 time like 2024-05-01T00:00:00Z", name));
      return t;
    };
    start_time_ = bound("start_time");
    end_time_ = bound("end_time");
    if (max_keys_ < 1 || max_keys_ > 1000)
      throw config::ConfigError(options.position("list_max_keys"), "s3 input: `list_max_keys` must be 1..1000");
    if (options.has("sincedb_path")) {
      sincedb_path_ = options.get_string("sincedb_path");
    } else if (marker_key_.empty()) {
      std::string data = context.settings ? context.settings->path_data : "data";
      sincedb_path_ = data + "/plugins/inputs/s3/sincedb_" +
                      net::sha256_hex(settings_.bucket + "\n" + prefix_ + "\n" + settings_.endpoint).substr(0, 32);
    }
    if (sincedb_path_ == "/dev/null") sincedb_path_.clear();
  }

  ~S3Input() override {
    stop_finisher();
    std::lock_guard lock(listener_->mutex);
    // Tokens still out (events parked by an output that gave up): the listener must outlive them.
    if (listener_->outstanding == 0) delete listener_;
  }

  void stop() override {
    std::lock_guard lock(listener_->mutex);
    listener_->changed.notify_all();
  }

  void run(InputContext& ctx) override {
    client_ = std::make_unique<s3::S3Client>(settings_);
    load_position();
    start_finisher();
    do {
      std::vector<s3::S3Object> objects;
      if (!list(ctx, objects)) {
        if (ctx.wait_for_stop(int(std::min<int64_t>(interval_ms_, 5000)))) break;
        continue;
      }
      if (!watch_) {
        total_objects_ = objects.size();
        for (const auto& o : objects) total_bytes_ += o.size;
        started_ = last_progress_ = std::chrono::steady_clock::now();
        log_->info("S3: {} objects ({}) to read from s3://{}/{}", objects.size(), human_bytes(double(total_bytes_)),
                   settings_.bucket, prefix_);
      }
      for (const s3::S3Object& object : objects) {
        if (ctx.stopping()) break;
        read_object(ctx, object);
      }
      if (!watch_) {
        print_progress(true);
        break;
      }
    } while (!ctx.wait_for_stop(int(interval_ms_)));
    ctx.flush();
  }

 private:
  bool list(InputContext& ctx, std::vector<s3::S3Object>& out) {
    std::string token;
    std::time_t cutoff = std::time(nullptr) - 2;  // watch mode: objects may still be landing this second
    for (;;) {
      s3::ListPage page;
      s3::S3Result r = client_->list_objects_v2(prefix_, token, max_keys_, page);
      if (!r.ok()) {
        log_->error("S3: listing s3://{}/{} failed: {}", settings_.bucket, prefix_, r.describe());
        return false;
      }
      for (s3::S3Object& object : page.objects) {
        if (object.key.ends_with('/')) continue;  // "folders"
        if (!marker_key_.empty() && object.key == marker_key_) continue;
        if (!backup_bucket_.empty() && backup_bucket_ == settings_.bucket && !backup_prefix_.empty() &&
            object.key.starts_with(backup_prefix_))
          continue;
        if (exclude_ && std::regex_search(object.key, *exclude_)) continue;
        if (start_time_ && object.last_modified < start_time_) continue;
        if (end_time_ && object.last_modified >= end_time_) continue;
        if (watch_ && object.last_modified > cutoff) continue;
        Position p{object.last_modified, object.key};
        if (done_position_ && p <= *done_position_) continue;
        if (dispatched_ && p <= *dispatched_) continue;
        out.push_back(std::move(object));
      }
      if (!page.truncated || ctx.stopping()) break;
      token = page.next_continuation_token;
    }
    std::sort(out.begin(), out.end(), [](const s3::S3Object& a, const s3::S3Object& b) {
      return Position{a.last_modified, a.key} < Position{b.last_modified, b.key};
    });
    return true;
  }

  // Collects decoded events of one line.
  struct Sink final : EventSink {
    std::vector<Event*> events;
    void accept(Event* event) override { events.push_back(event); }
  };

  void read_object(InputContext& ctx, const s3::S3Object& object) {
    uint64_t chunk = next_chunk_++;
    {
      std::lock_guard lock(objects_mutex_);
      pending_.emplace(chunk, PendingObject{Position{object.last_modified, object.key}, false, false});
      ++listener_->outstanding;  // under objects_mutex_ is fine: only this thread increments
    }
    AckToken* token = AckToken::create(listener_, chunk);
    std::unique_ptr<Codec> codec = codec_->clone();
    s3::StreamDecompressor::Kind hint = s3::StreamDecompressor::Kind::Unknown;
    if (gzip_pattern_ && std::regex_search(object.key, *gzip_pattern_)) hint = s3::StreamDecompressor::Kind::Gzip;
    if (object.key.ends_with(".zst")) hint = s3::StreamDecompressor::Kind::Zstd;
    s3::StreamDecompressor decoder(hint);
    std::string partial;
    Sink sink;
    bool stopped = false;
    uint64_t received = 0;
    std::string error;

    auto emit_line = [&](std::string_view line) {
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      codec->decode_unit(line, sink);
      for (Event* event : sink.events) {
        decorate(*event, object);
        event->attach_ack(token);
        if (!ctx.push(event)) stopped = true;
      }
      sink.events.clear();
    };
    auto on_text = [&](std::string_view text) {
      size_t start = 0;
      for (;;) {
        const void* hit = std::memchr(text.data() + start, '\n', text.size() - start);
        if (!hit) break;
        size_t end = size_t(static_cast<const char*>(hit) - text.data());
        if (!partial.empty()) {
          partial.append(text.substr(start, end - start));
          emit_line(partial);
          partial.clear();
        } else {
          emit_line(text.substr(start, end - start));
        }
        start = end + 1;
      }
      partial.append(text.substr(start));
    };
    auto on_bytes = [&](std::string_view bytes) {
      received += bytes.size();
      bytes_read_ += bytes.size();
      if (metrics_) metrics_->counter("bytes_read").fetch_add(bytes.size(), std::memory_order_relaxed);
      try {
        decoder.feed(bytes, on_text);
      } catch (const std::exception& e) {
        error = e.what();
        return false;
      }
      print_progress(false);
      return !stopped && !ctx.stopping();
    };

    // A dropped connection resumes with a Range request where it broke: the decoder's state goes on.
    int failures = 0;
    for (;;) {
      s3::S3Result r = client_->get_object(object.key, on_bytes, received);
      if (r.ok() || !error.empty() || stopped || ctx.stopping()) {
        if (!r.ok() && error.empty() && !stopped && !ctx.stopping()) error = r.describe();
        break;
      }
      if (r.status == 404) {
        error = "object vanished (404)";
        break;
      }
      if (!r.retryable() || ++failures > 5) {
        error = r.describe();
        break;
      }
      log_->warn("S3: reading {} failed ({}), resuming at byte {}", object.key, r.describe(), received);
      if (ctx.wait_for_stop(int(std::min(30000, 500 << failures)))) break;
    }
    bool complete = error.empty() && !stopped && !ctx.stopping();
    if (complete) {
      try {
        decoder.finish(on_text);
      } catch (const std::exception& e) {
        error = e.what();
        complete = false;
      }
    }
    if (complete) {
      if (!partial.empty()) emit_line(partial);
      codec->flush(sink);
      for (Event* event : sink.events) {
        decorate(*event, object);
        event->attach_ack(token);
        ctx.push(event);
      }
      sink.events.clear();
      ++objects_read_;
    } else if (!error.empty()) {
      if (metrics_) metrics_->failures.fetch_add(1, std::memory_order_relaxed);
      log_->error("S3: cannot read s3://{}/{}: {}; it stays not done and is read again next time", settings_.bucket,
                  object.key, error);
    }
    ctx.flush();
    {
      std::lock_guard lock(objects_mutex_);
      pending_[chunk].complete = complete;
    }
    // Incomplete objects never become done (their position blocks the sincedb), so they are read
    // again after a restart.
    Position p{object.last_modified, object.key};
    if (complete && (!dispatched_ || *dispatched_ < p)) dispatched_ = p;
    if (!complete) failed_in_this_run_ = true;
    token->release();
  }

  void decorate(Event& event, const s3::S3Object& object) {
    Value& s3 = event.metadata()["s3"];
    if (!s3.is_object()) s3 = Value(Object());
    Object& fields = s3.as_object();
    fields["key"] = Value(std::string_view(object.key));
    fields["bucket"] = Value(std::string_view(settings_.bucket));
    fields["last_modified"] = Value(Timestamp::from_seconds(object.last_modified));
    if (include_properties_) {
      fields["etag"] = Value(std::string_view(object.etag));
      fields["size"] = Value(int64_t(object.size));
      if (!object.storage_class.empty()) fields["storage_class"] = Value(std::string_view(object.storage_class));
    }
  }

  // ---- done objects: sincedb, delete, backup (on the finisher thread) -----------------------

  struct PendingObject {
    Position position;
    bool complete = false;
    bool acked = false;
  };

  void start_finisher() {
    if (finisher_.joinable()) return;
    finisher_ = std::thread([this] { finisher_loop(); });
  }

  void stop_finisher() {
    {
      std::lock_guard lock(listener_->mutex);
      finisher_stop_ = true;
      listener_->changed.notify_all();
    }
    if (finisher_.joinable()) finisher_.join();
  }

  void finisher_loop() {
    s3::S3Client client(settings_);
    for (;;) {
      std::deque<uint64_t> done;
      {
        std::unique_lock lock(listener_->mutex);
        listener_->changed.wait_for(lock, std::chrono::milliseconds(500),
                                    [&] { return !listener_->done.empty() || finisher_stop_; });
        done.swap(listener_->done);
        if (done.empty() && finisher_stop_) return;
      }
      std::vector<PendingObject> finished;
      {
        std::lock_guard lock(objects_mutex_);
        for (uint64_t chunk : done) pending_[chunk].acked = true;
        // Advance over the contiguous run of acknowledged objects; an incomplete one stops it.
        while (!pending_.empty() && pending_.begin()->second.acked) {
          PendingObject object = pending_.begin()->second;
          pending_.erase(pending_.begin());
          if (!object.complete) {
            blocked_ = true;
            continue;
          }
          if (!blocked_) finished.push_back(object);
        }
      }
      for (const PendingObject& object : finished) finish_object(client, object.position);
      if (!finished.empty()) save_position(client, finished.back().position);
    }
  }

  void finish_object(s3::S3Client& client, const Position& p) {
    ++objects_done_;
    if (metrics_) metrics_->counter("objects_done").fetch_add(1, std::memory_order_relaxed);
    if (!backup_bucket_.empty()) {
      s3::S3Result r = client.copy_object(p.key, backup_bucket_, backup_prefix_ + p.key);
      if (!r.ok()) {
        log_->error("S3: backup of {} to s3://{}/{} failed: {}", p.key, backup_bucket_, backup_prefix_ + p.key,
                    r.describe());
        return;  // never delete what could not be backed up
      }
    }
    if (delete_) {
      s3::S3Result r = client.delete_object(p.key);
      if (!r.ok() && r.status != 404) log_->error("S3: deleting {} failed: {}", p.key, r.describe());
    }
  }

  void load_position() {
    std::string text;
    if (!marker_key_.empty()) {
      s3::S3Result r = client_->get_object(marker_key_, text);
      if (!r.ok() && r.status != 404)
        throw std::runtime_error(fmt::format("cannot read the progress marker s3://{}/{}: {}", settings_.bucket,
                                             marker_key_, r.describe()));
    } else if (!sincedb_path_.empty()) {
      std::ifstream in(sincedb_path_);
      std::getline(in, text);
    }
    done_position_ = parse_position(text);
    if (done_position_)
      log_->info("S3: resuming after {} {}", iso_time(done_position_->last_modified), done_position_->key);
  }

  void save_position(s3::S3Client& client, const Position& p) {
    std::string text = iso_time(p.last_modified) + " " + p.key + "\n";
    if (!marker_key_.empty()) {
      s3::S3Result r = client.put_object(marker_key_, text);
      if (!r.ok()) log_->error("S3: writing the progress marker {} failed: {}", marker_key_, r.describe());
      return;
    }
    if (sincedb_path_.empty()) return;
    std::error_code ec;
    std::filesystem::path path(sincedb_path_);
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    std::string temporary = sincedb_path_ + ".tmp";
    {
      std::ofstream out(temporary, std::ios::trunc);
      out << text;
      if (!out) {
        log_->error("S3: cannot write sincedb {}", temporary);
        return;
      }
    }
    std::filesystem::rename(temporary, sincedb_path_, ec);
    if (ec) log_->error("S3: cannot write sincedb {}: {}", sincedb_path_, ec.message());
  }

  void print_progress(bool final) {
    if (watch_ || !show_progress_) return;
    auto now = std::chrono::steady_clock::now();
    if (!final && now - last_progress_ < std::chrono::seconds(2)) return;
    last_progress_ = now;
    double seconds = std::chrono::duration<double>(now - started_).count();
    double rate = seconds > 0 ? double(bytes_read_) / seconds : 0;
    double remaining = total_bytes_ > bytes_read_ ? double(total_bytes_ - bytes_read_) : 0;
    std::string eta = rate > 0 ? fmt::format("{:.0f}s", remaining / rate) : "?";
    std::fprintf(stderr, "s3 input %s: %llu/%zu objects, %s/%s, %s/s, eta %s%s\n", id_.c_str(),
                 static_cast<unsigned long long>(objects_read_), total_objects_, human_bytes(double(bytes_read_)).c_str(),
                 human_bytes(double(total_bytes_)).c_str(), human_bytes(rate).c_str(), final ? "0s" : eta.c_str(),
                 final ? " (read; done once acknowledged)" : "");
  }

  s3::S3Settings settings_;
  std::unique_ptr<Codec> codec_;
  PluginMetrics* metrics_;
  std::shared_ptr<spdlog::logger> log_;
  std::string id_;
  std::string prefix_;
  int64_t interval_ms_;
  bool watch_, delete_;
  std::string backup_bucket_, backup_prefix_;
  bool include_properties_;
  std::string marker_key_;
  int max_keys_;
  bool show_progress_;
  std::optional<std::regex> exclude_, gzip_pattern_;
  std::time_t start_time_ = 0, end_time_ = 0;
  std::string sincedb_path_;

  std::unique_ptr<s3::S3Client> client_;  // the reading thread's
  std::optional<Position> done_position_;  // from the sincedb / marker at start
  std::optional<Position> dispatched_;     // read completely in this run
  bool failed_in_this_run_ = false;
  uint64_t next_chunk_ = 0;

  DoneListener* listener_;
  std::mutex objects_mutex_;
  std::map<uint64_t, PendingObject> pending_;  // by chunk id = listing order
  bool blocked_ = false;  // an incomplete object: progress may not pass it in this run
  std::thread finisher_;
  bool finisher_stop_ = false;

  // Progress (finite mode).
  size_t total_objects_ = 0;
  uint64_t total_bytes_ = 0;
  std::atomic<uint64_t> bytes_read_{0};
  uint64_t objects_read_ = 0;
  std::atomic<uint64_t> objects_done_{0};
  std::chrono::steady_clock::time_point started_, last_progress_;
};

const RegisterInput registration{s3_input_schema(), [](const Options& options, PluginContext& context) {
                                   return std::make_unique<S3Input>(options, context);
                                 }};

}  // namespace
}  // namespace sluice
