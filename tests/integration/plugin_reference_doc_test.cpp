// docs/plugins.md is generated from the option schemas; this keeps the committed copy current.
// It asks the binary (the test binaries also register test-only plugins).
#include <gtest/gtest.h>

#include "test_support.h"

namespace sluice {
namespace {

TEST(PluginReferenceDoc, CommittedCopyMatchesTheSchemas) {
  std::string committed = test::read_file(std::string(SLUICE_SOURCE_DIR) + "/docs/plugins.md");
  ASSERT_FALSE(committed.empty()) << "docs/plugins.md is missing";
  auto result = test::run_command({test::sluice_binary(), "--print-plugin-reference"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(committed == result.out)
      << "docs/plugins.md is stale: regenerate it with `build/sluice --print-plugin-reference > docs/plugins.md`";
}

}  // namespace
}  // namespace sluice
