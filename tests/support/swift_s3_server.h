// A throwaway OpenStack Swift with the S3 API (s3api + tempauth), from the Debian packages:
// account, container, object and proxy servers on free 127.0.0.1 ports, configuration and
// data in a TempDir, stopped by PID on destruction. Credentials: access key "test:tester",
// secret "testing", region us-east-1, path-style. Starting takes ~5-8 s: share one per suite.
#pragma once

#include <memory>
#include <string>

#include "plugins/common/s3/s3_client.h"
#include "test_support.h"

namespace sluice::test {

class SwiftS3Server {
 public:
  // Starts and waits until a bucket PUT works; throws std::runtime_error (with the logs) if not.
  SwiftS3Server();
  ~SwiftS3Server();

  int port() const { return proxy_port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(proxy_port_); }
  static constexpr const char* kAccessKey = "test:tester";
  static constexpr const char* kSecretKey = "testing";
  static constexpr const char* kRegion = "us-east-1";

  // Settings for a client of `bucket` on this server.
  s3::S3Settings settings(const std::string& bucket) const;
  // Creates the bucket (waits until it works).
  void create_bucket(const std::string& bucket);

  // kill -9 of the proxy (the S3 front end), and its restart on the same port.
  void kill_proxy();
  void start_proxy();  // waits until it answers again

 private:
  void start_daemon(const std::string& name);
  bool proxy_ready();
  std::string logs() const;

  TempDir dir_;
  int proxy_port_ = 0, account_port_ = 0, container_port_ = 0, object_port_ = 0;
  std::unique_ptr<Child> account_, container_, object_, proxy_;
};

}  // namespace sluice::test
