// `-t`: validates a whole pipeline config against the plugins' schemas without building it,
// collecting every problem so that one run reports them all.
#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

#include "config/parser.h"
#include "runtime/options.h"
#include "runtime/pipeline.h"
#include "runtime/registry.h"

namespace sluice {

namespace {

using config::ConfigError;
using config::PluginBlock;
using config::Position;
using config::StatementList;

class Checker {
 public:
  void check_list(const StatementList& list, PluginKind kind) {
    for (const config::Statement& st : list) {
      if (st.kind == config::Statement::Kind::Plugin) {
        if (st.plugin) check_plugin(*st.plugin, kind);
      } else {
        for (const config::IfBranch& branch : st.branches) check_list(branch.body, kind);
      }
    }
  }

  std::vector<ConfigError> errors;

 private:
  void check_plugin(const PluginBlock& block, PluginKind kind) {
    if (kind != PluginKind::Codec) check_id(block);
    const PluginEntry* entry = Registry::instance().find(kind, block.name);
    if (!entry) {
      errors.emplace_back(block.pos, fmt::format("unknown {} plugin '{}'", plugin_kind_name(kind), block.name));
      // The schema is unknown, but a codec block written in place can still be checked.
      for (const config::Attribute& attr : block.attributes)
        if (attr.name == "codec" && attr.value.kind == config::ConfigValue::Kind::Plugin && attr.value.plugin)
          check_plugin(*attr.value.plugin, PluginKind::Codec);
      return;
    }
    Options options = Options::validate_all(block, entry->schema, errors);
    for (const OptionSpec& spec : entry->schema.options) {
      // Only codecs written in the config: a default codec is the plugin author's business.
      if (spec.type != OptionType::Codec || !options.has(spec.name)) continue;
      if (std::shared_ptr<PluginBlock> codec = options.get_codec(spec.name)) check_plugin(*codec, PluginKind::Codec);
    }
  }

  // Logstash refuses two plugins with the same id in one pipeline.
  void check_id(const PluginBlock& block) {
    for (const config::Attribute& attr : block.attributes) {
      if (attr.name != "id" || attr.value.kind == config::ConfigValue::Kind::Array ||
          attr.value.kind == config::ConfigValue::Kind::Hash || attr.value.kind == config::ConfigValue::Kind::Plugin)
        continue;
      auto [it, inserted] = ids_.emplace(attr.value.text, attr.pos);
      if (!inserted)
        errors.emplace_back(attr.pos, fmt::format("two plugins have the id `{}` (the other one is at {})",
                                                  attr.value.display(), it->second.str()));
    }
  }

  std::map<std::string, Position> ids_;
};

}  // namespace

void check_pipeline_config(const PipelineSettings& settings, const config::PipelineConfig& config) {
  (void)settings;
  Checker checker;
  checker.check_list(config.inputs, PluginKind::Input);
  checker.check_list(config.filters, PluginKind::Filter);
  checker.check_list(config.outputs, PluginKind::Output);
  if (checker.errors.empty()) return;
  if (checker.errors.size() == 1) throw checker.errors.front();
  // One error per line, each "FILE:LINE:COL: error: ...".
  std::string all;
  for (const ConfigError& e : checker.errors) {
    if (!all.empty()) all += '\n';
    all += e.what();
  }
  throw ConfigError(all);
}

}  // namespace sluice
