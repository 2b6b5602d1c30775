// The config language: every construct, positions, and the AST it produces.
#include <gtest/gtest.h>

#include "config/parser.h"

namespace sluice::config {
namespace {

using Kind = ConfigValue::Kind;

PipelineConfig parse(const std::string& text, ParseOptions options = {}) {
  return parse_config(text, "test.conf", options);
}

// The first plugin of the filter section.
const PluginBlock& first_filter(const PipelineConfig& cfg) {
  EXPECT_FALSE(cfg.filters.empty());
  EXPECT_EQ(cfg.filters[0].kind, Statement::Kind::Plugin);
  return *cfg.filters[0].plugin;
}

const ConfigValue& attr(const PluginBlock& block, const std::string& name) {
  for (const Attribute& a : block.attributes)
    if (a.name == name) return a.value;
  ADD_FAILURE() << "no attribute " << name;
  static ConfigValue none;
  return none;
}

// A value of `x => VALUE` in a filter plugin.
ConfigValue value_of(const std::string& value_text, ParseOptions options = {}) {
  PipelineConfig cfg = parse("filter { p { x => " + value_text + " } }", options);
  return attr(first_filter(cfg), "x");
}

TEST(ConfigParser, EmptyConfigAndOnlyComments) {
  PipelineConfig a = parse("");
  EXPECT_TRUE(a.inputs.empty() && a.filters.empty() && a.outputs.empty());
  PipelineConfig b = parse("# nothing here\n   # really\n# no newline at the end");
  EXPECT_TRUE(b.inputs.empty() && b.filters.empty() && b.outputs.empty());
}

TEST(ConfigParser, SectionsRepeatAndKeepOrder) {
  PipelineConfig cfg = parse(
      "output { stdout {} }\n"
      "input { stdin {} generator { count => 3 } }\n"
      "filter { mutate {} }\n"
      "input { tcp { port => 5000 } }\n"
      "filter { drop {} }");
  ASSERT_EQ(cfg.inputs.size(), 3u);
  EXPECT_EQ(cfg.inputs[0].plugin->name, "stdin");
  EXPECT_EQ(cfg.inputs[1].plugin->name, "generator");
  EXPECT_EQ(cfg.inputs[2].plugin->name, "tcp");
  ASSERT_EQ(cfg.filters.size(), 2u);
  EXPECT_EQ(cfg.filters[0].plugin->name, "mutate");
  EXPECT_EQ(cfg.filters[1].plugin->name, "drop");
  ASSERT_EQ(cfg.outputs.size(), 1u);
  EXPECT_EQ(cfg.outputs[0].plugin->name, "stdout");
}

TEST(ConfigParser, PositionsOfPluginsAndAttributes) {
  PipelineConfig cfg = parse("input {\n  stdin {\n    codec => json\n  }\n}\n");
  const PluginBlock& stdin_block = *cfg.inputs[0].plugin;
  EXPECT_EQ(stdin_block.pos.str(), "test.conf:2:3");
  ASSERT_EQ(stdin_block.attributes.size(), 1u);
  EXPECT_EQ(stdin_block.attributes[0].pos.str(), "test.conf:3:5");
  EXPECT_EQ(stdin_block.attributes[0].value.pos.str(), "test.conf:3:14");
}

TEST(ConfigParser, ColumnsCountCharactersNotBytes) {
  PipelineConfig cfg = parse("filter { p { x => \"héé\" y => 1 } }");
  const PluginBlock& p = first_filter(cfg);
  EXPECT_EQ(p.attributes[1].pos.column, 25);
}

TEST(ConfigParser, DoubleAndSingleQuotedStrings) {
  ConfigValue d = value_of("\"hello world\"");
  EXPECT_EQ(d.kind, Kind::String);
  EXPECT_EQ(d.text, "hello world");
  ConfigValue s = value_of("'it is'");
  EXPECT_EQ(s.kind, Kind::String);
  EXPECT_EQ(s.text, "it is");
  EXPECT_EQ(value_of("\"multi\nline\"").text, "multi\nline");
  EXPECT_EQ(value_of("\"# not a comment\"").text, "# not a comment");
  EXPECT_EQ(value_of("'say \"hi\"'").text, "say \"hi\"");
}

TEST(ConfigParser, BackslashesAreLiteralWithoutSupportEscapes) {
  EXPECT_EQ(value_of(R"("a\nb")").text, R"(a\nb)");
  EXPECT_EQ(value_of(R"("\d+\.\d+")").text, R"(\d+\.\d+)");
  // The own quote does not end the string, and the backslash stays (Logstash keeps it).
  EXPECT_EQ(value_of(R"("say \"hi\"")").text, R"(say \"hi\")");
  EXPECT_EQ(value_of(R"('it\'s')").text, R"(it\'s)");
  // \' inside "" and \" inside '' stay as written.
  EXPECT_EQ(value_of(R"("it\'s")").text, R"(it\'s)");
  EXPECT_EQ(value_of(R"('a\"b')").text, R"(a\"b)");
}

TEST(ConfigParser, SupportEscapesOption) {
  ParseOptions escapes;
  escapes.support_escapes = true;
  EXPECT_EQ(value_of(R"("a\nb\tc\rd")", escapes).text, "a\nb\tc\rd");
  EXPECT_EQ(value_of(R"("back\\slash")", escapes).text, "back\\slash");
  EXPECT_EQ(value_of(R"("q\"q\'q")", escapes).text, "q\"q'q");
  EXPECT_EQ(value_of(R"('q\'q')", escapes).text, "q'q");
}

TEST(ConfigParser, Numbers) {
  ConfigValue i = value_of("42");
  EXPECT_EQ(i.kind, Kind::Number);
  EXPECT_TRUE(i.is_integer);
  EXPECT_EQ(i.number, 42);
  EXPECT_EQ(i.text, "42");
  ConfigValue neg = value_of("-1");
  EXPECT_EQ(neg.number, -1);
  EXPECT_TRUE(neg.is_integer);
  ConfigValue f = value_of("1.5");
  EXPECT_FALSE(f.is_integer);
  EXPECT_DOUBLE_EQ(f.number, 1.5);
  ConfigValue trailing_dot = value_of("3.");
  EXPECT_FALSE(trailing_dot.is_integer);
  EXPECT_EQ(trailing_dot.number, 3);
}

TEST(ConfigParser, BarewordsAndBooleans) {
  ConfigValue b = value_of("json_lines");
  EXPECT_EQ(b.kind, Kind::Bareword);
  EXPECT_EQ(b.text, "json_lines");
  ConfigValue t = value_of("true");
  EXPECT_EQ(t.kind, Kind::Boolean);
  EXPECT_TRUE(t.boolean);
  ConfigValue f = value_of("false");
  EXPECT_EQ(f.kind, Kind::Boolean);
  EXPECT_FALSE(f.boolean);
  EXPECT_EQ(f.text, "false");
}

TEST(ConfigParser, Arrays) {
  ConfigValue a = value_of("[ \"a\", 'b', 3, bare, [1, 2], { k => v } ]");
  ASSERT_EQ(a.kind, Kind::Array);
  ASSERT_EQ(a.items.size(), 6u);
  EXPECT_EQ(a.items[0].text, "a");
  EXPECT_EQ(a.items[1].text, "b");
  EXPECT_EQ(a.items[2].number, 3);
  EXPECT_EQ(a.items[3].kind, Kind::Bareword);
  EXPECT_EQ(a.items[4].kind, Kind::Array);
  EXPECT_EQ(a.items[4].items.size(), 2u);
  EXPECT_EQ(a.items[5].kind, Kind::Hash);
  EXPECT_EQ(value_of("[]").items.size(), 0u);
  EXPECT_EQ(value_of("[ \"x\", \"y\", ]").items.size(), 2u);  // trailing comma
  ConfigValue commented = value_of("[\n  \"a\", # first\n  # between\n  \"b\"\n]");
  EXPECT_EQ(commented.items.size(), 2u);
}

TEST(ConfigParser, Hashes) {
  ConfigValue h = value_of("{ \"str\" => \"v1\" bare => v2 'single' => 3 12 => [a, b] }");
  ASSERT_EQ(h.kind, Kind::Hash);
  ASSERT_EQ(h.entries.size(), 4u);
  EXPECT_EQ(h.entries[0].first.text, "str");
  EXPECT_EQ(h.entries[0].second.text, "v1");
  EXPECT_EQ(h.entries[1].first.kind, Kind::Bareword);
  EXPECT_EQ(h.entries[1].first.text, "bare");
  EXPECT_EQ(h.entries[2].first.text, "single");
  EXPECT_EQ(h.entries[2].second.number, 3);
  EXPECT_EQ(h.entries[3].first.kind, Kind::Number);
  EXPECT_EQ(h.entries[3].first.text, "12");
  EXPECT_EQ(h.entries[3].second.items.size(), 2u);
  ConfigValue commas = value_of("{ \"a\" => 1, \"b\" => 2, }");
  EXPECT_EQ(commas.entries.size(), 2u);
  ConfigValue lines = value_of("{\n  \"a\" => 1 # one\n  \"b\" => { \"nested\" => true }\n}");
  ASSERT_EQ(lines.entries.size(), 2u);
  EXPECT_EQ(lines.entries[1].second.kind, Kind::Hash);
  EXPECT_EQ(value_of("{}").entries.size(), 0u);
}

TEST(ConfigParser, CodecPluginBlockValues) {
  PipelineConfig cfg = parse("input { tcp { codec => json_lines { charset => \"UTF-8\" } port => 1 } }");
  const PluginBlock& tcp = *cfg.inputs[0].plugin;
  const ConfigValue& codec = attr(tcp, "codec");
  ASSERT_EQ(codec.kind, Kind::Plugin);
  ASSERT_TRUE(codec.plugin);
  EXPECT_EQ(codec.plugin->name, "json_lines");
  ASSERT_EQ(codec.plugin->attributes.size(), 1u);
  EXPECT_EQ(codec.plugin->attributes[0].value.text, "UTF-8");
  EXPECT_EQ(attr(tcp, "port").number, 1);
  // A bare codec name is a bareword.
  EXPECT_EQ(value_of("json").kind, Kind::Bareword);
  ConfigValue empty_block = value_of("rubydebug {}");
  EXPECT_EQ(empty_block.kind, Kind::Plugin);
}

TEST(ConfigParser, QuotedPluginAndOptionNames) {
  PipelineConfig cfg = parse("filter { \"mutate\" { \"add_tag\" => \"x\" } }");
  EXPECT_EQ(first_filter(cfg).name, "mutate");
  EXPECT_EQ(first_filter(cfg).attributes[0].name, "add_tag");
}

TEST(ConfigParser, DuplicateAttributesAreKeptForValidationToMerge) {
  PipelineConfig cfg = parse("filter { grok { match => { \"a\" => \"1\" } match => { \"b\" => \"2\" } } }");
  EXPECT_EQ(first_filter(cfg).attributes.size(), 2u);
}

TEST(ConfigParser, CommentsAnywhere) {
  PipelineConfig cfg = parse(
      "# head\ninput # after keyword\n{ # after brace\n stdin # after name\n { # in block\n"
      " codec # before arrow\n => # after arrow\n json # after value\n } # closing\n } # end");
  ASSERT_EQ(cfg.inputs.size(), 1u);
  EXPECT_EQ(attr(*cfg.inputs[0].plugin, "codec").text, "json");
}

// ---- conditionals ----

const Expr& condition_of(const PipelineConfig& cfg, size_t branch = 0) {
  EXPECT_FALSE(cfg.filters.empty());
  EXPECT_EQ(cfg.filters[0].kind, Statement::Kind::If);
  return *cfg.filters[0].branches.at(branch).condition;
}

std::unique_ptr<PipelineConfig> parse_if(const std::string& condition) {
  return std::make_unique<PipelineConfig>(parse("filter { if " + condition + " { drop {} } }"));
}

TEST(ConfigParser, IfElseIfElse) {
  PipelineConfig cfg = parse(
      "filter {\n"
      "  if [type] == \"a\" { mutate { add_tag => \"a\" } }\n"
      "  else if [type] == \"b\" { mutate { add_tag => \"b\" } drop {} }\n"
      "  else { mutate { add_tag => \"other\" } }\n"
      "  stdout_like {}\n"
      "}");
  ASSERT_EQ(cfg.filters.size(), 2u);
  const Statement& st = cfg.filters[0];
  ASSERT_EQ(st.kind, Statement::Kind::If);
  ASSERT_EQ(st.branches.size(), 3u);
  EXPECT_TRUE(st.branches[0].condition);
  EXPECT_TRUE(st.branches[1].condition);
  EXPECT_FALSE(st.branches[2].condition);
  EXPECT_EQ(st.branches[1].body.size(), 2u);
  EXPECT_EQ(st.branches[0].pos.str(), "test.conf:2:3");
  EXPECT_EQ(st.branches[1].pos.str(), "test.conf:3:3");
  EXPECT_EQ(st.branches[2].pos.str(), "test.conf:4:3");
  EXPECT_EQ(cfg.filters[1].plugin->name, "stdout_like");
}

TEST(ConfigParser, NestedConditionals) {
  PipelineConfig cfg = parse(
      "output { if [a] { if [b] { x {} } else { if [c] { y {} } } } else if [d] { } }");
  const Statement& outer = cfg.outputs[0];
  ASSERT_EQ(outer.branches.size(), 2u);
  const Statement& inner = outer.branches[0].body[0];
  ASSERT_EQ(inner.kind, Statement::Kind::If);
  ASSERT_EQ(inner.branches.size(), 2u);
  EXPECT_EQ(inner.branches[1].body[0].kind, Statement::Kind::If);
  EXPECT_TRUE(outer.branches[1].body.empty());
}

TEST(ConfigParser, ComparisonOperators) {
  struct Case {
    const char* op;
    Expr::Kind kind;
  } cases[] = {{"==", Expr::Kind::Eq}, {"!=", Expr::Kind::Ne}, {"<", Expr::Kind::Lt},
               {">", Expr::Kind::Gt},  {"<=", Expr::Kind::Le}, {">=", Expr::Kind::Ge}};
  for (const Case& c : cases) {
    auto cfg = parse_if(std::string("[status] ") + c.op + " 200");
    const Expr& e = condition_of(*cfg);
    EXPECT_EQ(e.kind, c.kind) << c.op;
    ASSERT_EQ(e.children.size(), 2u);
    EXPECT_EQ(e.children[0]->kind, Expr::Kind::FieldRef);
    EXPECT_EQ(e.children[0]->text, "[status]");
    EXPECT_EQ(e.children[1]->kind, Expr::Kind::Number);
    EXPECT_EQ(e.children[1]->number, 200);
  }
  auto glued = parse_if("[a]==\"x\"");
  EXPECT_EQ(condition_of(*glued).kind, Expr::Kind::Eq);
  EXPECT_EQ(condition_of(*glued).children[1]->text, "x");
}

TEST(ConfigParser, RegexpOperators) {
  auto m = parse_if(R"([path] =~ /^\/var\/log/)");
  const Expr& e = condition_of(*m);
  EXPECT_EQ(e.kind, Expr::Kind::Match);
  EXPECT_EQ(e.children[1]->kind, Expr::Kind::Regex);
  EXPECT_EQ(e.children[1]->text, R"(^\/var\/log)");
  auto nm = parse_if("[msg] !~ \"err.*\"");
  EXPECT_EQ(condition_of(*nm).kind, Expr::Kind::NotMatch);
  EXPECT_EQ(condition_of(*nm).children[1]->kind, Expr::Kind::Regex);  // a string on the right is a regexp
  EXPECT_EQ(condition_of(*nm).children[1]->text, "err.*");
}

TEST(ConfigParser, InAndNotIn) {
  auto in_array = parse_if("[type] in [\"a\", \"b\", 3]");
  const Expr& e = condition_of(*in_array);
  EXPECT_EQ(e.kind, Expr::Kind::In);
  ASSERT_EQ(e.children[1]->kind, Expr::Kind::Array);
  ASSERT_EQ(e.children[1]->children.size(), 3u);
  EXPECT_EQ(e.children[1]->children[0]->text, "a");
  EXPECT_EQ(e.children[1]->children[2]->kind, Expr::Kind::Number);
  auto in_field = parse_if("\"error\" in [tags]");
  EXPECT_EQ(condition_of(*in_field).children[0]->kind, Expr::Kind::String);
  EXPECT_EQ(condition_of(*in_field).children[1]->kind, Expr::Kind::FieldRef);
  auto not_in = parse_if("\"_grokparsefailure\" not in [tags]");
  EXPECT_EQ(condition_of(*not_in).kind, Expr::Kind::NotIn);
  // As in Logstash, a one-element `["a"]` is a field reference, not an array.
  auto one = parse_if("[type] in [\"a\"]");
  EXPECT_EQ(condition_of(*one).children[1]->kind, Expr::Kind::FieldRef);
}

TEST(ConfigParser, BooleanOperatorsAndPrecedence) {
  auto cfg = parse_if("[a] or [b] and [c]");
  const Expr& e = condition_of(*cfg);
  ASSERT_EQ(e.kind, Expr::Kind::Or);
  EXPECT_EQ(e.children[0]->kind, Expr::Kind::Truthy);
  EXPECT_EQ(e.children[1]->kind, Expr::Kind::And);
  auto left = parse_if("[a] and [b] or [c]");
  EXPECT_EQ(condition_of(*left).kind, Expr::Kind::Or);
  EXPECT_EQ(condition_of(*left).children[0]->kind, Expr::Kind::And);
  auto chain = parse_if("[a] and [b] and [c]");
  // Left-associative: (a and b) and c.
  EXPECT_EQ(condition_of(*chain).children[0]->kind, Expr::Kind::And);
  EXPECT_EQ(condition_of(*chain).children[1]->kind, Expr::Kind::Truthy);
  auto xn = parse_if("[a] xor [b] nand [c]");
  EXPECT_EQ(condition_of(*xn).kind, Expr::Kind::Xor);
  EXPECT_EQ(condition_of(*xn).children[1]->kind, Expr::Kind::Nand);
}

TEST(ConfigParser, NegationAndParentheses) {
  auto not_field = parse_if("![tags]");
  const Expr& n = condition_of(*not_field);
  EXPECT_EQ(n.kind, Expr::Kind::Not);
  EXPECT_EQ(n.children[0]->kind, Expr::Kind::FieldRef);
  auto grouped = parse_if("!([a] == 1 or [b] == 2) and ([c])");
  const Expr& g = condition_of(*grouped);
  ASSERT_EQ(g.kind, Expr::Kind::And);
  EXPECT_EQ(g.children[0]->kind, Expr::Kind::Not);
  EXPECT_EQ(g.children[0]->children[0]->kind, Expr::Kind::Or);
  EXPECT_EQ(g.children[1]->kind, Expr::Kind::Truthy);
  auto paren_first = parse_if("([a] or [b]) and [c]");
  EXPECT_EQ(condition_of(*paren_first).kind, Expr::Kind::And);
  EXPECT_EQ(condition_of(*paren_first).children[0]->kind, Expr::Kind::Or);
}

TEST(ConfigParser, FieldReferences) {
  auto cfg = parse_if("[@metadata][beat] == \"x\" and [a][b][c]");
  const Expr& e = condition_of(*cfg);
  EXPECT_EQ(e.children[0]->children[0]->text, "[@metadata][beat]");
  EXPECT_EQ(e.children[1]->children[0]->text, "[a][b][c]");
  auto spaced = parse_if("[field with space]");
  EXPECT_EQ(condition_of(*spaced).children[0]->text, "[field with space]");
}

TEST(ConfigParser, TruthyValues) {
  auto cfg = parse_if("[a]");
  const Expr& e = condition_of(*cfg);
  EXPECT_EQ(e.kind, Expr::Kind::Truthy);
  ASSERT_EQ(e.children.size(), 1u);
  EXPECT_EQ(e.children[0]->kind, Expr::Kind::FieldRef);
  auto str = parse_if("\"x\"");
  EXPECT_EQ(condition_of(*str).children[0]->kind, Expr::Kind::String);
}

TEST(ConfigParser, ConditionPositions) {
  PipelineConfig cfg = parse("filter {\n  if [a] == 1 and [b] {\n  }\n}");
  const Expr& e = condition_of(cfg);
  EXPECT_EQ(e.pos.str(), "test.conf:2:6");
  EXPECT_EQ(e.children[1]->pos.str(), "test.conf:2:19");
}

TEST(ConfigParser, ConditionalsInEverySection) {
  PipelineConfig cfg = parse(
      "input { if [x] { stdin {} } }\nfilter { if [x] { } }\noutput { if [x] { stdout {} } else { null {} } }");
  EXPECT_EQ(cfg.inputs[0].kind, Statement::Kind::If);
  EXPECT_EQ(cfg.filters[0].kind, Statement::Kind::If);
  EXPECT_EQ(cfg.outputs[0].branches.size(), 2u);
}

TEST(ConfigParser, PluginNamesStartingWithKeywords) {
  PipelineConfig cfg = parse("filter { iffy {} elsewhere {} }");
  ASSERT_EQ(cfg.filters.size(), 2u);
  EXPECT_EQ(cfg.filters[0].plugin->name, "iffy");
  EXPECT_EQ(cfg.filters[1].plugin->name, "elsewhere");
}

TEST(ConfigParser, AppendConfigJoinsSections) {
  PipelineConfig a = parse_config("input { a {} } filter { f {} }", "a.conf");
  PipelineConfig b = parse_config("input { b {} } output { o {} }", "b.conf");
  append_config(a, std::move(b));
  ASSERT_EQ(a.inputs.size(), 2u);
  EXPECT_EQ(a.inputs[1].plugin->name, "b");
  EXPECT_EQ(a.inputs[1].plugin->pos.file, "b.conf");
  EXPECT_EQ(a.filters.size(), 1u);
  EXPECT_EQ(a.outputs.size(), 1u);
}

}  // namespace
}  // namespace sluice::config
