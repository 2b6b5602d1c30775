// Counter helpers of the monitoring metrics.
#include "runtime/metrics.h"

namespace sluice {

std::atomic<uint64_t>& PluginMetrics::counter(const std::string& name) {
  std::lock_guard lock(mutex_);
  for (auto& [key, value] : counters_) {
    if (key == name) return value;
  }
  counters_.emplace_back(std::piecewise_construct, std::forward_as_tuple(name), std::forward_as_tuple(0));
  return counters_.back().second;
}

std::vector<std::pair<std::string, uint64_t>> PluginMetrics::counters() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, uint64_t>> out;
  out.reserve(counters_.size());
  for (const auto& [key, value] : counters_) out.emplace_back(key, value.load(std::memory_order_relaxed));
  return out;
}

PluginMetrics* PipelineMetrics::add_plugin(std::string id, std::string name, std::string kind) {
  auto metrics = std::make_unique<PluginMetrics>();
  metrics->id = std::move(id);
  metrics->name = std::move(name);
  metrics->kind = std::move(kind);
  plugins.push_back(std::move(metrics));
  return plugins.back().get();
}

}  // namespace sluice
