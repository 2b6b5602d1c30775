#include "plugins/filters/dns/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "plugins/filters/lookup/lru_cache.h"

namespace sluice::dns {
namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "ip", "ip:port", "[ipv6]" or "[ipv6]:port" -> c-ares' CSV form; throws DnsConfigError.
std::string server_entry(const std::string& text) {
  std::string host = text, port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos) throw DnsConfigError("bad name server address `" + text + "`");
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') throw DnsConfigError("bad name server address `" + text + "`");
      port = text.substr(close + 2);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
  }
  unsigned char buffer[16];
  const bool v4 = inet_pton(AF_INET, host.c_str(), buffer) == 1;
  const bool v6 = !v4 && inet_pton(AF_INET6, host.c_str(), buffer) == 1;
  if (!v4 && !v6) throw DnsConfigError("name server `" + text + "` is not an IP address");
  if (!port.empty()) {
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || p < 1 || p > 65535) throw DnsConfigError("bad port in name server address `" + text + "`");
  }
  if (v6) return port.empty() ? "[" + host + "]" : "[" + host + "]:" + port;
  return port.empty() ? host : host + ":" + port;
}

void ensure_library() {
  static const int rc = ares_library_init(ARES_LIB_INIT_ALL);
  if (rc != ARES_SUCCESS) throw DnsConfigError(std::string("c-ares: ") + ares_strerror(rc));
}

}  // namespace

bool canonical_address(std::string_view text, std::string& out) {
  if (text.empty() || text.size() > 64) return false;
  char input[65];
  std::memcpy(input, text.data(), text.size());
  input[text.size()] = '\0';
  unsigned char buffer[16];
  char printed[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, input, buffer) == 1) {
    inet_ntop(AF_INET, buffer, printed, sizeof printed);
  } else if (inet_pton(AF_INET6, input, buffer) == 1) {
    inet_ntop(AF_INET6, buffer, printed, sizeof printed);
  } else {
    return false;
  }
  out = printed;
  return true;
}

void HostsTable::load(const std::string& path, bool required) {
  std::ifstream in(path);
  if (!in) {
    if (required) throw DnsConfigError(fmt::format("cannot read hosts file `{}`: {}", path, std::strerror(errno)));
    return;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string address, name;
    if (!(words >> address)) continue;
    std::string canonical;
    if (!canonical_address(address, canonical)) continue;
    bool first = true;
    while (words >> name) {
      address_of_name_.try_emplace(lowercase(name), canonical);
      if (first) name_of_address_.try_emplace(canonical, name);  // the canonical name, not an alias
      first = false;
    }
  }
}

const std::string* HostsTable::address_of(std::string_view name) const {
  if (address_of_name_.empty()) return nullptr;
  auto it = address_of_name_.find(lowercase(name));
  return it == address_of_name_.end() ? nullptr : &it->second;
}

const std::string* HostsTable::name_of(std::string_view address) const {
  std::string canonical;
  if (name_of_address_.empty() || !canonical_address(address, canonical)) return nullptr;
  auto it = name_of_address_.find(canonical);
  return it == name_of_address_.end() ? nullptr : &it->second;
}

struct Resolver::Channel {
  ares_channel channel = nullptr;
  ~Channel() {
    if (channel) ares_destroy(channel);
  }
};

Resolver::Resolver(ResolverSettings settings) : settings_(std::move(settings)) {
  ensure_library();
  std::string csv;
  for (const auto& server : settings_.nameservers) {
    if (!csv.empty()) csv += ',';
    csv += server_entry(server);
  }
  servers_csv_ = csv;
  if (settings_.search.size() > 6)
    throw DnsConfigError(fmt::format("at most 6 search domains are accepted (got {})", settings_.search.size()));
  if (settings_.ndots <= 0) throw DnsConfigError("ndots must be positive");
  if (settings_.timeout_seconds <= 0) throw DnsConfigError("timeout must be positive");
  if (settings_.max_retries < 0) throw DnsConfigError("max_retries must not be negative");
  for (const auto& file : settings_.hostsfiles) hosts_.load(file, true);
  if (!settings_.system_hosts.empty()) hosts_.load(settings_.system_hosts, false);
  deadline_nanos_ = int64_t(settings_.timeout_seconds * 1e9) * (settings_.max_retries + 1);
  give_back(make_channel());  // a bad setting shows now, not at the first event
}

Resolver::~Resolver() = default;

std::unique_ptr<Resolver::Channel> Resolver::make_channel() {
  ares_options options{};
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS | ARES_OPT_NDOTS | ARES_OPT_FLAGS;
  options.timeout = std::max(1, int(settings_.timeout_seconds * 1000));
  options.tries = 1;  // retries are ours, so the bound stays timeout x (max_retries + 1)
  char lookups[] = "b";  // DNS only: hosts files are answered from memory before
  options.lookups = lookups;
  options.ndots = settings_.ndots;
  options.flags = 0;
  std::vector<char*> domains;
  if (!settings_.nameservers.empty()) {
    // Logstash's custom resolver uses exactly the given search list (none by default).
    for (auto& domain : settings_.search) domains.push_back(domain.data());
    options.domains = domains.data();
    options.ndomains = int(domains.size());
    mask |= ARES_OPT_DOMAINS;
    if (domains.empty()) options.flags |= ARES_FLAG_NOSEARCH;
  }
  auto channel = std::make_unique<Channel>();
  int rc = ares_init_options(&channel->channel, &options, mask);
  if (rc != ARES_SUCCESS) {
    channel->channel = nullptr;
    throw DnsConfigError(std::string("cannot set up the resolver: ") + ares_strerror(rc));
  }
  if (!servers_csv_.empty()) {
    rc = ares_set_servers_ports_csv(channel->channel, servers_csv_.c_str());
    if (rc != ARES_SUCCESS) throw DnsConfigError(std::string("bad name server list: ") + ares_strerror(rc));
  }
  return channel;
}

std::unique_ptr<Resolver::Channel> Resolver::take_channel() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!idle_.empty()) {
      auto channel = std::move(idle_.back());
      idle_.pop_back();
      return channel;
    }
  }
  return make_channel();
}

void Resolver::give_back(std::unique_ptr<Channel> channel) {
  std::lock_guard lock(pool_mutex_);
  if (idle_.size() < 16) idle_.push_back(std::move(channel));
}

namespace {

struct RunState;

// One query in flight: its stage (A, then AAAA) and the tries it has left.
struct Pending {
  RunState* run = nullptr;
  Query* query = nullptr;
  int family = AF_INET;
  int tries_left = 0;
  unsigned char address[16];
  int address_length = 0;
};

struct RunState {
  ares_channel channel = nullptr;
  size_t pending = 0;
  bool stopping = false;  // past the deadline: cancelled queries end as timeouts
};

void on_host(void* arg, int status, int timeouts, hostent* host);

void start(Pending& p) {
  if (p.query->reverse)
    ares_gethostbyaddr(p.run->channel, p.address, p.address_length, p.family, on_host, &p);
  else
    ares_gethostbyname(p.run->channel, p.query->key.c_str(), p.family, on_host, &p);
}

void finish(Pending& p, Status status) {
  p.query->status = status;
  --p.run->pending;
}

void on_host(void* arg, int status, int, hostent* host) {
  Pending& p = *static_cast<Pending*>(arg);
  if (p.run->stopping || status == ARES_ECANCELLED || status == ARES_EDESTRUCTION) return finish(p, Status::Timeout);
  switch (status) {
    case ARES_SUCCESS: {
      if (p.query->reverse) {
        if (!host || !host->h_name) return finish(p, Status::NotFound);
        p.query->answer = host->h_name;
        return finish(p, Status::Found);
      }
      if (!host || !host->h_addr_list || !host->h_addr_list[0]) return finish(p, Status::NotFound);
      char printed[INET6_ADDRSTRLEN];
      if (!inet_ntop(host->h_addrtype, host->h_addr_list[0], printed, sizeof printed)) return finish(p, Status::Error);
      p.query->answer = printed;
      return finish(p, Status::Found);
    }
    case ARES_ENODATA:
      // The name exists without an IPv4 address: ask for IPv6 (Resolv tries A, then AAAA).
      if (!p.query->reverse && p.family == AF_INET) {
        p.family = AF_INET6;
        return start(p);
      }
      return finish(p, Status::NotFound);
    case ARES_ENOTFOUND:
    case ARES_ESERVFAIL:
    case ARES_EREFUSED:
    case ARES_ENONAME:
      return finish(p, Status::NotFound);
    case ARES_ETIMEOUT:
    case ARES_ECONNREFUSED:
      if (p.tries_left > 0) {
        --p.tries_left;
        return start(p);
      }
      return finish(p, Status::Timeout);
    default:
      return finish(p, Status::Error);
  }
}

}  // namespace

void Resolver::run(std::vector<Query*>& queries) {
  std::vector<Pending> pending;
  pending.reserve(queries.size());
  RunState state;
  for (Query* q : queries) {
    q->answer.clear();
    const std::string* known = q->reverse ? hosts_.name_of(q->key) : hosts_.address_of(q->key);
    if (known) {
      q->answer = *known;
      q->status = Status::Found;
      continue;
    }
    if (!settings_.use_dns) {
      q->status = Status::NotFound;
      continue;
    }
    Pending p;
    p.run = &state;
    p.query = q;
    p.tries_left = settings_.max_retries;
    if (q->reverse) {
      std::string canonical;
      if (!canonical_address(q->key, canonical)) {
        q->status = Status::Error;
        continue;
      }
      if (inet_pton(AF_INET, canonical.c_str(), p.address) == 1) {
        p.family = AF_INET;
        p.address_length = 4;
      } else {
        inet_pton(AF_INET6, canonical.c_str(), p.address);
        p.family = AF_INET6;
        p.address_length = 16;
      }
    }
    pending.push_back(p);
  }
  if (pending.empty()) return;
  std::unique_ptr<Channel> channel = take_channel();
  state.channel = channel->channel;
  state.pending = pending.size();
  for (Pending& p : pending) start(p);
  const int64_t deadline = lookup::monotonic_nanos() + deadline_nanos_;
  while (state.pending > 0) {
    const int64_t now = lookup::monotonic_nanos();
    if (now >= deadline) {
      state.stopping = true;
      ares_cancel(state.channel);  // every remaining callback runs now, as a timeout
      break;
    }
    ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(state.channel, sockets, ARES_GETSOCK_MAXNUM);
    pollfd fds[ARES_GETSOCK_MAXNUM];
    nfds_t count = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      const bool readable = ARES_GETSOCK_READABLE(bits, i), writable = ARES_GETSOCK_WRITABLE(bits, i);
      if (!readable && !writable) continue;
      fds[count].fd = sockets[i];
      fds[count].events = short((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
      fds[count].revents = 0;
      ++count;
    }
    const int64_t left = deadline - now;
    timeval max_wait{time_t(left / 1000000000), suseconds_t((left % 1000000000) / 1000)};
    timeval wait{};
    const timeval* next = ares_timeout(state.channel, &max_wait, &wait);
    const int wait_ms = next ? int(next->tv_sec * 1000 + (next->tv_usec + 999) / 1000) : int(left / 1000000);
    const int ready = poll(fds, count, std::max(1, wait_ms));
    if (ready <= 0) {
      ares_process_fd(state.channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
      continue;
    }
    for (nfds_t i = 0; i < count; ++i) {
      if (!fds[i].revents) continue;
      const bool read = fds[i].revents & (POLLIN | POLLERR | POLLHUP);
      const bool write = fds[i].revents & POLLOUT;
      ares_process_fd(state.channel, read ? fds[i].fd : ARES_SOCKET_BAD, write ? fds[i].fd : ARES_SOCKET_BAD);
    }
  }
  give_back(std::move(channel));
}

}  // namespace sluice::dns
