// sprintf templates as Logstash renders them.
#include "core/sprintf.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

Event sample_event() {
  Event e;
  e.init_with_message("hello", Timestamp::from_seconds(1709622489, 123000000));  // 2024-03-05T07:08:09.123Z
  e.set(FieldRef::of("host"), Value("web1"));
  e.set(FieldRef::of("[http][status]"), Value(200));
  e.set(FieldRef::of("ratio"), Value(1.0));
  e.set(FieldRef::of("list"), Value(Array{Value("a"), Value("b")}));
  e.set(FieldRef::of("[@metadata][index]"), Value("logs"));
  return e;
}

TEST(SprintfTest, ConstantTemplate) {
  Template t("just text");
  EXPECT_TRUE(t.is_constant());
  EXPECT_EQ(t.render(sample_event()), "just text");
  EXPECT_EQ(t.single_field(), nullptr);
}

TEST(SprintfTest, FieldReferences) {
  Event e = sample_event();
  EXPECT_EQ(Template("%{host}: %{message}").render(e), "web1: hello");
  EXPECT_EQ(Template("%{[http][status]}").render(e), "200");
  EXPECT_EQ(Template("%{ratio}").render(e), "1.0");
  EXPECT_EQ(Template("%{list}").render(e), "a,b");
  EXPECT_EQ(Template("%{http}").render(e), R"({"status":200})");
  EXPECT_EQ(Template("%{[@metadata][index]}-x").render(e), "logs-x");
  EXPECT_EQ(Template("%{@timestamp}").render(e), "2024-03-05T07:08:09.123Z");
}

TEST(SprintfTest, MissingFieldsPrintTheReference) {
  Event e = sample_event();
  EXPECT_EQ(Template("%{nope} and %{[a][b]}").render(e), "%{nope} and %{[a][b]}");
  e.set(FieldRef::of("nothing"), Value());
  EXPECT_EQ(Template("%{nothing}").render(e), "%{nothing}");
}

TEST(SprintfTest, TimeFormats) {
  Event e = sample_event();
  EXPECT_EQ(Template("logs-%{+YYYY.MM.dd}").render(e), "logs-2024.03.05");
  EXPECT_EQ(Template("%{{yyyy-MM-dd'T'HH}}").render(e), "2024-03-05T07");
  EXPECT_EQ(Template("%{+%s}").render(e), "1709622489");
  e.remove(FieldRef::of("@timestamp"));
  EXPECT_EQ(Template("[%{+YYYY}]").render(e), "[]");
}

TEST(SprintfTest, MalformedPiecesStayLiteral) {
  Event e = sample_event();
  EXPECT_EQ(Template("%{unclosed").render(e), "%{unclosed");
  EXPECT_EQ(Template("%{a[b]c}").render(e), "%{a[b]c}");
  EXPECT_EQ(Template("100%").render(e), "100%");
  EXPECT_EQ(Template("%{+bb}").render(e), "%{+bb}");
  EXPECT_TRUE(Template("%{[bad}").is_constant());
}

TEST(SprintfTest, SingleFieldAndAppend) {
  Template t("%{[http][status]}");
  ASSERT_NE(t.single_field(), nullptr);
  EXPECT_EQ(t.single_field()->path(), (std::vector<std::string>{"http", "status"}));
  std::string out = "prefix:";
  t.render(sample_event(), out);
  EXPECT_EQ(out, "prefix:200");
}

TEST(SprintfTest, CopiesRenderTheSame) {
  Template original("%{host}-%{+yyyy}");
  Template copy = original;
  Template moved = std::move(original);
  Event e = sample_event();
  EXPECT_EQ(copy.render(e), "web1-2024");
  EXPECT_EQ(moved.render(e), "web1-2024");
  EXPECT_EQ(copy.source(), "%{host}-%{+yyyy}");
}

}  // namespace
}  // namespace sluice
