// A Logstash event: a tree of fields plus @metadata (kept apart: outputs never write
// it) and the hold on its source's acknowledgement.
#pragma once

#include <string_view>

#include "core/ack.h"
#include "core/field_ref.h"
#include "core/value.h"

namespace sluice {

class Event {
 public:
  Event() = default;
  // A copy shares the acknowledgement of the original (it takes its own hold): the
  // source is done only when the original and every clone are done.
  Event(const Event& o);
  Event& operator=(const Event&) = delete;

  // A new event as inputs make them: @timestamp = ts, @version = "1", message.
  void init_with_message(std::string_view message, Timestamp ts);
  // Empties the event for reuse, keeping storage; releases its hold.
  void reset();

  Object& fields() { return fields_; }
  const Object& fields() const { return fields_; }
  Object& metadata() { return metadata_; }
  const Object& metadata() const { return metadata_; }

  // nullptr when any segment is missing or not a container. Numeric segments index arrays.
  Value* get(const FieldRef& ref);
  const Value* get(const FieldRef& ref) const;
  // Creates missing intermediate objects (replacing non-object scalars on the way, as Logstash does).
  Value& put(const FieldRef& ref);
  void set(const FieldRef& ref, Value v) { put(ref) = std::move(v); }
  bool remove(const FieldRef& ref);
  bool contains(const FieldRef& ref) const { return get(ref) != nullptr; }

  // @timestamp; Timestamp::now() is used when the event has none.
  Timestamp timestamp() const;
  void set_timestamp(Timestamp ts);

  // tags: an array of strings (Logstash keeps them unique).
  void add_tag(std::string_view tag);
  bool has_tag(std::string_view tag) const;
  void remove_tag(std::string_view tag);

  bool cancelled() const { return cancelled_; }
  void cancel() { cancelled_ = true; }  // drop: the worker discards it (and so releases its ack)

  // Attaches the event to its source's chunk: takes one hold on the token.
  void attach_ack(AckToken* token) { ack_ = AckHold::retain(token); }
  // Takes over a hold the caller already owns.
  void adopt_ack(AckToken* token) { ack_ = AckHold(token); }
  AckToken* ack_token() const { return ack_.get(); }
  void release_ack() { ack_.reset(); }

  // Rough size in bytes, for the queue's byte bound.
  size_t approx_bytes() const;

 private:
  Object fields_;
  Object metadata_;
  AckHold ack_;
  bool cancelled_ = false;
};

// Makes `fields` (a decoded JSON object) the event's fields, as Logstash's Event(Map) does:
// `@metadata` (a hash) moves into metadata(), `@timestamp` becomes a Timestamp (now() when
// absent; unparseable: tag `_timestampparsefailure`, original kept in `_@timestamp`), and
// `@version` defaults to "1". `fields` receives the event's previous (cleared) storage.
void adopt_fields(Event& event, Object& fields);

}  // namespace sluice
