// docs/plugins.md is generated from the option schemas; this keeps the committed copy current.
#include <gtest/gtest.h>

#include "runtime/reference.h"
#include "test_support.h"

namespace sluice {
namespace {

TEST(PluginReferenceDoc, CommittedCopyMatchesTheSchemas) {
  std::string committed = test::read_file(std::string(SLUICE_SOURCE_DIR) + "/docs/plugins.md");
  ASSERT_FALSE(committed.empty()) << "docs/plugins.md is missing";
  EXPECT_TRUE(committed == plugin_reference_markdown())
      << "docs/plugins.md is stale: regenerate it with `build/sluice --print-plugin-reference > docs/plugins.md`";
}

}  // namespace
}  // namespace sluice
