#include "grok/grok_engine.h"
#include "core/value_ops.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

namespace sluice::grok {

// Where one capture's values go: the field (with `target` applied), and whether it is
// listed in `overwrite`.
struct CaptureSink {
  FieldRef ref;
  bool overwrite = false;
  CaptureType type = CaptureType::String;
  std::vector<uint32_t> groups;
};

// An object the sinks' fields go into ([http] for [http][version]), found once per event and
// shared by every sink under it, instead of walking each capture's path from the event's root.
struct ParentNode {
  int parent = -1;  // the enclosing node; -1: the root (the event's fields or its @metadata)
  std::string segment;
};

struct CompiledExpression {
  std::unique_ptr<GrokPattern> pattern;
  std::vector<CaptureSink> sinks;
  // Set when the sinks' paths allow it (see group_sinks): each sink's parent node and leaf key.
  bool grouped = false;
  bool metadata = false;  // the root is @metadata
  std::vector<ParentNode> parents;
  std::vector<int> sink_parent;
};

struct GrokEngine::FieldPatterns {
  std::string field;
  FieldRef ref;
  std::vector<CompiledExpression> expressions;
  std::unique_ptr<Prefilter> prefilter;
  // The pre-filter pays off only when failing patterns are costlier than one Hyperscan scan
  // (many patterns, unanchored, long lines). Both ways give the same result, so a sample of
  // events is timed each way and the cheaper one is used (moving averages, in ns).
  mutable std::atomic<uint64_t> cost_with_prefilter{0};
  mutable std::atomic<uint64_t> cost_without_prefilter{0};
  mutable std::atomic<bool> use_prefilter{true};
};

namespace {

std::string bracketed(const std::string& name) {
  if (!name.empty() && name.front() == '[') return name;
  return "[" + name + "]";
}

// Reused per thread: the subject is copied out of the event, because captures may write
// into the very field being matched.
thread_local std::string tls_subject;
thread_local std::vector<unsigned char> tls_candidates;

void value_text(const Value* v, std::string& out) {
  out.clear();
  if (v && !v->is_null()) v->append_text(out);
}

// Parent nodes an expression may have to be grouped (their per-event table is on the stack).
constexpr size_t kMaxParentNodes = 32;

bool looks_like_index(const std::string& segment) {
  size_t i = segment.size() > 1 && segment[0] == '-' ? 1 : 0;
  if (i == segment.size()) return false;
  for (; i < segment.size(); ++i)
    if (segment[i] < '0' || segment[i] > '9') return false;
  return true;
}

// Builds the parent nodes of an expression's sinks when every capture goes into an object, so
// that resolving a parent once per event gives exactly what Event::put would: one root for all,
// no segment that an array could take as an index, and no sink whose field is another sink's
// parent (writing a value there would replace the object later captures go into).
void group_sinks(CompiledExpression& ce) {
  if (ce.sinks.empty()) return;
  const bool metadata = ce.sinks.front().ref.is_metadata();
  std::vector<ParentNode> parents;
  std::vector<std::vector<std::string>> parent_paths;  // parallel to parents
  std::vector<int> sink_parent;
  for (const CaptureSink& sink : ce.sinks) {
    const auto& path = sink.ref.path();
    if (path.empty() || sink.ref.is_metadata() != metadata) return;
    for (size_t i = 1; i < path.size(); ++i)
      if (looks_like_index(path[i])) return;
    int parent = -1;
    for (size_t depth = 1; depth < path.size(); ++depth) {
      std::vector<std::string> prefix(path.begin(), path.begin() + long(depth));
      auto found = std::find(parent_paths.begin(), parent_paths.end(), prefix);
      if (found == parent_paths.end()) {
        parent_paths.push_back(prefix);
        parents.push_back({parent, path[depth - 1]});
        found = parent_paths.end() - 1;
      }
      parent = int(found - parent_paths.begin());
    }
    sink_parent.push_back(parent);
  }
  for (const CaptureSink& sink : ce.sinks)
    if (std::find(parent_paths.begin(), parent_paths.end(), sink.ref.path()) != parent_paths.end()) return;
  if (parents.size() > kMaxParentNodes) return;
  ce.grouped = true;
  ce.metadata = metadata;
  ce.parents = std::move(parents);
  ce.sink_parent = std::move(sink_parent);
}

// Resolves a parent node for this event: its own parent first, then the key in it, made an
// object as Event::put would. `found` keeps what this event resolved already.
Object& resolve_parent(const CompiledExpression& expr, int node, Object& root, Object** found) {
  const ParentNode& p = expr.parents[size_t(node)];
  Object& above = p.parent < 0 ? root : found[p.parent] ? *found[p.parent] : resolve_parent(expr, p.parent, root, found);
  Value& value = above[p.segment];
  if (!value.is_object()) value.make_object();
  found[node] = &value.as_object();
  return *found[node];
}

}  // namespace

GrokEngine::GrokEngine(const GrokSettings& settings) : settings_(settings) {
  timeout_nanos_ = settings.timeout_millis > 0 ? settings.timeout_millis * 1'000'000 : 0;
  PatternLibrary library;
  if (settings.builtin_patterns) library.merge(PatternLibrary::builtin(settings.ecs_compatibility));
  for (const auto& dir : settings.patterns_dir) {
    if (library.add_dir(dir, settings.patterns_files_glob).empty())
      spdlog::warn("grok: patterns_dir `{}` (glob `{}`) matched no pattern file", dir, settings.patterns_files_glob);
  }
  for (const auto& [name, regex] : settings.pattern_definitions) library.add(name, regex);

  std::optional<FieldRef> target;
  if (!settings.target.empty()) {
    std::string err;
    target = FieldRef::parse(settings.target, &err);
    if (!target) throw GrokError(fmt::format("invalid target `{}`: {}", settings.target, err));
  }

  for (const auto& [field, patterns] : settings.match) {
    auto fp = std::make_unique<FieldPatterns>();
    fp->field = field;
    std::string err;
    auto ref = FieldRef::parse(field, &err);
    if (!ref) throw GrokError(fmt::format("invalid field reference `{}` in match: {}", field, err));
    fp->ref = std::move(*ref);
    for (size_t i = 0; i < patterns.size(); ++i) {
      CompiledExpression ce;
      try {
        ce.pattern = std::make_unique<GrokPattern>(patterns[i], library, settings.named_captures_only);
      } catch (const GrokError& e) {
        throw GrokError(fmt::format("match `{}` pattern #{}: {}", field, i + 1, e.what()));
      }
      for (const Capture& c : ce.pattern->captures()) {
        CaptureSink sink;
        sink.type = c.type;
        sink.groups = c.groups;
        sink.overwrite = std::find(settings.overwrite.begin(), settings.overwrite.end(), c.field) !=
                         settings.overwrite.end();
        if (target) {
          std::string text = bracketed(settings.target) + bracketed(c.field);
          auto combined = FieldRef::parse(text, &err);
          if (!combined) throw GrokError(fmt::format("invalid capture field `{}`: {}", text, err));
          sink.ref = std::move(*combined);
        } else {
          sink.ref = c.ref;
        }
        ce.sinks.push_back(std::move(sink));
      }
      if (settings.group_captures) group_sinks(ce);
      fp->expressions.push_back(std::move(ce));
    }
    if (settings.prefilter && fp->expressions.size() >= 2) {
      std::vector<std::string> regexes;
      for (const auto& ce : fp->expressions) regexes.push_back(ce.pattern->translated().pcre);
      fp->prefilter = Prefilter::build(regexes);
    }
    fields_.push_back(std::move(fp));
  }
}

GrokEngine::~GrokEngine() = default;

size_t GrokEngine::prefiltered_count(size_t index) const {
  const auto& f = *fields_.at(index);
  return f.prefilter ? f.prefilter->size() - f.prefilter->rejected() : 0;
}

void GrokEngine::apply_captures(const CompiledExpression& expr, std::string_view subject, pcre2_match_data* data,
                                Event& event) const {
  const bool keep_empty = settings_.keep_empty_captures;
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
  const uint32_t pairs = pcre2_get_ovector_count(data);
  Object* root = nullptr;
  Object* found[kMaxParentNodes];  // this event's parent objects, resolved on first use
  if (expr.grouped) {
    root = expr.metadata ? &event.metadata() : &event.fields();
    std::fill_n(found, expr.parents.size(), nullptr);
  }
  // The field's slot: through the sink's parent object, else from the event's root.
  auto slot_of = [&](size_t sink_index) -> Value& {
    const CaptureSink& sink = expr.sinks[sink_index];
    if (!root) return event.put(sink.ref);
    const int node = expr.sink_parent[sink_index];
    Object& parent = node < 0 ? *root : found[node] ? *found[node] : resolve_parent(expr, node, *root, found);
    return parent[sink.ref.path().back()];
  };
  for (size_t sink_index = 0; sink_index < expr.sinks.size(); ++sink_index) {
    const CaptureSink& sink = expr.sinks[sink_index];
    for (uint32_t g : sink.groups) {
      std::string_view text;
      bool present = GrokPattern::group(ovector, pairs, subject, g, text);
      if (!keep_empty && (!present || (sink.type == CaptureType::String && text.empty()))) continue;
      auto assign = [&](Value& v) {
        if (!present) v.set_null();
        else if (sink.type == CaptureType::Int) v.set_int(ruby_to_i(text));
        else if (sink.type == CaptureType::Float) v.set_float(ruby_to_f(text));
        else v.set_string(text);
      };
      if (sink.overwrite) {
        assign(slot_of(sink_index));
        continue;
      }
      // One walk: the slot is found or added as null; missing and null are the same here.
      Value* existing = &slot_of(sink_index);
      if (existing->is_null()) {
        assign(*existing);
      } else if (existing->is_array()) {
        existing->as_array().emplace_back();
        assign(existing->as_array().back());
      } else if (existing->is_string()) {
        // Not overwriting: a second value makes the field an array.
        Array& arr = wrap_in_array(*existing);
        arr.emplace_back();
        assign(arr.back());
      }
      // Any other type (number, boolean, object) is left as it was, as Logstash does.
    }
  }
}

GrokEngine::Attempt GrokEngine::match_field(const FieldPatterns& f, std::string_view subject, Event& event,
                                            MatchBudget& budget) const {
  if (!f.prefilter) return try_patterns(f, nullptr, subject, event, budget);
  thread_local uint32_t tick = 0;
  ++tick;
  if ((tick & 127) != 0) {
    if (f.use_prefilter.load(std::memory_order_relaxed)) {
      f.prefilter->scan(subject, tls_candidates);
      return try_patterns(f, &tls_candidates, subject, event, budget);
    }
    return try_patterns(f, nullptr, subject, event, budget);
  }
  // A sampled event, timed; samples alternate between the two ways.
  bool with = (tick >> 7) & 1;
  auto t0 = std::chrono::steady_clock::now();
  Attempt a;
  if (with) {
    f.prefilter->scan(subject, tls_candidates);
    a = try_patterns(f, &tls_candidates, subject, event, budget);
  } else {
    a = try_patterns(f, nullptr, subject, event, budget);
  }
  uint64_t ns = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
  auto& cost = with ? f.cost_with_prefilter : f.cost_without_prefilter;
  uint64_t old = cost.load(std::memory_order_relaxed);
  cost.store(old == 0 ? ns : old - old / 8 + ns / 8, std::memory_order_relaxed);
  uint64_t cw = f.cost_with_prefilter.load(std::memory_order_relaxed);
  uint64_t cwo = f.cost_without_prefilter.load(std::memory_order_relaxed);
  if (cw && cwo) f.use_prefilter.store(cw <= cwo, std::memory_order_relaxed);
  return a;
}

GrokEngine::Attempt GrokEngine::try_patterns(const FieldPatterns& f, const std::vector<unsigned char>* candidates,
                                             std::string_view subject, Event& event, MatchBudget& budget) const {
  MatchScratch& scratch = MatchScratch::for_this_thread();
  // As in Logstash, the result is that of the last pattern tried (it matters only with
  // break_on_match => false).
  bool matched = false;
  for (size_t i = 0; i < f.expressions.size(); ++i) {
    if (candidates && !(*candidates)[i]) {
      matched = false;
      continue;
    }
    const CompiledExpression& ce = f.expressions[i];
    if (!settings_.timeout_per_event) budget.start = {};  // each pattern gets its own time
    MatchStatus st = ce.pattern->match(subject, scratch, budget);
    if (st == MatchStatus::Timeout) {
      spdlog::warn("grok: timeout executing pattern `{}` against field `{}` (timeout_millis {})",
                   ce.pattern->expression(), f.field, settings_.timeout_millis);
      return Attempt::Timeout;
    }
    matched = st == MatchStatus::Match;
    if (matched) {
      apply_captures(ce, subject, scratch.data(ce.pattern->group_count()), event);
      if (settings_.break_on_match) break;
    }
  }
  return matched ? Attempt::Match : Attempt::NoMatch;
}

GrokResult GrokEngine::process(Event& event) const {
  MatchBudget budget;
  budget.timeout_nanos = timeout_nanos_;
  bool matched = false;
  for (const auto& fp : fields_) {
    const FieldPatterns& f = *fp;
    bool success = false;
    const Value* input = event.get(f.ref);
    if (input && input->is_array()) {
      size_t n = input->as_array().size();
      for (size_t i = 0; i < n; ++i) {
        // Re-read each time: captures may have changed the event.
        const Value* arr = event.get(f.ref);
        if (!arr || !arr->is_array() || i >= arr->as_array().size()) break;
        value_text(&arr->as_array()[i], tls_subject);
        Attempt a = match_field(f, tls_subject, event, budget);
        if (a == Attempt::Timeout) {
          if (!settings_.tag_on_timeout.empty()) event.add_tag(settings_.tag_on_timeout);
          return GrokResult::TimedOut;
        }
        success |= a == Attempt::Match;
      }
    } else {
      value_text(input, tls_subject);
      Attempt a = match_field(f, tls_subject, event, budget);
      if (a == Attempt::Timeout) {
        if (!settings_.tag_on_timeout.empty()) event.add_tag(settings_.tag_on_timeout);
        return GrokResult::TimedOut;
      }
      success = a == Attempt::Match;
    }
    if (success) {
      matched = true;
      if (settings_.break_on_match) break;
    }
  }
  if (matched) return GrokResult::Matched;
  for (const auto& tag : settings_.tag_on_failure) event.add_tag(tag);
  return GrokResult::Failed;
}

}  // namespace sluice::grok
