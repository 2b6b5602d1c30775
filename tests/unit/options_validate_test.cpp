// Options::validate against a test-only plugin schema: coercion as Logstash's config mixin,
// defaults, common options, merging of repeated options, and the error messages.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "config/parser.h"
#include "runtime/options.h"
#include "runtime/registry.h"
#include "test_support.h"

namespace sluice {
namespace {

OptionSpec opt(std::string name, OptionType type, std::optional<config::ConfigValue> def = std::nullopt,
               bool required = false, std::vector<std::string> allowed = {}) {
  OptionSpec s;
  s.name = std::move(name);
  s.type = type;
  s.default_value = std::move(def);
  s.required = required;
  s.allowed = std::move(allowed);
  s.doc = "test option";
  return s;
}

PluginSchema test_schema() {
  PluginSchema s;
  s.kind = PluginKind::Filter;
  s.name = "options_test_filter";
  s.doc = "A filter that exists only in the tests.";
  s.options = {
      opt("match", OptionType::Hash, cv_hash()),
      opt("message", OptionType::String, cv_string("default text")),
      opt("count", OptionType::Number, cv_number(10)),
      opt("ratio", OptionType::Number),
      opt("enabled", OptionType::Boolean, cv_bool(false)),
      opt("fields", OptionType::Array, cv_array({"a", "b"})),
      opt("source", OptionType::String, std::nullopt, /*required=*/true),
      opt("mode", OptionType::String, cv_string("fast"), false, {"fast", "slow"}),
      opt("dictionary_path", OptionType::Path),
      opt("secret", OptionType::Password),
      opt("endpoint", OptionType::Uri),
      opt("codec", OptionType::Codec, cv_string("line")),
      opt("anything", OptionType::Any),
  };
  return s;
}

const RegisterFilter register_test_filter{test_schema(), [](const Options&, PluginContext&) {
                                            return std::unique_ptr<Filter>();
                                          }};

const PluginSchema& schema() {
  const PluginEntry* e = Registry::instance().find(PluginKind::Filter, "options_test_filter");
  EXPECT_NE(e, nullptr);
  return e->schema;
}

Options validate(const std::string& attributes) {
  config::PipelineConfig cfg =
      config::parse_config("filter {\n  options_test_filter {\n" + attributes + "\n  }\n}", "opts.conf");
  return Options::validate(*cfg.filters.at(0).plugin, schema());
}

std::string error_of(const std::string& attributes) {
  try {
    validate(attributes);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> all_errors(const std::string& attributes) {
  config::PipelineConfig cfg =
      config::parse_config("filter {\n  options_test_filter {\n" + attributes + "\n  }\n}", "opts.conf");
  std::vector<config::ConfigError> errors;
  Options::validate_all(*cfg.filters.at(0).plugin, schema(), errors);
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.what());
  return out;
}

TEST(OptionsValidate, RegistryAddsCommonOptionsOfTheKind) {
  const PluginSchema& s = schema();
  auto has = [&](const std::string& name) {
    for (const OptionSpec& o : s.options)
      if (o.name == name) return true;
    return false;
  };
  for (const char* name : {"id", "enable_metric", "add_field", "add_tag", "remove_field", "remove_tag", "periodic_flush"})
    EXPECT_TRUE(has(name)) << name;
  EXPECT_FALSE(has("tags"));  // an input option
  EXPECT_FALSE(has("type"));
}

TEST(OptionsValidate, CommonOptionsPerKindAsLogstash) {
  auto names = [](PluginKind k) {
    std::vector<std::string> out;
    for (const OptionSpec& o : common_options(k)) out.push_back(o.name);
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(names(PluginKind::Input),
            (std::vector<std::string>{"add_field", "codec", "enable_metric", "id", "tags", "type"}));
  EXPECT_EQ(names(PluginKind::Filter), (std::vector<std::string>{"add_field", "add_tag", "enable_metric", "id",
                                                                 "periodic_flush", "remove_field", "remove_tag"}));
  EXPECT_EQ(names(PluginKind::Output), (std::vector<std::string>{"codec", "enable_metric", "id"}));
}

TEST(OptionsValidate, DefaultsFillUnsetOptions) {
  Options o = validate("source => \"message\"");
  EXPECT_EQ(o.get_string("message"), "default text");
  EXPECT_FALSE(o.has("message"));
  EXPECT_EQ(o.get_int("count"), 10);
  EXPECT_FALSE(o.get_bool("enabled"));
  EXPECT_TRUE(o.get_bool("enable_metric"));  // a common option's default
  EXPECT_EQ(o.get_string_array("fields"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(o.get_codec()->name, "line");
  EXPECT_EQ(o.raw("ratio"), nullptr);
  EXPECT_EQ(o.get_string("ratio"), "");
  EXPECT_TRUE(o.get_string_hash("match").empty());
  EXPECT_EQ(o.plugin_name(), "options_test_filter");
  EXPECT_EQ(o.block_position().str(), "opts.conf:2:3");
  EXPECT_EQ(o.position("source").str(), "opts.conf:3:1");
  EXPECT_EQ(o.position("message").str(), "opts.conf:2:3");
}

TEST(OptionsValidate, StringCoercion) {
  Options o = validate("source => bare message => 12");
  EXPECT_EQ(o.get_string("source"), "bare");
  EXPECT_EQ(o.get_string("message"), "12");
  EXPECT_EQ(o.raw("message")->kind, config::ConfigValue::Kind::String);
  EXPECT_EQ(validate("source => [\"one\"]").get_string("source"), "one");  // one-item array
  EXPECT_EQ(validate("source => true").get_string("source"), "true");
}

TEST(OptionsValidate, NumberCoercion) {
  Options o = validate("source => s count => \"42\" ratio => 0.25");
  EXPECT_EQ(o.get_int("count"), 42);
  EXPECT_EQ(o.raw("count")->kind, config::ConfigValue::Kind::Number);
  EXPECT_TRUE(o.raw("count")->is_integer);
  EXPECT_DOUBLE_EQ(o.get_number("ratio"), 0.25);
  EXPECT_DOUBLE_EQ(validate("source => s ratio => \"-1.5\"").get_number("ratio"), -1.5);
  EXPECT_EQ(validate("source => s count => 9007199254740993").get_int("count"), 9007199254740993LL);
  EXPECT_EQ(error_of("source => s\ncount => \"abc\""),
            "opts.conf:4:10: error: option `count` of options_test_filter expects a number, got \"abc\"");
}

TEST(OptionsValidate, BooleanCoercion) {
  EXPECT_TRUE(validate("source => s enabled => true").get_bool("enabled"));
  EXPECT_TRUE(validate("source => s enabled => \"true\"").get_bool("enabled"));
  EXPECT_FALSE(validate("source => s enabled => \"false\"").get_bool("enabled"));
  EXPECT_EQ(error_of("source => s\nenabled => \"yes\""),
            "opts.conf:4:12: error: option `enabled` of options_test_filter expects a boolean (true or false), got "
            "\"yes\"");
}

TEST(OptionsValidate, ArrayWrapsSingleValues) {
  Options o = validate("source => s fields => \"only\" add_tag => \"t1\"");
  EXPECT_EQ(o.get_string_array("fields"), (std::vector<std::string>{"only"}));
  EXPECT_EQ(o.raw("fields")->kind, config::ConfigValue::Kind::Array);
  EXPECT_EQ(o.get_string_array("add_tag"), (std::vector<std::string>{"t1"}));
  EXPECT_EQ(validate("source => s fields => [x, 2, \"z\"]").get_string_array("fields"),
            (std::vector<std::string>{"x", "2", "z"}));
  EXPECT_NE(error_of("source => s fields => { a => 1 }").find("`fields` of options_test_filter expects an array"),
            std::string::npos);
}

TEST(OptionsValidate, HashFromHashOrArrayOfPairs) {
  Options h = validate("source => s match => { \"message\" => \"%{A}\" \"other\" => [\"x\", \"y\"] }");
  auto pairs = h.get_string_hash("match");
  ASSERT_EQ(pairs.size(), 3u);  // an array value gives one pair per item
  EXPECT_EQ(pairs[0], (std::pair<std::string, std::string>{"message", "%{A}"}));
  EXPECT_EQ(pairs[2], (std::pair<std::string, std::string>{"other", "y"}));
  auto raw = h.get_hash("match");
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[1].second.kind, config::ConfigValue::Kind::Array);

  // Logstash's old array form; a repeated key collects its values.
  Options a = validate("source => s match => [\"message\", \"p1\", \"message\", \"p2\", \"host\", \"p3\"]");
  auto hash = a.get_hash("match");
  ASSERT_EQ(hash.size(), 2u);
  EXPECT_EQ(hash[0].first, "message");
  ASSERT_EQ(hash[0].second.kind, config::ConfigValue::Kind::Array);
  EXPECT_EQ(hash[0].second.items.size(), 2u);
  EXPECT_EQ(a.get_string_hash("match").size(), 3u);

  EXPECT_EQ(error_of("source => s\nmatch => [\"a\", \"b\", \"c\"]"),
            "opts.conf:4:10: error: option `match` of options_test_filter expects a hash; an array of key, value "
            "pairs needs an even number of items, got 3");
  EXPECT_NE(error_of("source => s match => \"x\"").find("expects a hash, got \"x\""), std::string::npos);
}

TEST(OptionsValidate, RepeatedOptionsMergeAsLogstash) {
  // Hashes given twice are merged.
  Options h = validate("source => s match => { \"a\" => \"1\" } match => { \"b\" => \"2\" }");
  EXPECT_EQ(h.get_hash("match").size(), 2u);
  // Arrays given twice are concatenated.
  Options a = validate("source => s add_tag => [\"x\"] add_tag => [\"y\", \"z\"]");
  EXPECT_EQ(a.get_string_array("add_tag"), (std::vector<std::string>{"x", "y", "z"}));
  // Two scalars become an array: fine for an array option ...
  Options s = validate("source => s fields => \"p\" fields => \"q\"");
  EXPECT_EQ(s.get_string_array("fields"), (std::vector<std::string>{"p", "q"}));
  // ... the same value twice is one value ...
  EXPECT_EQ(validate("source => s source => s").get_string("source"), "s");
  // ... and an error for a string option.
  EXPECT_NE(error_of("source => a source => b").find("option `source` of options_test_filter expects a string, got an "
                                                     "array of 2 items"),
            std::string::npos);
}

TEST(OptionsValidate, UnknownOptionSuggestsTheClosest) {
  EXPECT_EQ(error_of("source => s\nmtach => { \"a\" => \"b\" }"),
            "opts.conf:4:1: error: unknown option `mtach` for options_test_filter, did you mean `match`?");
  EXPECT_EQ(error_of("source => s\nadd_tags => \"x\""),
            "opts.conf:4:1: error: unknown option `add_tags` for options_test_filter, did you mean `add_tag`?");
  EXPECT_EQ(error_of("source => s\nzzzzzzzzzzzz => 1"),
            "opts.conf:4:1: error: unknown option `zzzzzzzzzzzz` for options_test_filter");
}

TEST(OptionsValidate, MissingRequiredOption) {
  EXPECT_EQ(error_of("message => \"x\""),
            "opts.conf:2:3: error: missing required option `source` for options_test_filter filter");
}

TEST(OptionsValidate, AllowedValuesAreListed) {
  EXPECT_EQ(validate("source => s mode => slow").get_string("mode"), "slow");
  EXPECT_EQ(error_of("source => s\nmode => \"medium\""),
            "opts.conf:4:9: error: option `mode` of options_test_filter has invalid value \"medium\", expected one "
            "of: fast, slow");
}

TEST(OptionsValidate, PathMustExist) {
  test::TempDir dir;
  test::write_file(dir.file("dict.yml"), "a: b\n");
  EXPECT_EQ(validate("source => s dictionary_path => \"" + dir.file("dict.yml") + "\"").get_string("dictionary_path"),
            dir.file("dict.yml"));
  std::string missing = dir.file("nope.yml");
  EXPECT_EQ(error_of("source => s\ndictionary_path => \"" + missing + "\""),
            "opts.conf:4:20: error: file not found: " + missing + " (option `dictionary_path` of options_test_filter)");
}

TEST(OptionsValidate, PasswordsNeverAppearInErrors) {
  Options o = validate("source => s secret => \"p@ss\"");
  EXPECT_EQ(o.get_string("secret"), "p@ss");  // the plugin can read it
  std::string err = error_of("source => s secret => [\"sup3rs3cret\", \"other\"]");
  EXPECT_NE(err.find("option `secret` of options_test_filter expects a single password value"), std::string::npos);
  EXPECT_EQ(err.find("sup3rs3cret"), std::string::npos) << err;
  std::string uri_err = error_of("source => s endpoint => { a => \"https://u:pw1234@h\" }");
  EXPECT_FALSE(uri_err.empty());
  EXPECT_EQ(uri_err.find("pw1234"), std::string::npos) << uri_err;
}

TEST(OptionsValidate, EnvSubstitutedValuesShowTheirVariableInErrors) {
  setenv("SLUICE_TEST_COUNT", "not-a-number-s3cr3t", 1);
  std::string err = error_of("source => s\ncount => \"${SLUICE_TEST_COUNT}\"");
  unsetenv("SLUICE_TEST_COUNT");
  EXPECT_NE(err.find("got \"${SLUICE_TEST_COUNT}\""), std::string::npos) << err;
  EXPECT_EQ(err.find("s3cr3t"), std::string::npos) << err;
  setenv("SLUICE_TEST_DICT", "/no/such/dir/s3cr3t.yml", 1);
  std::string path_err = error_of("source => s dictionary_path => \"${SLUICE_TEST_DICT}\"");
  unsetenv("SLUICE_TEST_DICT");
  EXPECT_NE(path_err.find("file not found: ${SLUICE_TEST_DICT}"), std::string::npos) << path_err;
  EXPECT_EQ(path_err.find("s3cr3t"), std::string::npos) << path_err;
}

TEST(OptionsValidate, CodecNameOrBlock) {
  Options named = validate("source => s codec => json");
  ASSERT_TRUE(named.get_codec());
  EXPECT_EQ(named.get_codec()->name, "json");
  Options block = validate("source => s codec => json_lines { charset => \"UTF-8\" }");
  ASSERT_TRUE(block.get_codec());
  EXPECT_EQ(block.get_codec()->name, "json_lines");
  EXPECT_EQ(block.get_codec()->attributes.size(), 1u);
  EXPECT_NE(error_of("source => s codec => [1, 2]").find("expects a codec"), std::string::npos);
}

TEST(OptionsValidate, AnyKeepsTheValueAsWritten) {
  Options o = validate("source => s anything => { a => [1, { b => c }] }");
  EXPECT_EQ(o.raw("anything")->kind, config::ConfigValue::Kind::Hash);
}

TEST(OptionsValidate, ValidateAllCollectsEveryError) {
  std::vector<std::string> errors = all_errors("mtach => 1\ncount => x\nenabled => 3");
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_NE(errors[0].find("unknown option `mtach`"), std::string::npos);
  EXPECT_NE(errors[1].find("`count`"), std::string::npos);
  EXPECT_NE(errors[2].find("`enabled`"), std::string::npos);
  EXPECT_NE(errors[3].find("missing required option `source`"), std::string::npos);
}

TEST(OptionsValidate, DefaultValueHelpers) {
  EXPECT_EQ(cv_number(5).text, "5");
  EXPECT_TRUE(cv_number(5).is_integer);
  EXPECT_FALSE(cv_number(0.5).is_integer);
  EXPECT_EQ(cv_bool(true).text, "true");
  EXPECT_EQ(cv_array({"a", "b"}).items.size(), 2u);
  EXPECT_EQ(cv_hash().kind, config::ConfigValue::Kind::Hash);
}

}  // namespace
}  // namespace sluice
