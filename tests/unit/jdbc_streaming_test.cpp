// jdbc_streaming and the PostgreSQL glue without a server: connection-string mapping, placeholder
// rewriting, value conversion, config errors, and a database that is down at startup.
#include <gtest/gtest.h>

#include "config/parser.h"
#include "parsers_test_support.h"
#include "plugins/filters/lookup/pg_client.h"
#include "test_support.h"

namespace sluice {
namespace {

using lookup::PgSettings;

std::string param(const std::vector<std::pair<std::string, std::string>>& params, const std::string& key) {
  for (auto& [k, v] : params)
    if (k == key) return v;
  return "<none>";
}

TEST(JdbcPostgres, MapsJdbcUrlsToLibpq) {
  PgSettings s;
  s.connection_string = "jdbc:postgresql://db.example:5433/assets?user=u1&ssl=true&ApplicationName=ls&foo=bar";
  s.password = "pw";
  std::vector<std::string> ignored;
  auto p = lookup::pg_connection_params(s, &ignored);
  EXPECT_EQ(param(p, "host"), "db.example");
  EXPECT_EQ(param(p, "port"), "5433");
  EXPECT_EQ(param(p, "dbname"), "assets");
  EXPECT_EQ(param(p, "user"), "u1");
  EXPECT_EQ(param(p, "password"), "pw");
  EXPECT_EQ(param(p, "sslmode"), "require");
  EXPECT_EQ(param(p, "application_name"), "ls");
  ASSERT_EQ(ignored.size(), 1u);
  EXPECT_EQ(ignored[0], "foo");

  s.connection_string = "jdbc:postgresql://[::1]/x";
  s.user = "explicit";
  p = lookup::pg_connection_params(s);
  EXPECT_EQ(param(p, "host"), "::1");
  EXPECT_EQ(param(p, "port"), "<none>");
  EXPECT_EQ(param(p, "user"), "explicit");

  s.connection_string = "host=h dbname=d";
  s.statement_timeout_ms = 1500;
  p = lookup::pg_connection_params(s);
  EXPECT_EQ(param(p, "dbname"), "host=h dbname=d");  // expanded by libpq
  EXPECT_EQ(param(p, "options"), "-c statement_timeout=1500");

  s.connection_string = "jdbc:oracle:thin:@h:1521:x";
  EXPECT_THROW(lookup::pg_connection_params(s), std::invalid_argument);
}

TEST(JdbcPostgres, RewritesPlaceholders) {
  std::vector<std::string> names;
  EXPECT_EQ(lookup::pg_named_to_positional("SELECT a::text FROM t WHERE x = :id AND y = ':no' AND z = :other OR w = :id",
                                           names),
            "SELECT a::text FROM t WHERE x = $1 AND y = ':no' AND z = $2 OR w = $1");
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[1], "other");
  size_t count = 0;
  EXPECT_EQ(lookup::pg_question_to_positional("SELECT '?' , ? , ?", count), "SELECT '?' , $1 , $2");
  EXPECT_EQ(count, 2u);
}

TEST(JdbcPostgres, ConvertsColumnValues) {
  EXPECT_EQ(lookup::pg_value(23, "42", 2), Value(int64_t(42)));
  EXPECT_EQ(lookup::pg_value(16, "t", 1), Value(true));
  EXPECT_EQ(lookup::pg_value(1700, "1.5", 3), Value(1.5));
  EXPECT_EQ(lookup::pg_value(25, "text", 4), Value("text"));
  Value ts = lookup::pg_value(1184, "2024-05-01 10:00:00.25+02", 25);
  ASSERT_TRUE(ts.is_timestamp());
  EXPECT_EQ(ts.as_timestamp(), Timestamp::from_seconds(1714550400, 250000000));
  Value plain = lookup::pg_value(1114, "2024-05-01 08:00:00", 19);  // no zone: UTC
  EXPECT_EQ(plain.as_timestamp(), Timestamp::from_seconds(1714550400));
}

std::string unreachable_url() { return "jdbc:postgresql://127.0.0.1:" + std::to_string(test::free_port()) + "/db"; }

std::string config_error(const std::string& body) {
  try {
    test::make_filter("jdbc_streaming", body);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(JdbcStreamingConfig, PlaceholdersMustHaveValues) {
  std::string missing = config_error("jdbc_connection_string => '" + unreachable_url() +
                                     "'\n statement => 'select 1 where x = :code' target => 't'");
  EXPECT_NE(missing.find("uses `:code`"), std::string::npos) << missing;
  EXPECT_NE(missing.find("test.conf:2:"), std::string::npos) << missing;
  std::string binds = config_error("jdbc_connection_string => '" + unreachable_url() +
                                   "' statement => 'select ? , ?' target => 't' use_prepared_statements => true "
                                   "prepared_statement_bind_values => ['[a]']");
  EXPECT_NE(binds.find("2 `?` placeholders but 1 bind values"), std::string::npos) << binds;
}

TEST(JdbcStreamingFilter, DatabaseDownTagsAndUsesDefaults) {
  auto filter = test::make_filter("jdbc_streaming",
                                  "jdbc_connection_string => '" + unreachable_url() +
                                      "' statement => 'select name from t where id = :id' parameters => { id => '[id]' }"
                                      " target => 'info' default_hash => { name => 'unknown' } connect_timeout => 1");
  auto event = test::event_with_message("x");
  event->set(FieldRef::of("id"), Value(int64_t(3)));
  test::TestFilterContext ctx;
  EXPECT_FALSE(filter->filter(*event, ctx));
  EXPECT_TRUE(event->has_tag("_jdbcstreamingfailure"));
  EXPECT_TRUE(event->has_tag("_jdbcstreamingdefaultsused"));
  EXPECT_EQ(test::field_text(*event, "[info][0][name]"), "unknown");
}

}  // namespace
}  // namespace sluice
