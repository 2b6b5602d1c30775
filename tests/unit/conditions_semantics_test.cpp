// Conditional semantics, table-driven, against Logstash 8's EventCondition behaviour:
// truthiness, equality, ordering (errors on mixed types), regexps (Ruby dialect), `in` on
// strings, arrays and lists, boolean operators and constant folding.
#include <gtest/gtest.h>

#include "config/parser.h"
#include "core/json.h"
#include "runtime/conditions.h"

namespace sluice {
namespace {

using Outcome = Condition::Outcome;

std::unique_ptr<Condition> compile(const std::string& condition) {
  config::PipelineConfig cfg = config::parse_config("filter { if " + condition + " { } }", "cond.conf");
  return Condition::compile(*cfg.filters.at(0).branches.at(0).condition);
}

Event make_event(const std::string& json) {
  Value v;
  std::string error;
  EXPECT_TRUE(json_parse(json, v, &error)) << error;
  Event e;
  e.fields() = v.as_object();
  return e;
}

const char* kEvent = R"({
  "message": "hello world", "status": 404, "ratio": 0.5, "one_f": 1.0, "flag": true, "off": false,
  "empty": "", "false_str": "false", "zero": 0, "tags": ["a", "b"], "nested": {"x": "y", "n": 5},
  "nil": null, "list_num": [1, 2, 3], "str_num": "404", "arr_empty": [], "ml": "a\nb",
  "hex": "deadBEEF", "needle": "ell", "other_status": 404
})";

struct Case {
  const char* condition;
  Outcome expected;
};

void check_all(const std::vector<Case>& cases) {
  Event event = make_event(kEvent);
  for (const Case& c : cases) {
    std::unique_ptr<Condition> condition;
    try {
      condition = compile(c.condition);
    } catch (const std::exception& e) {
      ADD_FAILURE() << c.condition << ": does not compile: " << e.what();
      continue;
    }
    std::string error;
    Outcome got = condition->check(event, &error);
    EXPECT_EQ(int(got), int(c.expected)) << c.condition << (error.empty() ? "" : "  error: " + error);
    if (got == Outcome::Error) {
      EXPECT_FALSE(error.empty()) << c.condition;
    }
  }
}

constexpr Outcome T = Outcome::True;
constexpr Outcome F = Outcome::False;
constexpr Outcome E = Outcome::Error;

TEST(ConditionSemantics, Truthiness) {
  check_all({
      {"[message]", T}, {"[missing]", F}, {"[flag]", T}, {"[off]", F}, {"[empty]", F},
      {"[false_str]", F}, {"[zero]", T}, {"[tags]", T}, {"[nil]", F}, {"[arr_empty]", T},
      {"[nested][x]", T}, {"[nested][missing]", F}, {"[tags][0]", T}, {"[tags][5]", F},
      {"![missing]", T}, {"![message]", F}, {"!([off])", T}, {"\"text\"", T}, {"\"\"", F},
  });
}

TEST(ConditionSemantics, Equality) {
  check_all({
      {"[status] == 404", T}, {"[status] == 404.0", T}, {"[one_f] == 1", T}, {"[status] == \"404\"", F},
      {"[str_num] == \"404\"", T}, {"[str_num] == 404", F}, {"[missing] == \"x\"", F}, {"[missing] != \"x\"", T},
      {"[message] == \"hello world\"", T}, {"\"hello world\" == [message]", T}, {"[message] != 'hello world'", F},
      {"[missing] == [also_missing]", T}, {"[status] == [other_status]", T}, {"[status] == [str_num]", F},
      {"[nested][n] == 5", T}, {"[flag] == \"true\"", F}, {"1 == 1", T}, {"'a' == 'b'", F}, {"[nil] == [missing]", T},
  });
}

TEST(ConditionSemantics, OrderingAndItsErrors) {
  check_all({
      {"[status] > 400", T}, {"[status] < 400", F}, {"[status] >= 404", T}, {"[status] <= 403", F},
      {"[ratio] < 1", T}, {"[ratio] >= 0.5", T}, {"[message] > \"a\"", T}, {"[message] < \"b\"", F},
      {"5 < [status]", T}, {"[status] > [ratio]", T}, {"[status] <= [other_status]", T},
      // Mixed types, nil and containers cannot be compared: evaluation errors.
      {"[status] > \"400\"", E}, {"[message] > 5", E}, {"[missing] > 5", E}, {"[tags] > 1", E},
      {"[flag] < 2", E}, {"[nil] >= 0", E}, {"[str_num] > 400", E},
  });
}

TEST(ConditionSemantics, RegularExpressions) {
  check_all({
      {"[message] =~ /^hello/", T}, {"[message] =~ /world$/", T}, {"[message] =~ /WORLD/", F},
      {"[message] =~ /(?i)WORLD/", T}, {"[message] !~ /xyz/", T}, {"[message] !~ /hello/", F},
      {"[status] =~ /404/", F}, {"[status] !~ /404/", T}, {"[missing] =~ /./", F}, {"[missing] !~ /./", T},
      {"[message] =~ \"wor\"", T},
      // Ruby: ^ and $ are line anchors; `.` does not cross a newline unless (?m).
      {"[ml] =~ /^b$/", T}, {"[ml] =~ /a.b/", F}, {"[ml] =~ /(?m)a.b/", T},
      // Oniguruma's \h is a hex digit.
      {"[hex] =~ /^\\h+$/", T}, {"[message] =~ /^\\h+$/", F},
      {"'abc' =~ /b/", T}, {"'abc' !~ /b/", F},
  });
}

TEST(ConditionSemantics, InAndNotIn) {
  check_all({
      // constant in field: substring of a string, member of an array
      {"\"world\" in [message]", T}, {"\"xyz\" in [message]", F}, {"\"a\" in [tags]", T}, {"\"c\" in [tags]", F},
      {"\"a\" not in [tags]", F}, {"\"y\" in [nested][x]", T}, {"2 in [list_num]", T}, {"9 in [list_num]", F},
      {"\"x\" in [missing]", F}, {"\"x\" not in [missing]", T},
      // field in constant string: the field's text is a substring of the constant
      {"[message] in \"say hello world now\"", T}, {"[message] in \"hello\"", F}, {"[missing] in \"abc\"", F},
      {"[status] in \"404\"", F},
      // field in list: texts compared
      {"[status] in [404, 500]", T}, {"[status] in [\"404\", \"x\"]", T}, {"[str_num] in [404, 1]", T},
      {"[message] in [\"x\", \"hello world\"]", T}, {"[missing] in [\"x\", \"y\"]", F}, {"[missing] not in [\"x\", \"y\"]", T},
      {"[status] not in [1, 2]", T}, {"[tags] in [\"a\", \"b\"]", F}, {"[one_f] in [\"1.0\", \"x\"]", T},
      // field in field
      {"[needle] in [message]", T}, {"[message] in [needle]", F}, {"[tags] in [message]", F},
      {"[zero] in [list_num]", F}, {"[status] in [list_num]", F}, {"[status] in [other_status]", T},
      {"[nested][x] in [tags]", F}, {"[missing] in [tags]", F},
      // constants
      {"\"abc\" in \"xabcx\"", T}, {"\"q\" in [\"a\", \"b\"]", F},
  });
}

TEST(ConditionSemantics, BooleanOperators) {
  check_all({
      {"[flag] and [message]", T}, {"[flag] and [off]", F}, {"[off] or [flag]", T}, {"[off] or [missing]", F},
      {"[flag] xor [off]", T}, {"[flag] xor [message]", F}, {"[flag] nand [message]", F}, {"[off] nand [flag]", T},
      {"!([status] > 400)", F}, {"([status] > 400 and [message] =~ /hello/) or [missing]", T},
      {"[off] or [flag] and [missing]", F}, {"[flag] or [off] and [missing]", T},
      {"[status] in [404, 405] and !([tags] and \"z\" in [tags])", T},
  });
}

TEST(ConditionSemantics, ErrorsPropagateThroughOperatorsButShortCircuitAvoidsThem) {
  check_all({
      {"[flag] or [message] > 5", T},   // the erring side is never evaluated
      {"[off] and [message] > 5", F},
      {"[off] or [message] > 5", E},
      {"!([message] > 5)", E},          // the whole condition fails, not just the comparison
      {"[message] > 5 xor [flag]", E},
      {"[flag] nand [message] > 5", E},
  });
}

TEST(ConditionSemantics, MetadataAndNumericPathSegments) {
  Event event = make_event(R"({"list": ["x", "y"]})");
  event.metadata()["route"].set_string("fast");
  EXPECT_TRUE(compile("[@metadata][route] == 'fast'")->fulfilled(event));
  EXPECT_FALSE(compile("[route] == 'fast'")->fulfilled(event));
  EXPECT_TRUE(compile("[list][1] == 'y'")->fulfilled(event));
  EXPECT_TRUE(compile("[list][-1] == 'y'")->fulfilled(event));
}

TEST(ConditionSemantics, ConstantExpressionsAreFoldedOrRejected) {
  Event event;
  EXPECT_TRUE(compile("5 > 3")->fulfilled(event));
  EXPECT_FALSE(compile("'b' < 'a'")->fulfilled(event));
  EXPECT_THROW(compile("'abc' > 5"), config::ConfigError);
  EXPECT_THROW(compile("[a] == /x/"), config::ConfigError);
}

TEST(ConditionSemantics, ErrorMessageNamesTheTypesAndThePosition) {
  auto condition = compile("[message] > 5");
  Event event = make_event(R"({"message": "text"})");
  std::string error;
  ASSERT_EQ(condition->check(event, &error), Outcome::Error);
  EXPECT_NE(error.find("a string"), std::string::npos) << error;
  EXPECT_NE(error.find("an integer"), std::string::npos) << error;
  EXPECT_NE(error.find("cond.conf:1:"), std::string::npos) << error;
}

TEST(ConditionSemantics, InvalidUtf8DoesNotBreakRegexMatching) {
  Event event;
  event.fields()["message"].set_string(std::string("ab\xff\xfe" "cd"));
  EXPECT_TRUE(compile("[message] =~ /cd$/")->fulfilled(event));
  EXPECT_FALSE(compile("[message] =~ /^zz/")->fulfilled(event));
}

}  // namespace
}  // namespace sluice
