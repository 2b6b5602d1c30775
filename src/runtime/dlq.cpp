// The file-directory dead letter queue (see dlq.h).
#include "runtime/dlq.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "config/parser.h"
#include "core/json.h"
#include "core/time_format.h"
#include "plugins/common/s3/s3_dead_letter_writer.h"
#include "runtime/logging.h"
#include "runtime/plugin.h"

namespace sluice {

namespace fs = std::filesystem;

namespace {

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<spdlog::logger> dlq_log() { return logging::get("sluice.dlq"); }

// "12.log" -> 12; "12.log.tmp" with `tmp` -> 12; anything else -> 0.
uint64_t segment_number_of(const std::string& name, bool tmp) {
  std::string_view suffix = tmp ? ".log.tmp" : ".log";
  if (name.size() <= suffix.size() || !std::string_view(name).ends_with(suffix)) return 0;
  std::string_view digits(name.data(), name.size() - suffix.size());
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (ec != std::errc() || end != digits.data() + digits.size()) return 0;
  return number;
}

bool write_fully(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n > 0) {
      data += n;
      size -= size_t(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

uint64_t count_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint64_t lines = 0;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    lines += uint64_t(std::count(buffer, buffer + in.gcount(), '\n'));
    if (!in) break;
  }
  return lines;
}

void append_object(std::string& out, const Object& object) {
  out.push_back('{');
  bool first = true;
  for (const Object::Entry& entry : object) {
    if (!first) out.push_back(',');
    first = false;
    json_append_string(out, entry.key);
    out.push_back(':');
    json_append_value(out, entry.value);
  }
  out.push_back('}');
}

constexpr const char* kLastSegmentFile = "last_segment";

}  // namespace

void DeadLetterQueueMetrics::set_last_error(std::string message) {
  std::lock_guard lock(mutex_);
  last_error_ = std::move(message);
}

std::string DeadLetterQueueMetrics::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

// ---- entries --------------------------------------------------------------------------------

void format_dead_letter_entry(std::string& out, const Event& event, std::string_view plugin_type,
                              std::string_view plugin_id, std::string_view reason, Timestamp entry_time) {
  out += "{\"entry_time\":\"";
  format_iso8601(entry_time, out);
  out += "\",\"plugin_type\":";
  json_append_string(out, plugin_type);
  out += ",\"plugin_id\":";
  json_append_string(out, plugin_id);
  out += ",\"reason\":";
  json_append_string(out, reason);
  out += ",\"event\":";
  json_append_event(out, event);
  out += ",\"metadata\":";
  append_object(out, event.metadata());
  out += "}\n";
}

bool parse_dead_letter_entry(std::string_view line, DeadLetterEntry& out) {
  Value root;
  if (!json_parse(line, root) || !root.is_object()) return false;
  Object& object = root.as_object();
  const Value* time = object.find("entry_time");
  Value* event = object.find("event");
  if (!time || !time->is_string() || !event || !event->is_object()) return false;
  if (!parse_iso8601(time->as_string(), out.entry_time)) return false;
  auto text = [&](const char* key) {
    const Value* v = object.find(key);
    return v && v->is_string() ? v->as_string() : std::string();
  };
  out.plugin_type = text("plugin_type");
  out.plugin_id = text("plugin_id");
  out.reason = text("reason");
  out.fields = std::move(event->as_object());
  out.metadata.clear();
  if (Value* metadata = object.find("metadata"); metadata && metadata->is_object())
    out.metadata = std::move(metadata->as_object());
  return true;
}

std::vector<DeadLetterSegment> list_dead_letter_segments(const std::string& directory) {
  std::vector<DeadLetterSegment> segments;
  std::error_code error;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    std::string name = it->path().filename().string();
    uint64_t number = segment_number_of(name, false);
    if (number == 0) continue;
    std::error_code size_error;
    uint64_t size = it->file_size(size_error);
    if (size_error) continue;  // removed meanwhile
    segments.push_back({number, it->path().string(), size});
  }
  std::sort(segments.begin(), segments.end(), [](const auto& a, const auto& b) { return a.number < b.number; });
  return segments;
}

// ---- writer ---------------------------------------------------------------------------------

FileDeadLetterWriter::FileDeadLetterWriter(Config config, DeadLetterQueueMetrics* metrics)
    : config_(std::move(config)), metrics_(metrics) {
  std::error_code error;
  fs::create_directories(config_.directory, error);
  if (error) throw std::runtime_error(fmt::format("cannot create the dead letter queue directory {}: {}", config_.directory, error.message()));
  if (config_.segment_max_bytes == 0) config_.segment_max_bytes = 10ull << 20;
  // A segment is at most a quarter of the queue, so drop_older always has something to remove.
  config_.segment_max_bytes = std::max<uint64_t>(1, std::min(config_.segment_max_bytes, config_.max_bytes / 4));

  // Segments a crash left open are sealed (empty ones removed): their entries were acknowledged.
  uint64_t highest = 0;
  for (fs::directory_iterator it(config_.directory, error), end; !error && it != end; it.increment(error)) {
    std::string name = it->path().filename().string();
    if (uint64_t tmp = segment_number_of(name, true)) {
      std::error_code e;
      if (fs::file_size(it->path(), e) == 0 || e) {
        fs::remove(it->path(), e);
      } else {
        fs::rename(it->path(), fs::path(config_.directory) / fmt::format("{}.log", tmp), e);
      }
      highest = std::max(highest, tmp);
    } else if (uint64_t n = segment_number_of(name, false)) {
      highest = std::max(highest, n);
    }
  }
  // Numbers are never reused, even after a reader removed every consumed segment (readers keep
  // their position as a segment number).
  {
    std::ifstream in(fs::path(config_.directory) / kLastSegmentFile);
    uint64_t recorded = 0;
    if (in >> recorded) highest = std::max(highest, recorded);
  }
  segment_number_ = highest;
  std::lock_guard lock(mutex_);
  rescan_locked();
  flusher_thread_ = std::thread([this] { flusher(); });
}

FileDeadLetterWriter::~FileDeadLetterWriter() { close(); }

uint64_t FileDeadLetterWriter::rescan_locked() {
  uint64_t total = 0;
  for (const auto& segment : list_dead_letter_segments(config_.directory)) total += segment.size;
  sealed_bytes_ = total;
  if (metrics_) metrics_->queue_size_bytes.store(sealed_bytes_ + segment_bytes_, std::memory_order_relaxed);
  return total;
}

uint64_t FileDeadLetterWriter::size_bytes() const {
  std::lock_guard lock(mutex_);
  return sealed_bytes_ + segment_bytes_;
}

void FileDeadLetterWriter::set_error_locked(const std::string& message) {
  if (metrics_) metrics_->set_last_error(message);
}

bool FileDeadLetterWriter::open_segment_locked() {
  uint64_t number = segment_number_ + 1;
  std::string path = fmt::format("{}/{}.log.tmp", config_.directory, number);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    set_error_locked(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    return false;
  }
  fd_ = fd;
  segment_number_ = number;
  segment_bytes_ = 0;
  std::string record = fmt::format("{}/{}", config_.directory, kLastSegmentFile);
  std::ofstream out(record + ".tmp", std::ios::trunc);
  out << number << "\n";
  out.close();
  std::error_code e;
  fs::rename(record + ".tmp", record, e);
  return true;
}

void FileDeadLetterWriter::seal_locked() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  std::string tmp = fmt::format("{}/{}.log.tmp", config_.directory, segment_number_);
  std::error_code e;
  if (segment_bytes_ == 0) {
    fs::remove(tmp, e);
  } else {
    fs::rename(tmp, fmt::format("{}/{}.log", config_.directory, segment_number_), e);
    if (e) set_error_locked(fmt::format("cannot seal {}: {}", tmp, e.message()));
    sealed_bytes_ += segment_bytes_;
  }
  segment_bytes_ = 0;
}

// Frees room for `needed` more bytes by removing the oldest sealed segments (drop_older).
bool FileDeadLetterWriter::make_room_locked(uint64_t needed) {
  if (segment_bytes_ + needed > config_.segment_max_bytes || fd_ < 0) seal_locked();
  for (const auto& segment : list_dead_letter_segments(config_.directory)) {
    if (rescan_locked() + segment_bytes_ + needed <= config_.max_bytes) return true;
    uint64_t entries = count_lines(segment.path);
    std::error_code e;
    fs::remove(segment.path, e);
    if (!e && metrics_) metrics_->expired_events.fetch_add(entries, std::memory_order_relaxed);
  }
  return rescan_locked() + segment_bytes_ + needed <= config_.max_bytes;
}

DeadLetterResult FileDeadLetterWriter::write(const Event& event, std::string_view plugin_type,
                                             std::string_view plugin_id, std::string_view reason,
                                             Timestamp entry_time) {
  std::lock_guard lock(mutex_);
  if (closing_) return DeadLetterResult::Failed;
  buffer_.clear();
  format_dead_letter_entry(buffer_, event, plugin_type, plugin_id, reason, entry_time);
  uint64_t needed = buffer_.size();
  // The sealed size may be stale (a reader with clean_consumed removes segments): rescan first.
  if (sealed_bytes_ + segment_bytes_ + needed > config_.max_bytes && rescan_locked() + segment_bytes_ + needed > config_.max_bytes) {
    if (!config_.drop_older || !make_room_locked(needed)) {
      if (metrics_) metrics_->dropped_events.fetch_add(1, std::memory_order_relaxed);
      set_error_locked(fmt::format("Cannot write event to DLQ(path: {}): reached maxQueueSize of {}",
                                   config_.directory, config_.max_bytes));
      dlq_log()->warn("dead letter queue {} is full ({} bytes): entry dropped", config_.directory, config_.max_bytes);
      return DeadLetterResult::Dropped;
    }
  }
  if (fd_ >= 0 && segment_bytes_ > 0 && segment_bytes_ + needed > config_.segment_max_bytes) seal_locked();
  if (fd_ < 0 && !open_segment_locked()) {
    if (metrics_) metrics_->dropped_events.fetch_add(1, std::memory_order_relaxed);
    return DeadLetterResult::Failed;
  }
  if (!write_fully(fd_, buffer_.data(), buffer_.size())) {
    set_error_locked(fmt::format("cannot write to the dead letter queue {}: {}", config_.directory, std::strerror(errno)));
    if (metrics_) metrics_->dropped_events.fetch_add(1, std::memory_order_relaxed);
    // A partial line would spoil the segment: seal what is complete and start a new one next time.
    seal_locked();
    return DeadLetterResult::Failed;
  }
  segment_bytes_ += needed;
  last_write_ms_ = steady_ms();
  if (metrics_) {
    metrics_->events_written.fetch_add(1, std::memory_order_relaxed);
    metrics_->queue_size_bytes.store(sealed_bytes_ + segment_bytes_, std::memory_order_relaxed);
  }
  if (segment_bytes_ >= config_.segment_max_bytes) seal_locked();
  return DeadLetterResult::Stored;
}

void FileDeadLetterWriter::flush() {
  std::lock_guard lock(mutex_);
  seal_locked();
}

void FileDeadLetterWriter::close() {
  {
    std::lock_guard lock(mutex_);
    if (closing_) return;
    closing_ = true;
    seal_locked();
  }
  wake_.notify_all();
  if (flusher_thread_.joinable()) flusher_thread_.join();
}

// Seals the open segment once it has been idle for flush_interval, so readers see its entries.
void FileDeadLetterWriter::flusher() {
  std::unique_lock lock(mutex_);
  int interval = std::max(1, config_.flush_interval_ms);
  while (!closing_) {
    wake_.wait_for(lock, std::chrono::milliseconds(std::min(interval, 1000)));
    if (closing_) break;
    if (fd_ >= 0 && segment_bytes_ > 0 && steady_ms() - last_write_ms_ >= interval) seal_locked();
  }
}

// ---- routing ---------------------------------------------------------------------------------

std::string_view DeadLetterRouting::failure_of(const Event& event) const {
  const Value* tags = event.fields().find("tags");
  if (!tags) return {};
  auto matches = [&](const std::string& tag) -> std::string_view {
    if (conditional_errors && tag == "_conditional_evaluation_error") return tag;
    for (const std::string& wanted : failure_tags)
      if (tag == wanted) return tag;
    return {};
  };
  if (tags->is_string()) return matches(tags->as_string());
  if (!tags->is_array()) return {};
  for (const Value& tag : tags->as_array()) {
    if (!tag.is_string()) continue;
    if (std::string_view hit = matches(tag.as_string()); !hit.empty()) return hit;
  }
  return {};
}

std::unique_ptr<DeadLetterWriter> make_dead_letter_writer(const DeadLetterQueueSettings& settings,
                                                          const std::string& pipeline_id,
                                                          const std::string& path_data,
                                                          DeadLetterQueueMetrics* metrics) {
  if (metrics) {
    metrics->enabled = settings.enabled;
    metrics->storage_policy = settings.storage_policy;
    metrics->max_bytes = settings.max_bytes;
  }
  if (!settings.enabled) return nullptr;
  if (settings.storage_policy != "drop_newer" && settings.storage_policy != "drop_older")
    throw config::ConfigError(fmt::format(
        "dead_letter_queue.storage_policy must be drop_newer or drop_older (got '{}')", settings.storage_policy));
  if (settings.flush_interval_ms < 1)
    throw config::ConfigError("dead_letter_queue.flush_interval must be at least 1 (milliseconds)");
  if (settings.max_bytes < 1024)
    throw config::ConfigError(fmt::format("dead_letter_queue.max_bytes is too small ({} bytes)", settings.max_bytes));
  if (settings.type == "s3") {
    if (settings.s3_bucket.empty())
      throw config::ConfigError("dead_letter_queue.type s3 needs dead_letter_queue.s3.bucket");
    // max_bytes and storage_policy bound local disk; an S3 prefix is bounded by bucket lifecycle rules.
    return std::make_unique<s3::S3DeadLetterWriter>(s3::dead_letter_s3_settings(settings), settings.s3_prefix,
                                                    pipeline_id, 3, metrics);
  }
  FileDeadLetterWriter::Config config;
  std::string root = settings.path.empty() ? (fs::path(path_data) / "dead_letter_queue").string() : settings.path;
  config.directory = (fs::path(root) / pipeline_id).string();
  config.max_bytes = settings.max_bytes;
  config.drop_older = settings.storage_policy == "drop_older";
  config.flush_interval_ms = settings.flush_interval_ms;
  try {
    return std::make_unique<FileDeadLetterWriter>(config, metrics);
  } catch (const std::exception& e) {
    throw config::ConfigError(e.what());
  }
}

}  // namespace sluice
