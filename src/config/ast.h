// The syntax tree of a Logstash pipeline config, with source positions for messages.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace sluice::config {

struct Position {
  std::string file;  // as given on the command line, or "config string"
  int line = 0;      // 1-based
  int column = 0;    // 1-based
  std::string str() const;  // "FILE:LINE:COL"
};

struct PluginBlock;

// An option value as written: `"str"`, `'str'`, 12, 1.5, bareword, true, [a, b], { k => v },
// or (for codec options) a plugin block `json { charset => "UTF-8" }`.
struct ConfigValue {
  enum class Kind { String, Number, Bareword, Boolean, Array, Hash, Plugin };
  Kind kind = Kind::String;
  Position pos;
  std::string text;         // String (escapes resolved, ${VAR} substituted), Bareword, Number as written
  // When `text` came from ${VAR} substitution: the string as written (with the ${VAR} form), which
  // messages show instead of `text` so that substituted secrets never reach a message or log.
  std::string written;
  const std::string& display() const { return written.empty() ? text : written; }
  double number = 0;        // Number
  bool is_integer = false;  // Number without fraction or exponent
  bool boolean = false;     // Boolean
  std::vector<ConfigValue> items;                             // Array
  std::vector<std::pair<ConfigValue, ConfigValue>> entries;   // Hash, in order written
  std::shared_ptr<PluginBlock> plugin;                        // Plugin

  // Defined out of line: `entries` holds pairs of this very type, which clang with libstdc++
  // cannot instantiate while the class is still incomplete.
  ConfigValue();
  ConfigValue(const ConfigValue&);
  ConfigValue(ConfigValue&&) noexcept;
  ConfigValue& operator=(const ConfigValue&);
  ConfigValue& operator=(ConfigValue&&) noexcept;
  ~ConfigValue();
};

struct Attribute {
  std::string name;
  Position pos;
  ConfigValue value;
};

struct PluginBlock {
  std::string name;
  Position pos;
  std::vector<Attribute> attributes;
};

// Conditional expressions.
struct Expr {
  enum class Kind {
    FieldRef,   // [a][b]
    String,     // "x"
    Number,     // 1, 2.5
    Regex,      // /re/
    Array,      // ["a", "b"] (right side of in)
    Not,        // ! e
    And, Or, Nand, Xor,
    Eq, Ne, Lt, Gt, Le, Ge,
    Match, NotMatch,  // =~ !~
    In, NotIn,
    Truthy,     // bare value used as a condition: children[0] is the value (FieldRef, String, ...)
  };
  // Operators have two children (left, right); Not and Truthy one; Array its items.
  // `and`/`nand` bind tighter than `or`/`xor`; each level is left-associative.
  Kind kind = Kind::Truthy;
  Position pos;
  std::string text;  // FieldRef text, String value, Number as written, Regex source
  double number = 0;
  std::vector<std::unique_ptr<Expr>> children;  // operands / array items
};

struct Statement;
using StatementList = std::vector<Statement>;

struct IfBranch {
  std::unique_ptr<Expr> condition;  // null for `else`
  Position pos;
  StatementList body;
};

struct Statement {
  enum class Kind { Plugin, If };
  Kind kind = Kind::Plugin;
  std::shared_ptr<PluginBlock> plugin;  // Kind::Plugin
  std::vector<IfBranch> branches;       // Kind::If: if, else if..., optional else
};

enum class SectionKind { Input, Filter, Output };

// A whole pipeline config: the sections of all its files, joined in order.
struct PipelineConfig {
  StatementList inputs, filters, outputs;
};

}  // namespace sluice::config
