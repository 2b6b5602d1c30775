#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "plugins/inputs/file/line_splitter.h"

namespace sluice::file_input {
namespace {

struct Split {
  std::vector<std::string> lines;
  std::vector<size_t> ends;
  size_t consumed = 0;
};

Split split(const LineSplitter& splitter, std::string_view data, size_t resume = 0) {
  Split out;
  out.consumed = splitter.split(
      data,
      [&](std::string_view line, size_t end) {
        out.lines.emplace_back(line);
        out.ends.push_back(end);
        return true;
      },
      resume);
  return out;
}

TEST(InputLineSplitter, SplitsOnNewlineAndKeepsTheUnfinishedRest) {
  LineSplitter splitter("\n");
  Split s = split(splitter, "alpha\nbeta\n\ngamma");
  EXPECT_EQ(s.lines, (std::vector<std::string>{"alpha", "beta", ""}));
  EXPECT_EQ(s.ends, (std::vector<size_t>{6, 11, 12}));
  EXPECT_EQ(s.consumed, 12u);  // "gamma" waits for its delimiter
}

TEST(InputLineSplitter, NoDelimiterConsumesNothing) {
  LineSplitter splitter("\n");
  Split s = split(splitter, "no newline here");
  EXPECT_TRUE(s.lines.empty());
  EXPECT_EQ(s.consumed, 0u);
}

TEST(InputLineSplitter, KeepsCarriageReturnsAsLogstashDoes) {
  LineSplitter splitter("\n");
  Split s = split(splitter, "a\r\nb\r\n");
  EXPECT_EQ(s.lines, (std::vector<std::string>{"a\r", "b\r"}));
}

TEST(InputLineSplitter, MultiByteDelimiter) {
  LineSplitter splitter("\r\n");
  Split s = split(splitter, "one\r\ntwo\rstill two\r\nthree\r");
  EXPECT_EQ(s.lines, (std::vector<std::string>{"one", "two\rstill two"}));
  EXPECT_EQ(s.consumed, 20u);
}

TEST(InputLineSplitter, MultiByteDelimiterSplitAcrossReads) {
  // The first read ends inside the delimiter; the carried bytes are searched again.
  LineSplitter splitter("||");
  std::string carry = "first|";
  Split s1 = split(splitter, carry);
  EXPECT_TRUE(s1.lines.empty());
  std::string joined = carry + "|second||";
  Split s2 = split(splitter, joined, splitter.resume_point(carry.size()));
  EXPECT_EQ(s2.lines, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(s2.consumed, joined.size());
}

TEST(InputLineSplitter, ResumePointForSingleByteDelimiterSkipsTheCarry) {
  LineSplitter splitter("\n");
  EXPECT_EQ(splitter.resume_point(10), 10u);
  LineSplitter three("abc");
  EXPECT_EQ(three.resume_point(10), 8u);
  EXPECT_EQ(three.resume_point(1), 0u);
}

TEST(InputLineSplitter, StopsWhenTheCallbackSaysSo) {
  LineSplitter splitter("\n");
  std::vector<std::string> seen;
  size_t consumed = splitter.split("a\nb\nc\n", [&](std::string_view line, size_t) {
    seen.emplace_back(line);
    return seen.size() < 2;
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(consumed, 4u);
}

TEST(InputLineSplitter, EmptyDelimiterFallsBackToNewline) {
  LineSplitter splitter("");
  EXPECT_EQ(splitter.delimiter(), "\n");
}

TEST(InputLineSplitter, LargeBufferManyLines) {
  LineSplitter splitter("\n");
  std::string data;
  for (int i = 0; i < 10000; ++i) data += "line " + std::to_string(i) + "\n";
  Split s = split(splitter, data);
  ASSERT_EQ(s.lines.size(), 10000u);
  EXPECT_EQ(s.lines[9999], "line 9999");
  EXPECT_EQ(s.consumed, data.size());
}

}  // namespace
}  // namespace sluice::file_input
