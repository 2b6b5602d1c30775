// Value / Object: storage reuse, equality, text forms.
#include "core/event.h"
#include "core/field_ref.h"
#include "core/value.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace sluice {
namespace {

TEST(ValueTest, ScalarsKeepTheirType) {
  EXPECT_TRUE(Value().is_null());
  EXPECT_EQ(Value(true).type(), Type::Bool);
  EXPECT_EQ(Value(int64_t{5}).as_int(), 5);
  EXPECT_EQ(Value(2.5).as_float(), 2.5);
  EXPECT_EQ(Value("abc").as_string(), "abc");
  EXPECT_EQ(Value(Timestamp{42}).as_timestamp().nanos, 42);
}

TEST(ValueTest, IntAndFloatCompareNumerically) {
  EXPECT_EQ(Value(1), Value(1.0));
  EXPECT_FALSE(Value(1) == Value(1.5));
  EXPECT_FALSE(Value("1") == Value(1));
}

TEST(ValueTest, MakeStringKeepsCapacity) {
  Value v;
  v.set_string(std::string(200, 'x'));
  size_t capacity = v.as_string().capacity();
  v.set_int(3);
  std::string& s = v.make_string();
  EXPECT_TRUE(s.empty());
  EXPECT_GE(s.capacity(), capacity);
}

TEST(ValueTest, CopyIsDeep) {
  Value original;
  original.make_object()["a"].make_array().emplace_back("x");
  Value copy = original;
  copy.as_object()["a"].as_array()[0].set_string("y");
  EXPECT_EQ(original.as_object().find("a")->as_array()[0].as_string(), "x");
  EXPECT_EQ(copy.as_object().find("a")->as_array()[0].as_string(), "y");
}

TEST(ValueTest, AssignFromOwnDescendantIsSafe) {
  Value v;
  Object& outer = v.make_object();
  outer["inner"].make_object()["k"] = Value("v");
  Value& inner = outer["inner"];
  v = inner;  // the source lives inside the destination
  ASSERT_TRUE(v.is_object());
  ASSERT_NE(v.as_object().find("k"), nullptr);
  EXPECT_EQ(v.as_object().find("k")->as_string(), "v");

  Value arr;
  arr.make_array().emplace_back(Array{Value(1), Value(2)});
  arr = arr.as_array()[0];
  ASSERT_TRUE(arr.is_array());
  EXPECT_EQ(arr.as_array().size(), 2u);
}

// A number, boolean or timestamp shares its place with the pointer to a container (a 48-byte
// Value): assigning one that lives inside the value's own container must read it first.
TEST(ValueTest, ScalarsFromInsideTheValuesOwnContainer) {
  Value v;
  v.make_object()["n"] = Value(int64_t(5));
  v = v.as_object()["n"];
  ASSERT_TRUE(v.is_int());
  EXPECT_EQ(v.as_int(), 5);

  Value moved;
  moved.make_array().emplace_back(2.5);
  moved = std::move(moved.as_array()[0]);
  ASSERT_TRUE(moved.is_float());
  EXPECT_EQ(moved.as_float(), 2.5);

  Value shared_source;
  shared_source.make_object()["k"] = Value("v");
  shared_source.share();
  Value holder;
  holder.make_object()["s"] = shared_source;
  holder = holder.as_object()["s"];  // a shared tree held only through the value being assigned
  ASSERT_TRUE(holder.is_object());
  EXPECT_TRUE(holder.is_shared());
  EXPECT_EQ(holder.as_object().find("k")->as_string(), "v");
}

TEST(ValueTest, TypeChangesKeepOrReleaseTheContainer) {
  Value v;
  v.make_object()["a"] = Value("x");
  v.set_string("now a string");  // the object is kept for reuse...
  ASSERT_TRUE(v.is_string());
  Object& again = v.make_object();  // ...and comes back empty
  EXPECT_TRUE(again.empty());
  again["b"] = Value(int64_t(1));
  v.set_int(7);  // a number takes the container's place
  EXPECT_EQ(v.as_int(), 7);
  Array& array = v.make_array();
  EXPECT_TRUE(array.empty());
  v.set_timestamp(Timestamp{42});
  EXPECT_EQ(v.as_timestamp().nanos, 42);
  Value copy = v;
  EXPECT_TRUE(copy == v);
  v.set_null();
  EXPECT_TRUE(v.is_null());
  EXPECT_EQ(sizeof(Value), 48u);
}

TEST(ValueTest, AssignUnrelatedReusesARecycledTreeOfAnotherShape) {
  Object source;
  source["message"].set_string("hello");
  Object& nested = source["event"].make_object();
  nested["original"].set_string("a longer text than sixteen bytes");
  nested["sequence"].set_int(7);
  source["tags"].make_array().emplace_back("t");

  // A recycled object: other keys, other types, stale nested content and spare slots.
  Object target;
  target["message"].set_string("HELLO");
  target["event"].set_int(3);
  target["tags"].make_object()["x"].set_string("y");
  target["extra"].set_string("left over");
  target.clear();
  target["zzz"].set_string("stale");

  target.assign_unrelated(source);
  EXPECT_TRUE(target == source);
  EXPECT_EQ(target.size(), 3u);
  EXPECT_EQ(target.find("zzz"), nullptr);
  ASSERT_NE(target.find("event"), nullptr);
  EXPECT_EQ(target.find("event")->as_object().find("sequence")->as_int(), 7);

  // Same shape again (the generator's case): equal short strings are kept, changed ones copied.
  source["message"].set_string("hellp");
  target.assign_unrelated(source);
  EXPECT_EQ(target.find("message")->as_string(), "hellp");
  EXPECT_TRUE(target == source);
}

TEST(ValueTest, TextForms) {
  EXPECT_EQ(Value(true).to_text(), "true");
  EXPECT_EQ(Value(int64_t{-12}).to_text(), "-12");
  EXPECT_EQ(Value(1.0).to_text(), "1.0");
  EXPECT_EQ(Value(0.1).to_text(), "0.1");
  EXPECT_EQ(Value(1e7).to_text(), "1.0E7");
  EXPECT_EQ(Value(Array{Value("a"), Value(1), Value(2.5)}).to_text(), "a,1,2.5");
  Object o;
  o["k"] = Value("v");
  o["n"] = Value(1);
  EXPECT_EQ(Value(o).to_text(), R"({"k":"v","n":1})");
  EXPECT_EQ(Value(Timestamp::from_seconds(0)).to_text(), "1970-01-01T00:00:00.000Z");
}

TEST(ValueTest, FloatTextJavaAndRuby) {
  auto java = [](double d) { std::string s; append_float_java(s, d); return s; };
  auto ruby = [](double d) { std::string s; append_float_ruby(s, d); return s; };
  EXPECT_EQ(java(1.5), "1.5");
  EXPECT_EQ(java(-0.001), "-0.001");
  EXPECT_EQ(java(0.0001), "1.0E-4");
  EXPECT_EQ(java(12345678.9), "1.23456789E7");
  EXPECT_EQ(ruby(12345678.9), "12345678.9");
  EXPECT_EQ(ruby(1e20), "1.0e+20");
  EXPECT_EQ(ruby(0.0001), "0.0001");
  EXPECT_EQ(ruby(0.00001), "1.0e-05");
  EXPECT_EQ(ruby(100.0), "100.0");
  EXPECT_EQ(ruby(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(ruby(123456789012345680.0), "1.2345678901234568e+17");
  EXPECT_EQ(ruby(1234567890123456.0), "1234567890123456.0");
  EXPECT_EQ(ruby(-2.5), "-2.5");
  EXPECT_EQ(java(1e-5), "1.0E-5");
  EXPECT_EQ(java(1.5e-10), "1.5E-10");
  EXPECT_EQ(java(-1e21), "-1.0E21");
  EXPECT_EQ(java(9999999.0), "9999999.0");
  EXPECT_EQ(java(0.5), "0.5");
}

TEST(ObjectTest, KeepsInsertionOrderAndErases) {
  Object o;
  o["c"] = Value(1);
  o["a"] = Value(2);
  o["b"] = Value(3);
  EXPECT_TRUE(o.erase("a"));
  EXPECT_FALSE(o.erase("a"));
  std::string keys;
  for (auto& e : o) keys += e.key;
  EXPECT_EQ(keys, "cb");
  o["d"] = Value(4);
  keys.clear();
  for (auto& e : o) keys += e.key;
  EXPECT_EQ(keys, "cbd");
}

TEST(ObjectTest, TakeMovesTheValueOut) {
  Object o;
  o["x"] = Value("payload");
  Value out;
  EXPECT_TRUE(o.take("x", out));
  EXPECT_EQ(out.as_string(), "payload");
  EXPECT_FALSE(o.contains("x"));
  EXPECT_FALSE(o.take("x", out));
  EXPECT_TRUE(out.is_null());
}

TEST(ObjectTest, ClearKeepsEntryStorage) {
  Object o;
  o["message"].set_string(std::string(500, 'm'));
  const std::string* before = &o.find("message")->as_string();
  o.clear();
  EXPECT_TRUE(o.empty());
  Value& reused = o["other"];
  EXPECT_EQ(&reused.string_ref(), before);  // same slot, same string object
  EXPECT_GE(reused.string_ref().capacity(), 500u);
}

// Keys that share their length, first and last byte, many keys, the empty key, and the keys after
// an erase, a take, a copy and a recycled clear must all still find exactly their field.
TEST(ObjectTest, LookupsFindEveryKeyAfterEraseTakeCopyAndClear) {
  Object o;
  std::vector<std::string> keys = {"", "ab", "axb", "a_b", "azb", "b", "x"};
  for (int i = 0; i < 30; ++i) keys.push_back("key" + std::to_string(i));
  for (size_t i = 0; i < keys.size(); ++i) o[keys[i]] = Value(int64_t(i));
  ASSERT_EQ(o.size(), keys.size());
  auto check = [&](const Object& obj, const std::vector<std::string>& expected) {
    ASSERT_EQ(obj.size(), expected.size());
    for (const std::string& key : expected) {
      const Value* v = obj.find(key);
      ASSERT_NE(v, nullptr) << "[" << key << "]";
      size_t at = size_t(std::find(keys.begin(), keys.end(), key) - keys.begin());
      EXPECT_EQ(v->as_int(), int64_t(at)) << "[" << key << "]";
    }
    EXPECT_EQ(obj.find("a?b"), nullptr);  // same length, first and last byte as axb, a_b, azb
    EXPECT_EQ(obj.find("key30"), nullptr);
    EXPECT_EQ(obj.find("abc"), nullptr);
  };
  check(o, keys);

  std::vector<std::string> left = keys;
  EXPECT_TRUE(o.erase("axb"));  // the keys after it move up one place
  left.erase(std::find(left.begin(), left.end(), "axb"));
  check(o, left);
  Value taken;
  EXPECT_TRUE(o.take("key3", taken));
  EXPECT_EQ(taken.as_int(), 10);
  left.erase(std::find(left.begin(), left.end(), "key3"));
  check(o, left);

  Object copy(o);
  check(copy, left);
  Object assigned;
  assigned["zzz"] = Value("recycled storage of another shape");
  assigned = o;
  check(assigned, left);

  o.clear();  // a recycled object refills its slots with other keys
  EXPECT_EQ(o.find("ab"), nullptr);
  o["azb"] = Value(int64_t(4));
  EXPECT_EQ(o.find("axb"), nullptr);
  ASSERT_NE(o.find("azb"), nullptr);
  EXPECT_EQ(o.find("azb")->as_int(), 4);
}

// Adds reuse the first kept entry when it holds the key (no scan of the live ones), which is
// only right while no two entries, live or kept, hold the same key. Random puts, erases, takes,
// clears and copies, checked after each step against a plain list in insertion order. Also
// keeps find()'s key digests honest: objects grow past the 16 entries that have one, and keys
// share a length and first and last bytes ("abc"/"axc", "k_0a"/"k_1a"), so digests collide.
TEST(ObjectTest, RecycledEntriesNeverHoldAKeyTwice) {
  // Keys of every length class operator[]'s short compare has (1-3 bytes: "abc"/"axc" differ only
  // in the middle; 4-7; 8-16), and longer ones, which take Object::add.
  const std::vector<std::string> universe = {"",           "a",          "b",
                                             "c",          "ab",         "ba",
                                             "abc",        "axc",        "message",
                                             "@timestamp", "x",          "user_agent_original_x",
                                             "user_agent_original_y",    "sixteen_bytes_ab",
                                             "k_0a",       "k_1a",       "k_2a",
                                             "k_3a",       "k_4a",       "k_5a",
                                             "k_6b",       "k_7b",       "k_8b",
                                             "k_9b",       "k_10",       "k_11"};
  using Model = std::vector<std::pair<std::string, int64_t>>;
  auto model_find = [](Model& m, const std::string& key) {
    return std::find_if(m.begin(), m.end(), [&](const auto& kv) { return kv.first == key; });
  };
  std::vector<Object> objects(3);
  std::vector<Model> models(3);
  uint64_t state = 12345;
  auto next = [&](uint64_t bound) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % bound;
  };
  size_t largest = 0;
  for (int step = 0; step < 40000; ++step) {
    const size_t which = next(3);
    Object& o = objects[which];
    Model& m = models[which];
    const std::string& key = universe[next(universe.size())];
    switch (next(12)) {
      case 0:
        o.clear();
        m.clear();
        break;
      case 1: {
        EXPECT_EQ(o.erase(key), model_find(m, key) != m.end());
        if (auto it = model_find(m, key); it != m.end()) m.erase(it);
        break;
      }
      case 2: {
        Value out;
        const bool had = model_find(m, key) != m.end();
        EXPECT_EQ(o.take(key, out), had);
        if (had) {
          EXPECT_EQ(out.as_int(), model_find(m, key)->second);
          m.erase(model_find(m, key));
        }
        break;
      }
      case 3: {
        const size_t from = next(3);
        if (from != which) {
          switch (next(3)) {
            case 0: o = objects[from]; break;
            case 1: o.assign_unrelated(objects[from]); break;
            default: o = Object(objects[from]); break;  // a copy-constructed one, moved in
          }
          m = models[from];
        }
        break;
      }
      default: {
        const int64_t value = int64_t(step);
        o[key].set_int(value);
        if (auto it = model_find(m, key); it != m.end()) it->second = value;
        else m.emplace_back(key, value);
        break;
      }
    }
    ASSERT_EQ(o.size(), m.size()) << "step " << step;
    largest = std::max(largest, o.size());
    size_t i = 0;
    for (const Object::Entry& entry : o) {
      ASSERT_EQ(entry.key, m[i].first) << "step " << step;
      ASSERT_EQ(entry.value.as_int(), m[i].second) << "step " << step;
      ++i;
    }
    for (const std::string& k : universe) {
      const Value* found = o.find(k);
      auto it = model_find(m, k);
      ASSERT_EQ(found != nullptr, it != m.end()) << "step " << step << " key " << k;
      if (found) ASSERT_EQ(found->as_int(), it->second);
    }
  }
  EXPECT_GT(largest, 16u);  // past the entries with a digest
}

TEST(ObjectTest, EqualityIgnoresOrder) {
  Object a, b;
  a["x"] = Value(1);
  a["y"] = Value("s");
  b["y"] = Value("s");
  b["x"] = Value(1.0);
  EXPECT_EQ(a, b);
  b["z"] = Value();
  EXPECT_FALSE(a == b);
}

// {"city":"Paris","location":{"lat":48.8}}, frozen as a lookup cache hands it out.
Value shared_city_tree() {
  Value cached;
  Object& tree = cached.make_object();
  tree["city"].set_string("Paris");
  tree["location"].make_object()["lat"].set_float(48.8);
  cached.share();
  return cached;
}

// Value::share: copies take a reference; whoever writes gets its own copy first.
TEST(SharedObjectTest, CopiesShareAndAWriteCopiesFirst) {
  Value cached = shared_city_tree();
  ASSERT_TRUE(cached.is_shared());

  Value a = cached;  // copy constructor
  Value b;
  b.make_object()["old"].set_int(1);
  b = cached;  // operator=, dropping b's own object
  Value c;
  c.assign_unrelated(cached);
  const Value& frozen = cached;  // const access never copies
  for (const Value* v : {&a, &b, &c}) {
    EXPECT_TRUE(v->is_shared());
    EXPECT_EQ(&v->as_object(), &frozen.as_object());  // the same tree, not a copy
  }
  EXPECT_FALSE(static_cast<const Value&>(b).as_object().contains("old"));

  a.as_object()["city"].set_string("Lyon");  // non-const access: a copies, then writes
  EXPECT_FALSE(a.is_shared());
  EXPECT_EQ(a.as_object().find("city")->as_string(), "Lyon");
  const Value& original = cached;
  EXPECT_EQ(original.as_object().find("city")->as_string(), "Paris");
  EXPECT_EQ(static_cast<const Value&>(b).as_object().find("city")->as_string(), "Paris");

  Value moved = std::move(b);  // moves keep the reference
  EXPECT_TRUE(moved.is_shared());
  c = std::move(moved);
  EXPECT_TRUE(c.is_shared());
  EXPECT_EQ(&static_cast<const Value&>(c).as_object(), &original.as_object());

  c.make_object();  // a new, owned object
  EXPECT_FALSE(c.is_shared());
  EXPECT_TRUE(c.as_object().empty());
  EXPECT_EQ(original.as_object().size(), 2u);
}

TEST(SharedObjectTest, ARecycledValueThatWasWrittenIntoTakesACopyInsteadOfAReference) {
  Value tree;
  tree.make_object()["name"] = Value("host-a");
  tree.share();
  const Value& frozen = tree;  // read through const: the non-const as_object() would unshare
  Value slot;
  slot.assign_shared(tree);
  EXPECT_TRUE(slot.is_shared());  // nobody wrote: a reference
  slot.as_object()["hostname"] = Value("h1");  // a writer gets its own copy
  EXPECT_FALSE(slot.is_shared());
  EXPECT_EQ(frozen.as_object().size(), 1u);

  slot.set_null();  // recycled: the next event's [host]
  slot.assign_shared(tree);
  EXPECT_FALSE(slot.is_shared());  // copied into the storage the writer left
  EXPECT_TRUE(slot == tree);
  slot.as_object()["hostname"] = Value("h2");
  EXPECT_EQ(frozen.as_object().size(), 1u);
  EXPECT_EQ(frozen.as_object().find("hostname"), nullptr);
  EXPECT_TRUE(tree.is_shared());

  Value never_written;
  never_written.assign_shared(tree);
  never_written.set_null();
  never_written.assign_shared(tree);
  EXPECT_TRUE(never_written.is_shared());
}

TEST(SharedObjectTest, OutlivesTheValueThatSharedIt) {
  Value copy;
  {
    Value cached;
    cached.make_object()["k"].set_string(std::string(100, 'v'));
    cached.share();
    copy = cached;
  }
  const Value& held = copy;
  EXPECT_EQ(held.as_object().find("k")->as_string(), std::string(100, 'v'));
  // Assigning a value its own shared child (aliasing) keeps the child alive.
  Value parent;
  Value child;
  child.make_object()["x"].set_int(7);
  child.share();
  parent.make_object()["child"] = child;
  child = Value();
  const Value& inner = *static_cast<const Value&>(parent).as_object().find("child");
  parent = inner;
  EXPECT_EQ(static_cast<const Value&>(parent).as_object().find("x")->as_int(), 7);
}

TEST(SharedObjectTest, EventWritesThroughAPathNeverReachTheSharedTree) {
  Value cached = shared_city_tree();
  Event a, b, c, d;
  for (Event* e : {&a, &b, &c, &d}) e->put(FieldRef::of("geo")) = cached;
  a.put(FieldRef::of("[geo][city]")).set_string("Lyon");        // put walks a path
  c.get(FieldRef::of("[geo][location][lat]"))->set_float(1.0);  // so does a mutable get
  EXPECT_TRUE(d.remove(FieldRef::of("[geo][location][lat]")));  // and remove
  EXPECT_DOUBLE_EQ(static_cast<const Event&>(c).get(FieldRef::of("[geo][location][lat]"))->as_float(), 1.0);
  EXPECT_EQ(static_cast<const Event&>(d).get(FieldRef::of("[geo][location][lat]")), nullptr);
  const Event& cb = b;
  EXPECT_EQ(cb.get(FieldRef::of("[geo][city]"))->as_string(), "Paris");
  EXPECT_DOUBLE_EQ(cb.get(FieldRef::of("[geo][location][lat]"))->as_float(), 48.8);
  const Value& original = cached;
  EXPECT_EQ(original.as_object().find("city")->as_string(), "Paris");
  EXPECT_EQ(static_cast<const Event&>(a).get(FieldRef::of("[geo][city]"))->as_string(), "Lyon");
}

}  // namespace
}  // namespace sluice
