// The grok filter's behaviour, apart from the plugin API: which fields are matched against
// which patterns, in what order, and how captures land in the event (Logstash's rules:
// empty captures dropped, a second value turns a string field into an array, `overwrite`
// replaces, :int/:float coerce, failure and timeout tags).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"
#include "grok/grok_pattern.h"
#include "grok/prefilter.h"

namespace sluice::grok {

struct GrokSettings {
  // field -> patterns tried in order
  std::vector<std::pair<std::string, std::vector<std::string>>> match;
  std::vector<std::pair<std::string, std::string>> pattern_definitions;
  std::vector<std::string> patterns_dir;
  std::string patterns_files_glob = "*";
  bool break_on_match = true;
  bool named_captures_only = true;
  bool keep_empty_captures = false;
  std::vector<std::string> overwrite;
  std::vector<std::string> tag_on_failure{"_grokparsefailure"};
  std::string tag_on_timeout = "_groktimeout";
  int64_t timeout_millis = 30000;  // 0 = no timeout
  bool timeout_per_event = false;  // timeout_scope => "event" (default "pattern")
  std::string ecs_compatibility = "v8";  // disabled, v1, v8
  std::string target;
  bool builtin_patterns = true;  // load this project's library first
  bool prefilter = true;         // Hyperscan pre-filter for fields with several patterns
  bool group_captures = true;    // parent objects found once per event (tests compare with false)
};

enum class GrokResult { Matched, Failed, TimedOut };

class GrokEngine {
 public:
  // Loads the patterns and compiles every expression. Throws GrokError; its message names
  // the field and pattern at fault.
  explicit GrokEngine(const GrokSettings& settings);
  ~GrokEngine();

  // Matches and writes the captures; adds tag_on_failure / tag_on_timeout.
  GrokResult process(Event& event) const;

  struct FieldPatterns;
  const std::vector<std::unique_ptr<FieldPatterns>>& fields() const { return fields_; }
  // How many patterns of the field at `index` Hyperscan pre-filters (0 = no pre-filter).
  size_t prefiltered_count(size_t index) const;

 private:
  enum class Attempt { NoMatch, Match, Timeout };
  Attempt match_field(const FieldPatterns& f, std::string_view subject, Event& event,
                      MatchBudget& budget) const;
  Attempt try_patterns(const FieldPatterns& f, const std::vector<unsigned char>* candidates,
                       std::string_view subject, Event& event, MatchBudget& budget) const;
  void apply_captures(const struct CompiledExpression& expr, std::string_view subject, pcre2_match_data* data,
                      Event& event) const;

  GrokSettings settings_;
  int64_t timeout_nanos_ = 0;
  std::vector<std::unique_ptr<FieldPatterns>> fields_;
};

}  // namespace sluice::grok
