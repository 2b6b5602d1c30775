// Recursive-descent parser for Logstash's pipeline config language (the rules of its
// treetop grammar), producing the AST of config/ast.h with positions for every node.
#include "config/parser.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <glob.h>
#include <pcre2.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/lexer.h"
#include "grok/onig_translate.h"

namespace sluice::config {

namespace {

// Deeper nesting than this is certainly not a real config; refusing it keeps the stack bounded.
constexpr int kMaxDepth = 64;

class Parser {
 public:
  Parser(std::string_view text, const std::string& file_name, const ParseOptions& options)
      : s_(text, file_name), options_(options) {}

  PipelineConfig parse() {
    PipelineConfig out;
    s_.skip_space();
    while (!s_.at_end()) {
      parse_section(out);
      s_.skip_space();
    }
    return out;
  }

 private:
  class DepthGuard {
   public:
    explicit DepthGuard(Parser& p) : p_(p) {
      if (++p_.depth_ > kMaxDepth) p_.s_.fail("nesting too deep (more than " + std::to_string(kMaxDepth) + " levels)");
    }
    ~DepthGuard() { --p_.depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    Parser& p_;
  };

  // ---- sections and statements ----

  void parse_section(PipelineConfig& out) {
    size_t start = s_.offset();
    std::string_view word = s_.scan_name();
    if (word.empty()) s_.fail_expected({"`input`", "`filter`", "`output`"});
    StatementList* list = nullptr;
    if (word == "input") list = &out.inputs;
    else if (word == "filter") list = &out.filters;
    else if (word == "output") list = &out.outputs;
    else if (word == "if" || word == "else")
      s_.fail_at(start, "`" + std::string(word) + "` outside of a section: conditionals go inside input, filter or output");
    else
      s_.fail_at(start, "unknown section `" + std::string(word) + "`, expected one of `input`, `filter`, `output`");
    s_.skip_space();
    if (s_.peek() != '{') s_.fail_expected({"`{` after `" + std::string(word) + "`"});
    size_t open = s_.offset();
    s_.advance();
    parse_statements(*list, open, "section `" + std::string(word) + "`");
  }

  // Statements up to and including the closing `}` of the block opened at `open`.
  void parse_statements(StatementList& list, size_t open, const std::string& what) {
    DepthGuard guard(*this);
    for (;;) {
      s_.skip_space();
      if (s_.at_end())
        s_.fail_at(open, "unterminated block: the `{` of " + what + " is never closed (end of input reached)");
      if (s_.peek() == '}') {
        s_.advance();
        return;
      }
      if (s_.starts_with_word("if")) {
        parse_branch(list);
      } else if (s_.starts_with_word("else")) {
        s_.fail("`else` without `if`");
      } else {
        Statement st;
        st.kind = Statement::Kind::Plugin;
        st.plugin = parse_plugin_block();
        list.push_back(std::move(st));
      }
    }
  }

  // A plugin or option name: [A-Za-z0-9_-]+ or a quoted string.
  std::string parse_name(std::initializer_list<std::string_view> expected) {
    if (s_.peek() == '"' || s_.peek() == '\'') {
      Scanner::RawString raw = s_.scan_quoted();
      std::string written;
      return resolve_string(s_, raw, options_, written, /*substitute_env=*/false);
    }
    std::string_view name = s_.scan_name();
    if (name.empty()) s_.fail_expected(expected);
    return std::string(name);
  }

  std::shared_ptr<PluginBlock> parse_plugin_block() {
    auto block = std::make_shared<PluginBlock>();
    size_t start = s_.offset();
    block->pos = s_.position();
    block->name = parse_name({"a plugin name", "`if`", "`}`"});
    s_.skip_space();
    if (s_.peek() != '{') {
      if (s_.starts_with("=>"))
        s_.fail_at(start, "option `" + block->name + "` outside of a plugin block (expected a plugin name followed by `{`)");
      s_.fail_expected({"`{` after plugin name `" + block->name + "`"});
    }
    size_t open = s_.offset();
    s_.advance();
    parse_attributes(*block, open);
    return block;
  }

  // `name => value` ... up to and including the `}`.
  void parse_attributes(PluginBlock& block, size_t open) {
    DepthGuard guard(*this);
    for (;;) {
      s_.skip_space();
      if (s_.at_end())
        s_.fail_at(open, "unterminated block: the `{` of plugin `" + block.name +
                             "` is never closed (end of input reached)");
      if (s_.peek() == '}') {
        s_.advance();
        return;
      }
      Attribute attr;
      attr.pos = s_.position();
      attr.name = parse_name({"an option name", "`}`"});
      s_.skip_space();
      if (!s_.starts_with("=>")) {
        if (s_.peek() == '{')
          s_.fail("a plugin block cannot appear inside plugin `" + block.name +
                  "` (is a `}` missing before it, or `=>` after `" + attr.name + "`?)");
        s_.fail_expected({"`=>` after option name `" + attr.name + "`"});
      }
      s_.advance(2);
      s_.skip_space();
      attr.value = parse_value();
      block.attributes.push_back(std::move(attr));
      require_separator({"`}`", "whitespace before the next option"});
    }
  }

  // After a value: whitespace, a comment, or the closing bracket (Logstash needs whitespace
  // between options and hash entries).
  void require_separator(std::initializer_list<std::string_view> expected) {
    char c = s_.peek();
    if (s_.at_end() || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '#' || c == '}' || c == ',' || c == ']')
      return;
    s_.fail_expected(expected);
  }

  // ---- values ----

  ConfigValue parse_value() {
    DepthGuard guard(*this);
    ConfigValue v;
    v.pos = s_.position();
    char c = s_.peek();
    // A name (or string) followed by `{` is a plugin block: `codec => json { ... }`.
    if (is_name_char(c) || c == '"' || c == '\'') {
      size_t start = s_.offset();
      std::string name;
      if (c == '"' || c == '\'') {
        Scanner::RawString raw = s_.scan_quoted();
        std::string written;
        name = resolve_string(s_, raw, options_, written, /*substitute_env=*/false);
      } else {
        name = std::string(s_.scan_name());
      }
      s_.skip_space();
      if (s_.peek() == '{') {
        auto block = std::make_shared<PluginBlock>();
        block->pos = v.pos;
        block->name = name;
        size_t open = s_.offset();
        s_.advance();
        parse_attributes(*block, open);
        v.kind = ConfigValue::Kind::Plugin;
        v.text = name;
        v.plugin = std::move(block);
        return v;
      }
      s_.reset(start);
    }
    if (c == '"' || c == '\'') {
      Scanner::RawString raw = s_.scan_quoted();
      v.kind = ConfigValue::Kind::String;
      v.text = resolve_string(s_, raw, options_, v.written);
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      std::string_view num = s_.scan_number();
      if (num.empty()) s_.fail_expected({"a number"});
      fill_number(v, num);
      return v;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
      std::string_view word = s_.scan_bareword();
      if (word == "true" || word == "false") {
        v.kind = ConfigValue::Kind::Boolean;
        v.boolean = word == "true";
      } else {
        v.kind = ConfigValue::Kind::Bareword;
      }
      v.text = std::string(word);
      return v;
    }
    if (c == '[') return parse_array();
    if (c == '{') return parse_hash();
    s_.fail_expected({"a value (string, number, bareword, array, hash or plugin block)"});
  }

  static void fill_number(ConfigValue& v, std::string_view num) {
    v.kind = ConfigValue::Kind::Number;
    v.text = std::string(num);
    v.is_integer = num.find('.') == std::string_view::npos;
    double d = 0;
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), d);
    (void)ptr;
    // Out-of-range literals keep their text; the number saturates.
    if (ec == std::errc::result_out_of_range) d = num.starts_with('-') ? -1e308 : 1e308;
    v.number = d;
  }

  ConfigValue parse_array() {
    ConfigValue v;
    v.kind = ConfigValue::Kind::Array;
    v.pos = s_.position();
    size_t open = s_.offset();
    s_.advance();  // [
    for (;;) {
      s_.skip_space();
      if (s_.at_end()) s_.fail_at(open, "unterminated array: the `[` here is never closed (end of input reached)");
      if (s_.peek() == ']') {
        s_.advance();
        return v;
      }
      v.items.push_back(parse_value());
      s_.skip_space();
      if (s_.peek() == ',') {
        s_.advance();  // a trailing comma before `]` is accepted
      } else if (s_.peek() != ']') {
        if (s_.at_end()) s_.fail_at(open, "unterminated array: the `[` here is never closed (end of input reached)");
        s_.fail_expected({"`,`", "`]`"});
      }
    }
  }

  ConfigValue parse_hash() {
    ConfigValue v;
    v.kind = ConfigValue::Kind::Hash;
    v.pos = s_.position();
    size_t open = s_.offset();
    s_.advance();  // {
    for (;;) {
      s_.skip_space();
      if (s_.at_end()) s_.fail_at(open, "unterminated hash: the `{` here is never closed (end of input reached)");
      if (s_.peek() == '}') {
        s_.advance();
        return v;
      }
      ConfigValue key;
      key.pos = s_.position();
      size_t key_offset = s_.offset();
      char c = s_.peek();
      if (c == '"' || c == '\'') {
        Scanner::RawString raw = s_.scan_quoted();
        key.kind = ConfigValue::Kind::String;
        key.text = resolve_string(s_, raw, options_, key.written, /*substitute_env=*/false);
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        std::string_view num = s_.scan_number();
        if (num.empty()) s_.fail_expected({"a hash key (string, number or bareword)", "`}`"});
        fill_number(key, num);
      } else {
        std::string_view word = s_.scan_bareword();
        if (word.empty()) s_.fail_expected({"a hash key (string, number or bareword)", "`}`"});
        key.kind = ConfigValue::Kind::Bareword;
        key.text = std::string(word);
      }
      for (const auto& entry : v.entries)
        if (entry.first.text == key.text)
          s_.fail_at(key_offset, "duplicate key `" + key.display() + "` in hash");
      s_.skip_space();
      if (!s_.starts_with("=>")) s_.fail_expected({"`=>` after hash key `" + key.display() + "`"});
      s_.advance(2);
      s_.skip_space();
      ConfigValue value = parse_value();
      v.entries.emplace_back(std::move(key), std::move(value));
      require_separator({"`}`", "whitespace before the next hash entry"});
      s_.skip_space();
      if (s_.peek() == ',') s_.advance();  // sluice also accepts commas between entries
    }
  }

  // ---- conditions ----

  void parse_branch(StatementList& list) {
    Statement st;
    st.kind = Statement::Kind::If;
    {
      IfBranch branch;
      branch.pos = s_.position();
      s_.advance(2);  // if
      parse_conditional_body(branch, "`if`");
      st.branches.push_back(std::move(branch));
    }
    for (;;) {
      size_t before = s_.offset();
      s_.skip_space();
      if (!s_.starts_with("else")) {
        s_.reset(before);
        break;
      }
      IfBranch branch;
      branch.pos = s_.position();
      // `else if` (Logstash also accepts `elseif`) or a final `else`.
      size_t after_else = s_.offset() + 4;
      s_.reset(after_else);
      bool glued_if = s_.starts_with_word("if");
      if (is_name_char(s_.peek()) && !glued_if) {
        s_.reset(before);  // a plugin whose name starts with "else"
        break;
      }
      s_.skip_space();
      if (s_.starts_with_word("if")) {
        s_.advance(2);
        parse_conditional_body(branch, "`else if`");
        st.branches.push_back(std::move(branch));
        continue;
      }
      s_.skip_space();
      if (s_.peek() != '{') s_.fail_expected({"`{`", "`if` after `else`"});
      size_t open = s_.offset();
      s_.advance();
      parse_statements(branch.body, open, "`else`");
      st.branches.push_back(std::move(branch));
      break;
    }
    list.push_back(std::move(st));
  }

  void parse_conditional_body(IfBranch& branch, const std::string& what) {
    s_.skip_space();
    branch.condition = parse_condition();
    s_.skip_space();
    if (s_.peek() != '{') s_.fail_expected({"a boolean operator (`and`, `or`, `xor`, `nand`)", "`{` after the condition"});
    size_t open = s_.offset();
    s_.advance();
    parse_statements(branch.body, open, what);
  }

  // and/nand bind tighter than or/xor; each level is left-associative.
  std::unique_ptr<Expr> parse_condition() {
    DepthGuard guard(*this);
    auto left = parse_and();
    for (;;) {
      Expr::Kind kind;
      if (!peek_boolean_operator({{"or", Expr::Kind::Or}, {"xor", Expr::Kind::Xor}}, kind)) return left;
      left = binary(kind, std::move(left), parse_and());
    }
  }

  std::unique_ptr<Expr> parse_and() {
    auto left = parse_expression();
    for (;;) {
      Expr::Kind kind;
      if (!peek_boolean_operator({{"and", Expr::Kind::And}, {"nand", Expr::Kind::Nand}}, kind)) return left;
      left = binary(kind, std::move(left), parse_expression());
    }
  }

  // Consumes one of `ops` (and the space around it) when it comes next.
  bool peek_boolean_operator(std::initializer_list<std::pair<std::string_view, Expr::Kind>> ops, Expr::Kind& kind) {
    size_t before = s_.offset();
    s_.skip_space();
    for (const auto& [word, k] : ops) {
      if (s_.starts_with_word(word)) {
        s_.advance(word.size());
        s_.skip_space();
        kind = k;
        return true;
      }
    }
    s_.reset(before);
    return false;
  }

  static std::unique_ptr<Expr> binary(Expr::Kind kind, std::unique_ptr<Expr> left, std::unique_ptr<Expr> right) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = left->pos;
    e->children.push_back(std::move(left));
    e->children.push_back(std::move(right));
    return e;
  }

  std::unique_ptr<Expr> parse_expression() {
    DepthGuard guard(*this);
    s_.skip_space();
    Position pos = s_.position();
    if (s_.peek() == '(') {
      s_.advance();
      s_.skip_space();
      auto inner = parse_condition();
      s_.skip_space();
      if (s_.peek() != ')') s_.fail_expected({"a boolean operator (`and`, `or`, `xor`, `nand`)", "`)`"});
      s_.advance();
      return inner;
    }
    if (s_.peek() == '!') {
      s_.advance();
      s_.skip_space();
      auto e = std::make_unique<Expr>();
      e->kind = Expr::Kind::Not;
      e->pos = pos;
      if (s_.peek() == '(') {
        s_.advance();
        s_.skip_space();
        e->children.push_back(parse_condition());
        s_.skip_space();
        if (s_.peek() != ')') s_.fail_expected({"a boolean operator (`and`, `or`, `xor`, `nand`)", "`)`"});
        s_.advance();
        return e;
      }
      Position ref_pos = s_.position();
      std::string_view selector = s_.scan_selector();
      if (selector.empty()) s_.fail_expected({"`(`", "a field reference `[name]` after `!`"});
      e->children.push_back(leaf(Expr::Kind::FieldRef, ref_pos, std::string(selector)));
      return e;
    }

    auto left = parse_rvalue();
    size_t before = s_.offset();
    s_.skip_space();
    Expr::Kind kind;
    std::string_view op;
    if (s_.starts_with("==")) kind = Expr::Kind::Eq, op = "==";
    else if (s_.starts_with("!=")) kind = Expr::Kind::Ne, op = "!=";
    else if (s_.starts_with("<=")) kind = Expr::Kind::Le, op = "<=";
    else if (s_.starts_with(">=")) kind = Expr::Kind::Ge, op = ">=";
    else if (s_.starts_with("=~")) kind = Expr::Kind::Match, op = "=~";
    else if (s_.starts_with("!~")) kind = Expr::Kind::NotMatch, op = "!~";
    else if (s_.starts_with("<")) kind = Expr::Kind::Lt, op = "<";
    else if (s_.starts_with(">")) kind = Expr::Kind::Gt, op = ">";
    else if (s_.starts_with_word("in")) kind = Expr::Kind::In, op = "in";
    else if (s_.starts_with_word("not")) {
      size_t not_offset = s_.offset();
      s_.advance(3);
      s_.skip_space();
      if (!s_.starts_with_word("in")) {
        s_.reset(not_offset);
        s_.fail("expected `not in`, found " + s_.describe_here());
      }
      kind = Expr::Kind::NotIn;
      op = "in";  // only its length is used below
    } else {
      s_.reset(before);
      auto e = std::make_unique<Expr>();
      e->kind = Expr::Kind::Truthy;
      e->pos = pos;
      e->children.push_back(std::move(left));
      return e;
    }
    s_.advance(op.size());
    s_.skip_space();
    std::unique_ptr<Expr> right;
    if (kind == Expr::Kind::Match || kind == Expr::Kind::NotMatch) {
      Position rpos = s_.position();
      if (s_.peek() == '/') {
        right = parse_regexp();
      } else if (s_.peek() == '"' || s_.peek() == '\'') {
        // A string on the right of =~ is used as a regexp, as Logstash does.
        Scanner::RawString raw = s_.scan_quoted();
        std::string written;
        right = leaf(Expr::Kind::Regex, rpos, resolve_string(s_, raw, options_, written));
        check_regexp(right->text, rpos);
      } else {
        s_.fail_expected({"a regexp `/.../`", "a string after `" + std::string(op) + "`"});
      }
    } else {
      right = parse_rvalue();
    }
    auto e = binary(kind, std::move(left), std::move(right));
    e->pos = pos;
    return e;
  }

  static std::unique_ptr<Expr> leaf(Expr::Kind kind, const Position& pos, std::string text) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    e->text = std::move(text);
    return e;
  }

  std::unique_ptr<Expr> parse_rvalue() {
    s_.skip_space();
    Position pos = s_.position();
    char c = s_.peek();
    if (c == '"' || c == '\'') {
      Scanner::RawString raw = s_.scan_quoted();
      std::string written;
      return leaf(Expr::Kind::String, pos, resolve_string(s_, raw, options_, written));
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      std::string_view num = s_.scan_number();
      if (num.empty()) s_.fail_expected({"a number"});
      ConfigValue v;
      fill_number(v, num);
      auto e = leaf(Expr::Kind::Number, pos, v.text);
      e->number = v.number;
      return e;
    }
    if (c == '[') {
      // As in Logstash, `[x]` is a field reference; only `[a, b]` (or a non-name) is an array.
      std::string_view selector = s_.scan_selector();
      if (!selector.empty()) return leaf(Expr::Kind::FieldRef, pos, std::string(selector));
      ConfigValue array = parse_array();
      return array_expr(array);
    }
    if (c == '/') return parse_regexp();
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
      size_t start = s_.offset();
      std::string word(s_.scan_bareword());
      s_.skip_space();
      if (s_.peek() == '(') s_.fail_at(start, "method calls like `" + word + "(...)` are not supported in conditions");
      s_.reset(start);
    }
    s_.fail_expected({"a field reference `[name]`", "a string", "a number", "an array", "a regexp"});
  }

  std::unique_ptr<Expr> array_expr(const ConfigValue& v) {
    auto e = leaf(Expr::Kind::Array, v.pos, "");
    for (const ConfigValue& item : v.items) {
      switch (item.kind) {
        case ConfigValue::Kind::String:
        case ConfigValue::Kind::Bareword:
        case ConfigValue::Kind::Boolean:
          e->children.push_back(leaf(Expr::Kind::String, item.pos, item.text));
          break;
        case ConfigValue::Kind::Number: {
          auto n = leaf(Expr::Kind::Number, item.pos, item.text);
          n->number = item.number;
          e->children.push_back(std::move(n));
          break;
        }
        case ConfigValue::Kind::Array: e->children.push_back(array_expr(item)); break;
        default:
          throw ConfigError(item.pos, "hashes and plugin blocks are not supported in condition arrays");
      }
    }
    return e;
  }

  std::unique_ptr<Expr> parse_regexp() {
    Position pos = s_.position();
    std::string source(s_.scan_regexp());
    check_regexp(source, pos);
    return leaf(Expr::Kind::Regex, pos, std::move(source));
  }

  // A regexp that cannot compile is a config error, reported where it is written. Checked
  // the way the runtime compiles it: Oniguruma syntax translated to PCRE2, same flags.
  static void check_regexp(const std::string& source, const Position& pos) {
    std::string shown = source.size() > 60 ? source.substr(0, 57) + "..." : source;
    grok::TranslatedRegex translated;
    try {
      translated = grok::translate_onig(source);
    } catch (const std::exception& e) {
      throw ConfigError(pos, "invalid regexp /" + shown + "/: " + e.what());
    }
    uint32_t flags = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_MULTILINE;
    if (!translated.numbered_references) flags |= PCRE2_NO_AUTO_CAPTURE;
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.pcre.data()), translated.pcre.size(),
                                     flags, &error_code, &error_offset, nullptr);
    if (code) {
      pcre2_code_free(code);
      return;
    }
    PCRE2_UCHAR buffer[256];
    pcre2_get_error_message(error_code, buffer, sizeof buffer);
    throw ConfigError(pos, "invalid regexp /" + shown + "/: " + reinterpret_cast<const char*>(buffer));
  }

  Scanner s_;
  ParseOptions options_;
  int depth_ = 0;
};

void append_list(StatementList& into, StatementList&& more) {
  into.insert(into.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read config file " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw ConfigError("cannot read config file " + path);
  return ss.str();
}

// Editors' backup files (name~) are skipped, as Logstash does.
bool is_config_file(const std::filesystem::path& p) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) return false;
  std::string name = p.filename().string();
  return !name.empty() && name.back() != '~';
}

}  // namespace

PipelineConfig parse_config(std::string_view text, const std::string& file_name) {
  return parse_config(text, file_name, ParseOptions{});
}

PipelineConfig parse_config(std::string_view text, const std::string& file_name, const ParseOptions& options) {
  Parser parser(text, file_name, options);
  return parser.parse();
}

void append_config(PipelineConfig& into, PipelineConfig&& more) {
  append_list(into.inputs, std::move(more.inputs));
  append_list(into.filters, std::move(more.filters));
  append_list(into.outputs, std::move(more.outputs));
}

std::vector<std::string> expand_config_paths(const std::string& path_or_glob) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  if (path_or_glob.empty()) throw ConfigError("no config path given");
  if (fs::is_directory(path_or_glob, ec)) {
    for (const auto& entry : fs::directory_iterator(path_or_glob, ec))
      if (is_config_file(entry.path())) files.push_back(entry.path().string());
  } else if (fs::is_regular_file(path_or_glob, ec)) {
    files.push_back(path_or_glob);
  } else {
    glob_t g{};
    if (glob(path_or_glob.c_str(), GLOB_NOSORT, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i)
        if (is_config_file(g.gl_pathv[i])) files.emplace_back(g.gl_pathv[i]);
    }
    globfree(&g);
  }
  if (files.empty()) throw ConfigError("no config files found in path: " + path_or_glob);
  std::sort(files.begin(), files.end());
  return files;
}

PipelineConfig load_config_path(const std::string& path_or_glob) {
  return load_config_path(path_or_glob, ParseOptions{});
}

PipelineConfig load_config_path(const std::string& path_or_glob, const ParseOptions& options) {
  PipelineConfig all;
  // Each file is parsed on its own (a section cannot span files), then sections are joined in order.
  for (const std::string& file : expand_config_paths(path_or_glob))
    append_config(all, parse_config(read_whole_file(file), file, options));
  return all;
}

}  // namespace sluice::config
