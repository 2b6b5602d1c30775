#include "plugins/inputs/file/sincedb.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "plugins/inputs/file/md5.h"

namespace sluice::file_input {

namespace {

// Next space-separated token of `line` from *pos (skipping runs of spaces).
std::string_view next_token(std::string_view line, size_t* pos) {
  while (*pos < line.size() && line[*pos] == ' ') ++*pos;
  size_t start = *pos;
  while (*pos < line.size() && line[*pos] != ' ') ++*pos;
  return line.substr(start, *pos - start);
}

bool parse_u64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool parse_double(std::string_view s, double* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= size_t(n);
  }
  return true;
}

}  // namespace

std::vector<SincedbEntry> parse_sincedb(std::string_view text, size_t* bad_lines) {
  std::vector<SincedbEntry> entries;
  size_t bad = 0;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(' ') == std::string_view::npos) continue;
    SincedbEntry entry;
    size_t pos = 0;
    if (!parse_u64(next_token(line, &pos), &entry.key.inode) ||
        !parse_u64(next_token(line, &pos), &entry.key.dev_major) ||
        !parse_u64(next_token(line, &pos), &entry.key.dev_minor) ||
        !parse_u64(next_token(line, &pos), &entry.position)) {
      ++bad;
      continue;
    }
    std::string_view active = next_token(line, &pos);
    if (!active.empty() && !parse_double(active, &entry.last_active)) {
      ++bad;
      continue;
    }
    // The path is the rest of the line after one separator (it may hold spaces).
    if (pos < line.size()) entry.path.assign(line.substr(pos + 1));
    entries.push_back(std::move(entry));
  }
  if (bad_lines) *bad_lines = bad;
  return entries;
}

std::string format_sincedb(const std::vector<SincedbEntry>& entries) {
  std::string out;
  out.reserve(entries.size() * 64);
  for (const SincedbEntry& e : entries) {
    fmt::format_to(std::back_inserter(out), "{} {} {} {} {:.6f}", e.key.inode, e.key.dev_major, e.key.dev_minor,
                   e.position, e.last_active);
    if (!e.path.empty() && e.path.find('\n') == std::string::npos) {
      out.push_back(' ');
      out.append(e.path);
    }
    out.push_back('\n');
  }
  return out;
}

bool is_null_sincedb_path(std::string_view path) { return path == "/dev/null" || path == "NUL" || path == "nul"; }

bool read_sincedb_file(const std::string& path, std::vector<SincedbEntry>& out, std::string* error,
                       size_t* bad_lines) {
  out.clear();
  if (bad_lines) *bad_lines = 0;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return true;
    if (error) *error = fmt::format("cannot open sincedb {}: {}", path, std::strerror(errno));
    return false;
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (error) *error = fmt::format("cannot read sincedb {}: {}", path, std::strerror(errno));
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    text.append(buffer, size_t(n));
  }
  ::close(fd);
  out = parse_sincedb(text, bad_lines);
  return true;
}

bool write_sincedb_file(const std::string& path, const std::vector<SincedbEntry>& entries, std::string* error,
                        bool sync) {
  std::string text = format_sincedb(entries);
  std::string temp = fmt::format("{}.tmp.{}", path, ::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (error) *error = fmt::format("cannot create {}: {}", temp, std::strerror(errno));
    return false;
  }
  bool ok = write_all(fd, text.data(), text.size());
  int saved_errno = errno;
  if (ok && sync && ::fsync(fd) != 0) {
    ok = false;
    saved_errno = errno;
  }
  ::close(fd);
  if (ok && ::rename(temp.c_str(), path.c_str()) != 0) {
    ok = false;
    saved_errno = errno;
  }
  if (!ok) {
    ::unlink(temp.c_str());
    if (error) *error = fmt::format("cannot write sincedb {}: {}", path, std::strerror(saved_errno));
  }
  return ok;
}

std::string default_sincedb_path(const std::string& path_data, const std::vector<std::string>& patterns) {
  std::string joined;
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (i) joined.push_back(',');
    joined.append(patterns[i]);
  }
  std::filesystem::path dir = std::filesystem::path(path_data) / "plugins" / "inputs" / "file";
  return (dir / (".sincedb_" + md5_hex(joined))).string();
}

}  // namespace sluice::file_input
