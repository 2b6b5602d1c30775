// The sincedb: where each file was read up to, in Logstash's text format, one record a line:
//   INODE MAJOR MINOR POSITION LAST_ACTIVE PATH
// e.g. "1312456 0 2049 8422 1714550400.123456 /var/log/app.log". Older Logstash wrote only the first
// four columns (and a five-column form without path exists); all three are read.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::file_input {

// A file's identity on this host: inode + the device it lives on.
struct FileKey {
  uint64_t inode = 0;
  uint64_t dev_major = 0;
  uint64_t dev_minor = 0;
  bool operator==(const FileKey&) const = default;
};

struct FileKeyHash {
  size_t operator()(const FileKey& k) const {
    return std::hash<uint64_t>()(k.inode * 0x9E3779B97F4A7C15ull ^ (k.dev_major << 32) ^ k.dev_minor);
  }
};

struct SincedbEntry {
  FileKey key;
  uint64_t position = 0;   // bytes acknowledged (always at a line boundary)
  double last_active = 0;  // unix seconds of the last change; 0 when unknown (old format)
  std::string path;        // last known path; empty when unknown
};

// Parses sincedb text; malformed lines are skipped and counted in *bad_lines.
std::vector<SincedbEntry> parse_sincedb(std::string_view text, size_t* bad_lines = nullptr);
// One line per entry, each ending in "\n". A path holding a newline is left out (5 columns).
std::string format_sincedb(const std::vector<SincedbEntry>& entries);

// "/dev/null" (and Windows' "NUL", as Logstash accepts it) mean: keep no sincedb.
bool is_null_sincedb_path(std::string_view path);

// Reads the file; a missing file is an empty sincedb (true). False with *error on a read failure.
bool read_sincedb_file(const std::string& path, std::vector<SincedbEntry>& out, std::string* error,
                       size_t* bad_lines = nullptr);
// Writes atomically: a temp file in the same directory, then rename over the old one, so a crash
// leaves either the old or the new content. `sync` also fsyncs the data (used at shutdown).
bool write_sincedb_file(const std::string& path, const std::vector<SincedbEntry>& entries, std::string* error,
                        bool sync = false);

// Logstash's default location: <path.data>/plugins/inputs/file/.sincedb_<md5 of patterns joined by ",">.
std::string default_sincedb_path(const std::string& path_data, const std::vector<std::string>& patterns);

}  // namespace sluice::file_input
