#include "plugins/inputs/beats/lumberjack.h"

#include <zlib.h>

#include <fmt/format.h>

namespace sluice::lumberjack {

namespace {

uint32_t read_u32(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
}

void put_u32(std::string& out, uint32_t v) {
  char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  out.append(b, 4);
}

std::string printable(unsigned char c) {
  if (c >= 0x20 && c < 0x7f) return fmt::format("'{}'", char(c));
  return fmt::format("0x{:02x}", unsigned(c));
}

}  // namespace

bool FrameParser::feed(std::string_view bytes, FrameHandler& handler) {
  if (failed()) return false;
  if (pending_.empty()) {
    size_t used = parse(bytes, handler, 0);
    if (used == std::string_view::npos) return false;
    pending_.assign(bytes.substr(used));
  } else {
    pending_.append(bytes);
    size_t used = parse(pending_, handler, 0);
    if (used == std::string_view::npos) return false;
    pending_.erase(0, used);
  }
  if (pending_.capacity() > (size_t(1) << 20) && pending_.size() < (size_t(64) << 10)) pending_.shrink_to_fit();
  return true;
}

size_t FrameParser::parse(std::string_view data, FrameHandler& handler, int depth) {
  size_t pos = 0;
  auto fail = [&](std::string message) {
    error_ = std::move(message);
    return std::string_view::npos;
  };
  while (pos < data.size()) {
    const size_t left = data.size() - pos;
    const char* p = data.data() + pos;
    unsigned char version = static_cast<unsigned char>(p[0]);
    if (version != '1' && version != '2') return fail("unsupported protocol version " + printable(version));
    if (left < 2) break;
    unsigned char type = static_cast<unsigned char>(p[1]);
    switch (type) {
      case 'W': {
        if (left < 6) return pos;
        handler.on_window(version, read_u32(p + 2));
        pos += 6;
        break;
      }
      case 'J': {
        if (left < 10) return pos;
        uint32_t sequence = read_u32(p + 2);
        uint32_t length = read_u32(p + 6);
        if (length > limits_.max_frame_bytes)
          return fail(fmt::format("JSON frame of {} bytes exceeds the limit of {}", length, limits_.max_frame_bytes));
        if (left - 10 < length) return pos;
        handler.on_json(version, sequence, std::string_view(p + 10, length));
        pos += 10 + size_t(length);
        break;
      }
      case 'D': {
        if (left < 10) return pos;
        uint32_t sequence = read_u32(p + 2);
        uint32_t count = read_u32(p + 6);
        // Each pair takes at least 8 bytes, so a count is checked against the frame limit first.
        if (uint64_t(count) * 8 > limits_.max_frame_bytes)
          return fail(fmt::format("data frame with {} pairs exceeds the frame limit", count));
        size_t at = 10;
        pairs_.clear();
        bool complete = true;
        for (uint32_t i = 0; i < count && complete; ++i) {
          std::string_view parts[2];
          for (auto& part : parts) {
            if (left - at < 4) {
              complete = false;
              break;
            }
            uint32_t length = read_u32(p + at);
            at += 4;
            if (at + uint64_t(length) > limits_.max_frame_bytes + 10)
              return fail(fmt::format("data frame exceeds the limit of {} bytes", limits_.max_frame_bytes));
            if (left - at < length) {
              complete = false;
              break;
            }
            part = std::string_view(p + at, length);
            at += length;
          }
          if (complete) pairs_.emplace_back(parts[0], parts[1]);
        }
        if (!complete) return pos;
        handler.on_data(version, sequence, pairs_);
        pos += at;
        break;
      }
      case 'C': {
        if (left < 6) return pos;
        uint32_t length = read_u32(p + 2);
        if (length > limits_.max_frame_bytes)
          return fail(
              fmt::format("compressed frame of {} bytes exceeds the limit of {}", length, limits_.max_frame_bytes));
        if (left - 6 < length) return pos;
        if (depth >= limits_.max_nesting) return fail("compressed frames nested too deeply");
        // Each level inflates into its own buffer: the inner parse hands out views into it.
        std::string& inner = inflated_[size_t(depth)];
        if (!inflate(std::string_view(p + 6, length), inner)) return std::string_view::npos;
        size_t used = parse(inner, handler, depth + 1);
        if (used == std::string_view::npos) return used;
        if (used != inner.size()) return fail("compressed frame ends inside a frame");
        if (inner.capacity() > (size_t(4) << 20)) {
          inner.clear();
          inner.shrink_to_fit();  // a large window once: give the memory back
        }
        pos += 6 + size_t(length);
        break;
      }
      default:
        return fail("unknown frame type " + printable(type));
    }
  }
  if (depth > 0 && pos < data.size()) return fail("compressed frame ends inside a frame");
  return pos;
}

bool FrameParser::inflate(std::string_view compressed, std::string& out) {
  out.clear();
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) {
    error_ = "zlib initialisation failed";
    return false;
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = uInt(compressed.size());
  bool ok = false;
  size_t grow = std::min(limits_.max_decompressed_bytes, std::max<size_t>(compressed.size() * 4, 4096));
  while (true) {
    if (out.size() == out.capacity() || out.size() + 1024 > out.capacity()) out.reserve(out.size() + grow);
    size_t room = std::min(out.capacity() - out.size(), limits_.max_decompressed_bytes + 1 - out.size());
    size_t before = out.size();
    out.resize(before + room);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + before);
    stream.avail_out = uInt(room);
    int rc = ::inflate(&stream, Z_NO_FLUSH);
    out.resize(before + (room - stream.avail_out));
    if (out.size() > limits_.max_decompressed_bytes) {
      error_ = fmt::format("compressed frame inflates beyond the limit of {} bytes", limits_.max_decompressed_bytes);
      break;
    }
    if (rc == Z_STREAM_END) {
      ok = true;
      break;
    }
    if (rc == Z_BUF_ERROR && stream.avail_in == 0) {
      error_ = "compressed frame is truncated";
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      error_ = std::string("compressed frame is corrupt: ") + (stream.msg ? stream.msg : "zlib error");
      break;
    }
  }
  inflateEnd(&stream);
  if (!ok) out.clear();
  return ok;
}

void append_ack(std::string& out, uint8_t version, uint32_t sequence) {
  out.push_back(char(version));
  out.push_back('A');
  put_u32(out, sequence);
}

void append_window(std::string& out, uint32_t size, uint8_t version) {
  out.push_back(char(version));
  out.push_back('W');
  put_u32(out, size);
}

void append_json(std::string& out, uint32_t sequence, std::string_view json, uint8_t version) {
  out.push_back(char(version));
  out.push_back('J');
  put_u32(out, sequence);
  put_u32(out, uint32_t(json.size()));
  out.append(json);
}

void append_data(std::string& out, uint32_t sequence, const std::vector<std::pair<std::string, std::string>>& pairs,
                 uint8_t version) {
  out.push_back(char(version));
  out.push_back('D');
  put_u32(out, sequence);
  put_u32(out, uint32_t(pairs.size()));
  for (const auto& [key, value] : pairs) {
    put_u32(out, uint32_t(key.size()));
    out.append(key);
    put_u32(out, uint32_t(value.size()));
    out.append(value);
  }
}

void append_compressed(std::string& out, std::string_view frames, int level, uint8_t version) {
  uLongf bound = compressBound(uLong(frames.size()));
  std::string compressed(bound, '\0');
  compress2(reinterpret_cast<Bytef*>(compressed.data()), &bound, reinterpret_cast<const Bytef*>(frames.data()),
            uLong(frames.size()), level);
  compressed.resize(bound);
  out.push_back(char(version));
  out.push_back('C');
  put_u32(out, uint32_t(compressed.size()));
  out.append(compressed);
}

}  // namespace sluice::lumberjack
