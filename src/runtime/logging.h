// Process-wide logging: spdlog to stderr, one line per event worth telling, in Logstash's shape:
//   [2024-05-01T10:00:00,123][INFO ][sluice.agent] Pipeline started {"pipeline.id"=>"main"}
// Each component logs through its own named logger; all share one stderr sink and one level.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace sluice::logging {

// Installs the format and the level (fatal, error, warn, info, debug, trace) and makes the
// spdlog default logger ("sluice") write in the same format. Safe to call again.
// Returns false (and changes nothing) for an unknown level.
bool init(std::string_view level = "info");
bool set_level(std::string_view level);

// The logger of a component ("sluice.agent", "sluice.api", "filter.grok"...), created on first use.
std::shared_ptr<spdlog::logger> get(const std::string& component);

}  // namespace sluice::logging
