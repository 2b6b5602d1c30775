// libFuzzer target for CEF: decoding (legacy and ECS names) and timestamp parsing must never
// crash; what decodes must encode, and the encoding must decode again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "core/event.h"
#include "plugins/codecs/cef/cef_format.h"

namespace {

sluice::cef::Format& format(bool ecs) {
  static std::unique_ptr<sluice::cef::Format> formats[2];
  std::unique_ptr<sluice::cef::Format>& slot = formats[ecs ? 1 : 0];
  if (!slot) {
    sluice::cef::FormatSettings settings;
    settings.ecs = ecs;
    slot = std::make_unique<sluice::cef::Format>(settings);
  }
  return *slot;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool ecs = data[0] & 1;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  sluice::cef::ParsedRecord record;
  std::string error;
  sluice::Timestamp ts;
  (void)sluice::cef::parse_cef_timestamp(text, cctz::utc_time_zone(), ts);
  if (!format(ecs).parse(text, record, &error)) return 0;
  sluice::Event event;
  sluice::cef::Format::apply(record, event.fields());
  // Encode what was decoded (header fields as templates would render them) and decode it again.
  sluice::cef::Format::EncodeSettings settings;
  settings.fields = {"message", "sourceAddress", "[source][ip]", "name", "[cef][name]"};
  format(ecs).prepare(settings);
  std::string out;
  format(ecs).encode(event, settings, out);
  sluice::cef::ParsedRecord again;
  if (!format(ecs).parse(out, again, &error)) std::abort();
  return 0;
}
