// Field reference syntax (Logstash strict mode).
#include "core/field_ref.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace sluice {
namespace {

TEST(FieldRefTest, BareWordIsOneKeyWithDots) {
  auto ref = FieldRef::parse("a.b");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->path(), (std::vector<std::string>{"a.b"}));
  EXPECT_FALSE(ref->is_metadata());
  EXPECT_EQ(ref->text(), "a.b");
}

TEST(FieldRefTest, BracketedPath) {
  auto ref = FieldRef::parse("[a][b][0]");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->path(), (std::vector<std::string>{"a", "b", "0"}));
}

TEST(FieldRefTest, Metadata) {
  auto ref = FieldRef::parse("[@metadata][x]");
  ASSERT_TRUE(ref);
  EXPECT_TRUE(ref->is_metadata());
  EXPECT_EQ(ref->path(), (std::vector<std::string>{"x"}));
  auto root = FieldRef::parse("[@metadata]");
  ASSERT_TRUE(root);
  EXPECT_TRUE(root->is_root_metadata());
  auto bare = FieldRef::parse("@metadata");
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->is_root_metadata());
  // Only the first segment names metadata.
  auto nested = FieldRef::parse("[a][@metadata]");
  ASSERT_TRUE(nested);
  EXPECT_FALSE(nested->is_metadata());
}

TEST(FieldRefTest, RejectsMalformed) {
  for (const char* bad : {"[a", "a[b]c", "[]", "", "[a]b", "[a[b]]", "a]"}) {
    std::string error;
    EXPECT_FALSE(FieldRef::parse(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  EXPECT_THROW(FieldRef::of("[a"), std::invalid_argument);
}

TEST(FieldRefTest, EqualityIgnoresSpelling) {
  EXPECT_EQ(FieldRef::of("a"), FieldRef::of("[a]"));
  EXPECT_FALSE(FieldRef::of("[a][b]") == FieldRef::of("[a]"));
}

}  // namespace
}  // namespace sluice
