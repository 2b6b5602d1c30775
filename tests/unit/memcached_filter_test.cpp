// The memcached filter without a server: option checks, a server that is down, bad keys.
#include <gtest/gtest.h>

#include "config/parser.h"
#include "parsers_test_support.h"
#include "test_support.h"

namespace sluice {
namespace {

TEST(MemcachedFilterConfig, NeedsGetOrSet) {
  try {
    test::make_filter("memcached", "hosts => ['127.0.0.1:1']");
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("set at least one of `get` and `set`"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test.conf:1:"), std::string::npos) << e.what();
  }
}

TEST(MemcachedFilter, ServerDownTagsEvents) {
  auto filter = test::make_filter("memcached", "hosts => ['127.0.0.1:" + std::to_string(test::free_port()) +
                                                   "'] get => { 'user-%{uid}' => '[user][name]' } timeout => 0.5");
  auto event = test::event_with_message("m");
  event->set(FieldRef::of("uid"), Value(int64_t(7)));
  test::TestFilterContext ctx;
  EXPECT_FALSE(filter->filter(*event, ctx));
  EXPECT_TRUE(event->has_tag("_memcached_failure"));
  EXPECT_FALSE(event->contains(FieldRef::of("[user][name]")));
}

TEST(MemcachedFilter, KeyWithSpaceFailsOnlyThatEvent) {
  auto filter = test::make_filter("memcached", "hosts => ['127.0.0.1:" + std::to_string(test::free_port()) +
                                                   "'] get => { '%{uid}' => 'name' } tag_on_failure => 'mc_bad'");
  auto event = test::event_with_message("m");
  event->set(FieldRef::of("uid"), Value("has space"));
  test::TestFilterContext ctx;
  EXPECT_FALSE(filter->filter(*event, ctx));
  EXPECT_TRUE(event->has_tag("mc_bad"));
}

}  // namespace
}  // namespace sluice
