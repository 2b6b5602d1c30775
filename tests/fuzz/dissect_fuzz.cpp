// libFuzzer target for dissect: the input is `mapping \0 text`; any mapping that compiles must
// dissect any text without crashing, with every value inside the text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/filters/dissect/dissector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  if (split == std::string_view::npos) return 0;
  std::string_view mapping = input.substr(0, split);
  std::string_view text = input.substr(split + 1);
  try {
    sluice::dissect::Dissector dissector(mapping);
    std::vector<sluice::dissect::Span> spans;
    if (dissector.dissect(text, spans)) {
      if (spans.size() != dissector.fields().size()) std::abort();
      for (const auto& span : spans) {
        if (span.start > text.size() || span.length > text.size() - span.start) std::abort();
      }
      for (const auto& field : dissector.fields()) {
        (void)dissector.join_string(field);
        (void)dissector.find_field(field.name, field.id);
      }
    }
  } catch (const sluice::dissect::MappingError&) {
  }
  return 0;
}
