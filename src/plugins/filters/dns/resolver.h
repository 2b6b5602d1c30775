// Concurrent DNS lookups for the dns filter on top of c-ares: a whole batch of forward (A, then
// AAAA) and reverse (PTR) queries runs at once on one channel, within a hard deadline, so a slow
// or dead name server costs at most `timeout x (max_retries + 1)` per batch, never a stuck worker.
// Hosts files are read into memory and answered first, as Ruby's Resolv (Logstash) does.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sluice::dns {

class DnsConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Status : uint8_t {
  Found,
  NotFound,  // NXDOMAIN, no data, refused by the server
  Timeout,   // no answer within the bound (server down, slow, unreachable)
  Error,     // a malformed name or address, an internal error
};

struct Query {
  bool reverse = false;  // PTR for an address; else the address of a name
  std::string key;       // the name, or the address
  Status status = Status::Error;
  std::string answer;    // the first address, or the name
};

struct ResolverSettings {
  std::vector<std::string> nameservers;  // "ip" or "ip:port" / "[ipv6]:port"; empty = /etc/resolv.conf
  std::vector<std::string> search;       // search domains
  int ndots = 1;
  double timeout_seconds = 0.5;          // per try
  int max_retries = 2;                   // extra tries after a timeout
  bool use_dns = true;                   // false: answer from the hosts files only
  std::vector<std::string> hostsfiles;   // read before /etc/hosts
  std::string system_hosts = "/etc/hosts";
};

// Name <-> address tables of hosts files (first entry wins, names compared case-insensitively).
class HostsTable {
 public:
  // Throws DnsConfigError when a file cannot be read (a missing system hosts file is skipped).
  void load(const std::string& path, bool required);
  const std::string* address_of(std::string_view name) const;
  const std::string* name_of(std::string_view address) const;  // address in any textual form

 private:
  std::unordered_map<std::string, std::string> address_of_name_;
  std::unordered_map<std::string, std::string> name_of_address_;
};

// Canonical text of an IPv4/IPv6 address; false when `text` is not one.
bool canonical_address(std::string_view text, std::string& out);

class Resolver {
 public:
  // Validates the settings (throws DnsConfigError naming the bad address) and reads the hosts files.
  explicit Resolver(ResolverSettings settings);
  ~Resolver();
  Resolver(const Resolver&) = delete;

  // Answers every query (hosts files first, then DNS, all at once). Thread-safe: each call uses
  // its own c-ares channel from a small pool.
  void run(std::vector<Query*>& queries);

  // The bound of one run: timeout x (max_retries + 1).
  int64_t deadline_nanos() const { return deadline_nanos_; }

 private:
  struct Channel;
  std::unique_ptr<Channel> make_channel();
  std::unique_ptr<Channel> take_channel();
  void give_back(std::unique_ptr<Channel> channel);

  ResolverSettings settings_;
  std::string servers_csv_;
  HostsTable hosts_;
  int64_t deadline_nanos_ = 0;
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<Channel>> idle_;
};

}  // namespace sluice::dns
