// The file output: events encoded with the codec (json_lines by default) and appended to the
// file named by `path` (a sprintf template). Durability contract: an event is acknowledged
// only once its bytes are in the kernel (kill -9 then loses nothing acked), and a batch's bytes
// for one file go out in one write, whole lines only.
//
// Encoding happens outside the lock, in a per-call encoder taken from a small pool (codec
// clone + reused buffers); only the write(2) calls and the open-file table are serialized.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "config/parser.h"
#include "core/sprintf.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema file_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Output;
  schema.name = "file";
  schema.doc =
      "Writes events to files, one per line in JSON by default. The path may use %{field} and %{+date} "
      "references; a rendered path that leaves the static part of the path goes to `filename_failure`. "
      "Each batch reaches the kernel before its events are acknowledged.";
  auto option = [](const char* name, OptionType type, std::optional<config::ConfigValue> default_value,
                   const char* doc) {
    OptionSpec spec;
    spec.name = name;
    spec.type = type;
    spec.default_value = std::move(default_value);
    spec.doc = doc;
    return spec;
  };
  OptionSpec path = option("path", OptionType::String, std::nullopt,
                           "The file to write; may use %{field} and %{+YYYY-MM-dd} (the first directory must be static).");
  path.required = true;
  OptionSpec write_behavior = option("write_behavior", OptionType::String, cv_string("append"),
                                     "append: add to the file; overwrite: the file holds only the latest event.");
  write_behavior.allowed = {"append", "overwrite"};
  schema.options = {
      path,
      option("codec", OptionType::Codec, cv_string("json_lines"), "The codec that encodes events for the file."),
      option("gzip", OptionType::Boolean, cv_bool(false),
             "Compresses the output: each batch is appended as one complete gzip member."),
      option("flush_interval", OptionType::Number, cv_number(2),
             "0 writes every batch as it comes. Otherwise batches are gathered into fewer, larger writes, "
             "for at most about a second (never past the moment the pipeline's queue runs dry); "
             "their events are acknowledged once written."),
      option("filename_failure", OptionType::String, cv_string("_filepath_failures"),
             "File (in the static part of the path) for events whose rendered path is invalid."),
      option("create_if_deleted", OptionType::Boolean, cv_bool(true),
             "Recreates a file deleted while open; when false, such events go to `filename_failure`."),
      option("dir_mode", OptionType::Number, cv_number(-1),
             "Mode of created directories, e.g. 0750 (octal); -1 uses the OS default (umask)."),
      option("file_mode", OptionType::Number, cv_number(-1),
             "Mode of created files, e.g. 0640 (octal); -1 uses the OS default (umask)."),
      write_behavior,
      option("stale_cleanup_interval", OptionType::Number, cv_number(10),
             "Seconds after which files that received nothing are closed."),
  };
  return schema;
}

// Ruby's File.expand_path: relative to the current directory, `~` expanded, `.`/`..`/`//` removed.
std::string expand_path(std::string_view path) {
  std::string absolute;
  if (path == "~" || path.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    absolute = home ? home : "";
    absolute.append(path.substr(1));
  } else if (!path.starts_with("/")) {
    std::error_code error;
    absolute = std::filesystem::current_path(error).string();
    absolute.push_back('/');
    absolute.append(path);
  } else {
    absolute.assign(path);
  }
  std::vector<std::string_view> parts;
  std::string_view rest = absolute;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (std::string_view part : parts) {
    out.push_back('/');
    out.append(part);
  }
  return out.empty() ? "/" : out;
}

// Logstash's FIELD_REF test: /%\{[^}]+\}/.
bool has_field_reference(std::string_view text) {
  for (size_t at = text.find("%{"); at != std::string_view::npos; at = text.find("%{", at + 1)) {
    size_t close = text.find('}', at + 2);
    if (close != std::string_view::npos && close > at + 2) return true;
  }
  return false;
}

// A mode option: a number written with a leading 0 (0640) is octal, as users mean it.
int parse_mode(const Options& options, const std::string& name) {
  const config::ConfigValue* value = options.raw(name);
  if (!value) return -1;
  std::string_view text = value->text;
  if (text.size() > 1 && text[0] == '0' && text.find_first_not_of("01234567") == std::string_view::npos) {
    return int(std::strtol(std::string(text).c_str(), nullptr, 8));
  }
  double number = value->kind == config::ConfigValue::Kind::Number || text.empty()
                      ? value->number
                      : std::strtod(std::string(text).c_str(), nullptr);
  if (number < 0) return -1;
  return int(number);
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
      if (n == 0) errno = EIO;
      return false;
    }
  }
  return true;
}

class FileOutput : public Output {
 public:
  FileOutput(const Options& options, PluginContext& context)
      : prototype_(context.make_codec(options.get_codec())),
        metrics_(context.metrics),
        stopping_(context.pipeline_stopping),
        log_(logging::get("output.file")),
        gzip_(options.get_bool("gzip")),
        create_if_deleted_(options.get_bool("create_if_deleted")),
        overwrite_(options.get_string("write_behavior") == "overwrite"),
        dir_mode_(parse_mode(options, "dir_mode")),
        file_mode_(parse_mode(options, "file_mode")),
        stale_cleanup_interval_(std::chrono::milliseconds(int64_t(options.get_number("stale_cleanup_interval") * 1000))),
        coalesce_bytes_(options.get_number("flush_interval") > 0 ? kCoalesceBytes : 0) {
    std::string path = expand_path(options.get_string("path"));
    dynamic_ = has_field_reference(path);
    if (dynamic_) {
      // The static leading directories are the root no rendered path may leave.
      std::string_view rest = path;
      bool first_part = true;
      while (!rest.empty()) {
        size_t slash = rest.find('/');
        std::string_view part = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
        if (part.empty()) continue;
        if (has_field_reference(part)) {
          if (first_part)
            throw config::ConfigError(options.position("path"),
                                      "file output: the starting part of the path should not be dynamic: " + path);
          break;
        }
        first_part = false;
        file_root_.push_back('/');
        file_root_.append(part);
      }
      template_ = Template(path);
    } else {
      static_path_ = path;
      file_root_ = std::filesystem::path(path).parent_path().string();
    }
    if (file_root_.empty()) file_root_ = "/";
    failure_path_ = file_root_ + (file_root_.ends_with('/') ? "" : "/") + options.get_string("filename_failure");
    root_prefix_ = file_root_.ends_with('/') ? file_root_ : file_root_ + "/";
    last_cleanup_ = std::chrono::steady_clock::now();
  }

  ~FileOutput() override {
    close();
    // Events that could not be written must never be acknowledged, not even at shutdown:
    // their holds go to a process-wide list that is never destroyed (no exit-time release),
    // so the source redelivers them after a restart.
    if (held_acks_.empty()) return;
    static std::mutex graveyard_mutex;
    static auto* graveyard = new std::vector<AckHold>();
    std::lock_guard<std::mutex> lock(graveyard_mutex);
    for (AckHold& hold : held_acks_) graveyard->push_back(std::move(hold));
  }

  bool thread_safe() const override { return true; }
  bool needs_whole_batches() const override { return false; }

  void write(std::span<Event* const> events) override {
    std::unique_ptr<Encoder> encoder = acquire_encoder();
    encoder->used = 0;
    for (Event* event : events) {
      if (event->cancelled()) continue;
      Group& group = group_for(*encoder, *event);
      size_t start = group.bytes.size();
      encoder->codec->encode(*event, group.bytes);
      group.last_chunk = start;
      group.events.push_back(event);
    }
    for (size_t i = 0; i < encoder->used; ++i) {
      Group& group = encoder->groups[i];
      if (overwrite_ && group.last_chunk > 0) group.bytes.erase(0, group.last_chunk);  // only the latest event
      if (gzip_) encoder->compress(group.bytes);
    }
    // stat(2) each path before taking the lock: a worker preempted inside a system call while
    // holding io_mutex_ would stall the others for a whole time slice.
    for (size_t i = 0; i < encoder->used; ++i) {
      Group& group = encoder->groups[i];
      if (!group.bytes.empty() && !overwrite_) group.seen = look_at(group.path);
    }
    {
      std::lock_guard<std::mutex> lock(io_mutex_);
      close_stale_files_locked();
      for (size_t i = 0; i < encoder->used; ++i) {
        Group& group = encoder->groups[i];
        if (group.bytes.empty()) continue;
        std::shared_ptr<Descriptor> descriptor = overwrite_ ? nullptr : append_target_locked(group);
        if (descriptor) encoder->appends.emplace_back(&group, std::move(descriptor));
        else write_group_locked(group);  // truncate-and-write, or the retrying path
      }
    }
    if (!encoder->appends.empty()) append_all(*encoder);
    encoder->appends.clear();
    release_encoder(std::move(encoder));
  }

  void flush() override {
    append_parked_now();
    std::lock_guard<std::mutex> lock(io_mutex_);
    close_stale_files_locked();
  }

  void caught_up() override { append_parked_now(); }

  void close() override {
    {
      std::lock_guard<std::mutex> appending(append_mutex_);
      append_parked_locked();
    }
    std::lock_guard<std::mutex> lock(io_mutex_);
    files_.clear();
  }

 private:
  // What stat(2) said about a path.
  struct PathState {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
  };

  static PathState look_at(const std::string& path) {
    struct stat info;
    if (::stat(path.c_str(), &info) != 0) return {};
    return {true, info.st_dev, info.st_ino};
  }

  // The bytes of one batch bound for one path.
  struct Group {
    std::string path;
    PathState seen;  // the path's state just before this batch took io_mutex_
    std::string bytes;
    size_t last_chunk = 0;  // where the latest event's bytes start (write_behavior overwrite)
    std::vector<Event*> events;
  };

  // A descriptor shared by the map of open files and the writers using it: rotation, stale
  // cleanup and close() drop the map's reference, and the file is closed once no write holds it.
  struct Descriptor {
    int fd;
    explicit Descriptor(int opened) : fd(opened) {}
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    ~Descriptor() { ::close(fd); }
  };

  struct Encoder {
    std::thread::id owner;
    std::vector<std::pair<Group*, std::shared_ptr<Descriptor>>> appends;  // this batch's, outside the lock
    std::unique_ptr<Codec> codec;
    std::vector<Group> groups;  // [0, used) are live for the current batch; the rest keep storage
    size_t used = 0;
    std::string rendered;
    std::string compressed;
    z_stream zlib{};
    bool zlib_ready = false;

    ~Encoder() {
      if (zlib_ready) deflateEnd(&zlib);
    }

    // Replaces `bytes` by one complete gzip member holding them (readable by any gunzip,
    // even if the process dies right after: no pending trailer).
    void compress(std::string& bytes) {
      if (!zlib_ready) {
        if (deflateInit2(&zlib, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
          throw std::runtime_error("zlib: deflateInit2 failed");
        zlib_ready = true;
      } else {
        deflateReset(&zlib);
      }
      compressed.resize(deflateBound(&zlib, uLong(bytes.size())) + 64);
      zlib.next_in = reinterpret_cast<Bytef*>(bytes.data());
      zlib.avail_in = uInt(bytes.size());
      zlib.next_out = reinterpret_cast<Bytef*>(compressed.data());
      zlib.avail_out = uInt(compressed.size());
      int rc = deflate(&zlib, Z_FINISH);
      if (rc != Z_STREAM_END) throw std::runtime_error("zlib: deflate did not finish");
      compressed.resize(compressed.size() - zlib.avail_out);
      bytes.swap(compressed);
    }
  };

  struct OpenFile {
    std::shared_ptr<Descriptor> descriptor;
    dev_t device = 0;
    ino_t inode = 0;
    bool active = true;  // written since the last stale-file cleanup
  };

  // Each worker thread gets back the encoder it used last: its buffers stay in that core's
  // caches (handing a batch-sized buffer to another core costs more than encoding into it).
  // One encoder per thread that writes, so the pool stays as small as the worker count.
  std::unique_ptr<Encoder> acquire_encoder() {
    const std::thread::id me = std::this_thread::get_id();
    {
      std::lock_guard<std::mutex> lock(pool_mutex_);
      for (size_t i = 0; i < pool_.size(); ++i) {
        if (pool_[i]->owner != me) continue;
        std::unique_ptr<Encoder> encoder = std::move(pool_[i]);
        pool_[i] = std::move(pool_.back());
        pool_.pop_back();
        return encoder;
      }
    }
    auto encoder = std::make_unique<Encoder>();
    encoder->codec = prototype_->clone();
    encoder->owner = me;
    return encoder;
  }

  void release_encoder(std::unique_ptr<Encoder> encoder) {
    for (size_t i = 0; i < encoder->used; ++i) {
      Group& group = encoder->groups[i];
      group.bytes.clear();
      group.events.clear();
      // A batch of unusual size should not pin its memory.
      if (group.bytes.capacity() > (16u << 20)) std::string().swap(group.bytes);
    }
    // Dynamic paths may see many distinct files: keep a bounded number of spare groups.
    if (encoder->groups.size() > 64) encoder->groups.resize(64);
    encoder->used = 0;
    std::lock_guard<std::mutex> lock(pool_mutex_);
    pool_.push_back(std::move(encoder));
  }

  Group& group_for(Encoder& encoder, const Event& event) {
    if (!dynamic_) {
      if (encoder.used > 0) return encoder.groups[0];  // the one path of the batch
      return group_named(encoder, static_path_);
    }
    std::string& rendered = encoder.rendered;
    rendered.clear();
    template_.render(event, rendered);
    // `..` (or a value with `/`) may lead elsewhere: normalize, then require the static root.
    if (rendered.find("/.") != std::string::npos || rendered.find("//") != std::string::npos ||
        rendered.ends_with('/') || !rendered.starts_with('/')) {
      rendered = expand_path(rendered);
    }
    if (!rendered.starts_with(root_prefix_)) {
      warn_outside_root(rendered);
      return group_named(encoder, failure_path_);
    }
    return group_named(encoder, rendered);
  }

  Group& group_named(Encoder& encoder, const std::string& path) {
    // Consecutive events usually share a path: look at the most recent group first.
    for (size_t i = encoder.used; i-- > 0;) {
      if (encoder.groups[i].path == path) return encoder.groups[i];
    }
    if (encoder.used == encoder.groups.size()) encoder.groups.emplace_back();
    Group& group = encoder.groups[encoder.used++];
    group.path.assign(path);
    group.bytes.clear();
    group.events.clear();
    group.last_chunk = 0;
    return group;
  }

  void warn_outside_root(const std::string& path) {
    if (warned_outside_root_.exchange(true, std::memory_order_relaxed)) return;
    log_->warn("File: the event tried to write outside the files root ({}), writing the event to the failure "
               "file {} (path: {})",
               file_root_, failure_path_, path);
  }

  // Where `group` is appended this time (the path, or the failure path when the file was deleted
  // and create_if_deleted is off); nullptr when it cannot be opened (write_group_locked retries).
  std::shared_ptr<Descriptor> append_target_locked(Group& group) {
    std::string error;
    const std::string& path = target_path(group.path, group.seen.exists);
    OpenFile* file = open_locked(path, error, &path == &group.path ? &group.seen : nullptr);
    if (!file) return nullptr;
    file->active = true;
    return file->descriptor;
  }

  const std::string& target_path(const std::string& path, bool path_exists) const {
    if (!create_if_deleted_ && path != failure_path_ && !path_exists) return failure_path_;
    return path;
  }

  // ---- appending ----
  // The appends run outside io_mutex_, so encoding never waits for another worker's write():
  // the file is O_APPEND, which puts each write whole at the end of the file (a write cut short
  // by a full disk is the exception, as for any appender).
  //
  // A batch's bytes are parked, with holds on its events' acks, and one worker at a time
  // (append_mutex_) appends what is parked, in order, with one writev(2) per file, then releases
  // the holds. Parked bytes are appended once kCoalesceBytes wait, when the queue runs dry
  // (caught_up), at the periodic flush and at close. Fewer, larger writes cost the kernel less:
  // 631 MB in 78 KB writes took 0.15 s of system time here, in writevs of 4 such buffers 0.11 s.
  // And two workers appending to one file would spin in the kernel on its lock (~4% of the CPU
  // of a 2-worker run): a worker that finds another appending leaves its bytes to it.

  struct Parked {
    std::string path;  // the group's path (a failed append is retried as write_group_locked does)
    std::shared_ptr<Descriptor> descriptor;
    std::string bytes;
    std::vector<std::pair<AckToken*, int>> holds;  // one entry per run of events sharing a token
    size_t events = 0;
  };
  static constexpr size_t kMaxParked = 16;               // beyond this a worker appends first
  // Larger writes cost the kernel less per byte, but the buffers must stay in the core's L2
  // (512 KiB here): 1M apache lines took 1.67 CPU-s with 256 KiB, 2.00 with 512 KiB (1.84 with none).
  static constexpr size_t kCoalesceBytes = size_t(256) << 10;

  void append_all(Encoder& encoder) {
    while (!park(encoder)) {
      std::lock_guard<std::mutex> appending(append_mutex_);  // too much parked: append it first
      append_parked_locked();
    }
    append_parked_if_due();
  }

  // Moves the batch's appends to parked_; false (nothing moved) when too many are parked already.
  bool park(Encoder& encoder) {
    std::lock_guard<std::mutex> lock(park_mutex_);
    if (!parked_.empty() && parked_.size() + encoder.appends.size() > kMaxParked) return false;
    size_t bytes = 0;
    for (auto& [group, descriptor] : encoder.appends) {
      Parked parked;
      if (!spare_parked_.empty()) {
        parked = std::move(spare_parked_.back());
        spare_parked_.pop_back();
      }
      parked.path.assign(group->path);
      parked.descriptor = std::move(descriptor);
      parked.bytes.swap(group->bytes);  // the group keeps the spare's (empty) buffer
      for (Event* event : group->events) {
        AckToken* token = event->ack_token();
        if (!token) continue;
        if (!parked.holds.empty() && parked.holds.back().first == token) ++parked.holds.back().second;
        else parked.holds.emplace_back(token, 1);
      }
      for (auto& [token, count] : parked.holds) token->retain(count);
      parked.events = group->events.size();
      bytes += parked.bytes.size();
      parked_.push_back(std::move(parked));
    }
    parked_count_.store(parked_.size());
    parked_bytes_.store(parked_bytes_.load() + bytes);
    return true;
  }

  bool append_due() const {
    return parked_count_.load() > 0 && (append_wanted_.load() || parked_bytes_.load() >= coalesce_bytes_);
  }

  // Appends what is parked, when due, unless another worker is appending: that one looks again
  // once done. The fences pair a park (count, then try_lock) with an appender's exit (unlock,
  // then count): one of the two sees the other, so nothing due is left behind.
  void append_parked_if_due() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    while (append_due()) {
      std::unique_lock<std::mutex> appending(append_mutex_, std::try_to_lock);
      if (!appending.owns_lock()) return;
      append_parked_locked();
      appending.unlock();
      std::atomic_thread_fence(std::memory_order_seq_cst);
    }
  }

  // Makes everything parked so far due.
  void append_parked_now() {
    if (parked_count_.load() == 0) return;
    append_wanted_.store(true);
    append_parked_if_due();
  }

  // With append_mutex_ held.
  void append_parked_locked() {
    {
      std::lock_guard<std::mutex> lock(park_mutex_);
      if (parked_.empty()) return;
      append_wanted_.store(false);
      taken_.swap(parked_);
      parked_count_.store(0);
      parked_bytes_.store(0);
    }
    for (size_t first = 0; first < taken_.size();) {
      // A run of parked batches for one open file goes out in one writev(2) where it can.
      size_t end = first + 1;
      while (end < taken_.size() && end - first < kMaxParked && taken_[end].descriptor == taken_[first].descriptor)
        ++end;
      size_t written = write_buffers(taken_[first].descriptor->fd, first, end);
      for (size_t i = first; i < end; ++i) {
        Parked& parked = taken_[i];
        bool appended = written >= parked.bytes.size();
        written = appended ? written - parked.bytes.size() : 0;
        if (!appended) {
          // Reopen and retry (a partial write is written again whole, as for a single write).
          std::lock_guard<std::mutex> lock(io_mutex_);
          const std::string* path = nullptr;
          std::string error;
          appended = write_bytes_locked(parked.path, parked.bytes, path, error);
          if (!appended) {
            // Never acknowledged: the holds taken when parking are kept for good.
            for (auto& [token, count] : parked.holds)
              for (int n = 0; n < count; ++n) held_acks_.emplace_back(token);
            report_unwritten_locked(parked.events, *path, error);
          }
        }
        if (appended)
          for (auto& [token, count] : parked.holds) token->release(count);
        parked.holds.clear();
        parked.bytes.clear();
        parked.descriptor.reset();
      }
      first = end;
    }
    std::lock_guard<std::mutex> lock(park_mutex_);
    for (Parked& parked : taken_) spare_parked_.push_back(std::move(parked));
    taken_.clear();
  }

  // Writes the bytes of taken_[first, end) to `fd` in order; returns how many bytes were written
  // (fewer than all only on an error).
  size_t write_buffers(int fd, size_t first, size_t end) {
    iovec vectors[kMaxParked];
    size_t count = 0, total = 0, written = 0;
    for (size_t i = first; i < end; ++i) {
      if (taken_[i].bytes.empty()) continue;
      vectors[count++] = {taken_[i].bytes.data(), taken_[i].bytes.size()};
      total += taken_[i].bytes.size();
    }
    iovec* next = vectors;
    while (written < total) {
      ssize_t n = ::writev(fd, next, int(count - size_t(next - vectors)));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      written += size_t(n);
      for (size_t left = size_t(n); left > 0;) {  // step over what went out
        size_t step = std::min(left, next->iov_len);
        next->iov_base = static_cast<char*>(next->iov_base) + step;
        next->iov_len -= step;
        left -= step;
        if (next->iov_len == 0) ++next;
      }
    }
    return written;
  }

  void write_group_locked(Group& group) {
    if (group.bytes.empty()) return;
    const std::string* path = nullptr;
    std::string error;
    if (write_bytes_locked(group.path, group.bytes, path, error)) return;
    // Not written: keep these events unacknowledged, so their source delivers them again
    // after a restart instead of checkpointing past data that never reached the file.
    for (Event* event : group.events) {
      if (event->ack_token()) held_acks_.push_back(AckHold::retain(event->ack_token()));
    }
    report_unwritten_locked(group.events.size(), *path, error);
  }

  void report_unwritten_locked(size_t events, const std::string& path, const std::string& error) {
    if (metrics_) metrics_->failures.fetch_add(events, std::memory_order_relaxed);
    log_->error("File: cannot write {} event(s) to {}: {}; they stay unacknowledged", events, path, error);
  }

  // Writes `bytes` bound for `group_path` (to the failure path if it was deleted and
  // create_if_deleted is off), reopening and retrying; false, with `path` the one tried and
  // `error`, when they could not be written.
  bool write_bytes_locked(const std::string& group_path, const std::string& bytes, const std::string*& path,
                          std::string& error) {
    path = &target_path(group_path, look_at(group_path).exists);
    // A few quick retries absorb transient trouble (a directory rotated away, EINTR storms).
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (attempt > 0 && stopping_ && stopping_->load(std::memory_order_relaxed)) break;
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50 << (2 * attempt)));
      OpenFile* file = open_locked(*path, error);
      if (!file) continue;
      if (overwrite_ && ::ftruncate(file->descriptor->fd, 0) != 0) {
        error = std::string("truncate failed: ") + std::strerror(errno);
        forget_locked(*path);
        continue;
      }
      if (write_fully(file->descriptor->fd, bytes.data(), bytes.size())) {
        file->active = true;
        return true;
      }
      error = std::string("write failed: ") + std::strerror(errno);
      forget_locked(*path);
    }
    return false;
  }

  // The open file for `path`, reopened when the file was deleted or replaced (rotation).
  // `seen`: the path's state if the caller just looked (else it is looked at here).
  OpenFile* open_locked(const std::string& path, std::string& error, const PathState* seen = nullptr) {
    const PathState state = seen ? *seen : look_at(path);
    auto found = files_.find(path);
    if (found != files_.end()) {
      if (state.exists && state.device == found->second.device && state.inode == found->second.inode)
        return &found->second;
      if (!state.exists && !create_if_deleted_ && path == failure_path_) return &found->second;
      files_.erase(found);
    }
    std::string directory = std::filesystem::path(path).parent_path().string();
    if (!make_directories(directory, error)) return nullptr;
    int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC;
    int fd = -1;
    bool created = false;
    if (file_mode_ != -1) {
      fd = ::open(path.c_str(), flags | O_EXCL, mode_t(file_mode_));
      created = fd >= 0;
      if (fd < 0 && errno == EEXIST) fd = ::open(path.c_str(), flags, 0666);
    } else {
      fd = ::open(path.c_str(), flags, 0666);
    }
    if (fd < 0) {
      error = std::string("open failed: ") + std::strerror(errno);
      return nullptr;
    }
    // The mode is applied exactly (Logstash's JRuby ignores the umask for it too).
    if (created) ::fchmod(fd, mode_t(file_mode_));
    struct stat opened;
    ::fstat(fd, &opened);
    log_->info("Opening file {}", path);
    OpenFile& file = files_[path];
    file = OpenFile{std::make_shared<Descriptor>(fd), opened.st_dev, opened.st_ino, true};
    return &file;
  }

  bool make_directories(const std::string& directory, std::string& error) {
    struct stat info;
    if (directory.empty() || ::stat(directory.c_str(), &info) == 0) return true;
    std::string partial;
    std::string_view rest = directory;
    while (!rest.empty()) {
      size_t slash = rest.find('/', 1);
      partial.append(rest.substr(0, slash));
      rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
      if (::mkdir(partial.c_str(), dir_mode_ == -1 ? 0777 : mode_t(dir_mode_)) == 0) {
        if (dir_mode_ != -1) ::chmod(partial.c_str(), mode_t(dir_mode_));
      } else if (errno != EEXIST) {
        error = "cannot create directory " + partial + ": " + std::strerror(errno);
        return false;
      }
    }
    return true;
  }

  void forget_locked(const std::string& path) {
    auto found = files_.find(path);
    if (found == files_.end()) return;
    files_.erase(found);
  }

  // Logstash's stale cleanup: every interval, close the files nothing was written to since
  // the previous cleanup.
  void close_stale_files_locked() {
    auto now = std::chrono::steady_clock::now();
    if (now - last_cleanup_ < stale_cleanup_interval_) return;
    last_cleanup_ = now;
    for (auto it = files_.begin(); it != files_.end();) {
      if (!it->second.active) {
        log_->info("Closing file {}", it->first);
        it = files_.erase(it);
      } else {
        it->second.active = false;
        ++it;
      }
    }
  }

  std::unique_ptr<Codec> prototype_;
  PluginMetrics* metrics_;
  const std::atomic<bool>* stopping_;
  std::shared_ptr<spdlog::logger> log_;
  bool gzip_, create_if_deleted_, overwrite_;
  int dir_mode_, file_mode_;
  std::chrono::steady_clock::duration stale_cleanup_interval_;

  bool dynamic_ = false;
  Template template_;
  std::string static_path_;
  std::string file_root_, root_prefix_, failure_path_;

  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<Encoder>> pool_;

  size_t coalesce_bytes_;     // kCoalesceBytes, or 0 (flush_interval => 0: append every batch)
  std::mutex append_mutex_;  // held by the one worker appending
  std::mutex park_mutex_;
  std::vector<Parked> parked_;        // waiting to be appended
  std::vector<Parked> taken_;         // being appended (under append_mutex_)
  std::vector<Parked> spare_parked_;  // their storage, reused
  std::atomic<size_t> parked_count_{0}, parked_bytes_{0};  // parked_'s, read without the lock
  std::atomic<bool> append_wanted_{false};                 // everything parked is due

  std::mutex io_mutex_;
  std::unordered_map<std::string, OpenFile> files_;
  std::chrono::steady_clock::time_point last_cleanup_;
  std::vector<AckHold> held_acks_;
  std::atomic<bool> warned_outside_root_{false};
};

const RegisterOutput registration{file_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<FileOutput>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
