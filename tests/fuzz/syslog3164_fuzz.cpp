// libFuzzer target for the hand-written RFC 3164 matcher (legacy and ECS): never crashes, every
// view it returns lies inside the input. With SLUICE_FUZZ_DIFF=1 it is also compared with the
// grok engine running Logstash's default syslog pattern (the reference it imitates).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "core/event.h"
#include "grok/grok_engine.h"
#include "plugins/inputs/syslog/syslog3164.h"

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

const sluice::grok::GrokEngine* engine(bool ecs) {
  static std::unique_ptr<sluice::grok::GrokEngine> engines[2];
  auto& e = engines[ecs ? 1 : 0];
  if (!e) {
    sluice::grok::GrokSettings s;
    s.match = {{"message", {ecs ? "<%{POSINT:[log][syslog][priority]:int}>%{SYSLOGLINE}" : "<%{POSINT:priority}>%{SYSLOGLINE}"}}};
    s.overwrite = {"message"};
    s.ecs_compatibility = ecs ? "v8" : "disabled";
    s.timeout_millis = 0;
    e = std::make_unique<sluice::grok::GrokEngine>(s);
  }
  return e.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const bool diff = std::getenv("SLUICE_FUZZ_DIFF") != nullptr;
  for (bool ecs : {false, true}) {
    sluice::syslog::Rfc3164 r;
    bool matched = sluice::syslog::parse_rfc3164(text, ecs, r);
    if (matched) {
      if (!inside(r.timestamp, text) || !inside(r.host, text) || !inside(r.program, text) || !inside(r.pid, text) ||
          !inside(r.message, text) || r.timestamp.empty() || r.priority < 1) {
        std::abort();
      }
    }
    if (diff) {
      sluice::Event event;
      event.init_with_message(text, sluice::Timestamp::now());
      bool grok_matched = engine(ecs)->process(event) == sluice::grok::GrokResult::Matched;
      if (grok_matched != matched) std::abort();
    }
  }
  return 0;
}
