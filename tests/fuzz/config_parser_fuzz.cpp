// libFuzzer target: any bytes given to the config parser either parse or raise ConfigError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // The first byte picks the escape mode, so both string paths get exercised.
  sluice::config::ParseOptions options;
  options.support_escapes = size > 0 && (data[0] & 1);
  try {
    sluice::config::PipelineConfig cfg = sluice::config::parse_config(text, "fuzz.conf", options);
    (void)cfg;
  } catch (const sluice::config::ConfigError&) {
    // Expected for malformed input.
  }
  return 0;
}
