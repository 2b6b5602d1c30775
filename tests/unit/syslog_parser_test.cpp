// The hand-written RFC 3164 matcher against the grok engine running Logstash's default syslog
// input pattern (legacy and ECS), plus the RFC 5424 parser.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/event.h"
#include "grok/grok_engine.h"
#include "plugins/inputs/syslog/syslog3164.h"
#include "plugins/inputs/syslog/syslog5424.h"

namespace sluice::syslog {
namespace {

const std::vector<std::string> kLines = {
    "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
    "<165>Aug 24 05:34:00 host.example.com sshd[1234]: Accepted password for root",
    "<86>Dec  1 08:30:01 web-01 CRON[23456]: pam_unix(cron:session): session opened",
    "<13>2024-03-27T10:05:50.040097+08:00 vm jack: hello there",
    "<13>2024-03-27T10:05:50Z myhost prog[12]: iso",
    "<13>Oct 11 22:14:15 prog: no host here",
    "<13>Oct 11 22:14:15 myhost prog:no-space",
    "<13>Oct 11 22:14:15 my_host prog: underscore host",
    "<13>Oct 11 22:14:15 myhost a:b: colon in program",
    "<13>Oct 11 22:14:15 myhost prog[0]: zero pid",
    "<13>Oct 11 22:14:15 myhost prog[abc]: bad pid",
    "<13>Oct 11 22:14:15 myhost ",
    "<13>Oct 11 22:14:15 myhost",
    "<13>Oct 11 22:14:15",
    "garbage before <13>Oct 11 22:14:15 myhost prog: embedded",
    "<0>Oct 11 22:14:15 myhost prog: zero priority",
    "<13>Sept 11 22:14:15 myhost prog: bad month",
    "<13>September 11 22:14:15 myhost prog: long month",
    "<13>Oct 32 22:14:15 myhost prog: bad day",
    "<13>Oct 11 24:14:15 myhost prog: bad hour",
    "<13>Oct 11 2:14:15 myhost prog: one digit hour",
    "<13>Oct 11 22:14:15.123 myhost prog: fraction",
    "<13>Oct 11 22:14:155 myhost prog: three digit second",
    "<13>oct 11 22:14:15 myhost prog: lower month",
    "<13>Oct 11 22:14:15 fe80::1 prog: ipv6 host",
    "<13>Oct 11 22:14:15 -bad prog: dash host",
    "<13>Oct 11 22:14:15 host. prog: trailing dot",
    "<13>Oct 11 22:14:15 myhost prog: line\nsecond line",
    "no priority at all",
    "<>Oct 11 22:14:15 h p: empty pri",
    "<13>Oct 11 22:14:15 myhost  two spaces",
    "<13>Oct 11 22:14:15 myhost prog[12]:",
    "<13>Oct 11 22:14:15 myhost prog[12]: ",
    "<13>Oct 11 22:14:15 myhost : colon only",
};

struct Outcome {
  bool matched = false;
  std::string priority, timestamp, timestamp8601, host, program, pid, message;
  bool operator==(const Outcome&) const = default;
};

std::string text_of(const Event& e, const char* path) {
  const Value* v = e.get(FieldRef::of(path));
  if (!v) return "<absent>";
  std::string out;
  v->append_text(out);
  return out;
}

Outcome by_grok(const grok::GrokEngine& engine, const std::string& line, bool ecs) {
  Event event;
  event.init_with_message(line, Timestamp::now());
  Outcome o;
  o.matched = engine.process(event) == grok::GrokResult::Matched;
  if (!o.matched) return o;
  o.priority = text_of(event, ecs ? "[log][syslog][priority]" : "priority");
  o.timestamp = text_of(event, "timestamp");
  o.timestamp8601 = text_of(event, "timestamp8601");
  o.host = text_of(event, ecs ? "[host][hostname]" : "logsource");
  o.program = text_of(event, ecs ? "[process][name]" : "program");
  o.pid = text_of(event, ecs ? "[process][pid]" : "pid");
  o.message = text_of(event, "message");
  return o;
}

Outcome by_hand(const std::string& line, bool ecs) {
  Rfc3164 r;
  Outcome o;
  o.matched = parse_rfc3164(line, ecs, r);
  if (!o.matched) return o;
  auto or_absent = [](std::string_view v) { return v.empty() ? std::string("<absent>") : std::string(v); };
  o.priority = std::to_string(r.priority);
  o.timestamp = (ecs || !r.iso_timestamp) ? std::string(r.timestamp) : "<absent>";
  o.timestamp8601 = (!ecs && r.iso_timestamp) ? std::string(r.timestamp) : "<absent>";
  o.host = or_absent(r.host);
  o.program = or_absent(r.program);
  o.pid = or_absent(r.pid);
  o.message = r.message.empty() ? line : std::string(r.message);  // grok keeps the field when the capture is empty
  return o;
}

void compare_with_grok(bool ecs) {
  grok::GrokSettings settings;
  settings.match = {{"message",
                     {ecs ? "<%{POSINT:[log][syslog][priority]:int}>%{SYSLOGLINE}" : "<%{POSINT:priority}>%{SYSLOGLINE}"}}};
  settings.overwrite = {"message"};
  settings.ecs_compatibility = ecs ? "v8" : "disabled";
  settings.timeout_millis = 0;
  grok::GrokEngine engine(settings);
  for (const std::string& line : kLines) {
    Outcome expected = by_grok(engine, line, ecs);
    Outcome actual = by_hand(line, ecs);
    EXPECT_EQ(actual.matched, expected.matched) << (ecs ? "ecs: " : "legacy: ") << line;
    if (!expected.matched || !actual.matched) continue;
    EXPECT_EQ(actual.priority, expected.priority) << line;
    EXPECT_EQ(actual.timestamp, expected.timestamp) << line;
    EXPECT_EQ(actual.timestamp8601, expected.timestamp8601) << line;
    EXPECT_EQ(actual.host, expected.host) << line;
    EXPECT_EQ(actual.program, expected.program) << line;
    EXPECT_EQ(actual.pid, expected.pid) << line;
    EXPECT_EQ(actual.message, expected.message) << line;
  }
}

TEST(SyslogRfc3164, SameOutcomeAsTheLegacyGrokPattern) { compare_with_grok(false); }
TEST(SyslogRfc3164, SameOutcomeAsTheEcsGrokPattern) { compare_with_grok(true); }

TEST(SyslogRfc3164, ClassicExample) {
  Rfc3164 r;
  ASSERT_TRUE(parse_rfc3164("<34>Oct 11 22:14:15 mymachine su: 'su root' failed", false, r));
  EXPECT_EQ(r.priority, 34);
  EXPECT_EQ(r.timestamp, "Oct 11 22:14:15");
  EXPECT_EQ(r.host, "mymachine");
  EXPECT_EQ(r.program, "su");
  EXPECT_EQ(r.message, "'su root' failed");
}

TEST(SyslogRfc3164, HostValidation) {
  EXPECT_TRUE(is_syslog_host("a.b-c.example"));
  EXPECT_TRUE(is_syslog_host("10.1.2.3"));
  EXPECT_TRUE(is_syslog_host("::1"));
  EXPECT_FALSE(is_syslog_host("a_b"));
  EXPECT_FALSE(is_syslog_host("-a"));
  EXPECT_FALSE(is_syslog_host("a..b"));
  EXPECT_FALSE(is_syslog_host(""));
}

TEST(SyslogRfc5424, FullMessageWithStructuredDataAndBom) {
  std::string line =
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 "
      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"] "
      "\xEF\xBB\xBF"
      "An application event log entry...";
  Rfc5424 r;
  ASSERT_TRUE(parse_rfc5424(line, r));
  EXPECT_EQ(r.priority, 165);
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(r.timestamp, "2003-10-11T22:14:15.003Z");
  EXPECT_EQ(r.host, "mymachine.example.com");
  EXPECT_EQ(r.app_name, "evntslog");
  EXPECT_EQ(r.proc_id, "1234");
  EXPECT_EQ(r.msg_id, "ID47");
  EXPECT_TRUE(r.had_bom);
  EXPECT_EQ(r.message, "An application event log entry...");
  std::vector<std::string> seen;
  std::string scratch;
  ASSERT_TRUE(for_each_sd(
      r.structured_data, scratch, [&](std::string_view id) { seen.push_back("[" + std::string(id)); },
      [&](std::string_view, std::string_view name, std::string_view value) {
        seen.push_back(std::string(name) + "=" + std::string(value));
      }));
  EXPECT_EQ(seen, (std::vector<std::string>{"[exampleSDID@32473", "iut=3", "eventSource=Application", "eventID=1011",
                                            "[examplePriority@32473", "class=high"}));
}

TEST(SyslogRfc5424, NilValuesAndNoMessage) {
  Rfc5424 r;
  ASSERT_TRUE(parse_rfc5424("<34>1 - - - - - -", r));
  EXPECT_EQ(r.priority, 34);
  EXPECT_TRUE(r.timestamp.empty());
  EXPECT_TRUE(r.host.empty());
  EXPECT_TRUE(r.structured_data.empty());
  EXPECT_TRUE(r.message.empty());
}

TEST(SyslogRfc5424, EscapesInParamValues) {
  Rfc5424 r;
  ASSERT_TRUE(parse_rfc5424(R"(<34>1 2003-10-11T22:14:15+02:00 h a p m [id k="a\"b\]c\\d"] msg)", r));
  std::string scratch, value;
  ASSERT_TRUE(for_each_sd(r.structured_data, scratch, [](std::string_view) {},
                          [&](std::string_view, std::string_view, std::string_view v) { value = std::string(v); }));
  EXPECT_EQ(value, "a\"b]c\\d");
  EXPECT_EQ(r.message, "msg");
}

TEST(SyslogRfc5424, MalformedIsRejected) {
  Rfc5424 r;
  EXPECT_FALSE(parse_rfc5424("<34>1 2003-10-11T22:14:15Z h a p m [id k=\"unterminated] msg", r));
  EXPECT_FALSE(parse_rfc5424("<34>1 2003-10-11 h a p m - msg", r));  // not RFC 3339
  EXPECT_FALSE(parse_rfc5424("<999>1 - - - - - -", r));
  EXPECT_FALSE(parse_rfc5424("<34>1 - - - - -", r));  // no structured data
  EXPECT_FALSE(parse_rfc5424("<34>Oct 11 22:14:15 host x", r));
  EXPECT_FALSE(parse_rfc5424("", r));
}

}  // namespace
}  // namespace sluice::syslog
