// The elasticsearch output end to end, against tests/support/fake_elasticsearch: a STAND-IN for
// Elasticsearch (no real one runs here) that follows the documented _bulk request and response
// formats and can be scripted per test (per-item statuses, whole-request failures, slow
// responses, connection resets, auth).
//
// The tests named `*RealCapable` only need what any Elasticsearch/OpenSearch offers: set
// SLUICE_TEST_ES_URL=http://host:9200 (and SLUICE_TEST_ES_USER / SLUICE_TEST_ES_PASSWORD when it
// needs auth, SLUICE_TEST_ES_CA=/path/http_ca.crt for an https URL signed by its own CA, as
// Elasticsearch 8 sets itself up) and they run against that server instead, checking the result
// with _refresh and _count. Scenario tests that script failures always use the stand-in.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <map>

#include <fmt/format.h>
#include <filesystem>
#include <set>

#include "core/json.h"
#include "support/fake_elasticsearch.h"
#include "net/http_client.h"
#include "pipeline_test_plugins.h"
#include "runtime/dlq.h"
#include "test_support.h"

namespace sluice {
namespace {

using namespace rt_test;
using test::FakeElasticsearch;
using test::FakeItemReply;
using test::FakeRequestFault;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Where the real-capable tests write: the real server when SLUICE_TEST_ES_URL is set, else a stand-in.
struct Target {
  std::unique_ptr<FakeElasticsearch> fake;
  std::string url;
  std::string auth_options;  // user/password options for the output
  net::HttpClientOptions client;
};

Target make_target() {
  Target t;
  t.url = env("SLUICE_TEST_ES_URL");
  if (t.url.empty()) {
    t.fake = std::make_unique<FakeElasticsearch>();
    t.fake->start();
    t.url = t.fake->url();
  } else {
    if (!env("SLUICE_TEST_ES_USER").empty()) {
      t.auth_options = fmt::format(" user => '{}' password => '{}' ", env("SLUICE_TEST_ES_USER"), env("SLUICE_TEST_ES_PASSWORD"));
      t.client.user = env("SLUICE_TEST_ES_USER");
      t.client.password = env("SLUICE_TEST_ES_PASSWORD");
    }
    if (!env("SLUICE_TEST_ES_CA").empty()) {
      t.auth_options += fmt::format(" ssl_certificate_authorities => ['{}'] ", env("SLUICE_TEST_ES_CA"));
      t.client.ca_file = env("SLUICE_TEST_ES_CA");
    }
  }
  return t;
}

// Documents in `index` as the server's _count API reports them (after a refresh).
int64_t count_documents(const Target& t, const std::string& index) {
  net::HttpClient client(t.client);
  net::HttpRequest refresh;
  refresh.method = "POST";
  refresh.url = t.url + "/" + index + "/_refresh";
  client.perform(refresh);
  net::HttpRequest count;
  count.url = t.url + "/" + index + "/_count";
  net::HttpResponse response = client.perform(count);
  Value v;
  if (!response.success() || !json_parse(response.body, v) || !v.is_object()) return -1;
  const Value* n = v.as_object().find("count");
  return n && n->is_int() ? n->as_int() : -1;
}

std::string fast_retries() { return " retry_initial_interval => 0.02 retry_max_interval => 0.1 resurrect_delay => 0.1 "; }

void run_to_end(Pipeline& p) {
  p.start();
  ASSERT_TRUE(p.wait_for(60000)) << "pipeline did not finish";
}

std::string unique_index(const std::string& prefix) {
  static int n = 0;
  return fmt::format("sluice-test-{}-{}-{}", prefix, ::getpid(), ++n);
}

// The seq field of each stored document (from its source).
std::multiset<int64_t> stored_seqs(const FakeElasticsearch& es) {
  std::multiset<int64_t> out;
  for (const auto& doc : es.documents()) {
    Value v;
    if (json_parse(doc.source, v) && v.is_object())
      if (const Value* seq = v.as_object().find("seq"); seq && seq->is_int()) out.insert(seq->as_int());
  }
  return out;
}

TEST(ElasticsearchOutput, IndexesEveryEventRealCapable) {
  Target target = make_target();
  std::string index = unique_index("all");
  auto key = unique_key("es_all");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 500 chunk => 25 } }\n"
                         "output { elasticsearch { hosts => ['" + target.url + "'] index => '" + index + "' " +
                         target.auth_options + fast_retries() + " } }",
                         settings(2, 50, 5));
  run_to_end(*p);
  EXPECT_EQ(source(key)->acked_events.load(), 500u);
  EXPECT_EQ(count_documents(target, index), 500);
  if (target.fake) {
    auto seqs = stored_seqs(*target.fake);
    EXPECT_EQ(seqs.size(), 500u);
    EXPECT_EQ(std::set<int64_t>(seqs.begin(), seqs.end()).size(), 500u);
    // Compressed by default (compression_level 1), in batches, never one request per event.
    auto requests = target.fake->requests();
    size_t bulks = 0, wire = 0, decoded = 0;
    for (const auto& r : requests) {
      if (!r.path.ends_with("_bulk")) continue;
      ++bulks;
      EXPECT_TRUE(r.gzip);
      wire += r.wire_bytes;
      decoded += r.body_bytes;
    }
    EXPECT_LT(wire * 2, decoded);
    EXPECT_GE(bulks, 10u);  // 500 events in batches of at most 50, one request per batch
    // Keep-alive: one connection per concurrent writer (2 workers) plus the test's _count client,
    // not one per request.
    EXPECT_LE(target.fake->connections(), 3u);
  }
}

TEST(ElasticsearchOutput, UncompressedWhenCompressionIsOffRealCapable) {
  Target target = make_target();
  std::string index = unique_index("plain");
  auto key = unique_key("es_plain");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 100 } }\n"
                         "output { elasticsearch { hosts => ['" + target.url + "'] index => '" + index +
                         "' http_compression => false " + target.auth_options + fast_retries() + " } }");
  run_to_end(*p);
  EXPECT_EQ(count_documents(target, index), 100);
  if (target.fake) {
    for (const auto& r : target.fake->requests()) {
      if (!r.path.ends_with("_bulk")) continue;
      EXPECT_FALSE(r.gzip);
      EXPECT_EQ(r.wire_bytes, r.body_bytes);
    }
  }
}

TEST(ElasticsearchOutput, IndexSprintfAndDocumentIdRealCapable) {
  Target target = make_target();
  std::string base = unique_index("fmt");
  auto key = unique_key("es_fmt");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 40 } }\n"
                         "filter { if [seq] < 10 { mutate { add_field => { 'kind' => 'web' } } } else { mutate { add_field => { 'kind' => 'db' } } } }\n"
                         "output { elasticsearch { hosts => ['" + target.url + "'] index => '" + base +
                         "-%{kind}-%{+YYYY}' document_id => 'doc-%{seq}' " + target.auth_options + fast_retries() + " } }");
  run_to_end(*p);
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::string year = std::to_string(1900 + utc.tm_year);  // the events' @timestamp is "now"
  if (target.fake) {
    auto docs = target.fake->documents();
    ASSERT_EQ(docs.size(), 40u);
    std::set<std::string> indices, ids;
    for (const auto& d : docs) {
      indices.insert(d.index);
      ids.insert(d.id);
    }
    EXPECT_EQ(indices.size(), 2u);
    EXPECT_TRUE(indices.begin()->starts_with(base + "-db-"));
    EXPECT_EQ(ids.count("doc-0"), 1u);
    EXPECT_EQ(ids.count("doc-39"), 1u);
    EXPECT_TRUE(docs.front().index.ends_with(year)) << docs.front().index;
  }
  EXPECT_EQ(count_documents(target, base + "-web-" + year), 10);
  EXPECT_EQ(count_documents(target, base + "-db-" + year), 30);
}

TEST(ElasticsearchOutput, MixedItemResultsRetryOnlyTheFailedOnes) {
  FakeElasticsearch es;
  es.start();
  // seq % 5 == 0: 429 on the first attempt; seq % 7 == 0: mapping error (400) every time.
  es.set_item_script([](const test::FakeBulkItem& item, int attempt) -> std::optional<FakeItemReply> {
    Value v;
    if (!json_parse(item.source, v) || !v.is_object()) return std::nullopt;
    int64_t seq = v.as_object().find("seq")->as_int();
    if (seq % 7 == 0) return FakeItemReply{400, "mapper_parsing_exception", "failed to parse field [seq] of type [date]"};
    if (seq % 5 == 0 && attempt == 0) return FakeItemReply{429, "es_rejected_execution_exception", "rejected execution"};
    return std::nullopt;
  });
  test::TempDir dlq_dir;
  PipelineSettings s = settings(1, 100, 5);
  s.dead_letter_queue.enabled = true;
  s.dead_letter_queue.path = dlq_dir.path().string();
  s.dead_letter_queue.flush_interval_ms = 50;
  s.id = "mixed";
  auto key = unique_key("es_mixed");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 100 chunk => 100 } }\n"
                         "output { elasticsearch { id => 'es_out' hosts => ['" + es.url() + "'] index => 'mixed' " +
                         fast_retries() + " } }",
                         s);
  run_to_end(*p);
  EXPECT_EQ(source(key)->acked_events.load(), 100u);
  // 15 multiples of 7 in 0..99 were refused for good; everything else is stored once.
  auto seqs = stored_seqs(es);
  EXPECT_EQ(seqs.size(), 85u);
  for (int64_t seq : seqs) EXPECT_NE(seq % 7, 0);
  // Only the 429s (multiples of 5, not of 7: 17 of them) were sent a second time.
  std::map<int64_t, int> sent;
  for (const auto& item : es.bulk_items()) {
    Value v;
    ASSERT_TRUE(json_parse(item.source, v));
    sent[v.as_object().find("seq")->as_int()]++;
  }
  for (const auto& [seq, times] : sent) {
    bool retried = seq % 5 == 0 && seq % 7 != 0;
    EXPECT_EQ(times, retried ? 2 : 1) << "seq " << seq;
  }
  // The 400s are in the DLQ with the reason and the error Elasticsearch gave.
  auto segments = list_dead_letter_segments(dlq_dir.file("mixed"));
  std::vector<DeadLetterEntry> entries;
  for (const auto& seg : segments)
    for (const auto& line : test::read_lines(seg.path)) {
      DeadLetterEntry e;
      if (!line.empty() && parse_dead_letter_entry(line, e)) entries.push_back(std::move(e));
    }
  ASSERT_EQ(entries.size(), 15u);
  EXPECT_EQ(entries[0].plugin_type, "elasticsearch");
  EXPECT_EQ(entries[0].plugin_id, "es_out");
  EXPECT_NE(entries[0].reason.find("status: 400"), std::string::npos) << entries[0].reason;
  EXPECT_NE(entries[0].reason.find("mapper_parsing_exception"), std::string::npos) << entries[0].reason;
  EXPECT_EQ(entries[0].fields.find("seq")->as_int() % 7, 0);
  EXPECT_EQ(p->metrics().dead_letter_queue.events_written.load(), 15u);
}

TEST(ElasticsearchOutput, ConflictOnCreateCountsAsDone) {
  FakeElasticsearch es;
  es.start();
  test::TempDir dlq_dir;
  PipelineSettings s = settings(1, 50, 5);
  s.dead_letter_queue.enabled = true;
  s.dead_letter_queue.path = dlq_dir.path().string();
  // Run twice with the same ids: the second run's creates all answer 409.
  for (int run = 0; run < 2; ++run) {
    auto key = unique_key("es_409");
    auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 60 } }\n"
                           "output { elasticsearch { hosts => ['" + es.url() + "'] index => 'dedup' action => 'create' "
                           "document_id => '%{seq}' " + fast_retries() + " } }",
                           s);
    run_to_end(*p);
    EXPECT_EQ(source(key)->acked_events.load(), 60u);
  }
  EXPECT_EQ(es.document_count(), 60u);
  EXPECT_EQ(es.bulk_items().size(), 120u);  // no retry of the conflicts
  EXPECT_TRUE(list_dead_letter_segments(dlq_dir.file("main")).empty());
}

// 404 (an update of a missing document) and the codes of dlq_custom_codes go to the DLQ; other
// 4xx codes are retried like 429.
TEST(ElasticsearchOutput, NotFoundAndCustomCodesGoToTheDlq) {
  FakeElasticsearch es;
  es.start();
  es.set_item_script([](const test::FakeBulkItem& item, int attempt) -> std::optional<FakeItemReply> {
    Value v;
    if (!json_parse(item.source, v) || !v.is_object()) return std::nullopt;
    const Value* doc = v.as_object().find("doc");
    int64_t seq = doc && doc->is_object() ? doc->as_object().find("seq")->as_int() : -1;
    if (seq % 4 == 1) return FakeItemReply{403, "security_exception", "action [indices:data/write/update] is unauthorized"};
    if (seq % 4 == 2 && attempt == 0) return FakeItemReply{408, "timeout_exception", "try again"};
    return std::nullopt;  // seq % 4 == 0 or 3: update of a missing document: 404 from the stand-in itself
  });
  test::TempDir dlq_dir;
  PipelineSettings s = settings(1, 40, 5);
  s.dead_letter_queue.enabled = true;
  s.dead_letter_queue.path = dlq_dir.path().string();
  s.dead_letter_queue.flush_interval_ms = 50;
  auto key = unique_key("es_custom");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 40 chunk => 40 } }\n"
                         "output { elasticsearch { hosts => ['" + es.url() + "'] index => 'u' action => 'update' "
                         "document_id => 'd%{seq}' dlq_custom_codes => [403] " + fast_retries() + " } }",
                         s);
  run_to_end(*p);
  EXPECT_EQ(source(key)->acked_events.load(), 40u);
  std::map<int64_t, std::string> reasons;
  for (const auto& seg : list_dead_letter_segments(dlq_dir.file("main")))
    for (const auto& line : test::read_lines(seg.path)) {
      DeadLetterEntry e;
      if (!line.empty() && parse_dead_letter_entry(line, e)) reasons[e.fields.find("seq")->as_int()] = e.reason;
    }
  // Every event ends in the DLQ: 403 (custom), 404 (missing), and the 408s after their retry found the document missing.
  ASSERT_EQ(reasons.size(), 40u);
  for (const auto& [seq, reason] : reasons) {
    if (seq % 4 == 1) {
      EXPECT_NE(reason.find("status: 403"), std::string::npos) << reason;
    } else {
      EXPECT_NE(reason.find("status: 404"), std::string::npos) << reason;
      EXPECT_NE(reason.find("document_missing_exception"), std::string::npos) << reason;
    }
  }
  size_t sent_408_twice = 0;
  std::map<std::string, int> attempts;
  for (const auto& item : es.bulk_items()) attempts[item.id]++;
  for (const auto& [id, n] : attempts) sent_408_twice += n == 2 ? 1 : 0;
  EXPECT_EQ(sent_408_twice, 10u);  // only the 408s were sent again
  EXPECT_EQ(attempts.size(), 40u);
}

TEST(ElasticsearchOutput, RejectedWithoutDlqIsDroppedAndAcked) {
  FakeElasticsearch es;
  es.start();
  es.set_item_script([](const test::FakeBulkItem&, int) -> std::optional<FakeItemReply> {
    return FakeItemReply{400, "mapper_parsing_exception", "nope"};
  });
  auto key = unique_key("es_drop");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 20 } }\n"
                         "output { elasticsearch { hosts => ['" + es.url() + "'] index => 'x' " + fast_retries() + " } }");
  run_to_end(*p);
  EXPECT_EQ(source(key)->acked_events.load(), 20u);
  EXPECT_EQ(es.document_count(), 0u);
  EXPECT_EQ(es.bulk_items().size(), 20u);
}

TEST(ElasticsearchOutput, WholeRequestFailureIsRetriedAndNothingIsAckedUntilItSucceeds) {
  FakeElasticsearch es;
  es.start();
  es.set_reject_all(503);
  auto key = unique_key("es_503");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 50 chunk => 10 } }\n"
                         "output { elasticsearch { hosts => ['" + es.url() + "'] index => 'later' " + fast_retries() + " } }",
                         settings(1, 50, 5));
  p->start();
  ASSERT_TRUE(test_wait([&] { return es.bulk_requests() >= 4; }));
  EXPECT_EQ(source(key)->acked_events.load(), 0u);
  EXPECT_EQ(es.document_count(), 0u);
  es.set_reject_all(0);
  ASSERT_TRUE(p->wait_for(60000));
  EXPECT_EQ(source(key)->acked_events.load(), 50u);
  EXPECT_EQ(stored_seqs(es).size(), 50u);
}

TEST(ElasticsearchOutput, ConnectionResetIsRetried) {
  FakeElasticsearch es;
  es.start();
  es.push_fault(FakeRequestFault::reset());
  es.push_fault(FakeRequestFault::reset());
  auto key = unique_key("es_reset");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 30 } }\n"
                         "output { elasticsearch { hosts => ['" + es.url() + "'] index => 'reset' document_id => '%{seq}' " +
                         fast_retries() + " } }",
                         settings(1, 30, 5));
  run_to_end(*p);
  EXPECT_EQ(source(key)->acked_events.load(), 30u);
  EXPECT_EQ(es.document_count(), 30u);
  EXPECT_GE(es.bulk_requests(), 3u);
}

TEST(ElasticsearchOutput, SlowResponseTimesOutAndIsRetried) {
  FakeElasticsearch es;
  es.start();
  es.push_fault(FakeRequestFault::delay(2500));
  auto key = unique_key("es_slow");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 10 } }\n"
                         "output { elasticsearch { hosts => ['" + es.url() + "'] index => 'slow' document_id => '%{seq}' "
                         "timeout => 1 " + fast_retries() + " } }",
                         settings(1, 10, 5));
  run_to_end(*p);
  EXPECT_EQ(source(key)->acked_events.load(), 10u);
  EXPECT_EQ(es.document_count(), 10u);  // the late answer of the slow request overwrote by _id
  EXPECT_GE(es.bulk_requests(), 2u);
}

TEST(ElasticsearchOutput, BasicAuth) {
  FakeElasticsearch es({"elastic", "s3cret", ""});
  es.start();
  auto key = unique_key("es_auth");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 10 } }\n"
                         "output { elasticsearch { hosts => ['" + es.url() + "'] index => 'auth' user => 'elastic' "
                         "password => 's3cret' " + fast_retries() + " } }");
  run_to_end(*p);
  EXPECT_EQ(es.document_count(), 10u);
  bool saw_basic = false;
  for (const auto& r : es.requests()) saw_basic = saw_basic || r.authorization.starts_with("Basic ");
  EXPECT_TRUE(saw_basic);
}

TEST(ElasticsearchOutput, WrongPasswordIsRetriedNotAcked) {
  FakeElasticsearch es({"elastic", "s3cret", ""});
  es.start();
  auto key = unique_key("es_badauth");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 10 } }\n"
                         "output { elasticsearch { hosts => ['" + es.url() + "'] index => 'auth' user => 'elastic' "
                         "password => 'wrong' " + fast_retries() + " } }");
  p->start();
  ASSERT_TRUE(test_wait([&] { return es.bulk_requests() >= 3; }));
  EXPECT_EQ(es.document_count(), 0u);
  EXPECT_EQ(source(key)->acked_events.load(), 0u);
  p->request_stop();
  ASSERT_TRUE(p->wait_for(60000));  // gives up after a few attempts once stopping
  EXPECT_EQ(source(key)->acked_events.load(), 0u);  // left for the source to deliver again
}

TEST(ElasticsearchOutput, ApiKey) {
  FakeElasticsearch es({"", "", "my-id:my-key"});
  es.start();
  auto key = unique_key("es_apikey");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 10 } }\n"
                         "output { elasticsearch { hosts => ['" + es.url() + "'] index => 'k' api_key => 'my-id:my-key' " +
                         fast_retries() + " } }");
  run_to_end(*p);
  EXPECT_EQ(es.document_count(), 10u);
}

TEST(ElasticsearchOutput, FailsOverToTheNextHost) {
  FakeElasticsearch down;
  down.start();
  std::string down_url = down.url();
  down.stop();  // nothing listens there any more
  FakeElasticsearch up;
  up.start();
  auto key = unique_key("es_failover");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 200 chunk => 10 } }\n"
                         "output { elasticsearch { hosts => ['" + down_url + "', '" + up.url() + "'] index => 'fo' " +
                         fast_retries() + " } }",
                         settings(2, 20, 5));
  run_to_end(*p);
  EXPECT_EQ(source(key)->acked_events.load(), 200u);
  EXPECT_EQ(stored_seqs(up).size(), 200u);
}

TEST(ElasticsearchOutput, HostComesBackAfterHealthCheck) {
  FakeElasticsearch a, b;
  a.start();
  b.start();
  int a_port = a.port();
  auto key = unique_key("es_back");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 0 chunk => 5 } }\n"
                         "output { elasticsearch { hosts => ['" + a.url() + "', '" + b.url() + "'] index => 'hb' " +
                         fast_retries() + " } }",
                         settings(1, 5, 5));
  p->start();
  ASSERT_TRUE(test_wait([&] { return a.document_count() > 0 && b.document_count() > 0; }));
  a.stop();
  size_t b_before = b.document_count();
  ASSERT_TRUE(test_wait([&] { return b.document_count() > b_before + 20; }));  // b takes everything
  FakeElasticsearch a2;
  a2.start(a_port);  // a is back on the same port
  ASSERT_TRUE(test_wait([&] { return a2.document_count() > 0; }, 30000));
  bool checked = false;
  for (const auto& r : a2.requests()) checked = checked || (r.method == "GET" && r.path == "/");
  EXPECT_TRUE(checked);  // it was health-checked before being used again
  p->request_stop();
  ASSERT_TRUE(p->wait_for(60000));
}

TEST(ElasticsearchOutput, DataStreamByDefaultUnderEcs) {
  FakeElasticsearch es;
  es.start();
  auto key = unique_key("es_ds");
  PipelineSettings s = settings(1, 20, 5);
  s.ecs_compatibility = "v8";
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 20 } }\n"
                         "filter { if [seq] < 5 { mutate { add_field => { '[data_stream][dataset]' => 'nginx' } } } }\n"
                         "output { elasticsearch { hosts => ['" + es.url() + "'] " + fast_retries() + " } }",
                         s);
  run_to_end(*p);
  auto items = es.bulk_items();
  ASSERT_EQ(items.size(), 20u);
  size_t nginx = 0;
  for (const auto& item : items) {
    EXPECT_EQ(item.action, "create");
    Value v;
    ASSERT_TRUE(json_parse(item.source, v));
    const Value* ds = v.as_object().find("data_stream");
    ASSERT_NE(ds, nullptr) << item.source;
    std::string dataset = ds->as_object().find("dataset")->as_string();
    EXPECT_EQ(ds->as_object().find("type")->as_string(), "logs");
    EXPECT_EQ(ds->as_object().find("namespace")->as_string(), "default");
    EXPECT_EQ(item.index, "logs-" + dataset + "-default");
    nginx += dataset == "nginx" ? 1 : 0;
  }
  EXPECT_EQ(nginx, 5u);
}

TEST(ElasticsearchOutput, DefaultIndexWithoutEcs) {
  FakeElasticsearch es;
  es.start();
  auto key = unique_key("es_legacy");
  PipelineSettings s = settings(1, 20, 5);
  s.ecs_compatibility = "disabled";
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 3 } }\n"
                         "output { elasticsearch { hosts => ['" + es.url() + "'] " + fast_retries() + " } }",
                         s);
  run_to_end(*p);
  auto items = es.bulk_items();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].action, "index");
  EXPECT_TRUE(items[0].index.starts_with("logstash-")) << items[0].index;
  EXPECT_EQ(items[0].index.size(), std::string("logstash-2024.01.01").size());
}

TEST(ElasticsearchOutput, UpdateUpsertDeleteRoutingPipeline) {
  FakeElasticsearch es;
  es.start();
  auto key = unique_key("es_actions");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 10 } }\n"
                         "filter { if [seq] < 3 { mutate { add_field => { '[@metadata][action]' => 'delete' } } } "
                         "else { mutate { add_field => { '[@metadata][action]' => 'update' } } } }\n"
                         "output { elasticsearch { hosts => ['" + es.url() + "'] index => 'acts' action => '%{[@metadata][action]}' "
                         "document_id => 'id-%{seq}' doc_as_upsert => true routing => 'r%{seq}' pipeline => 'ingest-a' " +
                         fast_retries() + " } }",
                         settings(1, 10, 5));
  run_to_end(*p);
  EXPECT_EQ(source(key)->acked_events.load(), 10u);  // the deletes of missing docs (404) went nowhere
  EXPECT_EQ(es.document_count(), 7u);
  for (const auto& item : es.bulk_items()) {
    if (item.action == "update") {
      EXPECT_NE(item.source.find("\"doc_as_upsert\":true"), std::string::npos);
      EXPECT_NE(item.action_line.find("\"retry_on_conflict\":1"), std::string::npos);
      EXPECT_EQ(item.pipeline, "ingest-a");
    } else {
      EXPECT_EQ(item.action, "delete");
      EXPECT_TRUE(item.source.empty());
    }
    EXPECT_TRUE(item.routing.starts_with("r"));
    EXPECT_EQ(item.source.find("@metadata"), std::string::npos);
  }
}

TEST(ElasticsearchOutput, UnresolvedIndexGoesToTheDlq) {
  FakeElasticsearch es;
  es.start();
  test::TempDir dlq_dir;
  PipelineSettings s = settings(1, 20, 5);
  s.dead_letter_queue.enabled = true;
  s.dead_letter_queue.path = dlq_dir.path().string();
  auto key = unique_key("es_badindex");
  auto p = make_pipeline("input { rt_source { key => '" + key + "' count => 20 } }\n"
                         "filter { if [seq] >= 5 { mutate { add_field => { 'app' => 'shop' } } } }\n"
                         "output { elasticsearch { hosts => ['" + es.url() + "'] index => 'logs-%{app}' " + fast_retries() + " } }",
                         s);
  run_to_end(*p);
  EXPECT_EQ(source(key)->acked_events.load(), 20u);
  EXPECT_EQ(es.document_count(), 15u);
  size_t entries = 0;
  for (const auto& seg : list_dead_letter_segments(dlq_dir.file("main")))
    for (const auto& line : test::read_lines(seg.path)) {
      DeadLetterEntry e;
      if (line.empty() || !parse_dead_letter_entry(line, e)) continue;
      ++entries;
      EXPECT_NE(e.reason.find("Badly formatted index"), std::string::npos) << e.reason;
      EXPECT_NE(e.reason.find("logs-%{app}"), std::string::npos) << e.reason;
    }
  EXPECT_EQ(entries, 5u);
}

}  // namespace
}  // namespace sluice
