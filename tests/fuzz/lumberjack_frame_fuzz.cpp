// libFuzzer target for the Lumberjack frame parser: any bytes, fed whole and in two pieces, must
// give the same frames (or the same failure) and never crash or grow past the limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/inputs/beats/lumberjack.h"

namespace {

struct Recorder final : sluice::lumberjack::FrameHandler {
  std::string log;
  void on_window(uint8_t version, uint32_t size) override {
    log += char(version);
    log += 'W' + std::to_string(size) + ';';
  }
  void on_json(uint8_t version, uint32_t sequence, std::string_view payload) override {
    log += char(version);
    log += 'J' + std::to_string(sequence) + ':' + std::to_string(payload.size()) + ';';
  }
  void on_data(uint8_t version, uint32_t sequence,
               const std::vector<std::pair<std::string_view, std::string_view>>& pairs) override {
    log += char(version);
    log += 'D' + std::to_string(sequence) + ':' + std::to_string(pairs.size()) + ';';
  }
};

sluice::lumberjack::Limits small_limits() {
  sluice::lumberjack::Limits limits;
  limits.max_frame_bytes = 1 << 16;
  limits.max_decompressed_bytes = 1 << 18;
  return limits;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  sluice::lumberjack::FrameParser whole(small_limits());
  Recorder a;
  bool ok_whole = whole.feed(input, a);

  size_t cut = size ? data[0] % (size + 1) : 0;
  sluice::lumberjack::FrameParser pieces(small_limits());
  Recorder b;
  bool ok_pieces = pieces.feed(input.substr(0, cut), b) && pieces.feed(input.substr(cut), b);
  if (ok_whole != ok_pieces) std::abort();
  if (ok_whole && (a.log != b.log || whole.buffered() != pieces.buffered())) std::abort();
  if (whole.buffered() > size) std::abort();
  return 0;
}
