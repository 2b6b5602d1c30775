// sluice.yml and pipelines.yml parsing (src/config/settings.h).
#include <gtest/gtest.h>

#include <cstdlib>

#include "config/parser.h"
#include "config/settings.h"
#include "test_support.h"

namespace sluice::config {
namespace {

bool any_contains(const Warnings& warnings, const std::string& needle) {
  for (const auto& w : warnings)
    if (w.find(needle) != std::string::npos) return true;
  return false;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(SettingsYaml, FlatKeysSetPipelineDefaultsAndNodeSettings) {
  Warnings warnings;
  NodeSettings node = parse_node_settings(
      "pipeline.workers: 3\n"
      "pipeline.batch.size: 500\n"
      "pipeline.batch.delay: 5\n"
      "pipeline.ordered: \"true\"\n"
      "pipeline.ecs_compatibility: v1\n"
      "pipeline.id: edge\n"
      "path.data: /var/lib/sluice\n"
      "node.name: box-1\n"
      "api.enabled: false\n"
      "api.http.host: 0.0.0.0\n"
      "api.http.port: 9700\n"
      "log.level: debug\n"
      "queue.max_events: 1000\n"
      "queue.max_bytes: 16mb\n",
      "sluice.yml", warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(node.pipeline_defaults.workers, 3);
  EXPECT_EQ(node.pipeline_defaults.batch_size, 500);
  EXPECT_EQ(node.pipeline_defaults.batch_delay_ms, 5);
  EXPECT_EQ(node.pipeline_defaults.ordered, "true");
  EXPECT_EQ(node.pipeline_defaults.ecs_compatibility, "v1");
  EXPECT_EQ(node.pipeline_defaults.id, "edge");
  EXPECT_EQ(node.pipeline_defaults.path_data, "/var/lib/sluice");
  EXPECT_TRUE(node.path_data_set);
  EXPECT_EQ(node.pipeline_defaults.queue_max_events, 1000u);
  EXPECT_EQ(node.pipeline_defaults.queue_max_bytes, 16u << 20);
  EXPECT_EQ(node.node_name, "box-1");
  EXPECT_FALSE(node.api_enabled);
  EXPECT_EQ(node.api_host, "0.0.0.0");
  EXPECT_EQ(node.api_port_first, 9700);
  EXPECT_EQ(node.api_port_last, 9700);
  EXPECT_EQ(node.log_level, "debug");
}

TEST(SettingsYaml, NestedFormEqualsFlatForm) {
  Warnings warnings;
  NodeSettings node = parse_node_settings(
      "pipeline:\n"
      "  workers: 2\n"
      "  batch:\n"
      "    size: 64\n"
      "    delay: 10\n"
      "api:\n"
      "  http:\n"
      "    port: 9650-9660\n",
      "sluice.yml", warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(node.pipeline_defaults.workers, 2);
  EXPECT_EQ(node.pipeline_defaults.batch_size, 64);
  EXPECT_EQ(node.pipeline_defaults.batch_delay_ms, 10);
  EXPECT_EQ(node.api_port_first, 9650);
  EXPECT_EQ(node.api_port_last, 9660);
}

TEST(SettingsYaml, EmptyFileIsAllDefaults) {
  Warnings warnings;
  NodeSettings node = parse_node_settings("# nothing but a comment\n", "sluice.yml", warnings);
  EXPECT_EQ(node.pipeline_defaults.batch_size, 125);
  EXPECT_EQ(node.api_port_first, 9600);
  EXPECT_EQ(node.api_port_last, 9700);
  EXPECT_TRUE(node.api_enabled);
  EXPECT_FALSE(node.path_data_set);
}

TEST(SettingsYaml, BadValueNamesFileLineAndColumn) {
  Warnings warnings;
  std::string message = error_of([&] {
    parse_node_settings("pipeline.workers: 2\npipeline.batch.size: lots\n", "conf/sluice.yml", warnings);
  });
  EXPECT_NE(message.find("conf/sluice.yml:2:22"), std::string::npos) << message;
  EXPECT_NE(message.find("pipeline.batch.size"), std::string::npos) << message;
}

TEST(SettingsYaml, RejectsOutOfRangeAndUnknownChoices) {
  Warnings warnings;
  EXPECT_NE(error_of([&] { parse_node_settings("pipeline.workers: 0\n", "s.yml", warnings); }).find("at least 1"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_node_settings("pipeline.ordered: maybe\n", "s.yml", warnings); })
                .find("auto, true, false"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_node_settings("log.level: loud\n", "s.yml", warnings); }).find("log.level"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_node_settings("api.http.port: 70000\n", "s.yml", warnings); }).find("port"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_node_settings("queue.max_bytes: 12 parsecs\n", "s.yml", warnings); })
                .find("byte size"),
            std::string::npos);
}

TEST(SettingsYaml, InvalidYamlIsAnErrorWithPosition) {
  Warnings warnings;
  std::string message = error_of([&] { parse_node_settings("a: [1, 2\nb: c\n", "bad.yml", warnings); });
  EXPECT_EQ(message.rfind("bad.yml:", 0), 0u) << message;
  EXPECT_NE(message.find("invalid YAML"), std::string::npos) << message;
}

TEST(SettingsYaml, UnknownKeyWarnsWithSuggestion) {
  Warnings warnings;
  parse_node_settings("pipeline.workerz: 4\n", "sluice.yml", warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("sluice.yml:1:1"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("did you mean `pipeline.workers`"), std::string::npos) << warnings[0];
}

TEST(SettingsYaml, PersistedQueueAndLogstashOnlySettingsWarn) {
  Warnings warnings;
  NodeSettings node = parse_node_settings(
      "queue.type: persisted\npath.logs: /var/log/logstash\nxpack.monitoring.enabled: false\n", "logstash.yml",
      warnings);
  EXPECT_EQ(warnings.size(), 3u);
  EXPECT_TRUE(any_contains(warnings, "persisted is not supported"));
  EXPECT_TRUE(any_contains(warnings, "`path.logs` is not supported"));
  EXPECT_TRUE(any_contains(warnings, "`xpack.monitoring.enabled` is not supported"));
  EXPECT_EQ(node.pipeline_defaults.batch_size, 125);
}

TEST(SettingsYaml, DeprecatedHttpAliasesApplyWithWarning) {
  Warnings warnings;
  NodeSettings node = parse_node_settings("http.port: 9611\nhttp.host: 127.0.0.2\n", "s.yml", warnings);
  EXPECT_EQ(node.api_port_first, 9611);
  EXPECT_EQ(node.api_host, "127.0.0.2");
  EXPECT_TRUE(any_contains(warnings, "use `api.http.port`"));
}

TEST(SettingsYaml, EnvironmentSubstitution) {
  setenv("SLUICE_TEST_WORKERS", "7", 1);
  unsetenv("SLUICE_TEST_UNSET");
  Warnings warnings;
  NodeSettings node = parse_node_settings(
      "pipeline.workers: ${SLUICE_TEST_WORKERS}\npipeline.batch.size: ${SLUICE_TEST_UNSET:250}\n", "s.yml", warnings);
  EXPECT_EQ(node.pipeline_defaults.workers, 7);
  EXPECT_EQ(node.pipeline_defaults.batch_size, 250);
  std::string message =
      error_of([&] { parse_node_settings("node.name: ${SLUICE_TEST_UNSET}\n", "s.yml", warnings); });
  EXPECT_NE(message.find("s.yml:1:12"), std::string::npos) << message;
  EXPECT_NE(message.find("SLUICE_TEST_UNSET"), std::string::npos) << message;
}

TEST(SettingsYaml, SubstitutedSecretsNeverAppearInErrors) {
  setenv("SLUICE_TEST_SECRET", "hunter2-secret", 1);
  Warnings warnings;
  std::string message =
      error_of([&] { parse_node_settings("pipeline.workers: ${SLUICE_TEST_SECRET}x\n", "s.yml", warnings); });
  ASSERT_FALSE(message.empty());
  EXPECT_NE(message.find("s.yml:1:19"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  EXPECT_NE(message.find("${SLUICE_TEST_SECRET}x"), std::string::npos) << message;
}

TEST(SettingsYaml, ByteSizes) {
  size_t bytes = 0;
  EXPECT_TRUE(parse_byte_size("1024", bytes));
  EXPECT_EQ(bytes, 1024u);
  EXPECT_TRUE(parse_byte_size("64mb", bytes));
  EXPECT_EQ(bytes, 64u << 20);
  EXPECT_TRUE(parse_byte_size("1GB", bytes));
  EXPECT_EQ(bytes, 1u << 30);
  EXPECT_TRUE(parse_byte_size("512 kb", bytes));
  EXPECT_EQ(bytes, 512u << 10);
  EXPECT_FALSE(parse_byte_size("", bytes));
  EXPECT_FALSE(parse_byte_size("mb", bytes));
  EXPECT_FALSE(parse_byte_size("12 furlongs", bytes));
}

TEST(SettingsYaml, PortRanges) {
  int first = 0, last = 0;
  EXPECT_TRUE(parse_port_range("9600-9700", first, last));
  EXPECT_EQ(first, 9600);
  EXPECT_EQ(last, 9700);
  EXPECT_TRUE(parse_port_range("8080", first, last));
  EXPECT_EQ(first, 8080);
  EXPECT_EQ(last, 8080);
  EXPECT_FALSE(parse_port_range("9700-9600", first, last));
  EXPECT_FALSE(parse_port_range("0", first, last));
  EXPECT_FALSE(parse_port_range("http", first, last));
}

TEST(PipelinesYaml, TwoPipelinesInheritDefaultsAndOverride) {
  NodeSettings node;
  node.pipeline_defaults.workers = 4;
  node.pipeline_defaults.batch_size = 200;
  Warnings warnings;
  auto sources = parse_pipelines_yml(
      "- pipeline.id: apache\n"
      "  path.config: /etc/sluice/apache/*.conf\n"
      "  pipeline.workers: 2\n"
      "- pipeline.id: inline\n"
      "  config.string: \"input { generator { count => 1 } } output { null {} }\"\n"
      "  pipeline:\n"
      "    batch:\n"
      "      size: 10\n"
      "  queue.type: memory\n",
      "pipelines.yml", node, warnings);
  EXPECT_TRUE(warnings.empty());
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[0].settings.id, "apache");
  EXPECT_EQ(sources[0].path_config, "/etc/sluice/apache/*.conf");
  EXPECT_FALSE(sources[0].has_config_string);
  EXPECT_EQ(sources[0].settings.workers, 2);
  EXPECT_EQ(sources[0].settings.batch_size, 200);
  EXPECT_EQ(sources[1].settings.id, "inline");
  EXPECT_TRUE(sources[1].has_config_string);
  EXPECT_NE(sources[1].config_string.find("generator"), std::string::npos);
  EXPECT_EQ(sources[1].settings.workers, 4);
  EXPECT_EQ(sources[1].settings.batch_size, 10);
  EXPECT_EQ(sources[1].origin.line, 4);
}

TEST(PipelinesYaml, DuplicateIdIsAnErrorNamingBothPlaces) {
  NodeSettings node;
  Warnings warnings;
  std::string message = error_of([&] {
    parse_pipelines_yml(
        "- pipeline.id: a\n  path.config: a.conf\n- pipeline.id: a\n  path.config: b.conf\n", "p.yml", node, warnings);
  });
  EXPECT_NE(message.find("p.yml:3:16"), std::string::npos) << message;
  EXPECT_NE(message.find("duplicate pipeline.id `a`"), std::string::npos) << message;
  EXPECT_NE(message.find("p.yml:1:16"), std::string::npos) << message;
}

TEST(PipelinesYaml, UnknownKeysWarn) {
  NodeSettings node;
  Warnings warnings;
  auto sources =
      parse_pipelines_yml("- pipeline.id: a\n  path.config: a.conf\n  pipeline.batch.sise: 3\n", "p.yml", node, warnings);
  ASSERT_EQ(sources.size(), 1u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("p.yml:3:3"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("pipeline.batch.size"), std::string::npos) << warnings[0];
}

TEST(PipelinesYaml, StructuralErrors) {
  NodeSettings node;
  Warnings warnings;
  EXPECT_NE(error_of([&] { parse_pipelines_yml("", "p.yml", node, warnings); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([&] { parse_pipelines_yml("pipeline.id: a\n", "p.yml", node, warnings); }).find("list"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_pipelines_yml("- just text\n", "p.yml", node, warnings); }).find("p.yml:1:3"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              parse_pipelines_yml("- pipeline.id: a\n  path.config: x\n  config.string: y\n", "p.yml", node, warnings);
            }).find("both"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_pipelines_yml("- pipeline.id: a\n", "p.yml", node, warnings); }).find("neither"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              parse_pipelines_yml("- pipeline.id: a\n  path.config: x\n  pipeline.workers: -1\n", "p.yml", node,
                                  warnings);
            }).find("p.yml:3:21"),
            std::string::npos);
}

TEST(PipelinesYaml, LoadsFromFile) {
  test::TempDir dir;
  test::write_file(dir.file("pipelines.yml"), "- pipeline.id: one\n  path.config: \"one.conf\"\n");
  NodeSettings node;
  Warnings warnings;
  auto sources = load_pipelines_yml(dir.file("pipelines.yml"), node, warnings);
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].settings.id, "one");
  EXPECT_EQ(sources[0].origin.file, dir.file("pipelines.yml"));
  EXPECT_THROW(load_pipelines_yml(dir.file("missing.yml"), node, warnings), ConfigError);
}

TEST(PipelineConfigLoading, ConfigStringWithoutSectionsGetsLogstashDefaults) {
  PipelineSource source;
  source.config_string = "filter { }";
  source.has_config_string = true;
  PipelineConfig config = load_pipeline_config(source);
  ASSERT_EQ(config.inputs.size(), 1u);
  ASSERT_EQ(config.outputs.size(), 1u);
  ASSERT_TRUE(config.inputs[0].plugin);
  EXPECT_EQ(config.inputs[0].plugin->name, "stdin");
  ASSERT_TRUE(config.outputs[0].plugin);
  EXPECT_EQ(config.outputs[0].plugin->name, "stdout");
}

TEST(PipelineConfigLoading, ConfigStringWithSectionsIsKept) {
  PipelineSource source;
  source.config_string = "input { generator { count => 1 } } output { null {} }";
  source.has_config_string = true;
  PipelineConfig config = load_pipeline_config(source);
  ASSERT_EQ(config.inputs.size(), 1u);
  EXPECT_EQ(config.inputs[0].plugin->name, "generator");
  ASSERT_EQ(config.outputs.size(), 1u);
  EXPECT_EQ(config.outputs[0].plugin->name, "null");
}

TEST(PipelineConfigLoading, ConfigStringErrorsCarryAPosition) {
  PipelineSource source;
  source.config_string = "input { generator { count => } }";
  source.has_config_string = true;
  std::string message = error_of([&] { load_pipeline_config(source); });
  EXPECT_EQ(message.rfind("config string:1:", 0), 0u) << message;
}

}  // namespace
}  // namespace sluice::config
