// The s3 output and input against a real S3 implementation: OpenStack Swift with s3api (started
// once for the suite on free ports; see tests/support/swift_s3_server.h).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "config/parser.h"
#include "pipeline_test_plugins.h"
#include "plugins/common/s3/s3_client.h"
#include "plugins/common/s3/s3_dead_letter_writer.h"
#include "plugins/inputs/s3/decompressor.h"
#include "runtime/options.h"
#include "runtime/registry.h"
#include "support/fake_elasticsearch.h"
#include "support/recording_proxy.h"
#include "support/swift_s3_server.h"
#include "test_support.h"

namespace sluice {
namespace {

// Says why when a request fails (the status and S3 error code), not just that it did.
#define ASSERT_S3_OK(call)                          \
  do {                                              \
    s3::S3Result result_ = (call);                  \
    ASSERT_TRUE(result_.ok()) << result_.describe(); \
  } while (0)

using rt_test::collector;
using rt_test::make_pipeline;
using rt_test::source;
using rt_test::unique_key;

class S3Swift : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      server_ = new test::SwiftS3Server();
    } catch (const std::exception& e) {
      start_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr) << "Swift (s3api) did not start: " << start_error_; }

  // A fresh bucket for each test.
  static std::string new_bucket() {
    static std::atomic<int> n{0};
    std::string name = "sluice-t" + std::to_string(::getpid()) + "-" + std::to_string(n++);
    server_->create_bucket(name);
    return name;
  }

  static std::string connection(const std::string& bucket) {
    return "bucket => '" + bucket + "' endpoint => '" + server_->endpoint() +
           "' region => 'us-east-1' access_key_id => 'test:tester' secret_access_key => 'testing' ";
  }

  static std::vector<s3::S3Object> list_all(const std::string& bucket, const std::string& prefix = "") {
    s3::S3Client client(server_->settings(bucket));
    std::vector<s3::S3Object> all;
    std::string token;
    for (;;) {
      s3::ListPage page;
      s3::S3Result r = client.list_objects_v2(prefix, token, 1000, page);
      EXPECT_TRUE(r.ok()) << r.describe();
      if (!r.ok()) break;
      for (auto& o : page.objects) all.push_back(o);
      if (!page.truncated) break;
      token = page.next_continuation_token;
    }
    return all;
  }

  // The decoded lines of every object under prefix.
  static std::vector<std::string> all_lines(const std::string& bucket, const std::string& prefix = "") {
    s3::S3Client client(server_->settings(bucket));
    std::vector<std::string> lines;
    for (const s3::S3Object& object : list_all(bucket, prefix)) {
      std::string raw;
      s3::S3Result r = client.get_object(object.key, raw);
      EXPECT_TRUE(r.ok()) << r.describe();
      std::string text;
      s3::StreamDecompressor decoder;
      auto sink = [&](std::string_view s) { text.append(s); };
      decoder.feed(raw, sink);
      decoder.finish(sink);
      size_t start = 0;
      for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
        lines.push_back(text.substr(start, nl - start));
    }
    return lines;
  }

  static std::multiset<int64_t> seqs(const std::vector<std::string>& lines) {
    std::multiset<int64_t> out;
    for (const std::string& line : lines) {
      size_t at = line.find("\"seq\":");
      if (at != std::string::npos) out.insert(std::stoll(line.substr(at + 6)));
    }
    return out;
  }

  static test::SwiftS3Server* server_;
  static std::string start_error_;
};
test::SwiftS3Server* S3Swift::server_ = nullptr;
std::string S3Swift::start_error_;

// ---- the client and SigV4 ------------------------------------------------------------------

TEST_F(S3Swift, SigV4IsAcceptedAndAWrongSecretIsRejected) {
  std::string bucket = new_bucket();
  s3::S3Client good(server_->settings(bucket));
  s3::S3Result put = good.put_object("dir/a b+c.txt", "hello");
  ASSERT_TRUE(put.ok()) << put.describe();
  std::string body;
  ASSERT_TRUE(good.get_object("dir/a b+c.txt", body).ok());
  EXPECT_EQ(body, "hello");

  s3::S3Settings wrong = server_->settings(bucket);
  wrong.credentials.secret_access_key = "not-the-secret";
  s3::S3Client bad(wrong);
  s3::S3Result denied = bad.put_object("x.txt", "nope");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.code, "SignatureDoesNotMatch") << denied.describe();
  EXPECT_FALSE(denied.retryable());

  // UNSIGNED-PAYLOAD is accepted too.
  s3::S3Settings unsigned_payload = server_->settings(bucket);
  unsigned_payload.sign_payload = false;
  EXPECT_TRUE(s3::S3Client(unsigned_payload).put_object("u.txt", "data").ok());
}

TEST_F(S3Swift, OutputWithAWrongSecretFailsAtStartWithAClearError) {
  std::string bucket = new_bucket();
  std::string config = "input { rt_source { count => 1 } }\noutput { s3 { bucket => '" + bucket + "' endpoint => '" +
                       server_->endpoint() + "' access_key_id => 'test:tester' secret_access_key => 'wrong' } }";
  try {
    make_pipeline(config);
    FAIL() << "expected a configuration error";
  } catch (const config::ConfigError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("SignatureDoesNotMatch"), std::string::npos) << what;
    EXPECT_NE(what.find("test.conf:2"), std::string::npos) << what;
    EXPECT_EQ(what.find("wrong"), std::string::npos) << "the secret must not be printed: " << what;
  }
}

TEST_F(S3Swift, ListObjectsV2PagesPastMaxKeys) {
  std::string bucket = new_bucket();
  s3::S3Client client(server_->settings(bucket));
  for (int i = 0; i < 23; ++i) ASSERT_S3_OK(client.put_object("p/" + std::to_string(i) + ".log", "x\n"));
  ASSERT_S3_OK(client.put_object("other/skip.log", "x\n"));
  std::set<std::string> keys;
  std::string token;
  int pages = 0;
  for (;;) {
    s3::ListPage page;
    s3::S3Result r = client.list_objects_v2("p/", token, 5, page);
    ASSERT_TRUE(r.ok()) << r.describe();
    ++pages;
    EXPECT_LE(page.objects.size(), 5u);
    for (auto& o : page.objects) {
      keys.insert(o.key);
      EXPECT_GT(o.last_modified, 0);
      EXPECT_EQ(o.size, 2u);
    }
    if (!page.truncated) break;
    token = page.next_continuation_token;
  }
  EXPECT_EQ(keys.size(), 23u);
  EXPECT_EQ(pages, 5);

  // The input pages the same way.
  auto key = unique_key("s3_in_paging");
  auto p = make_pipeline("input { s3 { " + connection(bucket) +
                         " prefix => 'p/' list_max_keys => 4 watch_for_new_files => false sincedb_path => '/dev/null' } }\n"
                         "output { rt_collect { key => '" + key + "' } }");
  p->start();
  ASSERT_TRUE(p->wait_for(60000));
  EXPECT_EQ(collector(key)->size(), 23u);
}

// ---- the output ----------------------------------------------------------------------------

// Drives the output directly (no pipeline) to see exactly when acknowledgements happen.
struct AckCounter : AckListener {
  std::atomic<int> count{0};
  void acked(uint64_t) override { ++count; }
};

std::unique_ptr<Output> make_s3_output(const std::string& options, PluginContext& context) {
  auto config = config::parse_config("output { s3 { " + options + " } }", "direct.conf");
  const config::PluginBlock& block = *config.outputs.at(0).plugin;
  const PluginEntry* entry = Registry::instance().find(PluginKind::Output, "s3");
  Options validated = Options::validate(block, entry->schema);
  return entry->output(validated, context);
}

TEST_F(S3Swift, OutputAcknowledgesOnlyOnceTheObjectIsStored) {
  std::string bucket = new_bucket();
  PipelineSettings settings;
  std::atomic<bool> stopping{false};
  PluginContext context;
  context.id = "s3_direct";
  context.settings = &settings;
  context.pipeline_stopping = &stopping;
  auto output = make_s3_output(connection(bucket) + " time_file => 0.02 prefix => 'acks/'", context);

  AckCounter counter;
  std::vector<Event*> events;
  for (int i = 0; i < 3; ++i) {
    AckToken* token = AckToken::create(&counter, uint64_t(i));
    for (int j = 0; j < 10; ++j) {
      Event* e = new Event();
      e->init_with_message("m" + std::to_string(i * 10 + j), Timestamp::now());
      e->fields()["seq"].set_int(i * 10 + j);
      e->attach_ack(token);
      events.push_back(e);
    }
    token->release();
  }
  output->write(events);
  for (Event* e : events) delete e;  // the runtime's holds go; the output's remain
  EXPECT_EQ(counter.count.load(), 0);
  EXPECT_TRUE(list_all(bucket).empty());
  // time_file 0.02 min = 1.2 s: the periodic flush rotates, an upload worker stores, then acks.
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  output->flush();
  ASSERT_TRUE(test::wait_until([&] { return counter.count.load() == 3; }, std::chrono::seconds(30)));
  auto objects = list_all(bucket, "acks/");
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_NE(objects[0].key.find("ls.s3."), std::string::npos);
  EXPECT_TRUE(objects[0].key.ends_with(".txt"));
  EXPECT_EQ(seqs(all_lines(bucket)).size(), 30u);
  output->close();
}

// A stopping pipeline uploads the objects still filling (graceful flush): every event the source
// pushed is stored once and acknowledged, although neither size_file nor time_file was reached.
TEST_F(S3Swift, OutputFlushesOpenObjectsWhenThePipelineStops) {
  std::string bucket = new_bucket();
  auto key = unique_key("s3_stop");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 0 chunk => 10 } }\n"
                         "output { s3 { " + connection(bucket) + " prefix => 'stop/' time_file => 60 size_file => 100000000 } }",
                         rt_test::settings(2, 20, 5));
  p->start();
  ASSERT_TRUE(rt_test::test_wait([&] { return source(key)->pushed.load() >= 300; }, 30000));
  EXPECT_TRUE(list_all(bucket, "stop/").empty());  // nothing rotated yet
  p->request_stop();
  ASSERT_TRUE(p->wait_for(60000));
  uint64_t pushed = source(key)->pushed.load();
  EXPECT_EQ(source(key)->acked_events.load(), pushed);
  auto stored = seqs(all_lines(bucket, "stop/"));
  EXPECT_EQ(stored.size(), pushed);
  EXPECT_EQ(std::set<int64_t>(stored.begin(), stored.end()).size(), pushed);  // each once
}

TEST_F(S3Swift, OutputRotatesBySizeAndNamesObjectsUniquely) {
  std::string bucket = new_bucket();
  auto key = unique_key("s3_rotate");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 3000 chunk => 50 } }\n"
                         "output { s3 { " + connection(bucket) +
                         " prefix => 'size/%{+YYYY}/' size_file => 20000 rotation_strategy => 'size' } }");
  p->start();
  ASSERT_TRUE(p->wait_for(120000));
  auto objects = list_all(bucket, "size/");
  EXPECT_GE(objects.size(), 5u);
  std::set<std::string> names;
  size_t small = 0;
  for (auto& o : objects) {
    names.insert(o.key);
    if (o.size < 20000) ++small;
  }
  EXPECT_EQ(names.size(), objects.size());
  EXPECT_LE(small, 1u);  // only the last one, flushed at shutdown, may be short
  auto got = seqs(all_lines(bucket, "size/"));
  EXPECT_EQ(got.size(), 3000u);
  EXPECT_EQ(std::set<int64_t>(got.begin(), got.end()).size(), 3000u);
  EXPECT_EQ(source(key)->acked_events.load(), 3000u);
}

TEST_F(S3Swift, OutputRotatesByTime) {
  std::string bucket = new_bucket();
  PipelineSettings settings;
  std::atomic<bool> stopping{false};
  PluginContext context;
  context.settings = &settings;
  context.pipeline_stopping = &stopping;
  auto output = make_s3_output(connection(bucket) + " time_file => 0.01 rotation_strategy => 'time' encoding => 'gzip'",
                               context);
  for (int round = 0; round < 3; ++round) {
    Event e;
    e.init_with_message("round " + std::to_string(round), Timestamp::now());
    Event* one[] = {&e};
    output->write(one);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    output->flush();
  }
  output->close();
  auto objects = list_all(bucket);
  EXPECT_EQ(objects.size(), 3u);
  for (auto& o : objects) EXPECT_TRUE(o.key.ends_with(".txt.gz")) << o.key;
  EXPECT_EQ(all_lines(bucket).size(), 3u);
}

TEST_F(S3Swift, OutputUsesMultipartUploadForLargeObjects) {
  std::string bucket = new_bucket();
  auto key = unique_key("s3_multipart");
  std::string message(1000, 'm');
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 13000 chunk => 100 message => '" + message +
                         "' } }\noutput { s3 { " + connection(bucket) +
                         " size_file => 12582912 upload_multipart_threshold => 5242880 } }");
  p->start();
  ASSERT_TRUE(p->wait_for(180000));
  auto objects = list_all(bucket);
  ASSERT_EQ(objects.size(), 2u);  // 13 MB of events: one 12 MiB object (3 parts) and the rest
  bool multipart = false;
  for (auto& o : objects)
    if (o.size >= 12582912) multipart = o.etag.find('-') != std::string::npos;
  EXPECT_TRUE(multipart) << "a multipart object has an ETag ending in -<parts>";
  auto got = seqs(all_lines(bucket));
  EXPECT_EQ(got.size(), 13000u);
  EXPECT_EQ(std::set<int64_t>(got.begin(), got.end()).size(), 13000u);
  EXPECT_EQ(source(key)->acked_events.load(), 13000u);
}

TEST_F(S3Swift, OutputSurvivesAProxyKilledMidUploadWithoutLossOrDuplicates) {
  std::string bucket = new_bucket();
  auto key = unique_key("s3_kill");
  const int total = 100000;
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => " + std::to_string(total) +
                         " chunk => 100 } }\noutput { s3 { " + connection(bucket) +
                         " encoding => 'gzip' size_file => 20000 retry_delay => 0.2 upload_workers_count => 2 } }");
  p->start();
  ASSERT_TRUE(test::wait_until([&] { return list_all(bucket).size() >= 3; }, std::chrono::seconds(60)));
  ASSERT_FALSE(p->finished()) << "the pipeline ended before the proxy could be killed";
  server_->kill_proxy();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  uint64_t acked_while_down = source(key)->acked_events.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(source(key)->acked_events.load(), acked_while_down) << "nothing is acknowledged while S3 is down";
  server_->start_proxy();
  ASSERT_TRUE(p->wait_for(180000));
  auto got = seqs(all_lines(bucket));
  EXPECT_EQ(got.size(), size_t(total)) << "events stored (duplicates count twice)";
  EXPECT_EQ(std::set<int64_t>(got.begin(), got.end()).size(), size_t(total)) << "distinct events";
  EXPECT_EQ(source(key)->acked_events.load(), uint64_t(total));
}

// canned_acl, storage_class and server_side_encryption reach S3 as x-amz-* headers of the signed
// object PUTs, through `proxy_uri` (a recording forward proxy in front of Swift). Swift answers
// SSE with 501 NotImplemented: not retried, the events stay unacknowledged.
TEST_F(S3Swift, OutputSendsObjectHeadersThroughTheProxy) {
  std::string bucket = new_bucket();
  test::RecordingProxy proxy;
  auto key = unique_key("s3_headers");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 20 } }\n"
                         "output { s3 { " + connection(bucket) + " prefix => 'h/' proxy_uri => '" + proxy.url() +
                         "' canned_acl => 'private' storage_class => 'STANDARD' } }");
  p->start();
  ASSERT_TRUE(p->wait_for(60000));
  EXPECT_EQ(source(key)->acked_events.load(), 20u);
  EXPECT_EQ(seqs(all_lines(bucket, "h/")).size(), 20u);
  size_t object_puts = 0;
  for (const test::ProxiedRequest& r : proxy.requests()) {
    EXPECT_TRUE(r.url.starts_with(server_->endpoint() + "/" + bucket + "/")) << r.url;  // absolute form: proxied
    EXPECT_TRUE(r.header("Authorization").starts_with("AWS4-HMAC-SHA256 ")) << r.method << " " << r.url;
    if (r.method != "PUT" || r.url.find("/h/") == std::string::npos) continue;
    ++object_puts;
    EXPECT_EQ(r.status, 200) << r.url;
    EXPECT_EQ(r.header("x-amz-acl"), "private");
    EXPECT_EQ(r.header("x-amz-storage-class"), "STANDARD");
    EXPECT_EQ(r.header("x-amz-server-side-encryption"), "");
  }
  EXPECT_GE(object_puts, 1u);

  test::RecordingProxy sse_proxy;
  auto sse_key = unique_key("s3_sse");
  auto sse = make_pipeline("input { rt_source { key => '" + sse_key + "' count => 5 } }\n"
                           "output { s3 { " + connection(bucket) + " prefix => 'sse/' proxy_uri => '" + sse_proxy.url() +
                           "' server_side_encryption => true retry_delay => 0.05 } }");
  sse->start();
  auto sse_puts = [&] {
    std::vector<test::ProxiedRequest> out;
    for (const test::ProxiedRequest& r : sse_proxy.requests())
      if (r.method == "PUT" && r.url.find("/sse/ls.s3.") != std::string::npos) out.push_back(r);
    return out;
  };
  ASSERT_TRUE(rt_test::test_wait([&] { return !sse_puts().empty(); }, 30000));
  ASSERT_TRUE(sse->wait_for(60000));
  auto puts = sse_puts();
  ASSERT_EQ(puts.size(), 1u);  // 501 NotImplemented is not retried
  EXPECT_EQ(puts[0].status, 501);
  EXPECT_EQ(puts[0].header("x-amz-server-side-encryption"), "AES256");
  EXPECT_EQ(source(sse_key)->acked_events.load(), 0u);
}

// A prefix with an event field and a time pattern keeps one object stream per rendered prefix.
TEST_F(S3Swift, OutputPrefixSprintfSplitsObjectsByField) {
  std::string bucket = new_bucket();
  auto key = unique_key("s3_prefix");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 40 } }\n"
                         "filter { if [seq] < 15 { mutate { add_field => { '[event][module]' => 'nginx' } } } "
                         "else { mutate { add_field => { '[event][module]' => 'sshd' } } } }\n"
                         "output { s3 { " + connection(bucket) + " prefix => 'raw/%{[event][module]}/%{+YYYY/MM/dd/HH}/' } }");
  p->start();
  ASSERT_TRUE(p->wait_for(60000));
  EXPECT_EQ(source(key)->acked_events.load(), 40u);
  const std::regex layout(R"(raw/(nginx|sshd)/\d{4}/\d{2}/\d{2}/\d{2}/[^/]+)");
  std::map<std::string, size_t> lines_per_module;
  s3::S3Client client(server_->settings(bucket));
  for (const s3::S3Object& object : list_all(bucket, "raw/")) {
    std::smatch match;
    ASSERT_TRUE(std::regex_match(object.key, match, layout)) << object.key;
    std::string module = match[1];
    for (const std::string& line : all_lines(bucket, object.key)) {
      EXPECT_NE(line.find("\"module\":\"" + module + "\""), std::string::npos) << object.key << ": " << line;
      ++lines_per_module[module];
    }
  }
  EXPECT_EQ(lines_per_module["nginx"], 15u);
  EXPECT_EQ(lines_per_module["sshd"], 25u);
}

// ---- output -> input round trips -----------------------------------------------------------

TEST_F(S3Swift, GzipAndZstdRoundTripThroughOutputAndInput) {
  for (std::string encoding : {"gzip", "zstd"}) {
    SCOPED_TRACE(encoding);
    std::string bucket = new_bucket();
    auto key = unique_key("s3_rt_" + encoding);
    auto writer = make_pipeline("input { rt_source { key => '" + key + "' count => 5000 chunk => 100 } }\n"
                                "output { s3 { " + connection(bucket) + " prefix => 'rt/' encoding => '" + encoding +
                                "' size_file => 8000 } }");
    writer->start();
    ASSERT_TRUE(writer->wait_for(120000));
    writer.reset();
    EXPECT_GE(list_all(bucket, "rt/").size(), 2u);

    test::TempDir dir;
    std::string sincedb = dir.file("sincedb");
    auto read_key = unique_key("s3_rt_read_" + encoding);
    std::string input = "input { s3 { " + connection(bucket) + " prefix => 'rt/' codec => json_lines " +
                        "watch_for_new_files => false sincedb_path => '" + sincedb + "' } }\n";
    auto reader = make_pipeline(input + "output { rt_collect { key => '" + read_key + "' } }");
    reader->start();
    ASSERT_TRUE(reader->wait_for(120000));
    reader.reset();  // the input records its progress once everything is acknowledged
    auto events = collector(read_key)->snapshot();
    ASSERT_EQ(events.size(), 5000u);
    std::set<int64_t> distinct;
    for (auto& e : events) distinct.insert(e.seq);
    EXPECT_EQ(distinct.size(), 5000u);
    EXPECT_FALSE(test::read_file(sincedb).empty());

    // A second run resumes after the recorded progress: nothing again.
    auto again_key = unique_key("s3_rt_again_" + encoding);
    auto again = make_pipeline(input + "output { rt_collect { key => '" + again_key + "' } }");
    again->start();
    ASSERT_TRUE(again->wait_for(60000));
    EXPECT_EQ(collector(again_key)->size(), 0u);
  }
}

TEST_F(S3Swift, InputDeletesOrBacksUpDoneObjectsAndKeepsAProgressMarker) {
  std::string bucket = new_bucket();
  std::string backup = new_bucket();
  s3::S3Client client(server_->settings(bucket));
  for (int i = 0; i < 6; ++i)
    ASSERT_S3_OK(client.put_object("in/" + std::to_string(i) + ".log", "line a " + std::to_string(i) + "\nline b\n"));
  auto key = unique_key("s3_backup");
  auto p = make_pipeline("input { s3 { " + connection(bucket) +
                         " prefix => 'in/' watch_for_new_files => false delete => true backup_to_bucket => '" + backup +
                         "' backup_add_prefix => 'old/' progress_marker_key => 'state/marker' } }\n"
                         "output { rt_collect { key => '" + key + "' } }");
  p->start();
  ASSERT_TRUE(p->wait_for(60000));
  p.reset();
  EXPECT_EQ(collector(key)->size(), 12u);
  EXPECT_TRUE(list_all(bucket, "in/").empty());
  EXPECT_EQ(list_all(backup, "old/in/").size(), 6u);
  std::string marker;
  ASSERT_TRUE(client.get_object("state/marker", marker).ok());
  EXPECT_NE(marker.find("in/"), std::string::npos) << marker;
}

TEST_F(S3Swift, InputTimeBoundsSelectObjects) {
  std::string bucket = new_bucket();
  s3::S3Client client(server_->settings(bucket));
  ASSERT_S3_OK(client.put_object("t/a.log", "one\ntwo\n"));
  auto run = [&](const std::string& bounds) {
    auto key = unique_key("s3_bounds");
    auto p = make_pipeline("input { s3 { " + connection(bucket) +
                           " prefix => 't/' watch_for_new_files => false sincedb_path => '/dev/null' " + bounds +
                           " } }\noutput { rt_collect { key => '" + key + "' } }");
    p->start();
    EXPECT_TRUE(p->wait_for(60000));
    return collector(key)->size();
  };
  EXPECT_EQ(run("start_time => '2000-01-01T00:00:00Z'"), 2u);
  EXPECT_EQ(run("end_time => '2000-01-01T00:00:00Z'"), 0u);
  EXPECT_EQ(run("start_time => '2999-01-01T00:00:00Z'"), 0u);
}

// The sluice binary in finite mode: exclude_pattern skips keys, [@metadata][s3] has key, bucket and
// last_modified, a progress line goes to stderr, and the process exits when the prefix is read.
TEST_F(S3Swift, InputFiniteRunExcludesKeysAddsMetadataAndPrintsProgress) {
  std::string bucket = new_bucket();
  s3::S3Client client(server_->settings(bucket));
  ASSERT_S3_OK(client.put_object("f/a.log", "one\ntwo\n"));
  ASSERT_S3_OK(client.put_object("f/b.log.skip", "skipped\n"));
  ASSERT_S3_OK(client.put_object("f/c.log", "three\n"));
  test::TempDir dir;
  std::string config = "input { s3 { id => 'restore' " + connection(bucket) +
                       " prefix => 'f/' watch_for_new_files => false exclude_pattern => '\\.skip$' "
                       "sincedb_path => '/dev/null' } }\n"
                       "filter { mutate { add_field => { 'k' => '%{[@metadata][s3][key]}' 'b' => '%{[@metadata][s3][bucket]}' "
                       "'lm' => '%{[@metadata][s3][last_modified]}' } } }\n"
                       "output { stdout { codec => json_lines } }";
  test::CommandResult r = test::run_command({test::sluice_binary(), "--path.data", dir.file("data"), "--api.enabled", "false",
                                             "-e", config},
                                            "", std::chrono::seconds(120));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines;
  for (size_t start = 0, nl; (nl = r.out.find('\n', start)) != std::string::npos; start = nl + 1)
    if (nl > start && r.out[start] == '{') lines.push_back(r.out.substr(start, nl - start));
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (const std::string& line : lines) {
    EXPECT_EQ(line.find("skipped"), std::string::npos) << line;
    EXPECT_NE(line.find("\"b\":\"" + bucket + "\""), std::string::npos) << line;
    EXPECT_TRUE(line.find("\"k\":\"f/a.log\"") != std::string::npos || line.find("\"k\":\"f/c.log\"") != std::string::npos) << line;
    EXPECT_EQ(line.find("\"lm\":\"%{"), std::string::npos) << line;  // last_modified resolved
  }
  EXPECT_NE(r.err.find("s3 input restore: 2/2 objects"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("eta"), std::string::npos) << r.err;
}

TEST_F(S3Swift, InputWatchModePicksUpNewObjects) {
  std::string bucket = new_bucket();
  s3::S3Client client(server_->settings(bucket));
  ASSERT_S3_OK(client.put_object("w/1.log", "first\n"));
  auto key = unique_key("s3_watch");
  auto p = make_pipeline("input { s3 { " + connection(bucket) +
                         " prefix => 'w/' interval => 1 sincedb_path => '/dev/null' } }\n"
                         "output { rt_collect { key => '" + key + "' } }");
  p->start();
  ASSERT_TRUE(rt_test::test_wait([&] { return collector(key)->size() == 1; }, 30000));
  ASSERT_S3_OK(client.put_object("w/2.log", "second\nthird\n"));
  ASSERT_TRUE(rt_test::test_wait([&] { return collector(key)->size() == 3; }, 30000));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(collector(key)->size(), 3u) << "an object is read once";
  p->request_stop();
  EXPECT_TRUE(p->wait_for(30000));
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

TEST_F(S3Swift, DeadLetterEntriesAreStoredAsObjects) {
  std::string bucket = new_bucket();
  s3::S3DeadLetterWriter writer(server_->settings(bucket), "dlq/", "main");
  Event event;
  event.init_with_message("rejected", Timestamp::from_seconds(1700000000));
  event.metadata()["m"] = Value("x");
  EXPECT_EQ(writer.write(event, "elasticsearch", "es_1", "400 mapper_parsing_exception"), DeadLetterResult::Stored);
  EXPECT_EQ(writer.write(event, "elasticsearch", "es_1", "second"), DeadLetterResult::Stored);
  auto objects = list_all(bucket, "dlq/main/");
  ASSERT_EQ(objects.size(), 2u);
  s3::S3Client client(server_->settings(bucket));
  std::string body;
  ASSERT_TRUE(client.get_object(objects[0].key, body).ok());
  ASSERT_TRUE(body.ends_with("\n"));
  DeadLetterEntry entry;
  ASSERT_TRUE(parse_dead_letter_entry(std::string_view(body).substr(0, body.size() - 1), entry));
  EXPECT_EQ(entry.plugin_id, "es_1");
  EXPECT_EQ(entry.reason, "400 mapper_parsing_exception");

  s3::S3Settings wrong = server_->settings(bucket);
  wrong.credentials.secret_access_key = "bad";
  s3::S3DeadLetterWriter denied(wrong, "dlq/", "main", 1);
  EXPECT_EQ(denied.write(event, "elasticsearch", "es_1", "x"), DeadLetterResult::Failed);
}

// dead_letter_queue.type s3: a pipeline routes its failed events (failure_tags) to objects under
// the prefix, nothing on local disk, and the good events still reach the output.
TEST_F(S3Swift, PipelineDeadLetterQueueOnS3) {
  std::string bucket = new_bucket();
  s3::S3Settings target = server_->settings(bucket);
  PipelineSettings settings = rt_test::settings(1, 16, 5);
  settings.id = "dlq_s3";
  settings.dead_letter_queue.enabled = true;
  settings.dead_letter_queue.type = "s3";
  settings.dead_letter_queue.s3_bucket = bucket;
  settings.dead_letter_queue.s3_prefix = "dlq/";
  settings.dead_letter_queue.s3_endpoint = target.endpoint;
  settings.dead_letter_queue.s3_region = target.region;
  settings.dead_letter_queue.s3_access_key_id = target.credentials.access_key_id;
  settings.dead_letter_queue.s3_secret_access_key = target.credentials.secret_access_key;
  settings.dead_letter_queue.failure_tags = {"_jsonparsefailure"};
  std::string key = rt_test::unique_key("dlq_s3");
  auto p = rt_test::make_pipeline("input { generator { count => 1 lines => ['{\"ok\":1}', 'not json', '{\"ok\":2}'] } }\n"
                                  "filter { json { source => 'message' } }\n"
                                  "output { rt_collect { key => '" + key + "' } }",
                                  settings);
  p->start();
  ASSERT_TRUE(p->wait_for(60000));
  EXPECT_EQ(rt_test::collector(key)->snapshot().size(), 2u);
  auto objects = list_all(bucket, "dlq/dlq_s3/");
  ASSERT_EQ(objects.size(), 1u);
  s3::S3Client client(target);
  std::string body;
  ASSERT_TRUE(client.get_object(objects[0].key, body).ok());
  DeadLetterEntry entry;
  ASSERT_TRUE(parse_dead_letter_entry(std::string_view(body).substr(0, body.size() - 1), entry));
  EXPECT_NE(entry.reason.find("_jsonparsefailure"), std::string::npos) << entry.reason;
}

// ---- the dead_letter_queue input reading an S3 DLQ ---------------------------------------------

// A pipeline whose elasticsearch output has every third event refused (400) by the stand-in,
// writing them to the DLQ on S3 under dlq/<pipeline_id>/. Returns the seqs refused.
std::set<int64_t> write_rejections_to_s3_dlq(const s3::S3Settings& target, const std::string& pipeline_id, int count,
                                             const std::string& message) {
  test::FakeElasticsearch es;
  es.start();
  es.set_item_script([](const test::FakeBulkItem& item, int) -> std::optional<test::FakeItemReply> {
    size_t at = item.source.find("\"seq\":");
    if (at != std::string::npos && std::stoll(item.source.substr(at + 6)) % 3 == 0)
      return test::FakeItemReply{400, "mapper_parsing_exception", "failed to parse field [seq]"};
    return std::nullopt;
  });
  PipelineSettings settings = rt_test::settings(1, 16, 5);
  settings.id = pipeline_id;
  settings.dead_letter_queue.enabled = true;
  settings.dead_letter_queue.type = "s3";
  settings.dead_letter_queue.s3_bucket = target.bucket;
  settings.dead_letter_queue.s3_prefix = "dlq/";
  settings.dead_letter_queue.s3_endpoint = target.endpoint;
  settings.dead_letter_queue.s3_region = target.region;
  settings.dead_letter_queue.s3_access_key_id = target.credentials.access_key_id;
  settings.dead_letter_queue.s3_secret_access_key = target.credentials.secret_access_key;
  std::string key = unique_key("dlq_s3_writer");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => " + std::to_string(count) + " message => '" +
                             message + "' } }\n"
                             "output { elasticsearch { id => 'es_out' hosts => ['" + es.url() + "'] index => 'x' "
                             "retry_initial_interval => 0.02 } }",
                         settings);
  p->start();
  EXPECT_TRUE(p->wait_for(60000));
  EXPECT_EQ(source(key)->acked_events.load(), uint64_t(count));  // refused ones are done once in the DLQ
  std::set<int64_t> refused;
  for (int seq = 0; seq < count; seq += 3) refused.insert(seq);
  EXPECT_EQ(p->metrics().dead_letter_queue.events_written.load(), refused.size());
  return refused;
}

std::string s3_dlq_reader_config(const std::string& connection, const std::string& key, const std::string& extra = "") {
  std::string settle = extra.find("settle_time") == std::string::npos ? "settle_time => 0.2 " : "";
  return "input { dead_letter_queue { " + connection + " prefix => 'dlq/' pipeline_id => 'origin' interval => 0.1 " +
         settle + extra + " } }\n"
         "filter { mutate { add_field => { 'dlq_plugin' => '%{[@metadata][dead_letter_queue][plugin_type]}/"
         "%{[@metadata][dead_letter_queue][plugin_id]}' 'dlq_reason' => '%{[@metadata][dead_letter_queue][reason]}' } } }\n"
         "output { rt_collect { key => '" + key + "' } }";
}

// Runs a reader until it collected `expected` events and a little longer (to catch extras).
std::vector<rt_test::Collected> read_s3_dlq(const std::string& config, const std::string& key, size_t expected) {
  auto p = make_pipeline(config, rt_test::settings(1, 16, 5));
  p->start();
  EXPECT_TRUE(rt_test::test_wait([&] { return collector(key)->size() >= expected; }, 30000));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a few more listings: nothing else may come
  p->request_stop();
  EXPECT_TRUE(p->wait_for(30000));
  return collector(key)->snapshot();
}

TEST_F(S3Swift, DeadLetterQueueInputReprocessesTheS3DlqEachEntryOnce) {
  std::string bucket = new_bucket();
  s3::S3Settings target = server_->settings(bucket);
  std::set<int64_t> refused = write_rejections_to_s3_dlq(target, "origin", 60, "first");
  ASSERT_EQ(list_all(bucket, "dlq/origin/").size(), refused.size());

  std::string key = unique_key("dlq_s3_reader");
  auto collected = read_s3_dlq(s3_dlq_reader_config(connection(bucket), key), key, refused.size());
  ASSERT_EQ(collected.size(), refused.size());
  std::set<int64_t> seen;
  for (const auto& e : collected) {
    EXPECT_TRUE(seen.insert(e.seq).second) << "seq " << e.seq << " read twice";
    EXPECT_EQ(e.message, "first");
    EXPECT_NE(e.json.find("\"dlq_plugin\":\"elasticsearch/es_out\""), std::string::npos) << e.json;
    EXPECT_NE(e.json.find("mapper_parsing_exception"), std::string::npos) << e.json;
  }
  EXPECT_EQ(seen, refused);
  // commit_offsets: the last acknowledged key is kept in the bucket, next to the entries.
  s3::S3Client client(target);
  std::string position;
  ASSERT_TRUE(client.get_object("dlq/origin.sincedb", position).ok());
  EXPECT_TRUE(position.starts_with("dlq/origin/")) << position;

  // More rejections; a restarted reader gets only those.
  std::set<int64_t> refused_again = write_rejections_to_s3_dlq(target, "origin", 30, "second");
  std::string key2 = unique_key("dlq_s3_reader2");
  auto again = read_s3_dlq(s3_dlq_reader_config(connection(bucket), key2), key2, refused_again.size());
  ASSERT_EQ(again.size(), refused_again.size());
  std::set<int64_t> seen_again;
  for (const auto& e : again) {
    EXPECT_EQ(e.message, "second");
    seen_again.insert(e.seq);
  }
  EXPECT_EQ(seen_again, refused_again);
  EXPECT_EQ(list_all(bucket, "dlq/origin/").size(), refused.size() + refused_again.size());  // nothing deleted
}

TEST_F(S3Swift, DeadLetterQueueInputOnS3CleanConsumedAndLocalSincedb) {
  std::string bucket = new_bucket();
  s3::S3Settings target = server_->settings(bucket);
  std::set<int64_t> refused = write_rejections_to_s3_dlq(target, "origin", 30, "gone");
  test::TempDir dir;
  std::string sincedb = dir.file("dlq.sincedb");
  std::string key = unique_key("dlq_s3_clean");
  auto collected = read_s3_dlq(
      s3_dlq_reader_config(connection(bucket), key, "clean_consumed => true sincedb_path => '" + sincedb + "'"), key,
      refused.size());
  EXPECT_EQ(collected.size(), refused.size());
  // Every acknowledged entry was deleted; the position went to the local file, not the bucket.
  EXPECT_TRUE(rt_test::test_wait([&] { return list_all(bucket, "dlq/origin/").empty(); }));
  EXPECT_TRUE(test::read_file(sincedb).starts_with("dlq/origin/"));
  s3::S3Client client(target);
  std::string ignored;
  EXPECT_EQ(client.get_object("dlq/origin.sincedb", ignored).status, 404);
}

TEST_F(S3Swift, DeadLetterQueueInputWaitsForTheSettleTime) {
  std::string bucket = new_bucket();
  s3::S3Settings target = server_->settings(bucket);
  std::set<int64_t> refused = write_rejections_to_s3_dlq(target, "origin", 9, "fresh");
  std::string key = unique_key("dlq_s3_settle");
  auto p = make_pipeline(s3_dlq_reader_config(connection(bucket), key, "settle_time => 3600"), rt_test::settings(1, 16, 5));
  p->start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // several listings
  EXPECT_EQ(collector(key)->size(), 0u);  // keys younger than settle_time are left for later
  p->request_stop();
  ASSERT_TRUE(p->wait_for(30000));
  // Nothing was committed: a reader with a short settle time then gets them all.
  std::string key2 = unique_key("dlq_s3_settle2");
  EXPECT_EQ(read_s3_dlq(s3_dlq_reader_config(connection(bucket), key2), key2, refused.size()).size(), refused.size());
}

TEST_F(S3Swift, DeadLetterQueueInputBadS3OptionsAreConfigErrors) {
  try {
    make_pipeline("input { dead_letter_queue { path => '/tmp' bucket => 'b' } }\noutput { rt_collect {} }");
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("test.conf:1:"), std::string::npos) << e.what();
  }
}

// Not run by default (timing-dependent, long): the 1M-event benchmark of the report.
//   sluice_integration_tests --gtest_also_run_disabled_tests --gtest_filter='S3Swift.DISABLED_Benchmark*'
TEST_F(S3Swift, DISABLED_BenchmarkOneMillionApacheEvents) {
  const std::string line =
      "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326 "
      "\"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\"";
  for (std::string encoding : {"gzip", "zstd"}) {
    std::string bucket = new_bucket();
    auto p = make_pipeline("input { generator { count => 1000000 message => '" + line + "' } }\n"
                           "output { s3 { id => 'bench' " + connection(bucket) + " encoding => '" + encoding +
                           "' size_file => 8388608 } }",
                           rt_test::settings(1, 500, 50));
    struct rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
    auto wall = std::chrono::steady_clock::now();
    p->start();
    ASSERT_TRUE(p->wait_for(600000));
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
    getrusage(RUSAGE_SELF, &after);
    auto cpu = [](const struct rusage& r) {
      return double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + double(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
    };
    uint64_t bytes = 0, objects = 0;
    for (auto& plugin : p->metrics().plugins) {
      if (plugin->id != "bench") continue;
      for (auto& [name, value] : plugin->counters()) {
        if (name == "bytes_uploaded") bytes = value;
        if (name == "objects_uploaded") objects = value;
      }
    }
    std::printf("s3 output %s: 1M events, %.2f CPU-s (whole process), %.2f s wall, %llu objects, %llu bytes sent\n",
                encoding.c_str(), cpu(after) - cpu(before), seconds, (unsigned long long)objects,
                (unsigned long long)bytes);
    EXPECT_GT(bytes, 0u);
  }
}

}  // namespace
}  // namespace sluice
