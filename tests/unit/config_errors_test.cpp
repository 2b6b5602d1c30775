// Config errors: exact positions and messages for malformed input, ${VAR} substitution
// (and that substituted values never reach a message), and loading several files.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "config/parser.h"
#include "test_support.h"

namespace sluice::config {
namespace {

// The what() of the error parsing `text` throws ("" when it parses).
std::string error_of(const std::string& text, ParseOptions options = {}) {
  try {
    parse_config(text, "bad.conf", options);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigErrors, WhatIsFileLineColErrorMessage) {
  Position p;
  p.file = "x.conf";
  p.line = 3;
  p.column = 7;
  ConfigError e(p, "something is wrong");
  EXPECT_STREQ(e.what(), "x.conf:3:7: error: something is wrong");
  EXPECT_EQ(e.position().line, 3);
}

TEST(ConfigErrors, UnterminatedDoubleQuotedString) {
  EXPECT_EQ(error_of("input {\n  stdin { tags => \"abc }\n}\n"),
            "bad.conf:2:19: error: unterminated string: the double quote here is never closed");
}

TEST(ConfigErrors, UnterminatedSingleQuotedStringEndingInEscapedQuote) {
  EXPECT_EQ(error_of("filter { p { x => 'abc\\' } }"),
            "bad.conf:1:19: error: unterminated string: the single quote here is never closed");
}

TEST(ConfigErrors, UnterminatedPluginBlock) {
  EXPECT_EQ(error_of("input {\n  stdin {\n    codec => json\n"),
            "bad.conf:2:9: error: unterminated block: the `{` of plugin `stdin` is never closed (end of input "
            "reached)");
}

TEST(ConfigErrors, UnterminatedSection) {
  EXPECT_EQ(error_of("output {\n  stdout {}\n# a comment without newline at the end"),
            "bad.conf:1:8: error: unterminated block: the `{` of section `output` is never closed (end of input "
            "reached)");
}

TEST(ConfigErrors, UnterminatedArrayAndHash) {
  EXPECT_EQ(error_of("filter { p { x => [1, 2"),
            "bad.conf:1:19: error: unterminated array: the `[` here is never closed (end of input reached)");
  EXPECT_EQ(error_of("filter { p { x => { a => 1 "),
            "bad.conf:1:19: error: unterminated hash: the `{` here is never closed (end of input reached)");
}

TEST(ConfigErrors, MissingArrow) {
  EXPECT_EQ(error_of("input {\n  tcp { port 5000 }\n}"),
            "bad.conf:2:14: error: expected `=>` after option name `port`, found `5000`");
  EXPECT_EQ(error_of("filter { p { x => { \"k\" \"v\" } } }"),
            "bad.conf:1:25: error: expected `=>` after hash key `k`, found \"v\"");
}

TEST(ConfigErrors, UnknownSection) {
  EXPECT_EQ(error_of("\n\ninputs {\n}\n"),
            "bad.conf:3:1: error: unknown section `inputs`, expected one of `input`, `filter`, `output`");
}

TEST(ConfigErrors, ElseWithoutIf) {
  EXPECT_EQ(error_of("filter {\n  mutate {}\n  else { drop {} }\n}"), "bad.conf:3:3: error: `else` without `if`");
}

TEST(ConfigErrors, UnterminatedRegexp) {
  EXPECT_EQ(error_of("filter { if [a] =~ /abc { drop {} } }"),
            "bad.conf:1:20: error: unterminated regexp: the `/` here is never closed");
}

TEST(ConfigErrors, InvalidRegexp) {
  std::string err = error_of("filter {\n  if [a] =~ /ab(c/ { drop {} }\n}");
  EXPECT_EQ(err.rfind("bad.conf:2:13: error: invalid regexp /ab(c/: ", 0), 0u) << err;
  EXPECT_NE(err.find("missing `)`"), std::string::npos) << err;
  std::string quantifier = error_of("filter { if [a] !~ \"a{3,1}\" { } }");
  EXPECT_EQ(quantifier.rfind("bad.conf:1:20: error: invalid regexp /a{3,1}/: ", 0), 0u) << quantifier;
}

TEST(ConfigErrors, ExpectedOneOfFound) {
  EXPECT_EQ(error_of("filter { => }"), "bad.conf:1:10: error: expected one of a plugin name, `if`, `}`, found `=>`");
  EXPECT_EQ(error_of("filter { p { x => } }"),
            "bad.conf:1:19: error: expected a value (string, number, bareword, array, hash or plugin block), found `}`");
  EXPECT_EQ(error_of("filter { p { x => [1 2] } }"), "bad.conf:1:22: error: expected one of `,`, `]`, found `2`");
  EXPECT_EQ(error_of("filter { if [a] == { } }"),
            "bad.conf:1:20: error: expected one of a field reference `[name]`, a string, a number, an array, a "
            "regexp, found `{`");
  EXPECT_EQ(error_of("filter { if [a] [b] { } }"),
            "bad.conf:1:17: error: expected one of a boolean operator (`and`, `or`, `xor`, `nand`), `{` after the "
            "condition, found `[`");
}

TEST(ConfigErrors, OtherMalformedInputs) {
  EXPECT_EQ(error_of("filter { if ([a] { } }"),
            "bad.conf:1:18: error: expected one of a boolean operator (`and`, `or`, `xor`, `nand`), `)`, found `{`");
  EXPECT_EQ(error_of("filter { if ! \"x\" { } }"),
            "bad.conf:1:15: error: expected one of `(`, a field reference `[name]` after `!`, found \"x\"");
  EXPECT_EQ(error_of("filter { if size([a]) > 1 { } }"),
            "bad.conf:1:13: error: method calls like `size(...)` are not supported in conditions");
  EXPECT_EQ(error_of("filter { p { x => { a => 1 a => 2 } } }"), "bad.conf:1:28: error: duplicate key `a` in hash");
  EXPECT_EQ(error_of("filter { p { x => 1 y => 2 } z => 3 }"),
            "bad.conf:1:30: error: option `z` outside of a plugin block (expected a plugin name followed by `{`)");
  EXPECT_EQ(error_of("if [a] { }"),
            "bad.conf:1:1: error: `if` outside of a section: conditionals go inside input, filter or output");
  EXPECT_EQ(error_of("filter { p { x => \"a\"y => 1 } }"),
            "bad.conf:1:22: error: expected one of `}`, whitespace before the next option, found `y`");
  EXPECT_EQ(error_of("input { stdin { } } }"),
            "bad.conf:1:21: error: expected one of `input`, `filter`, `output`, found `}`");
}

TEST(ConfigErrors, DeepNestingIsAnErrorNotACrash) {
  std::string deep = "filter { p { x => " + std::string(5000, '[') + " } }";
  EXPECT_NE(error_of(deep).find("nesting too deep"), std::string::npos);
  std::string parens = "filter { if " + std::string(5000, '(') + "[a] { } }";
  EXPECT_NE(error_of(parens).find("nesting too deep"), std::string::npos);
}

TEST(ConfigErrors, NothingButErrorsForGarbage) {
  const char* inputs[] = {"\x01\x02", "input", "input {", "{", "}", "filter { if", "filter { if [a] ==",
                          "filter { p { x => -", "filter { p { x => \"${", "\xEF\xBB\xBF"};
  for (const char* in : inputs) {
    try {
      parse_config(in, "g.conf");
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("g.conf:", 0), 0u) << e.what();
    }
  }
}

// ---- ${VAR} substitution ----

class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~EnvVar() { unsetenv(name_); }

 private:
  const char* name_;
};

TEST(ConfigEnv, SubstitutesSetVariablesAndDefaults) {
  EnvVar host("SLUICE_TEST_HOST", "example.org");
  unsetenv("SLUICE_TEST_UNSET_PORT");
  PipelineConfig cfg = parse_config(
      "output { http { url => \"https://${SLUICE_TEST_HOST}:${SLUICE_TEST_UNSET_PORT:8443}/x\" "
      "empty => \"${SLUICE_TEST_UNSET_PORT:}\" } }",
      "env.conf");
  const ConfigValue& url = cfg.outputs[0].plugin->attributes[0].value;
  EXPECT_EQ(url.text, "https://example.org:8443/x");
  EXPECT_EQ(url.written, "https://${SLUICE_TEST_HOST}:${SLUICE_TEST_UNSET_PORT:8443}/x");
  EXPECT_EQ(url.display(), url.written);
  EXPECT_EQ(cfg.outputs[0].plugin->attributes[1].value.text, "");
}

TEST(ConfigEnv, SubstitutesInsideArraysHashesAndConditions) {
  EnvVar v("SLUICE_TEST_TAG", "tagged");
  PipelineConfig cfg = parse_config(
      "filter { if [a] == \"${SLUICE_TEST_TAG}\" { m { t => [\"${SLUICE_TEST_TAG}\"] h => { k => '${SLUICE_TEST_TAG}' } } } }",
      "env.conf");
  const Statement& st = cfg.filters[0];
  EXPECT_EQ(st.branches[0].condition->children[1]->text, "tagged");
  const PluginBlock& m = *st.branches[0].body[0].plugin;
  EXPECT_EQ(m.attributes[0].value.items[0].text, "tagged");
  EXPECT_EQ(m.attributes[1].value.entries[0].second.text, "tagged");
}

TEST(ConfigEnv, UnsetVariableWithoutDefaultIsAnErrorAtItsPosition) {
  unsetenv("SLUICE_TEST_MISSING");
  std::string err = error_of("input {\n  tcp { host => \"x-${SLUICE_TEST_MISSING}\" }\n}");
  EXPECT_EQ(err.rfind("bad.conf:2:20: error: environment variable `SLUICE_TEST_MISSING` is not set", 0), 0u) << err;
}

TEST(ConfigEnv, LiteralDollarBracesThatAreNotVariablesStay) {
  PipelineConfig cfg = parse_config("filter { p { a => \"${}\" b => \"${1x}\" c => \"$HOME\" d => \"${open\" } }", "e.conf");
  const PluginBlock& p = *cfg.filters[0].plugin;
  EXPECT_EQ(p.attributes[0].value.text, "${}");
  EXPECT_EQ(p.attributes[1].value.text, "${1x}");
  EXPECT_EQ(p.attributes[2].value.text, "$HOME");
  EXPECT_EQ(p.attributes[3].value.text, "${open");
}

TEST(ConfigEnv, SubstitutedSecretsNeverAppearInErrors) {
  EnvVar secret("SLUICE_TEST_SECRET", "hunter2-secret");
  // An error right after the substituted string.
  std::string err1 = error_of("output { p { password => \"${SLUICE_TEST_SECRET}\"x => 1 } }");
  EXPECT_FALSE(err1.empty());
  EXPECT_EQ(err1.find("hunter2"), std::string::npos) << err1;
  // A duplicate hash key whose name came from the environment.
  std::string err2 = error_of("output { p { h => { \"${SLUICE_TEST_SECRET}\" => 1 \"${SLUICE_TEST_SECRET}\" => 2 } } }");
  EXPECT_NE(err2.find("duplicate key `${SLUICE_TEST_SECRET}`"), std::string::npos) << err2;
  EXPECT_EQ(err2.find("hunter2"), std::string::npos) << err2;
  // A missing `=>` after a key that came from the environment.
  std::string err3 = error_of("output { p { h => { \"${SLUICE_TEST_SECRET}\" 1 } } }");
  EXPECT_FALSE(err3.empty());
  EXPECT_EQ(err3.find("hunter2"), std::string::npos) << err3;
}

// ---- several files ----

TEST(ConfigFiles, DirectoryFilesJoinInLexicalOrder) {
  test::TempDir dir;
  test::write_file(dir.file("20-filter.conf"), "filter { second {} }\n");
  test::write_file(dir.file("10-input.conf"), "input { first {} }\nfilter { first {} }\n");
  test::write_file(dir.file("30-output.conf"), "output { last {} }\n");
  test::write_file(dir.file("30-output.conf~"), "this is an editor backup and is skipped {");
  std::filesystem::create_directory(dir.path() / "subdir");
  std::vector<std::string> files = expand_config_paths(dir.path().string());
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(std::filesystem::path(files[0]).filename(), "10-input.conf");
  EXPECT_EQ(std::filesystem::path(files[2]).filename(), "30-output.conf");
  PipelineConfig cfg = load_config_path(dir.path().string());
  ASSERT_EQ(cfg.filters.size(), 2u);
  EXPECT_EQ(cfg.filters[0].plugin->name, "first");
  EXPECT_EQ(cfg.filters[1].plugin->name, "second");
  EXPECT_EQ(cfg.filters[1].plugin->pos.file, dir.file("20-filter.conf"));
  EXPECT_EQ(cfg.outputs.size(), 1u);
}

TEST(ConfigFiles, GlobAndSingleFile) {
  test::TempDir dir;
  test::write_file(dir.file("b.conf"), "input { b {} }");
  test::write_file(dir.file("a.conf"), "input { a {} }");
  test::write_file(dir.file("c.txt"), "input { c {} }");
  PipelineConfig cfg = load_config_path(dir.file("*.conf"));
  ASSERT_EQ(cfg.inputs.size(), 2u);
  EXPECT_EQ(cfg.inputs[0].plugin->name, "a");
  EXPECT_EQ(load_config_path(dir.file("c.txt")).inputs[0].plugin->name, "c");
}

TEST(ConfigFiles, ErrorsNameTheFileAndNothingMatchingIsAnError) {
  test::TempDir dir;
  test::write_file(dir.file("ok.conf"), "input { a {} }");
  test::write_file(dir.file("zz.conf"), "input {\n  b { x => }\n}");
  try {
    load_config_path(dir.path().string());
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(dir.file("zz.conf") + ":2:12: error: ", 0), 0u) << e.what();
  }
  EXPECT_THROW(load_config_path(dir.file("*.nothing")), ConfigError);
  EXPECT_THROW(expand_config_paths(dir.file("missing.conf")), ConfigError);
}

}  // namespace
}  // namespace sluice::config
