#include <gtest/gtest.h>

#include "config/parser.h"
#include "parsers_test_support.h"
#include "plugins/filters/common/ip_network.h"
#include "runtime/metrics.h"
#include "test_support.h"

namespace sluice {
namespace {

struct Built {
  PluginMetrics metrics;
  std::unique_ptr<Filter> filter;
};

std::unique_ptr<Built> build(const std::string& body) {
  auto built = std::make_unique<Built>();
  Options options = test::plugin_options(PluginKind::Filter, "filter", "cidr", body);
  PluginContext context;
  context.id = "cidr_test";
  context.settings = test::settings_for("v8");
  context.metrics = &built->metrics;
  built->filter = Registry::instance().find(PluginKind::Filter, "cidr")->filter(options, context);
  return built;
}

bool matches(Filter& filter, std::initializer_list<std::pair<const char*, Value>> fields) {
  auto event = test::event_with_message("m");
  for (const auto& [name, value] : fields) event->fields()[name] = value;
  test::TestFilterContext context;
  return filter.filter(*event, context);
}

TEST(IpNetwork, ParsesAddressesNetworksAndNetmasks) {
  auto net = parse_ip_network("192.168.1.77/24");
  ASSERT_TRUE(net);
  EXPECT_FALSE(net->v6);
  EXPECT_EQ(uint32_t(net->first), 0xC0A80100u);
  EXPECT_EQ(uint32_t(net->last), 0xC0A801FFu);
  auto mask = parse_ip_network("10.0.0.0/255.0.0.0");
  ASSERT_TRUE(mask);
  EXPECT_EQ(uint32_t(mask->last), 0x0AFFFFFFu);
  auto single = parse_ip_network(" 10.1.2.3 ");
  ASSERT_TRUE(single);
  EXPECT_EQ(single->first, single->last);
  auto v6 = parse_ip_network("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->v6);
  EXPECT_FALSE(parse_ip_network("10.0.0.0/33"));
  EXPECT_FALSE(parse_ip_network("10.0.0.0/255.0.255.0"));  // not contiguous
  EXPECT_FALSE(parse_ip_network("300.1.1.1"));
  EXPECT_FALSE(parse_ip_network("host.example"));
  EXPECT_FALSE(parse_ip_address(""));
}

TEST(IpNetwork, DottedQuadFastPathEdges) {
  auto v4 = [](const char* text) -> int64_t {
    auto address = parse_ip_address(text);
    return address && !address->v6 ? int64_t(address->bits) : -1;
  };
  EXPECT_EQ(v4("1.2.3.4"), 0x01020304);
  EXPECT_EQ(v4("255.255.255.255"), 0xFFFFFFFFLL);
  EXPECT_EQ(v4("0.0.0.0"), 0);
  EXPECT_EQ(v4("\t10.0.0.1 "), 0x0A000001);
  for (const char* bad : {"1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.4.", ".1.2.3", "1.2.3.256", "1.2.3.0001", "1.2.3.-4",
                          "1.2.3.4x", "a.b.c.d"}) {
    EXPECT_EQ(v4(bad), -1) << bad;
  }
  auto mapped = parse_ip_address("::ffff:1.2.3.4");
  ASSERT_TRUE(mapped);
  EXPECT_TRUE(mapped->v6);
}

TEST(IpNetwork, SetMergesOverlapsAndFindsBoundaries) {
  IpNetworkSet set;
  set.add(*parse_ip_network("10.0.0.0/8"));
  set.add(*parse_ip_network("10.1.0.0/16"));  // inside the first
  set.add(*parse_ip_network("11.0.0.0/8"));   // adjacent: merged
  set.add(*parse_ip_network("192.168.0.0/16"));
  set.add(*parse_ip_network("fe80::/10"));
  set.seal();
  EXPECT_EQ(set.range_count(), 3u);
  EXPECT_TRUE(set.contains(*parse_ip_address("10.0.0.0")));
  EXPECT_TRUE(set.contains(*parse_ip_address("11.255.255.255")));
  EXPECT_FALSE(set.contains(*parse_ip_address("12.0.0.0")));
  EXPECT_FALSE(set.contains(*parse_ip_address("9.255.255.255")));
  EXPECT_TRUE(set.contains(*parse_ip_address("192.168.200.1")));
  EXPECT_TRUE(set.contains(*parse_ip_address("fe80::1")));
  EXPECT_FALSE(set.contains(*parse_ip_address("2001:db8::1")));
  // Families never mix: 10.0.0.1 is not ::a00:1.
  EXPECT_FALSE(set.contains(*parse_ip_address("::a00:1")));
}

// The bucketed IPv4 search against a plain scan of the networks: random prefixes of every
// length (so ranges straddle buckets), probes at every range's edges and at random addresses.
TEST(IpNetwork, BucketedSearchAgreesWithAScan) {
  uint64_t state = 12345;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return uint32_t(state >> 32);
  };
  for (int round = 0; round < 4; ++round) {
    const int count = round == 0 ? 1 : round == 1 ? 17 : round == 2 ? 300 : 5000;
    IpNetworkSet set;
    std::vector<IpNetwork> networks;
    for (int i = 0; i < count; ++i) {
      const int prefix = round == 3 ? 16 + int(next() % 17) : int(next() % 33);
      const uint32_t mask = prefix == 0 ? 0 : ~uint32_t(0) << (32 - prefix);
      const uint32_t first = next() & mask;
      IpNetwork network{false, first, first | ~mask};
      networks.push_back(network);
      set.add(network);
    }
    set.seal();
    auto scan = [&](uint32_t address) {
      for (const IpNetwork& n : networks)
        if (address >= n.first && address <= n.last) return true;
      return false;
    };
    std::vector<uint32_t> probes = {0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF};
    for (const IpNetwork& n : networks) {
      for (uint64_t edge : {uint64_t(n.first) - 1, uint64_t(n.first), uint64_t(n.last), uint64_t(n.last) + 1})
        if (edge <= 0xFFFFFFFFULL) probes.push_back(uint32_t(edge));
    }
    for (int i = 0; i < 20000; ++i) probes.push_back(next());
    for (uint32_t address : probes) {
      ASSERT_EQ(set.contains(IpAddress{false, address}), scan(address)) << "round " << round << " address " << address;
    }
  }
  IpNetworkSet unsealed_empty;
  EXPECT_FALSE(unsealed_empty.contains(IpAddress{false, 1}));
}

TEST(CidrFilter, MatchesWhenAnyAddressIsInAnyNetwork) {
  auto f = build(R"(address => ["%{src}", "%{dst}"] network => ["192.0.2.0/24", "2001:db8::/32"])");
  EXPECT_TRUE(matches(*f->filter, {{"src", Value("198.51.100.1")}, {"dst", Value("192.0.2.55")}}));
  EXPECT_TRUE(matches(*f->filter, {{"src", Value("2001:db8:1::5")}}));
  EXPECT_FALSE(matches(*f->filter, {{"src", Value("198.51.100.1")}, {"dst", Value("203.0.113.9")}}));
  EXPECT_FALSE(matches(*f->filter, {{"src", Value("not an ip")}}));
  EXPECT_FALSE(matches(*f->filter, {}));  // "%{src}" stays literal: not an address
}

TEST(CidrFilter, AddTagAppliesThroughTheRuntimeOnMatch) {
  // The filter only reports the match; add_tag is the runtime's job. The match is what is checked.
  auto f = build(R"(add_tag => ["internal"] address => "%{ip}" network => "10.0.0.0/8")");
  EXPECT_TRUE(matches(*f->filter, {{"ip", Value("10.20.30.40")}}));
}

TEST(CidrFilter, NetworksCanBeTemplates) {
  auto f = build(R"(address => "%{ip}" network => "%{net}")");
  EXPECT_TRUE(matches(*f->filter, {{"ip", Value("10.1.1.1")}, {"net", Value("10.0.0.0/8")}}));
  EXPECT_FALSE(matches(*f->filter, {{"ip", Value("10.1.1.1")}, {"net", Value("172.16.0.0/12")}}));
}

TEST(CidrFilter, AddressFieldTakesArrays) {
  auto f = build(R"(address_field => "[host][ip]" network => "10.0.0.0/8")");
  auto event = test::event_with_message("m");
  event->set(FieldRef::of("[host][ip]"), Value(Array{Value("fe80::1"), Value("10.9.9.9")}));
  test::TestFilterContext context;
  EXPECT_TRUE(f->filter->filter(*event, context));
}

TEST(CidrFilter, InvalidConstantNetworkIsConfigError) {
  EXPECT_THROW(build(R"(address => "%{ip}" network => "10.0.0.0/40")"), config::ConfigError);
}

TEST(CidrFilter, NetworkPathWithCommentsAndSeparator) {
  test::TempDir dir;
  test::write_file(dir.file("nets.txt"), "# internal\n10.0.0.0/8\n\n 172.16.0.0/12 \r\n");
  test::write_file(dir.file("nets.csv"), "192.0.2.0/24,198.51.100.0/24");
  auto lines = build(R"(address => "%{ip}" network_path => ")" + dir.file("nets.txt") + "\"");
  EXPECT_TRUE(matches(*lines->filter, {{"ip", Value("172.20.1.1")}}));
  EXPECT_FALSE(matches(*lines->filter, {{"ip", Value("192.0.2.1")}}));
  auto commas = build(R"(address => "%{ip}" separator => "," network_path => ")" + dir.file("nets.csv") + "\"");
  EXPECT_TRUE(matches(*commas->filter, {{"ip", Value("198.51.100.7")}}));
  test::write_file(dir.file("bad.txt"), "10.0.0.0/8\nnot-a-network\n");
  EXPECT_THROW(build(R"(address => "%{ip}" network_path => ")" + dir.file("bad.txt") + "\""), config::ConfigError);
  EXPECT_THROW(build(R"(address => "%{ip}" network => "10.0.0.0/8" network_path => ")" + dir.file("nets.txt") + "\""),
               config::ConfigError);
}

TEST(CidrFilter, NetworkPathReloadsAndKeepsOldListOnBrokenFile) {
  test::TempDir dir;
  const std::string path = dir.file("nets.txt");
  test::write_file(path, "10.0.0.0/8\n");
  auto f = build(R"(address => "%{ip}" refresh_interval => 0.05 network_path => ")" + path + "\"");
  EXPECT_FALSE(matches(*f->filter, {{"ip", Value("192.168.1.1")}}));
  test::write_file(path, "192.168.0.0/16\n");
  ASSERT_TRUE(test::wait_until([&] { return matches(*f->filter, {{"ip", Value("192.168.1.1")}}); },
                               std::chrono::seconds(20)));
  EXPECT_FALSE(matches(*f->filter, {{"ip", Value("10.1.1.1")}}));  // the list is replaced
  test::write_file(path, "192.168.0.0/16\ngarbage\n");
  ASSERT_TRUE(test::wait_until([&] { return f->metrics.counter("reload_failures").load() >= 1; },
                               std::chrono::seconds(20)));
  EXPECT_TRUE(matches(*f->filter, {{"ip", Value("192.168.1.1")}}));
  EXPECT_GE(f->metrics.counter("reloads").load(), 1u);
}

TEST(CidrFilter, TenThousandNetworks) {
  test::TempDir dir;
  std::string text;
  for (int i = 0; i < 10000; ++i) {
    text += std::to_string(10 + i / 256 % 200) + "." + std::to_string(i % 256) + ".0.0/16\n";
  }
  test::write_file(dir.file("many.txt"), text);
  auto f = build(R"(address => "%{ip}" network_path => ")" + dir.file("many.txt") + "\"");
  EXPECT_TRUE(matches(*f->filter, {{"ip", Value("10.5.1.1")}}));
  EXPECT_TRUE(matches(*f->filter, {{"ip", Value("49.15.255.255")}}));
  EXPECT_FALSE(matches(*f->filter, {{"ip", Value("9.5.1.1")}}));
}

}  // namespace
}  // namespace sluice
