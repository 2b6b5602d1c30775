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
      "pipeline's outputs took them.";
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
    ctx.wait_for_stop(-1);
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
