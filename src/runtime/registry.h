// Maps kind/name to a plugin's schema and factory. Plugins register themselves from
// their own file; nothing in the core names a plugin.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/plugin.h"
#include "runtime/schema.h"

namespace sluice {

using InputFactory = std::function<std::unique_ptr<Input>(const Options&, PluginContext&)>;
using FilterFactory = std::function<std::unique_ptr<Filter>(const Options&, PluginContext&)>;
using OutputFactory = std::function<std::unique_ptr<Output>(const Options&, PluginContext&)>;
using CodecFactory = std::function<std::unique_ptr<Codec>(const Options&, PluginContext&)>;

struct PluginEntry {
  PluginSchema schema;  // own options + the kind's common options
  InputFactory input;
  FilterFactory filter;
  OutputFactory output;
  CodecFactory codec;
};

class Registry {
 public:
  static Registry& instance();
  void add(PluginEntry entry);
  const PluginEntry* find(PluginKind kind, const std::string& name) const;
  std::vector<const PluginEntry*> all() const;  // sorted by kind, name

 private:
  std::vector<PluginEntry> entries_;
};

// At namespace scope in a plugin's file:
//   static const sluice::RegisterInput reg{schema(), [](auto& o, auto& c) { return std::make_unique<X>(o, c); }};
struct RegisterInput { RegisterInput(PluginSchema s, InputFactory f); };
struct RegisterFilter { RegisterFilter(PluginSchema s, FilterFactory f); };
struct RegisterOutput { RegisterOutput(PluginSchema s, OutputFactory f); };
struct RegisterCodec { RegisterCodec(PluginSchema s, CodecFactory f); };

}  // namespace sluice
