// Value and Object: the event's JSON-like tree, with storage kept across reuse.
#include "core/value.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <emmintrin.h>

#include <fmt/format.h>

#include "core/json.h"
#include "core/time_format.h"

namespace sluice {

Timestamp Timestamp::now() {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return {std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count()};
}

const char* type_name(Type t) {
  switch (t) {
    case Type::Null: return "null";
    case Type::Bool: return "boolean";
    case Type::Int: return "integer";
    case Type::Float: return "float";
    case Type::String: return "string";
    case Type::Timestamp: return "timestamp";
    case Type::Array: return "array";
    case Type::Object: return "hash";
  }
  return "unknown";
}

namespace {

// True when `target` lives somewhere inside the live content of `root` (not root itself).
// Needed because assigning a container from one of its own descendants would free the
// source while it is being copied.
bool subtree_holds(const Value& root, const Value* target) {
  if (root.is_array()) {
    for (const Value& item : root.as_array()) {
      if (&item == target || subtree_holds(item, target)) return true;
    }
  } else if (root.is_object()) {
    for (const Object::Entry& entry : root.as_object()) {
      if (&entry.value == target || subtree_holds(entry.value, target)) return true;
    }
  }
  return false;
}

}  // namespace

namespace {

// Shortest round-trip decimal digits (fmt's Dragonbox) of a finite non-zero value:
// |value| = 0.DIGITS * 10^decpt. Fixed-size, so formatting floats never allocates.
struct Digits {
  char text[32];
  int length = 0;
  int decpt = 0;
};

Digits shortest_digits(double value) {
  char buf[64];
  char* end = fmt::format_to(buf, "{}", std::fabs(value));
  *end = '\0';  // for atoi below
  Digits d;
  const char* p = buf;
  int exponent = 0;
  const char* e = std::find(buf, end, 'e');
  if (e != end) exponent = std::atoi(e + 1);
  int integer_digits = 0;
  bool after_point = false;
  for (; p < e; ++p) {
    if (*p == '.') {
      after_point = true;
      continue;
    }
    if (!after_point) ++integer_digits;
    if (d.length < int(sizeof d.text)) d.text[d.length++] = *p;
  }
  d.decpt = integer_digits + exponent;
  int leading = 0;
  while (leading < d.length - 1 && d.text[leading] == '0') ++leading;
  if (leading > 0) {
    std::memmove(d.text, d.text + leading, size_t(d.length - leading));
    d.length -= leading;
    d.decpt -= leading;
  }
  while (d.length > 1 && d.text[d.length - 1] == '0') --d.length;
  return d;
}

// Writes DIGITS with the point after `decpt` digits (decpt may be <= 0 or past the end).
void append_fixed(std::string& out, const Digits& d) {
  if (d.decpt <= 0) {
    out += "0.";
    out.append(size_t(-d.decpt), '0');
    out.append(d.text, size_t(d.length));
  } else if (d.length <= d.decpt) {
    out.append(d.text, size_t(d.length));
    out.append(size_t(d.decpt - d.length), '0');
    out += ".0";
  } else {
    out.append(d.text, size_t(d.decpt));
    out.push_back('.');
    out.append(d.text + d.decpt, size_t(d.length - d.decpt));
  }
}

void append_mantissa(std::string& out, const Digits& d) {
  out.push_back(d.text[0]);
  out.push_back('.');
  if (d.length > 1) out.append(d.text + 1, size_t(d.length - 1));
  else out.push_back('0');
}

}  // namespace

void append_float_ruby(std::string& out, double value) {
  if (std::isnan(value)) { out += "NaN"; return; }
  if (std::isinf(value)) { out += value < 0 ? "-Infinity" : "Infinity"; return; }
  if (value == 0) { out += std::signbit(value) ? "-0.0" : "0.0"; return; }
  const Digits d = shortest_digits(value);
  if (value < 0) out.push_back('-');
  if (d.decpt > -4 && d.decpt <= 16) {
    append_fixed(out, d);
  } else {
    append_mantissa(out, d);
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof exp_buf, "e%+03d", d.decpt - 1);
    out += exp_buf;
  }
}

void append_float_java(std::string& out, double value) {
  if (std::isnan(value)) { out += "NaN"; return; }
  if (std::isinf(value)) { out += value < 0 ? "-Infinity" : "Infinity"; return; }
  if (value == 0) { out += std::signbit(value) ? "-0.0" : "0.0"; return; }
  const Digits d = shortest_digits(value);
  if (value < 0) out.push_back('-');
  const double magnitude = std::fabs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    append_fixed(out, d);
  } else {
    append_mantissa(out, d);
    out.push_back('E');
    char exp_buf[16];
    int n = std::snprintf(exp_buf, sizeof exp_buf, "%d", d.decpt - 1);
    out.append(exp_buf, size_t(n));
  }
}

namespace {

// A frozen object and the number of values holding it (Value::share). Values point at the
// Object base; only shared values do, so the downcast is always to what was allocated.
struct SharedObject : Object {
  explicit SharedObject(Object&& o) : Object(std::move(o)) {}
  ~SharedObject() { delete memo.load(std::memory_order_acquire); }
  std::atomic<uint32_t> refs{1};
  std::atomic<std::string*> memo{nullptr};  // see Value::shared_memo
};

SharedObject* shared_of(Object* object) { return static_cast<SharedObject*>(object); }

// Lets go of a value's object: deletes an owned one, drops one reference to a shared one.
void release_object(Object* object, bool shared) {
  if (!shared) {
    delete object;
    return;
  }
  SharedObject* frozen = shared_of(object);
  if (frozen->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete frozen;
}

}  // namespace

Value::Value(Array a) : type_(Type::Array), holds_(Holds::Array) { u_.arr = new Array(std::move(a)); }
Value::Value(Object o) : type_(Type::Object), holds_(Holds::Object) { u_.obj = new Object(std::move(o)); }

Value::Value(const Value& o) : type_(o.type_) {
  switch (o.type_) {
    case Type::String: str_ = o.str_; break;
    case Type::Array:
      u_.arr = new Array(*o.u_.arr);
      holds_ = Holds::Array;
      break;
    case Type::Object:
      if (o.shared_) {
        shared_of(o.u_.obj)->refs.fetch_add(1, std::memory_order_relaxed);
        u_.obj = o.u_.obj;
        shared_ = true;
      } else {
        u_.obj = new Object(*o.u_.obj);
      }
      holds_ = Holds::Object;
      break;
    case Type::Null: break;
    default: u_ = o.u_; break;  // a scalar
  }
}

Value::Value(Value&& o) noexcept
    : type_(o.type_), shared_(o.shared_), holds_(o.holds_), str_(std::move(o.str_)), u_(o.u_) {
  o.holds_ = Holds::Nothing;
  o.shared_ = false;
}

Value& Value::operator=(Value&& o) noexcept {
  if (this == &o) return *this;
  // Everything is taken from `o` before this value's old storage goes, since `o` may live in it.
  const Type type = o.type_;
  const bool shared = o.shared_;
  const Holds holds = o.holds_;
  const Payload payload = o.u_;
  o.holds_ = Holds::Nothing;
  o.shared_ = false;
  str_ = std::move(o.str_);
  if (holds_ != Holds::Nothing) drop_container();
  type_ = type;
  shared_ = shared;
  holds_ = holds;
  u_ = payload;
  return *this;
}

void Value::drop_container() {
  if (holds_ == Holds::Array) delete u_.arr;
  else release_object(u_.obj, shared_);
  holds_ = Holds::Nothing;
  shared_ = false;
  u_.i = 0;
}

void Value::hold_array(Array* array) {
  if (holds_ != Holds::Nothing) drop_container();
  u_.arr = array;
  holds_ = Holds::Array;
}

void Value::hold_object(Object* object) {
  if (holds_ != Holds::Nothing) drop_container();
  u_.obj = object;
  holds_ = Holds::Object;
}

void Value::share() {
  if (type_ != Type::Object || shared_) return;
  auto* shared = new SharedObject(std::move(*u_.obj));
  delete u_.obj;
  u_.obj = shared;
  shared_ = true;
}

const std::string* Value::shared_memo() const {
  return shared_of(u_.obj)->memo.load(std::memory_order_acquire);
}

void Value::set_shared_memo(std::string text) const {
  auto* fresh = new std::string(std::move(text));
  std::string* expected = nullptr;
  if (!shared_of(u_.obj)->memo.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) delete fresh;
}

void Value::unshare() {
  auto* copy = new Object(*u_.obj);
  drop_container();
  u_.obj = copy;
  holds_ = Holds::Object;
}

// The reference is taken first: `object` may live inside the tree this value lets go of.
void Value::take_shared(Object* object) {
  if (holds_ == Holds::Object && shared_ && u_.obj == object) return;
  shared_of(object)->refs.fetch_add(1, std::memory_order_relaxed);
  hold_object(object);
  shared_ = true;
}

Value& Value::operator=(const Value& o) {
  if (this == &o) return *this;
  const Type type = o.type_;  // `o` may go with a container this value lets go of below
  switch (type) {
    case Type::Null:
      break;
    case Type::String:
      // Scalars never free this value's containers, so aliasing is harmless here.
      str_.assign(o.str_);
      break;
    case Type::Array:
      if (subtree_holds(*this, &o)) {
        Value copy(o);
        *this = std::move(copy);
        return *this;
      }
      if (holds_ == Holds::Array) *u_.arr = *o.u_.arr;
      else hold_array(new Array(*o.u_.arr));
      break;
    case Type::Object:
      if (o.shared_) {
        type_ = Type::Object;  // set first: `o` may live in the tree this value lets go of
        take_shared(o.u_.obj);
        return *this;
      }
      if (subtree_holds(*this, &o)) {
        Value copy(o);
        *this = std::move(copy);
        return *this;
      }
      if (holds_ == Holds::Object && !shared_) *u_.obj = *o.u_.obj;
      else hold_object(new Object(*o.u_.obj));
      break;
    default: {  // a scalar: read before a kept container goes (`o` may live in it)
      const Payload payload = o.u_;
      set_scalar(type);
      u_ = payload;
      return *this;
    }
  }
  type_ = type;
  return *this;
}

Array& Value::make_array() {
  type_ = Type::Array;
  if (holds_ == Holds::Array) u_.arr->clear();
  else hold_array(new Array());
  return *u_.arr;
}

Array& Value::make_array_of(std::string_view text) {
  type_ = Type::Array;
  if (holds_ != Holds::Array) hold_array(new Array());
  Array& array = *u_.arr;
  if (array.empty()) {
    array.emplace_back(text);
  } else {
    array.resize(1);
    array[0].set_string(text);
  }
  return array;
}

Object& Value::make_object() {
  type_ = Type::Object;
  if (holds_ == Holds::Object && !shared_) u_.obj->clear();
  else hold_object(new Object());
  return *u_.obj;
}

bool Value::operator==(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (type_ == Type::Int && o.type_ == Type::Int) return u_.i == o.u_.i;
    return as_number() == o.as_number();
  }
  if (type_ != o.type_) return false;
  switch (type_) {
    case Type::Null: return true;
    case Type::Bool: return u_.b == o.u_.b;
    case Type::String: return str_ == o.str_;
    case Type::Timestamp: return u_.ts == o.u_.ts;
    case Type::Array: return *u_.arr == *o.u_.arr;
    case Type::Object: return *u_.obj == *o.u_.obj;
    default: return false;
  }
}

void Value::append_text(std::string& out) const {
  switch (type_) {
    case Type::Null: break;
    case Type::Bool: out += u_.b ? "true" : "false"; break;
    case Type::Int: {
      char buf[24];  // to_chars: no locale, no format parsing (snprintf cost ~700 instructions here)
      auto result = std::to_chars(buf, buf + sizeof buf, u_.i);
      out.append(buf, size_t(result.ptr - buf));
      break;
    }
    case Type::Float: append_float_java(out, u_.f); break;  // as Logstash's sprintf (Java) prints it
    case Type::String: out += str_; break;
    case Type::Timestamp: format_iso8601(as_timestamp(), out); break;
    case Type::Array: {
      bool first = true;
      for (const Value& item : *u_.arr) {
        if (!first) out.push_back(',');
        first = false;
        // Logstash joins arrays with ","; nested containers print as JSON.
        if (item.is_object() || item.is_array()) json_append_value(out, item);
        else item.append_text(out);
      }
      break;
    }
    case Type::Object: json_append_value(out, *this); break;
  }
}

// ---- Object ----

Object::Object(const Object& o) : entries_(o.begin(), o.end()), size_(o.size_) {
  std::memcpy(signatures_, o.signatures_, sizeof signatures_);  // only the live ones matter here
}

namespace {

// Field names are short: up to 16 bytes are compared without a call to memcmp
// (detail::same_short_bytes, value.h).
__attribute__((always_inline)) inline bool same_bytes(const char* a, const char* b, size_t n) {
  if (n > 16) return std::memcmp(a, b, n) == 0;
  if (n == 0) return true;
  return detail::same_short_bytes(a, b, n);
}

}  // namespace

// Copies o's keys over the first o.size_ entries; a key that changed there may still be held by a
// kept entry past them, which then forgets it (operator[]'s invariant: distinct keys).
template <typename AssignValue>
void Object::assign_entries(const Object& o, AssignValue assign_value) {
  if (entries_.size() < o.size_) {
    const size_t had = entries_.size();
    entries_.resize(o.size_);
    for (size_t added = had; added < o.size_; ++added) set_signature(added);
  }
  bool keys_changed = false;
  for (size_t i = 0; i < o.size_; ++i) {
    // Copies into a recycled event (generator replay, clone) mostly find the same keys in place.
    const std::string& key = o.entries_[i].key;
    if (entries_[i].key.size() != key.size() || !same_bytes(entries_[i].key.data(), key.data(), key.size())) {
      entries_[i].key.assign(key);
      set_signature(i);
      keys_changed = true;
    }
    assign_value(entries_[i].value, o.entries_[i].value);
  }
  size_ = o.size_;
  if (!keys_changed) return;
  for (size_t kept = size_; kept < entries_.size(); ++kept) {
    std::string& k = entries_[kept].key;
    if (!k.empty() && o.find(k)) {
      k.clear();
      set_signature(kept);
    }
  }
}

Object& Object::operator=(const Object& o) {
  if (this == &o) return *this;
  assign_entries(o, [](Value& to, const Value& from) { to = from; });
  return *this;
}

void Object::assign_unrelated(const Object& o) {
  if (this == &o) return;
  assign_entries(o, [](Value& to, const Value& from) { to.assign_unrelated(from); });
}

void Value::assign_shared(const Value& tree) {
  if (tree.type_ == Type::Object && holds_ == Holds::Object && !shared_) {
    type_ = Type::Object;
    u_.obj->assign_unrelated(*tree.u_.obj);
    return;
  }
  *this = tree;
}

void Value::assign_unrelated(const Value& o) {
  const Type type = o.type_;
  switch (type) {
    case Type::Null:
      break;
    case Type::String:
      // A recycled event copied from the same template mostly holds the same short text already.
      if (str_.size() != o.str_.size() || str_.size() > 16 || !same_bytes(str_.data(), o.str_.data(), str_.size()))
        str_.assign(o.str_);
      break;
    case Type::Array: {
      if (holds_ != Holds::Array) hold_array(new Array());
      Array& array = *u_.arr;
      const Array& from = *o.u_.arr;
      if (array.size() > from.size()) array.resize(from.size());
      for (size_t i = 0; i < from.size(); ++i) {
        if (i < array.size()) array[i].assign_unrelated(from[i]);
        else array.push_back(from[i]);
      }
      break;
    }
    case Type::Object:
      if (o.shared_) {
        type_ = Type::Object;
        take_shared(o.u_.obj);
        return;
      }
      if (holds_ != Holds::Object || shared_) hold_object(new Object());
      u_.obj->assign_unrelated(*o.u_.obj);
      break;
    default: {  // a scalar
      const Payload payload = o.u_;
      set_scalar(type);
      u_ = payload;
      return;
    }
  }
  type_ = type;
}


Value* Object::find(std::string_view key) {
  const size_t n = key.size();
  const size_t live = size_;
  if (live == 0) return nullptr;
  // The first kSigned entries: only those whose key digest matches are read.
  const size_t signed_live = std::min(live, kSigned);
  const __m128i digests = _mm_loadu_si128(reinterpret_cast<const __m128i*>(signatures_));
  uint32_t candidates = uint32_t(_mm_movemask_epi8(_mm_cmpeq_epi8(digests, _mm_set1_epi8(char(signature(key)))))) &
                        ((1u << signed_live) - 1);
  for (; candidates; candidates &= candidates - 1) {
    Entry& entry = entries_[size_t(__builtin_ctz(candidates))];
    if (entry.key.size() == n && same_bytes(entry.key.data(), key.data(), n)) return &entry.value;
  }
  // Past them, size and first byte reject almost every other key before the full compare.
  for (size_t i = kSigned; i < live; ++i) {
    const std::string& k = entries_[i].key;
    if (k.size() == n && (n == 0 || k[0] == key[0]) && same_bytes(k.data(), key.data(), n)) return &entries_[i].value;
  }
  return nullptr;
}

const Value* Object::find(std::string_view key) const { return const_cast<Object*>(this)->find(key); }

// operator[]'s other path (value.h): the first kept entry did not hold the key, or the key is
// empty or longer than 16 bytes.
__attribute__((noinline)) Value& Object::add(std::string_view key) {
  if (Value* found = find(key)) return *found;
  if (size_ == entries_.size()) {
    entries_.emplace_back();
    set_signature(size_);  // a copy keeps the digests of kept entries it did not take
  }
  if (!key.empty()) {
    // A kept entry further on may hold the key (its storage, with its nested objects, suits it
    // best): it takes the first kept place, so no other entry keeps the key.
    const char first = key[0];
    for (size_t i = size_; i < entries_.size(); ++i) {
      const std::string& k = entries_[i].key;
      if (k.size() == key.size() && k[0] == first && same_bytes(k.data(), key.data(), key.size())) {
        if (i != size_) {
          std::swap(entries_[i], entries_[size_]);
          set_signature(i);
          set_signature(size_);
        }
        break;
      }
    }
  }
  Entry& entry = entries_[size_];
  if (entry.key.size() != key.size() || !same_bytes(entry.key.data(), key.data(), key.size())) {
    entry.key.assign(key.data(), key.size());
    set_signature(size_);
  }
  ++size_;
  entry.value.set_null();
  return entry.value;
}

bool Object::erase(std::string_view key) {
  for (size_t index = 0; index < size_; ++index) {
    const std::string& k = entries_[index].key;
    if (k.size() != key.size() || std::memcmp(k.data(), key.data(), key.size()) != 0) continue;
    // Rotate the removed entry past the live ones: order kept, its storage kept for reuse.
    std::rotate(entries_.begin() + long(index), entries_.begin() + long(index) + 1,
                entries_.begin() + long(size_));
    for (size_t moved = index; moved < size_ && moved < kSigned; ++moved) set_signature(moved);
    --size_;
    return true;
  }
  return false;
}

bool Object::take(std::string_view key, Value& out) {
  Value* found = find(key);
  if (!found) {
    out.set_null();
    return false;
  }
  std::swap(out, *found);
  erase(key);
  return true;
}

bool Object::operator==(const Object& o) const {
  if (size_ != o.size_) return false;
  for (const Entry& entry : *this) {
    const Value* other = o.find(entry.key);
    if (!other || !(*other == entry.value)) return false;
  }
  return true;
}

}  // namespace sluice
