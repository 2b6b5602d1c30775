#include "plugins/filters/lookup/pg_client.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "plugins/filters/lookup/lru_cache.h"

namespace sluice::lookup {
namespace {

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int value = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + std::min(s.size(), i + 3), value, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out.push_back(char(value));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

// "YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]]" (PostgreSQL's ISO output); false when not in that shape.
bool parse_pg_timestamp(std::string_view s, Timestamp& out) {
  auto num = [&](size_t pos, size_t len, int& v) {
    if (pos + len > s.size()) return false;
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, v);
    return ec == std::errc() && p == s.data() + pos + len;
  };
  int y, mo, d, h, mi, sec;
  if (s.size() < 19 || !num(0, 4, y) || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' || !num(8, 2, d) ||
      (s[10] != ' ' && s[10] != 'T') || !num(11, 2, h) || !num(14, 2, mi) || !num(17, 2, sec))
    return false;
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    int64_t scale = 100000000;
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, scale /= 10) nanos += (s[pos] - '0') * scale;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0, os = 0;
    const int sign = s[pos] == '-' ? -1 : 1;
    if (!num(pos + 1, 2, oh)) return false;
    if (pos + 3 < s.size() && s[pos + 3] == ':' && !num(pos + 4, 2, om)) return false;
    if (pos + 6 < s.size() && s[pos + 6] == ':' && !num(pos + 7, 2, os)) return false;
    offset = sign * (oh * 3600 + om * 60 + os);
  }
  const int64_t seconds = days_from_civil(y, unsigned(mo), unsigned(d)) * 86400 + h * 3600 + mi * 60 + sec - offset;
  out = Timestamp::from_seconds(seconds, nanos);
  return true;
}

std::string trim_message(const char* message) {
  std::string m = message ? message : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> pg_connection_params(const PgSettings& settings,
                                                                      std::vector<std::string>* ignored) {
  std::vector<std::pair<std::string, std::string>> params;
  const std::string& cs = settings.connection_string;
  std::string user = settings.user, password = settings.password;
  if (cs.rfind("jdbc:", 0) == 0) {
    static const std::string prefix = "jdbc:postgresql:";
    if (cs.rfind(prefix, 0) != 0)
      throw std::invalid_argument("only PostgreSQL is supported: expected jdbc:postgresql://host:port/database");
    std::string_view rest(cs);
    rest.remove_prefix(prefix.size());
    std::string_view query;
    if (auto q = rest.find('?'); q != std::string_view::npos) {
      query = rest.substr(q + 1);
      rest = rest.substr(0, q);
    }
    std::string host = "localhost", port, db;
    if (rest.rfind("//", 0) == 0) {
      rest.remove_prefix(2);
      auto slash = rest.find('/');
      std::string_view hostport = rest.substr(0, slash);
      db = slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1));
      if (!hostport.empty()) {
        if (hostport.front() == '[') {  // [ipv6]:port
          auto close = hostport.find(']');
          host = std::string(hostport.substr(1, close - 1));
          if (close + 1 < hostport.size() && hostport[close + 1] == ':') port = std::string(hostport.substr(close + 2));
        } else if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
          host = std::string(hostport.substr(0, colon));
          port = std::string(hostport.substr(colon + 1));
        } else {
          host = std::string(hostport);
        }
      }
    } else {
      db = std::string(rest);  // jdbc:postgresql:database
    }
    params.emplace_back("host", host);
    if (!port.empty()) params.emplace_back("port", port);
    if (!db.empty()) params.emplace_back("dbname", percent_decode(db));
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      auto eq = pair.find('=');
      std::string key(pair.substr(0, eq));
      std::string value = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
      if (key == "user") {
        if (user.empty()) user = value;
      } else if (key == "password") {
        if (password.empty()) password = value;
      } else if (key == "sslmode") {
        params.emplace_back("sslmode", value);
      } else if (key == "ssl") {
        if (value == "true" || value.empty()) params.emplace_back("sslmode", "require");
      } else if (key == "connectTimeout") {
        params.emplace_back("connect_timeout", value);
      } else if (key == "ApplicationName") {
        params.emplace_back("application_name", value);
      } else if (key == "currentSchema") {
        params.emplace_back("options", "-c search_path=" + value);
      } else if (ignored) {
        ignored->push_back(key);
      }
    }
  } else {
    // A libpq conninfo or postgresql:// URI: libpq expands it from `dbname`.
    params.emplace_back("dbname", cs);
  }
  if (!user.empty()) params.emplace_back("user", user);
  if (!password.empty()) params.emplace_back("password", password);
  bool has_timeout = false, has_app = false;
  for (auto& [k, v] : params) has_timeout |= k == "connect_timeout", has_app |= k == "application_name";
  if (!has_timeout)
    params.emplace_back("connect_timeout", std::to_string(std::max<int64_t>(1, (settings.connect_timeout_ms + 999) / 1000)));
  if (!has_app) params.emplace_back("application_name", "sluice");
  if (settings.statement_timeout_ms > 0) {
    std::string opt = "-c statement_timeout=" + std::to_string(settings.statement_timeout_ms);
    bool merged = false;
    for (auto& [k, v] : params)
      if (k == "options") v += " " + opt, merged = true;
    if (!merged) params.emplace_back("options", opt);
  }
  return params;
}

std::unique_ptr<PgConnection> PgConnection::connect(const PgSettings& settings) {
  auto params = pg_connection_params(settings);
  std::vector<const char*> keys, values;
  for (auto& [k, v] : params) keys.push_back(k.c_str()), values.push_back(v.c_str());
  keys.push_back(nullptr), values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 1);
  if (!conn) throw PgError("out of memory", true);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = trim_message(PQerrorMessage(conn));
    PQfinish(conn);
    // The server answered and refused (FATAL): credentials, database, pg_hba; not a passing outage.
    bool rejected = message.find("FATAL:") != std::string::npos &&
                    message.find("starting up") == std::string::npos &&
                    message.find("shutting down") == std::string::npos &&
                    message.find("recovery mode") == std::string::npos;
    if (!settings.password.empty()) {  // libpq never echoes it, but be sure
      for (size_t p; (p = message.find(settings.password)) != std::string::npos;) message.replace(p, settings.password.size(), "***");
    }
    throw PgError(message, true, rejected);
  }
  PQsetnonblocking(conn, 0);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() {
  if (conn_) PQfinish(conn_);
}

bool PgConnection::healthy() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

void PgConnection::fail_lost(const std::string& what) {
  std::string message = what + ": " + trim_message(PQerrorMessage(conn_));
  PQfinish(conn_);
  conn_ = nullptr;
  throw PgError(message, true);
}

void PgConnection::wait_ready(int64_t deadline_nanos) {
  while (PQisBusy(conn_)) {
    int timeout = -1;
    if (deadline_nanos > 0) {
      const int64_t left = deadline_nanos - monotonic_nanos();
      if (left <= 0) {
        // Ask the server to stop the statement, then drop the connection: its state is unknown.
        if (PGcancel* cancel = PQgetCancel(conn_)) {
          char buffer[256];
          PQcancel(cancel, buffer, sizeof buffer);
          PQfreeCancel(cancel);
        }
        PQfinish(conn_);
        conn_ = nullptr;
        throw PgError("query timed out", true);
      }
      timeout = int(std::min<int64_t>(left / 1000000 + 1, 60000));
    }
    pollfd pfd{PQsocket(conn_), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, timeout);
    if (ready < 0 && errno != EINTR) fail_lost("poll failed");
    if (ready > 0 && !PQconsumeInput(conn_)) fail_lost("connection lost");
  }
}

PgResult PgConnection::collect(int64_t deadline_nanos, size_t max_rows) {
  PgResult out;
  std::string error;
  for (;;) {
    wait_ready(deadline_nanos);
    PGresult* res = PQgetResult(conn_);
    if (!res) break;
    const ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_TUPLES_OK && error.empty()) {
      const int ncols = PQnfields(res), nrows = PQntuples(res);
      out.columns.clear();
      for (int c = 0; c < ncols; ++c) out.columns.emplace_back(PQfname(res, c));
      const size_t keep = max_rows ? std::min<size_t>(max_rows, size_t(nrows)) : size_t(nrows);
      out.rows.resize(keep);
      for (size_t r = 0; r < keep; ++r) {
        auto& row = out.rows[r];
        row.resize(size_t(ncols));
        for (int c = 0; c < ncols; ++c) {
          if (PQgetisnull(res, int(r), c)) continue;
          row[size_t(c)] = pg_value(PQftype(res, c), PQgetvalue(res, int(r), c), size_t(PQgetlength(res, int(r), c)));
        }
      }
    } else if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && error.empty()) {
      error = trim_message(PQresultErrorMessage(res));
    }
    PQclear(res);
  }
  if (PQstatus(conn_) != CONNECTION_OK) fail_lost("connection lost");
  if (!error.empty()) throw PgError(error, false);
  return out;
}

PgResult PgConnection::query(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                             int64_t timeout_ms, size_t max_rows) {
  if (!conn_) throw PgError("not connected", true);
  const int64_t deadline = timeout_ms > 0 ? monotonic_nanos() + timeout_ms * 1000000 : 0;
  std::vector<const char*> values;
  for (auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  // Without parameters the simple protocol is used, which also allows several statements.
  const int sent = values.empty() ? PQsendQuery(conn_, sql.c_str())
                                  : PQsendQueryParams(conn_, sql.c_str(), int(values.size()), nullptr, values.data(),
                                                      nullptr, nullptr, 0);
  if (!sent) {
    if (PQstatus(conn_) != CONNECTION_OK) fail_lost("send failed");
    throw PgError(trim_message(PQerrorMessage(conn_)), false);
  }
  return collect(deadline, max_rows);
}

PgResult PgConnection::query_prepared(const std::string& name, const std::string& sql,
                                      const std::vector<std::optional<std::string>>& params, int64_t timeout_ms,
                                      size_t max_rows) {
  if (!conn_) throw PgError("not connected", true);
  const int64_t deadline = timeout_ms > 0 ? monotonic_nanos() + timeout_ms * 1000000 : 0;
  if (!prepared_.count(name)) {
    if (!PQsendPrepare(conn_, name.c_str(), sql.c_str(), int(params.size()), nullptr)) fail_lost("send failed");
    collect(deadline, 0);
    prepared_.insert(name);
  }
  std::vector<const char*> values;
  for (auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  if (!PQsendQueryPrepared(conn_, name.c_str(), int(values.size()), values.data(), nullptr, nullptr, 0)) {
    if (PQstatus(conn_) != CONNECTION_OK) fail_lost("send failed");
    throw PgError(trim_message(PQerrorMessage(conn_)), false);
  }
  return collect(deadline, max_rows);
}

Value pg_value(unsigned int oid, const char* text, size_t length) {
  std::string_view s(text, length);
  switch (oid) {
    case 16: return Value(s == "t");  // bool
    case 20: case 21: case 23: case 26: {  // int8, int2, int4, oid
      int64_t v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && p == s.data() + s.size()) return Value(v);
      return Value(s);
    }
    case 700: case 701: case 1700: {  // float4, float8, numeric
      double v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && p == s.data() + s.size()) return Value(v);
      return Value(s);  // NaN, Infinity
    }
    case 1114: case 1184: {  // timestamp, timestamptz
      Timestamp ts;
      if (parse_pg_timestamp(s, ts)) return Value(ts);
      return Value(s);
    }
    default: return Value(s);
  }
}

namespace {

// Copies quoted text ('...', "...", $$...$$ not handled: rare in lookups) verbatim; returns the new index.
size_t copy_quoted(const std::string& sql, size_t i, std::string& out) {
  const char quote = sql[i];
  out.push_back(sql[i++]);
  while (i < sql.size()) {
    out.push_back(sql[i]);
    if (sql[i] == quote) {
      if (i + 1 < sql.size() && sql[i + 1] == quote) {
        out.push_back(sql[++i]);
      } else {
        return i + 1;
      }
    }
    ++i;
  }
  return i;
}

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

std::string pg_named_to_positional(const std::string& sql, std::vector<std::string>& names) {
  std::string out;
  names.clear();
  for (size_t i = 0; i < sql.size();) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      i = copy_quoted(sql, i, out);
    } else if (c == ':' && i + 1 < sql.size() && sql[i + 1] == ':') {
      out += "::";
      i += 2;
    } else if (c == ':' && i + 1 < sql.size() && ident_char(sql[i + 1]) && !std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      size_t j = i + 1;
      while (j < sql.size() && ident_char(sql[j])) ++j;
      std::string name = sql.substr(i + 1, j - i - 1);
      size_t index = 0;
      while (index < names.size() && names[index] != name) ++index;
      if (index == names.size()) names.push_back(name);
      out += "$" + std::to_string(index + 1);
      i = j;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

std::string pg_question_to_positional(const std::string& sql, size_t& count) {
  std::string out;
  count = 0;
  for (size_t i = 0; i < sql.size();) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      i = copy_quoted(sql, i, out);
    } else if (c == '?') {
      out += "$" + std::to_string(++count);
      ++i;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

std::vector<OptionSpec> postgres_connection_options() {
  OptionSpec connection = option_spec("jdbc_connection_string", OptionType::String, std::nullopt,
      "`jdbc:postgresql://host:port/database`, a `postgresql://` URI or a libpq conninfo string.");
  connection.required = true;
  return {
      connection,
      option_spec("jdbc_user", OptionType::String, std::nullopt, "The database user."),
      option_spec("jdbc_password", OptionType::Password, std::nullopt, "The user's password (never logged)."),
      option_spec("jdbc_driver_library", OptionType::String, std::nullopt, "Accepted for compatibility; ignored."),
      option_spec("jdbc_driver_class", OptionType::String, std::nullopt, "Accepted for compatibility; ignored."),
  };
}

}  // namespace sluice::lookup
