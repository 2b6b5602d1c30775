// The null output: takes events and does nothing with them (benchmarks, pipelines that
// only feed other pipelines). The worker frees them afterwards, which acknowledges them.
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema null_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Output;
  schema.name = "null";
  schema.doc = "Discards every event.";
  return schema;
}

class NullOutput : public Output {
 public:
  void write(std::span<Event* const>) override {}
  bool thread_safe() const override { return true; }
  bool needs_whole_batches() const override { return false; }
};

const RegisterOutput registration{null_schema(), [](const Options&, PluginContext&) {
                                    return std::make_unique<NullOutput>();
                                  }};

}  // namespace
}  // namespace sluice
