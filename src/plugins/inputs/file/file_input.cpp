// The `file` input plugin: schema, registration, and the reader (see file_input.h).
#include "plugins/inputs/file/file_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <zlib.h>

#include "config/parser.h"
#include "core/event_pool.h"
#include "core/field_ref.h"
#include "plugins/inputs/file/chunk_tracker.h"
#include "plugins/inputs/file/durations.h"
#include "plugins/inputs/file/line_splitter.h"
#include "plugins/inputs/file/path_glob.h"
#include "runtime/codec_unit_decoder.h"
#include "runtime/logging.h"
#include "runtime/registry.h"

namespace sluice::file_input {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMinReadSize = 64 * 1024;
// How long a file that was renamed away or deleted stays open at its end for late writes
// (bounded by close_older).
constexpr double kRotatedFileGraceSeconds = 5;
// A single pass over one file yields to the others (and to discovery) after this long.
constexpr auto kReadTimeSlice = std::chrono::milliseconds(500);

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

FileKey key_of(const struct stat& st) {
  return {uint64_t(st.st_ino), uint64_t(major(st.st_dev)), uint64_t(minor(st.st_dev))};
}

double mtime_seconds(const struct stat& st) { return double(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1e9; }

std::string local_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

// The acknowledgement state of one watched file. Lives as long as chunks of it are in flight.
struct Progress {
  Progress(FileKey k, uint64_t start) : key(k), tracker(start) {}
  FileKey key;
  ChunkTracker tracker;
  // A gzip file: chunk offsets count decompressed bytes, which mean nothing in the sincedb;
  // its record moves only once the whole file is acknowledged (to the compressed size).
  bool compressed = false;
};

// Receives the acks of every chunk (from worker threads) and keeps the sincedb records. It is
// reference counted: the input holds one reference and every chunk in flight another, so a
// late ack after the input is gone still lands on live memory.
class Book final : public AckListener {
 public:
  struct Record {
    uint64_t position = 0;
    double last_active = 0;
    std::string path;
    const Progress* owner = nullptr;  // the watched file whose acks move this record
  };

  void acked(uint64_t chunk_id) override {
    bool advanced = false;
    bool wake = false;
    {
      std::lock_guard lock(mutex);
      auto it = chunks.find(chunk_id);
      if (it != chunks.end()) {
        Progress& progress = *it->second.progress;
        advanced = progress.tracker.ack(it->second.sequence);
        if (advanced) commit_locked(progress);
        chunks.erase(it);
        // The window shrinks only from its oldest end: a chunk acknowledged after a later one
        // still counts until every chunk before it is done.
        for (WindowEntry& entry : window) {
          if (entry.id == chunk_id) {
            entry.acked = true;
            break;
          }
        }
        while (!window.empty() && window.front().acked) {
          in_flight_lines -= window.front().lines;
          window.pop_front();
        }
      }
      // Only wake a waiter whose condition now holds: each wake-up costs a context switch on
      // both cores, and acks come once per chunk.
      wake = (resume_below != 0 && in_flight_lines < resume_below) || (idle_waiters > 0 && chunks.empty()) ||
             (awaited != nullptr && awaited->tracker.pending() == 0);
    }
    if (wake) changed.notify_all();
    // sincedb_write_interval => 0: the acknowledging thread saves before it goes on (a save
    // under way is waited for; if it already covered this change, nothing is written twice),
    // so what the outputs confirmed is on disk before the worker takes its next batch.
    if (advanced && write_on_ack) save(false, true);
    release_ref();
  }

  // Writes the sincedb if a record changed since the last write. `blocking` false gives up
  // when another thread is writing.
  void save(bool sync, bool blocking) {
    if (!persist) return;
    std::unique_lock write_lock(write_mutex, std::defer_lock);
    if (blocking) write_lock.lock();
    else if (!write_lock.try_lock()) return;
    std::vector<SincedbEntry> entries;
    uint64_t saving;
    {
      std::lock_guard lock(mutex);
      if (version == written_version) return;
      entries = snapshot_locked(wall_seconds(), clean_after);
      saving = version;
    }
    std::string error;
    bool ok = write_sincedb_file(sincedb_path, entries, &error, sync);
    std::lock_guard lock(mutex);
    if (ok) {
      written_version = std::max(written_version, saving);
      last_write_error.clear();
    } else if (error != last_write_error) {
      if (log) log->error("{}", error);
      last_write_error = error;
    }
  }

  bool up_to_date() {
    std::lock_guard lock(mutex);
    return version == written_version;
  }

  void add_ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release_ref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  void load(const std::vector<SincedbEntry>& entries) {
    std::lock_guard lock(mutex);
    for (const SincedbEntry& e : entries) records[e.key] = Record{e.position, e.last_active, e.path, nullptr};
  }

  std::optional<Record> lookup(const FileKey& key) {
    std::lock_guard lock(mutex);
    auto it = records.find(key);
    if (it == records.end()) return std::nullopt;
    return it->second;
  }

  void watch(const FileKey& key, const Progress* owner, uint64_t position, const std::string& path, double now) {
    {
      std::lock_guard lock(mutex);
      Record& r = records[key];
      r.owner = owner;
      r.position = position;
      r.path = path;
      r.last_active = now;
      ++version;
    }
    changed.notify_all();
  }

  // Moves the record of a watched file directly (a gzip file once fully acknowledged).
  void set_position(const Progress& owner, uint64_t position) {
    {
      std::lock_guard lock(mutex);
      auto it = records.find(owner.key);
      if (it == records.end() || it->second.owner != &owner) return;
      it->second.position = position;
      it->second.last_active = wall_seconds();
      ++version;
    }
    changed.notify_all();
  }

  void set_path(const FileKey& key, const std::string& path) {
    std::lock_guard lock(mutex);
    auto it = records.find(key);
    if (it == records.end()) return;
    it->second.path = path;
    ++version;
  }

  void rebase(Progress& progress, uint64_t position) {
    {
      std::lock_guard lock(mutex);
      progress.tracker.rebase(position);
      commit_locked(progress);
    }
    changed.notify_all();
  }

  void register_chunk(uint64_t chunk_id, const std::shared_ptr<Progress>& progress, uint64_t end, size_t lines) {
    std::lock_guard lock(mutex);
    uint64_t sequence = progress->tracker.add(end);
    chunks.emplace(chunk_id, InFlight{progress, sequence, lines});
    window.push_back({chunk_id, lines, false});
    in_flight_lines += lines;
  }

  // Returns at once when fewer than `limit` lines are unacknowledged; else waits (up to `seconds`)
  // until half of that window is free, so that the reader wakes once per half window rather than
  // once per acknowledged chunk.
  bool wait_in_flight_below(size_t limit, double seconds) {
    std::unique_lock lock(mutex);
    if (in_flight_lines < limit) return true;
    if (seconds <= 0) return false;
    size_t below = std::max<size_t>(1, limit / 2);
    resume_below = below;
    bool ok = changed.wait_for(lock, std::chrono::duration<double>(seconds), [&] { return in_flight_lines < below; });
    resume_below = 0;
    return ok;
  }

  // True when every chunk of the file was acknowledged.
  bool settled(const Progress& progress) {
    std::lock_guard lock(mutex);
    return progress.tracker.pending() == 0;
  }

  // Waits (up to `seconds`) until every chunk of the file was acknowledged: a batch job then
  // finishes as soon as its last acks land, not at the next poll.
  bool wait_settled(const Progress& progress, double seconds) {
    std::unique_lock lock(mutex);
    awaited = &progress;
    bool ok = changed.wait_for(lock, std::chrono::duration<double>(seconds),
                               [&] { return progress.tracker.pending() == 0; });
    awaited = nullptr;
    return ok;
  }

  uint64_t committed(const Progress& progress) {
    std::lock_guard lock(mutex);
    return progress.tracker.committed();
  }

  // The file is no longer watched: its record stays (until sincedb_clean_after) unless `erase`.
  void unwatch(const FileKey& key, const Progress* owner, bool erase) {
    {
      std::lock_guard lock(mutex);
      auto it = records.find(key);
      if (it == records.end() || it->second.owner != owner) return;
      if (erase) records.erase(it);
      else it->second.owner = nullptr;
      ++version;
    }
    changed.notify_all();
  }

  // Waits until no chunk is in flight; false on timeout.
  bool wait_idle(double seconds) {
    std::unique_lock lock(mutex);
    ++idle_waiters;
    bool ok = changed.wait_for(lock, std::chrono::duration<double>(seconds), [&] { return chunks.empty(); });
    --idle_waiters;
    return ok;
  }

  std::vector<SincedbEntry> snapshot_locked(double now, double clean_after) const {
    std::vector<SincedbEntry> entries;
    entries.reserve(records.size());
    for (const auto& [key, r] : records) {
      // Records of files no longer watched expire, so a recycled inode is not mistaken for them.
      if (!r.owner && clean_after > 0 && r.last_active > 0 && now - r.last_active > clean_after) continue;
      entries.push_back(SincedbEntry{key, r.position, r.last_active, r.path});
    }
    std::sort(entries.begin(), entries.end(), [](const SincedbEntry& a, const SincedbEntry& b) {
      return a.path != b.path ? a.path < b.path : a.key.inode < b.key.inode;
    });
    return entries;
  }

  mutable std::mutex mutex;
  std::condition_variable changed;
  std::unordered_map<FileKey, Record, FileKeyHash> records;
  struct InFlight {
    std::shared_ptr<Progress> progress;
    uint64_t sequence;
    size_t lines;
  };
  std::unordered_map<uint64_t, InFlight> chunks;
  // The chunks registered since the oldest one not yet acknowledged, in order, and their lines:
  // what a crash now would have read again. Bounding this (not just the unacknowledged lines)
  // keeps one stalled chunk from letting the reader run arbitrarily far past the saved position.
  struct WindowEntry {
    uint64_t id;
    size_t lines;
    bool acked;
  };
  std::deque<WindowEntry> window;
  size_t in_flight_lines = 0;  // lines in `window`
  size_t resume_below = 0;     // the reader waits for in_flight_lines below this (0: not waiting)
  int idle_waiters = 0;        // threads in wait_idle()
  const Progress* awaited = nullptr;  // the file the reader waits to see settled (wait_settled)
  uint64_t version = 0;          // bumped whenever a record changes
  uint64_t written_version = 0;  // the version last saved
  std::string last_write_error;

  // Persistence, set before run() starts and constant afterwards.
  bool persist = false;
  bool write_on_ack = false;
  std::string sincedb_path;
  double clean_after = 0;
  std::shared_ptr<spdlog::logger> log;
  std::mutex write_mutex;  // one writer of the file at a time

 private:
  void commit_locked(const Progress& progress) {
    if (progress.compressed) return;
    auto it = records.find(progress.key);
    if (it == records.end() || it->second.owner != &progress) return;
    it->second.position = progress.tracker.committed();
    it->second.last_active = wall_seconds();
    ++version;
  }

  std::atomic<int> refs_{1};
};

}  // namespace

struct FileInput::Impl {
  enum class State {
    Watched,    // known, waiting to be opened
    Active,     // open, being read
    Closed,     // tail: closed by close_older, reopened when its size changes
    Ignored,    // tail: older than ignore_older at discovery; read again when it changes
    Completed,  // read mode: read to the end, waiting for its acks before file_completed_action
    Done,       // read mode: finished
    Gone,       // no longer matched: forgotten once its chunks are acknowledged
  };

  struct WatchedFile {
    FileKey key;
    std::string path;
    std::shared_ptr<Progress> progress;
    std::unique_ptr<Codec> codec;
    State state = State::Watched;
    int fd = -1;
    uint64_t read_pos = 0;  // next byte to read; `pending` holds [read_pos - pending.size(), read_pos)
    std::string pending;    // the unfinished last line
    uint64_t last_size = 0;
    double mtime = 0;
    Clock::time_point last_activity;
    bool seen = true;          // matched by the latest discovery
    bool rotated_away = false;  // its path now names another file (or nothing): read to the end, then close
    bool deleted = false;
    bool completed = false;     // read mode: finished in this process or an earlier one
    bool open_error_logged = false;
    bool compressed = false;    // read mode: a .gz/.gzip file, decompressed while read
    gzFile gz = nullptr;
    bool gz_failed = false;     // corrupt archive: no completion action, read again next time
  };

  // Hands decoded events of one chunk to the pipeline, adding the file input's fields.
  class ChunkSink final : public EventSink {
   public:
    ChunkSink(Impl* impl, WatchedFile* file) : impl_(impl), file_(file) {}
    void accept(Event* event) override { impl_->deliver(*file_, token, event); }
    AckToken* token = nullptr;

   private:
    Impl* impl_;
    WatchedFile* file_;
  };

  // Decodes a line on the worker that takes it (InputContext::push_unit) when the codec decodes
  // each line on its own: the event is then built on the core that filters and writes it.
  class LineDecoder final : public CodecUnitDecoder {
   public:
    explicit LineDecoder(const Impl& impl) : CodecUnitDecoder(*impl.codec), impl_(impl) {}

   private:
    void add_fields(Event& event, std::string_view path) const override { impl_.add_file_fields(event, path); }

    const Impl& impl_;
  };

  struct OpenChunk {
    AckToken* token = nullptr;
    uint64_t id = 0;
    size_t lines = 0;
  };

  Impl(FileInputConfig c, std::unique_ptr<Codec> codec_in)
      : cfg(std::move(c)),
        codec(std::move(codec_in)),
        book(new Book),
        splitter(cfg.delimiter),
        path_ref(FieldRef::of(cfg.ecs ? "[log][file][path]" : "path")),
        host_ref(FieldRef::of(cfg.ecs ? "[host][name]" : "host")),
        read_size(std::max(cfg.file_chunk_size, kMinReadSize)),
        persist(!cfg.sincedb_path.empty() && !is_null_sincedb_path(cfg.sincedb_path)),
        log(logging::get("sluice.inputs.file")) {
    book->sincedb_path = cfg.sincedb_path;
    book->clean_after = cfg.sincedb_clean_after;
    book->write_on_ack = cfg.sincedb_write_interval <= 0;
    book->log = log;
  }

  ~Impl() {
    stop_writer();
    if (started) book->save(true, true);  // acks that came in after run() returned
    book->release_ref();
  }

  // ---- events ----

  // Sets a field the codec did not set, in one walk (get + put would walk twice). A scalar in
  // the way (a json line with "host": "x") is left alone.
  static void set_if_absent(Event& event, const FieldRef& ref, std::string_view text) {
    const auto& path = ref.path();
    Object* object = &event.fields();
    // operator[] finds or appends in one scan; a grown size tells that the field is new.
    for (size_t i = 0; i + 1 < path.size(); ++i) {
      const size_t before = object->size();
      Value& value = (*object)[path[i]];
      if (object->size() != before) value.make_object();
      else if (!value.is_object()) return;
      object = &value.as_object();
    }
    const size_t before = object->size();
    Value& leaf = (*object)[path.back()];
    if (object->size() != before) leaf.set_string(text);
  }

  // The file input's fields: [@metadata][path]/[host] and the path and host under their ECS or
  // legacy names (unless the codec set them).
  void add_file_fields(Event& event, std::string_view path) const {
    Object& metadata = event.metadata();
    metadata["path"].set_string(path);
    metadata["host"].set_string(cfg.host);
    if (cfg.ecs) {
      // [log] and [host] are the same small trees for every line of a file: when the codec set
      // neither, the event takes shared ones (Value::share) instead of building them per line.
      Object& fields = event.fields();
      const size_t before = fields.size();
      Value& log = fields["log"];
      if (fields.size() != before) log.assign_shared(shared_log_tree(path));
      else set_if_absent(event, path_ref, path);
      const size_t with_log = fields.size();
      Value& host = fields["host"];
      if (fields.size() != with_log) host.assign_shared(*shared_host_tree);
      else set_if_absent(event, host_ref, cfg.host);
      return;
    }
    set_if_absent(event, path_ref, path);
    set_if_absent(event, host_ref, cfg.host);
  }

  // {"file": {"path": path}}, frozen; one per worker thread, rebuilt when the file changes.
  const Value& shared_log_tree(std::string_view path) const {
    struct Cached {
      const Impl* owner = nullptr;
      std::string path;
      Value tree;
    };
    thread_local Cached cached;
    if (cached.owner != this || cached.path != path) {
      cached.owner = this;
      cached.path.assign(path.data(), path.size());
      cached.tree = Value();
      cached.tree.make_object()["file"].make_object()["path"].set_string(path);
      cached.tree.share();
    }
    return cached.tree;
  }

  static std::unique_ptr<const Value> make_shared_host_tree(const std::string& host) {
    auto tree = std::make_unique<Value>();
    tree->make_object()["name"].set_string(host);
    tree->share();
    return tree;
  }

  void deliver(WatchedFile& file, AckToken* token, Event* event) {
    add_file_fields(*event, file.path);
    event->attach_ack(token);
    // false: the pipeline is stopping; the event is still processed, we just stop reading.
    if (!ctx->push(event)) push_refused = true;
  }

  void open_chunk(OpenChunk& chunk) {
    chunk.id = next_chunk_id++;
    book->add_ref();  // released by the token's ack
    chunk.token = AckToken::create(book, chunk.id);
    chunk.lines = 0;
  }

  void close_chunk(WatchedFile& file, OpenChunk& chunk, uint64_t end) {
    book->register_chunk(chunk.id, file.progress, end, chunk.lines);
    AckToken* token = chunk.token;
    chunk.token = nullptr;
    token->release();  // the input's own hold: from now on only the events keep the chunk open
  }

  void decode_line(WatchedFile& file, std::string_view line, ChunkSink& sink) {
    if (decode_on_workers) {
      if (!ctx->push_unit(*line_decoder, line, file.path, sink.token)) push_refused = true;
    } else {
      file.codec->decode_unit(line, sink);
    }
  }

  // Decodes the complete lines of `data` (which starts at file offset `base`); returns the bytes consumed.
  size_t emit_lines(WatchedFile& file, std::string_view data, uint64_t base, size_t resume, bool strip_cr = false) {
    if (decode_on_workers && !strip_cr) return emit_line_runs(file, data, base, resume);
    OpenChunk chunk;
    ChunkSink sink(this, &file);
    const LineSplitter& lines = strip_cr ? compressed_splitter : splitter;
    size_t consumed = lines.split(
        data,
        [&](std::string_view line, size_t end) {
          if (strip_cr && !line.empty() && line.back() == '\r') line.remove_suffix(1);
          if (!chunk.token) {
            if (!wait_for_window()) return false;
            open_chunk(chunk);
            sink.token = chunk.token;
          }
          decode_line(file, line, sink);
          if (++chunk.lines >= cfg.max_chunk_lines) close_chunk(file, chunk, base + end);
          return !push_refused;
        },
        resume);
    if (chunk.token) close_chunk(file, chunk, base + consumed);
    return consumed;
  }

  // emit_lines() when workers decode: the lines of one chunk go to the pipeline as runs (one
  // copy per pack of lines, not one append per line).
  size_t emit_line_runs(WatchedFile& file, std::string_view data, uint64_t base, size_t resume) {
    OpenChunk chunk;
    size_t run_begin = 0;  // where the run's first line starts in data
    run_ends.clear();
    const uint32_t gap = uint32_t(splitter.delimiter().size());
    auto push_run = [&] {
      if (run_ends.empty()) return;
      if (!ctx->push_units(*line_decoder, data.substr(run_begin), run_ends, gap, file.path, chunk.token))
        push_refused = true;
      run_ends.clear();
    };
    size_t consumed = splitter.split(
        data,
        [&](std::string_view line, size_t end) {
          if (!chunk.token) {
            if (!wait_for_window()) return false;
            open_chunk(chunk);
          }
          const size_t line_begin = size_t(line.data() - data.data());
          if (run_ends.empty()) run_begin = line_begin;
          run_ends.push_back(uint32_t(line_begin + line.size() - run_begin));
          if (++chunk.lines >= cfg.max_chunk_lines) {
            push_run();  // the units take their holds before the chunk is closed
            close_chunk(file, chunk, base + end);
          }
          return !push_refused;
        },
        resume);
    push_run();
    if (chunk.token) close_chunk(file, chunk, base + consumed);
    return consumed;
  }

  // One unit that has no delimiter after it (read mode's last line, an over-long line).
  void emit_unit(WatchedFile& file, std::string_view unit, uint64_t end) {
    OpenChunk chunk;
    ChunkSink sink(this, &file);
    open_chunk(chunk);
    sink.token = chunk.token;
    decode_line(file, unit, sink);
    chunk.lines = 1;
    close_chunk(file, chunk, end);
  }

  // ---- reading ----

  bool should_stop() const { return stop_requested.load(std::memory_order_relaxed) || push_refused || ctx->stopping(); }

  // Holds reading while too many lines are unacknowledged. Without this bound a stalled worker
  // lets the others run arbitrarily far ahead, and all of that would be read again after a crash.
  bool wait_for_window() {
    if (book->wait_in_flight_below(cfg.max_in_flight_lines, 0)) return true;
    ctx->idle();  // what is buffered must reach the workers for the acks to come
    while (!should_stop()) {
      if (book->wait_in_flight_below(cfg.max_in_flight_lines, 0.1)) return true;
    }
    return false;
  }

  // Reads what the file has beyond read_pos (within the per-pass budget); returns the bytes read.
  uint64_t read_available(WatchedFile& file) {
    uint64_t total = 0;
    auto started_at = Clock::now();
    for (uint64_t pass = 0; pass < cfg.file_chunk_count; ++pass) {
      if (should_stop()) break;
      size_t carry = file.pending.size();
      if (buffer.size() < carry + read_size) buffer.resize(carry + read_size);
      if (carry) std::memcpy(buffer.data(), file.pending.data(), carry);
      ssize_t got = ::pread(file.fd, buffer.data() + carry, read_size, off_t(file.read_pos));
      if (got < 0) {
        if (errno == EINTR) continue;
        log->warn("cannot read {}: {}", file.path, std::strerror(errno));
        close_file(file);
        file.state = State::Watched;
        break;
      }
      if (got == 0) break;
      file.read_pos += uint64_t(got);
      total += uint64_t(got);
      std::string_view data(buffer.data(), carry + size_t(got));
      uint64_t base = file.read_pos - data.size();
      size_t consumed = emit_lines(file, data, base, splitter.resume_point(carry));
      file.pending.assign(data.data() + consumed, data.size() - consumed);
      if (push_refused) break;
      if (file.pending.size() > cfg.max_line_bytes) {
        log->warn("line longer than {} bytes in {} at offset {}: emitted in pieces", cfg.max_line_bytes, file.path,
                  file.read_pos - file.pending.size());
        emit_unit(file, file.pending, file.read_pos);
        file.pending.clear();
      }
      if (size_t(got) < read_size) break;  // at the end for now
      if (Clock::now() - started_at > kReadTimeSlice) break;
    }
    ctx->flush();
    return total;
  }

  bool open_file(WatchedFile& file) {
    if (open_files >= cfg.max_open_files) {
      if (!warned_open_limit) {
        log->warn("max_open_files ({}) reached: other files wait until one is closed (see close_older)",
                  cfg.max_open_files);
        warned_open_limit = true;
      }
      return false;
    }
    int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (!file.open_error_logged) log->warn("cannot open {}: {}", file.path, std::strerror(errno));
      file.open_error_logged = true;
      return false;
    }
    struct stat st;
    if (::fstat(fd, &st) != 0 || key_of(st) != file.key) {
      ::close(fd);  // the path names another file now: discovery sorts it out
      return false;
    }
    file.fd = fd;
    file.open_error_logged = false;
    ++open_files;
    file.state = State::Active;
    file.last_activity = Clock::now();
    return true;
  }

  void close_file(WatchedFile& file) {
    if (file.fd < 0) return;
    if (file.gz) {
      gzclose(file.gz);  // closes the descriptor too
      file.gz = nullptr;
    } else {
      ::close(file.fd);
    }
    file.fd = -1;
    --open_files;
  }

  void truncated(WatchedFile& file, uint64_t size) {
    log->info("{} shrank from {} to {} bytes (truncated or copytruncate rotation): reading it from the start",
              file.path, file.read_pos, size);
    file.read_pos = 0;
    file.pending.clear();
    book->rebase(*file.progress, 0);
  }

  // Read mode: the file is at its end. The last line needs no delimiter; then wait for the acks.
  void finish_read(WatchedFile& file) {
    if (!file.pending.empty()) {
      emit_unit(file, file.pending, file.read_pos);
      file.pending.clear();
    }
    ctx->idle();  // the file's last lines go out without waiting for fuller batches
    close_file(file);
    file.state = State::Completed;
    try_complete(file);
  }

  void try_complete(WatchedFile& file) {
    if (!book->settled(*file.progress)) return;
    if (!file.gz_failed) {  // a corrupt archive is kept, to be read again by the next run
      if (file.compressed) book->set_position(*file.progress, file.last_size);
      completed_action(file);
      file.completed = true;
    }
    file.state = State::Done;
    // Read mode may go through very many files: a finished one keeps only its identity.
    file.codec.reset();
    std::string().swap(file.pending);
  }

  // file_completed_action, run once every event of the file was acknowledged (Logstash runs it
  // at EOF; waiting for the acks means a crash never deletes a file whose lines were not delivered).
  void completed_action(WatchedFile& file) {
    if (cfg.completed_log) {
      int fd = ::open(cfg.completed_log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      std::string line = file.path + "\n";
      if (fd < 0 || ::write(fd, line.data(), line.size()) != ssize_t(line.size()))
        log->error("cannot append to file_completed_log_path {}: {}", cfg.completed_log_path, std::strerror(errno));
      if (fd >= 0) ::close(fd);
    }
    if (cfg.completed_delete) {
      struct stat st;
      if (::stat(file.path.c_str(), &st) == 0 && key_of(st) == file.key) {
        if (::unlink(file.path.c_str()) != 0) {
          log->error("cannot delete completed file {}: {}", file.path, std::strerror(errno));
        } else {
          // The inode may be reused by a new file: its position must not apply to that one.
          book->unwatch(file.key, file.progress.get(), true);
          file.deleted = true;
        }
      }
    }
  }

  // One look at one file; true when something was read.
  bool process_file(WatchedFile& file) {
    switch (file.state) {
      case State::Done:
      case State::Gone:
        return false;
      case State::Completed:
        try_complete(file);
        return false;
      case State::Closed:
      case State::Ignored: {
        struct stat st;
        if (::stat(file.path.c_str(), &st) != 0 || key_of(st) != file.key) return false;
        if (uint64_t(st.st_size) == file.last_size) return false;
        file.state = State::Watched;
        [[fallthrough]];
      }
      case State::Watched:
        if (!open_file(file)) return false;
        break;
      case State::Active:
        break;
    }
    if (file.compressed) return process_compressed(file);
    struct stat st;
    if (::fstat(file.fd, &st) != 0) {
      close_file(file);
      file.state = State::Watched;
      return false;
    }
    uint64_t size = uint64_t(st.st_size);
    file.last_size = size;
    file.mtime = mtime_seconds(st);
    if (size < file.read_pos) truncated(file, size);
    if (size > file.read_pos) {
      if (read_available(file) > 0) {
        file.last_activity = Clock::now();
        return true;
      }
      if (file.state != State::Active) return false;
    }
    if (should_stop()) return false;
    if (cfg.read_mode) {
      finish_read(file);
      return true;
    }
    double idle = std::chrono::duration<double>(Clock::now() - file.last_activity).count();
    double rotated_grace = cfg.close_older > 0 ? std::min(cfg.close_older, kRotatedFileGraceSeconds)
                                               : kRotatedFileGraceSeconds;
    if ((file.rotated_away || st.st_nlink == 0) && idle >= rotated_grace) {
      file.deleted = st.st_nlink == 0;
      close_file(file);
      file.state = State::Gone;
    } else if (cfg.close_older > 0 && idle >= cfg.close_older) {
      close_file(file);
      file.state = State::Closed;
    }
    return false;
  }

  // ---- gzip (read mode) ----

  static bool is_compressed_name(const std::string& path) {
    auto ends_with = [&](const char* suffix) {
      size_t n = std::strlen(suffix);
      return path.size() >= n && path.compare(path.size() - n, n, suffix) == 0;
    };
    return ends_with(".gz") || ends_with(".gzip");
  }

  // After gzread returned 0: a truncated archive reports Z_BUF_ERROR ("unexpected end of file").
  static bool gzip_clean_end(gzFile gz) {
    int code = Z_OK;
    gzerror(gz, &code);
    return code == Z_OK || code == Z_STREAM_END;
  }

  // check_archive_validity: decompresses the whole file once before reading it.
  bool archive_is_valid(const WatchedFile& file) {
    int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
      ::close(fd);
      return false;
    }
    bool ok = true;
    for (;;) {
      int got = gzread(gz, buffer.data(), unsigned(std::min<size_t>(buffer.size(), 1u << 30)));
      if (got < 0 || (got == 0 && !gzip_clean_end(gz))) ok = false;
      if (got <= 0) break;
    }
    gzclose(gz);
    return ok;
  }

  // Reads decompressed lines (delimiter: "\n" with an optional "\r" before it, as Logstash reads
  // archives); at the end the file waits for its acks like any other in read mode.
  bool process_compressed(WatchedFile& file) {
    if (buffer.size() < read_size) buffer.resize(read_size);
    if (!file.gz) {
      if (cfg.check_archive_validity && !archive_is_valid(file)) {
        log->error("{} is not a valid gzip archive: skipped", file.path);
        close_file(file);
        file.gz_failed = true;
        file.state = State::Completed;
        return false;
      }
      file.gz = gzdopen(file.fd, "rb");
      if (!file.gz) {
        log->error("cannot read {} as gzip", file.path);
        close_file(file);
        file.gz_failed = true;
        file.state = State::Completed;
        return false;
      }
      gzbuffer(file.gz, 128 * 1024);
    }
    uint64_t total = 0;
    auto started_at = Clock::now();
    bool at_end = false;
    while (!should_stop()) {
      size_t carry = file.pending.size();
      if (buffer.size() < carry + read_size) buffer.resize(carry + read_size);
      if (carry) std::memcpy(buffer.data(), file.pending.data(), carry);
      int got = gzread(file.gz, buffer.data() + carry, unsigned(read_size));
      if (got < 0 || (got == 0 && !gzip_clean_end(file.gz))) {
        int code = 0;
        const char* message = gzerror(file.gz, &code);
        log->error("{}: gzip error after {} bytes: {}; the file is kept for the next run", file.path, file.read_pos,
                   message ? message : "unknown");
        file.gz_failed = true;
        at_end = true;
        break;
      }
      if (got == 0) {
        at_end = true;
        break;
      }
      file.read_pos += uint64_t(got);
      total += uint64_t(got);
      std::string_view data(buffer.data(), carry + size_t(got));
      uint64_t base = file.read_pos - data.size();
      size_t consumed = emit_lines(file, data, base, compressed_splitter.resume_point(carry), true);
      file.pending.assign(data.data() + consumed, data.size() - consumed);
      if (push_refused) break;
      if (file.pending.size() > cfg.max_line_bytes) {
        emit_unit(file, file.pending, file.read_pos);
        file.pending.clear();
      }
      if (Clock::now() - started_at > kReadTimeSlice) break;
    }
    ctx->flush();
    if (at_end && !should_stop()) {
      if (!file.pending.empty() && file.pending.back() == '\r') file.pending.pop_back();
      finish_read(file);
      return true;
    }
    return total > 0;
  }

  // ---- discovery ----

  void add_file(const std::string& path, const struct stat& st, bool initial, double now) {
    FileKey key = key_of(st);
    uint64_t size = uint64_t(st.st_size);
    double mtime = mtime_seconds(st);
    State state = State::Watched;
    uint64_t start = 0;
    bool completed = false;
    if (auto record = book->lookup(key)) {
      start = record->position;
      if (start > size) {
        log->info("{}: the sincedb position {} is past its end ({} bytes): a new file, read from the start", path,
                  start, size);
        start = 0;
      }
      if (cfg.read_mode && start == size) {
        completed = true;  // read by an earlier run
        state = State::Done;
      }
    } else if (cfg.ignore_older > 0 && now - mtime > cfg.ignore_older) {
      if (cfg.read_mode) return;  // not processed; looked at again by the next discovery
      state = State::Ignored;
      start = size;
    } else if (!cfg.read_mode && initial && !cfg.start_at_beginning) {
      start = size;  // start_position => end applies to files seen at startup; later ones are new content
    }
    auto file = std::make_unique<WatchedFile>();
    file->key = key;
    file->path = path;
    file->state = state;
    file->read_pos = start;
    file->last_size = size;
    file->mtime = mtime;
    file->completed = completed;
    file->last_activity = Clock::now();
    file->compressed = cfg.read_mode && is_compressed_name(path);
    if (file->compressed && !completed) {
      start = 0;  // an archive is read whole again unless it was completed
      file->read_pos = 0;
    }
    file->progress = std::make_shared<Progress>(key, start);
    file->progress->compressed = file->compressed;
    file->codec = codec->clone();
    book->watch(key, file->progress.get(), start, path, now);
    log->debug("watching {} from offset {} ({} bytes)", path, start, size);
    // A file read to its end by an earlier run that stopped before deleting it.
    if (completed && cfg.completed_delete) completed_action(*file);
    by_key[key] = file.get();
    files.push_back(std::move(file));
  }

  // The file is not matched by the patterns any more (renamed away, deleted).
  void lost(WatchedFile& file) {
    switch (file.state) {
      case State::Active:
        file.rotated_away = true;  // keep reading through the open descriptor to its end
        break;
      case State::Completed:
      case State::Gone:
        break;
      default:
        file.state = State::Gone;
        break;
    }
  }

  void discover(bool initial) {
    for (auto& file : files) file->seen = false;
    double now = wall_seconds();
    for (const std::string& pattern : cfg.paths) {
      for (const std::string& path : expand_glob(pattern)) {
        if (excluded_by(cfg.exclude, path)) continue;
        struct stat st;
        if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        auto it = by_key.find(key_of(st));
        if (it == by_key.end()) {
          add_file(path, st, initial, now);
          continue;
        }
        WatchedFile& file = *it->second;
        if (file.seen) continue;  // the same file under a second name (hard link, two patterns)
        file.seen = true;
        file.rotated_away = false;
        if (file.state == State::Gone) {
          file.state = file.completed || file.gz_failed ? State::Done : State::Watched;
          if (!file.codec) file.codec = codec->clone();
        }
        if (file.path != path) {
          log->debug("{} was renamed to {}", file.path, path);
          file.path = path;
          book->set_path(file.key, path);
        }
      }
    }
    for (auto& file : files)
      if (!file->seen) lost(*file);
  }

  // Forgets files that left the patterns once nothing of theirs is in flight.
  void sweep_gone() {
    for (size_t i = 0; i < files.size();) {
      WatchedFile& file = *files[i];
      if (file.state != State::Gone || !book->settled(*file.progress)) {
        ++i;
        continue;
      }
      close_file(file);
      book->unwatch(file.key, file.progress.get(), file.deleted);
      by_key.erase(file.key);
      files.erase(files.begin() + long(i));
    }
  }

  bool all_finished() const {
    for (const auto& file : files)
      if (file->state != State::Done) return false;
    return true;
  }

  WatchedFile* first_completed_waiting() const {
    for (const auto& file : files)
      if (file->state == State::Completed) return file.get();
    return nullptr;
  }

  void sort_for_reading(std::vector<WatchedFile*>& order) const {
    std::stable_sort(order.begin(), order.end(), [&](const WatchedFile* a, const WatchedFile* b) {
      bool less = cfg.sort_by_path ? a->path < b->path : a->mtime < b->mtime;
      bool greater = cfg.sort_by_path ? b->path < a->path : b->mtime < a->mtime;
      return cfg.sort_descending ? greater : less;
    });
  }

  // ---- sincedb ----

  void load_sincedb() {
    std::error_code ec;
    std::filesystem::path parent = std::filesystem::path(cfg.sincedb_path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) {
      log->error("cannot create the sincedb directory {}: {}; positions will not be saved", parent.string(),
                 ec.message());
      persist = false;
      return;
    }
    std::vector<SincedbEntry> entries;
    std::string error;
    size_t bad = 0;
    if (!read_sincedb_file(cfg.sincedb_path, entries, &error, &bad)) {
      log->error("{}; starting without saved positions", error);
      return;
    }
    if (bad) log->warn("sincedb {}: {} malformed line(s) ignored", cfg.sincedb_path, bad);
    book->load(entries);
    log->debug("sincedb {}: {} record(s)", cfg.sincedb_path, entries.size());
  }

  // Saves every sincedb_write_interval; with 0 the acknowledging threads save, and this only
  // catches a change they skipped because a save was under way.
  void writer_loop() {
    const double period = cfg.sincedb_write_interval > 0 ? cfg.sincedb_write_interval : 0.1;
    for (;;) {
      {
        std::unique_lock lock(book->mutex);
        writer_wake.wait_for(lock, std::chrono::duration<double>(period), [&] { return writer_stop; });
        if (writer_stop) return;
      }
      book->save(false, true);
    }
  }

  void start_writer() {
    writer_stop = false;
    writer = std::thread([this] { writer_loop(); });
  }

  void stop_writer() {
    if (!writer.joinable()) return;
    {
      std::lock_guard lock(book->mutex);
      writer_stop = true;
    }
    writer_wake.notify_all();
    writer.join();
  }

  // ---- the loop ----

  void run(InputContext& context) {
    ctx = &context;
    started = true;
    if (persist) load_sincedb();
    book->persist = persist;
    if (persist) start_writer();
    if (cfg.read_mode && cfg.completed_log) {
      int fd = ::open(cfg.completed_log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) log->error("cannot create file_completed_log_path {}: {}", cfg.completed_log_path, std::strerror(errno));
      else ::close(fd);
    }
    const auto stat_period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg.stat_interval));
    const auto discover_period = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(std::max(cfg.stat_interval * cfg.discover_interval, 0.0)));
    discover(true);
    auto next_discovery = Clock::now() + discover_period;
    bool finished = false;
    std::vector<WatchedFile*> order;
    while (!should_stop()) {
      order.clear();
      for (auto& file : files) order.push_back(file.get());
      if (cfg.read_mode) sort_for_reading(order);
      bool progressed = false;
      for (WatchedFile* file : order) {
        if (process_file(*file)) progressed = true;
        if (should_stop()) break;
      }
      if (progressed) ctx->flush();
      else ctx->idle();
      sweep_gone();
      if (should_stop()) break;
      if (cfg.read_mode && cfg.exit_after_read && all_finished()) {
        discover(false);  // anything new since?
        if (all_finished()) {
          finished = true;
          break;
        }
        continue;
      }
      if (Clock::now() >= next_discovery) {
        discover(false);
        next_discovery = Clock::now() + discover_period;
        continue;
      }
      if (!progressed) {
        if (WatchedFile* completed = first_completed_waiting()) {
          // Woken by its last ack; the short bound keeps stop requests and other files seen.
          book->wait_settled(*completed->progress, std::clamp(cfg.stat_interval, 0.001, 0.02));
          continue;
        }
        int wait_ms = int(std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(stat_period).count()));
        if (ctx->wait_for_stop(wait_ms)) break;
      }
    }
    ctx->flush();
    for (auto& file : files) close_file(*file);
    if (!finished && !book->wait_idle(cfg.stop_ack_wait)) {
      log->warn("stopping with events still in flight: their lines will be read again at the next start");
    }
    stop_writer();
    book->save(true, true);
  }

  std::vector<SincedbEntry> positions() const {
    std::lock_guard lock(book->mutex);
    return book->snapshot_locked(wall_seconds(), 0);
  }

  FileInputConfig cfg;
  std::unique_ptr<Codec> codec;
  Book* book;
  LineSplitter splitter;
  LineSplitter compressed_splitter{"\n"};
  FieldRef path_ref;
  FieldRef host_ref;
  const std::unique_ptr<const Value> shared_host_tree = make_shared_host_tree(cfg.host);  // {"name": host}
  size_t read_size;
  bool persist;
  std::shared_ptr<spdlog::logger> log;
  const bool decode_on_workers = codec && codec->decodes_units_independently();
  const std::unique_ptr<const LineDecoder> line_decoder =
      decode_on_workers ? std::make_unique<const LineDecoder>(*this) : nullptr;

  InputContext* ctx = nullptr;
  bool started = false;
  std::atomic<bool> stop_requested{false};
  bool push_refused = false;
  std::vector<std::unique_ptr<WatchedFile>> files;
  std::unordered_map<FileKey, WatchedFile*, FileKeyHash> by_key;
  std::vector<char> buffer;
  std::vector<uint32_t> run_ends;  // emit_line_runs' line ends, kept for its next call
  size_t open_files = 0;
  uint64_t next_chunk_id = 1;
  bool warned_open_limit = false;

  std::thread writer;
  bool writer_stop = false;                // guarded by book->mutex
  std::condition_variable writer_wake;     // not book->changed: acks must not wake the writer
};

FileInput::FileInput(FileInputConfig config, std::unique_ptr<Codec> codec)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(codec))) {}

FileInput::~FileInput() = default;

void FileInput::run(InputContext& ctx) { impl_->run(ctx); }

void FileInput::stop() { impl_->stop_requested.store(true, std::memory_order_relaxed); }

std::vector<SincedbEntry> FileInput::positions() const { return impl_->positions(); }

// ---- configuration ----

namespace {

using config::ConfigError;

// A duration option: a number (in `bare_unit` seconds) or friendly text ("500 ms", "2 hours").
double duration_option(const Options& options, const std::string& name, double bare_unit) {
  const config::ConfigValue* value = options.raw(name);
  if (!value) return 0;
  if (value->kind == config::ConfigValue::Kind::Array && value->items.size() == 1) value = &value->items[0];
  std::optional<double> seconds;
  if (value->kind == config::ConfigValue::Kind::Number) {
    if (value->number >= 0) seconds = value->number * bare_unit;
  } else {
    seconds = parse_duration(value->text, bare_unit);
  }
  if (!seconds)
    throw ConfigError(options.position(name),
                      fmt::format("invalid duration `{}` for option `{}` of file: expected a number ({}) or text "
                                  "like \"500 ms\", \"30 seconds\", \"2 hours\"",
                                  value->text, name, bare_unit == 1 ? "seconds" : "days"));
  return *seconds;
}

std::string ecs_mode(const Options& options, const PluginContext& ctx) {
  if (options.has("ecs_compatibility")) return options.get_string("ecs_compatibility");
  return ctx.settings ? ctx.settings->ecs_compatibility : "v8";
}

PluginSchema file_schema() {
  auto option = [](std::string name, OptionType type, std::optional<config::ConfigValue> default_value,
                   std::string doc, std::vector<std::string> allowed = {}, bool required = false) {
    OptionSpec spec;
    spec.name = std::move(name);
    spec.type = type;
    spec.default_value = std::move(default_value);
    spec.doc = std::move(doc);
    spec.allowed = std::move(allowed);
    spec.required = required;
    return spec;
  };
  PluginSchema schema;
  schema.kind = PluginKind::Input;
  schema.name = "file";
  schema.doc =
      "Streams lines from files: tails them (`mode => tail`, like `tail -0F`) or reads whole files (`mode => "
      "read`; `.gz`/`.gzip` files are decompressed). Positions are kept in a sincedb in Logstash's format and "
      "advance only over lines that every output acknowledged, so a crash re-reads, never loses. Handles rotation "
      "by rename and by copytruncate.";
  schema.options = {
      option("path", OptionType::Array, std::nullopt,
             "Absolute paths or glob patterns of the files to read (`/var/log/*.log`, `/var/log/**/*.log`).", {}, true),
      option("exclude", OptionType::Array, std::nullopt, "Glob patterns matched against the file name (not the "
             "full path) of files to skip, e.g. `*.gz`."),
      option("mode", OptionType::String, cv_string("tail"),
             "`tail` follows growing files; `read` treats each file as complete (EOF ends it).", {"tail", "read"}),
      option("start_position", OptionType::String, cv_string("end"),
             "Tail mode: where to start in files seen at startup that the sincedb does not know.",
             {"beginning", "end"}),
      option("sincedb_path", OptionType::String, std::nullopt,
             "The sincedb file (default `<path.data>/plugins/inputs/file/.sincedb_<md5 of path>`); `/dev/null` keeps "
             "no positions."),
      option("sincedb_write_interval", OptionType::String, cv_number(15),
             "How often positions are written (seconds or a duration such as \"500 ms\"); 0 writes as soon as an "
             "acknowledgement moves a position."),
      option("sincedb_clean_after", OptionType::String, cv_string("14 days"),
             "Records of files not seen for this long are dropped (a bare number is in days)."),
      option("stat_interval", OptionType::String, cv_number(1),
             "How often files are checked for new content (seconds or a duration)."),
      option("discover_interval", OptionType::Number, cv_number(15),
             "How often the patterns are expanded to find new files, as a multiple of stat_interval."),
      option("close_older", OptionType::String, cv_string("1 hour"),
             "Tail mode: a file not grown for this long is closed (and reopened when it grows)."),
      option("ignore_older", OptionType::String, std::nullopt,
             "Files last modified longer ago than this are ignored at discovery (read when they change, in tail "
             "mode)."),
      option("delimiter", OptionType::String, cv_string("\n"), "The line delimiter."),
      option("file_completed_action", OptionType::String, cv_string("delete"),
             "Read mode: what to do with a file once all its lines were acknowledged.",
             {"delete", "log", "log_and_delete"}),
      option("file_completed_log_path", OptionType::String, std::nullopt,
             "Read mode: the file completed paths are appended to (for `log` and `log_and_delete`)."),
      option("exit_after_read", OptionType::Boolean, cv_bool(false),
             "Read mode: the input ends once every file was read and acknowledged (a batch job ends by itself)."),
      option("max_open_files", OptionType::Number, std::nullopt,
             "The most files this input keeps open at once (default 4095)."),
      option("file_chunk_size", OptionType::Number, cv_number(32768),
             "Bytes read at a time (sluice reads at least 64 KiB)."),
      option("file_chunk_count", OptionType::Number, std::nullopt,
             "How many reads of one file before moving to the next (default: the whole file)."),
      option("file_sort_by", OptionType::String, cv_string("last_modified"), "Read mode: the order files are read in.",
             {"last_modified", "path"}),
      option("file_sort_direction", OptionType::String, cv_string("asc"), "Ascending or descending file order.",
             {"asc", "desc"}),
      option("check_archive_validity", OptionType::Boolean, cv_bool(false),
             "Read mode: decompress a gzip archive (`.gz`, `.gzip`) once to check it before reading it; a corrupt "
             "one is skipped."),
      option("ecs_compatibility", OptionType::String, std::nullopt,
             "`disabled`: fields `path` and `host`; `v1`, `v8`: `[log][file][path]` and `[host][name]`. Default: "
             "pipeline.ecs_compatibility.",
             {"disabled", "v1", "v8"}),
  };
  return schema;
}

const RegisterInput kRegisterFileInput{
    file_schema(), [](const Options& options, PluginContext& ctx) -> std::unique_ptr<Input> {
      FileInputConfig cfg = make_file_input_config(options, ctx);
      return std::make_unique<FileInput>(std::move(cfg), ctx.make_codec(options.get_codec()));
    }};

}  // namespace

FileInputConfig make_file_input_config(const Options& options, const PluginContext& ctx) {
  FileInputConfig cfg;
  cfg.paths = options.get_string_array("path");
  if (cfg.paths.empty()) throw ConfigError(options.position("path"), "`path` of file needs at least one path");
  for (const std::string& path : cfg.paths)
    if (path.empty() || path[0] != '/')
      throw ConfigError(options.position("path"),
                        fmt::format("File paths must be absolute, relative path specified: {}", path));
  if (options.has("exclude")) cfg.exclude = options.get_string_array("exclude");
  cfg.read_mode = options.get_string("mode") == "read";
  cfg.start_at_beginning = options.get_string("start_position") == "beginning";

  if (options.has("sincedb_path")) {
    cfg.sincedb_path = options.get_string("sincedb_path");
    std::error_code ec;
    if (!is_null_sincedb_path(cfg.sincedb_path) && std::filesystem::is_directory(cfg.sincedb_path, ec))
      throw ConfigError(options.position("sincedb_path"),
                        fmt::format("The \"sincedb_path\" argument must point to a file, received a directory: "
                                    "\"{}\"",
                                    cfg.sincedb_path));
  } else {
    cfg.sincedb_path = default_sincedb_path(ctx.settings ? ctx.settings->path_data : "data", cfg.paths);
  }
  cfg.sincedb_write_interval = duration_option(options, "sincedb_write_interval", 1);
  cfg.sincedb_clean_after = duration_option(options, "sincedb_clean_after", 86400);
  cfg.stat_interval = duration_option(options, "stat_interval", 1);
  cfg.discover_interval = std::max(0.0, options.get_number("discover_interval"));
  cfg.close_older = duration_option(options, "close_older", 1);
  if (options.has("ignore_older")) cfg.ignore_older = duration_option(options, "ignore_older", 1);
  cfg.delimiter = options.get_string("delimiter");
  if (cfg.delimiter.empty()) throw ConfigError(options.position("delimiter"), "`delimiter` of file cannot be empty");

  std::string action = options.get_string("file_completed_action");
  cfg.completed_delete = action == "delete" || action == "log_and_delete";
  cfg.completed_log = action == "log" || action == "log_and_delete";
  if (options.has("file_completed_log_path")) cfg.completed_log_path = options.get_string("file_completed_log_path");
  if (cfg.completed_log && cfg.completed_log_path.empty())
    throw ConfigError(options.position("file_completed_action"),
                      "The \"file_completed_log_path\" setting must be provided when the \"file_completed_action\" "
                      "is set to \"log\" or \"log_and_delete\"");
  cfg.exit_after_read = options.get_bool("exit_after_read");

  if (options.has("max_open_files")) {
    int64_t max_open = options.get_int("max_open_files");
    if (max_open < 1) throw ConfigError(options.position("max_open_files"), "`max_open_files` must be at least 1");
    cfg.max_open_files = size_t(max_open);
  }
  int64_t chunk_size = options.get_int("file_chunk_size");
  if (chunk_size < 1) throw ConfigError(options.position("file_chunk_size"), "`file_chunk_size` must be positive");
  cfg.file_chunk_size = size_t(chunk_size);
  if (options.has("file_chunk_count")) {
    double count = options.get_number("file_chunk_count");
    if (count < 1) throw ConfigError(options.position("file_chunk_count"), "`file_chunk_count` must be positive");
    cfg.file_chunk_count = count >= 1.8e19 ? std::numeric_limits<uint64_t>::max() : uint64_t(count);
  }
  cfg.sort_by_path = options.get_string("file_sort_by") == "path";
  cfg.sort_descending = options.get_string("file_sort_direction") == "desc";
  cfg.check_archive_validity = options.get_bool("check_archive_validity");
  cfg.ecs = ecs_mode(options, ctx) != "disabled";
  cfg.host = local_host_name();
  if (ctx.settings) {
    // Twice what the pipeline holds (queue + a batch per worker): enough to keep it busy,
    // small enough that a crash re-reads little.
    size_t workers = size_t(ctx.settings->workers > 0 ? ctx.settings->workers
                                                      : std::max(1u, std::thread::hardware_concurrency()));
    size_t batch = size_t(std::max(1, ctx.settings->batch_size));
    size_t queue = ctx.settings->queue_max_events ? ctx.settings->queue_max_events
                                                  : PipelineSettings::default_queue_max_events(workers, batch);
    cfg.max_in_flight_lines = std::max(2 * (queue + workers * batch), 2 * cfg.max_chunk_lines);
  }
  return cfg;
}

}  // namespace sluice::file_input
