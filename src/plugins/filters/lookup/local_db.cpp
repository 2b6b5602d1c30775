#include "plugins/filters/lookup/local_db.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace sluice::lookup {

int LocalTableDef::column_index(const std::string& lower_name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == lower_name) return int(i);
  return -1;
}

// ---- parsing -------------------------------------------------------------------------------

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Token {
  enum class Kind { Ident, String, Number, Param, Question, Symbol, End };
  Kind kind = Kind::End;
  std::string text;  // Ident: lower case; String: unquoted; Symbol: the symbol
  size_t offset = 0;
};

std::vector<Token> tokenize(const std::string& sql) {
  std::vector<Token> out;
  size_t i = 0;
  auto ident_start = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
  auto ident_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; };
  while (i < sql.size()) {
    const char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {  // comment to end of line
      while (i < sql.size() && sql[i] != '\n') ++i;
      continue;
    }
    Token t;
    t.offset = i;
    if (ident_start(c)) {
      size_t j = i;
      while (j < sql.size() && ident_char(sql[j])) ++j;
      t.kind = Token::Kind::Ident;
      t.text = lower(std::string_view(sql).substr(i, j - i));
      i = j;
    } else if (c == '"') {
      size_t j = sql.find('"', i + 1);
      if (j == std::string::npos) throw LocalQueryError("unterminated quoted identifier", i);
      t.kind = Token::Kind::Ident;
      t.text = lower(std::string_view(sql).substr(i + 1, j - i - 1));
      i = j + 1;
    } else if (c == '\'') {
      std::string text;
      size_t j = i + 1;
      for (;; ++j) {
        if (j >= sql.size()) throw LocalQueryError("unterminated string", i);
        if (sql[j] == '\'') {
          if (j + 1 < sql.size() && sql[j + 1] == '\'') {
            text.push_back('\'');
            ++j;
            continue;
          }
          break;
        }
        text.push_back(sql[j]);
      }
      t.kind = Token::Kind::String;
      t.text = std::move(text);
      i = j + 1;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || (c == '-' && i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1])))) {
      size_t j = i + 1;
      while (j < sql.size() && (std::isdigit(static_cast<unsigned char>(sql[j])) || sql[j] == '.')) ++j;
      t.kind = Token::Kind::Number;
      t.text = sql.substr(i, j - i);
      i = j;
    } else if (c == ':' && i + 1 < sql.size() && ident_start(sql[i + 1])) {
      size_t j = i + 1;
      while (j < sql.size() && ident_char(sql[j])) ++j;
      t.kind = Token::Kind::Param;
      t.text = sql.substr(i + 1, j - i - 1);
      i = j;
    } else if (c == '?') {
      t.kind = Token::Kind::Question;
      t.text = "?";
      ++i;
    } else if (sql.compare(i, 3, ">>=") == 0) {
      t.kind = Token::Kind::Symbol;
      t.text = ">>=";
      i += 3;
    } else if (std::strchr("*,=.;()", c)) {
      t.kind = Token::Kind::Symbol;
      t.text = std::string(1, c);
      ++i;
    } else {
      throw LocalQueryError(std::string("unexpected character `") + c + "`", i);
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.offset = sql.size();
  out.push_back(end);
  return out;
}

class Parser {
 public:
  Parser(const std::string& sql, const std::vector<LocalTableDef>& tables) : tokens_(tokenize(sql)), tables_(tables) {}

  LocalQuery parse() {
    LocalQuery q;
    expect_keyword("select");
    // The select list refers to the table named after FROM: remember it and resolve later.
    struct Item {
      std::string column, alias;
      size_t offset;
    };
    std::vector<Item> items;
    bool star = false;
    if (is_symbol("*")) {
      star = true;
      next();
    } else {
      for (;;) {
        const Token& t = peek();
        if (t.kind != Token::Kind::Ident) fail("expected a column name");
        Item item{qualified_name(), "", t.offset};
        if (is_keyword("as")) {
          next();
          if (peek().kind != Token::Kind::Ident) fail("expected an alias after AS");
          item.alias = next().text;
        } else if (peek().kind == Token::Kind::Ident && !is_keyword("from")) {
          item.alias = next().text;
        }
        items.push_back(item);
        if (!is_symbol(",")) break;
        next();
      }
    }
    expect_keyword("from");
    const Token& table_token = peek();
    if (table_token.kind != Token::Kind::Ident) fail("expected a table name");
    std::string table = next().text;
    if (is_symbol(".")) {  // schema.table: the local database has one schema
      next();
      table = next().text;
    }
    for (const auto& def : tables_)
      if (def.name == table) q.table = &def;
    if (!q.table) throw LocalQueryError("unknown local table `" + table + "` (not in local_db_objects)", table_token.offset);
    if (peek().kind == Token::Kind::Ident && !is_keyword("where")) alias_ = next().text;  // FROM t alias
    table_name_ = table;
    if (star) {
      for (size_t c = 0; c < q.table->columns.size(); ++c) q.select.emplace_back(int(c), q.table->columns[c].name);
    } else {
      for (const Item& item : items) {
        int c = q.table->column_index(item.column);
        if (c < 0) throw LocalQueryError("unknown column `" + item.column + "` in table `" + table + "`", item.offset);
        q.select.emplace_back(c, item.alias.empty() ? item.column : item.alias);
      }
    }
    if (is_keyword("where")) {
      next();
      for (;;) {
        q.conditions.push_back(condition(q));
        if (!is_keyword("and")) break;
        next();
      }
    }
    if (is_symbol(";")) next();
    if (peek().kind != Token::Kind::End)
      fail("unsupported SQL here: local lookups take SELECT ... FROM table [WHERE col = :param [AND ...]] "
           "(also `:param BETWEEN lo AND hi`, `cidr_col >>= :param`)");
    return q;
  }

 private:
  Condition condition(LocalQuery& q) {
    Condition c;
    const size_t start = peek().offset;
    c.a = operand(q);
    if (is_keyword("between")) {
      next();
      c.kind = Condition::Kind::Between;
      c.b = operand(q);
      expect_keyword("and");
      c.c = operand(q);
      const bool point_is_value = c.a.kind != Operand::Kind::Column;
      if (point_is_value && (c.b.kind != Operand::Kind::Column || c.c.kind != Operand::Kind::Column))
        throw LocalQueryError("BETWEEN needs a column on one side", start);
      if (!point_is_value && (c.b.kind == Operand::Kind::Column || c.c.kind == Operand::Kind::Column))
        throw LocalQueryError("column BETWEEN column is not supported", start);
    } else if (is_symbol("=")) {
      next();
      c.kind = Condition::Kind::Equals;
      c.b = operand(q);
      if (c.a.kind != Operand::Kind::Column) std::swap(c.a, c.b);
      if (c.a.kind != Operand::Kind::Column || c.b.kind == Operand::Kind::Column)
        throw LocalQueryError("an equality needs a column on one side and a parameter or constant on the other", start);
    } else if (is_symbol(">>=")) {
      next();
      c.kind = Condition::Kind::Contains;
      c.b = operand(q);
      if (c.a.kind != Operand::Kind::Column || c.b.kind == Operand::Kind::Column)
        throw LocalQueryError("`>>=` needs a CIDR column on the left and a parameter or constant on the right", start);
    } else {
      fail("expected `=`, BETWEEN or `>>=` (OR, LIKE, <, > and functions are not supported in local lookups)");
    }
    return c;
  }

  Operand operand(LocalQuery& q) {
    const Token& t = peek();
    Operand o;
    switch (t.kind) {
      case Token::Kind::Ident: {
        const size_t offset = t.offset;
        std::string name = qualified_name();
        o.kind = Operand::Kind::Column;
        o.column = q.table->column_index(name);
        if (o.column < 0) throw LocalQueryError("unknown column `" + name + "` in table `" + q.table->name + "`", offset);
        return o;
      }
      case Token::Kind::Param:
      case Token::Kind::Question: {
        std::string name = t.kind == Token::Kind::Param ? t.text : std::to_string(++questions_);
        next();
        o.kind = Operand::Kind::Param;
        auto it = std::find(q.params.begin(), q.params.end(), name);
        o.param = size_t(it - q.params.begin());
        if (it == q.params.end()) q.params.push_back(name);
        return o;
      }
      case Token::Kind::String:
      case Token::Kind::Number:
        o.kind = Operand::Kind::Literal;
        o.literal = next().text;
        return o;
      default: fail("expected a column, a :parameter or a constant");
    }
  }

  // col, table.col or alias.col (the qualifier must name the FROM table).
  std::string qualified_name() {
    std::string name = next().text;
    if (is_symbol(".")) {
      next();
      if (peek().kind != Token::Kind::Ident) fail("expected a column name after `.`");
      name = next().text;
    }
    return name;
  }

  const Token& peek() const { return tokens_[pos_]; }
  const Token& next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool is_keyword(const char* k) const { return peek().kind == Token::Kind::Ident && peek().text == k; }
  bool is_symbol(const char* s) const { return peek().kind == Token::Kind::Symbol && peek().text == s; }
  void expect_keyword(const char* k) {
    if (!is_keyword(k)) fail(std::string("expected ") + k);
    next();
  }
  [[noreturn]] void fail(const std::string& message) const {
    std::string got = peek().kind == Token::Kind::End ? "end of query" : "`" + peek().text + "`";
    throw LocalQueryError(message + ", got " + got, peek().offset);
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  const std::vector<LocalTableDef>& tables_;
  std::string alias_, table_name_;
  int questions_ = 0;
};

}  // namespace

LocalQuery parse_local_query(const std::string& sql, const std::vector<LocalTableDef>& tables) {
  return Parser(sql, tables).parse();
}

// ---- keys ----------------------------------------------------------------------------------

bool parse_ip(std::string_view text, unsigned __int128& out) {
  char buffer[64];
  if (text.empty() || text.size() >= sizeof buffer) return false;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = 0;
  unsigned char bytes[16];
  if (inet_pton(AF_INET, buffer, bytes) == 1) {
    out = (unsigned __int128)0xFFFF << 32;
    out |= (uint32_t(bytes[0]) << 24) | (uint32_t(bytes[1]) << 16) | (uint32_t(bytes[2]) << 8) | bytes[3];
    return true;
  }
  if (inet_pton(AF_INET6, buffer, bytes) == 1) {
    out = 0;
    for (unsigned char b : bytes) out = (out << 8) | b;
    return true;
  }
  return false;
}

bool parse_cidr(std::string_view text, unsigned __int128& lo, unsigned __int128& hi) {
  const size_t slash = text.find('/');
  unsigned __int128 base;
  if (!parse_ip(text.substr(0, slash), base)) return false;
  const bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  int bits = v4 ? 32 : 128;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (ec != std::errc() || p != digits.data() + digits.size() || bits < 0 || bits > (v4 ? 32 : 128)) return false;
  }
  const int host_bits = (v4 ? 32 : 128) - bits;
  const unsigned __int128 host_mask = host_bits == 128 ? ~(unsigned __int128)0 : (((unsigned __int128)1 << host_bits) - 1);
  lo = base & ~host_mask;
  hi = base | host_mask;
  if (v4) lo |= (unsigned __int128)0xFFFF << 32, hi = (hi & 0xFFFFFFFFu) | ((unsigned __int128)0xFFFF << 32);
  return true;
}

OrderKey OrderKey::of(std::string_view text) {
  OrderKey k;
  if (parse_ip(text, k.ip)) {
    k.kind = 0;
    return k;
  }
  double d;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (!text.empty() && ec == std::errc() && p == text.data() + text.size()) {
    k.kind = 1;
    k.number = d;
    return k;
  }
  k.kind = 2;
  k.text = std::string(text);
  return k;
}

int OrderKey::compare(const OrderKey& o) const {
  if (kind != o.kind) return kind < o.kind ? -1 : 1;
  switch (kind) {
    case 0: return ip < o.ip ? -1 : ip > o.ip ? 1 : 0;
    case 1: return number < o.number ? -1 : number > o.number ? 1 : 0;
    default: return text.compare(o.text) < 0 ? -1 : text == o.text ? 0 : 1;
  }
}

// ---- the database --------------------------------------------------------------------------

namespace {

Value coerce(Value v, const std::string& type) {
  if (v.is_null()) return v;
  auto starts = [&](const char* p) { return type.rfind(p, 0) == 0; };
  if (starts("char") || starts("varchar") || starts("text") || starts("clob") || starts("long varchar")) {
    if (!v.is_string()) return Value(v.to_text());
    return v;
  }
  if (starts("int") || starts("bigint") || starts("smallint")) {
    if (v.is_string()) {
      int64_t n;
      const std::string& s = v.as_string();
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (ec == std::errc() && p == s.data() + s.size()) return Value(n);
    } else if (v.is_float()) {
      return Value(int64_t(v.as_float()));
    }
    return v;
  }
  if (starts("decimal") || starts("numeric") || starts("float") || starts("double") || starts("real")) {
    if (v.is_int()) return Value(double(v.as_int()));
    if (v.is_string()) {
      double d;
      const std::string& s = v.as_string();
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (ec == std::errc() && p == s.data() + s.size()) return Value(d);
    }
    return v;
  }
  if (starts("bool")) {
    if (v.is_string()) return Value(v.as_string() == "true" || v.as_string() == "t" || v.as_string() == "1");
  }
  return v;
}

}  // namespace

LocalDatabase::LocalDatabase(const std::vector<LocalTableDef>* defs) : defs_(defs) {
  for (const auto& def : *defs_) tables_[def.name].def = &def;
}

size_t LocalDatabase::add_rows(const std::string& table, const std::vector<std::string>& columns,
                               std::vector<std::vector<Value>>&& rows) {
  Table& t = tables_.at(table);
  const size_t ncols = t.def->columns.size();
  std::vector<int> target(columns.size(), -1);
  for (size_t c = 0; c < columns.size(); ++c) target[c] = t.def->column_index(lower(columns[c]));
  for (auto& row : rows) {
    std::vector<Value> out(ncols);
    for (size_t c = 0; c < row.size() && c < target.size(); ++c)
      if (target[c] >= 0) out[size_t(target[c])] = coerce(std::move(row[c]), t.def->columns[size_t(target[c])].type);
    for (const Value& v : out) t.text.push_back(v.is_null() ? std::string() : v.to_text());
    t.rows.push_back(std::move(out));
  }
  return rows.size();
}

size_t LocalDatabase::row_count(const std::string& table) const {
  auto it = tables_.find(table);
  return it == tables_.end() ? 0 : it->second.rows.size();
}

void LocalDatabase::prepare(const std::vector<const LocalQuery*>& queries) {
  for (const LocalQuery* q : queries) {
    const Table& t = tables_.at(q->table->name);
    const size_t ncols = t.def->columns.size();
    Plan plan;
    // Equalities against a parameter or constant: one hash index on all their columns.
    std::vector<int> columns;
    for (size_t i = 0; i < q->conditions.size(); ++i) {
      const Condition& c = q->conditions[i];
      if (c.kind == Condition::Kind::Equals) {
        columns.push_back(c.a.column);
        plan.hash_conditions.push_back(i);
      }
    }
    if (!columns.empty()) {
      auto index = std::make_unique<HashIndex>();
      index->columns = columns;
      index->rows.reserve(t.rows.size());
      std::string key;
      for (uint32_t r = 0; r < t.rows.size(); ++r) {
        key.clear();
        for (int c : columns) key += t.text[r * ncols + size_t(c)], key += '\x1f';
        index->rows.emplace(key, r);
      }
      plan.hash = index.get();
      hash_indexes_.push_back(std::move(index));
    } else {
      // Otherwise a range condition on columns: a sorted interval index.
      for (size_t i = 0; i < q->conditions.size(); ++i) {
        const Condition& c = q->conditions[i];
        const bool point_range = c.kind == Condition::Kind::Between && c.a.kind != Operand::Kind::Column;
        if (!point_range && c.kind != Condition::Kind::Contains) continue;
        auto index = std::make_unique<RangeIndex>();
        for (uint32_t r = 0; r < t.rows.size(); ++r) {
          RangeIndex::Entry e;
          e.row = r;
          if (c.kind == Condition::Kind::Contains) {
            e.lo.kind = e.hi.kind = 0;
            if (!parse_cidr(t.text[r * ncols + size_t(c.a.column)], e.lo.ip, e.hi.ip)) continue;
          } else {
            e.lo = OrderKey::of(t.text[r * ncols + size_t(c.b.column)]);
            e.hi = OrderKey::of(t.text[r * ncols + size_t(c.c.column)]);
          }
          index->entries.push_back(std::move(e));
        }
        std::sort(index->entries.begin(), index->entries.end(),
                  [](const RangeIndex::Entry& x, const RangeIndex::Entry& y) { return x.lo.compare(y.lo) < 0; });
        index->max_hi.resize(index->entries.size());
        for (size_t k = 0; k < index->entries.size(); ++k) {
          index->max_hi[k] = k;
          if (k > 0 && index->entries[index->max_hi[k - 1]].hi.compare(index->entries[k].hi) > 0)
            index->max_hi[k] = index->max_hi[k - 1];
        }
        plan.range = index.get();
        plan.range_condition = i;
        range_indexes_.push_back(std::move(index));
        break;
      }
    }
    plans_[q] = plan;
  }
}

std::string_view LocalDatabase::operand_text(const Table& t, uint32_t row, const Operand& o,
                                             const std::vector<std::optional<std::string>>& params, bool& missing) {
  switch (o.kind) {
    case Operand::Kind::Column: return t.text[row * t.def->columns.size() + size_t(o.column)];
    case Operand::Kind::Param:
      if (o.param >= params.size() || !params[o.param]) {
        missing = true;
        return {};
      }
      return *params[o.param];
    case Operand::Kind::Literal: return o.literal;
  }
  return {};
}

bool LocalDatabase::row_matches(const Table& t, uint32_t row, const LocalQuery& q,
                                const std::vector<std::optional<std::string>>& params) const {
  for (const Condition& c : q.conditions) {
    bool missing = false;
    std::string_view a = operand_text(t, row, c.a, params, missing);
    std::string_view b = operand_text(t, row, c.b, params, missing);
    if (missing) return false;
    switch (c.kind) {
      case Condition::Kind::Equals:
        if (a != b) return false;
        break;
      case Condition::Kind::Between: {
        std::string_view hi = operand_text(t, row, c.c, params, missing);
        if (missing) return false;
        OrderKey point = OrderKey::of(a);
        if (point.compare(OrderKey::of(b)) < 0 || point.compare(OrderKey::of(hi)) > 0) return false;
        break;
      }
      case Condition::Kind::Contains: {
        unsigned __int128 lo, hi, ip;
        if (!parse_cidr(a, lo, hi) || !parse_ip(b, ip) || ip < lo || ip > hi) return false;
        break;
      }
    }
  }
  return true;
}

void LocalDatabase::run(const LocalQuery& query, const std::vector<std::optional<std::string>>& params, Array& out) const {
  const Table& t = tables_.at(query.table->name);
  auto plan_it = plans_.find(&query);
  const Plan* plan = plan_it == plans_.end() ? nullptr : &plan_it->second;
  thread_local std::vector<uint32_t> candidates;
  candidates.clear();
  if (plan && plan->hash) {
    thread_local std::string key;
    key.clear();
    for (size_t i : plan->hash_conditions) {
      bool missing = false;
      key += operand_text(t, 0, query.conditions[i].b, params, missing);
      if (missing) return;
      key += '\x1f';
    }
    auto [begin, end] = plan->hash->rows.equal_range(key);
    for (auto it = begin; it != end; ++it) candidates.push_back(it->second);
    std::sort(candidates.begin(), candidates.end());
  } else if (plan && plan->range) {
    const Condition& c = query.conditions[plan->range_condition];
    bool missing = false;
    std::string_view point_text = operand_text(t, 0, c.kind == Condition::Kind::Contains ? c.b : c.a, params, missing);
    if (missing) return;
    OrderKey point = OrderKey::of(point_text);
    const auto& entries = plan->range->entries;
    // Entries with lo <= point, scanned down while some earlier interval still reaches the point.
    size_t k = size_t(std::upper_bound(entries.begin(), entries.end(), point,
                                       [](const OrderKey& p, const RangeIndex::Entry& e) { return p.compare(e.lo) < 0; }) -
                      entries.begin());
    while (k > 0) {
      --k;
      if (entries[plan->range->max_hi[k]].hi.compare(point) < 0) break;
      if (entries[k].hi.compare(point) >= 0) candidates.push_back(entries[k].row);
    }
    std::sort(candidates.begin(), candidates.end());
  } else {
    for (uint32_t r = 0; r < t.rows.size(); ++r) candidates.push_back(r);
  }
  for (uint32_t r : candidates) {
    if (!row_matches(t, r, query, params)) continue;
    Object o;
    for (const auto& [column, name] : query.select) o[name] = t.rows[r][size_t(column)];
    out.emplace_back(std::move(o));
  }
}

}  // namespace sluice::lookup
