// Streaming decoding of an object's bytes as they arrive: plain, gzip (any number of members)
// or zstd (any number of frames), chosen from the key (hint) or the first bytes (magic).
#pragma once

#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sluice::s3 {

class StreamDecompressor {
 public:
  enum class Kind { Unknown, Plain, Gzip, Zstd };
  using Output = std::function<void(std::string_view)>;

  explicit StreamDecompressor(Kind hint = Kind::Unknown) : kind_(hint) {}
  ~StreamDecompressor() {
    if (zlib_ready_) inflateEnd(&zlib_);
    if (zstd_) ZSTD_freeDCtx(zstd_);
  }
  StreamDecompressor(const StreamDecompressor&) = delete;
  StreamDecompressor& operator=(const StreamDecompressor&) = delete;

  Kind kind() const { return kind_; }

  // Throws std::runtime_error on corrupt input.
  void feed(std::string_view in, const Output& out) {
    if (kind_ == Kind::Unknown) {
      // Decide from the magic bytes once 4 are there.
      head_.append(in);
      if (head_.size() < 4) return;
      const unsigned char* b = reinterpret_cast<const unsigned char*>(head_.data());
      if (b[0] == 0x1f && b[1] == 0x8b) kind_ = Kind::Gzip;
      else if (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) kind_ = Kind::Zstd;
      else kind_ = Kind::Plain;
      std::string head;
      head.swap(head_);
      decode(head, out);
      return;
    }
    decode(in, out);
  }

  // End of the object: flushes what is pending; throws if a compressed stream was cut short.
  void finish(const Output& out) {
    if (kind_ == Kind::Unknown) {
      kind_ = Kind::Plain;
      if (!head_.empty()) out(head_);
      head_.clear();
      return;
    }
    if (kind_ == Kind::Gzip && zlib_ready_ && in_member_)
      throw std::runtime_error("gzip stream truncated");
    if (kind_ == Kind::Zstd && zstd_ && frame_pending_)
      throw std::runtime_error("zstd stream truncated");
  }

 private:
  void decode(std::string_view in, const Output& out) {
    if (in.empty()) return;
    if (kind_ == Kind::Plain) {
      out(in);
      return;
    }
    if (buffer_.size() < (256u << 10)) buffer_.resize(256u << 10);
    if (kind_ == Kind::Gzip) {
      if (!zlib_ready_) {
        if (inflateInit2(&zlib_, 15 + 32) != Z_OK) throw std::runtime_error("zlib: inflateInit2 failed");
        zlib_ready_ = true;
      }
      zlib_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
      zlib_.avail_in = uInt(in.size());
      while (zlib_.avail_in > 0) {
        if (!in_member_) {
          // Between members: padding zeros after the last member are tolerated, as gunzip does.
          if (zlib_.next_in[0] == 0) {
            ++zlib_.next_in;
            --zlib_.avail_in;
            continue;
          }
          inflateReset(&zlib_);
          in_member_ = true;
        }
        zlib_.next_out = reinterpret_cast<Bytef*>(buffer_.data());
        zlib_.avail_out = uInt(buffer_.size());
        int rc = inflate(&zlib_, Z_NO_FLUSH);
        size_t produced = buffer_.size() - zlib_.avail_out;
        if (produced) out(std::string_view(buffer_.data(), produced));
        if (rc == Z_STREAM_END) {
          in_member_ = false;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
          throw std::runtime_error(std::string("gzip: ") + (zlib_.msg ? zlib_.msg : "corrupt data"));
        } else if (rc == Z_BUF_ERROR && produced == 0 && zlib_.avail_in > 0) {
          throw std::runtime_error("gzip: no progress");
        }
      }
      return;
    }
    if (!zstd_) {
      zstd_ = ZSTD_createDCtx();
      if (!zstd_) throw std::runtime_error("zstd: cannot create a context");
    }
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    while (input.pos < input.size) {
      ZSTD_outBuffer output{buffer_.data(), buffer_.size(), 0};
      size_t rc = ZSTD_decompressStream(zstd_, &output, &input);
      if (ZSTD_isError(rc)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(rc));
      if (output.pos) out(std::string_view(buffer_.data(), output.pos));
      frame_pending_ = rc != 0;
    }
    // Flush what the decoder still holds for a full output buffer.
    while (frame_pending_) {
      ZSTD_outBuffer output{buffer_.data(), buffer_.size(), 0};
      size_t rc = ZSTD_decompressStream(zstd_, &output, &input);
      if (ZSTD_isError(rc)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(rc));
      if (output.pos) out(std::string_view(buffer_.data(), output.pos));
      frame_pending_ = rc != 0;
      if (output.pos < output.size) break;
    }
  }

  Kind kind_;
  std::string head_;
  std::string buffer_;
  z_stream zlib_{};
  bool zlib_ready_ = false;
  bool in_member_ = false;
  ZSTD_DCtx* zstd_ = nullptr;
  bool frame_pending_ = false;
};

}  // namespace sluice::s3
