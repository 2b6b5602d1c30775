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
  // One to three digits, unrolled: the loop form costs about twice the instructions per address.
  auto octet = [&](uint32_t& out) {
    if (p == end || uint32_t(*p - '0') > 9) return false;
    out = uint32_t(*p++ - '0');
    if (p == end || uint32_t(*p - '0') > 9) return true;
    out = out * 10 + uint32_t(*p++ - '0');
    if (p == end || uint32_t(*p - '0') > 9) return true;
    out = out * 10 + uint32_t(*p++ - '0');
    return out <= 255;
  };
  uint32_t a, b, c, d;
  if (!octet(a) || p == end || *p++ != '.' || !octet(b) || p == end || *p++ != '.' || !octet(c) || p == end ||
      *p++ != '.' || !octet(d) || p != end) {
    return std::nullopt;
  }
  return IpAddress{false, (a << 24) | (b << 16) | (c << 8) | d};
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

void IpNetworkSet::add(const IpNetwork& network) {
  (network.v6 ? v6_ : v4_).push_back({network.first, network.last});
}

void IpNetworkSet::merge(std::vector<Range>& ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.first < b.first; });
  std::vector<Range> merged;
  for (const Range& range : ranges) {
    if (!merged.empty() && (range.first <= merged.back().last || range.first - 1 == merged.back().last)) {
      merged.back().last = std::max(merged.back().last, range.last);
    } else {
      merged.push_back(range);
    }
  }
  ranges.swap(merged);
}

void IpNetworkSet::seal() {
  merge(v4_);
  merge(v6_);
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
  return find(address.v6 ? v6_ : v4_, address.bits);
}

}  // namespace sluice
