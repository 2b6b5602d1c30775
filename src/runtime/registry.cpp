// The plugin registry: filled by static registrars in each plugin's file before main().
#include "runtime/registry.h"

#include <algorithm>

namespace sluice {

namespace {

// The kind's common options are appended unless the plugin declares its own version
// (e.g. an input whose codec defaults to "line" instead of "plain").
void add_common_options(PluginSchema& schema) {
  for (const OptionSpec& common : common_options(schema.kind)) {
    bool overridden = std::any_of(schema.options.begin(), schema.options.end(),
                                  [&](const OptionSpec& own) { return own.name == common.name; });
    if (!overridden) schema.options.push_back(common);
  }
}

}  // namespace

Registry& Registry::instance() {
  // Function-local static: safe to use from other translation units' static initializers.
  static Registry registry;
  return registry;
}

void Registry::add(PluginEntry entry) {
  add_common_options(entry.schema);
  for (PluginEntry& existing : entries_) {
    // A later registration of the same kind/name replaces the earlier one (tests may override).
    if (existing.schema.kind == entry.schema.kind && existing.schema.name == entry.schema.name) {
      existing = std::move(entry);
      return;
    }
  }
  entries_.push_back(std::move(entry));
}

const PluginEntry* Registry::find(PluginKind kind, const std::string& name) const {
  for (const PluginEntry& e : entries_)
    if (e.schema.kind == kind && e.schema.name == name) return &e;
  return nullptr;
}

std::vector<const PluginEntry*> Registry::all() const {
  std::vector<const PluginEntry*> out;
  out.reserve(entries_.size());
  for (const PluginEntry& e : entries_) out.push_back(&e);
  std::sort(out.begin(), out.end(), [](const PluginEntry* a, const PluginEntry* b) {
    if (a->schema.kind != b->schema.kind) return a->schema.kind < b->schema.kind;
    return a->schema.name < b->schema.name;
  });
  return out;
}

RegisterInput::RegisterInput(PluginSchema s, InputFactory f) {
  s.kind = PluginKind::Input;
  PluginEntry e;
  e.schema = std::move(s);
  e.input = std::move(f);
  Registry::instance().add(std::move(e));
}

RegisterFilter::RegisterFilter(PluginSchema s, FilterFactory f) {
  s.kind = PluginKind::Filter;
  PluginEntry e;
  e.schema = std::move(s);
  e.filter = std::move(f);
  Registry::instance().add(std::move(e));
}

RegisterOutput::RegisterOutput(PluginSchema s, OutputFactory f) {
  s.kind = PluginKind::Output;
  PluginEntry e;
  e.schema = std::move(s);
  e.output = std::move(f);
  Registry::instance().add(std::move(e));
}

RegisterCodec::RegisterCodec(PluginSchema s, CodecFactory f) {
  s.kind = PluginKind::Codec;
  PluginEntry e;
  e.schema = std::move(s);
  e.codec = std::move(f);
  Registry::instance().add(std::move(e));
}

}  // namespace sluice
