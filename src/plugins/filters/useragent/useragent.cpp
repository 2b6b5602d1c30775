// The useragent filter: parses a User-Agent string with uap-core's regexes.yaml into Logstash's
// fields (legacy layout, or ECS [user_agent][...] with the version parts in @metadata). Results are
// cached per UA string (an LRU of `lru_cache_size`), so a repeated agent costs a hash lookup.
#include <fmt/format.h>

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/event.h"
#include "plugins/filters/lookup/lru_cache.h"
#include "plugins/filters/useragent/uap_parser.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

constexpr const char* kDefaultRegexes = "/usr/share/uap-core/regexes.yaml";

PluginSchema useragent_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "useragent";
  schema.doc =
      "Parses a User-Agent string into name, version, OS and device with uap-core's regexes.yaml "
      "(Debian package uap-core). Fields as Logstash writes them: `name`, `major`... at the root or `target` "
      "(ECS disabled), or `[user_agent][name|version|os|device]` with the version parts under "
      "`[@metadata][filter][user_agent]` (ECS v1/v8).";
  auto required = [](OptionSpec spec) {
    spec.required = true;
    return spec;
  };
  schema.options = {
      required(option_spec("source", OptionType::String, std::nullopt,
                           "The field holding the User-Agent string (an array: its first value).")),
      option_spec("target", OptionType::String, std::nullopt,
                  "Where the fields go; default: the event root (ECS disabled) or `user_agent` (ECS)."),
      option_spec("regexes", OptionType::Path, std::nullopt,
                  "The regexes.yaml to use; default /usr/share/uap-core/regexes.yaml."),
      option_spec("lru_cache_size", OptionType::Number, cv_number(100000),
                  "Parsed User-Agent strings kept in the cache (0 = no cache)."),
      option_spec("prefix", OptionType::String, cv_string(""),
                  "A string prepended to every field name (ECS disabled only)."),
      option_spec("ecs_compatibility", OptionType::String, std::nullopt,
                  "ECS mode; decides the field layout (default: the pipeline's).", {"disabled", "v1", "v8"}),
  };
  return schema;
}

// Every field the filter may set, in the order Logstash sets them.
enum Slot : uint8_t {
  kName, kDevice, kMajor, kMinor, kPatch, kVersion,
  kOsMajor, kOsMinor, kOsPatch, kOsVersion, kOsName, kOsLegacy, kOsFull, kSlotCount
};

// A parse result turned into the values to set, so that a cache hit only copies strings.
struct FieldValues {
  std::vector<std::pair<Slot, std::string>> values;
};
using CachedValues = std::shared_ptr<const FieldValues>;

bool is_canonical_integer(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return s.size() == 1 || s[0] != '0';
}

// Parsers are shared by every filter using the same regexes file (compiling ~1700 regexes with
// their JIT takes a moment; a pipeline reload reuses them).
std::shared_ptr<const useragent::UapParser> shared_parser(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const useragent::UapParser>> parsers;
  std::lock_guard lock(mutex);
  if (auto parser = parsers[path].lock()) return parser;
  std::shared_ptr<const useragent::UapParser> parser = useragent::UapParser::load(path);
  parsers[path] = parser;
  return parser;
}

class UserAgentFilter : public Filter {
 public:
  UserAgentFilter(const Options& options, PluginContext& context)
      : metrics_(context.metrics),
        cache_(size_t(std::max<int64_t>(0, options.get_int("lru_cache_size"))), 0) {
    auto field_ref = [&](const std::string& option, const std::string& text) {
      std::string message;
      std::optional<FieldRef> ref = FieldRef::parse(text, &message);
      if (!ref || ref->empty())
        throw config::ConfigError(options.position(option), "useragent: invalid field reference `" + text + "`: " + message);
      return *ref;
    };
    const std::string source_text = options.get_string("source");
    source_ = field_ref("source", source_text);
    const std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                            : context.settings                ? context.settings->ecs_compatibility
                                                              : "v8";
    const bool ecs_mode = ecs != "disabled";
    const std::string prefix = options.get_string("prefix");
    if (ecs_mode && !prefix.empty())
      logging::get("filter.useragent")
          ->warn("[{}] `prefix` is not supported in ECS compatibility mode; ignoring prefix => \"{}\"", context.id,
                 prefix);
    // The target as bracketed path text ("" = the event root).
    std::string target;
    if (options.has("target")) {
      const std::string target_text = options.get_string("target");
      const FieldRef ref = field_ref("target", target_text);
      if (ref.is_metadata()) target += "[@metadata]";
      for (const auto& segment : ref.path()) target += "[" + segment + "]";
      remove_source_ = target_text == source_text;
    } else if (ecs_mode) {
      target = "[user_agent]";
    }
    auto at = [&](Slot slot, const std::string& text) { refs_[slot] = FieldRef::of(text); has_ref_[slot] = true; };
    if (ecs_mode) {
      const std::string meta = "[@metadata][filter][user_agent]";
      at(kName, target + "[name]");
      at(kDevice, target + "[device][name]");
      at(kVersion, target + "[version]");
      at(kMajor, meta + "[version][major]");
      at(kMinor, meta + "[version][minor]");
      at(kPatch, meta + "[version][patch]");
      at(kOsFull, target + "[os][full]");
      at(kOsName, target + "[os][name]");
      at(kOsVersion, target + "[os][version]");
      at(kOsMajor, meta + "[os][version][major]");
      at(kOsMinor, meta + "[os][version][minor]");
      at(kOsPatch, meta + "[os][version][patch]");
    } else {
      auto named = [&](const char* name) { return target + "[" + prefix + name + "]"; };
      at(kName, named("name"));
      at(kDevice, named("device"));
      at(kVersion, named("version"));
      at(kMajor, named("major"));
      at(kMinor, named("minor"));
      at(kPatch, named("patch"));
      at(kOsFull, named("os_full"));
      at(kOsName, named("os_name"));
      at(kOsLegacy, named("os"));
      at(kOsVersion, named("os_version"));
      at(kOsMajor, named("os_major"));
      at(kOsMinor, named("os_minor"));
      at(kOsPatch, named("os_patch"));
    }
    const std::string regexes = options.has("regexes") ? options.get_string("regexes") : kDefaultRegexes;
    try {
      parser_ = shared_parser(regexes);
    } catch (const useragent::UapError& e) {
      throw config::ConfigError(options.has("regexes") ? options.position("regexes") : options.block_position(),
                                std::string("useragent: ") + e.what() +
                                    (options.has("regexes") ? "" : " (install the Debian package uap-core)"));
    }
    if (metrics_) {
      cache_hits_ = &metrics_->counter("cache_hits");
      cache_misses_ = &metrics_->counter("cache_misses");
    }
  }

  bool filter(Event& event, FilterContext&) override {
    const Value* value = event.get(source_);
    if (value && value->is_array()) value = value->as_array().empty() ? nullptr : &value->as_array().front();
    if (!value || !value->is_string() || value->as_string().empty()) return false;
    // The agent may live in the source field, which remove_source_ deletes: look it up first.
    CachedValues values;
    const std::string& agent = value->as_string();
    if (cache_.get(agent, values, 0)) {
      count(cache_hits_);
    } else {
      count(cache_misses_);
      values = build(agent);
      cache_.put(agent, values, 0);
    }
    if (remove_source_) event.remove(source_);
    for (const auto& [slot, text] : values->values)
      if (has_ref_[slot]) event.put(refs_[slot]).set_string(text);
    return true;
  }

 private:
  CachedValues build(std::string_view agent) const {
    useragent::UapResult r;
    parser_->parse(agent, r);
    auto out = std::make_shared<FieldValues>();
    auto& v = out->values;
    v.emplace_back(kName, r.ua_family);
    v.emplace_back(kDevice, r.device_family);
    if (!r.ua_major.empty()) v.emplace_back(kMajor, r.ua_major);
    if (!r.ua_minor.empty()) v.emplace_back(kMinor, r.ua_minor);
    if (!r.ua_patch.empty()) v.emplace_back(kPatch, r.ua_patch);
    if (!r.ua_major.empty()) v.emplace_back(kVersion, ua_version(agent, r));
    if (!r.os_major.empty()) v.emplace_back(kOsMajor, r.os_major);
    if (!r.os_minor.empty()) v.emplace_back(kOsMinor, r.os_minor);
    if (!r.os_patch.empty()) v.emplace_back(kOsPatch, r.os_patch);
    std::string os_version;
    if (!r.os_major.empty()) {
      // Windows' "Vista" or "XP" joins its minor with a space, numbers with a dot (as Logstash does).
      os_version = r.os_major;
      if (!r.os_minor.empty()) {
        os_version += is_canonical_integer(r.os_major) ? '.' : ' ';
        os_version += r.os_minor;
        if (!r.os_patch.empty()) {
          os_version += '.' + r.os_patch;
          if (!r.os_patch_minor.empty()) os_version += '.' + r.os_patch_minor;
        }
      }
      v.emplace_back(kOsVersion, os_version);
    }
    v.emplace_back(kOsName, r.os_family);
    v.emplace_back(kOsLegacy, r.os_family);
    v.emplace_back(kOsFull, os_version.empty() ? r.os_family : r.os_family + " " + os_version);
    return out;
  }

  // major[.minor[.patch[.patch_minor]]]; when the regex stopped at the patch, a further numeric
  // segment that follows it in the agent string (up to a space) is added, as Logstash does.
  static std::string ua_version(std::string_view agent, const useragent::UapResult& r) {
    std::string version = r.ua_major;
    if (r.ua_minor.empty()) return version;
    version += '.' + r.ua_minor;
    if (r.ua_patch.empty()) return version;
    version += '.' + r.ua_patch;
    if (!r.ua_patch_minor.empty()) return version + '.' + r.ua_patch_minor;
    const size_t at = agent.find(version);
    if (at == std::string_view::npos) return version;
    const size_t end = at + version.size();
    if (end < agent.size() && agent[end] == '.') {
      const size_t space = agent.find(' ', end + 1);
      if (space != std::string_view::npos) {
        const std::string_view extra = agent.substr(end + 1, space - end - 1);
        if (is_canonical_integer(extra)) version += '.' + std::string(extra);
      }
    }
    return version;
  }

  static void count(std::atomic<uint64_t>* counter) {
    if (counter) counter->fetch_add(1, std::memory_order_relaxed);
  }

  PluginMetrics* metrics_;
  FieldRef source_;
  bool remove_source_ = false;
  std::array<FieldRef, kSlotCount> refs_;
  std::array<bool, kSlotCount> has_ref_{};
  std::shared_ptr<const useragent::UapParser> parser_;
  lookup::LruCache<CachedValues> cache_;
  std::atomic<uint64_t>* cache_hits_ = nullptr;
  std::atomic<uint64_t>* cache_misses_ = nullptr;
};

const RegisterFilter registration{useragent_schema(), [](const Options& options, PluginContext& context) {
                                    return std::make_unique<UserAgentFilter>(options, context);
                                  }};

}  // namespace
}  // namespace sluice
