// A PostgreSQL 15 server for tests: initdb into a temp dir (as the postgres user, since initdb
// refuses root), started with pg_ctl on 127.0.0.1 and a free port. Local socket logins are
// trusted; TCP logins need the superuser password (scram-sha-256), so wrong credentials can be
// tested. Stopped (and its files removed) on destruction.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "test_support.h"

namespace sluice::test {

class PostgresServer {
 public:
  // Throws std::runtime_error (with pg_ctl's output) when the server cannot be set up.
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;

  int port() const { return port_; }
  static std::string user() { return "postgres"; }
  static std::string password() { return "sluice-test-secret"; }
  // jdbc:postgresql://127.0.0.1:PORT/DB
  std::string jdbc_url(const std::string& db = "postgres") const;
  // Runs SQL (several statements allowed) as the superuser; throws std::runtime_error.
  void exec(const std::string& sql) const;
  // Runs one query and returns the first column of the first row ("" when none).
  std::string query_value(const std::string& sql) const;

  void stop(bool immediate = false);  // immediate: like a crash (no checkpoint)
  void start();
  bool running() const { return running_; }

 private:
  TempDir dir_;
  std::string data_, socket_dir_, log_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace sluice::test
