// The `dead_letter_queue` input: reads the entries a pipeline's DLQ holds as events, with
// `[@metadata][dead_letter_queue]` (entry_time, plugin_id, plugin_type, reason) as Logstash adds
// it, and keeps watching for new entries until the pipeline stops. Two targets:
//
// - A directory (`path`): `<path>/<pipeline_id>/N.log`, sealed segments only. With commit_offsets
//   the position (segment, byte offset) is saved once the events before it are acknowledged, so a
//   restart continues there; clean_consumed then removes the segments it has fully consumed.
// - An S3 prefix (`bucket`, sluice's `dead_letter_queue.type: s3`): one object per entry under
//   `<prefix><pipeline_id>/`, keys sorted by their upload time. Keys are listed in order after the
//   last one read (ListObjectsV2 start-after); a key is read only once it is `settle_time` old, so
//   an entry still being uploaded by a slower writer (its key sorts earlier) is never passed over.
//   With commit_offsets the last key whose entries (and all before it) are acknowledged is saved,
//   in the object `<prefix><pipeline_id>.sincedb` (or the local `sincedb_path` when set);
//   clean_consumed deletes the acknowledged objects.
#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "config/parser.h"
#include "core/event_pool.h"
#include "core/time_format.h"
#include "plugins/common/s3/s3_client.h"
#include "plugins/common/s3/s3_dead_letter_writer.h"
#include "plugins/common/s3/s3_options.h"
#include "plugins/inputs/file/chunk_tracker.h"
#include "runtime/dlq.h"
#include "runtime/logging.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

constexpr size_t kChunkEntries = 128;
constexpr int kPollIntervalMs = 1000;
constexpr int kOffsetBits = 40;  // a position is (segment << 40) | byte offset: ordered across segments
constexpr int kListPageKeys = 1000;

uint64_t make_position(uint64_t segment, uint64_t offset) { return (segment << kOffsetBits) | offset; }
uint64_t segment_of(uint64_t position) { return position >> kOffsetBits; }
uint64_t offset_of(uint64_t position) { return position & ((uint64_t(1) << kOffsetBits) - 1); }

std::shared_ptr<spdlog::logger> dlq_log() { return logging::get("sluice.inputs.dead_letter_queue"); }

PluginSchema dead_letter_queue_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Input;
  schema.name = "dead_letter_queue";
  schema.doc =
      "Reads the events a pipeline's dead letter queue holds (written by sluice), with "
      "[@metadata][dead_letter_queue] (entry_time, plugin_id, plugin_type, reason), from a directory (`path`) or "
      "from an S3 prefix (`bucket`, for `dead_letter_queue.type: s3`). Keeps watching for new entries. With "
      "commit_offsets, a restart continues after the last acknowledged entry. With neither `path` nor `bucket`, "
      "the DLQ of this pipeline's own dead_letter_queue settings is read.";
  schema.options = {
      option_spec("path", OptionType::Path, std::nullopt,
                  "The dead letter queue directory (path.dead_letter_queue), holding one directory per pipeline."),
      option_spec("pipeline_id", OptionType::String, cv_string("main"), "The pipeline whose dead letter queue is read."),
      option_spec("commit_offsets", OptionType::Boolean, cv_bool(true),
                  "Save the position of acknowledged entries, so a restart does not read them again."),
      option_spec("sincedb_path", OptionType::String, std::nullopt,
                  "Where the position is saved (directory: default <path.data>/plugins/inputs/dead_letter_queue/"
                  "<pipeline_id>/.sincedb; S3: default the object <prefix><pipeline_id>.sincedb in the bucket, a "
                  "local file when this is set)."),
      option_spec("start_timestamp", OptionType::String, std::nullopt,
                  "Only entries written at or after this time (ISO8601, e.g. 2024-03-01T12:00:00Z)."),
      option_spec("clean_consumed", OptionType::Boolean, cv_bool(false),
                  "Remove segments (S3: objects) once all their entries are acknowledged (needs commit_offsets)."),
  };
  // S3: the connection options of the s3 plugins (bucket optional here: it selects S3).
  for (OptionSpec spec : s3::connection_option_specs()) {
    if (spec.name == "bucket") {
      spec.required = false;
      spec.doc = "S3 (sluice): the bucket of an S3 dead letter queue (dead_letter_queue.s3.bucket); selects S3 instead of `path`.";
    } else {
      std::string_view doc = spec.doc;
      if (doc.starts_with("sluice extension: ")) doc.remove_prefix(18);
      spec.doc = "S3 (sluice): " + std::string(doc);
    }
    schema.options.push_back(std::move(spec));
  }
  schema.options.push_back(option_spec("prefix", OptionType::String, cv_string("dead_letter_queue/"),
                                       "S3 (sluice): the key prefix of the dead letter queue (dead_letter_queue.s3.prefix); "
                                       "entries are under <prefix><pipeline_id>/."));
  schema.options.push_back(option_spec("interval", OptionType::Number, cv_number(5),
                                       "S3 (sluice): seconds between listings when there is nothing new."));
  schema.options.push_back(option_spec(
      "settle_time", OptionType::Number, cv_number(60),
      "S3 (sluice): an entry is read once its key is this many seconds old, so entries still being uploaded "
      "(at most 32 s after their key time) are not passed over; add the clock skew between hosts."));
  return schema;
}

// What both readers share: the options that select and shape what is read.
struct ReaderOptions {
  std::string id;
  std::string pipeline_id;
  bool commit_offsets = true;
  bool clean_consumed = false;
  std::optional<Timestamp> start_timestamp;
  std::string sincedb_path;  // "" = the reader's default
  std::atomic<uint64_t>* entries_read = nullptr;

  ReaderOptions(const Options& options, PluginContext& ctx) : id(ctx.id) {
    pipeline_id = options.get_string("pipeline_id");
    commit_offsets = options.get_bool("commit_offsets");
    clean_consumed = options.get_bool("clean_consumed");
    if (clean_consumed && !commit_offsets)
      throw config::ConfigError(options.position("clean_consumed"), "dead_letter_queue: clean_consumed needs commit_offsets => true");
    if (options.has("start_timestamp")) {
      Timestamp start;
      if (!parse_iso8601(options.get_string("start_timestamp"), start))
        throw config::ConfigError(options.position("start_timestamp"),
                                  fmt::format("dead_letter_queue: start_timestamp `{}` is not an ISO8601 time", options.get_string("start_timestamp")));
      start_timestamp = start;
    }
    if (options.has("sincedb_path")) sincedb_path = options.get_string("sincedb_path");
    if (ctx.metrics) entries_read = &ctx.metrics->counter("entries_read");
  }

  bool wanted(const DeadLetterEntry& entry) const { return !start_timestamp || entry.entry_time >= *start_timestamp; }

  Event* make_event(DeadLetterEntry& entry) const {
    Event* event = new_event();
    adopt_fields(*event, entry.fields);
    Object& metadata = event->metadata();
    for (Object::Entry& field : entry.metadata) metadata[field.key] = std::move(field.value);
    Object& dlq = metadata["dead_letter_queue"].make_object();
    dlq["entry_time"] = Value(entry.entry_time);
    dlq["plugin_id"] = Value(std::move(entry.plugin_id));
    dlq["plugin_type"] = Value(std::move(entry.plugin_type));
    dlq["reason"] = Value(std::move(entry.reason));
    if (entries_read) entries_read->fetch_add(1, std::memory_order_relaxed);
    return event;
  }
};

std::string read_local_text(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

bool write_local_text(const std::string& path, const std::string& text) {
  std::error_code error;
  fs::create_directories(fs::path(path).parent_path(), error);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text << "\n";
    if (!out) return false;
  }
  fs::rename(tmp, path, error);
  return !error;
}

// ---- the directory reader ------------------------------------------------------------------

class FileDeadLetterQueueInput final : public Input, public AckListener {
 public:
  FileDeadLetterQueueInput(ReaderOptions options, std::string root, const std::string& path_data)
      : options_(std::move(options)) {
    directory_ = (fs::path(root) / options_.pipeline_id).string();
    sincedb_path_ = !options_.sincedb_path.empty()
                        ? options_.sincedb_path
                        : (fs::path(path_data) / "plugins" / "inputs" / "dead_letter_queue" / options_.pipeline_id / ".sincedb").string();
    if (options_.commit_offsets) load_position();
    tracker_ = file_input::ChunkTracker(read_position_);
  }

  void run(InputContext& ctx) override {
    while (!ctx.stopping()) {
      bool progressed = read_new_entries(ctx);
      ctx.flush();
      if (!progressed && ctx.wait_for_stop(kPollIntervalMs)) break;
    }
  }

  void acked(uint64_t chunk_id) override {
    std::lock_guard lock(mutex_);
    if (!tracker_.ack(chunk_id)) return;
    uint64_t committed = tracker_.committed();
    if (options_.commit_offsets) save_position(committed);
    if (options_.clean_consumed) remove_consumed(committed);
  }

 private:
  // Reads every sealed segment past the read position. Returns true when anything was read.
  bool read_new_entries(InputContext& ctx) {
    bool progressed = false;
    for (const DeadLetterSegment& segment : list_dead_letter_segments(directory_)) {
      if (ctx.stopping()) break;
      uint64_t segment_number = segment_of(read_position_);
      uint64_t offset = offset_of(read_position_);
      if (segment.number < segment_number) continue;
      if (segment.number > segment_number) offset = 0;
      if (segment.number == segment_number && offset >= segment.size) continue;
      progressed = read_segment(ctx, segment, offset) || progressed;
    }
    return progressed;
  }

  bool read_segment(InputContext& ctx, const DeadLetterSegment& segment, uint64_t offset) {
    std::ifstream in(segment.path, std::ios::binary);
    if (!in) return false;  // removed meanwhile
    in.seekg(std::streamoff(offset));
    std::string line;
    std::vector<Event*> group;
    uint64_t position = offset;
    bool any = false;
    auto hand_over = [&](uint64_t end_position) {
      AckToken* token;
      {
        std::lock_guard lock(mutex_);
        token = AckToken::create(this, tracker_.add(end_position));
      }
      for (Event* event : group) {
        event->attach_ack(token);
        ctx.push(event);
      }
      group.clear();
      token->release();  // the input's own hold: the chunk is handed over
      read_position_ = end_position;
      any = true;
    };
    while (std::getline(in, line)) {
      if (in.eof()) break;  // no newline: not a complete entry (sealed segments end with one)
      position += line.size() + 1;
      DeadLetterEntry entry;
      if (!parse_dead_letter_entry(line, entry)) {
        dlq_log()->warn("[{}] skipping an unreadable entry in {} at byte {}", options_.id, segment.path, position - line.size() - 1);
      } else if (options_.wanted(entry)) {
        group.push_back(options_.make_event(entry));
      }
      if (group.size() >= kChunkEntries) hand_over(make_position(segment.number, position));
      if (ctx.stopping() && group.empty()) break;
    }
    if (!group.empty() || position > offset) hand_over(make_position(segment.number, position));
    return any;
  }

  void load_position() {
    std::ifstream in(sincedb_path_);
    uint64_t segment = 0, offset = 0;
    if (in >> segment >> offset) read_position_ = make_position(segment, offset);
  }

  void save_position(uint64_t position) {
    if (!write_local_text(sincedb_path_, fmt::format("{} {}", segment_of(position), offset_of(position))))
      dlq_log()->warn("[{}] cannot save the position in {}", options_.id, sincedb_path_);
  }

  // Segments before the committed one, and the committed one when read to its end, are done.
  void remove_consumed(uint64_t committed) {
    for (const DeadLetterSegment& segment : list_dead_letter_segments(directory_)) {
      bool consumed = segment.number < segment_of(committed) ||
                      (segment.number == segment_of(committed) && offset_of(committed) >= segment.size);
      if (!consumed) break;
      std::error_code error;
      fs::remove(segment.path, error);
    }
  }

  ReaderOptions options_;
  std::string directory_;
  std::string sincedb_path_;
  uint64_t read_position_ = make_position(0, 0);  // read up to here (run thread only)
  std::mutex mutex_;
  file_input::ChunkTracker tracker_;
};

// ---- the S3 reader -------------------------------------------------------------------------

class S3DeadLetterQueueInput final : public Input, public AckListener {
 public:
  S3DeadLetterQueueInput(ReaderOptions options, const s3::S3Settings& settings, const std::string& prefix,
                         int64_t interval_ms, int64_t settle_ms)
      : options_(std::move(options)),
        reader_(settings),
        committer_(settings),
        key_prefix_(prefix + options_.pipeline_id + "/"),
        position_key_(prefix + options_.pipeline_id + ".sincedb"),
        interval_ms_(interval_ms),
        settle_ns_(settle_ms * 1000000) {}

  void run(InputContext& ctx) override {
    // The saved position first (no I/O at config time): until it is known nothing is read.
    while (options_.commit_offsets && !load_position())
      if (ctx.wait_for_stop(int(std::max<int64_t>(interval_ms_, 1000)))) return;
    read_after_ = committed_key_;
    // Keys older than start_timestamp hold older entries (a key's time is never before its entry's).
    if (options_.start_timestamp) {
      std::string start = fmt::format("{}{:020}", key_prefix_, std::max<int64_t>(0, options_.start_timestamp->nanos));
      if (start > read_after_) read_after_ = start;
    }
    while (!ctx.stopping()) {
      bool progressed = read_new_entries(ctx);
      ctx.flush();
      if (!progressed && ctx.wait_for_stop(int(interval_ms_))) break;
    }
  }

  void acked(uint64_t chunk_id) override {
    std::optional<std::string> commit;
    std::vector<std::string> consumed;
    {
      std::lock_guard lock(mutex_);
      if (chunk_id < first_chunk_ || chunk_id - first_chunk_ >= chunks_.size()) return;
      chunks_[chunk_id - first_chunk_].acked = true;
      while (!chunks_.empty() && chunks_.front().acked) {
        commit = chunks_.front().last_key;
        if (options_.clean_consumed)
          for (std::string& key : chunks_.front().keys) consumed.push_back(std::move(key));
        chunks_.pop_front();
        ++first_chunk_;
      }
    }
    if (!commit) return;
    // Acks come from any worker: one commit at a time, never going back.
    std::lock_guard lock(commit_mutex_);
    if (options_.commit_offsets && *commit > committed_key_) {
      save_position(*commit);
      committed_key_ = *commit;
    }
    for (const std::string& key : consumed) {
      s3::S3Result result = committer_.delete_object(key);
      if (!result.ok() && result.status != 404)
        dlq_log()->warn("[{}] clean_consumed: cannot delete s3://{}/{}: {}", options_.id, committer_.bucket(), key,
                        result.describe());
    }
  }

 private:
  struct Chunk {
    std::string last_key;
    std::vector<std::string> keys;  // kept for clean_consumed only
    bool acked = false;
  };

  // Lists the keys after the read position and reads those old enough. True when anything was read.
  bool read_new_entries(InputContext& ctx) {
    std::vector<Event*> group;
    std::vector<std::string> group_keys;
    bool any = false;
    auto hand_over = [&] {
      if (group_keys.empty()) return;
      AckToken* token;
      {
        std::lock_guard lock(mutex_);
        Chunk chunk;
        chunk.last_key = group_keys.back();
        if (options_.clean_consumed) chunk.keys = std::move(group_keys);
        chunks_.push_back(std::move(chunk));
        token = AckToken::create(this, first_chunk_ + chunks_.size() - 1);
      }
      for (Event* event : group) {
        event->attach_ack(token);
        ctx.push(event);
      }
      group.clear();
      group_keys.clear();
      token->release();  // the input's own hold: the chunk is handed over
      any = true;
    };
    int64_t horizon = Timestamp::now().nanos - settle_ns_;
    std::string token;
    for (;;) {
      s3::ListPage page;
      s3::S3Result listed = reader_.list_objects_v2(key_prefix_, token, kListPageKeys, page, read_after_);
      if (!listed.ok()) {
        warn_rate_limited(fmt::format("cannot list s3://{}/{}: {}", reader_.bucket(), key_prefix_, listed.describe()));
        break;
      }
      for (const s3::S3Object& object : page.objects) {
        if (ctx.stopping()) {
          hand_over();
          return any;
        }
        if (object.key <= read_after_) continue;
        std::optional<int64_t> key_time = s3::dead_letter_key_nanos(object.key, key_prefix_);
        if (key_time && *key_time > horizon) {
          hand_over();  // too fresh: it and every later key wait for the next round
          return any;
        }
        std::string body;
        s3::S3Result got = reader_.get_object(object.key, body);
        if (!got.ok() && got.status != 404) {  // 404: removed meanwhile (another reader's clean_consumed)
          warn_rate_limited(fmt::format("cannot read s3://{}/{}: {}; retrying later", reader_.bucket(), object.key, got.describe()));
          hand_over();
          return any;
        }
        parse_object(object.key, body, group);
        group_keys.push_back(object.key);
        read_after_ = object.key;
        if (group.size() >= kChunkEntries || group_keys.size() >= kChunkEntries) hand_over();
      }
      if (!page.truncated) break;
      token = page.next_continuation_token;
    }
    hand_over();
    return any;
  }

  void parse_object(const std::string& key, std::string_view body, std::vector<Event*>& group) {
    size_t start = 0;
    while (start < body.size()) {
      size_t end = body.find('\n', start);
      if (end == std::string_view::npos) end = body.size();
      std::string_view line = body.substr(start, end - start);
      start = end + 1;
      if (line.empty()) continue;
      DeadLetterEntry entry;
      if (!parse_dead_letter_entry(line, entry)) {
        warn_rate_limited(fmt::format("skipping an unreadable entry in s3://{}/{}", reader_.bucket(), key));
      } else if (options_.wanted(entry)) {
        group.push_back(options_.make_event(entry));
      }
    }
  }

  // False when the position cannot be read now (starting from the beginning instead would read
  // everything again).
  bool load_position() {
    std::string key;
    if (!options_.sincedb_path.empty()) {
      key = read_local_text(options_.sincedb_path);
    } else {
      std::string body;
      s3::S3Result result = reader_.get_object(position_key_, body);
      if (!result.ok() && result.status != 404) {
        warn_rate_limited(fmt::format("cannot read the position s3://{}/{}: {}; retrying", reader_.bucket(), position_key_,
                                      result.describe()));
        return false;
      }
      if (result.ok()) key = body.substr(0, body.find('\n'));
    }
    std::lock_guard lock(commit_mutex_);
    committed_key_ = key.starts_with(key_prefix_) ? key : "";
    return true;
  }

  void save_position(const std::string& key) {
    if (!options_.sincedb_path.empty()) {
      if (!write_local_text(options_.sincedb_path, key))
        dlq_log()->warn("[{}] cannot save the position in {}", options_.id, options_.sincedb_path);
      return;
    }
    s3::S3Result result = committer_.put_object(position_key_, key + "\n", {{"Content-Type", "text/plain"}});
    if (!result.ok())
      dlq_log()->warn("[{}] cannot save the position in s3://{}/{}: {} (entries after the last saved position are "
                      "read again after a restart)",
                      options_.id, committer_.bucket(), position_key_, result.describe());
  }

  void warn_rate_limited(const std::string& message) {
    int64_t now = Timestamp::now().nanos;
    if (now - last_warning_ns_ < 10'000'000'000LL) return;
    last_warning_ns_ = now;
    dlq_log()->warn("[{}] {}", options_.id, message);
  }

  ReaderOptions options_;
  s3::S3Client reader_;     // run thread only
  s3::S3Client committer_;  // under commit_mutex_
  std::string key_prefix_;
  std::string position_key_;
  int64_t interval_ms_;
  int64_t settle_ns_;
  std::string read_after_;  // the last key read (run thread only)
  int64_t last_warning_ns_ = 0;

  std::mutex mutex_;
  std::deque<Chunk> chunks_;  // chunks_[i] has id first_chunk_ + i
  uint64_t first_chunk_ = 0;

  std::mutex commit_mutex_;
  std::string committed_key_;  // every key up to this one is done
};

std::unique_ptr<Input> make_dead_letter_queue_input(const Options& options, PluginContext& ctx) {
  ReaderOptions reader(options, ctx);
  std::string path_data = ctx.settings ? ctx.settings->path_data : "data";
  if (options.has("path") && options.has("bucket"))
    throw config::ConfigError(options.position("bucket"), "dead_letter_queue: set either `path` or `bucket`, not both");
  int64_t interval_ms = std::max<int64_t>(10, int64_t(options.get_number("interval") * 1000));
  int64_t settle_ms = std::max<int64_t>(0, int64_t(options.get_number("settle_time") * 1000));
  if (options.has("bucket"))
    return std::make_unique<S3DeadLetterQueueInput>(std::move(reader), s3::settings_from_options(options),
                                                    options.get_string("prefix"), interval_ms, settle_ms);
  if (options.has("path"))
    return std::make_unique<FileDeadLetterQueueInput>(std::move(reader), options.get_string("path"), path_data);
  // Neither: this pipeline's own dead_letter_queue settings say where the DLQ is.
  if (ctx.settings && ctx.settings->dead_letter_queue.type == "s3") {
    const DeadLetterQueueSettings& dlq = ctx.settings->dead_letter_queue;
    if (dlq.s3_bucket.empty())
      throw config::ConfigError(options.position("pipeline_id"),
                                "dead_letter_queue: no `path` or `bucket`, and dead_letter_queue.s3.bucket is not set");
    return std::make_unique<S3DeadLetterQueueInput>(std::move(reader), s3::dead_letter_s3_settings(dlq), dlq.s3_prefix,
                                                    interval_ms, settle_ms);
  }
  std::string root = ctx.settings && !ctx.settings->dead_letter_queue.path.empty()
                         ? ctx.settings->dead_letter_queue.path
                         : (fs::path(path_data) / "dead_letter_queue").string();
  return std::make_unique<FileDeadLetterQueueInput>(std::move(reader), root, path_data);
}

const RegisterInput registration{dead_letter_queue_schema(), make_dead_letter_queue_input};

}  // namespace
}  // namespace sluice
