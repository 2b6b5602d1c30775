#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "plugins/inputs/file/path_glob.h"
#include "test_support.h"

namespace sluice::file_input {
namespace {

namespace fs = std::filesystem;

class InputPathGlob : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* f : {"a.log", "b.log", "c.txt", ".hidden.log", "sub/d.log", "sub/deep/e.log", "other/f.log"}) {
      fs::path p = dir_.path() / f;
      fs::create_directories(p.parent_path());
      test::write_file(p.string(), "x\n");
    }
  }
  std::string root() const { return dir_.path().string(); }
  std::vector<std::string> rel(const std::vector<std::string>& paths) const {
    std::vector<std::string> out;
    for (auto& p : paths) out.push_back(p.substr(root().size() + 1));
    return out;
  }
  test::TempDir dir_;
};

TEST_F(InputPathGlob, StarMatchesWithinOneDirectoryAndSkipsDotFiles) {
  EXPECT_EQ(rel(expand_glob(root() + "/*.log")), (std::vector<std::string>{"a.log", "b.log"}));
}

TEST_F(InputPathGlob, PlainPathAndMissingPath) {
  EXPECT_EQ(rel(expand_glob(root() + "/c.txt")), (std::vector<std::string>{"c.txt"}));
  EXPECT_TRUE(expand_glob(root() + "/nope.log").empty());
  EXPECT_TRUE(expand_glob(root() + "/sub").empty());  // directories are not files to read
}

TEST_F(InputPathGlob, DoubleStarRecurses) {
  EXPECT_EQ(rel(expand_glob(root() + "/**/*.log")),
            (std::vector<std::string>{"a.log", "b.log", "other/f.log", "sub/d.log", "sub/deep/e.log"}));
  EXPECT_EQ(rel(expand_glob(root() + "/sub/**/e.log")), (std::vector<std::string>{"sub/deep/e.log"}));
}

TEST_F(InputPathGlob, BracesQuestionMarkAndSets) {
  EXPECT_EQ(rel(expand_glob(root() + "/{a,c}.*")), (std::vector<std::string>{"a.log", "c.txt"}));
  EXPECT_EQ(rel(expand_glob(root() + "/?.log")), (std::vector<std::string>{"a.log", "b.log"}));
  EXPECT_EQ(rel(expand_glob(root() + "/[b-c].*")), (std::vector<std::string>{"b.log", "c.txt"}));
  EXPECT_EQ(rel(expand_glob(root() + "/*/*.log")), (std::vector<std::string>{"other/f.log", "sub/d.log"}));
}

TEST_F(InputPathGlob, ExpandBracesNested) {
  EXPECT_EQ(expand_braces("/x/{a,b{1,2}}.log"),
            (std::vector<std::string>{"/x/a.log", "/x/b1.log", "/x/b2.log"}));
  EXPECT_EQ(expand_braces("/plain"), (std::vector<std::string>{"/plain"}));
}

TEST_F(InputPathGlob, ExcludeMatchesTheFileNameOnly) {
  EXPECT_TRUE(excluded_by({"*.gz"}, "/var/log/a.log.gz"));
  EXPECT_FALSE(excluded_by({"*.gz"}, "/var/log/a.log"));
  EXPECT_FALSE(excluded_by({"log"}, "/var/log/a.txt"));  // not the directory part
  EXPECT_FALSE(excluded_by({}, "/var/log/a.txt"));
}

}  // namespace
}  // namespace sluice::file_input
