// The `dead_letter_queue` input: reads the entries a pipeline's DLQ holds (`<path>/<pipeline_id>/
// N.log`, sealed segments only) as events, with `[@metadata][dead_letter_queue]` (entry_time,
// plugin_id, plugin_type, reason) as Logstash adds it. It keeps watching for new segments until
// the pipeline stops. With commit_offsets the position (segment, byte offset) is saved once the
// events before it are acknowledged, so a restart continues there; clean_consumed then removes
// the segments it has fully consumed.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "config/parser.h"
#include "core/event_pool.h"
#include "core/time_format.h"
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

uint64_t make_position(uint64_t segment, uint64_t offset) { return (segment << kOffsetBits) | offset; }
uint64_t segment_of(uint64_t position) { return position >> kOffsetBits; }
uint64_t offset_of(uint64_t position) { return position & ((uint64_t(1) << kOffsetBits) - 1); }

PluginSchema dead_letter_queue_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Input;
  schema.name = "dead_letter_queue";
  schema.doc =
      "Reads the events a pipeline's dead letter queue holds (written by sluice), with "
      "[@metadata][dead_letter_queue] (entry_time, plugin_id, plugin_type, reason). Keeps watching for new "
      "entries. With commit_offsets, a restart continues after the last acknowledged entry.";
  OptionSpec path = option_spec("path", OptionType::Path, std::nullopt,
                                "The dead letter queue directory (path.dead_letter_queue), holding one directory per pipeline.");
  path.required = true;
  schema.options = {
      path,
      option_spec("pipeline_id", OptionType::String, cv_string("main"), "The pipeline whose dead letter queue is read."),
      option_spec("commit_offsets", OptionType::Boolean, cv_bool(true),
                  "Save the position of acknowledged entries, so a restart does not read them again."),
      option_spec("sincedb_path", OptionType::String, std::nullopt,
                  "Where the position is saved (default <path.data>/plugins/inputs/dead_letter_queue/<pipeline_id>/.sincedb)."),
      option_spec("start_timestamp", OptionType::String, std::nullopt,
                  "Only entries written at or after this time (ISO8601, e.g. 2024-03-01T12:00:00Z)."),
      option_spec("clean_consumed", OptionType::Boolean, cv_bool(false),
                  "Remove segments once all their entries are acknowledged (needs commit_offsets)."),
  };
  return schema;
}

class DeadLetterQueueInput final : public Input, public AckListener {
 public:
  DeadLetterQueueInput(const Options& options, PluginContext& ctx) : id_(ctx.id) {
    std::string pipeline_id = options.get_string("pipeline_id");
    directory_ = (fs::path(options.get_string("path")) / pipeline_id).string();
    commit_offsets_ = options.get_bool("commit_offsets");
    clean_consumed_ = options.get_bool("clean_consumed");
    if (clean_consumed_ && !commit_offsets_)
      throw config::ConfigError(options.position("clean_consumed"), "dead_letter_queue: clean_consumed needs commit_offsets => true");
    if (options.has("start_timestamp")) {
      if (!parse_iso8601(options.get_string("start_timestamp"), start_timestamp_))
        throw config::ConfigError(options.position("start_timestamp"),
                                  fmt::format("dead_letter_queue: start_timestamp `{}` is not an ISO8601 time", options.get_string("start_timestamp")));
      has_start_timestamp_ = true;
    }
    std::string path_data = ctx.settings ? ctx.settings->path_data : "data";
    sincedb_path_ = options.has("sincedb_path")
                        ? options.get_string("sincedb_path")
                        : (fs::path(path_data) / "plugins" / "inputs" / "dead_letter_queue" / pipeline_id / ".sincedb").string();
    if (commit_offsets_) load_position();
    tracker_ = file_input::ChunkTracker(read_position_);
    if (ctx.metrics) entries_read_ = &ctx.metrics->counter("entries_read");
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
    if (commit_offsets_) save_position(committed);
    if (clean_consumed_) remove_consumed(committed);
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
        logging::get("sluice.inputs.dead_letter_queue")
            ->warn("[{}] skipping an unreadable entry in {} at byte {}", id_, segment.path, position - line.size() - 1);
      } else if (!has_start_timestamp_ || entry.entry_time >= start_timestamp_) {
        group.push_back(make_event(entry));
      }
      if (group.size() >= kChunkEntries) hand_over(make_position(segment.number, position));
      if (ctx.stopping() && group.empty()) break;
    }
    if (!group.empty() || position > offset) hand_over(make_position(segment.number, position));
    return any;
  }

  Event* make_event(DeadLetterEntry& entry) {
    Event* event = new_event();
    adopt_fields(*event, entry.fields);
    Object& metadata = event->metadata();
    for (Object::Entry& field : entry.metadata) metadata[field.key] = std::move(field.value);
    Object& dlq = metadata["dead_letter_queue"].make_object();
    dlq["entry_time"] = Value(entry.entry_time);
    dlq["plugin_id"] = Value(std::move(entry.plugin_id));
    dlq["plugin_type"] = Value(std::move(entry.plugin_type));
    dlq["reason"] = Value(std::move(entry.reason));
    if (entries_read_) entries_read_->fetch_add(1, std::memory_order_relaxed);
    return event;
  }

  void load_position() {
    std::ifstream in(sincedb_path_);
    uint64_t segment = 0, offset = 0;
    if (in >> segment >> offset) read_position_ = make_position(segment, offset);
  }

  void save_position(uint64_t position) {
    std::error_code error;
    fs::create_directories(fs::path(sincedb_path_).parent_path(), error);
    std::string tmp = sincedb_path_ + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << segment_of(position) << " " << offset_of(position) << "\n";
      if (!out) return;
    }
    fs::rename(tmp, sincedb_path_, error);
    if (error)
      logging::get("sluice.inputs.dead_letter_queue")->warn("[{}] cannot save the position in {}: {}", id_, sincedb_path_, error.message());
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

  std::string id_;
  std::string directory_;
  std::string sincedb_path_;
  bool commit_offsets_ = true;
  bool clean_consumed_ = false;
  bool has_start_timestamp_ = false;
  Timestamp start_timestamp_;
  uint64_t read_position_ = make_position(0, 0);  // read up to here (run thread only)
  std::mutex mutex_;
  file_input::ChunkTracker tracker_;
  std::atomic<uint64_t>* entries_read_ = nullptr;
};

const RegisterInput registration{dead_letter_queue_schema(), [](const Options& options, PluginContext& ctx) {
                                   return std::make_unique<DeadLetterQueueInput>(options, ctx);
                                 }};

}  // namespace
}  // namespace sluice
