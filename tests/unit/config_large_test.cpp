// Large configs: a generator with 10,000 `lines` parses (one entry per line, and all on one line,
// where the column of every position used to be counted from the line start), and positions
// stay exact on long lines with multi-byte characters.
#include <gtest/gtest.h>

#include <string>

#include "config/parser.h"

namespace sluice::config {
namespace {

constexpr int kLines = 10000;

const ConfigValue* attribute(const PipelineConfig& cfg, const std::string& name) {
  if (cfg.inputs.empty() || cfg.inputs[0].kind != Statement::Kind::Plugin) return nullptr;
  for (const Attribute& a : cfg.inputs[0].plugin->attributes)
    if (a.name == name) return &a.value;
  return nullptr;
}

std::string generator_config(const std::string& separator) {
  std::string text = "input {\n  generator {\n    count => 1\n    lines => [";
  for (int i = 0; i < kLines; ++i) {
    text += separator;
    text += "\"line number " + std::to_string(i) + " of the generator\"";
    if (i + 1 < kLines) text += ",";
  }
  text += separator + "]\n  }\n}\noutput { stdout {} }\n";
  return text;
}

TEST(ConfigLarge, GeneratorWithTenThousandLinesOnePerLine) {
  PipelineConfig cfg = parse_config(generator_config("\n      "), "lines.conf");
  const ConfigValue* lines = attribute(cfg, "lines");
  ASSERT_NE(lines, nullptr);
  ASSERT_EQ(lines->kind, ConfigValue::Kind::Array);
  ASSERT_EQ(lines->items.size(), size_t(kLines));
  EXPECT_EQ(lines->items[kLines - 1].text, "line number 9999 of the generator");
  EXPECT_EQ(lines->items[kLines - 1].pos.line, 4 + kLines);
  EXPECT_EQ(lines->items[kLines - 1].pos.column, 7);
}

TEST(ConfigLarge, GeneratorWithTenThousandLinesOnOneLine) {
  PipelineConfig cfg = parse_config(generator_config(" "), "one-line.conf");
  const ConfigValue* lines = attribute(cfg, "lines");
  ASSERT_NE(lines, nullptr);
  ASSERT_EQ(lines->items.size(), size_t(kLines));
  EXPECT_EQ(lines->items[0].text, "line number 0 of the generator");
  EXPECT_EQ(lines->items[0].pos.line, 4);
  EXPECT_EQ(lines->items[0].pos.column, 16);  // after `    lines => [ `
  EXPECT_EQ(lines->items[kLines - 1].pos.line, 4);
}

TEST(ConfigLarge, ColumnsCountCharactersOnLongLinesWithMultiByteText) {
  // 2,000 entries of "é€" (2 + 3 bytes, 2 characters) and then an error on the same line.
  std::string text = "filter { mutate { add_tag => [";
  for (int i = 0; i < 2000; ++i) text += "\"\xC3\xA9\xE2\x82\xAC\", ";
  const size_t characters_before_error = 30 + 2000 * 6;  // `"é€", ` is 6 characters
  text += "} }";
  try {
    parse_config(text, "utf8.conf");
    FAIL() << "the unclosed array must be an error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.position().line, 1);
    EXPECT_EQ(e.position().column, int(characters_before_error) + 1) << e.what();
  }
  // The same on a later line, after a byte order mark and a multi-byte comment.
  std::string second = "\xEF\xBB\xBF# \xC3\xA9t\xC3\xA9\nfilter { \xE2\x82\xAC }";
  try {
    parse_config(second, "bom.conf");
    FAIL() << "a plugin name cannot start with \xE2\x82\xAC";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.position().line, 2);
    EXPECT_EQ(e.position().column, 10) << e.what();
  }
}

}  // namespace
}  // namespace sluice::config
