// filter/grok: parses text fields with grok patterns (see src/grok/ for the engine).
#include <memory>

#include "config/parser.h"
#include "grok/grok_engine.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema grok_schema() {
  PluginSchema s;
  s.kind = PluginKind::Filter;
  s.name = "grok";
  s.doc = "Parses unstructured text into fields with grok patterns (%{SYNTAX:SEMANTIC:type}), the Oniguruma "
          "regex dialect of Logstash, and the built-in pattern library of the chosen ECS mode.";
  s.options = {
      {"match", OptionType::Hash, cv_hash(), false, {},
       "Field => pattern, or field => [patterns] tried in order."},
      {"pattern_definitions", OptionType::Hash, cv_hash(), false, {},
       "Pattern name => regex, defined for this filter only (wins over files)."},
      {"patterns_dir", OptionType::Array, cv_array({}), false, {},
       "Directories (or files/globs) of pattern files loaded after the built-in library."},
      {"patterns_files_glob", OptionType::String, cv_string("*"), false, {},
       "Glob selecting the pattern files inside each patterns_dir."},
      {"break_on_match", OptionType::Boolean, cv_bool(true), false, {},
       "Stop at the first pattern that matches."},
      {"named_captures_only", OptionType::Boolean, cv_bool(true), false, {},
       "Only store named captures (%{SYNTAX:SEMANTIC}); when false, %{SYNTAX} stores field SYNTAX."},
      {"keep_empty_captures", OptionType::Boolean, cv_bool(false), false, {},
       "Keep captures that are empty or did not take part in the match."},
      {"overwrite", OptionType::Array, cv_array({}), false, {},
       "Fields whose existing value a capture replaces (instead of becoming an array)."},
      {"tag_on_failure", OptionType::Array, cv_array({"_grokparsefailure"}), false, {},
       "Tags added when no pattern matches."},
      {"tag_on_timeout", OptionType::String, cv_string("_groktimeout"), false, {},
       "Tag added when matching runs past timeout_millis."},
      {"timeout_millis", OptionType::Number, cv_number(30000), false, {},
       "Give up a match after this long (0 = never)."},
      {"timeout_scope", OptionType::String, cv_string("pattern"), false, {"pattern", "event"},
       "Whether timeout_millis applies to each pattern or to the whole event."},
      {"ecs_compatibility", OptionType::String, std::nullopt, false, {"disabled", "v1", "v8"},
       "Pattern library: legacy field names (disabled) or ECS (v1, v8); default from the pipeline."},
      {"target", OptionType::String, std::nullopt, false, {},
       "Put the captures under this field instead of the event root."},
  };
  return s;
}

class GrokFilter : public Filter {
 public:
  GrokFilter(const Options& options, PluginContext& ctx) : metrics_(ctx.metrics) {
    grok::GrokSettings s;
    for (auto& [field, value] : options.get_hash("match")) {
      std::vector<std::string> patterns;
      if (value.kind == config::ConfigValue::Kind::Array) {
        for (const auto& item : value.items) patterns.push_back(item.text);
      } else {
        patterns.push_back(value.text);
      }
      // `match => ["message", "a", "message", "b"]` repeats a key: its patterns add up.
      auto it = std::find_if(s.match.begin(), s.match.end(), [&key = field](auto& m) { return m.first == key; });
      if (it == s.match.end()) s.match.emplace_back(field, std::move(patterns));
      else it->second.insert(it->second.end(), patterns.begin(), patterns.end());
    }
    s.pattern_definitions = options.get_string_hash("pattern_definitions");
    s.patterns_dir = options.get_string_array("patterns_dir");
    s.patterns_files_glob = options.get_string("patterns_files_glob");
    s.break_on_match = options.get_bool("break_on_match");
    s.named_captures_only = options.get_bool("named_captures_only");
    s.keep_empty_captures = options.get_bool("keep_empty_captures");
    s.overwrite = options.get_string_array("overwrite");
    s.tag_on_failure = options.get_string_array("tag_on_failure");
    s.tag_on_timeout = options.get_string("tag_on_timeout");
    s.timeout_millis = options.get_int("timeout_millis");
    s.timeout_per_event = options.get_string("timeout_scope") == "event";
    s.ecs_compatibility = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                          : ctx.settings                    ? ctx.settings->ecs_compatibility
                                                            : std::string("v8");
    s.target = options.get_string("target");
    if (s.timeout_millis < 0) throw config::ConfigError(options.position("timeout_millis"), "timeout_millis must be >= 0");
    try {
      engine_ = std::make_unique<grok::GrokEngine>(s);
    } catch (const grok::GrokError& e) {
      std::string where = options.has("match") ? "match" : "patterns_dir";
      if (std::string_view(e.what()).find("pattern file") != std::string_view::npos) where = "patterns_dir";
      throw config::ConfigError(options.position(where), std::string("grok: ") + e.what());
    }
    if (metrics_) {
      matches_ = &metrics_->counter("matches");
      failures_ = &metrics_->counter("failures");
      timeouts_ = &metrics_->counter("timeouts");
    }
  }

  bool filter(Event& event, FilterContext&) override {
    Tally tally;
    bool matched = process(event, tally);
    publish(tally);
    return matched;
  }

  // The counters are shared by every worker: they are added once per batch, not per event, so
  // workers on different cores do not bounce their cache line on every event.
  void filter_batch(std::span<Event* const> events, std::vector<char>& matched, FilterContext&) override {
    matched.assign(events.size(), 0);
    Tally tally;
    for (size_t i = 0; i < events.size(); ++i)
      if (!events[i]->cancelled()) matched[i] = process(*events[i], tally) ? 1 : 0;
    publish(tally);
  }

 private:
  struct Tally {
    uint64_t matches = 0, failures = 0, timeouts = 0;
  };

  bool process(Event& event, Tally& tally) const {
    grok::GrokResult r = engine_->process(event);
    if (r == grok::GrokResult::Matched) ++tally.matches;
    else if (r == grok::GrokResult::Failed) ++tally.failures;
    else ++tally.timeouts;
    return r == grok::GrokResult::Matched;
  }

  void publish(const Tally& tally) const {
    if (!metrics_) return;
    if (tally.matches) matches_->fetch_add(tally.matches, std::memory_order_relaxed);
    if (tally.failures) {
      failures_->fetch_add(tally.failures, std::memory_order_relaxed);
      metrics_->failures.fetch_add(tally.failures, std::memory_order_relaxed);
    }
    if (tally.timeouts) timeouts_->fetch_add(tally.timeouts, std::memory_order_relaxed);
  }

  std::unique_ptr<grok::GrokEngine> engine_;
  PluginMetrics* metrics_ = nullptr;
  std::atomic<uint64_t>* matches_ = nullptr;
  std::atomic<uint64_t>* failures_ = nullptr;
  std::atomic<uint64_t>* timeouts_ = nullptr;
};

const RegisterFilter registration{grok_schema(), [](const Options& o, PluginContext& c) -> std::unique_ptr<Filter> {
                                    return std::make_unique<GrokFilter>(o, c);
                                  }};

}  // namespace
}  // namespace sluice
