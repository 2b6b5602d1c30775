// A bounded, thread-safe LRU cache with a time-to-live, shared by the lookup filters (redis,
// jdbc_streaming, dns, useragent). Its buckets are spread over shards, each with its own lock, so
// several workers hitting the cache at once rarely wait on the same lock.
#pragma once

#include <emmintrin.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sluice::lookup {

inline int64_t monotonic_nanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A fast hash for short keys (lookup keys are mostly 8-40 bytes): 8-byte words mixed by 128-bit
// multiplication, about a fifth of std::hash's (murmur) instructions on a 13-byte key.
inline uint64_t hash_key(std::string_view text) {
  auto load8 = [](const char* at) {
    uint64_t word;
    std::memcpy(&word, at, 8);
    return word;
  };
  auto load4 = [](const char* at) {
    uint32_t word;
    std::memcpy(&word, at, 4);
    return uint64_t(word);
  };
  auto mix = [](uint64_t a, uint64_t b) {
    const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
    return uint64_t(product) ^ uint64_t(product >> 64);
  };
  constexpr uint64_t k0 = 0x9E3779B97F4A7C15ULL, k1 = 0xC2B2AE3D27D4EB4FULL, k2 = 0x94D049BB133111EBULL;
  const char* p = text.data();
  const size_t n = text.size();
  uint64_t h = k0 ^ (uint64_t(n) * k1);
  if (n > 16) {
    const char* const end = p + n;
    for (; end - p > 16; p += 16) h = mix(h ^ load8(p), k1 ^ load8(p + 8));
    h = mix(h ^ load8(end - 16), k2 ^ load8(end - 8));  // the last 16 bytes (overlapping)
  } else if (n >= 8) {
    h = mix(h ^ load8(p), k1 ^ load8(p + n - 8));
  } else if (n >= 4) {
    h = mix(h ^ load4(p), k1 ^ load4(p + n - 4));
  } else if (n > 0) {
    h = mix(h ^ (uint64_t(uint8_t(p[0])) | uint64_t(uint8_t(p[n / 2])) << 8 | uint64_t(uint8_t(p[n - 1])) << 16), k1);
  }
  return mix(h, k2);
}

// Lets unordered_map<std::string, ...> be probed with a string_view (no key copy per lookup).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return size_t(hash_key(s)); }
};

// A lock for critical sections of a few hundred instructions: an uncontended lock/unlock is two
// atomic instructions (a pthread mutex costs about 60 instructions per pair); a waiter spins
// briefly, then yields its core.
class SpinLock {
 public:
  void lock() {
    while (locked_.exchange(true, std::memory_order_acquire)) {
      for (int spins = 0; locked_.load(std::memory_order_relaxed); ++spins) {
        if (spins < 64) __builtin_ia32_pause();
        else std::this_thread::yield();
      }
    }
  }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

// A bounded, set-associative cache: a key's hash picks a bucket of up to kWays slots, and a full
// bucket evicts its least recently used entry (LRU within the bucket, an approximation of a global
// LRU). No list and no per-entry allocation: a bucket's tags and use stamps share one cache line,
// a hit compares 16-bit tags before any key, and a replaced slot reuses its key's and value's
// storage. Slot memory is reserved up front but only touched as entries arrive, so a large
// capacity costs resident memory only once it is used.
template <typename V>
class LruCache {
 public:
  static constexpr size_t kWays = 8;

  // capacity 0 disables the cache (get always misses, put does nothing); ttl_nanos 0 = no expiry.
  LruCache(size_t capacity, int64_t ttl_nanos) : ttl_nanos_(ttl_nanos), capacity_(capacity) {
    if (capacity_ == 0) return;
    bucket_count_ = (capacity_ + kWays - 1) / kWays;
    shards_ = std::vector<Shard>(bucket_count_ >= 128 ? 16 : 1);  // a power of two
    shard_mask_ = shards_.size() - 1;
    // calloc: zeroed pages the kernel maps only when written. Over-allocated by a line so that
    // each bucket can start on one.
    bucket_memory_ = std::calloc(bucket_count_ * sizeof(Bucket) + 64, 1);
    slot_memory_ = std::malloc(capacity_ * sizeof(Slot) + alignof(Slot));
    if (!bucket_memory_ || !slot_memory_) {
      std::free(bucket_memory_);
      std::free(slot_memory_);
      throw std::bad_alloc();
    }
    buckets_ = reinterpret_cast<Bucket*>((reinterpret_cast<uintptr_t>(bucket_memory_) + 63) & ~uintptr_t(63));
    slots_ = reinterpret_cast<Slot*>((reinterpret_cast<uintptr_t>(slot_memory_) + alignof(Slot) - 1) &
                                     ~uintptr_t(alignof(Slot) - 1));
  }
  ~LruCache() {
    for (size_t b = 0; b < bucket_count_; ++b)
      for (size_t way = 0; way < kWays; ++way)
        if (buckets_[b].constructed & (1u << way)) slots_[b * kWays + way].~Slot();
    std::free(bucket_memory_);
    std::free(slot_memory_);
  }
  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  bool enabled() const { return capacity_ > 0; }

  // The hash the cache uses for `key`: callers that look one key up several times compute it once.
  static uint64_t hash_of(std::string_view key) { return hash_key(key); }

  // Starts loading the line `hash`'s bucket is on: a caller with many keys (a batch) prefetches
  // them all first, so that their lookups do not wait on memory one after the other.
  void prefetch(uint64_t hash) const {
    if (enabled()) __builtin_prefetch(&buckets_[place_of(hash).bucket]);
  }

  // Copies the cached value into `out`; false when absent or expired (an expired entry is dropped).
  bool get(std::string_view key, V& out, int64_t now_nanos) {
    return visit(key, now_nanos, [&out](const V& value) { out = value; });
  }

  // Calls use(const V&) with the cached value, under the shard's lock (so the caller can copy it
  // straight to where it goes); false when absent or expired.
  template <typename Use>
  bool visit(std::string_view key, int64_t now_nanos, Use&& use) {
    return visit(key, hash_of(key), now_nanos, std::forward<Use>(use));
  }
  template <typename Use>
  bool visit(std::string_view key, uint64_t hash, int64_t now_nanos, Use&& use) {
    if (!enabled()) return false;
    const Place place = place_of(hash);
    Shard& shard = shards_[place.bucket & shard_mask_];
    std::lock_guard lock(shard.mutex);
    Bucket& bucket = buckets_[place.bucket];
    const int way = find_way(bucket, place, key);
    if (way < 0) return false;
    Slot& slot = slots_[place.bucket * kWays + size_t(way)];
    if (ttl_nanos_ > 0 && now_nanos >= slot.expires_at) {
      bucket.tags[way] = 0;  // dropped; the slot keeps its storage for the next entry
      return false;
    }
    bucket.used[way] = ++shard.clock;
    use(static_cast<const V&>(slot.value));
    return true;
  }

  template <typename T>
  void put(std::string_view key, T&& value, int64_t now_nanos) {
    put(key, hash_of(key), std::forward<T>(value), now_nanos);
  }
  template <typename T>
  void put(std::string_view key, uint64_t hash, T&& value, int64_t now_nanos) {
    if (!enabled()) return;
    const Place place = place_of(hash);
    Shard& shard = shards_[place.bucket & shard_mask_];
    std::lock_guard lock(shard.mutex);
    Bucket& bucket = buckets_[place.bucket];
    const int64_t expires = ttl_nanos_ > 0 ? now_nanos + ttl_nanos_ : INT64_MAX;
    int way = find_way(bucket, place, key);
    if (way < 0) {
      way = victim_way(bucket, place, shard.clock);
      if (bucket.tags[way] != 0) evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    Slot* slot = &slots_[place.bucket * kWays + size_t(way)];
    if (!(bucket.constructed & (1u << way))) {
      new (slot) Slot{std::string(key), expires, V(std::forward<T>(value))};
      bucket.constructed |= uint8_t(1u << way);
    } else {
      slot->key.assign(key.data(), key.size());  // keeps the string's storage
      slot->expires_at = expires;
      slot->value = std::forward<T>(value);
    }
    bucket.tags[way] = place.tag;
    bucket.used[way] = ++shard.clock;
  }

  void clear() {
    for (size_t b = 0; b < bucket_count_; ++b) {
      Shard& shard = shards_[b & shard_mask_];
      std::lock_guard lock(shard.mutex);
      std::memset(buckets_[b].tags, 0, sizeof buckets_[b].tags);
    }
  }

  size_t size() const {
    size_t n = 0;
    for (size_t b = 0; b < bucket_count_; ++b) {
      const Shard& shard = shards_[b & shard_mask_];
      std::lock_guard lock(shard.mutex);
      for (uint16_t tag : buckets_[b].tags) n += tag != 0;
    }
    return n;
  }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  // One bucket's bookkeeping, one cache line: a nonzero 16-bit tag per live slot (0 = empty),
  // the shard clock at each slot's last use, and which slots hold a constructed entry.
  struct Bucket {
    uint16_t tags[kWays];
    uint32_t used[kWays];
    uint8_t constructed;
    uint8_t padding[15];
  };
  static_assert(sizeof(Bucket) == 64);
  struct Slot {
    std::string key;
    int64_t expires_at;
    V value;
  };
  struct alignas(64) Shard {  // one line per shard: no false sharing between their locks
    mutable SpinLock mutex;
    uint32_t clock = 0;  // counts uses; ages compare modulo 2^32
  };
  struct Place {
    size_t bucket;
    uint16_t tag;
    size_t ways;  // the last bucket may hold fewer than kWays (capacity is exact)
  };

  Place place_of(uint64_t hash) const {
    // The bucket from the hash's high bits (multiply-shift: no division), the tag from its low ones.
    const size_t bucket = size_t((static_cast<unsigned __int128>(hash) * bucket_count_) >> 64);
    const size_t ways = std::min(kWays, capacity_ - bucket * kWays);
    return {bucket, uint16_t(hash | 1), ways};
  }

  // The slot holding `key`, or -1: the bucket's eight tags are compared at once, and only a slot
  // whose tag matches has its key compared.
  int find_way(const Bucket& bucket, const Place& place, std::string_view key) const {
    const __m128i tags = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bucket.tags));
    const __m128i same = _mm_cmpeq_epi16(tags, _mm_set1_epi16(int16_t(place.tag)));
    // Two mask bits per 16-bit tag; bits of ways past a short last bucket are dropped.
    uint32_t candidates = uint32_t(_mm_movemask_epi8(same)) & ((1u << (2 * place.ways)) - 1) & 0x5555u;
    for (; candidates; candidates &= candidates - 1) {
      const size_t way = size_t(__builtin_ctz(candidates)) / 2;
      const std::string& stored = slots_[place.bucket * kWays + way].key;
      if (stored.size() == key.size() && std::memcmp(stored.data(), key.data(), key.size()) == 0) return int(way);
    }
    return -1;
  }

  // An empty slot, else the least recently used: only the bucket's line is read (an expired entry
  // is dropped when it is next looked up, or evicted in its turn).
  static int victim_way(const Bucket& bucket, const Place& place, uint32_t clock) {
    int oldest = 0;
    uint32_t oldest_age = 0;
    for (size_t way = 0; way < place.ways; ++way) {
      if (bucket.tags[way] == 0) return int(way);
      const uint32_t age = clock - bucket.used[way];
      if (age >= oldest_age) oldest = int(way), oldest_age = age;
    }
    return oldest;
  }

  int64_t ttl_nanos_;
  size_t capacity_;
  size_t bucket_count_ = 0;
  std::vector<Shard> shards_;
  size_t shard_mask_ = 0;
  void* bucket_memory_ = nullptr;
  void* slot_memory_ = nullptr;
  Bucket* buckets_ = nullptr;
  Slot* slots_ = nullptr;
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace sluice::lookup
