// output { pipeline { send_to => ["a", "b"] } }: sends a copy of each event to each address
// (see runtime/bus.h). The copies hold the event's acknowledgement, so the source hears that
// an event is done only once the downstream pipelines are done with every copy.
#include <chrono>

#include "core/event_pool.h"
#include "runtime/bus.h"
#include "runtime/logging.h"
#include "runtime/registry.h"

namespace sluice {

namespace {

PluginSchema pipeline_output_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Output;
  schema.name = "pipeline";
  schema.doc =
      "Sends events to the `pipeline` inputs of other pipelines in the same process, one copy per address. "
      "Blocks while a receiving pipeline's queue is full, or while nobody listens on an address.";
  OptionSpec send_to;
  send_to.name = "send_to";
  send_to.type = OptionType::Array;
  send_to.required = true;
  send_to.doc = "The addresses to send each event to.";
  schema.options.push_back(std::move(send_to));
  OptionSpec ensure;
  ensure.name = "ensure_delivery";
  ensure.type = OptionType::Boolean;
  ensure.default_value = cv_bool(true);
  ensure.doc =
      "Wait for an address with no listener to appear (true), or drop the events sent to it with a warning (false).";
  schema.options.push_back(std::move(ensure));
  return schema;
}

class PipelineOutput final : public Output {
 public:
  PipelineOutput(const Options& options, PluginContext& ctx)
      : id_(ctx.id),
        addresses_(options.get_string_array("send_to")),
        ensure_delivery_(options.get_bool("ensure_delivery")),
        bus_(ctx.bus ? ctx.bus : &PipelineBus::instance()),
        stopping_(ctx.pipeline_stopping) {
    for (const auto& address : addresses_) bus_->register_sender(address);
    registered_ = true;
  }
  ~PipelineOutput() override { unregister(); }

  void write(std::span<Event* const> events) override {
    thread_local std::vector<Event*> copies;
    for (const std::string& address : addresses_) {
      copies.clear();
      copies.reserve(events.size());
      for (const Event* source : events) {
        Event* copy = sluice::new_event();
        copy->fields().assign_unrelated(source->fields());
        copy->metadata().assign_unrelated(source->metadata());
        copy->attach_ack(source->ack_token());
        copies.push_back(copy);
      }
      if (bus_->send(address, copies, stopping_, ensure_delivery_)) continue;
      bool keep_ack = ensure_delivery_;  // gave up while stopping: the source must redo them
      for (Event* copy : copies) {
        if (keep_ack) {
          if (AckToken* token = copy->ack_token()) token->retain();
        }
        free_event(copy);
      }
      report_undelivered(address, copies.size(), keep_ack);
    }
  }

  void close() override { unregister(); }
  bool thread_safe() const override { return true; }
  bool needs_whole_batches() const override { return false; }

 private:
  void unregister() {
    if (!registered_) return;
    registered_ = false;
    for (const auto& address : addresses_) bus_->unregister_sender(address);
  }

  void report_undelivered(const std::string& address, size_t count, bool redo) {
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(log_mutex_);
    if (now - last_log_ < std::chrono::seconds(10) && last_log_.time_since_epoch().count() != 0) return;
    last_log_ = now;
    logging::get("sluice.pipeline")
        ->warn("output {}: nobody listens on pipeline address '{}'; {} event(s) {}", id_, address, count,
               redo ? "not delivered (not acknowledged, the source will send them again)" : "dropped");
  }

  std::string id_;
  std::vector<std::string> addresses_;
  bool ensure_delivery_;
  PipelineBus* bus_;
  const std::atomic<bool>* stopping_;
  bool registered_ = false;
  std::mutex log_mutex_;
  std::chrono::steady_clock::time_point last_log_{};
};

const RegisterOutput registration{pipeline_output_schema(), [](const Options& options, PluginContext& ctx) {
                                    return std::make_unique<PipelineOutput>(options, ctx);
                                  }};

}  // namespace

}  // namespace sluice
