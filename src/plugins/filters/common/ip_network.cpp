#include "plugins/filters/common/ip_network.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace sluice {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::strchr(" \t\r\n", text.front())) text.remove_prefix(1);
  while (!text.empty() && std::strchr(" \t\r\n", text.back())) text.remove_suffix(1);
  return text;
}

Uint128 from_bytes(const unsigned char* bytes, size_t n) {
  Uint128 value = 0;
  for (size_t i = 0; i < n; ++i) value = (value << 8) | bytes[i];
  return value;
}

// Mask with `prefix` leading ones in a `width`-bit address.
Uint128 prefix_mask(int prefix, int width) {
  if (prefix <= 0) return 0;
  const Uint128 all = width == 128 ? ~Uint128(0) : ((Uint128(1) << width) - 1);
  if (prefix >= width) return all;
  return all & ~((Uint128(1) << (width - prefix)) - 1);
}

}  // namespace

// Dotted-quad IPv4 (four decimal parts 0-255, as inet_pton reads them) without copying into a C string:
// the hot path of cidr and geoip. Anything else goes to inet_pton.
static std::optional<IpAddress> parse_ipv4_fast(std::string_view text) {
  if (text.size() < 7 || text.size() > 15) return std::nullopt;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* const end = p + text.size();
  uint32_t address = 0;
  for (int part = 0;; ++part) {
    // One to three digits (p is in range: the size was checked, and after each dot).
    uint32_t digit = uint32_t(*p) - '0';
    if (digit > 9) return std::nullopt;
    uint32_t octet = digit;
    ++p;
    if (p != end && (digit = uint32_t(*p) - '0') <= 9) {
      octet = octet * 10 + digit;
      ++p;
      if (p != end && (digit = uint32_t(*p) - '0') <= 9) {
        octet = octet * 10 + digit;
        ++p;
        if (octet > 255) return std::nullopt;
      }
    }
    address = (address << 8) | octet;
    if (part == 3) break;
    if (p == end || *p != '.') return std::nullopt;
    ++p;
    if (p == end) return std::nullopt;
  }
  if (p != end) return std::nullopt;
  return IpAddress{false, address};
}

std::optional<IpAddress> parse_ip_address(std::string_view text) {
  // Most addresses come without surrounding spaces: skip the trim's strchr calls for them.
  if (!text.empty() && uint8_t(text.front()) > ' ' && uint8_t(text.back()) > ' ') {
    if (std::optional<IpAddress> v4 = parse_ipv4_fast(text)) return v4;
  }
  text = trim(text);
  if (std::optional<IpAddress> v4 = parse_ipv4_fast(text)) return v4;
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  unsigned char bytes[16];
  if (inet_pton(AF_INET, buffer, bytes) == 1) return IpAddress{false, from_bytes(bytes, 4)};
  if (inet_pton(AF_INET6, buffer, bytes) == 1) return IpAddress{true, from_bytes(bytes, 16)};
  return std::nullopt;
}

std::optional<IpNetwork> parse_ip_network(std::string_view text) {
  text = trim(text);
  const size_t slash = text.find('/');
  std::optional<IpAddress> address = parse_ip_address(text.substr(0, slash));
  if (!address) return std::nullopt;
  const int width = address->v6 ? 128 : 32;
  int prefix = width;
  if (slash != std::string_view::npos) {
    std::string_view mask = trim(text.substr(slash + 1));
    if (mask.empty()) return std::nullopt;
    if (mask.find_first_not_of("0123456789") == std::string_view::npos) {
      if (mask.size() > 3) return std::nullopt;
      prefix = std::stoi(std::string(mask));
      if (prefix > width) return std::nullopt;
    } else {
      // A netmask (255.255.0.0): must be contiguous ones of the same family.
      std::optional<IpAddress> netmask = parse_ip_address(mask);
      if (!netmask || netmask->v6 != address->v6) return std::nullopt;
      prefix = 0;
      while (prefix < width && ((netmask->bits >> (width - 1 - prefix)) & 1)) ++prefix;
      if (netmask->bits != prefix_mask(prefix, width)) return std::nullopt;
    }
  }
  const Uint128 mask = prefix_mask(prefix, width);
  const Uint128 all = width == 128 ? ~Uint128(0) : ((Uint128(1) << width) - 1);
  IpNetwork network;
  network.v6 = address->v6;
  network.first = address->bits & mask;
  network.last = network.first | (all & ~mask);
  return network;
}

template <typename R>
void IpNetworkSet::merge(std::vector<R>& ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const R& a, const R& b) { return a.first < b.first; });
  std::vector<R> merged;
  for (const R& range : ranges) {
    if (!merged.empty() && (range.first <= merged.back().last || range.first - 1 == merged.back().last)) {
      merged.back().last = std::max(merged.back().last, range.last);
    } else {
      merged.push_back(range);
    }
  }
  ranges.swap(merged);
}

void IpNetworkSet::add(const IpNetwork& network) {
  if (network.v6) v6_.push_back({network.first, network.last});
  else v4_.push_back({uint32_t(network.first), uint32_t(network.last)});
}

void IpNetworkSet::seal() {
  merge(v4_);
  merge(v6_);
  // About one bucket per range, between 2^4 and 2^16 buckets (a 256 KiB table at most).
  int bits = 4;
  while (bits < 16 && (size_t(1) << bits) < v4_.size()) ++bits;
  v4_shift_ = 32 - bits;
  v4_start_.assign((size_t(1) << bits) + 1, 0);
  size_t index = 0;
  for (size_t bucket = 0; bucket < (size_t(1) << bits); ++bucket) {
    const uint64_t bucket_start = uint64_t(bucket) << v4_shift_;
    while (index < v4_.size() && v4_[index].first < bucket_start) ++index;
    v4_start_[bucket] = uint32_t(index);
  }
  v4_start_.back() = uint32_t(v4_.size());
}

bool IpNetworkSet::contains_v4(uint32_t address) const {
  if (v4_start_.empty()) return false;  // empty, or not sealed
  const size_t bucket = address >> v4_shift_;
  // The last range starting at or before the address starts in this bucket or is the one before it.
  size_t low = v4_start_[bucket], high = v4_start_[bucket + 1];
  while (low < high) {
    const size_t mid = (low + high) / 2;
    if (v4_[mid].first <= address) low = mid + 1;
    else high = mid;
  }
  return low > 0 && address <= v4_[low - 1].last;
}

bool IpNetworkSet::find(const std::vector<Range>& ranges, Uint128 value) {
  // The last range starting at or before value.
  auto it = std::upper_bound(ranges.begin(), ranges.end(), value,
                             [](Uint128 v, const Range& range) { return v < range.first; });
  if (it == ranges.begin()) return false;
  --it;
  return value <= it->last;
}

bool IpNetworkSet::contains(const IpAddress& address) const {
  return address.v6 ? find(v6_, address.bits) : contains_v4(uint32_t(address.bits));
}

}  // namespace sluice
