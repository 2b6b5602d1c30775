// jdbc_static without a database: everything that is checked before the first load (the SQL
// subset of local lookups, tables, parameters, the schedule) fails at startup with a position.
#include <gtest/gtest.h>

#include "config/parser.h"
#include "parsers_test_support.h"
#include "test_support.h"

namespace sluice {
namespace {

std::string unreachable_url() { return "jdbc:postgresql://127.0.0.1:" + std::to_string(test::free_port()) + "/db"; }

std::string config_error(const std::string& body) {
  try {
    test::make_filter("jdbc_static", body);
  } catch (const config::ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not a ConfigError: ") + e.what();
  }
  return "no error";
}

const char* kObjects = R"cfg(
  local_db_objects => [ { name => "servers" columns => [["ip", "varchar(64)"], ["name", "varchar(64)"]] } ]
  loaders => [ { id => "l1" query => "select ip, name from servers" local_table => "servers" } ]
)cfg";

TEST(JdbcStaticConfig, UnsupportedLookupQueryIsAConfigErrorAtTheQuery) {
  std::string error = config_error("jdbc_connection_string => '" + unreachable_url() + "'\n" + kObjects +
                                   "local_lookups => [ {\n id => 'x'\n query => 'SELECT name FROM servers WHERE ip LIKE :ip'\n"
                                   " parameters => { ip => '[src]' } } ]");
  EXPECT_NE(error.find("test.conf:7:"), std::string::npos) << error;  // the line of `query`
  EXPECT_NE(error.find("local lookup `x`"), std::string::npos) << error;
  EXPECT_NE(error.find("at character 35"), std::string::npos) << error;
  EXPECT_NE(error.find("SELECT cols FROM table WHERE col = :param"), std::string::npos) << error;
}

TEST(JdbcStaticConfig, UnknownTableAndMissingParameter) {
  std::string unknown = config_error("jdbc_connection_string => '" + unreachable_url() + "'\n" + kObjects +
                                     "local_lookups => [ { query => 'SELECT name FROM hosts WHERE ip = :ip' "
                                     "parameters => { ip => '[src]' } } ]");
  EXPECT_NE(unknown.find("unknown local table `hosts`"), std::string::npos) << unknown;
  std::string missing = config_error("jdbc_connection_string => '" + unreachable_url() + "'\n" + kObjects +
                                     "local_lookups => [ { query => 'SELECT name FROM servers WHERE ip = :addr' "
                                     "parameters => { ip => '[src]' } } ]");
  EXPECT_NE(missing.find("uses `:addr`"), std::string::npos) << missing;
}

TEST(JdbcStaticConfig, LoaderForAnUndefinedTable) {
  std::string error = config_error("jdbc_connection_string => '" + unreachable_url() +
                                   "'\n loaders => [ { query => 'select 1' local_table => 'nope' } ]");
  EXPECT_NE(error.find("`nope`, which local_db_objects does not define"), std::string::npos) << error;
  EXPECT_NE(error.find("test.conf:2:"), std::string::npos) << error;
}

TEST(JdbcStaticConfig, BadScheduleAndNonPostgresUrl) {
  std::string schedule = config_error("jdbc_connection_string => '" + unreachable_url() + "'\n" + kObjects +
                                      "loader_schedule => '* * *'");
  EXPECT_NE(schedule.find("loader_schedule"), std::string::npos) << schedule;
  std::string mysql = config_error("jdbc_connection_string => 'jdbc:mysql://db:3306/x'");
  EXPECT_NE(mysql.find("only PostgreSQL is supported"), std::string::npos) << mysql;
}

TEST(JdbcStaticConfig, InitialLoadFailureStopsStartup) {
  std::string error = config_error("jdbc_connection_string => '" + unreachable_url() + "'\n" + kObjects +
                                   " jdbc_password => 'hunter2-secret' connect_timeout => 1");
  EXPECT_NE(error.find("initial load failed"), std::string::npos) << error;
  EXPECT_EQ(error.find("hunter2-secret"), std::string::npos) << error;
}

}  // namespace
}  // namespace sluice
