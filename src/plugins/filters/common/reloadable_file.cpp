#include "plugins/filters/common/reloadable_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "runtime/logging.h"
#include "runtime/metrics.h"

namespace sluice {

FileStamp file_stamp(const std::string& path) {
  FileStamp stamp;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return stamp;
  stamp.exists = true;
  stamp.mtime_nanos = int64_t(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  stamp.size = uint64_t(st.st_size);
  stamp.inode = uint64_t(st.st_ino);
  return stamp;
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read `" + path + "`: " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw std::runtime_error("error reading `" + path + "`");
  return std::move(buffer).str();
}

namespace {
uint64_t now_epoch_ms() {
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
}
}  // namespace

FileWatcher::FileWatcher(std::string path, std::chrono::milliseconds interval, std::function<void()> reload,
                         PluginMetrics* metrics, std::string log_component)
    : path_(std::move(path)), interval_(interval), reload_(std::move(reload)), log_component_(std::move(log_component)) {
  if (metrics) {
    reloads_ = &metrics->counter("reloads");
    failures_ = &metrics->counter("reload_failures");
    last_reload_ms_ = &metrics->counter("last_reload_epoch_ms");
  }
}

FileWatcher::~FileWatcher() {
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FileWatcher::initial_load_done(const FileStamp& stamp) {
  std::lock_guard<std::mutex> lock(check_mutex_);
  last_stamp_ = stamp;
  if (last_reload_ms_) last_reload_ms_->store(now_epoch_ms(), std::memory_order_relaxed);
}

void FileWatcher::start() {
  if (interval_.count() <= 0 || thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void FileWatcher::run() {
  std::unique_lock<std::mutex> lock(stop_mutex_);
  while (!stop_) {
    if (stop_cv_.wait_for(lock, interval_, [this] { return stop_; })) break;
    lock.unlock();
    check_now();
    lock.lock();
  }
}

bool FileWatcher::check_now() {
  std::lock_guard<std::mutex> lock(check_mutex_);
  const FileStamp before = file_stamp(path_);
  if (before == last_stamp_) return false;
  auto log = logging::get(log_component_);
  if (!before.exists) {
    // Logstash: "file read failure, continuing with old dictionary". Reported once per disappearance.
    log->warn("{} is gone; continuing with the previously loaded content", path_);
    last_stamp_ = before;
    if (failures_) failures_->fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  try {
    reload_();
  } catch (const std::exception& e) {
    log->warn("reloading {} failed ({}); continuing with the previously loaded content", path_, e.what());
    if (failures_) failures_->fetch_add(1, std::memory_order_relaxed);
    // A file still being written fails now and changes again; the next check retries it then.
    last_stamp_ = before;
    return false;
  }
  // Written to while we read it: what we loaded may be a mix, so read it again next time.
  const FileStamp after = file_stamp(path_);
  last_stamp_ = after == before ? before : FileStamp{};
  if (reloads_) reloads_->fetch_add(1, std::memory_order_relaxed);
  if (last_reload_ms_) last_reload_ms_->store(now_epoch_ms(), std::memory_order_relaxed);
  log->info("reloaded {}", path_);
  return true;
}

}  // namespace sluice
