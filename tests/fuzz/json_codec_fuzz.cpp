// libFuzzer target for JSON: the parser and the json / json_lines codecs on any bytes. Invalid input
// must give an event tagged `_jsonparsefailure` with the text kept; valid input must survive a
// write -> parse round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "../unit/parsers_test_support.h"
#include "core/json.h"

namespace {

struct CollectingSink : sluice::EventSink {
  std::vector<std::unique_ptr<sluice::Event>> events;
  void accept(sluice::Event* event) override { events.emplace_back(event); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  sluice::Value parsed;
  if (sluice::json_parse(text, parsed)) {
    std::string written;
    sluice::json_append_value(written, parsed);
    sluice::Value again;
    if (!sluice::json_parse(written, again)) std::abort();
    if (!(again == parsed)) std::abort();
  }

  static std::unique_ptr<sluice::Codec> json = sluice::test::make_codec("json", "");
  static std::unique_ptr<sluice::Codec> json_lines = sluice::test::make_codec("json_lines", "");
  for (sluice::Codec* codec : {json.get(), json_lines.get()}) {
    CollectingSink sink;
    std::unique_ptr<sluice::Codec> fresh = codec->clone();
    fresh->decode(text, sink);
    fresh->flush(sink);
    for (const auto& event : sink.events) {
      if (event->has_tag("_jsonparsefailure") && !event->get(sluice::FieldRef::of("message"))) std::abort();
    }
  }
  return 0;
}
