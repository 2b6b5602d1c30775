// sluice's own pattern library against the upstream pattern files of ../shared/corpus/grok:
// every upstream pattern NAME must exist in the same mode, and `%{NAME}` must give the same
// result with both libraries (match or not, every field and value) on the test-vector inputs
// and a sample of the corpus logs. named_captures_only => false, so the nested %{...}
// references must be the same too (each one becomes a field).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "core/event.h"
#include "grok/grok_engine.h"
#include "test_support.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> sample_inputs(const fs::path& shared) {
  std::set<std::string> unique;
  // Test vector inputs: the "input" string of each JSON line, taken without a JSON parser
  // by the engine itself (a grok pattern), which keeps this test independent.
  grok::GrokSettings s;
  s.builtin_patterns = false;
  s.pattern_definitions = {{"JSTR", R"re((?:[^"\\]|\\.)*)re"}};
  s.match = {{"message", {R"re("input":"(?<input>%{JSTR})")re"}}};
  grok::GrokEngine extract(s);
  for (const auto& line : test::read_lines((shared / "corpus/grok/tests.jsonl").string())) {
    Event e;
    e.set(FieldRef::of("message"), Value(std::string_view(line)));
    if (extract.process(e) != grok::GrokResult::Matched) continue;
    std::string raw = e.get(FieldRef::of("input"))->as_string(), text;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size()) {
        char c = raw[++i];
        if (c == 'n') text += '\n';
        else if (c == 't') text += '\t';
        else if (c == 'u' && i + 4 < raw.size()) {
          unsigned cp = std::stoul(raw.substr(i + 1, 4), nullptr, 16);
          i += 4;
          if (cp < 0x80) text += char(cp);
          else if (cp < 0x800) { text += char(0xC0 | (cp >> 6)); text += char(0x80 | (cp & 0x3F)); }
          else { text += char(0xE0 | (cp >> 12)); text += char(0x80 | ((cp >> 6) & 0x3F)); text += char(0x80 | (cp & 0x3F)); }
        } else text += c;
      } else {
        text += raw[i];
      }
    }
    unique.insert(text);
  }
  size_t per_file = 40;
  for (const auto& entry : fs::recursive_directory_iterator(shared / "corpus/logs")) {
    if (!entry.is_regular_file()) continue;
    auto lines = test::read_lines(entry.path().string());
    size_t step = std::max<size_t>(1, lines.size() / per_file);
    for (size_t i = 0; i < lines.size(); i += step)
      if (lines[i].size() < 4000) unique.insert(lines[i]);
  }
  return {unique.begin(), unique.end()};
}

void compare_mode(const std::string& mode) {
  auto shared = test::shared_dir();
  if (!shared) GTEST_SKIP() << "../shared (corpus/grok) is absent: library comparison not run";
  std::string dir = (*shared / "corpus/grok/patterns" / (mode == "disabled" ? "legacy" : "ecs-v1")).string();
  grok::PatternLibrary upstream;
  upstream.add_dir(dir);
  const grok::PatternLibrary& own = grok::PatternLibrary::builtin(mode);
  auto inputs = sample_inputs(*shared);
  ASSERT_GT(inputs.size(), 100u);

  std::vector<std::string> missing;
  size_t compared = 0;
  for (const auto& name : upstream.names()) {
    if (!own.find(name)) {
      missing.push_back(name);
      continue;
    }
    auto settings = [&](bool builtin) {
      grok::GrokSettings s;
      s.match = {{"message", {"%{" + name + "}"}}};
      s.ecs_compatibility = mode;
      s.named_captures_only = false;
      s.timeout_millis = 200;
      s.builtin_patterns = builtin;
      if (!builtin) s.patterns_dir = {dir};
      return s;
    };
    std::unique_ptr<grok::GrokEngine> theirs, ours;
    try {
      theirs = std::make_unique<grok::GrokEngine>(settings(false));
    } catch (const std::exception&) {
      continue;  // an upstream pattern that does not compile alone (needs context)
    }
    try {
      ours = std::make_unique<grok::GrokEngine>(settings(true));
    } catch (const std::exception& e) {
      ADD_FAILURE() << mode << " " << name << ": own pattern does not compile: " << e.what();
      continue;
    }
    size_t differences = 0;
    auto started = std::chrono::steady_clock::now();
    for (const auto& input : inputs) {
      Event a, b;
      a.set(FieldRef::of("message"), Value(std::string_view(input)));
      b.set(FieldRef::of("message"), Value(std::string_view(input)));
      theirs->process(a);
      ours->process(b);
      if (!(a.fields() == b.fields())) {
        if (++differences <= 2) {
          std::string ja, jb;
          for (const auto& entry : a.fields()) ja += entry.key + "=" + entry.value.to_text() + " ";
          for (const auto& entry : b.fields()) jb += entry.key + "=" + entry.value.to_text() + " ";
          ADD_FAILURE() << mode << " " << name << " differs on: " << input << "\n  upstream: " << ja
                        << "\n  own:      " << jb;
        }
      }
    }
    ++compared;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    if (ms > 300) std::cout << mode << " " << name << ": " << ms << " ms\n";
  }
  std::string list;
  for (const auto& m : missing) list += m + " ";
  EXPECT_TRUE(missing.empty()) << missing.size() << " pattern names missing in mode " << mode << ": " << list;
  std::cout << mode << ": compared " << compared << " patterns on " << inputs.size() << " inputs\n";
}

TEST(GrokLibrary, LegacyMatchesUpstreamPatterns) { compare_mode("disabled"); }
TEST(GrokLibrary, EcsV1MatchesUpstreamPatterns) { compare_mode("v1"); }

}  // namespace
}  // namespace sluice
