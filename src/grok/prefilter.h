// Multi-pattern pre-filter: one Hyperscan database of every pattern of a `match` field,
// compiled with HS_FLAG_PREFILTER (a superset approximation, so look-arounds, atomic
// groups and back-references are accepted). One scan tells which patterns can match;
// only those run PCRE2 with captures. A pattern Hyperscan rejects is always a candidate.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::grok {

class Prefilter {
 public:
  // `regexes` are PCRE2-syntax regexes (translated grok patterns). Returns null when no
  // pattern could be compiled (nothing to gain).
  static std::unique_ptr<Prefilter> build(const std::vector<std::string>& regexes);
  ~Prefilter();

  // Sets candidates[i] = 1 for each pattern i that may match `subject` (0 = cannot match).
  // Input that is not valid UTF-8 makes every pattern a candidate.
  void scan(std::string_view subject, std::vector<unsigned char>& candidates) const;

  size_t size() const { return count_; }
  size_t rejected() const { return always_.size(); }  // patterns Hyperscan could not take

 private:
  Prefilter() = default;
  struct Database;
  std::unique_ptr<Database> db_;
  std::vector<unsigned> always_;  // indexes of rejected patterns
  size_t count_ = 0;
  uint64_t serial_ = 0;  // identifies the database for per-thread scratch sizing
};

}  // namespace sluice::grok
