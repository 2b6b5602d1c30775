// The dead letter queue (DLQ): where events go that an output rejected for good (Elasticsearch
// 400/404, `dlq_custom_codes`) or, by choice, that failed in the filters. An event handed to the
// DLQ counts as done once the DLQ has it, so its source may acknowledge it.
//
// Layout on disk, as Logstash's: `<path>/<pipeline_id>/N.log` segments, numbered from 1. The
// segment being written is `N.log.tmp`; it is sealed (renamed to `N.log`) when it reaches the
// segment size or after `dead_letter_queue.flush_interval` without a write, so readers only ever
// see complete segments. Each entry is one JSON line (sluice's format, not Logstash's CBOR):
//   {"entry_time":"...","plugin_type":"elasticsearch","plugin_id":"es_1","reason":"...",
//    "event":{...fields...},"metadata":{...@metadata...}}
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/event.h"
#include "runtime/metrics.h"

namespace sluice {

struct DeadLetterQueueSettings;

// What a write did with the entry.
enum class DeadLetterResult {
  Stored,   // in the queue: the event may be acknowledged
  Dropped,  // refused by the storage policy (drop_newer, full): counted, the event is done anyway
  Failed,   // could not be stored (I/O error): the caller must not acknowledge the event
};

// A place entries go. Thread-safe; bounded by the implementation's size limit. The file
// directory is the one target today; an S3 prefix target can implement the same interface.
class DeadLetterWriter {
 public:
  virtual ~DeadLetterWriter() = default;
  virtual DeadLetterResult write(const Event& event, std::string_view plugin_type, std::string_view plugin_id,
                                 std::string_view reason, Timestamp entry_time) = 0;
  DeadLetterResult write(const Event& event, std::string_view plugin_type, std::string_view plugin_id,
                         std::string_view reason) {
    return write(event, plugin_type, plugin_id, reason, Timestamp::now());
  }
  // Makes everything written so far visible to readers (seals the open segment).
  virtual void flush() {}
  virtual void close() {}
};

// One entry as read back.
struct DeadLetterEntry {
  Timestamp entry_time;
  std::string plugin_type;
  std::string plugin_id;
  std::string reason;
  Object fields;
  Object metadata;
};

// Serializes one entry as its JSON line (with the trailing newline).
void format_dead_letter_entry(std::string& out, const Event& event, std::string_view plugin_type,
                              std::string_view plugin_id, std::string_view reason, Timestamp entry_time);
// Parses one line (without its newline). False when it is not an entry.
bool parse_dead_letter_entry(std::string_view line, DeadLetterEntry& out);

// The file-directory DLQ of one pipeline: `<root>/<pipeline_id>/`.
class FileDeadLetterWriter final : public DeadLetterWriter {
 public:
  struct Config {
    std::string directory;              // <path>/<pipeline_id>
    uint64_t max_bytes = 1024ull << 20;  // dead_letter_queue.max_bytes
    bool drop_older = false;            // dead_letter_queue.storage_policy: drop_older (else drop_newer)
    int flush_interval_ms = 5000;       // dead_letter_queue.flush_interval
    uint64_t segment_max_bytes = 10ull << 20;
  };
  // Creates the directory, seals segments a crash left open. Throws std::runtime_error.
  FileDeadLetterWriter(Config config, DeadLetterQueueMetrics* metrics);
  ~FileDeadLetterWriter() override;

  DeadLetterResult write(const Event& event, std::string_view plugin_type, std::string_view plugin_id,
                         std::string_view reason, Timestamp entry_time) override;
  using DeadLetterWriter::write;
  void flush() override;
  void close() override;
  // Bytes in all segments (sealed and open).
  uint64_t size_bytes() const;

 private:
  bool open_segment_locked();
  void seal_locked();
  uint64_t rescan_locked();  // recomputes the sealed segments' bytes from the directory
  bool make_room_locked(uint64_t needed);
  void set_error_locked(const std::string& message);
  void flusher();

  Config config_;
  DeadLetterQueueMetrics* metrics_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  int fd_ = -1;
  uint64_t segment_number_ = 0;   // of the open segment (or the last one used)
  uint64_t segment_bytes_ = 0;    // in the open segment
  uint64_t sealed_bytes_ = 0;     // in sealed segments (as last scanned/updated)
  int64_t last_write_ms_ = 0;
  std::string buffer_;
  bool closing_ = false;
  std::thread flusher_thread_;
};

// The sealed segments of a DLQ directory, sorted by number.
struct DeadLetterSegment {
  uint64_t number = 0;
  std::string path;
  uint64_t size = 0;
};
std::vector<DeadLetterSegment> list_dead_letter_segments(const std::string& directory);

// The DLQ of a pipeline, as the pipeline holds it: the writer plus the routing of filter failures
// (sluice extensions `dead_letter_queue.failure_tags` and `dead_letter_queue.conditional_errors`).
struct DeadLetterRouting {
  DeadLetterWriter* writer = nullptr;
  std::vector<std::string> failure_tags;
  bool conditional_errors = false;
  std::string pipeline_id;
  bool active() const { return writer && (!failure_tags.empty() || conditional_errors); }
  // The tag that sends this event to the DLQ, or "" when none does.
  std::string_view failure_of(const Event& event) const;
};

// Builds the pipeline's DLQ writer from its settings (nullptr when disabled). Throws
// config::ConfigError on bad settings or a directory that cannot be created.
std::unique_ptr<DeadLetterWriter> make_dead_letter_writer(const DeadLetterQueueSettings& settings,
                                                          const std::string& pipeline_id,
                                                          const std::string& path_data,
                                                          DeadLetterQueueMetrics* metrics);

}  // namespace sluice
