// The s3 output's streaming compressors against the s3 input's streaming decompressors.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "plugins/inputs/s3/decompressor.h"
#include "plugins/outputs/s3/compressor.h"

namespace sluice::s3 {
namespace {

std::string sample_text(size_t lines) {
  std::string text;
  std::mt19937 rng(42);
  for (size_t i = 0; i < lines; ++i)
    text += "127.0.0.1 - - [line " + std::to_string(i) + "] \"GET /x" + std::to_string(rng() % 1000) + "\" 200\n";
  return text;
}

std::string compress(Encoding encoding, const std::string& text, size_t piece) {
  StreamCompressor compressor(encoding);
  compressor.begin();
  std::string out;
  for (size_t at = 0; at < text.size(); at += piece) compressor.append(std::string_view(text).substr(at, piece), out);
  compressor.finish(out);
  return out;
}

std::string decompress(const std::string& bytes, size_t piece,
                       StreamDecompressor::Kind hint = StreamDecompressor::Kind::Unknown) {
  StreamDecompressor decoder(hint);
  std::string out;
  auto sink = [&](std::string_view s) { out.append(s); };
  for (size_t at = 0; at < bytes.size(); at += piece) decoder.feed(std::string_view(bytes).substr(at, piece), sink);
  decoder.finish(sink);
  return out;
}

TEST(S3Compression, GzipRoundTripInAnyPieceSize) {
  std::string text = sample_text(20000);
  std::string gz = compress(Encoding::Gzip, text, 777);
  ASSERT_GE(gz.size(), 2u);
  EXPECT_EQ(uint8_t(gz[0]), 0x1f);
  EXPECT_LT(gz.size(), text.size() / 3);
  EXPECT_EQ(decompress(gz, 1), text.substr(0, text.size()));
  EXPECT_EQ(decompress(gz, 3), text);
  EXPECT_EQ(decompress(gz, 65536), text);
}

TEST(S3Compression, ZstdRoundTripInAnyPieceSize) {
  std::string text = sample_text(20000);
  std::string zst = compress(Encoding::Zstd, text, 4096);
  EXPECT_EQ(uint8_t(zst[0]), 0x28);
  EXPECT_LT(zst.size(), text.size() / 3);
  EXPECT_EQ(decompress(zst, 2), text);
  EXPECT_EQ(decompress(zst, 100000), text);
}

TEST(S3Compression, ConcatenatedGzipMembersAndZstdFramesAreRead) {
  std::string a = sample_text(10), b = "second part\n";
  EXPECT_EQ(decompress(compress(Encoding::Gzip, a, 50) + compress(Encoding::Gzip, b, 50), 7), a + b);
  EXPECT_EQ(decompress(compress(Encoding::Zstd, a, 50) + compress(Encoding::Zstd, b, 50), 7), a + b);
}

TEST(S3Compression, PlainPassesThroughAndShortObjectsWork) {
  EXPECT_EQ(decompress("abc", 1), "abc");
  EXPECT_EQ(decompress("", 1), "");
  EXPECT_EQ(decompress("hello\nworld\n", 5), "hello\nworld\n");
  EXPECT_EQ(compress(Encoding::None, "xyz", 1), "xyz");
}

TEST(S3Compression, TruncatedOrCorruptStreamsThrow) {
  std::string text = sample_text(2000);
  std::string gz = compress(Encoding::Gzip, text, 1000);
  EXPECT_THROW(decompress(gz.substr(0, gz.size() / 2), 100), std::runtime_error);
  std::string zst = compress(Encoding::Zstd, text, 1000);
  EXPECT_THROW(decompress(zst.substr(0, zst.size() / 2), 100), std::runtime_error);
  std::string bad = gz;
  for (size_t i = 20; i < 60 && i < bad.size(); ++i) bad[i] = char(0xAA);
  EXPECT_THROW(decompress(bad, 100), std::runtime_error);
}

TEST(S3Compression, GzipHintWithPlainDataFails) {
  // A key that says .gz but holds text is an error (reported per object), not garbage events.
  EXPECT_THROW(decompress("plain text, not gzip\n", 4, StreamDecompressor::Kind::Gzip), std::runtime_error);
}

}  // namespace
}  // namespace sluice::s3
