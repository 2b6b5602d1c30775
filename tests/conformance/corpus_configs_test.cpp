// Every real-world Logstash config of the shared corpus parses, and `-t` finds nothing wrong
// with it except plugins sluice does not have and files (dictionaries, databases, scripts)
// that are not shipped with the corpus.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <regex>
#include <set>

#include "config/parser.h"
#include "runtime/pipeline.h"
#include "test_support.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

std::optional<fs::path> corpus_configs() {
  auto shared = test::shared_dir();
  if (!shared || !fs::is_directory(*shared / "corpus" / "configs")) return std::nullopt;
  return *shared / "corpus" / "configs";
}

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  auto dir = corpus_configs();
  if (!dir) return files;
  for (const auto& entry : fs::directory_iterator(*dir)) {
    std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".conf" || ext == ".pfelk")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The corpus reads secrets from ${VAR}s without defaults (ES passwords, fingerprint keys);
// give the unset ones a placeholder so that the config itself gets checked.
void set_placeholder_env(const std::string& text) {
  static const std::regex var(R"(\$\{([A-Za-z_.][A-Za-z0-9_.]*)\})");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), var); it != std::sregex_iterator(); ++it)
    setenv((*it)[1].str().c_str(), "corpus-placeholder", /*overwrite=*/0);
}

// Check errors that are expected for a corpus config in this test environment.
bool tolerated(const std::string& line) {
  static const std::regex unknown_plugin(R"(: error: unknown (input|filter|output|codec) plugin ')");
  return std::regex_search(line, unknown_plugin) || line.find(": error: file not found: ") != std::string::npos;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

TEST(CorpusConfigs, EveryConfigParsesAndChecks) {
  if (!corpus_configs()) GTEST_SKIP() << "../shared/corpus/configs is absent; nothing to check";
  std::vector<fs::path> files = corpus_files();
  ASSERT_GE(files.size(), 40u) << "the corpus should hold about 50 configs";
  std::set<std::string> unknown_plugins;
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    std::string text = test::read_file(file.string());
    set_placeholder_env(text);
    config::PipelineConfig cfg;
    try {
      cfg = config::parse_config(text, file.string());
    } catch (const config::ConfigError& e) {
      ADD_FAILURE() << "parse error: " << e.what();
      continue;
    }
    EXPECT_FALSE(cfg.inputs.empty() && cfg.filters.empty() && cfg.outputs.empty());
    try {
      check_pipeline_config(PipelineSettings{}, cfg);
    } catch (const config::ConfigError& e) {
      for (const std::string& line : lines_of(e.what())) {
        EXPECT_TRUE(tolerated(line)) << line;
        auto quote = line.find(" plugin '");
        if (quote != std::string::npos) unknown_plugins.insert(line.substr(line.find("unknown ") + 8));
      }
    }
  }
  // Shown in the test log: what the corpus needs that is not registered yet.
  for (const std::string& p : unknown_plugins) std::cout << "[ corpus ] not available: " << p << "\n";
}

TEST(CorpusConfigs, PfelkConfDirectoryIsOnePipeline) {
  auto dir = corpus_configs();
  if (!dir) GTEST_SKIP() << "../shared/corpus/configs is absent; nothing to check";
  std::string glob = (*dir / "pfelk__pfelk__etc__pfelk__conf.d__*.pfelk").string();
  std::vector<std::string> files = config::expand_config_paths(glob);
  ASSERT_GE(files.size(), 5u);
  EXPECT_NE(files.front().find("01-inputs"), std::string::npos);
  EXPECT_NE(files.back().find("50-outputs"), std::string::npos);
  for (const std::string& f : files) set_placeholder_env(test::read_file(f));
  config::PipelineConfig cfg = config::load_config_path(glob);
  EXPECT_FALSE(cfg.inputs.empty());
  EXPECT_FALSE(cfg.outputs.empty());
  EXPECT_GE(cfg.filters.size(), 20u);
  // Sections of different files keep the files' order.
  const config::Statement& first = cfg.filters.front();
  std::string first_file =
      first.kind == config::Statement::Kind::Plugin ? first.plugin->pos.file : first.branches.front().pos.file;
  EXPECT_NE(first_file.find("01-inputs"), std::string::npos) << first_file;
  // Copied into a directory, the same files load the same way.
  test::TempDir conf_d;
  for (const std::string& f : files) {
    std::string name = fs::path(f).filename().string();
    name = name.substr(name.find("conf.d__") + 8);
    fs::copy_file(f, conf_d.file(name));
  }
  config::PipelineConfig from_dir = config::load_config_path(conf_d.path().string());
  EXPECT_EQ(from_dir.inputs.size(), cfg.inputs.size());
  EXPECT_EQ(from_dir.filters.size(), cfg.filters.size());
  EXPECT_EQ(from_dir.outputs.size(), cfg.outputs.size());
  try {
    check_pipeline_config(PipelineSettings{}, from_dir);
  } catch (const config::ConfigError& e) {
    for (const std::string& line : lines_of(e.what())) EXPECT_TRUE(tolerated(line)) << line;
  }
}

}  // namespace
}  // namespace sluice
