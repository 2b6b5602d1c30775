// libFuzzer target for the kv scanner: the linear scanner must agree with Logstash's regex
// (run on PCRE2) on every input without backslashes, and neither may crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/filters/kv/kv_scanner.h"

namespace {

const std::vector<std::unique_ptr<sluice::kv::Scanner>>& scanners() {
  static std::vector<std::unique_ptr<sluice::kv::Scanner>> all = [] {
    std::vector<std::unique_ptr<sluice::kv::Scanner>> list;
    for (bool strict : {false, true}) {
      for (bool brackets : {true, false}) {
        for (const char* fs : {" ", ",; ", "&?"}) {
          for (const char* vs : {"=", ":=", " "}) {
            sluice::kv::Syntax syntax;
            syntax.strict_whitespace = strict;
            syntax.include_brackets = brackets;
            syntax.field_split = fs;
            syntax.value_split = vs;
            list.push_back(std::make_unique<sluice::kv::Scanner>(syntax));
          }
        }
      }
    }
    return list;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& all = scanners();
  sluice::kv::Scanner& scanner = *all[data[0] % all.size()];
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<sluice::kv::Pair> fast, slow;
  scanner.scan(text, fast);
  for (const auto& pair : fast) {
    // Every pair is a view into the input.
    if (pair.key.data() < text.data() || pair.key.data() + pair.key.size() > text.data() + text.size()) std::abort();
  }
  if (std::memchr(text.data(), '\\', text.size()) != nullptr) return 0;
  if (scanner.scan_with_regex(text, slow) != sluice::kv::ScanResult::Ok) return 0;
  if (fast.size() != slow.size()) std::abort();
  for (size_t i = 0; i < fast.size(); ++i) {
    if (fast[i].key != slow[i].key || fast[i].value != slow[i].value) std::abort();
  }
  sluice::kv::CharStripper trim("<>\\[\\],", sluice::kv::CharStripper::Mode::TrimEnds);
  std::string copy(text);
  trim.apply(copy);
  return 0;
}
