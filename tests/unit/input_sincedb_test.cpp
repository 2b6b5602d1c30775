#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "plugins/inputs/file/durations.h"
#include "plugins/inputs/file/md5.h"
#include "plugins/inputs/file/sincedb.h"
#include "test_support.h"

namespace sluice::file_input {
namespace {

TEST(InputSincedb, ParsesLogstashSixColumnRecords) {
  size_t bad = 99;
  auto entries = parse_sincedb("1312456 0 2049 8422 1714550400.123456 /var/log/app.log\n", &bad);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(entries[0].key.inode, 1312456u);
  EXPECT_EQ(entries[0].key.dev_major, 0u);
  EXPECT_EQ(entries[0].key.dev_minor, 2049u);
  EXPECT_EQ(entries[0].position, 8422u);
  EXPECT_DOUBLE_EQ(entries[0].last_active, 1714550400.123456);
  EXPECT_EQ(entries[0].path, "/var/log/app.log");
}

TEST(InputSincedb, ParsesOldFourAndFiveColumnRecords) {
  auto entries = parse_sincedb("11 8 1 100\n12 8 1 200 1700000000.5\n");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].position, 100u);
  EXPECT_EQ(entries[0].last_active, 0);
  EXPECT_EQ(entries[0].path, "");
  EXPECT_EQ(entries[1].position, 200u);
  EXPECT_DOUBLE_EQ(entries[1].last_active, 1700000000.5);
  EXPECT_EQ(entries[1].path, "");
}

TEST(InputSincedb, PathMayHoldSpaces) {
  auto entries = parse_sincedb("5 0 1 7 1.0 /data/my logs/a b.log\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].path, "/data/my logs/a b.log");
}

TEST(InputSincedb, SkipsMalformedLinesAndCountsThem) {
  size_t bad = 0;
  auto entries = parse_sincedb("garbage\n1 2\n\n  \n9 0 1 x 1.0 /a\n3 0 1 4 nope /b\n7 0 1 8 2.0 /ok\r\n", &bad);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].key.inode, 7u);
  EXPECT_EQ(entries[0].path, "/ok");
  EXPECT_EQ(bad, 4u);
}

TEST(InputSincedb, FormatRoundTrips) {
  std::vector<SincedbEntry> entries = {
      {{100, 8, 3}, 4096, 1714550400.25, "/var/log/a.log"},
      {{101, 8, 3}, 0, 0, ""},
      {{102, 8, 3}, 12, 5.5, "/path with space/b.log"},
  };
  std::string text = format_sincedb(entries);
  EXPECT_EQ(text.substr(0, text.find('\n')), "100 8 3 4096 1714550400.250000 /var/log/a.log");
  auto back = parse_sincedb(text);
  ASSERT_EQ(back.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back[i].key, entries[i].key);
    EXPECT_EQ(back[i].position, entries[i].position);
    EXPECT_DOUBLE_EQ(back[i].last_active, entries[i].last_active);
    EXPECT_EQ(back[i].path, entries[i].path);
  }
}

TEST(InputSincedb, PathWithNewlineIsLeftOut) {
  std::string text = format_sincedb({{{1, 0, 1}, 10, 1.0, "/bad\nname"}});
  EXPECT_EQ(text, "1 0 1 10 1.000000\n");
}

TEST(InputSincedb, WritesAtomicallyAndReadsBack) {
  test::TempDir dir;
  std::string path = dir.file("sincedb");
  std::vector<SincedbEntry> entries = {{{42, 0, 5}, 1234, 1700000000.0, "/x.log"}};
  std::string error;
  ASSERT_TRUE(write_sincedb_file(path, entries, &error)) << error;
  std::vector<SincedbEntry> loaded;
  ASSERT_TRUE(read_sincedb_file(path, loaded, &error)) << error;
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].position, 1234u);
  // Overwrite: no temp file is left behind.
  entries[0].position = 5678;
  ASSERT_TRUE(write_sincedb_file(path, entries, &error, true)) << error;
  ASSERT_TRUE(read_sincedb_file(path, loaded, &error));
  EXPECT_EQ(loaded[0].position, 5678u);
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST(InputSincedb, MissingFileIsEmptyAndUnwritableDirFails) {
  test::TempDir dir;
  std::vector<SincedbEntry> loaded = {{{1, 1, 1}, 1, 1, "x"}};
  std::string error;
  EXPECT_TRUE(read_sincedb_file(dir.file("absent"), loaded, &error));
  EXPECT_TRUE(loaded.empty());
  EXPECT_FALSE(write_sincedb_file(dir.file("no/such/dir/sincedb"), {}, &error));
  EXPECT_NE(error.find("sincedb"), std::string::npos);
}

TEST(InputSincedb, NullPaths) {
  EXPECT_TRUE(is_null_sincedb_path("/dev/null"));
  EXPECT_TRUE(is_null_sincedb_path("NUL"));
  EXPECT_FALSE(is_null_sincedb_path("/var/lib/sincedb"));
}

TEST(InputSincedb, DefaultPathIsLogstashs) {
  // Logstash: <path.data>/plugins/inputs/file/.sincedb_ + md5 of the patterns joined by ",".
  EXPECT_EQ(default_sincedb_path("/data", {"/var/log/*.log", "/tmp/x"}),
            "/data/plugins/inputs/file/.sincedb_" + md5_hex("/var/log/*.log,/tmp/x"));
}

TEST(InputSincedb, Md5KnownVectors) {
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5_hex("The quick brown fox jumps over the lazy dog"), "9e107d9d372bb6826bd81d3542a419d6");
  // 56..64 bytes: the padding spills into a second block.
  EXPECT_EQ(md5_hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
            "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(InputDurations, NumbersAndFriendlyText) {
  EXPECT_DOUBLE_EQ(*parse_duration("15", 1), 15);
  EXPECT_DOUBLE_EQ(*parse_duration("0.5", 1), 0.5);
  EXPECT_DOUBLE_EQ(*parse_duration("500 ms", 1), 0.5);
  EXPECT_DOUBLE_EQ(*parse_duration("500ms", 1), 0.5);
  EXPECT_DOUBLE_EQ(*parse_duration("1 second", 1), 1);
  EXPECT_DOUBLE_EQ(*parse_duration("2 hours", 1), 7200);
  EXPECT_DOUBLE_EQ(*parse_duration("1 hour", 1), 3600);
  EXPECT_DOUBLE_EQ(*parse_duration("3 min", 1), 180);
  EXPECT_DOUBLE_EQ(*parse_duration("14 days", 86400), 14 * 86400);
  EXPECT_DOUBLE_EQ(*parse_duration("2 weeks", 86400), 14 * 86400);
  EXPECT_DOUBLE_EQ(*parse_duration("14", 86400), 14 * 86400);  // sincedb_clean_after: bare number = days
  EXPECT_DOUBLE_EQ(*parse_duration("250 us", 1), 0.00025);
}

TEST(InputDurations, RejectsGarbage) {
  EXPECT_FALSE(parse_duration("", 1));
  EXPECT_FALSE(parse_duration("soon", 1));
  EXPECT_FALSE(parse_duration("5 fortnights", 1));
  EXPECT_FALSE(parse_duration("-1", 1));
}

}  // namespace
}  // namespace sluice::file_input
