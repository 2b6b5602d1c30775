// The geoip filter: looks an IP address up in a MaxMind database (.mmdb, via libmaxminddb) and
// writes what it finds under `target` in Logstash's field layout (legacy names, or ECS `geo.*`,
// `as.*`, `mmdb.*` names). Each worker keeps the results of `cache_size` recent addresses.
// sluice ships no database: `database` is required.
#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "plugins/filters/common/ip_network.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema geoip_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "geoip";
  schema.doc =
      "Adds the location (City, Country, Enterprise), network owner (ASN, ISP), domain or anonymity flags of an IP "
      "address from a MaxMind .mmdb database, in Logstash's legacy or ECS field layout. `database` is required "
      "(sluice bundles no GeoLite2 database).";
  schema.options = {
      option_spec("source", OptionType::String, std::nullopt, "The field holding the IP address (required)."),
      option_spec("target", OptionType::String, std::nullopt,
                  "Where the data goes (default `geoip`; in ECS mode derived from a `[x][ip]` source as `[x]`)."),
      option_spec("database", OptionType::Path, std::nullopt, "The .mmdb database file (required in sluice)."),
      option_spec("default_database_type", OptionType::String, cv_string("City"),
                  "Which bundled database Logstash would use without `database`; sluice has none.", {"City", "ASN"}),
      option_spec("fields", OptionType::Array, std::nullopt,
                  "The fields to add (e.g. city_name, country_code2, location); default: the database type's set."),
      option_spec("cache_size", OptionType::Number, cv_number(1000), "Addresses whose results each worker caches."),
      option_spec("tag_on_failure", OptionType::Array, cv_array({"_geoip_lookup_failure"}),
                  "Tags added when the address is invalid or not in the database."),
      option_spec("ecs_compatibility", OptionType::String, std::nullopt, "ECS mode; decides the field layout.",
                  {"disabled", "v1", "v8"}),
  };
  schema.options[0].required = true;
  return schema;
}

enum class GeoField {
  AUTONOMOUS_SYSTEM_NUMBER, AUTONOMOUS_SYSTEM_ORGANIZATION, CITY_NAME, COUNTRY_NAME, CONTINENT_CODE, CONTINENT_NAME,
  COUNTRY_CODE2, COUNTRY_CODE3, DOMAIN, IP, ISP, POSTAL_CODE, DMA_CODE, REGION_NAME, REGION_CODE, REGION_ISO_CODE,
  TIMEZONE, LOCATION, LATITUDE, LONGITUDE, ORGANIZATION, NETWORK, HOSTING_PROVIDER, TOR_EXIT_NODE, ANONYMOUS_VPN,
  ANONYMOUS, PUBLIC_PROXY, RESIDENTIAL_PROXY, COUNT
};

struct FieldNames {
  const char* option;  // as written in `fields` (case-insensitive)
  const char* ecs;     // sub-field under target in ECS mode ("" = none: skipped)
  const char* legacy;  // sub-field under target in legacy mode
};

// Logstash's org.logstash.filters.geoip.Fields.
constexpr std::array<FieldNames, size_t(GeoField::COUNT)> kFieldNames = {{
    {"autonomous_system_number", "[as][number]", "[asn]"},
    {"autonomous_system_organization", "[as][organization][name]", "[as_org]"},
    {"city_name", "[geo][city_name]", "[city_name]"},
    {"country_name", "[geo][country_name]", "[country_name]"},
    {"continent_code", "[geo][continent_code]", "[continent_code]"},
    {"continent_name", "[geo][continent_name]", "[continent_name]"},
    {"country_code2", "[geo][country_iso_code]", "[country_code2]"},
    {"country_code3", "", "[country_code3]"},  // not an ECS field: skipped in ECS mode
    {"domain", "[domain]", "[domain]"},
    {"ip", "[ip]", "[ip]"},
    {"isp", "[mmdb][isp]", "[isp]"},
    {"postal_code", "[geo][postal_code]", "[postal_code]"},
    {"dma_code", "[mmdb][dma_code]", "[dma_code]"},
    {"region_name", "[geo][region_name]", "[region_name]"},
    {"region_code", "[geo][region_code]", "[region_code]"},
    {"region_iso_code", "[geo][region_iso_code]", "[region_iso_code]"},
    {"timezone", "[geo][timezone]", "[timezone]"},
    {"location", "[geo][location]", "[location]"},
    {"latitude", "[geo][location][lat]", "[latitude]"},
    {"longitude", "[geo][location][lon]", "[longitude]"},
    {"organization", "[mmdb][organization]", "[organization]"},
    {"network", "[traits][network]", "[network]"},
    {"hosting_provider", "[traits][hosting_provider]", "[hosting_provider]"},
    {"tor_exit_node", "[traits][tor_exit_node]", "[tor_exit_node]"},
    {"anonymous_vpn", "[traits][anonymous_vpn]", "[anonymous_vpn]"},
    {"anonymous", "[traits][anonymous]", "[anonymous]"},
    {"public_proxy", "[traits][public_proxy]", "[public_proxy]"},
    {"residential_proxy", "[traits][residential_proxy]", "[residential_proxy]"},
}};

enum class DatabaseKind { City, Country, Domain, Asn, Isp, Enterprise, AnonymousIp, Unknown };

// Logstash's Databases.fromDatabaseType: the first known name contained in the type.
DatabaseKind kind_of(const std::string& type) {
  if (type.find("City") != std::string::npos) return DatabaseKind::City;
  if (type.find("Country") != std::string::npos) return DatabaseKind::Country;
  if (type.find("GeoIP2-Domain") != std::string::npos) return DatabaseKind::Domain;
  if (type.find("GeoLite2-ASN") != std::string::npos) return DatabaseKind::Asn;
  if (type.find("GeoIP2-ISP") != std::string::npos) return DatabaseKind::Isp;
  if (type.find("Enterprise") != std::string::npos) return DatabaseKind::Enterprise;
  if (type.find("GeoIP2-Anonymous-IP") != std::string::npos) return DatabaseKind::AnonymousIp;
  return DatabaseKind::Unknown;
}

std::vector<GeoField> default_fields(DatabaseKind kind) {
  using F = GeoField;
  switch (kind) {
    case DatabaseKind::City:
      return {F::IP, F::CITY_NAME, F::CONTINENT_CODE, F::COUNTRY_NAME, F::COUNTRY_CODE2, F::COUNTRY_CODE3,
              F::POSTAL_CODE, F::DMA_CODE, F::REGION_NAME, F::REGION_ISO_CODE, F::TIMEZONE, F::LOCATION,
              F::LATITUDE, F::LONGITUDE};
    case DatabaseKind::Country: return {F::IP, F::COUNTRY_CODE2, F::COUNTRY_NAME, F::CONTINENT_NAME};
    case DatabaseKind::Domain: return {F::DOMAIN};
    case DatabaseKind::Asn: return {F::IP, F::AUTONOMOUS_SYSTEM_NUMBER, F::AUTONOMOUS_SYSTEM_ORGANIZATION};
    case DatabaseKind::Isp:
      return {F::IP, F::AUTONOMOUS_SYSTEM_NUMBER, F::AUTONOMOUS_SYSTEM_ORGANIZATION, F::ISP, F::ORGANIZATION};
    case DatabaseKind::AnonymousIp:
      return {F::HOSTING_PROVIDER, F::TOR_EXIT_NODE, F::ANONYMOUS_VPN, F::ANONYMOUS, F::PUBLIC_PROXY,
              F::RESIDENTIAL_PROXY};
    case DatabaseKind::Enterprise:
      return {F::IP, F::COUNTRY_CODE2, F::COUNTRY_NAME, F::CONTINENT_NAME, F::REGION_ISO_CODE, F::REGION_NAME,
              F::CITY_NAME, F::LOCATION};
    case DatabaseKind::Unknown: return {};
  }
  return {};
}

// Java's InetAddress#getHostAddress: dotted IPv4; IPv6 as eight uncompressed lowercase hex groups.
std::string java_host_address(const IpAddress& address) {
  char buffer[64];
  if (!address.v6) {
    const auto v = uint32_t(address.bits);
    std::snprintf(buffer, sizeof buffer, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
    return buffer;
  }
  std::string out;
  for (int group = 7; group >= 0; --group) {
    std::snprintf(buffer, sizeof buffer, "%x", unsigned((address.bits >> (16 * group)) & 0xffff));
    out += buffer;
    if (group) out.push_back(':');
  }
  return out;
}

// The looked-up values of one address, in GeoField order.
using GeoData = std::vector<std::pair<GeoField, Value>>;

// The scalars of one database record that the filter can use, read in one pass over the record.
struct RecordValues {
  std::optional<std::string> city, continent_code, continent_name, country_code, country_name, postal, time_zone,
      region_code, region_name, as_org, isp, organization, domain;
  std::optional<double> latitude, longitude;
  std::optional<int64_t> metro_code, asn;
  std::array<std::optional<bool>, 6> flags;  // is_hosting_provider, is_tor_exit_node, is_anonymous_vpn,
                                             // is_anonymous, is_public_proxy, is_residential_proxy
};

constexpr std::array<const char*, 6> kFlagKeys = {"is_hosting_provider", "is_tor_exit_node", "is_anonymous_vpn",
                                                  "is_anonymous", "is_public_proxy", "is_residential_proxy"};

// Walks MMDB_get_entry_data_list's flattened record (maps as key/value runs) tracking the key path.
class RecordWalker {
 public:
  explicit RecordWalker(RecordValues& out) : out_(out) {}

  MMDB_entry_data_list_s* visit(MMDB_entry_data_list_s* node) {
    if (!node) return nullptr;
    const MMDB_entry_data_s& data = node->entry_data;
    node = node->next;
    if (data.type == MMDB_DATA_TYPE_MAP) {
      for (uint32_t i = 0; i < data.data_size && node; ++i) {
        const MMDB_entry_data_s& key = node->entry_data;
        node = node->next;
        const size_t mark = path_.size();
        if (!path_.empty()) path_.push_back('/');
        if (key.type == MMDB_DATA_TYPE_UTF8_STRING) path_.append(key.utf8_string, key.data_size);
        node = visit(node);
        path_.resize(mark);
      }
      return node;
    }
    if (data.type == MMDB_DATA_TYPE_ARRAY) {
      for (uint32_t i = 0; i < data.data_size && node; ++i) {
        const size_t mark = path_.size();
        path_ += "/#";  // every item of an array lands on the same path: the last one wins
        node = visit(node);
        path_.resize(mark);
      }
      return node;
    }
    leaf(data);
    return node;
  }

 private:
  void leaf(const MMDB_entry_data_s& data) {
    auto text = [&](std::optional<std::string>& slot) {
      if (data.type == MMDB_DATA_TYPE_UTF8_STRING) slot.emplace(data.utf8_string, data.data_size);
    };
    auto number = [&](std::optional<double>& slot) {
      if (data.type == MMDB_DATA_TYPE_DOUBLE) slot = data.double_value;
      else if (data.type == MMDB_DATA_TYPE_FLOAT) slot = double(data.float_value);
    };
    auto integer = [&](std::optional<int64_t>& slot) {
      switch (data.type) {
        case MMDB_DATA_TYPE_UINT16: slot = int64_t(data.uint16); break;
        case MMDB_DATA_TYPE_UINT32: slot = int64_t(data.uint32); break;
        case MMDB_DATA_TYPE_INT32: slot = int64_t(data.int32); break;
        case MMDB_DATA_TYPE_UINT64: slot = int64_t(data.uint64); break;
        default: break;
      }
    };
    const std::string& p = path_;
    if (p == "city/names/en") text(out_.city);
    else if (p == "continent/code") text(out_.continent_code);
    else if (p == "continent/names/en") text(out_.continent_name);
    else if (p == "country/iso_code") text(out_.country_code);
    else if (p == "country/names/en") text(out_.country_name);
    else if (p == "postal/code") text(out_.postal);
    else if (p == "location/latitude") number(out_.latitude);
    else if (p == "location/longitude") number(out_.longitude);
    else if (p == "location/metro_code") integer(out_.metro_code);
    else if (p == "location/time_zone") text(out_.time_zone);
    else if (p == "subdivisions/#/iso_code") text(out_.region_code);
    else if (p == "subdivisions/#/names/en") text(out_.region_name);
    else if (p == "autonomous_system_number") integer(out_.asn);
    else if (p == "autonomous_system_organization") text(out_.as_org);
    else if (p == "isp") text(out_.isp);
    else if (p == "organization") text(out_.organization);
    else if (p == "domain") text(out_.domain);
    else if (data.type == MMDB_DATA_TYPE_BOOLEAN) {
      for (size_t i = 0; i < kFlagKeys.size(); ++i) {
        if (p == kFlagKeys[i]) out_.flags[i] = data.boolean;
      }
    }
  }

  RecordValues& out_;
  std::string path_;
};

// Copies src into dst; objects are merged key by key (the ECS target usually exists: [source][ip]).
void merge_into(Value& dst, const Value& src) {
  if (src.is_object() && src.is_shared() && dst.is_null()) {
    dst = src;  // a reference to the cached subtree
    return;
  }
  if (src.is_object()) {
    if (!dst.is_object()) dst.make_object();
    for (const Object::Entry& entry : src.as_object()) merge_into(dst.as_object()[entry.key], entry.value);
  } else if (src.is_string()) {
    dst.set_string(src.as_string());  // keeps the recycled event's string storage
  } else {
    dst = src;
  }
}

// One per worker thread and filter: no lock and no reference counting on a hit. Eight-way set
// associative, least recently used replaced inside a set, with twice the slots asked for: a working
// set of `capacity` addresses fits without the cyclic misses a two-way table showed (three hot
// addresses sharing a two-way set missed on every lookup).
class GeoCache {
 public:
  static constexpr size_t kWays = 8;

  explicit GeoCache(size_t capacity) {
    size_t sets = 2;
    shift_ = 63;
    while (sets * kWays < 2 * capacity) sets <<= 1, --shift_;
    slots_.resize(sets * kWays);
  }

  const Value* get(const IpAddress& address) {
    Slot* set = &slots_[set_of(address) * kWays];
    for (size_t i = 0; i < kWays; ++i) {
      Slot& slot = set[i];
      if (slot.bits == address.bits && slot.v6 == address.v6 && slot.data) {
        slot.stamp = ++clock_;
        return slot.data.get();
      }
    }
    return nullptr;
  }

  const Value* put(const IpAddress& address, std::unique_ptr<const Value> data) {
    Slot* set = &slots_[set_of(address) * kWays];
    Slot* victim = &set[0];
    for (size_t i = 0; i < kWays; ++i) {
      if (!set[i].data) {
        victim = &set[i];
        break;
      }
      if (set[i].stamp < victim->stamp) victim = &set[i];
    }
    victim->v6 = address.v6;
    victim->bits = address.bits;
    victim->stamp = ++clock_;
    victim->data = std::move(data);
    return victim->data.get();
  }

 private:
  struct Slot {
    Uint128 bits = 0;
    uint64_t stamp = 0;
    std::unique_ptr<const Value> data;
    bool v6 = false;
  };
  // Multiplicative hashing, set picked by the top bits: they depend on every input bit (the low
  // bits of a plain finalizer put 11 of the benchmark's 500 addresses into one set).
  size_t set_of(const IpAddress& address) const {
    uint64_t x = uint64_t(address.bits) * 0x9E3779B97F4A7C15ULL ^ uint64_t(address.bits >> 64) * 0xC2B2AE3D27D4EB4FULL ^
                 uint64_t(address.v6);
    x ^= x >> 32;
    x *= 0xD6E8FEB86659FD93ULL;
    return size_t(x >> shift_);
  }

  std::vector<Slot> slots_;
  int shift_ = 63;  // 64 - log2(number of sets)
  uint64_t clock_ = 0;
};

// Identifies a filter instance in the per-thread cache table (an address could be reused).
std::atomic<uint64_t> next_instance_id{1};

class GeoipFilter : public Filter {
 public:
  GeoipFilter(const Options& options, PluginContext& context) : metrics_(context.metrics) {
    auto error = [&](const std::string& option, const std::string& message) {
      return config::ConfigError(options.position(option), "geoip: " + message);
    };
    auto field_ref = [&](const std::string& option, const std::string& text) {
      std::string message;
      std::optional<FieldRef> ref = FieldRef::parse(text, &message);
      if (!ref || ref->empty()) throw error(option, "invalid field reference `" + text + "`: " + message);
      return *ref;
    };
    const std::string source_text = options.get_string("source");
    source_ = field_ref("source", source_text);
    const std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                            : context.settings                ? context.settings->ecs_compatibility
                                                              : "v8";
    ecs_ = ecs != "disabled";
    std::string target_text;
    if (options.has("target")) {
      target_text = options.get_string("target");
    } else if (!ecs_) {
      target_text = "geoip";
    } else if (source_text.size() > 4 && source_text.ends_with("[ip]")) {
      target_text = source_text.substr(0, source_text.size() - 4);  // [client][ip] -> [client]
    } else {
      throw error("source",
                  "GeoIP Filter in ECS-Compatiblity mode requires a `target` when `source` is not an `ip` sub-field, "
                  "eg. [client][ip]");
    }
    target_ = field_ref("target", target_text);

    if (!options.has("database")) {
      throw error("database",
                  "`database` is required: sluice bundles no GeoLite2 database (Logstash would use its bundled "
                  "GeoLite2-" + options.get_string("default_database_type") +
                  "); download one from MaxMind and set database => \"/path/to/GeoLite2-City.mmdb\"");
    }
    database_path_ = options.get_string("database");
    const int status = MMDB_open(database_path_.c_str(), MMDB_MODE_MMAP, &mmdb_);
    if (status != MMDB_SUCCESS) {
      throw error("database", "cannot open " + database_path_ + ": " + MMDB_strerror(status));
    }
    open_ = true;
    const std::string type = mmdb_.metadata.database_type ? mmdb_.metadata.database_type : "";
    kind_ = kind_of(type);
    if (kind_ == DatabaseKind::Unknown) {
      MMDB_close(&mmdb_);
      open_ = false;
      throw error("database", "unsupported database type `" + type + "` in " + database_path_ +
                                  " (City, Country, ASN, ISP, Domain, Anonymous-IP or Enterprise)");
    }

    std::vector<GeoField> fields;
    if (options.has("fields") && !options.get_string_array("fields").empty()) {
      for (const std::string& name : options.get_string_array("fields")) {
        std::string lower;
        for (char c : name) lower.push_back(char(std::tolower(static_cast<unsigned char>(c))));
        bool known = false;
        for (size_t i = 0; i < kFieldNames.size(); ++i) {
          if (lower == kFieldNames[i].option) {
            fields.push_back(GeoField(i));
            known = true;
          }
        }
        if (!known) {
          std::string valid;
          for (const auto& names : kFieldNames) valid += std::string(valid.empty() ? "" : ", ") + names.option;
          throw error("fields", "illegal field value " + name + ". valid values are " + valid);
        }
      }
    } else {
      fields = default_fields(kind_);
    }
    // Where each wanted field goes below the target, resolved once.
    for (size_t i = 0; i < size_t(GeoField::COUNT); ++i) wanted_[i] = false;
    for (GeoField field : fields) {
      const FieldNames& names = kFieldNames[size_t(field)];
      const char* sub = ecs_ ? names.ecs : names.legacy;
      if (!*sub) continue;
      wanted_[size_t(field)] = true;
      paths_[size_t(field)] = FieldRef::of(sub).path();
    }

    cache_size_ = options.get_int("cache_size");
    tag_on_failure_ = options.get_string_array("tag_on_failure");
    if (metrics_) {
      cache_hits_ = &metrics_->counter("cache_hits");
      cache_misses_ = &metrics_->counter("cache_misses");
      lookup_failures_ = &metrics_->counter("lookup_failures");
    }
  }

  ~GeoipFilter() override {
    if (open_) MMDB_close(&mmdb_);
  }

  bool filter(Event& event, FilterContext&) override {
    Counts counts;
    const bool matched = filter_one(event, thread_cache(), counts);
    add_counts(counts);
    return matched;
  }

  // The counters are added once per batch: no shared cache line touched per event.
  void filter_batch(std::span<Event* const> events, std::vector<char>& matched, FilterContext&) override {
    matched.assign(events.size(), 0);
    GeoCache* const cache = thread_cache();
    Counts counts;
    for (size_t i = 0; i < events.size(); ++i) {
      if (!events[i]->cancelled()) matched[i] = filter_one(*events[i], cache, counts) ? 1 : 0;
    }
    add_counts(counts);
  }

 private:
  struct Counts {
    uint64_t hits = 0, misses = 0, failures = 0;
  };

  void add_counts(const Counts& counts) {
    auto add = [](std::atomic<uint64_t>* counter, uint64_t n) {
      if (counter && n) counter->fetch_add(n, std::memory_order_relaxed);
    };
    add(cache_hits_, counts.hits);
    add(cache_misses_, counts.misses);
    add(lookup_failures_, counts.failures);
  }

  bool filter_one(Event& event, GeoCache* cache, Counts& counts) {
    if (apply(event, cache, counts)) return true;
    for (const std::string& tag : tag_on_failure_) event.add_tag(tag);
    ++counts.failures;
    return false;
  }

  bool apply(Event& event, GeoCache* cache, Counts& counts) {
    const Value* input = event.get(source_);
    if (!input) return false;
    if (input->is_array()) input = input->as_array().empty() ? nullptr : &input->as_array()[0];
    if (!input || !input->is_string()) return false;
    const std::string& text = input->as_string();

    const Value* found = nullptr;
    if (std::optional<IpAddress> address = parse_ip_address(text)) {
      found = lookup(*address, cache, counts);
    } else if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
      return false;  // blank: Logstash does not even create the target
    }
    // Logstash creates the (empty) target once an address was tried, found or not.
    Value& target = event.put(target_);
    const Value& current = target;  // read without unsharing
    if (!target.is_null() && !target.is_object()) return false;  // a scalar there: Logstash's set fails too
    const bool fresh = target.is_null() || current.as_object().empty();
    if (!found || found->as_object().empty()) {
      if (target.is_null()) target = empty_target();
      return false;
    }
    // A fresh target takes the cached tree itself (shared, copied only if something writes to
    // it later); an existing one is merged into.
    if (fresh) target.assign_unrelated(*found);
    else merge_into(target, *found);
    return true;
  }

  // The target subtree for the address (an empty object when not found); valid until this thread's
  // next lookup.
  const Value* lookup(const IpAddress& address, GeoCache* cache, Counts& counts) {
    if (cache) {
      if (const Value* hit = cache->get(address)) {
        ++counts.hits;
        return hit;
      }
      ++counts.misses;
    }
    auto subtree = std::make_unique<Value>();
    Object& root = subtree->make_object();
    for (auto& [field, value] : read_database(address)) {
      Value* at = nullptr;
      Object* object = &root;
      for (const std::string& segment : paths_[size_t(field)]) {
        at = &(*object)[segment];
        if (&segment != &paths_[size_t(field)].back()) object = at->is_object() ? &at->as_object() : &at->make_object();
      }
      if (at) merge_into(*at, value);
    }
    // Events take references to the tree (see apply), or to its subtrees when they merge it
    // into a target that exists (the ECS [source] already holding [source][ip]).
    for (Object::Entry& entry : root) {
      if (entry.value.is_object()) entry.value.share();
    }
    subtree->share();
    if (cache) return cache->put(address, std::move(subtree));
    thread_local std::unique_ptr<const Value> uncached;
    uncached = std::move(subtree);
    return uncached.get();
  }

  GeoCache* thread_cache() {
    if (cache_size_ <= 0) return nullptr;
    thread_local uint64_t last_id = 0;
    thread_local GeoCache* last_cache = nullptr;
    if (last_id == instance_id_) return last_cache;
    thread_local std::unordered_map<uint64_t, std::unique_ptr<GeoCache>> caches;
    std::unique_ptr<GeoCache>& cache = caches[instance_id_];
    if (!cache) cache = std::make_unique<GeoCache>(size_t(cache_size_));
    last_id = instance_id_;
    last_cache = cache.get();
    return last_cache;
  }

  GeoData read_database(const IpAddress& address) const {
    GeoData data;
    sockaddr_storage storage{};
    if (address.v6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
      in6->sin6_family = AF_INET6;
      for (int i = 0; i < 16; ++i) in6->sin6_addr.s6_addr[i] = static_cast<uint8_t>(address.bits >> (8 * (15 - i)));
    } else {
      auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
      in4->sin_family = AF_INET;
      in4->sin_addr.s_addr = htonl(uint32_t(address.bits));
    }
    int mmdb_error = MMDB_SUCCESS;
    MMDB_lookup_result_s result = MMDB_lookup_sockaddr(&mmdb_, reinterpret_cast<sockaddr*>(&storage), &mmdb_error);
    if (mmdb_error != MMDB_SUCCESS || !result.found_entry) return data;
    RecordValues record;
    MMDB_entry_data_list_s* list = nullptr;
    if (MMDB_get_entry_data_list(&result.entry, &list) != MMDB_SUCCESS) {
      MMDB_free_entry_data_list(list);
      return data;
    }
    RecordWalker(record).visit(list);
    MMDB_free_entry_data_list(list);

    auto want = [&](GeoField field) { return wanted_[size_t(field)]; };
    auto put_text = [&](GeoField field, const std::optional<std::string>& value) {
      if (value && want(field)) data.emplace_back(field, Value(std::string_view(*value)));
    };
    auto put_int = [&](GeoField field, const std::optional<int64_t>& value) {
      if (value && want(field)) data.emplace_back(field, Value(*value));
    };
    auto put_flag = [&](GeoField field, size_t index) {
      if (want(field)) data.emplace_back(field, Value(record.flags[index].value_or(false)));
    };
    auto put_ip = [&] {
      if (want(GeoField::IP)) data.emplace_back(GeoField::IP, Value(java_host_address(address)));
    };
    auto put_network = [&] {
      if (!want(GeoField::NETWORK)) return;
      int prefix = result.netmask;
      if (!address.v6 && mmdb_.metadata.ip_version == 6) prefix = std::max(0, prefix - 96);
      const int width = address.v6 ? 128 : 32;
      Uint128 bits = address.bits;
      if (prefix < width) bits &= ~((Uint128(1) << (width - prefix)) - 1);
      data.emplace_back(GeoField::NETWORK, Value(java_host_address(IpAddress{address.v6, bits}) + "/" +
                                                 std::to_string(prefix)));
    };

    switch (kind_) {
      case DatabaseKind::City:
      case DatabaseKind::Enterprise: {
        // Logstash: no location means no useful geo data (the lookup counts as failed).
        if (!record.latitude && !record.longitude) return data;
        put_ip();
        put_text(GeoField::CITY_NAME, record.city);
        put_text(GeoField::CONTINENT_CODE, record.continent_code);
        put_text(GeoField::CONTINENT_NAME, record.continent_name);
        put_text(GeoField::COUNTRY_NAME, record.country_name);
        put_text(GeoField::COUNTRY_CODE2, record.country_code);
        put_text(GeoField::COUNTRY_CODE3, record.country_code);
        put_text(GeoField::POSTAL_CODE, record.postal);
        put_int(GeoField::DMA_CODE, record.metro_code);
        // The walker keeps the last subdivision: the most specific one.
        put_text(GeoField::REGION_NAME, record.region_name);
        put_text(GeoField::REGION_CODE, record.region_code);
        if (record.region_code && record.country_code && want(GeoField::REGION_ISO_CODE)) {
          data.emplace_back(GeoField::REGION_ISO_CODE, Value(*record.country_code + "-" + *record.region_code));
        }
        put_text(GeoField::TIMEZONE, record.time_zone);
        if (record.latitude && record.longitude && want(GeoField::LOCATION)) {
          Object location;
          location["lat"] = Value(*record.latitude);
          location["lon"] = Value(*record.longitude);
          data.emplace_back(GeoField::LOCATION, Value(std::move(location)));
        }
        if (record.latitude && want(GeoField::LATITUDE)) data.emplace_back(GeoField::LATITUDE, Value(*record.latitude));
        if (record.longitude && want(GeoField::LONGITUDE)) {
          data.emplace_back(GeoField::LONGITUDE, Value(*record.longitude));
        }
        put_network();
        break;
      }
      case DatabaseKind::Country:
        put_ip();
        put_text(GeoField::COUNTRY_CODE2, record.country_code);
        put_text(GeoField::COUNTRY_NAME, record.country_name);
        put_text(GeoField::CONTINENT_NAME, record.continent_name);
        put_text(GeoField::CONTINENT_CODE, record.continent_code);
        put_network();
        break;
      case DatabaseKind::Asn:
      case DatabaseKind::Isp:
        put_ip();
        put_int(GeoField::AUTONOMOUS_SYSTEM_NUMBER, record.asn);
        put_text(GeoField::AUTONOMOUS_SYSTEM_ORGANIZATION, record.as_org);
        put_text(GeoField::ISP, record.isp);
        put_text(GeoField::ORGANIZATION, record.organization);
        put_network();
        break;
      case DatabaseKind::Domain:
        put_ip();
        put_text(GeoField::DOMAIN, record.domain);
        break;
      case DatabaseKind::AnonymousIp:
        put_ip();
        put_flag(GeoField::HOSTING_PROVIDER, 0);
        put_flag(GeoField::TOR_EXIT_NODE, 1);
        put_flag(GeoField::ANONYMOUS_VPN, 2);
        put_flag(GeoField::ANONYMOUS, 3);
        put_flag(GeoField::PUBLIC_PROXY, 4);
        put_flag(GeoField::RESIDENTIAL_PROXY, 5);
        put_network();
        break;
      case DatabaseKind::Unknown: break;
    }
    return data;
  }

  PluginMetrics* metrics_ = nullptr;
  // The empty target of a failed lookup, shared like the results: an event slot that holds a
  // result one time and an empty target the next then never allocates.
  static const Value& empty_target() {
    static const Value* empty = [] {
      auto* v = new Value;
      v->make_object();
      v->share();
      return v;
    }();
    return *empty;
  }

  std::atomic<uint64_t>* cache_hits_ = nullptr;
  std::atomic<uint64_t>* cache_misses_ = nullptr;
  std::atomic<uint64_t>* lookup_failures_ = nullptr;
  FieldRef source_, target_;
  bool ecs_ = true;
  std::string database_path_;
  MMDB_s mmdb_{};
  bool open_ = false;
  DatabaseKind kind_ = DatabaseKind::Unknown;
  std::array<bool, size_t(GeoField::COUNT)> wanted_{};
  std::array<std::vector<std::string>, size_t(GeoField::COUNT)> paths_;  // below the target
  int64_t cache_size_ = 1000;  // per worker thread
  const uint64_t instance_id_ = next_instance_id.fetch_add(1);
  std::vector<std::string> tag_on_failure_;
};

const RegisterFilter registration{geoip_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<GeoipFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
