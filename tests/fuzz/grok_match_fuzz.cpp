// libFuzzer target: grok matching of arbitrary input (any bytes, invalid UTF-8 included)
// against stock patterns, with and without the Hyperscan pre-filter. Input starting with
// "!pattern!" is instead compiled as a grok expression (translation and expansion must
// reject bad expressions with an error, never crash) and matched against the rest; on an
// ASCII subject, the pattern's byte-mode twin must find what its UTF form finds.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/charset.h"
#include "core/event.h"
#include "grok/ascii_variant.h"
#include "grok/grok_engine.h"
#include "grok/grok_pattern.h"

namespace {

using namespace sluice;

const grok::GrokEngine& engine(bool prefilter) {
  static const auto make = [](bool pf) {
    grok::GrokSettings s;
    s.ecs_compatibility = "v1";
    s.prefilter = pf;
    s.timeout_millis = 100;
    s.break_on_match = false;
    s.match = {{"message",
                {"%{COMBINEDAPACHELOG}", "%{SYSLOGLINE}", "%{CISCO_TAGGED_SYSLOG} %{GREEDYDATA:rest}",
                 "%{IPTABLES}", "^%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:msg}", "%{QS:q} %{URI:u}"}}};
    return std::make_unique<grok::GrokEngine>(s);
  };
  static const auto with = make(true);
  static const auto without = make(false);
  return prefilter ? *with : *without;
}

}  // namespace

// The engines compile their Hyperscan pre-filter once, ~20 s under ASan: done before fuzzing
// starts, so that a short run's time goes to inputs.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  engine(true);
  engine(false);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.starts_with("!pattern!")) {
    std::string_view rest = input.substr(9);
    size_t split = rest.find('\n');
    std::string expression(rest.substr(0, split));
    std::string subject(split == std::string_view::npos ? "" : rest.substr(split + 1));
    try {
      grok::GrokSettings s;
      s.match = {{"message", {expression}}};
      s.timeout_millis = 100;
      grok::GrokEngine g(s);
      Event e;
      e.set(FieldRef::of("message"), Value(std::string_view(subject)));
      g.process(e);
      if (!is_ascii(subject)) return 0;
      grok::GrokPattern pattern(expression, grok::PatternLibrary::builtin("v1"), true);
      if (!pattern.has_ascii_variant()) return 0;
      grok::MatchScratch& scratch = grok::MatchScratch::for_this_thread();
      grok::MatchBudget budget;
      budget.timeout_nanos = 100'000'000;
      const grok::MatchStatus twin = pattern.match(subject, scratch, budget, true);
      const size_t slots = 2 * (size_t(pattern.group_count()) + 1);
      std::vector<PCRE2_SIZE> twin_offsets(pcre2_get_ovector_pointer(scratch.data(pattern.group_count())),
                                           pcre2_get_ovector_pointer(scratch.data(pattern.group_count())) + slots);
      budget.start = {};
      const grok::MatchStatus utf = pattern.match(subject, scratch, budget, false);
      if (twin == grok::MatchStatus::Timeout || utf == grok::MatchStatus::Timeout) return 0;  // step counts differ
      if (twin != utf) __builtin_trap();
      if (utf == grok::MatchStatus::Match) {
        const PCRE2_SIZE* offsets = pcre2_get_ovector_pointer(scratch.data(pattern.group_count()));
        if (!std::equal(twin_offsets.begin(), twin_offsets.end(), offsets)) __builtin_trap();
      }
    } catch (const std::exception&) {
      // rejected at "startup": fine
    }
    return 0;
  }
  Event a, b;
  a.set(FieldRef::of("message"), Value(input));
  b.set(FieldRef::of("message"), Value(input));
  auto ra = engine(true).process(a);
  auto rb = engine(false).process(b);
  // The pre-filter must never change the outcome.
  if (ra != rb || !(a.fields() == b.fields())) __builtin_trap();
  return 0;
}
