#include "runtime/codec_unit_decoder.h"

#include <atomic>
#include <memory>
#include <utility>
#include <vector>

namespace sluice {

namespace {

uint64_t next_decoder_id() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

}  // namespace

CodecUnitDecoder::CodecUnitDecoder(const Codec& prototype) : prototype_(prototype), id_(next_decoder_id()) {}

void CodecUnitDecoder::decode(std::string_view unit, std::string_view origin, EventSink& sink) const {
  struct Sink final : EventSink {
    const CodecUnitDecoder& decoder;
    std::string_view origin;
    EventSink& next;
    Sink(const CodecUnitDecoder& d, std::string_view o, EventSink& n) : decoder(d), origin(o), next(n) {}
    void accept(Event* event) override {
      if (event) decoder.add_fields(*event, origin);
      next.accept(event);
    }
  } fields(*this, origin, sink);
  codec_for_this_thread().decode_unit(unit, fields);
}

Codec& CodecUnitDecoder::codec_for_this_thread() const {
  thread_local std::vector<std::pair<uint64_t, std::unique_ptr<Codec>>> clones;
  for (auto& [id, codec] : clones)
    if (id == id_) return *codec;
  std::lock_guard lock(clone_mutex_);  // clone() reads the prototype, shared by all threads
  clones.emplace_back(id_, prototype_.clone());
  return *clones.back().second;
}

}  // namespace sluice
