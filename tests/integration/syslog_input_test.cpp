// The syslog input with real senders: util-linux `logger` (UDP and TCP, RFC 3164 and 5424,
// octet counting) and rsyslog (imfile -> omfwd, TCP octet-counted), plus malformed input.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "pipeline_test_plugins.h"

namespace sluice {
namespace {

using namespace rt_test;

std::unique_ptr<Pipeline> syslog_pipeline(int port, const std::string& key, const std::string& extra = "") {
  return make_pipeline("input { syslog { port => " + std::to_string(port) + " ecs_compatibility => disabled " + extra +
                       " } }\noutput { rt_collect { key => '" + key + "' } }");
}

bool has(const Collected& e, const std::string& fragment) { return e.json.find(fragment) != std::string::npos; }

void logger(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"logger"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = test::run_command(argv);
  ASSERT_EQ(r.exit_code, 0) << "logger failed (util-linux logger is required): " << r.err;
}

TEST(SyslogInput, LoggerOverUdpAndTcpBothRfcs) {
  std::string key = unique_key("syslog");
  int port = test::free_port();
  auto p = syslog_pipeline(port, key);
  p->start();
  ASSERT_TRUE(test_wait([&] { return test::port_open(port); }));
  std::string P = std::to_string(port);
  logger({"-n", "127.0.0.1", "-P", P, "--udp", "--rfc3164", "-t", "udpprog", "-p", "local3.warning", "udp 3164"});
  logger({"-n", "127.0.0.1", "-P", P, "--tcp", "--rfc3164", "-t", "tcpprog", "-p", "user.notice", "tcp 3164"});
  logger({"-n", "127.0.0.1", "-P", P, "--tcp", "--rfc5424", "--octet-count", "-t", "app5424", "--msgid", "ID47",
          "--sd-id", "meta@32473", "--sd-param", "k=\"v\"", "-p", "daemon.err", "tcp 5424 octets"});
  logger({"-n", "127.0.0.1", "-P", P, "--udp", "--rfc5424", "-t", "u5424", "udp 5424"});
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() == 4; })) << collector(key)->size();
  int checked = 0;
  for (const auto& e : collector(key)->snapshot()) {
    EXPECT_TRUE(e.tags.empty()) << e.json;
    EXPECT_TRUE(has(e, "\"host\":\"127.0.0.1\"")) << e.json;
    if (e.message == "udp 3164") {
      ++checked;
      EXPECT_TRUE(has(e, "\"program\":\"udpprog\"")) << e.json;
      EXPECT_TRUE(has(e, "\"priority\":156")) << e.json;  // local3 (19) * 8 + warning (4)
      EXPECT_TRUE(has(e, "\"facility_label\":\"local3\"")) << e.json;
      EXPECT_TRUE(has(e, "\"severity_label\":\"Warning\"")) << e.json;
      EXPECT_TRUE(has(e, "\"logsource\":")) << e.json;
    } else if (e.message == "tcp 3164") {
      ++checked;
      EXPECT_TRUE(has(e, "\"program\":\"tcpprog\"")) << e.json;
      EXPECT_TRUE(has(e, "\"severity\":5")) << e.json;
      EXPECT_TRUE(has(e, "\"facility\":1")) << e.json;
    } else if (e.message == "tcp 5424 octets") {
      ++checked;
      EXPECT_TRUE(has(e, "\"program\":\"app5424\"")) << e.json;
      EXPECT_TRUE(has(e, "\"msgid\":\"ID47\"")) << e.json;
      EXPECT_TRUE(has(e, "\"meta@32473\":{\"k\":\"v\"}")) << e.json;
      EXPECT_TRUE(has(e, "\"priority\":27")) << e.json;  // daemon (3) * 8 + err (3)
    } else if (e.message == "udp 5424") {
      ++checked;
      EXPECT_TRUE(has(e, "\"program\":\"u5424\"")) << e.json;
    }
  }
  EXPECT_EQ(checked, 4);
  p->request_stop();
  EXPECT_TRUE(p->wait_for(10000));
}

TEST(SyslogInput, MalformedMessagesAreKeptAndTagged) {
  std::string key = unique_key("syslogbad");
  int port = test::free_port();
  auto p = syslog_pipeline(port, key);
  p->start();
  ASSERT_TRUE(test_wait([&] { return test::port_open(port); }));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string data = "this is not syslog\n<13>Oct 11 22:14:15 goodhost prog: fine\n<999999999999999999999>x\n";
  ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
  ::close(fd);
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() == 3; }));
  auto events = collector(key)->snapshot();
  EXPECT_EQ(events[0].message, "this is not syslog");
  ASSERT_EQ(events[0].tags.size(), 1u);
  EXPECT_EQ(events[0].tags[0], "_grokparsefailure_sysloginput");
  EXPECT_TRUE(has(events[0], "\"priority\":13")) << events[0].json;
  EXPECT_TRUE(has(events[0], "\"severity_label\":\"Notice\"")) << events[0].json;
  EXPECT_EQ(events[1].message, "fine");
  EXPECT_TRUE(events[1].tags.empty());
  EXPECT_TRUE(has(events[1], "\"logsource\":\"goodhost\"")) << events[1].json;
  EXPECT_TRUE(has(events[1], "\"@timestamp\":\"")) << events[1].json;
  EXPECT_EQ(events[2].tags.size(), 1u);
  p->request_stop();
  EXPECT_TRUE(p->wait_for(10000));
}

TEST(SyslogInput, EcsLayout) {
  std::string key = unique_key("syslogecs");
  int port = test::free_port();
  auto p = make_pipeline("input { syslog { port => " + std::to_string(port) + " ecs_compatibility => v8 } }\n"
                         "output { rt_collect { key => '" + key + "' } }");
  p->start();
  ASSERT_TRUE(test_wait([&] { return test::port_open(port); }));
  logger({"-n", "127.0.0.1", "-P", std::to_string(port), "--tcp", "--rfc3164", "-t", "ecsprog", "-p", "mail.info", "ecs message"});
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() == 1; }));
  auto e = collector(key)->snapshot()[0];
  EXPECT_EQ(e.message, "ecs message");
  EXPECT_TRUE(has(e, "\"process\":{\"name\":\"ecsprog\"")) << e.json;
  EXPECT_TRUE(has(e, "\"facility\":{\"code\":2,\"name\":\"mail\"}")) << e.json;
  EXPECT_TRUE(has(e, "\"severity\":{\"code\":6,\"name\":\"Informational\"}")) << e.json;
  EXPECT_TRUE(has(e, "\"ip\":\"127.0.0.1\"")) << e.json;
  EXPECT_TRUE(has(e, "\"original\":\"<22>")) << e.json;
  EXPECT_FALSE(has(e, "\"timestamp\":")) << e.json;  // removed after the date parse under ECS
  p->request_stop();
  EXPECT_TRUE(p->wait_for(10000));
}

TEST(SyslogInput, RsyslogForwardsOctetCountedOverTcp) {
  std::string key = unique_key("rsyslog");
  int port = test::free_port();
  auto p = syslog_pipeline(port, key);
  p->start();
  ASSERT_TRUE(test_wait([&] { return test::port_open(port); }));
  test::TempDir dir;
  std::string log = dir.file("app.log");
  test::write_file(log, "");
  std::string conf = dir.file("rsyslog.conf");
  test::write_file(conf, "global(workDirectory=\"" + dir.path().string() + "\")\n"
                         "module(load=\"imfile\" mode=\"polling\" PollingInterval=\"1\")\n"
                         "input(type=\"imfile\" File=\"" + log + "\" Tag=\"fromfile\" Facility=\"local0\" Severity=\"warning\")\n"
                         "action(type=\"omfwd\" target=\"127.0.0.1\" port=\"" + std::to_string(port) +
                         "\" protocol=\"tcp\" TCP_Framing=\"octet-counted\" template=\"RSYSLOG_SyslogProtocol23Format\")\n");
  test::Child rsyslog({"/usr/sbin/rsyslogd", "-n", "-f", conf, "-i", dir.file("rsyslog.pid")}, dir.file("out.log"),
                      dir.file("err.log"));
  // Lines appended after rsyslog started; keep appending until the first arrives.
  int written = 0;
  bool first = test_wait(
      [&] {
        std::string text = test::read_file(log) + "line " + std::to_string(written++) + " with\ttab\n";
        test::write_file(log, text);
        return collector(key)->size() > 0;
      },
      30000);
  ASSERT_TRUE(first) << "rsyslog forwarded nothing: " << test::read_file(dir.file("err.log"));
  ASSERT_TRUE(test_wait([&] { return collector(key)->size() >= 1; }));
  auto e = collector(key)->snapshot()[0];
  EXPECT_TRUE(e.tags.empty()) << e.json;
  EXPECT_TRUE(has(e, "\"program\":\"fromfile\"")) << e.json;
  EXPECT_TRUE(has(e, "\"priority\":132")) << e.json;  // local0 (16) * 8 + warning (4)
  EXPECT_EQ(e.message.rfind("line ", 0), 0u) << e.json;
  rsyslog.signal(SIGTERM);
  rsyslog.wait(std::chrono::seconds(10));
  p->request_stop();
  EXPECT_TRUE(p->wait_for(10000));
}

}  // namespace
}  // namespace sluice
