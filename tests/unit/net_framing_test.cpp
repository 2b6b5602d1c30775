// Newline and RFC 6587 framing: frames across chunk boundaries, caps on long frames.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "net/framing.h"

namespace sluice::net {
namespace {

using Frames = std::vector<std::pair<std::string, bool>>;

template <typename Framer>
Frames feed_in_pieces(Framer& framer, const std::string& data, size_t piece, bool finish = true) {
  Frames out;
  auto sink = [&](std::string_view f, bool t) { out.emplace_back(std::string(f), t); };
  for (size_t i = 0; i < data.size(); i += piece) framer.feed(std::string_view(data).substr(i, piece), sink);
  if (finish) framer.finish(sink);
  return out;
}

TEST(NetLineFramer, SplitsLinesAcrossAnyChunking) {
  const std::string data = "alpha\nbeta\n\ngamma";
  for (size_t piece : {1, 2, 3, 5, 100}) {
    LineFramer framer(1024);
    Frames frames = feed_in_pieces(framer, data, piece);
    ASSERT_EQ(frames.size(), 4u) << "piece " << piece;
    EXPECT_EQ(frames[0].first, "alpha");
    EXPECT_EQ(frames[1].first, "beta");
    EXPECT_EQ(frames[2].first, "");
    EXPECT_EQ(frames[3].first, "gamma");  // unterminated last line at close
    for (auto& f : frames) EXPECT_FALSE(f.second);
  }
}

TEST(NetLineFramer, LongLineIsCutThenSkippedUntilNewline) {
  for (size_t piece : {1, 4, 7, 1000}) {
    LineFramer framer(8);
    Frames frames = feed_in_pieces(framer, "0123456789abcdef\nok\n", piece);
    ASSERT_EQ(frames.size(), 2u) << "piece " << piece;
    EXPECT_EQ(frames[0].first, "01234567");
    EXPECT_TRUE(frames[0].second);
    EXPECT_EQ(frames[1].first, "ok");
    EXPECT_FALSE(frames[1].second);
  }
}

TEST(NetLineFramer, EndlessLineKeepsMemoryBounded) {
  LineFramer framer(1000);
  std::string chunk(4096, 'x');
  int frames = 0;
  for (int i = 0; i < 1000; ++i) {
    framer.feed(chunk, [&](std::string_view f, bool t) {
      ++frames;
      EXPECT_TRUE(t);
      EXPECT_EQ(f.size(), 1000u);
    });
    EXPECT_LE(framer.buffered(), 1000u);
  }
  EXPECT_EQ(frames, 1);  // cut once, the rest skipped
}

TEST(NetSyslogFramer, OctetCountedFramesInPieces) {
  const std::string a = "<34>1 2003-10-11T22:14:15.003Z host app - - - hello\nworld";  // LF inside the frame
  const std::string b = "<13>Oct 11 22:14:15 host prog: second";
  const std::string data = std::to_string(a.size()) + " " + a + std::to_string(b.size()) + " " + b;
  for (size_t piece : {1, 2, 3, 10, 1000}) {
    SyslogFramer framer(4096);
    Frames frames = feed_in_pieces(framer, data, piece);
    ASSERT_EQ(frames.size(), 2u) << "piece " << piece;
    EXPECT_EQ(frames[0].first, a);
    EXPECT_EQ(frames[1].first, b);
  }
}

TEST(NetSyslogFramer, NewlineFramingAndMixed) {
  const std::string data = "<13>Oct 11 22:14:15 host a: one\r\n<13>Oct 11 22:14:15 host a: two\n5 hello<14>x\n";
  SyslogFramer framer(4096);
  Frames frames = feed_in_pieces(framer, data, 3);
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[0].first, "<13>Oct 11 22:14:15 host a: one");  // CR removed
  EXPECT_EQ(frames[1].first, "<13>Oct 11 22:14:15 host a: two");
  EXPECT_EQ(frames[2].first, "hello");
  EXPECT_EQ(frames[3].first, "<14>x");
}

TEST(NetSyslogFramer, DigitsWithoutSpaceAreALine) {
  SyslogFramer framer(4096);
  Frames frames = feed_in_pieces(framer, "123abc\n1234567890123 x\n", 2);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].first, "123abc");
  EXPECT_EQ(frames[1].first, "1234567890123 x");
}

TEST(NetSyslogFramer, OversizedOctetFrameIsCutAndSkipped) {
  std::string body(100, 'z');
  std::string data = "100 " + body + "3 abc";
  for (size_t piece : {1, 7, 1000}) {
    SyslogFramer framer(10);
    Frames frames = feed_in_pieces(framer, data, piece);
    ASSERT_EQ(frames.size(), 2u) << "piece " << piece;
    EXPECT_EQ(frames[0].first, std::string(10, 'z'));
    EXPECT_TRUE(frames[0].second);
    EXPECT_EQ(frames[1].first, "abc");
    EXPECT_FALSE(frames[1].second);
  }
}

TEST(NetSyslogFramer, IncompleteOctetFrameAtCloseIsTruncated) {
  SyslogFramer framer(100);
  Frames frames = feed_in_pieces(framer, "50 only-part", 4);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, "only-part");
  EXPECT_TRUE(frames[0].second);
}

}  // namespace
}  // namespace sluice::net

namespace sluice::net {
namespace {

// Found by the octet_framing fuzzer: a stream ending in digits with no space (a count that never
// got its space) handed those digits out at close without the cap.
TEST(NetSyslogFramer, DigitsAtCloseRespectTheCap) {
  SyslogFramer framer(6);
  std::vector<std::pair<std::string, bool>> frames;
  framer.feed("1234567", [&](std::string_view f, bool t) { frames.emplace_back(std::string(f), t); });
  framer.finish([&](std::string_view f, bool t) { frames.emplace_back(std::string(f), t); });
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, "123456");
  EXPECT_TRUE(frames[0].second);
}

}  // namespace
}  // namespace sluice::net
