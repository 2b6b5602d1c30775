// input { pipeline { address => "name" } }: receives the events that other pipelines send to
// `address` (see runtime/bus.h for delivery, acknowledgement and shutdown order).
#include <mutex>

#include "core/event_pool.h"
#include "runtime/bus.h"
#include "runtime/registry.h"

namespace sluice {

namespace {

PluginSchema pipeline_input_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Input;
  schema.name = "pipeline";
  schema.doc =
      "Receives events sent by `pipeline` outputs of other pipelines in the same process to its `address`. "
      "The sender's acknowledgement travels with the events: the upstream source checkpoints only once this "
      "pipeline's outputs took them. When every pipeline that sends to the address has finished (a finite "
      "input upstream), this input ends too, so a chain of pipelines behind a batch job ends by itself.";
  OptionSpec address;
  address.name = "address";
  address.type = OptionType::String;
  address.required = true;
  address.doc = "The virtual address this input listens on (unique in the process).";
  schema.options.push_back(std::move(address));
  return schema;
}

class PipelineInput final : public Input, public PipelineBus::Receiver {
 public:
  PipelineInput(const Options& options, PluginContext& ctx)
      : address_(options.get_string("address")), bus_(ctx.bus ? ctx.bus : &PipelineBus::instance()) {}

  void run(InputContext& ctx) override {
    {
      std::lock_guard lock(mutex_);
      ctx_ = &ctx;
    }
    bus_->listen(address_, this);
    // Every pipeline is built (its outputs registered as senders) before any starts. When the
    // senders seen at start have all finished, nothing can arrive any more: end, so that a
    // chain behind a finite input (a batch job) ends by itself. With no sender at all, listen
    // until stopped, as Logstash does.
    const bool had_senders = bus_->senders(address_) > 0;
    while (!ctx.wait_for_stop(100)) {
      if (had_senders && bus_->senders(address_) == 0) break;
    }
    // Returns once no upstream sender is left (bus.h): everything in flight gets delivered.
    bus_->unlisten(address_, this);
    std::lock_guard lock(mutex_);
    ctx_ = nullptr;
  }

  // From the upstream pipelines' workers; push() is not thread-safe, hence the mutex. While
  // this pipeline is stopping, push() still queues (it only tells run() to finish).
  void deliver(std::span<Event* const> events) override {
    std::lock_guard lock(mutex_);
    if (!ctx_) {
      // Not listening (cannot happen: the bus only delivers between listen and unlisten).
      for (Event* e : events) {
        if (AckToken* token = e->ack_token()) token->retain();  // never acknowledged: redone upstream
        free_event(e);
      }
      return;
    }
    for (Event* e : events) ctx_->push(e);
    ctx_->flush();
  }

 private:
  std::string address_;
  PipelineBus* bus_;
  std::mutex mutex_;
  InputContext* ctx_ = nullptr;
};

const RegisterInput registration{pipeline_input_schema(), [](const Options& options, PluginContext& ctx) {
                                   return std::make_unique<PipelineInput>(options, ctx);
                                 }};

}  // namespace

}  // namespace sluice
