// libFuzzer target for the RFC 5424 parser: never crashes; an accepted message has views inside
// the input and structured data that the element walker accepts too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "plugins/inputs/syslog/syslog5424.h"

namespace {
bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sluice::syslog::Rfc5424 r;
  std::string scratch;
  if (sluice::syslog::parse_rfc5424(text, r)) {
    for (std::string_view v : {r.timestamp, r.host, r.app_name, r.proc_id, r.msg_id, r.structured_data, r.message}) {
      if (!inside(v, text)) std::abort();
    }
    if (r.priority < 0 || r.priority > 191 || r.version < 1) std::abort();
    size_t params = 0;
    bool ok = sluice::syslog::for_each_sd(r.structured_data, scratch, [](std::string_view id) {
      if (id.empty() || id.size() > 32) std::abort();
    }, [&](std::string_view, std::string_view name, std::string_view) {
      if (name.empty()) std::abort();
      ++params;
    });
    if (!ok) std::abort();
  }
  // The walker alone must not crash on anything either.
  sluice::syslog::for_each_sd(text, scratch, [](std::string_view) {}, [](std::string_view, std::string_view, std::string_view) {});
  sluice::syslog::structured_data_length(text);
  return 0;
}
