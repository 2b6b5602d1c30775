#include <gtest/gtest.h>

#include "core/value_ops.h"

namespace sluice {
namespace {

TEST(WrapInArray, ScalarBecomesFirstItem) {
  Value text("first");
  Array& items = wrap_in_array(text);
  ASSERT_TRUE(text.is_array());
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].as_string(), "first");

  Value number(int64_t{7});
  EXPECT_EQ(wrap_in_array(number)[0].as_int(), 7);

  Value empty;
  EXPECT_TRUE(wrap_in_array(empty).empty());
}

TEST(WrapInArray, ObjectMovesWhole) {
  Object inner;
  inner["a"].set_string("x");
  Value value(std::move(inner));
  Array& items = wrap_in_array(value);
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(items[0].is_object());
  EXPECT_EQ(items[0].as_object().find("a")->as_string(), "x");
}

TEST(WrapInArray, ArrayStaysAsItIs) {
  Value value(Array{Value("a"), Value("b")});
  EXPECT_EQ(wrap_in_array(value).size(), 2u);
}

// A pooled value is reused: set to a string, wrapped, set to a string again... Each cycle starts
// over with one item (the memory side of this, no hidden nesting, is what bench/run.sh's RSS shows).
TEST(WrapInArray, ReusedValueDoesNotNestSpareStorage) {
  Value value;
  for (int cycle = 0; cycle < 100; ++cycle) {
    value.set_string("line " + std::to_string(cycle));
    Array& items = wrap_in_array(value);
    items.emplace_back("second");
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(items[0].as_string(), "line " + std::to_string(cycle));
  }
}

}  // namespace
}  // namespace sluice
