// The Lumberjack protocol (v2, as Beats speak it; v1 data frames too) as a streaming frame
// parser, apart from any socket so that it is unit tested and fuzzed on its own.
//
// Frames: a version byte ('1' or '2'), a type byte, then
//   'W' window:      uint32 count of events the client sends before waiting for an ACK
//   'J' JSON event:  uint32 sequence, uint32 length, length bytes of JSON
//   'D' data event:  uint32 sequence, uint32 pair count, (uint32 len, key, uint32 len, value)...
//   'C' compressed:  uint32 length, length bytes of zlib holding more frames
//   'A' ACK (server to client): uint32 sequence of the last event acknowledged
// All integers big-endian. Anything else is a protocol error: the connection is closed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::lumberjack {

struct Limits {
  size_t max_frame_bytes = size_t(32) << 20;         // one JSON/data/compressed frame on the wire
  size_t max_decompressed_bytes = size_t(64) << 20;  // what one compressed frame may inflate to
  int max_nesting = 2;                               // compressed frames inside compressed frames
};

class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  virtual void on_window(uint8_t version, uint32_t size) = 0;
  // `payload` is valid during the call only.
  virtual void on_json(uint8_t version, uint32_t sequence, std::string_view payload) = 0;
  virtual void on_data(uint8_t version, uint32_t sequence,
                       const std::vector<std::pair<std::string_view, std::string_view>>& pairs) = 0;
};

class FrameParser {
 public:
  // One inflate buffer per nesting level, made up front: the parse of an outer level holds views
  // into its buffer while the inner levels run.
  explicit FrameParser(Limits limits = {}) : limits_(limits), inflated_(size_t(std::max(0, limits.max_nesting))) {}

  // Parses every complete frame in what was kept plus `bytes`, keeping an incomplete tail.
  // Returns false on a protocol error (error() says what); the parser stays failed and the
  // connection should be closed.
  bool feed(std::string_view bytes, FrameHandler& handler);
  const std::string& error() const { return error_; }
  bool failed() const { return !error_.empty(); }
  size_t buffered() const { return pending_.size(); }

 private:
  // Parses complete frames from the front of `data`; returns the bytes used (a partial frame
  // at the end is left) or npos after setting error_. `inner`: inside a compressed frame,
  // where a partial frame is an error.
  size_t parse(std::string_view data, FrameHandler& handler, int depth);
  bool inflate(std::string_view compressed, std::string& out);

  Limits limits_;
  std::string pending_;
  std::vector<std::string> inflated_;  // one reusable buffer per nesting level
  std::vector<std::pair<std::string_view, std::string_view>> pairs_;
  std::string error_;
};

// Encoders: the server's ACK, and the client side (tests, fuzz seeds, load generators).
void append_ack(std::string& out, uint8_t version, uint32_t sequence);
void append_window(std::string& out, uint32_t size, uint8_t version = '2');
void append_json(std::string& out, uint32_t sequence, std::string_view json, uint8_t version = '2');
void append_data(std::string& out, uint32_t sequence,
                 const std::vector<std::pair<std::string, std::string>>& pairs, uint8_t version = '1');
// Wraps already encoded frames into one compressed frame (zlib, `level` 0-9).
void append_compressed(std::string& out, std::string_view frames, int level = 3, uint8_t version = '2');

}  // namespace sluice::lumberjack
