// The Lumberjack frame parser: frames split anywhere, compressed windows, v1 data frames, and
// hostile input (bad version/type, oversize frames, zip bombs, truncated compression) failing
// cleanly with a reason.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "plugins/inputs/beats/lumberjack.h"

namespace sluice::lumberjack {
namespace {

struct Recorder final : FrameHandler {
  std::vector<std::string> log;
  void on_window(uint8_t version, uint32_t size) override {
    log.push_back(std::string(1, char(version)) + "W" + std::to_string(size));
  }
  void on_json(uint8_t version, uint32_t sequence, std::string_view payload) override {
    log.push_back(std::string(1, char(version)) + "J" + std::to_string(sequence) + ":" + std::string(payload));
  }
  void on_data(uint8_t version, uint32_t sequence,
               const std::vector<std::pair<std::string_view, std::string_view>>& pairs) override {
    std::string entry = std::string(1, char(version)) + "D" + std::to_string(sequence) + ":";
    for (const auto& [k, v] : pairs) entry += std::string(k) + "=" + std::string(v) + ";";
    log.push_back(entry);
  }
};

std::string sample_window() {
  std::string frames;
  append_window(frames, 2);
  append_json(frames, 1, R"({"message":"one"})");
  append_json(frames, 2, R"({"message":"two"})");
  return frames;
}

const std::vector<std::string> kSampleLog = {"2W2", R"(2J1:{"message":"one"})", R"(2J2:{"message":"two"})"};

TEST(LumberjackParser, ParsesWindowAndJsonFrames) {
  FrameParser parser;
  Recorder rec;
  ASSERT_TRUE(parser.feed(sample_window(), rec));
  EXPECT_EQ(rec.log, kSampleLog);
  EXPECT_EQ(parser.buffered(), 0u);
}

TEST(LumberjackParser, FramesSplitAtEveryByteGiveTheSameResult) {
  std::string frames = sample_window();
  FrameParser parser;
  Recorder rec;
  for (char c : frames) ASSERT_TRUE(parser.feed(std::string_view(&c, 1), rec)) << parser.error();
  EXPECT_EQ(rec.log, kSampleLog);
  EXPECT_EQ(parser.buffered(), 0u);
}

TEST(LumberjackParser, CompressedWindowIsInflatedAndParsed) {
  std::string inner;
  append_json(inner, 1, R"({"message":"one"})");
  append_json(inner, 2, R"({"message":"two"})");
  std::string frames;
  append_window(frames, 2);
  append_compressed(frames, inner);
  for (size_t split : {size_t(1), size_t(7), frames.size() - 1}) {
    FrameParser parser;
    Recorder rec;
    ASSERT_TRUE(parser.feed(std::string_view(frames).substr(0, split), rec));
    ASSERT_TRUE(parser.feed(std::string_view(frames).substr(split), rec)) << parser.error();
    EXPECT_EQ(rec.log, kSampleLog) << "split at " << split;
  }
}

TEST(LumberjackParser, DataFramesOfVersionOne) {
  std::string frames;
  append_window(frames, 1, '1');
  append_data(frames, 1, {{"line", "hello"}, {"file", "/var/log/x"}}, '1');
  FrameParser parser;
  Recorder rec;
  ASSERT_TRUE(parser.feed(frames, rec));
  EXPECT_EQ(rec.log, (std::vector<std::string>{"1W1", "1D1:line=hello;file=/var/log/x;"}));
}

TEST(LumberjackParser, AckFrameEncoding) {
  std::string ack;
  append_ack(ack, '2', 0x01020304);
  EXPECT_EQ(ack, std::string("2A\x01\x02\x03\x04", 6));
}

TEST(LumberjackParser, UnknownVersionIsAnError) {
  FrameParser parser;
  Recorder rec;
  EXPECT_FALSE(parser.feed("3W\0\0\0\1", rec));
  EXPECT_NE(parser.error().find("version"), std::string::npos);
  EXPECT_TRUE(parser.failed());
  EXPECT_FALSE(parser.feed(sample_window(), rec)) << "a failed parser stays failed";
}

TEST(LumberjackParser, UnknownFrameTypeIsAnError) {
  FrameParser parser;
  Recorder rec;
  EXPECT_FALSE(parser.feed(std::string("2Z\0\0\0\0", 6), rec));
  EXPECT_NE(parser.error().find("unknown frame type 'Z'"), std::string::npos) << parser.error();
}

TEST(LumberjackParser, OversizeJsonFrameIsRejectedBeforeBuffering) {
  Limits limits;
  limits.max_frame_bytes = 1024;
  FrameParser parser(limits);
  Recorder rec;
  std::string header("2J\0\0\0\1\0\x10\0\0", 10);  // 1 MiB announced
  EXPECT_FALSE(parser.feed(header, rec));
  EXPECT_NE(parser.error().find("exceeds"), std::string::npos);
  EXPECT_LT(parser.buffered(), 64u);
}

TEST(LumberjackParser, DecompressionBombIsCapped) {
  Limits limits;
  limits.max_decompressed_bytes = 64 * 1024;
  std::string inner;
  append_json(inner, 1, std::string(1 << 20, 'a'));  // 1 MiB of 'a' compresses to ~1 KiB
  std::string frames;
  append_compressed(frames, inner, 9);
  ASSERT_LT(frames.size(), 8192u);
  FrameParser parser(limits);
  Recorder rec;
  EXPECT_FALSE(parser.feed(frames, rec));
  EXPECT_NE(parser.error().find("inflates beyond"), std::string::npos) << parser.error();
  EXPECT_TRUE(rec.log.empty());
}

TEST(LumberjackParser, CorruptCompressedFrameIsAnError) {
  std::string frames("2C\0\0\0\x08garbage!", 14);
  FrameParser parser;
  Recorder rec;
  EXPECT_FALSE(parser.feed(frames, rec));
  EXPECT_NE(parser.error().find("compressed frame"), std::string::npos) << parser.error();
}

TEST(LumberjackParser, CompressedFrameEndingInsideAFrameIsAnError) {
  std::string inner;
  append_json(inner, 1, R"({"a":1})");
  inner.resize(inner.size() - 2);
  std::string frames;
  append_compressed(frames, inner);
  FrameParser parser;
  Recorder rec;
  EXPECT_FALSE(parser.feed(frames, rec));
  EXPECT_NE(parser.error().find("ends inside a frame"), std::string::npos) << parser.error();
}

TEST(LumberjackParser, NestedCompressionBeyondTheLimitIsAnError) {
  std::string frames;
  append_json(frames, 1, R"({"a":1})");
  for (int level = 0; level < 4; ++level) {
    std::string wrapped;
    append_compressed(wrapped, frames);
    frames = wrapped;
  }
  FrameParser parser;
  Recorder rec;
  EXPECT_FALSE(parser.feed(frames, rec));
  EXPECT_NE(parser.error().find("nested"), std::string::npos) << parser.error();
}

TEST(LumberjackParser, DataFrameWithHugePairCountIsAnError) {
  FrameParser parser;
  Recorder rec;
  EXPECT_FALSE(parser.feed(std::string("1D\0\0\0\1\xff\xff\xff\xff", 10), rec));
  EXPECT_NE(parser.error().find("pairs"), std::string::npos) << parser.error();
}

}  // namespace
}  // namespace sluice::lumberjack
