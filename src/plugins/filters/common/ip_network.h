// IPv4/IPv6 addresses and networks as Ruby's IPAddr reads them (`10.0.0.1`, `10.0.0.0/8`,
// `10.0.0.0/255.0.0.0`, `2001:db8::/32`), and a set of networks answering "is this address in any
// of them" with a binary search over merged ranges (10k networks cost about what ten do).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace sluice {

using Uint128 = unsigned __int128;

struct IpAddress {
  bool v6 = false;
  Uint128 bits = 0;  // IPv4 in the low 32 bits
};

struct IpNetwork {
  bool v6 = false;
  Uint128 first = 0, last = 0;  // inclusive range
};

// An address; surrounding spaces are ignored. nullopt when it is not one.
std::optional<IpAddress> parse_ip_address(std::string_view text);
// A network (`addr/len`, `addr/netmask`) or a single address (a /32 or /128).
std::optional<IpNetwork> parse_ip_network(std::string_view text);

class IpNetworkSet {
 public:
  void add(const IpNetwork& network);
  // Merges overlapping ranges and sorts them; call once after the last add().
  void seal();
  bool contains(const IpAddress& address) const;
  bool empty() const { return v4_.empty() && v6_.empty(); }
  size_t range_count() const { return v4_.size() + v6_.size(); }

 private:
  struct Range {
    Uint128 first, last;
  };
  struct Range4 {
    uint32_t first, last;
  };
  template <typename R>
  static void merge(std::vector<R>& ranges);
  bool contains_v4(uint32_t address) const;
  static bool find(const std::vector<Range>& ranges, Uint128 value);
  std::vector<Range4> v4_;
  std::vector<Range> v6_;
  // IPv4 ranges are found through their address's top bits: v4_start_[b] is the number of ranges
  // starting below bucket b, so only the few ranges of one bucket are searched (10k networks
  // take about what ten do, with no binary search over the whole list).
  std::vector<uint32_t> v4_start_;
  int v4_shift_ = 32;
};

}  // namespace sluice
