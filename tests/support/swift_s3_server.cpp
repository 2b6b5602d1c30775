#include "support/swift_s3_server.h"

#include <fmt/format.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace sluice::test {
namespace {

std::string backend_conf(const std::string& name, int port, const std::string& root) {
  return fmt::format(R"([DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
devices = {root}/srv
mount_check = false
swift_dir = {root}/etc
log_level = WARNING
log_address = {root}/run/nolog
[pipeline:main]
pipeline = {name}-server
[app:{name}-server]
use = egg:swift#{name}
)",
                     fmt::arg("port", port), fmt::arg("root", root), fmt::arg("name", name));
}

// The proxy's defaults (0.5 s to connect to a backend; a backend that errs ten times is skipped
// for a minute, and there is only one) turn a busy CI machine into 503s: be patient instead.
// s3api must come before tempauth; slo is needed for multipart; cache is required by tempauth
// (memcached itself need not run).
std::string proxy_conf(int port, const std::string& root) {
  return fmt::format(R"([DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
swift_dir = {root}/etc
log_level = WARNING
log_address = {root}/run/nolog
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
conn_timeout = 10
node_timeout = 60
error_suppression_limit = 1000000
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
s3_acl = false
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:1
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
)",
                     fmt::arg("port", port), fmt::arg("root", root));
}

}  // namespace

SwiftS3Server::SwiftS3Server() {
  const std::string root = dir_.path().string();
  std::filesystem::create_directories(dir_.path() / "etc");
  std::filesystem::create_directories(dir_.path() / "srv" / "d1");
  std::filesystem::create_directories(dir_.path() / "run");
  proxy_port_ = free_port();
  do account_port_ = free_port(); while (account_port_ == proxy_port_);
  do container_port_ = free_port(); while (container_port_ == proxy_port_ || container_port_ == account_port_);
  do object_port_ = free_port();
  while (object_port_ == proxy_port_ || object_port_ == account_port_ || object_port_ == container_port_);

  write_file(root + "/etc/swift.conf",
             "[swift-hash]\nswift_hash_path_suffix = sluice-suffix\nswift_hash_path_prefix = sluice-prefix\n"
             "[storage-policy:0]\nname = Policy-0\ndefault = yes\n");
  write_file(root + "/etc/account-server.conf", backend_conf("account", account_port_, root));
  write_file(root + "/etc/container-server.conf", backend_conf("container", container_port_, root));
  write_file(root + "/etc/object-server.conf", backend_conf("object", object_port_, root));
  write_file(root + "/etc/proxy-server.conf", proxy_conf(proxy_port_, root));
  // One Python process builds the three 1-replica rings (swift-ring-builder calls are slow).
  std::string ring_script = fmt::format(R"(import sys
from swift.common.ring import RingBuilder
d = sys.argv[1]
for name, port in (("account", {}), ("container", {}), ("object", {})):
    b = RingBuilder(6, 1, 1)
    b.add_dev({{"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": port, "device": "d1", "weight": 100}})
    b.rebalance()
    b.save(f"{{d}}/{{name}}.builder")
    b.get_ring().save(f"{{d}}/{{name}}.ring.gz")
)",
                                        account_port_, container_port_, object_port_);
  write_file(root + "/run/rings.py", ring_script);
  CommandResult rings = run_command({"/usr/bin/python3", root + "/run/rings.py", root + "/etc"});
  if (rings.exit_code != 0) throw std::runtime_error("swift: building the rings failed: " + rings.err);

  start_daemon("account");
  start_daemon("container");
  start_daemon("object");
  start_daemon("proxy");
  // The proxy's healthcheck does not cover the backends: wait for a real bucket round trip,
  // then an object one (the object server can come up after the container server, and a test's
  // first put_object would fail).
  s3::S3Client probe(settings("sluice-ready-probe"));
  bool bucket_ready = false;
  bool ready = wait_until(
      [&] {
        if (!proxy_->running()) return false;
        if (!bucket_ready) bucket_ready = probe.create_bucket("sluice-ready-probe").ok();
        return bucket_ready && probe.put_object("ready", "x").ok();
      },
      std::chrono::seconds(180));
  if (!ready) throw std::runtime_error("swift s3 did not become ready:\n" + logs());
}

SwiftS3Server::~SwiftS3Server() {
  for (auto* child : {&proxy_, &object_, &container_, &account_}) {
    if (*child) {
      (*child)->signal(SIGTERM);
      if (!(*child)->wait(std::chrono::seconds(5))) (*child)->signal(SIGKILL);
      child->reset();
    }
  }
}

void SwiftS3Server::start_daemon(const std::string& name) {
  const std::string root = dir_.path().string();
  auto child = std::make_unique<Child>(
      std::vector<std::string>{"/usr/bin/python3", "/usr/bin/swift-" + name + "-server",
                               root + "/etc/" + name + "-server.conf"},
      root + "/run/" + name + ".out", root + "/run/" + name + ".log");
  if (name == "account") account_ = std::move(child);
  else if (name == "container") container_ = std::move(child);
  else if (name == "object") object_ = std::move(child);
  else proxy_ = std::move(child);
}

s3::S3Settings SwiftS3Server::settings(const std::string& bucket) const {
  s3::S3Settings s;
  s.bucket = bucket;
  s.region = kRegion;
  s.endpoint = endpoint();
  s.credentials.access_key_id = kAccessKey;
  s.credentials.secret_access_key = kSecretKey;
  s.http.timeout_ms = 30000;
  s.http.connect_timeout_ms = 2000;
  return s;
}

void SwiftS3Server::create_bucket(const std::string& bucket) {
  s3::S3Client client(settings(bucket));
  s3::S3Result last;
  bool ok = wait_until(
      [&] {
        last = client.create_bucket(bucket);
        return last.ok() || last.code == "BucketAlreadyOwnedByYou" || last.code == "BucketAlreadyExists";
      },
      std::chrono::seconds(120));
  if (!ok) throw std::runtime_error("swift: cannot create bucket " + bucket + ": " + last.describe());
}

void SwiftS3Server::kill_proxy() {
  if (!proxy_) return;
  proxy_->signal(SIGKILL);
  proxy_->wait(std::chrono::seconds(10));
  proxy_.reset();
}

void SwiftS3Server::start_proxy() {
  start_daemon("proxy");
  s3::S3Client probe(settings("sluice-ready-probe"));
  bool ready = wait_until([&] { return probe.head_bucket().ok(); }, std::chrono::seconds(180));
  if (!ready) throw std::runtime_error("swift proxy did not come back:\n" + logs());
}

std::string SwiftS3Server::logs() const {
  std::string all;
  for (const char* name : {"account", "container", "object", "proxy"}) {
    std::string path = dir_.file(std::string("run/") + name + ".log");
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) all += std::string("--- ") + name + "\n" + read_file(path) + "\n";
  }
  return all;
}

}  // namespace sluice::test
