// Decoding an input's raw units on the workers (InputContext::push_unit) with the input's codec:
// each worker thread decodes with its own clone (codecs keep scratch state), and the input adds
// its own fields to each event from the origin it queued with the unit. For inputs whose codec
// decodes each unit on its own (Codec::decodes_units_independently).
#pragma once

#include <cstdint>
#include <mutex>
#include <string_view>

#include "runtime/plugin.h"

namespace sluice {

class CodecUnitDecoder : public UnitDecoder {
 public:
  // `prototype` must outlive this decoder; it is only cloned, under a lock.
  explicit CodecUnitDecoder(const Codec& prototype);
  CodecUnitDecoder(const CodecUnitDecoder&) = delete;
  CodecUnitDecoder& operator=(const CodecUnitDecoder&) = delete;

  void decode(std::string_view unit, std::string_view origin, EventSink& sink) const final;

 protected:
  // The input's fields for an event decoded from a unit queued with `origin`. Called on worker
  // threads concurrently: read-only.
  virtual void add_fields(Event& event, std::string_view origin) const = 0;

 private:
  Codec& codec_for_this_thread() const;

  const Codec& prototype_;
  const uint64_t id_;  // never reused, so a later decoder at this address gets its own clones
  mutable std::mutex clone_mutex_;
};

}  // namespace sluice
