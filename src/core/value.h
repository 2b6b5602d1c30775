// The JSON-like value tree of an event. Storage is reused: clearing an Object or
// overwriting a Value keeps the capacity of its strings and vectors, so a recycled
// event holds the same shape of data without heap traffic.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// Nanoseconds since the Unix epoch, UTC. Logstash's Timestamp type.
struct Timestamp {
  int64_t nanos = 0;
  static Timestamp now();
  static Timestamp from_seconds(int64_t s, int64_t nanos = 0) { return {s * 1000000000LL + nanos}; }
  int64_t seconds() const { return nanos >= 0 ? nanos / 1000000000LL : -((-nanos + 999999999LL) / 1000000000LL); }
  int64_t subsec_nanos() const { return nanos - seconds() * 1000000000LL; }
  bool operator==(const Timestamp&) const = default;
  auto operator<=>(const Timestamp&) const = default;
};

enum class Type : uint8_t { Null, Bool, Int, Float, String, Timestamp, Array, Object };
const char* type_name(Type t);

class Object;
class Value;
using Array = std::vector<Value>;

class Value {
 public:
  Value() = default;
  Value(bool b) : type_(Type::Bool) { u_.b = b; }
  Value(int v) : type_(Type::Int) { u_.i = v; }
  Value(int64_t v) : type_(Type::Int) { u_.i = v; }
  Value(double v) : type_(Type::Float) { u_.f = v; }
  Value(std::string_view s) : type_(Type::String), str_(s) {}
  Value(const char* s) : type_(Type::String), str_(s) {}
  Value(std::string&& s) : type_(Type::String), str_(std::move(s)) {}
  Value(Timestamp t) : type_(Type::Timestamp) { u_.ts = t.nanos; }
  Value(Array a);
  Value(Object o);

  Value(const Value& o);
  Value(Value&& o) noexcept;
  Value& operator=(const Value& o);
  Value& operator=(Value&& o) noexcept;
  ~Value();
  // operator= for a value that shares no storage with this one (another event's, a template's):
  // reuses this value's storage without operator='s check that `o` lies inside this subtree.
  void assign_unrelated(const Value& o);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_int() const { return type_ == Type::Int; }
  bool is_float() const { return type_ == Type::Float; }
  bool is_number() const { return type_ == Type::Int || type_ == Type::Float; }
  bool is_string() const { return type_ == Type::String; }
  bool is_timestamp() const { return type_ == Type::Timestamp; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  // Accessors; the caller checks the type first.
  bool as_bool() const { return u_.b; }
  int64_t as_int() const { return u_.i; }
  double as_float() const { return u_.f; }
  double as_number() const { return type_ == Type::Int ? double(u_.i) : u_.f; }
  const std::string& as_string() const { return str_; }
  Timestamp as_timestamp() const { return {u_.ts}; }
  const Array& as_array() const { return *u_.arr; }
  Array& as_array() { return *u_.arr; }
  const Object& as_object() const { return *u_.obj; }
  Object& as_object() {  // a shared object is copied first (see share())
    if (shared_) unshare();
    return *u_.obj;
  }

  // Freezes an Object value for sharing: copies of it (copy, operator=, assign_unrelated) then
  // take a reference instead of copying the tree, and whichever holder writes to it (through
  // the non-const as_object()) gets its own copy first. Lookup caches hand out their results
  // this way, so an event takes a cached subtree for the price of a reference count.
  void share();
  bool is_shared() const { return shared_ && type_ == Type::Object; }
  // Takes a shared tree into a recycled value: by reference, unless this value kept an object of
  // its own from an earlier holder that wrote into its copy. Then the tree is copied into that
  // storage, since the next holder will likely write into it too (a grok capture into
  // [host][hostname] under the file input's shared [host]): a copy instead of an allocation,
  // a copy-on-write and a growth per event.
  void assign_shared(const Value& tree);
  // A text derived from a shared object, kept with it (the JSON writer keeps the object's JSON
  // there, so a shared subtree is serialized once). Only for is_shared() values; nullptr until
  // set; the first text set stays (set from several threads at once, all but one are dropped).
  const std::string* shared_memo() const;
  void set_shared_memo(std::string text) const;

  // Setters keep whatever storage the value already owns, but for a number, a boolean or a
  // timestamp, which takes the place of a kept array or object.
  void set_null() { type_ = Type::Null; }
  void set_bool(bool b) { set_scalar(Type::Bool); u_.b = b; }
  void set_int(int64_t v) { set_scalar(Type::Int); u_.i = v; }
  void set_float(double v) { set_scalar(Type::Float); u_.f = v; }
  void set_timestamp(Timestamp t) { set_scalar(Type::Timestamp); u_.ts = t.nanos; }
  void set_string(std::string_view s) { type_ = Type::String; str_.assign(s.data(), s.size()); }
  std::string& make_string() { type_ = Type::String; str_.clear(); return str_; }  // empty, capacity kept
  std::string& string_ref() { return str_; }  // for in-place edits of a String value
  Array& make_array();    // empty array, capacity kept
  // [text]: in a recycled value that held an array, its first string's storage is reused
  // (a failure tag longer than the inline buffer then costs no allocation).
  Array& make_array_of(std::string_view text);
  Object& make_object();  // empty object, capacity kept

  // Structural equality; Int and Float compare numerically (Logstash: 1 == 1.0).
  bool operator==(const Value& o) const;

  // Text of a scalar as Logstash's sprintf / to_s prints it (arrays joined by ",", objects as JSON).
  void append_text(std::string& out) const;
  std::string to_text() const { std::string s; append_text(s); return s; }

 private:
  // What u_ holds besides a scalar: a container kept for reuse while the value is Null or a
  // String, or the value's own array or object.
  enum class Holds : uint8_t { Nothing, Array, Object };

  void unshare();
  void drop_container();  // releases the kept array or object (a shared object: one reference)
  void set_scalar(Type type) {
    if (holds_ != Holds::Nothing) drop_container();
    type_ = type;
  }
  // Takes `array` or `object` (owned) as this value's container, releasing the one it kept.
  void hold_array(Array* array);
  void hold_object(Object* object);
  // Takes a reference to `object`, a shared one (unless this value holds it already).
  void take_shared(Object* object);

  Type type_ = Type::Null;
  bool shared_ = false;  // the held object is a frozen one other values may hold too
  Holds holds_ = Holds::Nothing;
  std::string str_;      // kept across type changes, like the container
  // A number, boolean or timestamp, or (holds_) the array or object; one place, so that a value
  // takes 48 bytes (an object entry 80): events are walked entry by entry at every stage.
  union Payload {
    int64_t i;
    bool b;
    double f;
    int64_t ts;
    Array* arr;
    Object* obj;  // owned unless shared_
  } u_{};
};
static_assert(sizeof(Value) == 48);

// Insertion-ordered map of fields. Events have few fields, so a linear scan over
// a compact vector beats hashing. Removed and cleared entries keep their storage, and the
// non-empty keys of all entries, live and kept, are distinct (see operator[]).
class Object {
 public:
  struct Entry {
    std::string key;
    Value value;
  };

  Object() = default;
  Object(const Object& o);
  Object& operator=(const Object& o);
  Object(Object&&) noexcept = default;
  Object& operator=(Object&&) noexcept = default;
  // Copy-assignment from a tree that shares no storage with this one (another event's fields,
  // a template): the generator, clone and the pipeline output copy whole events this way.
  void assign_unrelated(const Object& o);

  Value* find(std::string_view key);
  const Value* find(std::string_view key) const;
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  // Finds or inserts (as Null) the field.
  Value& operator[](std::string_view key);
  // Removes the field keeping the order of the others; returns false if absent.
  bool erase(std::string_view key);
  // Moves the field's value out (leaving it removed); nullptr-equivalent Null if absent.
  bool take(std::string_view key, Value& out);
  void clear() { size_ = 0; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  Entry* begin() { return entries_.data(); }
  Entry* end() { return entries_.data() + size_; }
  const Entry* begin() const { return entries_.data(); }
  const Entry* end() const { return entries_.data() + size_; }

  bool operator==(const Object& o) const;  // same keys and values, any order

 private:
  template <typename AssignValue>
  void assign_entries(const Object& o, AssignValue assign_value);
  Value& add(std::string_view key);  // operator[] when its first kept entry does not hold a short key

  // A one-byte digest of each of the first kSigned entries' keys (live and kept), side by side:
  // find() compares them all at once and reads only the entries whose digest matches, instead
  // of every entry's key on its own cache line (an entry is 80 bytes). Kept in step wherever a
  // key changes or entries move (set_signature).
  static constexpr size_t kSigned = 16;
  static uint8_t signature(std::string_view key) {
    if (key.empty()) return 0;
    const uint32_t h = uint32_t(key.size()) * 0x9E3779B1u ^ uint32_t(uint8_t(key[0])) * 0x85EBCA6Bu ^
                       uint32_t(uint8_t(key.back())) * 0xC2B2AE35u;
    return uint8_t(h >> 24);
  }
  void set_signature(size_t index) {
    if (index < kSigned) signatures_[index] = signature(entries_[index].key);
  }

  std::vector<Entry> entries_;
  size_t size_ = 0;
  uint8_t signatures_[kSigned] = {};
};

inline Value::~Value() {
  if (holds_ != Holds::Nothing) drop_container();
}

namespace detail {
// a[0, n) == b[0, n) for sizeof(Word) <= n <= 2 * sizeof(Word): the first and the last word.
template <typename Word>
inline bool same_head_and_tail(const char* a, const char* b, size_t n) {
  Word a0, b0, a1, b1;
  std::memcpy(&a0, a, sizeof(Word));
  std::memcpy(&b0, b, sizeof(Word));
  std::memcpy(&a1, a + n - sizeof(Word), sizeof(Word));
  std::memcpy(&b1, b + n - sizeof(Word), sizeof(Word));
  return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

// a[0, n) == b[0, n) for 1 <= n <= 16, with two overlapping loads per side (or three bytes).
inline bool same_short_bytes(const char* a, const char* b, size_t n) {
  if (n >= 8) return same_head_and_tail<uint64_t>(a, b, n);
  if (n >= 4) return same_head_and_tail<uint32_t>(a, b, n);
  return a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1];
}
}  // namespace detail

// Kept entries (removed or cleared, past size_) keep their storage, and a recycled event refills
// its fields in the same order. Invariant: the non-empty keys of all entries, live and kept,
// are distinct. So when the first kept entry already holds the key being added, that key is
// not live, and the add takes the entry without scanning the live ones. Inline, and without
// calls on that path (short keys only), so that it costs its callers no saved registers.
inline Value& Object::operator[](std::string_view key) {
  Entry* next = entries_.data() + size_;  // compared as pointers: no division by sizeof(Entry)
  if (next != entries_.data() + entries_.size() && key.size() - 1 < 16 && next->key.size() == key.size() &&
      detail::same_short_bytes(next->key.data(), key.data(), key.size())) {
    ++size_;
    next->value.set_null();
    return next->value;
  }
  return add(key);
}

// Float text in the two forms Logstash shows: Java's Double.toString (sprintf, 1.0E7) and
// Ruby's Float#to_s (Ruby-side to_s such as mutate's convert, 10000000.0). Both print the
// shortest digits that read back as the same double, and always a fraction ("1.0").
void append_float_java(std::string& out, double value);
void append_float_ruby(std::string& out, double value);

}  // namespace sluice
