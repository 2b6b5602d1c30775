// A DNS server for tests: dnsmasq on 127.0.0.1 and a free port (UDP and TCP), answering from a
// hosts file (forward and PTR records) for the domain `sluice.test` and private reverse zones;
// any other name in those zones is NXDOMAIN, and nothing is forwarded. Stop/start keep the port.
#pragma once

#include <memory>
#include <string>

#include "test_support.h"

namespace sluice::test {

class DnsmasqServer {
 public:
  // `hosts`: lines "address name..." as in /etc/hosts. Throws std::runtime_error when dnsmasq is
  // missing (Debian package dnsmasq-base) or does not start.
  explicit DnsmasqServer(const std::string& hosts);
  ~DnsmasqServer();
  DnsmasqServer(const DnsmasqServer&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }  // for `nameserver`
  // Queries dnsmasq received for `name` (from its query log), e.g. "web.sluice.test" or
  // "5.0.0.10.in-addr.arpa".
  int queries_for(const std::string& name) const;

  void stop();  // SIGKILL
  void start();

 private:
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Child> child_;
};

}  // namespace sluice::test
