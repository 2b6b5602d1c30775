// Finds delimiters in a read buffer: memchr for one-byte delimiters (the usual "\n"), memchr on
// the first byte + compare for longer ones. No allocation; lines are views into the buffer.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace sluice::file_input {

class LineSplitter {
 public:
  explicit LineSplitter(std::string delimiter) : delimiter_(delimiter.empty() ? std::string("\n") : std::move(delimiter)) {}

  const std::string& delimiter() const { return delimiter_; }

  // Position of the next delimiter in data at or after `from`, or npos.
  size_t find(std::string_view data, size_t from) const {
    const size_t size = data.size();
    const char first = delimiter_[0];
    if (delimiter_.size() == 1) {
      if (from >= size) return std::string_view::npos;
      const void* hit = std::memchr(data.data() + from, first, size - from);
      return hit ? size_t(static_cast<const char*>(hit) - data.data()) : std::string_view::npos;
    }
    const size_t dsize = delimiter_.size();
    while (from + dsize <= size) {
      const void* hit = std::memchr(data.data() + from, first, size - from - dsize + 1);
      if (!hit) return std::string_view::npos;
      size_t pos = size_t(static_cast<const char*>(hit) - data.data());
      if (std::memcmp(data.data() + pos + 1, delimiter_.data() + 1, dsize - 1) == 0) return pos;
      from = pos + 1;
    }
    return std::string_view::npos;
  }

  // Calls on_line(line, end) for every complete line of data, where `end` is the offset just past
  // its delimiter; on_line returns false to stop early. Returns the number of bytes consumed (the
  // end of the last line handed out); the rest is an unfinished line. `resume_from` skips a prefix
  // already known to hold no delimiter.
  template <class OnLine>
  size_t split(std::string_view data, OnLine&& on_line, size_t resume_from = 0) const {
    size_t start = 0;
    size_t search = resume_from;
    for (;;) {
      size_t pos = find(data, search);
      if (pos == std::string_view::npos) return start;
      size_t end = pos + delimiter_.size();
      std::string_view line = data.substr(start, pos - start);
      start = search = end;
      if (!on_line(line, end)) return start;
    }
  }

  // Where to resume searching in `pending` (an unfinished line) once more bytes follow it: a
  // multi-byte delimiter may begin in its last bytes.
  size_t resume_point(size_t pending_size) const {
    return pending_size >= delimiter_.size() - 1 ? pending_size - (delimiter_.size() - 1) : 0;
  }

 private:
  std::string delimiter_;
};

}  // namespace sluice::file_input
