#include "grok/prefilter.h"

#include <hs/hs.h>
#include <simdjson.h>

#include <atomic>
#include <cstdint>
#include <cstring>

namespace sluice::grok {

struct Prefilter::Database {
  hs_database_t* db = nullptr;
  std::vector<unsigned> ids;  // Hyperscan id -> pattern index
  ~Database() {
    if (db) hs_free_database(db);
  }
};

namespace {

constexpr unsigned kFlags = HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH | HS_FLAG_DOTALL | HS_FLAG_MULTILINE |
                            HS_FLAG_ALLOWEMPTY | HS_FLAG_UTF8;

std::atomic<uint64_t> next_serial{1};

// Per-thread Hyperscan scratch, grown for every database this thread has scanned with.
struct ThreadScratch {
  hs_scratch_t* scratch = nullptr;
  std::vector<uint64_t> fitted;
  ~ThreadScratch() {
    if (scratch) hs_free_scratch(scratch);
  }
  hs_scratch_t* fit(const hs_database_t* db, uint64_t serial) {
    for (uint64_t s : fitted)
      if (s == serial) return scratch;
    if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) return nullptr;
    if (fitted.size() > 256) fitted.clear();
    fitted.push_back(serial);
    return scratch;
  }
};

struct ScanState {
  std::vector<unsigned char>* candidates;
  const std::vector<unsigned>* ids;
};

int on_match(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* ctx) {
  auto* st = static_cast<ScanState*>(ctx);
  (*st->candidates)[(*st->ids)[id]] = 1;
  return 0;
}

bool compiles_alone(const std::string& regex) {
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  hs_error_t rc = hs_compile(regex.c_str(), kFlags, HS_MODE_BLOCK, nullptr, &db, &err);
  if (err) hs_free_compile_error(err);
  if (db) hs_free_database(db);
  return rc == HS_SUCCESS;
}

}  // namespace

std::unique_ptr<Prefilter> Prefilter::build(const std::vector<std::string>& regexes) {
  std::unique_ptr<Prefilter> pf(new Prefilter());
  pf->count_ = regexes.size();
  auto db = std::make_unique<Database>();
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, hs_ids;
  for (unsigned i = 0; i < regexes.size(); ++i) {
    // Hyperscan reads a NUL-terminated string: a regex holding a NUL cannot be given.
    if (regexes[i].find('\0') != std::string::npos || !compiles_alone(regexes[i])) {
      pf->always_.push_back(i);
      continue;
    }
    exprs.push_back(regexes[i].c_str());
    flags.push_back(kFlags);
    hs_ids.push_back(unsigned(db->ids.size()));
    db->ids.push_back(i);
  }
  if (exprs.empty()) return nullptr;
  hs_compile_error_t* err = nullptr;
  hs_error_t rc = hs_compile_multi(exprs.data(), flags.data(), hs_ids.data(), unsigned(exprs.size()), HS_MODE_BLOCK,
                                   nullptr, &db->db, &err);
  if (err) hs_free_compile_error(err);
  if (rc != HS_SUCCESS) return nullptr;
  pf->db_ = std::move(db);
  pf->serial_ = next_serial.fetch_add(1);
  return pf;
}

Prefilter::~Prefilter() = default;

void Prefilter::scan(std::string_view subject, std::vector<unsigned char>& candidates) const {
  candidates.assign(count_, 0);
  for (unsigned i : always_) candidates[i] = 1;
  thread_local ThreadScratch tls;
  hs_scratch_t* scratch = nullptr;
  // Hyperscan's UTF-8 mode needs valid UTF-8; PCRE2 copes with invalid input, so let it.
  if (subject.size() <= UINT32_MAX && simdjson::validate_utf8(subject.data(), subject.size()))
    scratch = tls.fit(db_->db, serial_);
  if (!scratch) {
    candidates.assign(count_, 1);
    return;
  }
  ScanState st{&candidates, &db_->ids};
  hs_error_t rc = hs_scan(db_->db, subject.data(), unsigned(subject.size()), 0, scratch, on_match, &st);
  if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) candidates.assign(count_, 1);
}

}  // namespace sluice::grok
