// `-t` (check_pipeline_config) and the generated plugin reference, with test-only plugins.
#include <gtest/gtest.h>

#include "config/parser.h"
#include "runtime/pipeline.h"
#include "runtime/reference.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

OptionSpec opt(std::string name, OptionType type, std::optional<config::ConfigValue> def = std::nullopt,
               bool required = false) {
  OptionSpec s;
  s.name = std::move(name);
  s.type = type;
  s.default_value = std::move(def);
  s.required = required;
  s.doc = "Doc of " + s.name + " | with a pipe.";
  return s;
}

PluginSchema schema(PluginKind kind, std::string name, std::vector<OptionSpec> options) {
  PluginSchema s;
  s.kind = kind;
  s.name = std::move(name);
  s.doc = "The " + s.name + " test plugin.";
  s.options = std::move(options);
  return s;
}

const RegisterInput check_input{
    schema(PluginKind::Input, "check_test_in",
           {opt("port", OptionType::Number, std::nullopt, true), opt("codec", OptionType::Codec, cv_string("check_test_codec"))}),
    [](const Options&, PluginContext&) { return std::unique_ptr<Input>(); }};
const RegisterFilter check_filter{
    schema(PluginKind::Filter, "check_test_filter", {opt("match", OptionType::Hash, cv_hash())}),
    [](const Options&, PluginContext&) { return std::unique_ptr<Filter>(); }};
const RegisterOutput check_output{
    schema(PluginKind::Output, "check_test_out", {opt("hosts", OptionType::Array, cv_array({"localhost:9200"}))}),
    [](const Options&, PluginContext&) { return std::unique_ptr<Output>(); }};
const RegisterCodec check_codec{schema(PluginKind::Codec, "check_test_codec", {opt("charset", OptionType::String, cv_string("UTF-8"))}),
                                [](const Options&, PluginContext&) { return std::unique_ptr<Codec>(); }};

std::string check_error(const std::string& text) {
  config::PipelineConfig cfg = config::parse_config(text, "check.conf");
  try {
    check_pipeline_config(PipelineSettings{}, cfg);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigCheck, ValidConfigPasses) {
  EXPECT_EQ(check_error("input { check_test_in { port => 5000 codec => check_test_codec { charset => \"latin1\" } } }\n"
                        "filter { if [a] { check_test_filter { match => { \"a\" => \"b\" } add_tag => \"x\" } } }\n"
                        "output { check_test_out { hosts => [\"h:1\"] id => \"out\" } }"),
            "");
}

TEST(ConfigCheck, UnknownPluginsPerKind) {
  EXPECT_EQ(check_error("filter {\n  no_such_filter {}\n}"), "check.conf:2:3: error: unknown filter plugin 'no_such_filter'");
  EXPECT_EQ(check_error("input { no_such_input {} }"), "check.conf:1:9: error: unknown input plugin 'no_such_input'");
  // A filter's name is not an output's.
  EXPECT_EQ(check_error("output { check_test_filter {} }"),
            "check.conf:1:10: error: unknown output plugin 'check_test_filter'");
}

TEST(ConfigCheck, CollectsEveryErrorOnePerLine) {
  std::string err = check_error(
      "input {\n"
      "  check_test_in { prot => 1 }\n"                       // unknown option + missing port
      "}\n"
      "filter {\n"
      "  if [x] { nope {} } else { check_test_filter { match => \"x\" } }\n"  // unknown plugin, bad hash
      "}\n"
      "output {\n"
      "  check_test_out { codec => check_test_codec { chrset => \"x\" } }\n"  // unknown codec option
      "  check_test_out { codec => missing_codec }\n"                          // unknown codec
      "}\n");
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= err.size()) {
    size_t end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    lines.push_back(err.substr(start, end - start));
    start = end + 1;
  }
  ASSERT_EQ(lines.size(), 6u) << err;
  EXPECT_EQ(lines[0], "check.conf:2:19: error: unknown option `prot` for check_test_in, did you mean `port`?");
  EXPECT_EQ(lines[1], "check.conf:2:3: error: missing required option `port` for check_test_in input");
  EXPECT_EQ(lines[2], "check.conf:5:12: error: unknown filter plugin 'nope'");
  EXPECT_EQ(lines[3], "check.conf:5:58: error: option `match` of check_test_filter expects a hash, got \"x\"");
  EXPECT_EQ(lines[4],
            "check.conf:8:48: error: unknown option `chrset` for check_test_codec, did you mean `charset`?");
  EXPECT_EQ(lines[5], "check.conf:9:29: error: unknown codec plugin 'missing_codec'");
}

TEST(ConfigCheck, DuplicateIds) {
  EXPECT_EQ(check_error("filter {\n  check_test_filter { id => \"f\" }\n  check_test_filter { id => \"f\" }\n}"),
            "check.conf:3:23: error: two plugins have the id `f` (the other one is at check.conf:2:23)");
}

TEST(ConfigCheck, ReferenceListsPluginsAndOptions) {
  std::string md = plugin_reference_markdown();
  EXPECT_NE(md.find("## Inputs"), std::string::npos);
  EXPECT_NE(md.find("## Codecs"), std::string::npos);
  EXPECT_NE(md.find("### `check_test_in`"), std::string::npos);
  EXPECT_NE(md.find("The check_test_in test plugin."), std::string::npos);
  EXPECT_NE(md.find("| `port` | number |  | yes |  | Doc of port \\| with a pipe. |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `hosts` | array | `[\"localhost:9200\"]` | no |"), std::string::npos);
  // The input's own codec default differs from the common one, so it is listed with the plugin.
  EXPECT_NE(md.find("| `codec` | codec | `check_test_codec` |"), std::string::npos);
  EXPECT_NE(md.find("### Options of every filter plugin"), std::string::npos);
  EXPECT_NE(md.find("| `remove_tag` | array | `[]` | no |"), std::string::npos);
  // Sections come in kind order.
  EXPECT_LT(md.find("### `check_test_in`"), md.find("### `check_test_filter`"));
  EXPECT_LT(md.find("### `check_test_filter`"), md.find("### `check_test_out`"));
}

}  // namespace
}  // namespace sluice
