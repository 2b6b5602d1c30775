// PostgreSQL access for the jdbc_* filters (libpq): maps Logstash's JDBC connection strings to
// libpq, connects with a timeout, and runs parameterized statements with a client-side deadline
// (a server that stopped answering cannot hang a worker). Rows come back as event Values.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/value.h"
#include "runtime/options.h"

typedef struct pg_conn PGconn;

namespace sluice::lookup {

// The connection options jdbc_static and jdbc_streaming share (Logstash's jdbc_* names).
std::vector<OptionSpec> postgres_connection_options();

struct PgSettings {
  std::string connection_string;  // jdbc:postgresql://..., postgresql://..., or "host=... dbname=..."
  std::string user;
  std::string password;  // never logged
  int64_t connect_timeout_ms = 5000;
  int64_t statement_timeout_ms = 0;  // server-side statement_timeout; 0 = server default
};

// libpq keyword/value pairs for the settings. A `jdbc:postgresql://host[:port][/db][?k=v&...]` URL is
// taken apart (user, password, ssl/sslmode, connectTimeout, ApplicationName, currentSchema mapped;
// other JDBC properties are ignored and named in *ignored). Throws std::invalid_argument for a
// `jdbc:` URL of another database.
std::vector<std::pair<std::string, std::string>> pg_connection_params(const PgSettings& settings,
                                                                      std::vector<std::string>* ignored = nullptr);

class PgError : public std::runtime_error {
 public:
  PgError(const std::string& message, bool connection_lost, bool rejected_by_server = false)
      : std::runtime_error(message), connection_lost_(connection_lost), rejected_(rejected_by_server) {}
  // The connection cannot be used any more (dropped, timed out mid-query).
  bool connection_lost() const { return connection_lost_; }
  // At connect: the server answered and refused (credentials, unknown database): a config problem.
  bool rejected_by_server() const { return rejected_; }

 private:
  bool connection_lost_, rejected_;
};

struct PgResult {
  std::vector<std::string> columns;
  std::vector<std::vector<Value>> rows;
};

class PgConnection {
 public:
  // Throws PgError (message from the server, without the password).
  static std::unique_ptr<PgConnection> connect(const PgSettings& settings);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;

  // Runs `sql` ($1..$n placeholders) with text parameters (nullopt = NULL); at most max_rows rows are
  // kept (0 = all). Waits at most timeout_ms (0 = no client deadline). Throws PgError.
  PgResult query(const std::string& sql, const std::vector<std::optional<std::string>>& params, int64_t timeout_ms,
                 size_t max_rows = 0);
  // The same through a named prepared statement (prepared on this connection on first use).
  PgResult query_prepared(const std::string& name, const std::string& sql,
                          const std::vector<std::optional<std::string>>& params, int64_t timeout_ms,
                          size_t max_rows = 0);
  bool healthy() const;

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  PgResult collect(int64_t deadline_nanos, size_t max_rows);
  void wait_ready(int64_t deadline_nanos);
  [[noreturn]] void fail_lost(const std::string& what);

  PGconn* conn_ = nullptr;
  std::set<std::string> prepared_;
};

// Converts one text value of a column of type `oid` as Logstash's JDBC layer would show it:
// integers, floats/numerics, booleans, timestamps (UTC when the type has no zone), else strings.
Value pg_value(unsigned int oid, const char* text, size_t length);

// Rewrites `:name` placeholders (outside quotes; `::` casts are left alone) to $1..$n; `names`
// receives the parameter names in placeholder order (a name used twice gets one number).
std::string pg_named_to_positional(const std::string& sql, std::vector<std::string>& names);
// Rewrites `?` placeholders (outside quotes) to $1..$n; returns how many there were.
std::string pg_question_to_positional(const std::string& sql, size_t& count);

}  // namespace sluice::lookup
