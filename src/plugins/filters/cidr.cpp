// The cidr filter: matches (and so applies add_tag/add_field) when any of the event's addresses
// lies in any of the networks. Networks from `network` (constant ones) or `network_path` (reloaded
// in the background) are merged into sorted ranges searched in O(log n).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "core/sprintf.h"
#include "plugins/filters/common/ip_network.h"
#include "plugins/filters/common/reloadable_file.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

PluginSchema cidr_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "cidr";
  schema.doc =
      "Checks IP addresses of the event against a list of networks (IPv4 and IPv6); when any address is in any "
      "network the filter matches, so its add_tag/add_field apply.";
  schema.options = {
      option_spec("address", OptionType::Array, cv_array({}), "The address(es) to check (sprintf allowed)."),
      option_spec("address_field", OptionType::String, std::nullopt,
                  "A field holding an address or an array of addresses to check."),
      option_spec("network", OptionType::Array, cv_array({}),
                  "The networks to check against: `192.0.2.0/24`, `10.0.0.0/255.0.0.0`, `2001:db8::/32` "
                  "(sprintf allowed)."),
      option_spec("network_path", OptionType::Path, std::nullopt,
                  "A file of networks, one per `separator` (not with `network`); reloaded when it changes."),
      option_spec("refresh_interval", OptionType::Number, cv_number(600),
                  "Seconds between checks of network_path for changes (0 or less: never)."),
      option_spec("separator", OptionType::String, cv_string("\n"), "What separates the networks in network_path."),
  };
  return schema;
}

// Reads a network file: entries split on `separator`, trimmed; blank entries and `#` comments are
// skipped. Any other entry that is not a network rejects the whole file (a reload keeps the old list).
std::shared_ptr<const IpNetworkSet> load_network_file(const std::string& path, const IpNetworkSet* previous,
                                                      const std::string& separator) {
  const std::string text = read_whole_file(path);
  auto set = std::make_shared<IpNetworkSet>();
  size_t start = 0, entry = 0;
  while (start <= text.size()) {
    size_t end = separator.empty() ? std::string::npos : text.find(separator, start);
    if (end == std::string::npos) end = text.size();
    std::string_view item(text.data() + start, end - start);
    ++entry;
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t' || item.front() == '\r' || item.front() == '\n')) {
      item.remove_prefix(1);
    }
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t' || item.back() == '\r' || item.back() == '\n')) {
      item.remove_suffix(1);
    }
    if (!item.empty() && item.front() != '#') {
      std::optional<IpNetwork> network = parse_ip_network(item);
      if (!network) {
        throw std::runtime_error("entry " + std::to_string(entry) + " `" + std::string(item) + "` is not an IP network");
      }
      set->add(*network);
    }
    start = end + separator.size();
    if (end == text.size()) break;
  }
  // Logstash keeps the old list when the new file has nothing in it (a file being rewritten).
  if (previous && set->empty()) throw std::runtime_error("the file has no networks");
  set->seal();
  return set;
}

class CidrFilter : public Filter {
 public:
  CidrFilter(const Options& options, PluginContext& context) : log_(logging::get("filter.cidr")) {
    for (const std::string& text : options.get_string_array("address")) {
      Template address(text);
      if (address.is_constant()) {
        if (std::optional<IpNetwork> parsed = parse_ip_network(text)) {
          constant_addresses_.push_back(IpAddress{parsed->v6, parsed->first});
        } else {
          log_->warn("cidr: invalid IP address `{}`, skipped", text);
        }
      } else {
        address_templates_.push_back(std::move(address));
      }
    }
    if (options.has("address_field")) {
      std::string error;
      std::optional<FieldRef> ref = FieldRef::parse(options.get_string("address_field"), &error);
      if (!ref || ref->empty()) {
        throw config::ConfigError(options.position("address_field"), "cidr: invalid address_field: " + error);
      }
      address_field_ = *ref;
    }
    const std::vector<std::string> networks = options.get_string_array("network");
    if (options.has("network_path")) {
      if (!networks.empty()) {
        throw config::ConfigError(options.position("network_path"),
                                  "cidr: `network` and `network_path` are mutually exclusive");
      }
      const std::string separator = options.get_string("separator");
      const std::string path = options.get_string("network_path");
      try {
        file_ = std::make_unique<ReloadableFile<IpNetworkSet>>(
            path, options.get_number("refresh_interval"),
            [separator](const std::string& p, const IpNetworkSet* previous) {
              return load_network_file(p, previous, separator);
            },
            context.metrics, "filter.cidr");
      } catch (const std::exception& e) {
        throw config::ConfigError(options.position("network_path"),
                                  "cidr: cannot load network_path " + path + ": " + e.what());
      }
    } else {
      auto set = std::make_shared<IpNetworkSet>();
      for (const std::string& text : networks) {
        Template network(text);
        if (!network.is_constant()) {
          network_templates_.push_back(std::move(network));
        } else if (std::optional<IpNetwork> parsed = parse_ip_network(text)) {
          set->add(*parsed);
        } else {
          throw config::ConfigError(options.position("network"), "cidr: `" + text + "` is not an IP network");
        }
      }
      set->seal();
      constant_networks_ = std::move(set);
    }
  }

  bool filter(Event& event, FilterContext&) override {
    const std::shared_ptr<const IpNetworkSet> networks = current();
    return matches(event, *networks);
  }

  // One snapshot of the network list per batch: a reload lands between batches.
  void filter_batch(std::span<Event* const> events, std::vector<char>& matched, FilterContext&) override {
    matched.assign(events.size(), 0);
    const std::shared_ptr<const IpNetworkSet> networks = current();
    for (size_t i = 0; i < events.size(); ++i) {
      if (!events[i]->cancelled()) matched[i] = matches(*events[i], *networks) ? 1 : 0;
    }
  }

 private:
  std::shared_ptr<const IpNetworkSet> current() const { return file_ ? file_->snapshot() : constant_networks_; }

  bool matches(const Event& event, const IpNetworkSet& networks) const {
    // Networks given as templates are rendered for this event (Logstash sprintf's every network).
    thread_local IpNetworkSet dynamic;
    const IpNetworkSet* extra = nullptr;
    if (!network_templates_.empty()) {
      dynamic = IpNetworkSet();
      thread_local std::string text;
      for (const Template& network : network_templates_) {
        text.clear();
        network.render(event, text);
        if (std::optional<IpNetwork> parsed = parse_ip_network(text)) dynamic.add(*parsed);
      }
      dynamic.seal();
      extra = &dynamic;
    }
    auto in_any = [&](const IpAddress& address) {
      return networks.contains(address) || (extra && extra->contains(address));
    };
    for (const IpAddress& address : constant_addresses_) {
      if (in_any(address)) return true;
    }
    thread_local std::string text;
    for (const Template& address : address_templates_) {
      // "%{field}" holding a plain address: read it in place, no rendering.
      // Anything else (`addr/len`, a number...) takes the general path below.
      if (const FieldRef* ref = address.single_field()) {
        const Value* value = event.get(*ref);
        if (value && value->is_string()) {
          if (std::optional<IpAddress> parsed = parse_ip_address(value->as_string())) {
            if (in_any(*parsed)) return true;
            continue;
          }
        }
      }
      text.clear();
      address.render(event, text);
      // IPAddr.new accepts `addr/len` too; the network's first address is what is checked.
      if (std::optional<IpNetwork> parsed = parse_ip_network(text)) {
        if (in_any(IpAddress{parsed->v6, parsed->first})) return true;
      }
    }
    if (address_field_) {
      if (const Value* value = event.get(*address_field_)) {
        auto check = [&](const Value& item) {
          if (!item.is_string()) return false;
          std::optional<IpAddress> parsed = parse_ip_address(item.as_string());
          return parsed && in_any(*parsed);
        };
        if (value->is_array()) {
          for (const Value& item : value->as_array()) {
            if (check(item)) return true;
          }
        } else if (check(*value)) {
          return true;
        }
      }
    }
    return false;
  }

  std::shared_ptr<spdlog::logger> log_;
  std::vector<IpAddress> constant_addresses_;
  std::vector<Template> address_templates_;
  std::optional<FieldRef> address_field_;
  std::vector<Template> network_templates_;
  std::shared_ptr<const IpNetworkSet> constant_networks_;
  std::unique_ptr<ReloadableFile<IpNetworkSet>> file_;
};

const RegisterFilter registration{cidr_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<CidrFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
