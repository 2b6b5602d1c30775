// Runs every vector of ../shared/corpus/grok/tests.jsonl (converted from logstash-patterns-core's
// specs) twice: with the upstream pattern files loaded through patterns_dir (tests the engine)
// and with sluice's own built-in library (tests the library).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/event.h"
#include "grok/grok_engine.h"
#include "test_support.h"

namespace sluice {
namespace {

using simdjson::dom::element;

Value to_value(element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::STRING: return Value(std::string_view(e.get_string().value()));
    case simdjson::dom::element_type::INT64: return Value(int64_t(e.get_int64().value()));
    case simdjson::dom::element_type::UINT64: return Value(int64_t(e.get_uint64().value()));
    case simdjson::dom::element_type::DOUBLE: return Value(double(e.get_double().value()));
    case simdjson::dom::element_type::BOOL: return Value(bool(e.get_bool().value()));
    case simdjson::dom::element_type::NULL_VALUE: return Value();
    case simdjson::dom::element_type::ARRAY: {
      Array a;
      simdjson::dom::array arr = e.get_array().value();
      for (element x : arr) a.push_back(to_value(x));
      return Value(std::move(a));
    }
    case simdjson::dom::element_type::OBJECT: {
      Object o;
      simdjson::dom::object obj = e.get_object().value();
      for (auto field : obj) o[field.key] = to_value(field.value);
      return Value(std::move(o));
    }
  }
  return Value();
}

// `[a][b]` -> {a, b}; a bare name is one segment.
std::vector<std::string> path_of(const std::string& ref) {
  if (ref.empty() || ref[0] != '[') return {ref};
  std::vector<std::string> out;
  size_t p = 0;
  while (p < ref.size() && ref[p] == '[') {
    size_t close = ref.find(']', p);
    out.push_back(ref.substr(p + 1, close - p - 1));
    p = close + 1;
  }
  return out;
}

const Value* lookup(const Event& e, const std::string& ref) {
  auto path = path_of(ref);
  const Object* obj = &e.fields();
  size_t i = 0;
  if (!path.empty() && path[0] == "@metadata") {
    obj = &e.metadata();
    i = 1;
    if (path.size() == 1) return nullptr;
  }
  const Value* cur = nullptr;
  for (; i < path.size(); ++i) {
    if (cur) {
      if (cur->is_object()) {
        obj = &cur->as_object();
      } else if (cur->is_array()) {
        long idx = std::stol(path[i]);
        const Array& a = cur->as_array();
        if (idx < 0) idx += long(a.size());
        if (idx < 0 || size_t(idx) >= a.size()) return nullptr;
        cur = &a[size_t(idx)];
        continue;
      } else {
        return nullptr;
      }
    }
    cur = obj->find(path[i]);
    if (!cur) return nullptr;
  }
  return cur;
}

// Equality that also requires the same numeric type (Logstash tells 80 from 80.0).
bool same(const Value& expected, const Value& actual) {
  if (expected.type() != actual.type()) return false;
  if (expected.is_array()) {
    const Array &a = expected.as_array(), &b = actual.as_array();
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!same(a[i], b[i])) return false;
    return true;
  }
  if (expected.is_object()) {
    const Object &a = expected.as_object(), &b = actual.as_object();
    if (a.size() != b.size()) return false;
    for (const auto& entry : a) {
      const Value* other = b.find(entry.key);
      if (!other || !same(entry.value, *other)) return false;
    }
    return true;
  }
  return expected == actual;
}

std::string show(const Value* v) { return v ? v->to_text() + " (" + type_name(v->type()) + ")" : "<missing>"; }

struct Vector {
  std::string grok, ecs, input, context;
  bool match = true;
  std::vector<std::pair<std::string, Value>> expect, expect_loose;
  std::vector<std::string> strict, absent, present;
  std::optional<std::vector<std::string>> allowed_top_level;
  struct Check {
    std::string path, op;
    Value value;
  };
  std::vector<Check> checks;
};

std::vector<Vector> load_vectors(const std::string& path) {
  std::vector<Vector> out;
  simdjson::dom::parser parser;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    element doc = parser.parse(line).value();
    Vector v;
    v.grok = std::string(doc["grok"].get_string().value());
    v.ecs = std::string(doc["ecs"].get_string().value());
    v.input = std::string(doc["input"].get_string().value());
    v.match = doc["match"].get_bool().value();
    v.context = std::string(doc["context"].get_string().value());
    simdjson::dom::object expect = doc["expect"].get_object().value();
    for (auto f : expect) v.expect.emplace_back(std::string(f.key), to_value(f.value));
    auto strings = [&](const char* key, std::vector<std::string>& dst) {
      element arr;
      if (doc[key].get(arr) == simdjson::SUCCESS)
        for (element x : simdjson::dom::array(arr)) dst.emplace_back(x.get_string().value());
    };
    strings("strict", v.strict);
    strings("absent", v.absent);
    strings("present", v.present);
    element loose;
    if (doc["expect_loose"].get(loose) == simdjson::SUCCESS)
      for (auto f : simdjson::dom::object(loose)) v.expect_loose.emplace_back(std::string(f.key), to_value(f.value));
    element allowed;
    if (doc["allowed_top_level"].get(allowed) == simdjson::SUCCESS) {
      v.allowed_top_level.emplace();
      for (element x : simdjson::dom::array(allowed)) v.allowed_top_level->emplace_back(x.get_string().value());
    }
    element checks;
    if (doc["checks"].get(checks) == simdjson::SUCCESS) {
      for (element c : simdjson::dom::array(checks)) {
        Vector::Check ch;
        ch.path = std::string(c["path"].get_string().value());
        ch.op = std::string(c["op"].get_string().value());
        ch.value = to_value(c["value"].value());
        v.checks.push_back(std::move(ch));
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

bool starts_with_path(const std::vector<std::string>& p, const std::vector<std::string>& prefix) {
  if (p.size() <= prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), p.begin());
}

// Returns "" when the event satisfies the vector, else what went wrong.
std::string verify(const Vector& v, const Event& e) {
  std::ostringstream err;
  bool failed = e.has_tag("_grokparsefailure");
  if (v.match == failed) {
    err << (v.match ? "expected a match, got _grokparsefailure; " : "expected no match, but it matched; ");
    return err.str();
  }
  for (const auto& [ref, expected] : v.expect) {
    const Value* actual = lookup(e, ref);
    if (!actual || !same(expected, *actual))
      err << ref << ": expected " << show(&expected) << ", got " << show(actual) << "; ";
  }
  for (const auto& [ref, expected] : v.expect_loose) {
    const Value* actual = lookup(e, ref);
    bool ok = false;
    if (actual) {
      if (expected.is_string()) ok = actual->to_text() == expected.as_string();
      else if (expected.is_number()) ok = std::stod(actual->to_text()) == expected.as_number();
      else ok = same(expected, *actual);
    }
    if (!ok) err << ref << " (loose): expected " << show(&expected) << ", got " << show(actual) << "; ";
  }
  for (const auto& s : v.strict) {
    auto sp = path_of(s);
    std::set<std::string> children;
    auto collect = [&](const std::string& ref) {
      auto p = path_of(ref);
      if (starts_with_path(p, sp)) children.insert(p[sp.size()]);
    };
    for (const auto& [ref, x] : v.expect) collect(ref);
    for (const auto& ref : v.strict) collect(ref);
    const Value* actual = lookup(e, s);
    if (!actual || !actual->is_object()) {
      err << s << ": expected an object, got " << show(actual) << "; ";
      continue;
    }
    std::set<std::string> keys;
    for (const auto& entry : actual->as_object()) keys.insert(entry.key);
    if (keys != children) {
      err << s << ": keys {";
      for (auto& k : keys) err << k << ",";
      err << "} expected {";
      for (auto& k : children) err << k << ",";
      err << "}; ";
    }
  }
  for (const auto& ref : v.absent)
    if (lookup(e, ref)) err << ref << ": expected absent, got " << show(lookup(e, ref)) << "; ";
  for (const auto& ref : v.present)
    if (!lookup(e, ref)) err << ref << ": expected present; ";
  if (v.allowed_top_level) {
    for (const auto& entry : e.fields()) {
      const auto& k = entry.key;
      if (k == "message" || k == "@timestamp" || k == "@version") continue;
      if (std::find(v.allowed_top_level->begin(), v.allowed_top_level->end(), k) == v.allowed_top_level->end())
        err << "unexpected top-level field " << k << "; ";
    }
  }
  for (const auto& c : v.checks) {
    const Value* actual = lookup(e, c.path);
    std::string want = c.value.is_string() ? c.value.as_string() : c.value.to_text();
    bool ok = true;
    if (c.op == "contains" || c.op == "not_contains") {
      bool has = false;
      if (actual && actual->is_array()) {
        for (const auto& x : actual->as_array()) has |= x.to_text() == want;
      } else if (actual) {
        has = actual->to_text().find(want) != std::string::npos;
      }
      ok = c.op == "contains" ? has : !has;
    } else if (c.op == "starts_with" || c.op == "not_starts_with") {
      bool has = actual && actual->to_text().starts_with(want);
      ok = c.op == "starts_with" ? has : !has;
    } else if (c.op == "ends_with" || c.op == "not_ends_with") {
      bool has = actual && actual->to_text().ends_with(want);
      ok = c.op == "ends_with" ? has : !has;
    } else if (c.op == "not_equals") {
      ok = !actual || !same(c.value, *actual);
    } else {
      ok = false;
    }
    if (!ok) err << "check " << c.op << " " << c.path << " " << want << " failed (got " << show(actual) << "); ";
  }
  return err.str();
}

enum class Library { Upstream, Own };

void run_all(Library library) {
  auto shared = test::shared_dir();
  if (!shared) GTEST_SKIP() << "../shared (corpus/grok) is absent: grok conformance vectors not run";
  auto vectors = load_vectors((*shared / "corpus/grok/tests.jsonl").string());
  ASSERT_FALSE(vectors.empty());
  size_t passed = 0;
  std::map<std::string, std::shared_ptr<grok::GrokEngine>> engines;
  for (const auto& v : vectors) {
    std::string key = v.ecs + "\n" + v.grok;
    auto& engine = engines[key];
    std::string problem;
    if (!engine) {
      grok::GrokSettings s;
      s.match = {{"message", {v.grok}}};
      s.ecs_compatibility = v.ecs == "v1" ? "v1" : "disabled";
      if (library == Library::Upstream) {
        s.builtin_patterns = false;
        s.patterns_dir = {(*shared / "corpus/grok/patterns" / (v.ecs == "v1" ? "ecs-v1" : "legacy")).string()};
      }
      try {
        engine = std::make_shared<grok::GrokEngine>(s);
      } catch (const std::exception& ex) {
        problem = std::string("compile error: ") + ex.what();
      }
    }
    if (engine) {
      Event e;
      e.set(FieldRef::of("message"), Value(std::string_view(v.input)));
      engine->process(e);
      problem = verify(v, e);
    }
    if (problem.empty()) {
      ++passed;
    } else {
      ADD_FAILURE() << "[" << v.ecs << "] " << v.context << "\n  grok: " << v.grok << "\n  input: " << v.input
                    << "\n  " << problem;
    }
  }
  std::cout << "grok vectors passed: " << passed << "/" << vectors.size() << "\n";
}

TEST(GrokVectors, UpstreamPatternsThroughPatternsDir) { run_all(Library::Upstream); }
TEST(GrokVectors, OwnPatternLibrary) { run_all(Library::Own); }

}  // namespace
}  // namespace sluice
