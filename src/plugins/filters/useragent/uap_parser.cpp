#include "plugins/filters/useragent/uap_parser.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>


namespace sluice::useragent {
namespace {

// Enough ovector pairs for every uap-core regex (the largest has about ten groups).
constexpr uint32_t kOvectorPairs = 32;

// Per-thread PCRE2 state: match data and a JIT stack big enough for the `.{0,200}` patterns.
struct MatchScratch {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  MatchScratch() {
    data = pcre2_match_data_create(kOvectorPairs, nullptr);
    context = pcre2_match_context_create(nullptr);
    jit_stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, nullptr);
    if (jit_stack) pcre2_jit_stack_assign(context, nullptr, jit_stack);
  }
  ~MatchScratch() {
    if (jit_stack) pcre2_jit_stack_free(jit_stack);
    if (context) pcre2_match_context_free(context);
    if (data) pcre2_match_data_free(data);
  }
};

MatchScratch& scratch() {
  thread_local MatchScratch s;
  return s;
}

struct Rule {
  pcre2_code* code = nullptr;
  bool jit = false;
  // Replacement templates by slot (UA/OS: family, v1..v4; device: device, brand, model).
  std::array<std::optional<std::string>, 5> replacements;
};

// The text of group n of the last match ("" when absent or not participating).
std::string_view group(std::string_view subject, pcre2_match_data* data, int rc, uint32_t n) {
  if (n == 0 || int(n) >= rc) return {};
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data);
  if (ov[2 * n] == PCRE2_UNSET) return {};
  return subject.substr(ov[2 * n], ov[2 * n + 1] - ov[2 * n]);
}

// `$1`..`$9` become the groups' text (empty when absent), as uap-core specifies.
void expand(const std::string& replacement, std::string_view subject, pcre2_match_data* data, int rc,
            std::string& out) {
  out.clear();
  for (size_t i = 0; i < replacement.size(); ++i) {
    const char c = replacement[i];
    if (c == '$' && i + 1 < replacement.size() && replacement[i + 1] >= '1' && replacement[i + 1] <= '9') {
      out += group(subject, data, rc, uint32_t(replacement[i + 1] - '0'));
      ++i;
    } else {
      out += c;
    }
  }
}

void trim(std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  if (b != 0 || e != s.size()) s = s.substr(b, e - b);
}

}  // namespace

class UapRegexList {
 public:
  UapRegexList() = default;
  UapRegexList(const UapRegexList&) = delete;
  ~UapRegexList() {
    for (auto& rule : rules_)
      if (rule.code) pcre2_code_free(rule.code);
  }

  void add(const std::string& regex, bool caseless, std::array<std::optional<std::string>, 5> replacements,
           const std::string& where) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    if (caseless) options |= PCRE2_CASELESS;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(regex.data()), regex.size(), options, &error,
                                     &offset, nullptr);
    if (!code) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof message);
      throw UapError(fmt::format("{}: regex `{}` does not compile at offset {}: {}", where, regex, offset,
                                 reinterpret_cast<const char*>(message)));
    }
    Rule rule;
    rule.code = code;
    rule.jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    rule.replacements = std::move(replacements);
    rules_.push_back(std::move(rule));
  }

  // Runs the rules in order; calls on_match(rule, rc, data) for the first that matches.
  template <typename OnMatch>
  bool first_match(std::string_view subject, OnMatch&& on_match) const {
    MatchScratch& s = scratch();
    const auto* ptr = reinterpret_cast<PCRE2_SPTR>(subject.data());
    for (size_t i = 0; i < rules_.size(); ++i) {
      const Rule& rule = rules_[i];
      const int rc = rule.jit ? pcre2_jit_match(rule.code, ptr, subject.size(), 0, 0, s.data, s.context)
                              : pcre2_match(rule.code, ptr, subject.size(), 0, 0, s.data, s.context);
      if (rc >= 0) {
        // rc 0: the ovector was too small; every group we read is then treated as absent.
        on_match(rule, rc == 0 ? 1 : rc, s.data);
        return true;
      }
    }
    return false;
  }

  size_t size() const { return rules_.size(); }

 private:
  std::vector<Rule> rules_;
};

struct UapParser::Lists {
  UapRegexList user_agents, oses, devices;
};

UapParser::UapParser() : lists_(std::make_unique<Lists>()) {}
UapParser::~UapParser() = default;

namespace {

std::optional<std::string> optional_key(const YAML::Node& entry, const char* key) {
  const YAML::Node value = entry[key];
  if (!value || value.IsNull()) return std::nullopt;
  if (!value.IsScalar()) throw UapError(fmt::format("`{}` must be a string", key));
  return value.as<std::string>();
}

void load_list(const YAML::Node& root, const char* name, const std::array<const char*, 5>& keys, UapRegexList& list,
               const std::string& source) {
  const YAML::Node entries = root[name];
  if (!entries || !entries.IsSequence()) throw UapError(fmt::format("{}: no `{}` list", source, name));
  size_t index = 0;
  for (const YAML::Node& entry : entries) {
    const std::string where = fmt::format("{}: {}[{}]", source, name, index++);
    if (!entry.IsMap()) throw UapError(where + ": not a mapping");
    const std::optional<std::string> regex = optional_key(entry, "regex");
    if (!regex) throw UapError(where + ": no `regex`");
    const std::optional<std::string> flag = optional_key(entry, "regex_flag");
    std::array<std::optional<std::string>, 5> replacements;
    for (size_t k = 0; k < keys.size(); ++k)
      if (keys[k]) replacements[k] = optional_key(entry, keys[k]);
    list.add(*regex, flag && *flag == "i", std::move(replacements), where);
  }
}

}  // namespace

std::unique_ptr<UapParser> UapParser::from_yaml_text(const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw UapError(std::string("regexes: ") + e.what());
  }
  std::unique_ptr<UapParser> parser(new UapParser());
  const std::string source = "regexes";
  try {
    load_list(root, "user_agent_parsers",
              {"family_replacement", "v1_replacement", "v2_replacement", "v3_replacement", "v4_replacement"},
              parser->lists_->user_agents, source);
    load_list(root, "os_parsers",
              {"os_replacement", "os_v1_replacement", "os_v2_replacement", "os_v3_replacement", "os_v4_replacement"},
              parser->lists_->oses, source);
    load_list(root, "device_parsers", {"device_replacement", "brand_replacement", "model_replacement", nullptr, nullptr},
              parser->lists_->devices, source);
  } catch (const YAML::Exception& e) {
    throw UapError(std::string("regexes: ") + e.what());
  }
  return parser;
}

std::unique_ptr<UapParser> UapParser::load(const std::string& regexes_path) {
  std::string text;
  {
    FILE* f = std::fopen(regexes_path.c_str(), "rb");
    if (!f) throw UapError(fmt::format("cannot read `{}`: {}", regexes_path, std::strerror(errno)));
    char buffer[65536];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
    std::fclose(f);
  }
  try {
    return from_yaml_text(text);
  } catch (const UapError& e) {
    throw UapError(fmt::format("{}: {}", regexes_path, e.what()));
  }
}

size_t UapParser::regex_count() const {
  return lists_->user_agents.size() + lists_->oses.size() + lists_->devices.size();
}

void UapParser::parse(std::string_view agent, UapResult& out) const {
  parse_user_agent(agent, out);
  parse_os(agent, out);
  parse_device(agent, out);
}

// Slot k of a UA/OS rule: the replacement when given (expanded), else group k+1.
static void fill(const Rule& rule, size_t slot, std::string_view subject, pcre2_match_data* data, int rc,
                 std::string& out) {
  if (rule.replacements[slot]) expand(*rule.replacements[slot], subject, data, rc, out);
  else out.assign(group(subject, data, rc, uint32_t(slot + 1)));
}

void UapParser::parse_user_agent(std::string_view agent, UapResult& out) const {
  const bool found = lists_->user_agents.first_match(agent, [&](const Rule& rule, int rc, pcre2_match_data* data) {
    fill(rule, 0, agent, data, rc, out.ua_family);
    fill(rule, 1, agent, data, rc, out.ua_major);
    fill(rule, 2, agent, data, rc, out.ua_minor);
    fill(rule, 3, agent, data, rc, out.ua_patch);
    fill(rule, 4, agent, data, rc, out.ua_patch_minor);
  });
  if (!found || out.ua_family.empty()) {
    out.ua_family = "Other";
    out.ua_major.clear(), out.ua_minor.clear(), out.ua_patch.clear(), out.ua_patch_minor.clear();
  }
}

void UapParser::parse_os(std::string_view agent, UapResult& out) const {
  const bool found = lists_->oses.first_match(agent, [&](const Rule& rule, int rc, pcre2_match_data* data) {
    fill(rule, 0, agent, data, rc, out.os_family);
    fill(rule, 1, agent, data, rc, out.os_major);
    fill(rule, 2, agent, data, rc, out.os_minor);
    fill(rule, 3, agent, data, rc, out.os_patch);
    fill(rule, 4, agent, data, rc, out.os_patch_minor);
  });
  if (!found || out.os_family.empty()) {
    out.os_family = "Other";
    out.os_major.clear(), out.os_minor.clear(), out.os_patch.clear(), out.os_patch_minor.clear();
  }
}

void UapParser::parse_device(std::string_view agent, UapResult& out) const {
  const bool found = lists_->devices.first_match(agent, [&](const Rule& rule, int rc, pcre2_match_data* data) {
    fill(rule, 0, agent, data, rc, out.device_family);
    if (rule.replacements[1]) expand(*rule.replacements[1], agent, data, rc, out.device_brand);
    else out.device_brand.clear();
    // The model defaults to the first group, like the family.
    fill(rule, 2, agent, data, rc, out.device_model);
    if (!rule.replacements[2]) out.device_model.assign(group(agent, data, rc, 1));
    trim(out.device_family), trim(out.device_brand), trim(out.device_model);
  });
  if (!found || out.device_family.empty()) {
    out.device_family = "Other";
    out.device_brand.clear(), out.device_model.clear();
  }
}

}  // namespace sluice::useragent
