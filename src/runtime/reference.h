// The plugin reference (docs/plugins.md), generated from the registered plugins' schemas.
#pragma once

#include <string>

namespace sluice {

// Markdown: per kind, per plugin its description and a table of its options (name, type,
// default, required, allowed values, description); the options common to a kind are listed once.
std::string plugin_reference_markdown();

}  // namespace sluice
