// PluginContext::make_codec: builds a codec from a `codec => name` / `codec => name { ... }` option.
#include "config/parser.h"
#include "runtime/registry.h"

namespace sluice {

std::unique_ptr<Codec> PluginContext::make_codec(const std::shared_ptr<config::PluginBlock>& block) const {
  // No codec option and no schema default: Logstash's plain.
  std::shared_ptr<config::PluginBlock> chosen = block;
  if (!chosen) {
    chosen = std::make_shared<config::PluginBlock>();
    chosen->name = "plain";
  }
  const PluginEntry* entry = Registry::instance().find(PluginKind::Codec, chosen->name);
  if (!entry || !entry->codec) throw config::ConfigError(chosen->pos, "unknown codec plugin '" + chosen->name + "'");
  Options options = Options::validate(*chosen, entry->schema);
  PluginContext codec_context = *this;
  if (options.has("id")) codec_context.id = options.get_string("id");
  return entry->codec(options, codec_context);
}

}  // namespace sluice
