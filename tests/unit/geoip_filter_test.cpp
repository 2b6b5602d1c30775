// The databases are built by the test itself (tests/support/mmdb_writer: MaxMind::DB::Writer::Tree).
#include <gtest/gtest.h>

#include "config/parser.h"
#include "parsers_test_support.h"
#include "runtime/metrics.h"
#include "support/mmdb_writer.h"
#include "test_support.h"

namespace sluice {
namespace {

using test::field_text;

const char* const kParis =
    R"({"city":{"names":{"en":"Paris"}},"continent":{"code":"EU","names":{"en":"Europe"}},)"
    R"("country":{"iso_code":"FR","names":{"en":"France"}},"postal":{"code":"75001"},)"
    R"("location":{"latitude":48.8566,"longitude":2.3522,"metro_code":5,"time_zone":"Europe/Paris"},)"
    R"("subdivisions":[{"iso_code":"IDF","names":{"en":"Ile-de-France"}},{"iso_code":"75","names":{"en":"Paris"}}]})";
const char* const kLondon =
    R"({"city":{"names":{"en":"London"}},"country":{"iso_code":"GB","names":{"en":"United Kingdom"}},)"
    R"("location":{"latitude":51.5,"longitude":-0.12}})";
const char* const kCountryOnly = R"({"country":{"iso_code":"DE","names":{"en":"Germany"}}})";

class GeoipFilterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    city_ = dir_->file("city.mmdb");
    asn_ = dir_->file("asn.mmdb");
    country_ = dir_->file("country.mmdb");
    anonymous_ = dir_->file("anonymous.mmdb");
    odd_ = dir_->file("odd.mmdb");
    errors_ += test::write_mmdb(city_, "GeoLite2-City",
                                {{"192.0.2.0/24", kParis}, {"2001:db8::/32", kLondon}, {"198.51.100.0/24", kCountryOnly}},
                                dir_->path().string());
    errors_ += test::write_mmdb(asn_, "GeoLite2-ASN",
                                {{"192.0.2.0/24", R"({"autonomous_system_number":64500,"autonomous_system_organization":"Example Net"})"}},
                                dir_->path().string());
    errors_ += test::write_mmdb(country_, "GeoLite2-Country",
                                {{"192.0.2.0/24", R"({"country":{"iso_code":"FR","names":{"en":"France"}},"continent":{"code":"EU","names":{"en":"Europe"}}})"}},
                                dir_->path().string());
    errors_ += test::write_mmdb(anonymous_, "GeoIP2-Anonymous-IP",
                                {{"192.0.2.0/25", R"({"is_anonymous":true,"is_tor_exit_node":true})"}},
                                dir_->path().string());
    errors_ += test::write_mmdb(odd_, "Some-Other-DB", {{"192.0.2.0/24", R"({"x":"y"})"}}, dir_->path().string());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(errors_, "") << "building the test databases failed (libmaxmind-db-writer-perl)"; }

  struct Built {
    PluginMetrics metrics;
    std::unique_ptr<Filter> filter;
  };
  static std::unique_ptr<Built> build(const std::string& body, const std::string& ecs = "disabled") {
    auto built = std::make_unique<Built>();
    Options options = test::plugin_options(PluginKind::Filter, "filter", "geoip", body);
    PluginContext context;
    context.id = "geoip_test";
    context.settings = test::settings_for(ecs);
    context.metrics = &built->metrics;
    built->filter = Registry::instance().find(PluginKind::Filter, "geoip")->filter(options, context);
    return built;
  }
  static std::unique_ptr<Event> run(Filter& filter, const std::string& field, Value value, bool* matched = nullptr) {
    auto event = test::event_with_message("m");
    event->set(FieldRef::of(field), std::move(value));
    test::TestFilterContext context;
    const bool result = filter.filter(*event, context);
    if (matched) *matched = result;
    return event;
  }

  static inline test::TempDir* dir_ = nullptr;
  static inline std::string city_, asn_, country_, anonymous_, odd_, errors_;
};

TEST_F(GeoipFilterTest, CityLegacyLayout) {
  auto f = build(R"(source => "ip" database => ")" + city_ + "\"");
  bool matched = false;
  auto e = run(*f->filter, "ip", Value("192.0.2.10"), &matched);
  EXPECT_TRUE(matched);
  EXPECT_EQ(field_text(*e, "[geoip][ip]"), "192.0.2.10");
  EXPECT_EQ(field_text(*e, "[geoip][city_name]"), "Paris");
  EXPECT_EQ(field_text(*e, "[geoip][continent_code]"), "EU");
  EXPECT_EQ(field_text(*e, "[geoip][country_name]"), "France");
  EXPECT_EQ(field_text(*e, "[geoip][country_code2]"), "FR");
  EXPECT_EQ(field_text(*e, "[geoip][country_code3]"), "FR");
  EXPECT_EQ(field_text(*e, "[geoip][postal_code]"), "75001");
  EXPECT_EQ(test::field(*e, "[geoip][dma_code]")->as_int(), 5);
  // The most specific subdivision is the last one.
  EXPECT_EQ(field_text(*e, "[geoip][region_name]"), "Paris");
  EXPECT_EQ(field_text(*e, "[geoip][region_iso_code]"), "FR-75");
  EXPECT_EQ(field_text(*e, "[geoip][timezone]"), "Europe/Paris");
  EXPECT_DOUBLE_EQ(test::field(*e, "[geoip][location][lat]")->as_float(), 48.8566);
  EXPECT_DOUBLE_EQ(test::field(*e, "[geoip][location][lon]")->as_float(), 2.3522);
  EXPECT_DOUBLE_EQ(test::field(*e, "[geoip][latitude]")->as_float(), 48.8566);
  EXPECT_DOUBLE_EQ(test::field(*e, "[geoip][longitude]")->as_float(), 2.3522);
  EXPECT_EQ(test::field(*e, "[geoip][region_code]"), nullptr);  // not a default field
  EXPECT_FALSE(e->has_tag("_geoip_lookup_failure"));
}

// Events take the cached result by reference (Value::share): a later write to one event's
// copy (mutate, another filter) must reach neither the cache nor the other events.
TEST_F(GeoipFilterTest, WritingToOneEventsResultLeavesTheCachedOneAlone) {
  for (const char* ecs : {"disabled", "v8"}) {
    const bool legacy = std::string(ecs) == "disabled";
    auto f = build(std::string(legacy ? R"(source => "ip")" : R"(source => "[source][ip]")") + R"( database => ")" +
                       city_ + "\"",
                   ecs);
    const std::string source = legacy ? "ip" : "[source][ip]";
    const std::string city = legacy ? "[geoip][city_name]" : "[source][geo][city_name]";
    auto first = run(*f->filter, source, Value("192.0.2.10"));
    first->put(FieldRef::of(city)).set_string("Lyon");
    first->get(FieldRef::of(legacy ? "[geoip][location]" : "[source][geo][location]"))->as_object().clear();
    auto second = run(*f->filter, source, Value("192.0.2.10"));
    EXPECT_TRUE(test::field(*second, legacy ? "geoip" : "[source][geo]")->is_shared()) << ecs;
    EXPECT_EQ(field_text(*second, city), "Paris") << ecs;
    EXPECT_DOUBLE_EQ(test::field(*second, legacy ? "[geoip][location][lat]" : "[source][geo][location][lat]")->as_float(),
                     48.8566)
        << ecs;
    EXPECT_EQ(field_text(*first, city), "Lyon") << ecs;
  }
}

TEST_F(GeoipFilterTest, CityEcsLayoutWithTargetFromSource) {
  auto f = build(R"(source => "[source][ip]" database => ")" + city_ + "\"", "v8");
  auto e = run(*f->filter, "[source][ip]", Value("192.0.2.10"));
  EXPECT_EQ(field_text(*e, "[source][ip]"), "192.0.2.10");
  EXPECT_EQ(field_text(*e, "[source][geo][city_name]"), "Paris");
  EXPECT_EQ(field_text(*e, "[source][geo][country_iso_code]"), "FR");
  EXPECT_EQ(field_text(*e, "[source][geo][country_name]"), "France");
  EXPECT_EQ(field_text(*e, "[source][geo][continent_code]"), "EU");
  EXPECT_EQ(field_text(*e, "[source][geo][region_iso_code]"), "FR-75");
  EXPECT_EQ(field_text(*e, "[source][geo][postal_code]"), "75001");
  EXPECT_EQ(field_text(*e, "[source][geo][timezone]"), "Europe/Paris");
  EXPECT_EQ(test::field(*e, "[source][mmdb][dma_code]")->as_int(), 5);
  EXPECT_DOUBLE_EQ(test::field(*e, "[source][geo][location][lat]")->as_float(), 48.8566);
  EXPECT_DOUBLE_EQ(test::field(*e, "[source][geo][location][lon]")->as_float(), 2.3522);
  EXPECT_EQ(test::field(*e, "[source][geo][country_code3]"), nullptr);  // no ECS name: skipped
}

TEST_F(GeoipFilterTest, EcsNeedsTargetUnlessSourceIsAnIpSubfield) {
  EXPECT_THROW(build(R"(source => "clientip" database => ")" + city_ + "\"", "v8"), config::ConfigError);
  auto f = build(R"(source => "clientip" target => "[client]" database => ")" + city_ + "\"", "v8");
  auto e = run(*f->filter, "clientip", Value("192.0.2.10"));
  EXPECT_EQ(field_text(*e, "[client][geo][city_name]"), "Paris");
}

TEST_F(GeoipFilterTest, Ipv6AddressPrintedTheJavaWay) {
  auto f = build(R"(source => "ip" database => ")" + city_ + "\"");
  auto e = run(*f->filter, "ip", Value("2001:db8::1"));
  EXPECT_EQ(field_text(*e, "[geoip][ip]"), "2001:db8:0:0:0:0:0:1");
  EXPECT_EQ(field_text(*e, "[geoip][city_name]"), "London");
}

TEST_F(GeoipFilterTest, SelectedFieldsOnly) {
  auto f = build(R"(source => "ip" fields => ["city_name", "REGION_CODE"] database => ")" + city_ + "\"");
  auto e = run(*f->filter, "ip", Value("192.0.2.10"));
  EXPECT_EQ(field_text(*e, "[geoip][city_name]"), "Paris");
  EXPECT_EQ(field_text(*e, "[geoip][region_code]"), "75");
  EXPECT_EQ(test::field(*e, "[geoip][ip]"), nullptr);
  EXPECT_EQ(test::field(*e, "[geoip][location]"), nullptr);
  EXPECT_THROW(build(R"(source => "ip" fields => ["nope"] database => ")" + city_ + "\""), config::ConfigError);
}

TEST_F(GeoipFilterTest, FailuresAreTagged) {
  auto f = build(R"(source => "ip" database => ")" + city_ + "\"");
  bool matched = true;
  auto missing = run(*f->filter, "ip", Value("203.0.113.1"), &matched);
  EXPECT_FALSE(matched);
  EXPECT_TRUE(missing->has_tag("_geoip_lookup_failure"));
  const Value* target = test::field(*missing, "geoip");
  ASSERT_NE(target, nullptr);  // Logstash leaves an empty target
  EXPECT_TRUE(target->is_object() && target->as_object().empty());
  EXPECT_TRUE(run(*f->filter, "ip", Value("not-an-ip"))->has_tag("_geoip_lookup_failure"));
  // A City record without a location counts as not found, as in Logstash.
  EXPECT_TRUE(run(*f->filter, "ip", Value("198.51.100.3"))->has_tag("_geoip_lookup_failure"));
  auto custom = build(R"(source => "ip" tag_on_failure => ["no_geo"] database => ")" + city_ + "\"");
  auto tagged = run(*custom->filter, "ip", Value("203.0.113.1"));
  EXPECT_TRUE(tagged->has_tag("no_geo"));
  EXPECT_FALSE(tagged->has_tag("_geoip_lookup_failure"));
  EXPECT_EQ(f->metrics.counter("lookup_failures").load(), 3u);
}

TEST_F(GeoipFilterTest, ArraySourceUsesFirstItem) {
  auto f = build(R"(source => "ip" database => ")" + city_ + "\"");
  auto e = run(*f->filter, "ip", Value(Array{Value("192.0.2.1"), Value("203.0.113.1")}));
  EXPECT_EQ(field_text(*e, "[geoip][city_name]"), "Paris");
}

TEST_F(GeoipFilterTest, AsnLegacyAndEcs) {
  auto legacy = build(R"(source => "ip" database => ")" + asn_ + "\"");
  auto e = run(*legacy->filter, "ip", Value("192.0.2.1"));
  EXPECT_EQ(test::field(*e, "[geoip][asn]")->as_int(), 64500);
  EXPECT_EQ(field_text(*e, "[geoip][as_org]"), "Example Net");
  EXPECT_EQ(field_text(*e, "[geoip][ip]"), "192.0.2.1");
  auto ecs = build(R"(source => "[destination][ip]" database => ")" + asn_ + "\"", "v1");
  auto d = run(*ecs->filter, "[destination][ip]", Value("192.0.2.1"));
  EXPECT_EQ(test::field(*d, "[destination][as][number]")->as_int(), 64500);
  EXPECT_EQ(field_text(*d, "[destination][as][organization][name]"), "Example Net");
}

TEST_F(GeoipFilterTest, CountryDatabase) {
  auto f = build(R"(source => "ip" database => ")" + country_ + "\"");
  auto e = run(*f->filter, "ip", Value("192.0.2.1"));
  EXPECT_EQ(field_text(*e, "[geoip][country_code2]"), "FR");
  EXPECT_EQ(field_text(*e, "[geoip][country_name]"), "France");
  EXPECT_EQ(field_text(*e, "[geoip][continent_name]"), "Europe");
}

TEST_F(GeoipFilterTest, AnonymousIpFlags) {
  auto f = build(R"(source => "ip" database => ")" + anonymous_ + "\"");
  auto e = run(*f->filter, "ip", Value("192.0.2.1"));
  EXPECT_TRUE(test::field(*e, "[geoip][anonymous]")->as_bool());
  EXPECT_TRUE(test::field(*e, "[geoip][tor_exit_node]")->as_bool());
  EXPECT_FALSE(test::field(*e, "[geoip][public_proxy]")->as_bool());
  auto with_network = build(R"(source => "ip" fields => ["network"] database => ")" + anonymous_ + "\"");
  EXPECT_EQ(field_text(*run(*with_network->filter, "ip", Value("192.0.2.77")), "[geoip][network]"), "192.0.2.0/25");
}

TEST_F(GeoipFilterTest, CacheCountsHitsAndMisses) {
  auto f = build(R"(source => "ip" cache_size => 10 database => ")" + city_ + "\"");
  run(*f->filter, "ip", Value("192.0.2.10"));
  auto again = run(*f->filter, "ip", Value("192.0.2.10"));
  EXPECT_EQ(field_text(*again, "[geoip][city_name]"), "Paris");
  EXPECT_EQ(f->metrics.counter("cache_misses").load(), 1u);
  EXPECT_EQ(f->metrics.counter("cache_hits").load(), 1u);
}

TEST_F(GeoipFilterTest, WorkingSetSmallerThanTheCacheIsLookedUpOnce) {
  auto f = build(R"(source => "ip" database => ")" + city_ + "\"");  // default cache_size 1000
  for (int round = 0; round < 3; ++round) {
    for (int host = 0; host < 256; ++host) {
      auto e = run(*f->filter, "ip", Value("192.0.2." + std::to_string(host)));
      ASSERT_EQ(field_text(*e, "[geoip][city_name]"), "Paris");
    }
  }
  EXPECT_EQ(f->metrics.counter("cache_misses").load(), 256u);
  EXPECT_EQ(f->metrics.counter("cache_hits").load(), 512u);
}

// The batch path: each event gets its own result and matched flag; the counters, added once per
// batch, still count every lookup; a blank address gets no target, an invalid one an empty target.
TEST_F(GeoipFilterTest, BatchMatchesTagsAndCountsEveryEvent) {
  auto f = build(R"(source => "ip" cache_size => 10 database => ")" + city_ + "\"");
  const std::vector<std::string> addresses = {"192.0.2.10", "203.0.113.1", "192.0.2.10", "  ", "2001:db8::1",
                                              "not-an-ip", "203.0.113.1"};
  std::vector<std::unique_ptr<Event>> events;
  std::vector<Event*> pointers;
  for (const std::string& address : addresses) {
    events.push_back(test::event_with_message("m"));
    events.back()->set(FieldRef::of("ip"), Value(address));
    pointers.push_back(events.back().get());
  }
  std::vector<char> matched;
  test::TestFilterContext context;
  f->filter->filter_batch(pointers, matched, context);
  ASSERT_EQ(matched.size(), addresses.size());
  EXPECT_EQ(std::vector<char>(matched.begin(), matched.end()), (std::vector<char>{1, 0, 1, 0, 1, 0, 0}));
  EXPECT_EQ(field_text(*events[0], "[geoip][city_name]"), "Paris");
  EXPECT_EQ(field_text(*events[2], "[geoip][city_name]"), "Paris");
  EXPECT_EQ(field_text(*events[4], "[geoip][city_name]"), "London");
  for (size_t i : {1, 3, 5, 6}) EXPECT_TRUE(events[i]->has_tag("_geoip_lookup_failure")) << i;
  EXPECT_FALSE(events[0]->has_tag("_geoip_lookup_failure"));
  EXPECT_EQ(test::field(*events[3], "geoip"), nullptr);  // blank: not even an empty target
  ASSERT_NE(test::field(*events[5], "geoip"), nullptr);  // invalid: an empty target, as Logstash
  EXPECT_TRUE(test::field(*events[5], "geoip")->as_object().empty());
  EXPECT_EQ(f->metrics.counter("cache_misses").load(), 3u);  // 192.0.2.10, 203.0.113.1, 2001:db8::1
  EXPECT_EQ(f->metrics.counter("cache_hits").load(), 2u);
  EXPECT_EQ(f->metrics.counter("lookup_failures").load(), 4u);
}

TEST_F(GeoipFilterTest, RecycledEventStorageTakesOnlyTheNewResult) {
  auto f = build(R"(source => "ip" database => ")" + city_ + "\"");
  auto event = run(*f->filter, "ip", Value("192.0.2.10"));
  ASSERT_EQ(field_text(*event, "[geoip][postal_code]"), "75001");
  // The same event again with another address: the Paris subtree's storage is reused, not kept.
  event->remove(FieldRef::of("geoip"));
  event->set(FieldRef::of("ip"), Value("2001:db8::1"));
  test::TestFilterContext context;
  EXPECT_TRUE(f->filter->filter(*event, context));
  EXPECT_EQ(field_text(*event, "[geoip][city_name]"), "London");
  EXPECT_EQ(field_text(*event, "[geoip][country_code2]"), "GB");
  EXPECT_EQ(test::field(*event, "[geoip][postal_code]"), nullptr);
  EXPECT_EQ(test::field(*event, "[geoip][region_name]"), nullptr);
  EXPECT_DOUBLE_EQ(test::field(*event, "[geoip][location][lat]")->as_number(), 51.5);
}

TEST_F(GeoipFilterTest, DatabaseErrors) {
  try {
    build(R"(source => "ip")");
    FAIL() << "no error without database";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bundles no GeoLite2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(build(R"(source => "ip" database => ")" + dir_->file("missing.mmdb") + "\""), config::ConfigError);
  EXPECT_THROW(build(R"(source => "ip" database => ")" + odd_ + "\""), config::ConfigError);
}

}  // namespace
}  // namespace sluice
