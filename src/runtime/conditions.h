// Compiled `if` conditions. A config::Expr becomes an evaluator tree once, at pipeline build:
// field references are parsed, regexps compiled (PCRE2 + JIT, Ruby/Oniguruma syntax
// translated), constant sub-expressions folded. Semantics follow Logstash 8's Java execution
// (org.logstash.config.ir.compiler.EventCondition):
//
//  - A bare value is truthy unless it is missing, nil, false, "" or "false" (Logstash tests the
//    value's text). Numbers (0 too), arrays and hashes are truthy.
//  - `==` / `!=`: Ruby equality (1 == 1.0, "1" != 1); a missing field equals nothing, except
//    that two missing fields compare equal (`[a] == [b]`).
//  - `<` `>` `<=` `>=`: numbers with numbers, strings with strings (bytewise), timestamps
//    with timestamps. Anything else -- a number with a string, a missing field, an array --
//    is an EVALUATION ERROR (Logstash raises; since 8.16 it logs and drops the event).
//  - `=~` / `!~`: only strings match (a number or a missing field never matches `=~`, so it
//    always matches `!~`). `^`/`$` work per line, `.` does not cross newlines, as in Ruby.
//  - `in` / `not in`: `[f] in "const"` is a substring test of the field's string in the
//    constant; `"const" in [f]` is substring (string field) or membership (array field);
//    `[f] in ["a", 1]` compares texts (`200 in ["200"]` is true); `[f] in [g]` is substring
//    when both are strings, membership when [g] is an array, equality otherwise; an array or
//    hash on the left of `[f] in [g]` is never in anything.
//  - `and` `or` `nand` `xor` `!` as usual, left to right, short-circuit.
//
// Evaluation errors (our choice, since the pipeline must never stop): the whole condition of
// that branch counts as false for the event (it goes on to `else if` / `else`), the event gets
// the tag `_conditional_evaluation_error`, PipelineMetrics::conditional_errors counts it, and
// the error is logged at most once every few seconds per condition.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/ast.h"
#include "core/event.h"

namespace sluice {

inline constexpr std::string_view kConditionalErrorTag = "_conditional_evaluation_error";

class Condition {
 public:
  virtual ~Condition() = default;

  // Compiles an expression; throws config::ConfigError (bad field reference, bad regexp,
  // unsupported operand combination) at the expression's position.
  static std::unique_ptr<Condition> compile(const config::Expr& expr);

  enum class Outcome : uint8_t { False, True, Error };
  // Evaluates the condition for one event; on Error, `error` (when given) receives a message.
  virtual Outcome check(const Event& event, std::string* error = nullptr) const = 0;
  // True when the event fulfils the condition (an evaluation error counts as false).
  bool fulfilled(const Event& event) const { return check(event) == Outcome::True; }

  // The expression's source position, for messages.
  const config::Position& position() const { return pos_; }

 protected:
  config::Position pos_;
};

}  // namespace sluice
