#include "support/dnsmasq_server.h"

#include <signal.h>

#include <sstream>
#include <thread>
#include <stdexcept>

namespace sluice::test {

DnsmasqServer::DnsmasqServer(const std::string& hosts) {
  write_file(dir_.file("hosts"), hosts);
  port_ = free_port();
  start();
}

DnsmasqServer::~DnsmasqServer() { stop(); }

void DnsmasqServer::start() {
  // --local / --bogus-priv: names of the test zone and private addresses not in the hosts file
  // get NXDOMAIN at once instead of being forwarded (there is no upstream). --user=root: the
  // tests run as root and dnsmasq would otherwise switch to a user that may not exist.
  child_ = std::make_unique<Child>(
      std::vector<std::string>{"dnsmasq", "--keep-in-foreground", "--port=" + std::to_string(port_),
                               "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                               "--addn-hosts=" + dir_.file("hosts"), "--conf-file=/dev/null",
                               "--pid-file=" + dir_.file("dnsmasq.pid"), "--user=root", "--local=/sluice.test/",
                               "--bogus-priv", "--cache-size=0", "--log-queries",
                               "--log-facility=" + dir_.file("queries.log")},
      dir_.file("dnsmasq.out"), dir_.file("dnsmasq.err"));
  if (!wait_until([&] { return port_open(port_); }, std::chrono::seconds(20))) {
    child_.reset();
    throw std::runtime_error("dnsmasq did not start (Debian package dnsmasq-base): " +
                             read_file(dir_.file("dnsmasq.err")));
  }
}

void DnsmasqServer::stop() {
  if (!child_) return;
  child_->signal(SIGKILL);
  child_->wait(std::chrono::seconds(10));
  child_.reset();
}

int DnsmasqServer::queries_for(const std::string& name) const {
  // dnsmasq may write a log line just after it answered: wait until the log stops growing.
  std::string text = read_file(dir_.file("queries.log"));
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::string again = read_file(dir_.file("queries.log"));
    if (again == text) break;
    text = std::move(again);
  }
  std::istringstream log(text);
  std::string line;
  int count = 0;
  // dnsmasq logs "query[A] web.sluice.test from 127.0.0.1".
  while (std::getline(log, line))
    if (line.find("query[") != std::string::npos && line.find("] " + name + " from") != std::string::npos) ++count;
  return count;
}

}  // namespace sluice::test
