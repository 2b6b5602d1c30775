// The lookup filters' shared pieces: the LRU cache with TTL, reconnect backoff, the cron subset
// of loader_schedule, and jdbc_static's SQL subset and in-memory tables.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "plugins/filters/lookup/backoff.h"
#include "plugins/filters/lookup/cron.h"
#include "plugins/filters/lookup/local_db.h"
#include "plugins/filters/lookup/lru_cache.h"

namespace sluice::lookup {
namespace {

constexpr int64_t kSecond = 1000000000;

TEST(LookupCache, HitMissAndOverwrite) {
  LruCache<int> cache(10, 0);
  int v = 0;
  EXPECT_FALSE(cache.get("a", v, 0));
  cache.put("a", 1, 0);
  ASSERT_TRUE(cache.get("a", v, 0));
  EXPECT_EQ(v, 1);
  cache.put("a", 2, 0);
  ASSERT_TRUE(cache.get("a", v, 0));
  EXPECT_EQ(v, 2);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(LookupCache, EvictsLeastRecentlyUsed) {
  LruCache<int> cache(3, 0);
  cache.put("a", 1, 0);
  cache.put("b", 2, 0);
  cache.put("c", 3, 0);
  int v;
  ASSERT_TRUE(cache.get("a", v, 0));  // a is now the most recent
  cache.put("d", 4, 0);               // evicts b
  EXPECT_FALSE(cache.get("b", v, 0));
  EXPECT_TRUE(cache.get("a", v, 0));
  EXPECT_TRUE(cache.get("c", v, 0));
  EXPECT_TRUE(cache.get("d", v, 0));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.evictions(), 1u);
}

TEST(LookupCache, BoundedWhenSharded) {
  LruCache<int> cache(2048, 0);
  for (int i = 0; i < 10000; ++i) cache.put("key" + std::to_string(i), i, 0);
  EXPECT_LE(cache.size(), 2048u);
  EXPECT_GE(cache.size(), 1500u);  // shards fill unevenly, but most of the room is used
}

TEST(LookupCache, ExpiresAfterTtl) {
  LruCache<int> cache(10, 5 * kSecond);
  cache.put("a", 1, 100 * kSecond);
  int v;
  EXPECT_TRUE(cache.get("a", v, 104 * kSecond));
  EXPECT_FALSE(cache.get("a", v, 105 * kSecond));
  EXPECT_EQ(cache.size(), 0u);  // the expired entry was dropped
}

TEST(LookupCache, ZeroCapacityDisables) {
  LruCache<int> cache(0, 0);
  cache.put("a", 1, 0);
  int v;
  EXPECT_FALSE(cache.enabled());
  EXPECT_FALSE(cache.get("a", v, 0));
}

TEST(LookupCache, ReplacedAndRemainingValuesAreReleased) {
  auto first = std::make_shared<int>(1), second = std::make_shared<int>(2);
  {
    LruCache<std::shared_ptr<int>> cache(1, 0);
    cache.put("a", first, 0);
    EXPECT_EQ(first.use_count(), 2);
    cache.put("b", second, 0);  // evicts a: its value is released at once
    EXPECT_EQ(first.use_count(), 1);
    EXPECT_EQ(second.use_count(), 2);
    EXPECT_EQ(cache.evictions(), 1u);
  }
  EXPECT_EQ(second.use_count(), 1);  // the cache's destructor released what it held
}

TEST(LookupCache, ClearEmptiesItAndItFillsAgain) {
  LruCache<std::string> cache(100, 0);
  for (int i = 0; i < 50; ++i) cache.put("key-" + std::to_string(i) + "-long-enough-for-the-heap", "v", 0);
  EXPECT_EQ(cache.size(), 50u);
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  std::string v;
  EXPECT_FALSE(cache.get("key-1-long-enough-for-the-heap", v, 0));
  cache.put("key-1-long-enough-for-the-heap", "again", 0);
  ASSERT_TRUE(cache.get("key-1-long-enough-for-the-heap", v, 0));
  EXPECT_EQ(v, "again");
}

TEST(LookupCache, AHashComputedOnceFindsTheSameEntries) {
  LruCache<int> cache(64, 0);
  const uint64_t hash = LruCache<int>::hash_of("10.1.2.3");
  cache.put("10.1.2.3", hash, 7, 0);
  int seen = 0;
  EXPECT_TRUE(cache.visit("10.1.2.3", 0, [&](const int& v) { seen = v; }));
  EXPECT_EQ(seen, 7);
  EXPECT_TRUE(cache.visit("10.1.2.3", hash, 0, [&](const int& v) { seen = v + 1; }));
  EXPECT_EQ(seen, 8);
}

TEST(LookupCache, ThreadsSharingItOnlyEverSeeTheValueStoredForTheKey) {
  LruCache<std::string> cache(4096, 0);  // sharded: 512 buckets over 16 locks
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&cache, &wrong, t] {
      uint64_t x = 0x9E3779B97F4A7C15ULL * uint64_t(t + 1);
      std::string value;
      for (int i = 0; i < 50000; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const std::string key = "key-" + std::to_string(x % 20000);  // more keys than room: evictions
        if (cache.visit(key, 0, [&](const std::string& v) { value = v; })) {
          if (value != "value-of-" + key) wrong.fetch_add(1);
        } else {
          cache.put(key, "value-of-" + key, 0);
        }
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(cache.size(), 4096u);
  EXPECT_GT(cache.evictions(), 0u);
}

long resident_kib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

TEST(LookupCache, ALargeCapacityCostsMemoryOnlyOnceUsed) {
  const long before = resident_kib();
  LruCache<std::string> cache(4000000, 0);  // ~200 MB of slots and 32 MB of buckets reserved
  cache.put("a", "1", 0);
  EXPECT_LT(resident_kib() - before, 8 * 1024) << "the reserved memory was touched up front";
  std::string v;
  EXPECT_TRUE(cache.get("a", v, 0));
}

TEST(LookupBackoff, DoublesUpToCeilingAndResets) {
  Backoff b(100, 1000);
  const int64_t t0 = 1000 * kSecond;
  EXPECT_TRUE(b.ready(t0));
  EXPECT_EQ(b.failed(t0), 100);
  EXPECT_FALSE(b.ready(t0 + 50 * 1000000));
  EXPECT_TRUE(b.ready(t0 + 100 * 1000000));
  EXPECT_EQ(b.failed(t0), 200);
  EXPECT_EQ(b.failed(t0), 400);
  EXPECT_EQ(b.failed(t0), 800);
  EXPECT_EQ(b.failed(t0), 1000);
  EXPECT_EQ(b.failed(t0), 1000);
  EXPECT_EQ(b.consecutive_failures(), 6u);
  b.succeeded();
  EXPECT_TRUE(b.ready(t0));
  EXPECT_EQ(b.failed(t0), 100);
}

TEST(LookupPool, ReusesAndBounds) {
  ConnectionPool<int> pool(1);
  EXPECT_EQ(pool.take(), nullptr);
  pool.give_back(std::make_unique<int>(7));
  pool.give_back(std::make_unique<int>(8));  // over max_idle: dropped
  auto one = pool.take();
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(*one, 7);
  EXPECT_EQ(pool.take(), nullptr);
}

int64_t utc(int y, int mo, int d, int h, int mi, int s) {
  struct tm tm {};
  tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d, tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = s;
  tm.tm_isdst = -1;
  return int64_t(mktime(&tm));  // local time, as the schedule uses
}

TEST(LookupCron, EveryThirtyMinutes) {
  std::string error;
  auto s = CronSchedule::parse("*/30 * * * *", &error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->next_after(utc(2024, 5, 1, 10, 0, 0)), utc(2024, 5, 1, 10, 30, 0));
  EXPECT_EQ(s->next_after(utc(2024, 5, 1, 10, 31, 5)), utc(2024, 5, 1, 11, 0, 0));
}

TEST(LookupCron, SecondsFieldListsRangesAndDays) {
  std::string error;
  auto every5s = CronSchedule::parse("*/5 * * * * *", &error);
  ASSERT_TRUE(every5s) << error;
  EXPECT_EQ(every5s->next_after(utc(2024, 5, 1, 10, 0, 3)), utc(2024, 5, 1, 10, 0, 5));
  auto daily = CronSchedule::parse("15 2,14 * * 1-5", &error);  // weekdays at 02:15 and 14:15
  ASSERT_TRUE(daily) << error;
  // 2024-05-04 is a Saturday: the next run is Monday 02:15.
  EXPECT_EQ(daily->next_after(utc(2024, 5, 3, 14, 15, 0)), utc(2024, 5, 6, 2, 15, 0));
  EXPECT_EQ(daily->next_after(utc(2024, 5, 6, 2, 15, 0)), utc(2024, 5, 6, 14, 15, 0));
  auto monthly = CronSchedule::parse("0 0 1 * *", &error);
  ASSERT_TRUE(monthly) << error;
  EXPECT_EQ(monthly->next_after(utc(2024, 5, 1, 0, 0, 0)), utc(2024, 6, 1, 0, 0, 0));
}

TEST(LookupCron, RejectsWhatItDoesNotSupport) {
  std::string error;
  EXPECT_FALSE(CronSchedule::parse("* * *", &error));
  EXPECT_NE(error.find("5 fields"), std::string::npos) << error;
  EXPECT_FALSE(CronSchedule::parse("0 0 * JAN *", &error));
  EXPECT_NE(error.find("JAN"), std::string::npos) << error;
  EXPECT_FALSE(CronSchedule::parse("61 * * * *", &error));
  EXPECT_NE(error.find("out of range"), std::string::npos) << error;
  EXPECT_FALSE(CronSchedule::parse("*/0 * * * *", &error));
}

// ---- jdbc_static's local tables ------------------------------------------------------------

std::vector<LocalTableDef> asset_tables() {
  LocalTableDef servers;
  servers.name = "servers";
  servers.columns = {{"ip", "varchar(64)"}, {"name", "varchar(64)"}, {"port", "int"}};
  LocalTableDef ranges;
  ranges.name = "ranges";
  ranges.columns = {{"lo", "varchar(64)"}, {"hi", "varchar(64)"}, {"owner", "varchar(64)"}, {"zone", "varchar(16)"}};
  LocalTableDef networks;
  networks.name = "networks";
  networks.columns = {{"cidr", "varchar(64)"}, {"site", "varchar(64)"}};
  return {servers, ranges, networks};
}

TEST(LocalQuery, ParsesTheSupportedForms) {
  auto tables = asset_tables();
  auto q = parse_local_query("SELECT name, port AS p FROM servers WHERE ip = :ip", tables);
  ASSERT_EQ(q.select.size(), 2u);
  EXPECT_EQ(q.select[1].second, "p");
  ASSERT_EQ(q.params.size(), 1u);
  EXPECT_EQ(q.params[0], "ip");
  auto star = parse_local_query("select * from SERVERS s where s.ip = ? and port = 22;", tables);
  EXPECT_EQ(star.select.size(), 3u);
  EXPECT_EQ(star.conditions.size(), 2u);
  EXPECT_EQ(star.params[0], "1");
  auto between = parse_local_query("SELECT owner, zone FROM ranges WHERE :ip BETWEEN lo AND hi", tables);
  EXPECT_EQ(between.conditions[0].kind, Condition::Kind::Between);
  auto contains = parse_local_query("SELECT site FROM networks WHERE cidr >>= :ip", tables);
  EXPECT_EQ(contains.conditions[0].kind, Condition::Kind::Contains);
}

TEST(LocalQuery, ErrorsSayWhatAndWhere) {
  auto tables = asset_tables();
  auto error_of = [&](const std::string& sql) -> std::pair<std::string, size_t> {
    try {
      parse_local_query(sql, tables);
    } catch (const LocalQueryError& e) {
      return {e.what(), e.offset()};
    }
    return {"", 0};
  };
  auto [unknown_table, at1] = error_of("SELECT name FROM nowhere WHERE ip = :ip");
  EXPECT_NE(unknown_table.find("unknown local table `nowhere`"), std::string::npos) << unknown_table;
  EXPECT_EQ(at1, 17u);
  auto [unknown_column, at2] = error_of("SELECT nme FROM servers");
  EXPECT_NE(unknown_column.find("unknown column `nme`"), std::string::npos) << unknown_column;
  EXPECT_EQ(at2, 7u);
  auto [or_clause, at3] = error_of("SELECT name FROM servers WHERE ip = :ip OR port = 1");
  EXPECT_NE(or_clause.find("unsupported SQL"), std::string::npos) << or_clause;
  EXPECT_EQ(at3, 40u);
  auto [like, at4] = error_of("SELECT name FROM servers WHERE ip LIKE :ip");
  EXPECT_NE(like.find("LIKE"), std::string::npos) << like;
  EXPECT_FALSE(error_of("SELECT name FROM servers JOIN ranges").first.empty());
  EXPECT_FALSE(error_of("UPDATE servers SET name = 'x'").first.empty());
}

TEST(LocalDatabase, EqualityUsesIndexAndCoercesTypes) {
  auto tables = asset_tables();
  LocalDatabase db(&tables);
  std::vector<std::vector<Value>> rows;
  rows.push_back({Value("10.0.0.1"), Value("web"), Value("80")});
  rows.push_back({Value("10.0.0.2"), Value("db"), Value(int64_t(5432))});
  rows.push_back({Value("10.0.0.1"), Value("web-alt"), Value("8080")});
  EXPECT_EQ(db.add_rows("servers", {"IP", "name", "port"}, std::move(rows)), 3u);
  auto q = parse_local_query("SELECT name, port FROM servers WHERE ip = :ip", tables);
  db.prepare({&q});
  Array out;
  db.run(q, {std::string("10.0.0.1")}, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].as_object().find("name")->as_string(), "web");
  ASSERT_TRUE(out[0].as_object().find("port")->is_int());  // "80" into an int column
  EXPECT_EQ(out[0].as_object().find("port")->as_int(), 80);
  EXPECT_EQ(out[1].as_object().find("name")->as_string(), "web-alt");
  out.clear();
  db.run(q, {std::string("10.9.9.9")}, out);
  EXPECT_TRUE(out.empty());
  db.run(q, {std::nullopt}, out);
  EXPECT_TRUE(out.empty());
}

TEST(LocalDatabase, IpRangesBetweenWithOverlaps) {
  auto tables = asset_tables();
  LocalDatabase db(&tables);
  std::vector<std::vector<Value>> rows;
  rows.push_back({Value("10.0.0.0"), Value("10.255.255.255"), Value("corp"), Value("internal")});
  rows.push_back({Value("10.1.0.0"), Value("10.1.0.255"), Value("lab"), Value("lab")});
  rows.push_back({Value("192.168.1.0"), Value("192.168.1.127"), Value("office"), Value("wifi")});
  rows.push_back({Value("2001:db8::"), Value("2001:db8::ffff"), Value("v6"), Value("dmz")});
  db.add_rows("ranges", {"lo", "hi", "owner", "zone"}, std::move(rows));
  auto q = parse_local_query("SELECT owner, zone FROM ranges WHERE :ip BETWEEN lo AND hi", tables);
  db.prepare({&q});
  auto owners = [&](const std::string& ip) {
    Array out;
    db.run(q, {ip}, out);
    std::string s;
    for (auto& row : out) s += row.as_object().find("owner")->as_string() + ";";
    return s;
  };
  EXPECT_EQ(owners("10.1.0.7"), "corp;lab;");  // nested ranges: both, in table order
  EXPECT_EQ(owners("10.2.0.7"), "corp;");
  EXPECT_EQ(owners("192.168.1.127"), "office;");
  EXPECT_EQ(owners("192.168.1.128"), "");
  EXPECT_EQ(owners("2001:db8::10"), "v6;");
  EXPECT_EQ(owners("9.255.255.255"), "");
  EXPECT_EQ(owners("not an ip"), "");
}

TEST(LocalDatabase, CidrContainment) {
  auto tables = asset_tables();
  LocalDatabase db(&tables);
  std::vector<std::vector<Value>> rows;
  rows.push_back({Value("10.0.0.0/8"), Value("hq")});
  rows.push_back({Value("10.20.0.0/16"), Value("branch")});
  rows.push_back({Value("bogus"), Value("ignored")});
  db.add_rows("networks", {"cidr", "site"}, std::move(rows));
  auto q = parse_local_query("SELECT site FROM networks WHERE cidr >>= :ip", tables);
  db.prepare({&q});
  Array out;
  db.run(q, {std::string("10.20.3.4")}, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].as_object().find("site")->as_string(), "branch");
  out.clear();
  db.run(q, {std::string("11.0.0.1")}, out);
  EXPECT_TRUE(out.empty());
}

TEST(LocalDatabase, CidrParsing) {
  unsigned __int128 lo, hi, ip;
  ASSERT_TRUE(parse_cidr("192.168.0.0/24", lo, hi));
  ASSERT_TRUE(parse_ip("192.168.0.255", ip));
  EXPECT_TRUE(ip >= lo && ip <= hi);
  ASSERT_TRUE(parse_ip("192.168.1.0", ip));
  EXPECT_FALSE(ip >= lo && ip <= hi);
  EXPECT_FALSE(parse_cidr("10.0.0.0/33", lo, hi));
  EXPECT_TRUE(parse_cidr("::/0", lo, hi));
}

}  // namespace
}  // namespace sluice::lookup
