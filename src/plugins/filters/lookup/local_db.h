// jdbc_static's local database: in-memory tables filled by the loaders, and the subset of SQL
// that local_lookups may use, answered from hash and range indexes instead of an embedded
// Derby. Supported lookup form (keywords and identifiers case-insensitive):
//   SELECT * | col [AS alias], ... FROM table [WHERE cond [AND cond]...]
//   cond:  col = :param | col = ? | col = 'text' | col = 123 | :param = col
//          :param BETWEEN lo_col AND hi_col      (IP addresses, numbers or text, compared by kind)
//          col BETWEEN :a AND :b
//          cidr_col >>= :param                   (a column of CIDR blocks "10.0.0.0/8" contains the IP)
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/value.h"

namespace sluice::lookup {

struct LocalColumn {
  std::string name;  // lower case
  std::string type;  // as declared, lower case ("varchar(64)", "int", ...)
};

struct LocalTableDef {
  std::string name;  // lower case
  std::vector<LocalColumn> columns;
  std::vector<std::string> index_columns;
  int column_index(const std::string& lower_name) const;
};

// A parse error in a local lookup query: `offset` is the byte in the query where it was found.
class LocalQueryError : public std::runtime_error {
 public:
  LocalQueryError(const std::string& message, size_t offset) : std::runtime_error(message), offset_(offset) {}
  size_t offset() const { return offset_; }

 private:
  size_t offset_;
};

struct Operand {
  enum class Kind { Column, Param, Literal };
  Kind kind = Kind::Literal;
  int column = -1;      // Column
  size_t param = 0;     // Param: index into LocalQuery::params
  std::string literal;  // Literal, as text
};

struct Condition {
  enum class Kind { Equals, Between, Contains };
  Kind kind = Kind::Equals;
  Operand a, b, c;  // Equals: a = b; Between: a BETWEEN b AND c; Contains: a (cidr column) >>= b
};

struct LocalQuery {
  const LocalTableDef* table = nullptr;
  std::vector<std::pair<int, std::string>> select;  // column, output name
  std::vector<Condition> conditions;
  std::vector<std::string> params;  // names (`?` placeholders are "1", "2", ... in order)
};

// Throws LocalQueryError.
LocalQuery parse_local_query(const std::string& sql, const std::vector<LocalTableDef>& tables);

// An ordering key for range conditions: IP addresses (v4 mapped into v6) order before numbers,
// numbers before text; the same kinds compare by value.
struct OrderKey {
  uint8_t kind = 2;  // 0 ip, 1 number, 2 text
  unsigned __int128 ip = 0;
  double number = 0;
  std::string text;
  static OrderKey of(std::string_view text);
  int compare(const OrderKey& o) const;
};
bool parse_ip(std::string_view text, unsigned __int128& out);
// "10.0.0.0/8" (or a bare address) as its first and last address.
bool parse_cidr(std::string_view text, unsigned __int128& lo, unsigned __int128& hi);

// The loaded tables with the indexes the lookups need; immutable once built (a reload builds
// a new one and swaps it in).
class LocalDatabase {
 public:
  explicit LocalDatabase(const std::vector<LocalTableDef>* defs);
  // Adds loaded rows: `columns` are the loader's result column names; values are coerced to
  // the declared column types. Returns the number of rows kept.
  size_t add_rows(const std::string& table, const std::vector<std::string>& columns,
                  std::vector<std::vector<Value>>&& rows);
  // Builds the indexes for these queries (call once, after all rows are added).
  void prepare(const std::vector<const LocalQuery*>& queries);
  // Runs a query with its parameter values (nullopt = missing); appends matching rows as objects.
  void run(const LocalQuery& query, const std::vector<std::optional<std::string>>& params, Array& out) const;
  size_t row_count(const std::string& table) const;

 private:
  struct Table {
    const LocalTableDef* def = nullptr;
    std::vector<std::vector<Value>> rows;
    std::vector<std::string> text;  // canonical text of every cell, rows * columns (for equality)
  };
  struct HashIndex {
    std::vector<int> columns;
    std::unordered_multimap<std::string, uint32_t> rows;
  };
  struct RangeIndex {
    struct Entry {
      OrderKey lo, hi;
      uint32_t row;
    };
    std::vector<Entry> entries;    // sorted by lo
    std::vector<size_t> max_hi;    // index of the entry with the greatest hi among 0..i
  };
  struct Plan {
    const HashIndex* hash = nullptr;
    std::vector<size_t> hash_conditions;  // condition index per hash column, in order
    const RangeIndex* range = nullptr;
    size_t range_condition = 0;
  };

  bool row_matches(const Table& t, uint32_t row, const LocalQuery& q, const std::vector<std::optional<std::string>>& params) const;
  static std::string_view operand_text(const Table& t, uint32_t row, const Operand& o,
                                       const std::vector<std::optional<std::string>>& params, bool& missing);

  const std::vector<LocalTableDef>* defs_;
  std::map<std::string, Table> tables_;
  std::vector<std::unique_ptr<HashIndex>> hash_indexes_;
  std::vector<std::unique_ptr<RangeIndex>> range_indexes_;
  std::map<const LocalQuery*, Plan> plans_;
};

}  // namespace sluice::lookup
