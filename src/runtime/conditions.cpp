// Compiled conditions: an evaluator tree with pre-parsed field references and pre-compiled
// regexps. See conditions.h for the semantics.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "runtime/conditions.h"

#include <pcre2.h>

#include <charconv>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "config/parser.h"
#include "grok/onig_translate.h"

namespace sluice {

namespace {

using config::ConfigError;
using config::Expr;

struct EvalState {
  bool failed = false;
  std::string* message = nullptr;
};

class Node {
 public:
  virtual ~Node() = default;
  // Returns false once `st.failed` is set; callers stop evaluating then.
  virtual bool eval(const Event& event, EvalState& st) const = 0;
};

// ---- operands --------------------------------------------------------------------------

struct Operand {
  enum class Kind { Field, Constant, List };
  Kind kind = Kind::Constant;
  FieldRef ref;
  Value constant;
  std::vector<Operand> items;  // List
  std::string written;         // as written, for messages

  // nullptr for a missing field or a nil value (Logstash's nil).
  const Value* resolve(const Event& event) const {
    if (kind == Kind::Field) {
      const Value* v = event.get(ref);
      return v && !v->is_null() ? v : nullptr;
    }
    return &constant;
  }
  bool is_scalar_constant() const {
    return kind == Kind::Constant && (constant.is_string() || constant.is_number());
  }
};

bool is_value_kind(Expr::Kind k) {
  return k == Expr::Kind::FieldRef || k == Expr::Kind::String || k == Expr::Kind::Number ||
         k == Expr::Kind::Regex || k == Expr::Kind::Array;
}

Value number_value(const Expr& e) {
  const std::string& t = e.text;
  bool integral = !t.empty() && t.find_first_of(".eE") == std::string::npos;
  if (integral) {
    int64_t v = 0;
    const char* begin = t.data();
    if (*begin == '+') ++begin;
    auto [ptr, ec] = std::from_chars(begin, t.data() + t.size(), v);
    if (ec == std::errc() && ptr == t.data() + t.size()) return Value(v);
  }
  return Value(e.number);
}

Operand compile_operand(const Expr& e) {
  Operand op;
  switch (e.kind) {
    case Expr::Kind::FieldRef: {
      std::string error;
      auto ref = FieldRef::parse(e.text, &error);
      if (!ref) throw ConfigError(e.pos, fmt::format("invalid field reference `{}`: {}", e.text, error));
      op.kind = Operand::Kind::Field;
      op.ref = std::move(*ref);
      op.written = e.text;
      return op;
    }
    case Expr::Kind::String:
      op.constant = Value(std::string_view(e.text));
      op.written = fmt::format("\"{}\"", e.text);
      return op;
    case Expr::Kind::Number:
      op.constant = number_value(e);
      op.written = e.text;
      return op;
    case Expr::Kind::Array: {
      op.kind = Operand::Kind::List;
      op.written = "[...]";
      for (const auto& item : e.children) {
        if (item->kind == Expr::Kind::Array || item->kind == Expr::Kind::Regex || !is_value_kind(item->kind))
          throw ConfigError(item->pos, "only strings, numbers and field references can be items of a list here");
        op.items.push_back(compile_operand(*item));
      }
      return op;
    }
    case Expr::Kind::Regex:
      throw ConfigError(e.pos, "a regular expression can only be the right side of =~ or !~");
    default:
      throw ConfigError(e.pos, "expected a value (field reference, string, number or list)");
  }
}

bool value_truthy(const Value* v) {
  if (!v) return false;
  switch (v->type()) {
    case Type::Null: return false;
    case Type::Bool: return v->as_bool();
    case Type::String: return !v->as_string().empty() && v->as_string() != "false";
    default: return true;
  }
}

const char* describe(const Value* v) {
  if (!v) return "nil (missing field)";
  switch (v->type()) {
    case Type::Null: return "nil";
    case Type::Bool: return "a boolean";
    case Type::Int: return "an integer";
    case Type::Float: return "a float";
    case Type::String: return "a string";
    case Type::Timestamp: return "a timestamp";
    case Type::Array: return "an array";
    case Type::Object: return "a hash";
  }
  return "a value";
}

// Ruby's <=> for the types Logstash can compare; nullopt when they cannot be compared.
std::optional<int> order(const Value* a, const Value* b) {
  if (!a || !b) return std::nullopt;
  if (a->is_number() && b->is_number()) {
    if (a->is_int() && b->is_int()) return a->as_int() < b->as_int() ? -1 : a->as_int() > b->as_int() ? 1 : 0;
    double x = a->as_number(), y = b->as_number();
    if (x < y) return -1;
    if (x > y) return 1;
    if (x == y) return 0;
    return std::nullopt;  // NaN
  }
  if (a->is_string() && b->is_string()) {
    int c = a->as_string().compare(b->as_string());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a->is_timestamp() && b->is_timestamp()) {
    auto x = a->as_timestamp().nanos, y = b->as_timestamp().nanos;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return std::nullopt;
}

bool values_equal(const Value* a, const Value* b) {
  if (!a || !b) return a == b;
  return *a == *b;
}

bool text_equals(const Value& v, const std::string& text) {
  if (v.is_string()) return v.as_string() == text;
  if (v.is_array() || v.is_object()) return false;  // Logstash compares Java's "[a, b]" text: never a scalar's
  thread_local std::string buffer;
  buffer.clear();
  v.append_text(buffer);
  return buffer == text;
}

bool array_contains(const Value& array, const Value& item) {
  for (const Value& element : array.as_array()) {
    if (element == item) return true;
  }
  return false;
}

// ---- regexps ----------------------------------------------------------------------------

struct ThreadMatchData {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  ~ThreadMatchData() { pcre2_match_data_free(data); }
};

class Regex {
 public:
  Regex(const std::string& source, const config::Position& pos) {
    grok::TranslatedRegex translated;
    try {
      translated = grok::translate_onig(source);
    } catch (const std::exception& e) {
      throw ConfigError(pos, fmt::format("invalid regular expression /{}/: {}", source, e.what()));
    }
    uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_MULTILINE;
    if (!translated.numbered_references) options |= PCRE2_NO_AUTO_CAPTURE;
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.pcre.data()), translated.pcre.size(), options,
                          &error_code, &error_offset, nullptr);
    if (!code_) {
      PCRE2_UCHAR buffer[256];
      pcre2_get_error_message(error_code, buffer, sizeof buffer);
      throw ConfigError(pos, fmt::format("invalid regular expression /{}/: {} at offset {}", source,
                                         reinterpret_cast<const char*>(buffer), error_offset));
    }
    pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
  }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  ~Regex() { pcre2_code_free(code_); }

  bool search(std::string_view text) const {
    thread_local ThreadMatchData match;
    int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, 0, match.data, nullptr);
    return rc >= 0;  // 0: matched, ovector too small (we need no captures)
  }

 private:
  pcre2_code* code_ = nullptr;
};

// ---- nodes -----------------------------------------------------------------------------

class ConstNode final : public Node {
 public:
  explicit ConstNode(bool v) : value_(v) {}
  bool eval(const Event&, EvalState&) const override { return value_; }

 private:
  bool value_;
};

class TruthyNode final : public Node {
 public:
  explicit TruthyNode(Operand op) : op_(std::move(op)) {}
  bool eval(const Event& event, EvalState&) const override { return value_truthy(op_.resolve(event)); }

 private:
  Operand op_;
};

class NotNode final : public Node {
 public:
  explicit NotNode(std::unique_ptr<Node> inner) : inner_(std::move(inner)) {}
  bool eval(const Event& event, EvalState& st) const override {
    bool r = inner_->eval(event, st);
    return st.failed ? false : !r;
  }

 private:
  std::unique_ptr<Node> inner_;
};

class BoolNode final : public Node {
 public:
  BoolNode(Expr::Kind kind, std::unique_ptr<Node> l, std::unique_ptr<Node> r)
      : kind_(kind), left_(std::move(l)), right_(std::move(r)) {}
  bool eval(const Event& event, EvalState& st) const override {
    bool l = left_->eval(event, st);
    if (st.failed) return false;
    switch (kind_) {
      case Expr::Kind::And:
        if (!l) return false;
        return right_->eval(event, st) && !st.failed;
      case Expr::Kind::Or:
        if (l) return true;
        return right_->eval(event, st) && !st.failed;
      case Expr::Kind::Nand:
        if (!l) return true;
        {
          bool r = right_->eval(event, st);
          return st.failed ? false : !r;
        }
      default: {  // Xor
        bool r = right_->eval(event, st);
        return st.failed ? false : l != r;
      }
    }
  }

 private:
  Expr::Kind kind_;
  std::unique_ptr<Node> left_, right_;
};

class EqualNode final : public Node {
 public:
  EqualNode(Operand l, Operand r, bool negate) : left_(std::move(l)), right_(std::move(r)), negate_(negate) {}
  bool eval(const Event& event, EvalState&) const override {
    return values_equal(left_.resolve(event), right_.resolve(event)) != negate_;
  }

 private:
  Operand left_, right_;
  bool negate_;
};

const char* operator_text(Expr::Kind k) {
  switch (k) {
    case Expr::Kind::Lt: return "<";
    case Expr::Kind::Gt: return ">";
    case Expr::Kind::Le: return "<=";
    case Expr::Kind::Ge: return ">=";
    default: return "?";
  }
}

bool ordering_holds(Expr::Kind k, int c) {
  switch (k) {
    case Expr::Kind::Lt: return c < 0;
    case Expr::Kind::Gt: return c > 0;
    case Expr::Kind::Le: return c <= 0;
    default: return c >= 0;
  }
}

class CompareNode final : public Node {
 public:
  CompareNode(Expr::Kind k, Operand l, Operand r, config::Position pos)
      : kind_(k), left_(std::move(l)), right_(std::move(r)), pos_(std::move(pos)) {}
  bool eval(const Event& event, EvalState& st) const override {
    const Value* a = left_.resolve(event);
    const Value* b = right_.resolve(event);
    auto c = order(a, b);
    if (!c) {
      st.failed = true;
      if (st.message)
        *st.message = fmt::format("cannot compare {} with {} in `{} {} {}` at {}", describe(a), describe(b),
                                  left_.written, operator_text(kind_), right_.written, pos_.str());
      return false;
    }
    return ordering_holds(kind_, *c);
  }

 private:
  Expr::Kind kind_;
  Operand left_, right_;
  config::Position pos_;
};

class MatchNode final : public Node {
 public:
  MatchNode(Operand op, std::unique_ptr<Regex> re, bool negate)
      : op_(std::move(op)), regex_(std::move(re)), negate_(negate) {}
  bool eval(const Event& event, EvalState&) const override {
    const Value* v = op_.resolve(event);
    bool matched = v && v->is_string() && regex_->search(v->as_string());
    return matched != negate_;
  }

 private:
  Operand op_;
  std::unique_ptr<Regex> regex_;
  bool negate_;
};

// `[f] in "const"` / `[f] in 12`: the field's string is a substring of the constant's text.
class FieldInScalarNode final : public Node {
 public:
  FieldInScalarNode(Operand field, std::string haystack, bool negate)
      : field_(std::move(field)), haystack_(std::move(haystack)), negate_(negate) {}
  bool eval(const Event& event, EvalState&) const override {
    const Value* v = field_.resolve(event);
    bool in = v && v->is_string() && haystack_.find(v->as_string()) != std::string::npos;
    return in != negate_;
  }

 private:
  Operand field_;
  std::string haystack_;
  bool negate_;
};

// `"const" in [f]`: substring of a string field, or member of an array field; a number
// constant only as a member.
class ConstantInFieldNode final : public Node {
 public:
  ConstantInFieldNode(Value constant, Operand field, bool negate)
      : constant_(std::move(constant)), field_(std::move(field)), negate_(negate) {}
  bool eval(const Event& event, EvalState&) const override {
    const Value* v = field_.resolve(event);
    bool in = false;
    if (v) {
      if (v->is_array()) {
        in = array_contains(*v, constant_);
      } else if (v->is_string() && constant_.is_string()) {
        in = v->as_string().find(constant_.as_string()) != std::string::npos;
      }
    }
    return in != negate_;
  }

 private:
  Value constant_;
  Operand field_;
  bool negate_;
};

// `[f] in ["a", 1, [g]]`: the item texts are compared with the field's text.
class InListNode final : public Node {
 public:
  InListNode(Operand left, Operand list, bool negate) : left_(std::move(left)), list_(std::move(list)), negate_(negate) {
    for (const Operand& item : list_.items) {
      if (item.kind == Operand::Kind::Constant) {
        constant_texts_.push_back(item.constant.to_text());
      } else {
        has_fields_ = true;
      }
    }
  }
  bool eval(const Event& event, EvalState&) const override {
    const Value* v = left_.resolve(event);
    bool in = false;
    if (v && !v->is_array() && !v->is_object()) {
      for (const std::string& text : constant_texts_) {
        if (text_equals(*v, text)) {
          in = true;
          break;
        }
      }
      if (!in && has_fields_) {
        std::string text;
        for (const Operand& item : list_.items) {
          if (item.kind != Operand::Kind::Field) continue;
          const Value* iv = item.resolve(event);
          if (!iv) continue;
          text.clear();
          iv->append_text(text);
          if (text_equals(*v, text)) {
            in = true;
            break;
          }
        }
      }
    }
    return in != negate_;
  }

 private:
  Operand left_, list_;
  std::vector<std::string> constant_texts_;
  bool has_fields_ = false;
  bool negate_;
};

// `[f] in [g]`.
class FieldInFieldNode final : public Node {
 public:
  FieldInFieldNode(Operand l, Operand r, bool negate) : left_(std::move(l)), right_(std::move(r)), negate_(negate) {}
  bool eval(const Event& event, EvalState&) const override {
    const Value* l = left_.resolve(event);
    const Value* r = right_.resolve(event);
    bool in;
    if (l && (l->is_array() || l->is_object())) {
      in = false;
    } else if (l && r && l->is_string() && r->is_string()) {
      in = r->as_string().find(l->as_string()) != std::string::npos;
    } else if (r && r->is_array()) {
      in = l && array_contains(*r, *l);
    } else {
      in = l && r && *l == *r;
    }
    return in != negate_;
  }

 private:
  Operand left_, right_;
  bool negate_;
};

// ---- compiler --------------------------------------------------------------------------

const Expr& child(const Expr& e, size_t i) {
  if (e.children.size() <= i || !e.children[i]) throw ConfigError(e.pos, "malformed condition (missing operand)");
  return *e.children[i];
}

std::unique_ptr<Node> compile_bool(const Expr& e);

std::unique_ptr<Node> compile_truthy(const Expr& e) {
  if (!is_value_kind(e.kind)) return compile_bool(e);
  if (e.kind == Expr::Kind::Regex) throw ConfigError(e.pos, "a regular expression cannot be a condition by itself");
  Operand op = compile_operand(e);
  if (op.kind == Operand::Kind::Constant) return std::make_unique<ConstNode>(value_truthy(&op.constant));
  if (op.kind == Operand::Kind::List) return std::make_unique<ConstNode>(true);
  return std::make_unique<TruthyNode>(std::move(op));
}

std::unique_ptr<Node> compile_in(const Expr& e, bool negate) {
  Operand l = compile_operand(child(e, 0));
  Operand r = compile_operand(child(e, 1));
  using K = Operand::Kind;
  if (l.kind == K::Field && r.is_scalar_constant())
    return std::make_unique<FieldInScalarNode>(std::move(l), r.constant.to_text(), negate);
  if (l.is_scalar_constant() && r.kind == K::Field)
    return std::make_unique<ConstantInFieldNode>(std::move(l.constant), std::move(r), negate);
  if (l.kind != K::List && r.kind == K::List) return std::make_unique<InListNode>(std::move(l), std::move(r), negate);
  if (l.kind == K::Field && r.kind == K::Field)
    return std::make_unique<FieldInFieldNode>(std::move(l), std::move(r), negate);
  if (l.kind == K::Constant && r.kind == K::Constant) {
    bool in;
    if (l.constant.is_string() && r.constant.is_string()) {
      in = r.constant.as_string().find(l.constant.as_string()) != std::string::npos;
    } else {
      in = l.constant == r.constant;
    }
    return std::make_unique<ConstNode>(in != negate);
  }
  if (l.kind == K::List && r.kind == K::Constant && r.constant.is_string()) {
    bool in = false;
    for (const Operand& item : l.items) {
      if (item.kind == K::Constant && text_equals(item.constant, r.constant.as_string())) in = true;
    }
    return std::make_unique<ConstNode>(in != negate);
  }
  throw ConfigError(e.pos, "unsupported operands for `in`: expected a field, string or number on the left and a "
                           "field, string, number or list on the right");
}

std::unique_ptr<Node> compile_match(const Expr& e, bool negate) {
  const Expr& left = child(e, 0);
  const Expr& right = child(e, 1);
  if (right.kind != Expr::Kind::Regex && right.kind != Expr::Kind::String)
    throw ConfigError(right.pos, "the right side of =~ / !~ must be a regular expression");
  auto regex = std::make_unique<Regex>(right.text, right.pos);
  Operand op = compile_operand(left);
  if (op.kind == Operand::Kind::Constant) {
    bool matched = op.constant.is_string() && regex->search(op.constant.as_string());
    return std::make_unique<ConstNode>(matched != negate);
  }
  if (op.kind == Operand::Kind::List) return std::make_unique<ConstNode>(negate);
  return std::make_unique<MatchNode>(std::move(op), std::move(regex), negate);
}

std::unique_ptr<Node> compile_compare(const Expr& e) {
  Operand l = compile_operand(child(e, 0));
  Operand r = compile_operand(child(e, 1));
  if (l.kind == Operand::Kind::Constant && r.kind == Operand::Kind::Constant) {
    auto c = order(&l.constant, &r.constant);
    if (!c)
      throw ConfigError(e.pos, fmt::format("cannot compare {} with {}", describe(&l.constant), describe(&r.constant)));
    return std::make_unique<ConstNode>(ordering_holds(e.kind, *c));
  }
  return std::make_unique<CompareNode>(e.kind, std::move(l), std::move(r), e.pos);
}

std::unique_ptr<Node> compile_equal(const Expr& e, bool negate) {
  Operand l = compile_operand(child(e, 0));
  Operand r = compile_operand(child(e, 1));
  if (l.kind == Operand::Kind::List || r.kind == Operand::Kind::List)
    throw ConfigError(e.pos, "a list can only be the right side of `in`");
  if (l.kind == Operand::Kind::Constant && r.kind == Operand::Kind::Constant)
    return std::make_unique<ConstNode>((l.constant == r.constant) != negate);
  return std::make_unique<EqualNode>(std::move(l), std::move(r), negate);
}

std::unique_ptr<Node> compile_bool(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::FieldRef:
    case Expr::Kind::String:
    case Expr::Kind::Number:
    case Expr::Kind::Regex:
    case Expr::Kind::Array:
      return compile_truthy(e);
    case Expr::Kind::Truthy:
      return compile_truthy(child(e, 0));
    case Expr::Kind::Not: {
      auto inner = compile_truthy(child(e, 0));
      return std::make_unique<NotNode>(std::move(inner));
    }
    case Expr::Kind::And:
    case Expr::Kind::Or:
    case Expr::Kind::Nand:
    case Expr::Kind::Xor: {
      auto l = compile_truthy(child(e, 0));
      auto r = compile_truthy(child(e, 1));
      return std::make_unique<BoolNode>(e.kind, std::move(l), std::move(r));
    }
    case Expr::Kind::Eq: return compile_equal(e, false);
    case Expr::Kind::Ne: return compile_equal(e, true);
    case Expr::Kind::Lt:
    case Expr::Kind::Gt:
    case Expr::Kind::Le:
    case Expr::Kind::Ge:
      return compile_compare(e);
    case Expr::Kind::Match: return compile_match(e, false);
    case Expr::Kind::NotMatch: return compile_match(e, true);
    case Expr::Kind::In: return compile_in(e, false);
    case Expr::Kind::NotIn: return compile_in(e, true);
  }
  throw ConfigError(e.pos, "unsupported condition");
}

class CompiledCondition final : public Condition {
 public:
  CompiledCondition(std::unique_ptr<Node> root, config::Position pos) : root_(std::move(root)) { pos_ = std::move(pos); }
  Outcome check(const Event& event, std::string* error) const override {
    EvalState st;
    st.message = error;
    bool r = root_->eval(event, st);
    if (st.failed) return Outcome::Error;
    return r ? Outcome::True : Outcome::False;
  }

 private:
  std::unique_ptr<Node> root_;
};

}  // namespace

std::unique_ptr<Condition> Condition::compile(const config::Expr& expr) {
  return std::make_unique<CompiledCondition>(compile_bool(expr), expr.pos);
}

}  // namespace sluice
