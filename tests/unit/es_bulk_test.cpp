// The network-free parts of the elasticsearch output: item outcomes, bulk responses, hosts,
// gzip and base64; and option validation of the plugin.
#include <gtest/gtest.h>
#include <zlib.h>

#include "config/parser.h"
#include "plugins/outputs/elasticsearch/bulk.h"
#include "runtime/pipeline.h"

namespace sluice {
namespace {

TEST(EsBulk, ItemOutcomesFollowLogstash) {
  std::vector<int> none;
  EXPECT_EQ(es::classify_item(200, none), es::ItemOutcome::Done);
  EXPECT_EQ(es::classify_item(201, none), es::ItemOutcome::Done);
  EXPECT_EQ(es::classify_item(409, none), es::ItemOutcome::Conflict);
  EXPECT_EQ(es::classify_item(400, none), es::ItemOutcome::DeadLetter);
  EXPECT_EQ(es::classify_item(404, none), es::ItemOutcome::DeadLetter);
  EXPECT_EQ(es::classify_item(429, none), es::ItemOutcome::Retry);
  EXPECT_EQ(es::classify_item(500, none), es::ItemOutcome::Retry);
  EXPECT_EQ(es::classify_item(503, none), es::ItemOutcome::Retry);
  EXPECT_EQ(es::classify_item(403, none), es::ItemOutcome::Retry);
  EXPECT_EQ(es::classify_item(403, {403}), es::ItemOutcome::DeadLetter);
}

TEST(EsBulk, ParsesResponses) {
  std::vector<es::ItemResult> items;
  bool errors = true;
  ASSERT_TRUE(es::parse_bulk_response(R"({"took":3,"errors":false,"items":[{"index":{"status":201}}]})", 1, items, errors));
  EXPECT_FALSE(errors);
  EXPECT_TRUE(items.empty());

  std::string body = R"({"took":3,"errors":true,"items":[)"
                     R"({"index":{"_index":"a","_id":"1","status":201}},)"
                     R"({"create":{"_index":"a","_id":"2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}},)"
                     R"({"index":{"_index":"a","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [bytes]"}}},)"
                     R"({"index":{"_index":"a","status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}}]})";
  ASSERT_TRUE(es::parse_bulk_response(body, 4, items, errors));
  EXPECT_TRUE(errors);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].status, 201);
  EXPECT_EQ(items[1].status, 409);
  EXPECT_EQ(items[1].action, "create");
  EXPECT_EQ(items[2].status, 400);
  EXPECT_NE(items[2].error.find("mapper_parsing_exception"), std::string::npos);
  EXPECT_EQ(items[3].status, 429);

  EXPECT_FALSE(es::parse_bulk_response("<html>proxy error</html>", 1, items, errors));
  EXPECT_FALSE(es::parse_bulk_response(R"({"errors":true,"items":[]})", 2, items, errors));  // too few items
}

TEST(EsBulk, NormalizesHosts) {
  std::string error;
  EXPECT_EQ(es::normalize_host("//127.0.0.1", false, "", &error), "http://127.0.0.1:9200");
  EXPECT_EQ(es::normalize_host("es1", true, "", &error), "https://es1:9200");
  EXPECT_EQ(es::normalize_host("es1:9201", false, "", &error), "http://es1:9201");
  EXPECT_EQ(es::normalize_host("https://es1:443/prefix/", false, "", &error), "https://es1:443/prefix");
  EXPECT_EQ(es::normalize_host("es1", false, "api/es", &error), "http://es1:9200/api/es");
  EXPECT_EQ(es::normalize_host("[::1]", false, "", &error), "http://[::1]:9200");
  EXPECT_EQ(es::normalize_host("ftp://x", false, "", &error), "");
  EXPECT_NE(error.find("scheme"), std::string::npos);
  EXPECT_EQ(es::normalize_host("http://user:pw@es1", false, "", &error), "");
}

TEST(EsBulk, GzipRoundTrip) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += R"({"index":{"_index":"x"}})" "\n" R"({"message":"hello"})" "\n";
  std::string compressed;
  ASSERT_TRUE(es::gzip_compress(text, 1, compressed));
  EXPECT_LT(compressed.size(), text.size() / 5);
  EXPECT_EQ(uint8_t(compressed[0]), 0x1f);  // gzip magic
  EXPECT_EQ(uint8_t(compressed[1]), 0x8b);
  std::string back(text.size() + 16, '\0');
  z_stream s{};
  ASSERT_EQ(inflateInit2(&s, 16 + MAX_WBITS), Z_OK);
  s.next_in = reinterpret_cast<Bytef*>(compressed.data());
  s.avail_in = uInt(compressed.size());
  s.next_out = reinterpret_cast<Bytef*>(back.data());
  s.avail_out = uInt(back.size());
  EXPECT_EQ(inflate(&s, Z_FINISH), Z_STREAM_END);
  back.resize(s.total_out);
  inflateEnd(&s);
  EXPECT_EQ(back, text);
}

TEST(EsBulk, Base64) {
  EXPECT_EQ(es::base64_encode(""), "");
  EXPECT_EQ(es::base64_encode("f"), "Zg==");
  EXPECT_EQ(es::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(es::base64_encode("foo"), "Zm9v");
  EXPECT_EQ(es::base64_encode("id:key"), "aWQ6a2V5");
}

std::string config_error(const std::string& output_options) {
  try {
    PipelineSettings settings;
    settings.workers = 1;
    Pipeline p(settings, config::parse_config("input { generator { count => 1 } }\noutput { elasticsearch { " + output_options + " } }", "es.conf"),
               nullptr);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(EsOptions, BadOptionsAreConfigErrorsWithPositions) {
  std::string e = config_error("action => 'upsert'");
  EXPECT_NE(e.find("es.conf:2:"), std::string::npos) << e;
  EXPECT_NE(e.find("action"), std::string::npos) << e;
  e = config_error("hosts => ['ftp://x']");
  EXPECT_NE(e.find("es.conf:2:"), std::string::npos) << e;
  e = config_error("ssl_verification_mode => 'sometimes'");
  EXPECT_NE(e.find("es.conf:2:"), std::string::npos) << e;
  e = config_error("api_key => 'nocolon'");
  EXPECT_NE(e.find("id:api_key"), std::string::npos) << e;
  e = config_error("dlq_custom_codes => [200]");
  EXPECT_NE(e.find("dlq_custom_codes"), std::string::npos) << e;
  e = config_error("data_stream => 'true' action => 'index'");
  EXPECT_NE(e.find("create"), std::string::npos) << e;
  EXPECT_EQ(config_error("hosts => ['https://es:9200'] index => 'logs-%{+YYYY.MM.dd}' http_compression => true"), "");
}

// The output's compressor keeps one deflate state across bodies: each output is a whole gzip
// member of its own body, whatever came before.
TEST(EsBulk, GzipCompressorIsReusedAcrossBodies) {
  es::GzipCompressor compressor(1);
  auto gunzip = [](std::string_view gz, size_t size) {
    std::string back(size + 16, '\0');
    z_stream s{};
    EXPECT_EQ(inflateInit2(&s, 16 + MAX_WBITS), Z_OK);
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    s.avail_in = uInt(gz.size());
    s.next_out = reinterpret_cast<Bytef*>(back.data());
    s.avail_out = uInt(back.size());
    EXPECT_EQ(inflate(&s, Z_FINISH), Z_STREAM_END);
    back.resize(s.total_out);
    inflateEnd(&s);
    return back;
  };
  std::string big, small = R"({"index":{}})" "\n" R"({"m":1})" "\n";
  for (int i = 0; i < 2000; ++i) big += R"({"index":{"_index":"x"}})" "\n" R"({"message":"hello )" + std::to_string(i) + "\"}\n";
  for (const std::string* body : {&big, &small, &big, &small}) {
    std::string gz(compressor.compress(*body));
    ASSERT_FALSE(gz.empty());
    EXPECT_EQ(gunzip(gz, body->size()), *body);
  }
  compressor.trim(0);  // drops the buffer; the next body still works
  EXPECT_EQ(gunzip(compressor.compress(small), small.size()), small);
}

}  // namespace
}  // namespace sluice
