// Streaming compression of an object being built in memory: none, gzip (one member) or zstd
// (one frame). Bytes come out into the caller's string as the compressor produces them.
#pragma once

#include <zlib.h>
#include <zstd.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace sluice::s3 {

enum class Encoding { None, Gzip, Zstd };

class StreamCompressor {
 public:
  explicit StreamCompressor(Encoding encoding = Encoding::None, int level = 0) : encoding_(encoding), level_(level) {}
  ~StreamCompressor() {
    if (zlib_ready_) deflateEnd(&zlib_);
    if (zstd_) ZSTD_freeCCtx(zstd_);
  }
  StreamCompressor(const StreamCompressor&) = delete;
  StreamCompressor& operator=(const StreamCompressor&) = delete;

  // Starts a new stream (a new object).
  void begin() {
    if (encoding_ == Encoding::Gzip) {
      if (!zlib_ready_) {
        if (deflateInit2(&zlib_, level_ > 0 ? level_ : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
          throw std::runtime_error("zlib: deflateInit2 failed");
        zlib_ready_ = true;
      } else {
        deflateReset(&zlib_);
      }
    } else if (encoding_ == Encoding::Zstd) {
      if (!zstd_) {
        zstd_ = ZSTD_createCCtx();
        if (!zstd_) throw std::runtime_error("zstd: cannot create a context");
      }
      ZSTD_CCtx_reset(zstd_, ZSTD_reset_session_only);
      ZSTD_CCtx_setParameter(zstd_, ZSTD_c_compressionLevel, level_ > 0 ? level_ : 3);
      ZSTD_CCtx_setParameter(zstd_, ZSTD_c_checksumFlag, 1);
    }
  }

  void append(std::string_view in, std::string& out) { run(in, out, false); }
  void finish(std::string& out) { run({}, out, true); }

 private:
  void run(std::string_view in, std::string& out, bool last) {
    if (encoding_ == Encoding::None) {
      out.append(in);
      return;
    }
    if (encoding_ == Encoding::Gzip) {
      zlib_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
      zlib_.avail_in = uInt(in.size());
      int flush = last ? Z_FINISH : Z_NO_FLUSH;
      for (;;) {
        size_t old = out.size();
        size_t room = deflateBound(&zlib_, zlib_.avail_in) + 64;
        out.resize(old + room);
        zlib_.next_out = reinterpret_cast<Bytef*>(out.data() + old);
        zlib_.avail_out = uInt(room);
        int rc = deflate(&zlib_, flush);
        out.resize(old + room - zlib_.avail_out);
        if (rc == Z_STREAM_ERROR) throw std::runtime_error("zlib: deflate failed");
        if (last ? rc == Z_STREAM_END : (zlib_.avail_in == 0 && zlib_.avail_out != 0)) break;
      }
      return;
    }
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
    for (;;) {
      size_t old = out.size();
      size_t room = ZSTD_CStreamOutSize();
      out.resize(old + room);
      ZSTD_outBuffer output{out.data() + old, room, 0};
      size_t remaining = ZSTD_compressStream2(zstd_, &output, &input, mode);
      out.resize(old + output.pos);
      if (ZSTD_isError(remaining)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(remaining));
      if (last ? remaining == 0 : input.pos == input.size) break;
    }
  }

  Encoding encoding_;
  int level_;
  z_stream zlib_{};
  bool zlib_ready_ = false;
  ZSTD_CCtx* zstd_ = nullptr;
};

}  // namespace sluice::s3
