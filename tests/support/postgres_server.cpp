#include "support/postgres_server.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>

#include "plugins/filters/lookup/pg_client.h"

namespace sluice::test {
namespace {

const std::string kBin = "/usr/lib/postgresql/15/bin/";

void chown_postgres(const std::string& path) {
  struct passwd* pw = getpwnam("postgres");
  if (!pw) throw std::runtime_error("no `postgres` user on this machine (install postgresql-15)");
  if (::chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown " + path + " failed");
}

CommandResult as_postgres(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
  return run_command(argv, "", std::chrono::seconds(60));
}

lookup::PgSettings superuser(int port) {
  lookup::PgSettings s;
  s.connection_string = "host=127.0.0.1 port=" + std::to_string(port) + " dbname=postgres";
  s.user = PostgresServer::user();
  s.password = PostgresServer::password();
  return s;
}

}  // namespace

PostgresServer::PostgresServer() {
  ::chmod(dir_.path().c_str(), 0755);
  const std::string root = dir_.file("pg");
  std::filesystem::create_directory(root);
  chown_postgres(root);
  data_ = root + "/data";
  socket_dir_ = root;
  log_ = root + "/server.log";
  const std::string pwfile = root + "/pw";
  write_file(pwfile, password() + "\n");
  chown_postgres(pwfile);
  CommandResult init = as_postgres({kBin + "initdb", "-D", data_, "-U", user(), "--auth-local=trust",
                                    "--auth-host=scram-sha-256", "--pwfile=" + pwfile, "--no-sync", "-E", "UTF8",
                                    "--locale=C.UTF-8"});
  if (init.exit_code != 0) throw std::runtime_error("initdb failed: " + init.out + init.err);
  port_ = free_port();
  start();
}

PostgresServer::~PostgresServer() {
  if (running_) stop(true);
}

void PostgresServer::start() {
  const std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " + socket_dir_ +
                              " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
  CommandResult r = as_postgres({kBin + "pg_ctl", "-D", data_, "-l", log_, "-w", "-t", "60", "-o", options, "start"});
  if (r.exit_code != 0) throw std::runtime_error("pg_ctl start failed: " + r.out + r.err + read_file(log_));
  running_ = true;
}

void PostgresServer::stop(bool immediate) {
  as_postgres({kBin + "pg_ctl", "-D", data_, "-m", immediate ? "immediate" : "fast", "-w", "-t", "60", "stop"});
  running_ = false;
}

std::string PostgresServer::jdbc_url(const std::string& db) const {
  return "jdbc:postgresql://127.0.0.1:" + std::to_string(port_) + "/" + db;
}

void PostgresServer::exec(const std::string& sql) const {
  try {
    auto conn = lookup::PgConnection::connect(superuser(port_));
    conn->query(sql, {}, 30000);
  } catch (const lookup::PgError& e) {
    throw std::runtime_error(std::string("postgres: ") + e.what());
  }
}

std::string PostgresServer::query_value(const std::string& sql) const {
  try {
    auto conn = lookup::PgConnection::connect(superuser(port_));
    auto result = conn->query(sql, {}, 30000);
    if (result.rows.empty() || result.rows[0].empty()) return "";
    return result.rows[0][0].to_text();
  } catch (const lookup::PgError& e) {
    throw std::runtime_error(std::string("postgres: ") + e.what());
  }
}

}  // namespace sluice::test
