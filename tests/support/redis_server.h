// A redis-server for tests on 127.0.0.1 and a free port (no persistence), optionally with a
// password. Stop/start keep the port, so clients can reconnect to the same address.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "test_support.h"

namespace sluice::test {

class RedisServer {
 public:
  // Throws std::runtime_error when redis-server is missing or does not answer.
  explicit RedisServer(std::string password = "");
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;

  int port() const { return port_; }
  // Runs one command; returns the reply as text (integers as digits, arrays joined by "\n",
  // nil as ""); throws std::runtime_error on an error reply or I/O failure.
  std::string command(const std::vector<std::string>& argv) const;
  // How many times `name` (lower case, e.g. "get") was called, from INFO commandstats.
  long long command_calls(const std::string& name) const;

  void stop();  // SIGKILL: like a crash
  void start();
  bool running() const { return child_ != nullptr; }

 private:
  TempDir dir_;
  std::string password_;
  int port_ = 0;
  std::unique_ptr<Child> child_;
};

}  // namespace sluice::test
