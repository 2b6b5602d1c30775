// libFuzzer target for the stream framers (RFC 6587 syslog framing and newline framing): the
// frames must not depend on how the stream is cut into reads, and never exceed the cap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/framing.h"

namespace {

using Frames = std::vector<std::pair<std::string, bool>>;

template <typename Framer>
Frames run(Framer framer, std::string_view stream, size_t piece, size_t max) {
  Frames out;
  auto sink = [&](std::string_view f, bool t) {
    if (f.size() > max) std::abort();
    out.emplace_back(std::string(f), t);
  };
  for (size_t i = 0; i < stream.size(); i += piece) framer.feed(stream.substr(i, piece), sink);
  framer.finish(sink);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t max = 1 + data[0] % 64;     // small caps reach the truncation paths
  size_t piece = 1 + data[1] % 17;
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  if (run(sluice::net::SyslogFramer(max), stream, stream.size() + 1, max) !=
      run(sluice::net::SyslogFramer(max), stream, piece, max)) {
    std::abort();
  }
  if (run(sluice::net::LineFramer(max), stream, stream.size() + 1, max) !=
      run(sluice::net::LineFramer(max), stream, piece, max)) {
    std::abort();
  }
  return 0;
}
