// A parser for ua-parser's regexes.yaml (uap-core): user agent, OS and device, following the
// uap-core specification (first matching regex wins; `$1`..`$9` in replacements; empty = absent).
// Regexes compile with PCRE2 + JIT and run in order (PCRE2's own start-of-match optimisations
// reject most in a memchr). A Hyperscan prefilter (as grok has) was tried: compiling uap-core's
// ~1700 regexes with HS_FLAG_PREFILTER takes minutes, so the filter relies on its LRU cache.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::useragent {

class UapError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One parse result. An empty string means "not defined" (uap-core treats empty as absent).
struct UapResult {
  std::string ua_family = "Other", ua_major, ua_minor, ua_patch, ua_patch_minor;
  std::string os_family = "Other", os_major, os_minor, os_patch, os_patch_minor;
  std::string device_family = "Other", device_brand, device_model;
};

class UapParser {
 public:
  // Reads and compiles `regexes_path`; throws UapError naming the file (and the regex) on failure.
  static std::unique_ptr<UapParser> load(const std::string& regexes_path);
  static std::unique_ptr<UapParser> from_yaml_text(const std::string& yaml_text);
  ~UapParser();

  // Thread-safe (per-thread match data).
  void parse(std::string_view agent, UapResult& out) const;
  void parse_user_agent(std::string_view agent, UapResult& out) const;
  void parse_os(std::string_view agent, UapResult& out) const;
  void parse_device(std::string_view agent, UapResult& out) const;

  size_t regex_count() const;

 private:
  UapParser();
  struct Lists;
  std::unique_ptr<Lists> lists_;
};

}  // namespace sluice::useragent
