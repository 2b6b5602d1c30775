// A memcached for tests on 127.0.0.1 and a free port (TCP only). Stop/start keep the port.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "test_support.h"

namespace sluice::test {

class MemcachedServer {
 public:
  // Throws std::runtime_error when memcached is missing or does not answer.
  MemcachedServer();
  ~MemcachedServer();
  MemcachedServer(const MemcachedServer&) = delete;

  int port() const { return port_; }
  // Text-protocol helpers; throw std::runtime_error on I/O failure.
  void set(const std::string& key, const std::string& value, int ttl = 0) const;
  std::optional<std::string> get(const std::string& key) const;
  // A counter from `stats` (e.g. "cmd_get", "get_hits", "cmd_set"); -1 when absent.
  long long stat(const std::string& name) const;

  void stop();  // SIGKILL: like a crash (the data is gone)
  void start();

 private:
  std::string round_trip(const std::string& request, const std::string& terminator) const;
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Child> child_;
};

}  // namespace sluice::test
