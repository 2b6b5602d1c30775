// The drop filter: cancels the event (all of them, or about `percentage` percent), which
// makes the worker discard it and so release its acknowledgement.
#include <random>

#include "core/event.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema drop_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "drop";
  schema.doc = "Drops the events that reach it; usually placed inside a conditional.";
  OptionSpec percentage;
  percentage.name = "percentage";
  percentage.type = OptionType::Number;
  percentage.default_value = cv_number(100);
  percentage.doc = "Drops about this percentage of the events (100 drops them all).";
  schema.options.push_back(percentage);
  return schema;
}

class DropFilter : public Filter {
 public:
  explicit DropFilter(const Options& options) : percentage_(options.get_number("percentage")) {}

  bool filter(Event& event, FilterContext&) override {
    if (percentage_ == 100 || random_unit() < percentage_ / 100.0) event.cancel();
    return true;  // Logstash calls filter_matched after drop too
  }

 private:
  static double random_unit() {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    thread_local std::uniform_real_distribution<double> distribution(0.0, 1.0);
    return distribution(generator);
  }

  double percentage_;
};

const RegisterFilter registration{drop_schema(), [](const Options& options, PluginContext&) {
                                    return std::make_unique<DropFilter>(options);
                                  }};

}  // namespace
}  // namespace sluice
