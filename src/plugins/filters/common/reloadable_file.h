// A file-backed lookup table that is rebuilt in the background when the file changes and swapped
// in atomically (workers keep using the snapshot they hold; no lock on the lookup path).
// Used by translate (dictionary_path) and cidr (network_path); usable by any plugin that loads a
// table from a file and refreshes it every `refresh_interval` seconds.
//
//   ReloadableFile<Table> table(path, refresh_seconds, load_table, metrics, "filter.translate");
//   std::shared_ptr<const Table> now = table.snapshot();   // cheap; hold it for a batch
//
// The loader builds a whole new table from the file (it may read the previous one, e.g. to merge)
// and throws std::exception with the reason when the file cannot be used. At construction a failing
// load throws (the caller turns it into a config error); later a failing reload keeps the previous
// table, logs a warning with the reason and counts `reload_failures`.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace sluice {

struct PluginMetrics;

// What identifies one version of a file: a rewrite (new size or mtime) or a rename over it (new inode).
struct FileStamp {
  bool exists = false;
  int64_t mtime_nanos = 0;
  uint64_t size = 0;
  uint64_t inode = 0;
  bool operator==(const FileStamp&) const = default;
};
FileStamp file_stamp(const std::string& path);

// Reads a whole file; throws std::runtime_error naming the path and the OS error.
std::string read_whole_file(const std::string& path);

// The thread that polls a file's stamp every `interval` and calls `reload` when it changed.
// Counters in `metrics` (when not null): reloads, reload_failures, last_reload_epoch_ms.
class FileWatcher {
 public:
  // `reload` builds and installs the new content, throwing on failure.
  FileWatcher(std::string path, std::chrono::milliseconds interval, std::function<void()> reload,
              PluginMetrics* metrics, std::string log_component);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Records the stamp of the initial load and the load time. Call once after loading it.
  void initial_load_done(const FileStamp& stamp);
  // Starts polling (no-op when interval <= 0).
  void start();
  // Runs one check now, on the caller's thread (tests; the thread does the same every interval).
  // Returns true when the file had changed and was reloaded successfully.
  bool check_now();

 private:
  void run();

  std::string path_;
  std::chrono::milliseconds interval_;
  std::function<void()> reload_;
  std::string log_component_;
  std::atomic<uint64_t>* reloads_ = nullptr;
  std::atomic<uint64_t>* failures_ = nullptr;
  std::atomic<uint64_t>* last_reload_ms_ = nullptr;
  std::mutex check_mutex_;  // check_now() from a test and the thread never overlap
  FileStamp last_stamp_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

template <typename T>
class ReloadableFile {
 public:
  // previous: the table in use (nullptr on the first load).
  using Loader = std::function<std::shared_ptr<const T>(const std::string& path, const T* previous)>;

  // Loads the file now (throws on failure) and, when refresh_seconds > 0, watches it.
  ReloadableFile(std::string path, double refresh_seconds, Loader loader, PluginMetrics* metrics,
                 std::string log_component)
      : path_(std::move(path)), loader_(std::move(loader)) {
    const auto interval = std::chrono::milliseconds(int64_t(refresh_seconds * 1000.0));
    watcher_ = std::make_unique<FileWatcher>(path_, interval, [this] { reload(); }, metrics, std::move(log_component));
    const FileStamp stamp = file_stamp(path_);
    current_.store(loader_(path_, nullptr), std::memory_order_release);
    watcher_->initial_load_done(stamp);
    watcher_->start();
  }

  std::shared_ptr<const T> snapshot() const { return current_.load(std::memory_order_acquire); }
  bool check_now() { return watcher_->check_now(); }
  const std::string& path() const { return path_; }

 private:
  void reload() {
    std::shared_ptr<const T> previous = snapshot();
    std::shared_ptr<const T> next = loader_(path_, previous.get());
    current_.store(std::move(next), std::memory_order_release);
  }

  std::string path_;
  Loader loader_;
  std::atomic<std::shared_ptr<const T>> current_;
  std::unique_ptr<FileWatcher> watcher_;  // last: stopped before the rest is destroyed
};

}  // namespace sluice
