// Event: field access by reference, tags, and the ack hold.
#include "core/event.h"

#include <charconv>

#include "core/event_clock.h"
#include "core/time_format.h"
#include "core/value_ops.h"

namespace sluice {

namespace {

// Index of `segment` into an array of `size` items (negative counts from the end), or -1.
long array_index(const std::string& segment, size_t size) {
  long index = 0;
  const char* begin = segment.data();
  const char* end = begin + segment.size();
  auto [ptr, ec] = std::from_chars(begin, end, index);
  if (ec != std::errc() || ptr != end || segment.empty()) return -1;
  if (index < 0) index += long(size);
  if (index < 0 || index >= long(size)) return -1;
  return index;
}

bool is_integer_segment(const std::string& segment, long* value) {
  const char* begin = segment.data();
  const char* end = begin + segment.size();
  auto [ptr, ec] = std::from_chars(begin, end, *value);
  return ec == std::errc() && ptr == end && !segment.empty();
}

// The slot put() hands out when a reference cannot name a real place (`[@metadata]` itself,
// a negative index before the start of an array): writes to it are discarded.
Value& discard_slot() {
  thread_local Value slot;
  slot.set_null();
  return slot;
}

const Value* child_of(const Value& container, const std::string& segment) {
  if (container.is_object()) return container.as_object().find(segment);
  if (container.is_array()) {
    const Array& items = container.as_array();
    long index = array_index(segment, items.size());
    return index < 0 ? nullptr : &items[size_t(index)];
  }
  return nullptr;
}

// The same for writing: a shared object on the way is copied first (Value::as_object).
Value* mutable_child_of(Value& container, const std::string& segment) {
  if (container.is_object()) return container.as_object().find(segment);
  if (container.is_array()) {
    Array& items = container.as_array();
    long index = array_index(segment, items.size());
    return index < 0 ? nullptr : &items[size_t(index)];
  }
  return nullptr;
}

size_t value_bytes(const Value& v) {
  switch (v.type()) {
    case Type::String: return 32 + v.as_string().size();
    case Type::Array: {
      size_t total = 32;
      for (const Value& item : v.as_array()) total += value_bytes(item);
      return total;
    }
    case Type::Object: {
      size_t total = 32;
      for (const Object::Entry& entry : v.as_object()) total += 32 + entry.key.size() + value_bytes(entry.value);
      return total;
    }
    default: return 16;
  }
}

const std::string kTimestampKey = "@timestamp";
const std::string kVersionKey = "@version";
const std::string kMessageKey = "message";
const std::string kTagsKey = "tags";

}  // namespace

Event::Event(const Event& o)
    : fields_(o.fields_), metadata_(o.metadata_), ack_(AckHold::retain(o.ack_.get())), cancelled_(o.cancelled_) {}

void Event::init_with_message(std::string_view message, Timestamp ts) {
  fields_.clear();
  metadata_.clear();
  fields_[kTimestampKey].set_timestamp(ts);
  fields_[kVersionKey].set_string("1");
  fields_[kMessageKey].set_string(message);
}

void Event::reset() {
  fields_.clear();
  metadata_.clear();
  ack_.reset();
  cancelled_ = false;
}

const Value* Event::get(const FieldRef& ref) const {
  const auto& path = ref.path();
  if (path.empty()) return nullptr;  // empty reference, or `[@metadata]` itself (an Object, not a Value)
  const Object& root = ref.is_metadata() ? metadata_ : fields_;
  const Value* current = root.find(path[0]);
  for (size_t i = 1; current && i < path.size(); ++i) current = child_of(*current, path[i]);
  return current;
}

Value* Event::get(const FieldRef& ref) {
  const auto& path = ref.path();
  if (path.empty()) return nullptr;
  Object& root = ref.is_metadata() ? metadata_ : fields_;
  Value* current = root.find(path[0]);
  for (size_t i = 1; current && i < path.size(); ++i) current = mutable_child_of(*current, path[i]);
  return current;
}

Value& Event::put(const FieldRef& ref) {
  const auto& path = ref.path();
  if (path.empty()) return discard_slot();
  Object& root = ref.is_metadata() ? metadata_ : fields_;
  Value* current = &root[path[0]];
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string& segment = path[i];
    long index = 0;
    if (current->is_array() && is_integer_segment(segment, &index)) {
      Array& items = current->as_array();
      if (index < 0) index += long(items.size());
      if (index < 0) return discard_slot();
      // Past the end: grow with nulls, as Logstash does.
      if (size_t(index) >= items.size()) items.resize(size_t(index) + 1);
      current = &items[size_t(index)];
      continue;
    }
    if (!current->is_object()) current->make_object();
    current = &current->as_object()[segment];
  }
  return *current;
}

bool Event::remove(const FieldRef& ref) {
  const auto& path = ref.path();
  if (path.empty()) {
    if (ref.is_root_metadata()) {
      bool had = !metadata_.empty();
      metadata_.clear();
      return had;
    }
    return false;
  }
  Object& root = ref.is_metadata() ? metadata_ : fields_;
  if (path.size() == 1) return root.erase(path[0]);
  Value* parent = root.find(path[0]);
  for (size_t i = 1; parent && i + 1 < path.size(); ++i) parent = mutable_child_of(*parent, path[i]);
  if (!parent) return false;
  const std::string& last = path.back();
  if (parent->is_object()) return parent->as_object().erase(last);
  if (parent->is_array()) {
    Array& items = parent->as_array();
    long index = array_index(last, items.size());
    if (index < 0) return false;
    items.erase(items.begin() + index);
    return true;
  }
  return false;
}

Timestamp Event::timestamp() const {
  const Value* ts = fields_.find(kTimestampKey);
  if (ts && ts->is_timestamp()) return ts->as_timestamp();
  return Timestamp::now();
}

void Event::set_timestamp(Timestamp ts) { fields_[kTimestampKey].set_timestamp(ts); }

void Event::add_tag(std::string_view tag) {
  Value& tags = fields_[kTagsKey];
  if (tags.is_array()) {
    for (const Value& existing : tags.as_array()) {
      if (existing.is_string() && existing.as_string() == tag) return;
    }
    tags.as_array().emplace_back(tag);
    return;
  }
  if (tags.is_null()) {
    tags.make_array_of(tag);
    return;
  }
  // A scalar `tags` (e.g. set by add_field) becomes the first item, as Logstash does.
  Array& items = wrap_in_array(tags);
  if (!(items[0].is_string() && items[0].as_string() == tag)) items.emplace_back(tag);
}

bool Event::has_tag(std::string_view tag) const {
  const Value* tags = fields_.find(kTagsKey);
  if (!tags) return false;
  if (tags->is_string()) return tags->as_string() == tag;
  if (!tags->is_array()) return false;
  for (const Value& existing : tags->as_array()) {
    if (existing.is_string() && existing.as_string() == tag) return true;
  }
  return false;
}

void Event::remove_tag(std::string_view tag) {
  Value* tags = fields_.find(kTagsKey);
  if (!tags) return;
  if (tags->is_string()) {
    if (tags->as_string() == tag) tags->make_array();
    return;
  }
  if (!tags->is_array()) return;
  Array& items = tags->as_array();
  std::erase_if(items, [&](const Value& v) { return v.is_string() && v.as_string() == tag; });
}

// Same count as value_bytes, with the leaves counted inline: this runs on every queue push.
static size_t object_bytes(const Object& object) {
  size_t total = 0;
  for (const Object::Entry& entry : object) {
    const Value& value = entry.value;
    total += 32 + entry.key.size();
    if (value.is_string()) total += 32 + value.as_string().size();
    else if (value.is_object() || value.is_array()) total += value_bytes(value);
    else total += 16;
  }
  return total;
}

size_t Event::approx_bytes() const { return 64 + object_bytes(fields_) + object_bytes(metadata_); }

void adopt_fields(Event& event, Object& fields) {
  std::swap(event.fields(), fields);
  fields.clear();
  Object& own = event.fields();
  event.metadata().clear();
  Value metadata;
  if (own.take("@metadata", metadata) && metadata.is_object()) std::swap(event.metadata(), metadata.as_object());

  Value* ts = own.find(kTimestampKey);
  if (!ts) {
    own[kTimestampKey].set_timestamp(event_clock::now());
  } else if (!ts->is_timestamp()) {
    Timestamp parsed;
    if (ts->is_string() && parse_iso8601(ts->as_string(), parsed)) {
      ts->set_timestamp(parsed);
    } else {
      Value original;
      own.take(kTimestampKey, original);
      own[kTimestampKey].set_timestamp(event_clock::now());
      own["_@timestamp"] = std::move(original);
      event.add_tag("_timestampparsefailure");
    }
  }
  if (!own.contains(kVersionKey)) own[kVersionKey].set_string("1");
}

}  // namespace sluice
