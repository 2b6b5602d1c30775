// Generates the plugin reference from the registry, so the docs can never disagree with
// what validation accepts.
#include "runtime/reference.h"

#include <fmt/format.h>

#include "runtime/registry.h"
#include "runtime/schema.h"

namespace sluice {

namespace {

std::string value_as_config(const config::ConfigValue& v) {
  using Kind = config::ConfigValue::Kind;
  switch (v.kind) {
    case Kind::String: {
      // Written as in a config with escapes on, so a newline delimiter shows as "\n".
      std::string out = "\"";
      for (char c : v.text) {
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c == '"' || c == '\\') out += std::string("\\") + c;
        else out += c;
      }
      return out + "\"";
    }
    case Kind::Number:
    case Kind::Bareword: return v.text;
    case Kind::Boolean: return v.boolean ? "true" : "false";
    case Kind::Array: {
      std::string out = "[";
      for (size_t i = 0; i < v.items.size(); ++i) out += (i ? ", " : "") + value_as_config(v.items[i]);
      return out + "]";
    }
    case Kind::Hash: {
      std::string out = "{";
      for (const auto& [k, val] : v.entries) out += " " + value_as_config(k) + " => " + value_as_config(val);
      return out + (v.entries.empty() ? "}" : " }");
    }
    case Kind::Plugin: return v.plugin ? v.plugin->name : v.text;
  }
  return "";
}

// Markdown table cells: pipes and newlines would break the row.
std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string default_text(const OptionSpec& o) {
  if (!o.default_value) return "";
  if (o.type == OptionType::Password) return "(hidden)";
  if (o.type == OptionType::Codec && o.default_value->kind == config::ConfigValue::Kind::String)
    return "`" + cell(o.default_value->text) + "`";
  return "`" + cell(value_as_config(*o.default_value)) + "`";
}

std::string allowed_text(const OptionSpec& o) {
  std::string out;
  for (const std::string& a : o.allowed) out += (out.empty() ? "" : ", ") + ("`" + cell(a) + "`");
  return out;
}

void option_table(std::string& out, const std::vector<const OptionSpec*>& options) {
  out += "| Option | Type | Default | Required | Allowed values | Description |\n";
  out += "|---|---|---|---|---|---|\n";
  for (const OptionSpec* o : options) {
    std::string doc = cell(o->doc);
    if (o->deprecated) doc = "(deprecated) " + doc;
    out += fmt::format("| `{}` | {} | {} | {} | {} | {} |\n", o->name, option_type_name(o->type), default_text(*o),
                       o->required ? "yes" : "no", allowed_text(*o), doc);
  }
}

// An option identical to the kind's common one is described in the common table only.
bool is_common(const OptionSpec& o, PluginKind kind) {
  for (const OptionSpec& c : common_options(kind)) {
    if (c.name != o.name) continue;
    std::string a = c.default_value ? value_as_config(*c.default_value) : "";
    std::string b = o.default_value ? value_as_config(*o.default_value) : "";
    return c.type == o.type && a == b && c.required == o.required;
  }
  return false;
}

const char* kind_title(PluginKind k) {
  switch (k) {
    case PluginKind::Input: return "Inputs";
    case PluginKind::Filter: return "Filters";
    case PluginKind::Output: return "Outputs";
    case PluginKind::Codec: return "Codecs";
  }
  return "";
}

}  // namespace

std::string plugin_reference_markdown() {
  std::string out;
  out += "# Plugin reference\n\n";
  out += "Generated from the plugins' option schemas by `sluice --print-plugin-reference`; do not edit by hand.\n";
  out += "Option types and how values are coerced are described in [config.md](config.md).\n";
  std::vector<const PluginEntry*> all = Registry::instance().all();
  for (PluginKind kind : {PluginKind::Input, PluginKind::Filter, PluginKind::Output, PluginKind::Codec}) {
    out += fmt::format("\n## {}\n\n", kind_title(kind));
    std::vector<const OptionSpec*> common;
    for (const OptionSpec& o : common_options(kind)) common.push_back(&o);
    out += fmt::format("### Options of every {} plugin\n\n", plugin_kind_name(kind));
    option_table(out, common);
    for (const PluginEntry* e : all) {
      if (e->schema.kind != kind) continue;
      out += fmt::format("\n### `{}`\n\n", e->schema.name);
      if (!e->schema.doc.empty()) out += e->schema.doc + "\n\n";
      std::vector<const OptionSpec*> own;
      for (const OptionSpec& o : e->schema.options)
        if (!is_common(o, kind)) own.push_back(&o);
      if (own.empty()) {
        out += fmt::format("No options besides those of every {} plugin.\n", plugin_kind_name(kind));
      } else {
        option_table(out, own);
      }
    }
  }
  return out;
}

}  // namespace sluice
