// The useragent filter: Logstash's field layouts (legacy and ECS) for real User-Agent strings.
// Expected values agree with uap-core's own test data (tests/test_ua.yaml, test_os.yaml,
// test_device.yaml) where the string appears there, else follow from regexes.yaml.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "config/parser.h"
#include "parsers_test_support.h"
#include "runtime/metrics.h"
#include "test_support.h"

namespace sluice {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

std::unique_ptr<Event> parsed(Filter& filter, const std::string& agent, bool* matched = nullptr) {
  auto event = test::event_with_message("m");
  event->set(FieldRef::of("agent"), Value(agent));
  test::TestFilterContext ctx;
  const bool m = filter.filter(*event, ctx);
  if (matched) *matched = m;
  return event;
}

void expect_fields(const Event& event, const Fields& fields, const std::string& agent) {
  for (const auto& [ref, value] : fields) {
    if (value == "<missing>") {
      EXPECT_EQ(test::field(event, ref), nullptr) << ref << " for " << agent;
    } else {
      EXPECT_EQ(test::field_text(event, ref), value) << ref << " for " << agent;
    }
  }
}

struct Case {
  std::string agent;
  Fields ecs;
};

// ECS layout: [user_agent][...] plus the version parts in @metadata.
const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 "
       "Safari/537.36",
       {{"[user_agent][name]", "Chrome"}, {"[user_agent][version]", "120.0.6099.109"},
        {"[user_agent][os][name]", "Windows"}, {"[user_agent][os][version]", "10"},
        {"[user_agent][os][full]", "Windows 10"}, {"[user_agent][device][name]", "Other"},
        {"[@metadata][filter][user_agent][version][major]", "120"},
        {"[@metadata][filter][user_agent][version][minor]", "0"},
        {"[@metadata][filter][user_agent][version][patch]", "6099"}}},
      {"Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
       "Version/16.5 Mobile/15E148 Safari/604.1",
       {{"[user_agent][name]", "Mobile Safari"}, {"[user_agent][version]", "16.5"},
        {"[user_agent][os][name]", "iOS"}, {"[user_agent][os][version]", "16.5"},
        {"[user_agent][os][full]", "iOS 16.5"}, {"[user_agent][device][name]", "iPhone"}}},
      {"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
       {{"[user_agent][name]", "Firefox"}, {"[user_agent][version]", "115.0"},
        {"[user_agent][os][name]", "Ubuntu"}, {"[user_agent][os][version]", "<missing>"},
        {"[user_agent][os][full]", "Ubuntu"}, {"[user_agent][device][name]", "Other"}}},
      {"curl/7.29.0",
       {{"[user_agent][name]", "curl"}, {"[user_agent][version]", "7.29.0"},
        {"[user_agent][os][name]", "Other"}, {"[user_agent][device][name]", "Other"}}},
      {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
       {{"[user_agent][name]", "Googlebot"}, {"[user_agent][version]", "2.1"},
        {"[user_agent][os][name]", "Other"}, {"[user_agent][os][full]", "Other"},
        {"[user_agent][device][name]", "Spider"}}},
      {"Mozilla/5.0 (Linux; U; Android 2.2.2; en-gb; HTC Desire Build/FRG83G) AppleWebKit/533.1 (KHTML, like "
       "Gecko) Version/4.0 Mobile Safari/533.1",
       {{"[user_agent][name]", "Android"}, {"[user_agent][version]", "2.2.2"},
        {"[user_agent][os][name]", "Android"}, {"[user_agent][os][version]", "2.2.2"},
        {"[user_agent][os][full]", "Android 2.2.2"}, {"[user_agent][device][name]", "HTC Desire"}}},
      {"Mozilla/5.0 (Linux; Android 10; SM-G970F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/75.0.3396.81 "
       "Mobile Safari/537.36",
       {{"[user_agent][name]", "Chrome Mobile"}, {"[user_agent][version]", "75.0.3396.81"},
        {"[user_agent][os][name]", "Android"}, {"[user_agent][os][version]", "10"},
        {"[user_agent][device][name]", "Samsung SM-G970F"}}},
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/75.0.3763.0 "
       "Safari/537.36 Edg/75.0.131.0",
       {{"[user_agent][name]", "Edge"}, {"[user_agent][version]", "75.0.131.0"},
        {"[user_agent][os][full]", "Windows 10"}}},
      {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.5 "
       "Safari/605.1.15",
       {{"[user_agent][name]", "Safari"}, {"[user_agent][version]", "13.0.5"},
        {"[user_agent][os][name]", "Mac OS X"}, {"[user_agent][os][version]", "10.15.3"},
        {"[user_agent][os][full]", "Mac OS X 10.15.3"}, {"[user_agent][device][name]", "Mac"}}},
      {"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)",
       {{"[user_agent][name]", "IE"}, {"[user_agent][version]", "7.0"},
        {"[user_agent][os][name]", "Windows"}, {"[user_agent][os][version]", "Vista"},
        {"[user_agent][os][full]", "Windows Vista"}}},
      {"Opera/9.80 (VRE; Opera Mini/4.2/28.2794; U; en) Presto/2.8.119 Version/11.10",
       {{"[user_agent][name]", "Opera Mini"}, {"[user_agent][version]", "4.2"},
        {"[user_agent][os][name]", "VRE"}, {"[user_agent][device][name]", "Generic Feature Phone"}}},
      {"python-requests/0.14 CPython/2.6 Linux/2.6-43-server",
       {{"[user_agent][name]", "Python Requests"}, {"[user_agent][version]", "0.14"},
        {"[user_agent][os][name]", "Linux"}, {"[user_agent][os][version]", "2.6"}}},
      {"MQQBrowser/371 Mozilla/5.0 (iPhone 4S; CPU iPhone OS 6_0_1 like Mac OS X) AppleWebKit/536.26 (KHTML, like "
       "Gecko) Mobile/10A523 Safari/7534.48.3",
       {{"[user_agent][name]", "QQ Browser Mobile"}, {"[user_agent][version]", "371"},
        {"[user_agent][os][name]", "iOS"}, {"[user_agent][os][version]", "6.0.1"},
        {"[user_agent][device][name]", "iPhone"}}},
  };
  return all;
}

TEST(UseragentFilter, RealAgentsInTheEcsLayout) {
  auto filter = test::make_filter("useragent", "source => 'agent'", "v8");
  for (const Case& c : cases()) {
    bool matched = false;
    auto event = parsed(*filter, c.agent, &matched);
    EXPECT_TRUE(matched) << c.agent;
    expect_fields(*event, c.ecs, c.agent);
    EXPECT_EQ(test::field_text(*event, "agent"), c.agent);  // the source stays
    EXPECT_EQ(test::field(*event, "name"), nullptr);        // nothing at the root
  }
}

TEST(UseragentFilter, LegacyLayoutAtTheRoot) {
  auto filter = test::make_filter("useragent", "source => 'agent'", "disabled");
  auto event = parsed(*filter, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.11; rv:45.0) Gecko/20100101 Firefox/45.0");
  // The example of Logstash's documentation.
  expect_fields(*event,
                {{"name", "Firefox"}, {"version", "45.0"}, {"major", "45"}, {"minor", "0"}, {"patch", "<missing>"},
                 {"os_name", "Mac OS X"}, {"os", "Mac OS X"}, {"os_version", "10.11"}, {"os_full", "Mac OS X 10.11"},
                 {"os_major", "10"}, {"os_minor", "11"}, {"device", "Mac"}, {"user_agent", "<missing>"}},
                "firefox 45");
  // Windows' named versions: os_major "Vista" joins its minor with a space.
  auto xp = parsed(*filter, "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1; Trident/4.0)");
  expect_fields(*xp, {{"name", "IE"}, {"major", "8"}, {"os_name", "Windows"}, {"os_major", "XP"}, {"os_full", "Windows XP"}},
                "msie 8");
}

TEST(UseragentFilter, LegacyTargetAndPrefix) {
  auto filter = test::make_filter("useragent", "source => 'agent' target => 'ua' prefix => 'ua_'", "disabled");
  auto event = parsed(*filter, "curl/7.29.0");
  expect_fields(*event,
                {{"[ua][ua_name]", "curl"}, {"[ua][ua_major]", "7"}, {"[ua][ua_minor]", "29"}, {"[ua][ua_patch]", "0"},
                 {"[ua][ua_version]", "7.29.0"}, {"[ua][ua_os]", "Other"}, {"[ua][ua_device]", "Other"}},
                "curl");
}

TEST(UseragentFilter, EcsTargetAndPrefixIgnored) {
  auto filter = test::make_filter("useragent", "source => 'agent' target => '[client][ua]' prefix => 'x_'", "v1");
  auto event = parsed(*filter, "curl/7.29.0");
  expect_fields(*event, {{"[client][ua][name]", "curl"}, {"[client][ua][version]", "7.29.0"}, {"[user_agent]", "<missing>"},
                         {"[@metadata][filter][user_agent][version][patch]", "0"}},
                "curl");
}

TEST(UseragentFilter, TargetEqualToSourceReplacesTheString) {
  auto filter = test::make_filter("useragent", "source => 'agent' target => 'agent'", "v8");
  auto event = parsed(*filter, "Wget/1.14 (linux-gnu)");
  const Value* agent = test::field(*event, "agent");
  ASSERT_TRUE(agent && agent->is_object());
  EXPECT_EQ(test::field_text(*event, "[agent][name]"), "Wget");
  EXPECT_EQ(test::field_text(*event, "[agent][version]"), "1.14");
}

TEST(UseragentFilter, ArraySourceUsesTheFirstValueAndMissingDoesNothing) {
  auto filter = test::make_filter("useragent", "source => 'agent'", "v8");
  auto event = test::event_with_message("m");
  event->set(FieldRef::of("agent"), Value(Array{Value("curl/8.1.2"), Value("Wget/1.14")}));
  test::TestFilterContext ctx;
  EXPECT_TRUE(filter->filter(*event, ctx));
  EXPECT_EQ(test::field_text(*event, "[user_agent][name]"), "curl");
  auto empty = test::event_with_message("m");
  EXPECT_FALSE(filter->filter(*empty, ctx));
  EXPECT_EQ(test::field(*empty, "user_agent"), nullptr);
  empty->set(FieldRef::of("agent"), Value(""));
  EXPECT_FALSE(filter->filter(*empty, ctx));
  // Garbage is still an agent: everything is "Other".
  auto garbage = parsed(*filter, std::string("\xff\xfe\x01 not a browser", 18));
  EXPECT_EQ(test::field_text(*garbage, "[user_agent][name]"), "Other");
  EXPECT_EQ(test::field_text(*garbage, "[user_agent][os][name]"), "Other");
}

TEST(UseragentFilter, CacheServesRepeatedAgents) {
  Options options = test::plugin_options(PluginKind::Filter, "filter", "useragent", "source => 'agent' lru_cache_size => 10");
  PluginMetrics metrics;
  PluginContext context;
  context.id = "ua";
  context.settings = test::settings_for("v8");
  context.metrics = &metrics;
  auto filter = Registry::instance().find(PluginKind::Filter, "useragent")->filter(options, context);
  for (int i = 0; i < 5; ++i) {
    auto event = parsed(*filter, "curl/7.29.0");
    EXPECT_EQ(test::field_text(*event, "[user_agent][version]"), "7.29.0");
  }
  EXPECT_EQ(metrics.counter("cache_misses").load(), 1u);
  EXPECT_EQ(metrics.counter("cache_hits").load(), 4u);
}

// A measurement, printed (not asserted): events per second through the filter when the agents
// repeat (13 distinct agents, so every event after the first round is a cache hit).
TEST(UseragentFilter, CachedThroughput) {
  auto filter = test::make_filter("useragent", "source => 'agent'", "v8");
  std::vector<std::unique_ptr<Event>> events;
  for (const Case& c : cases()) {
    events.push_back(test::event_with_message("m"));
    events.back()->set(FieldRef::of("agent"), Value(c.agent));
  }
  test::TestFilterContext ctx;
  const int rounds = 20000;
  const auto start = std::chrono::steady_clock::now();
  size_t matched = 0;
  for (int r = 0; r < rounds; ++r)
    for (auto& e : events) matched += filter->filter(*e, ctx) ? 1 : 0;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ measure  ] useragent filter, cache hits: %.0f events/s on one thread (%.2f CPU-s per 1M)\n",
              double(matched) / seconds, seconds / double(matched) * 1e6);
  EXPECT_EQ(matched, size_t(rounds) * events.size());
}

TEST(UseragentFilterConfig, RegexesFileProblemsAreConfigErrors) {
  try {
    test::make_filter("useragent", "source => 'agent'\n regexes => '/nonexistent/regexes.yaml'");
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/regexes.yaml"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test.conf:2:"), std::string::npos) << e.what();
  }
  test::TempDir dir;
  test::write_file(dir.file("bad.yaml"), "user_agent_parsers:\n  - regex: '(unclosed'\nos_parsers: []\ndevice_parsers: []\n");
  try {
    test::make_filter("useragent", "source => 'agent' regexes => '" + dir.file("bad.yaml") + "'");
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("user_agent_parsers[0]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(test::make_filter("useragent", "target => 'x'"), config::ConfigError);  // source is required
}

TEST(UseragentFilter, CustomRegexesWithReplacements) {
  test::TempDir dir;
  test::write_file(dir.file("regexes.yaml"),
                   "user_agent_parsers:\n"
                   "  - regex: '(Acme)Bot/(\\d+)\\.(\\d+)'\n"
                   "    family_replacement: '$1 Crawler'\n"
                   "    v2_replacement: 'x$3'\n"
                   "os_parsers:\n"
                   "  - regex: 'AcmeOS (\\d+)'\n"
                   "    os_replacement: 'Acme OS'\n"
                   "    os_v1_replacement: '$1'\n"
                   "device_parsers:\n"
                   "  - regex: '; *(acme)-(\\w+)'\n"
                   "    regex_flag: 'i'\n"
                   "    device_replacement: ' $1 $2 '\n");
  auto filter = test::make_filter("useragent", "source => 'agent' regexes => '" + dir.file("regexes.yaml") + "'", "v8");
  auto event = parsed(*filter, "AcmeBot/3.4 (AcmeOS 7; ACME-Phone)");
  expect_fields(*event,
                {{"[user_agent][name]", "Acme Crawler"}, {"[user_agent][version]", "3.x4"},
                 {"[user_agent][os][name]", "Acme OS"}, {"[user_agent][os][version]", "7"},
                 {"[user_agent][device][name]", "ACME Phone"}},
                "acme");
}

}  // namespace
}  // namespace sluice
