// A bounded, thread-safe LRU cache with a time-to-live, shared by the lookup filters
// (jdbc_streaming, redis). Sharded so that several workers hitting the cache at once rarely
// wait on the same lock; each shard holds capacity/shards entries.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
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

template <typename V>
class LruCache {
 public:
  // capacity 0 disables the cache (get always misses, put does nothing); ttl_nanos 0 = no expiry.
  LruCache(size_t capacity, int64_t ttl_nanos) : ttl_nanos_(ttl_nanos) {
    const size_t shard_count = capacity >= 1024 ? 16 : 1;
    per_shard_ = capacity == 0 ? 0 : (capacity + shard_count - 1) / shard_count;
    shards_.reserve(shard_count);
    for (size_t i = 0; i < shard_count; ++i) shards_.push_back(std::make_unique<Shard>());
  }

  bool enabled() const { return per_shard_ > 0; }

  // Copies the cached value into `out`; false when absent or expired (an expired entry is dropped).
  bool get(std::string_view key, V& out, int64_t now_nanos) {
    return visit(key, now_nanos, [&out](const V& value) { out = value; });
  }

  // Calls use(const V&) with the cached value, under the shard's lock (so the caller can copy it
  // straight to where it goes); false when absent or expired.
  template <typename Use>
  bool visit(std::string_view key, int64_t now_nanos, Use&& use) {
    if (!enabled()) return false;
    const HashedKey probe{key, StringHash{}(key)};  // hashed once: picks the shard and the bucket
    Shard& shard = *shards_[probe.hash % shards_.size()];
    std::lock_guard lock(shard.mutex);
    auto it = shard.index.find(probe);
    if (it == shard.index.end()) return false;
    auto node = it->second;
    if (ttl_nanos_ > 0 && now_nanos >= node->expires_at) {
      shard.index.erase(it);
      shard.order.erase(node);
      return false;
    }
    // Approximate LRU: an entry moves to the front only once it has drifted into the older half
    // (more than capacity/2 insertions since it was last moved), so hot entries cost no list
    // surgery on most hits and still never reach the eviction end.
    if (shard.inserts - node->moved_at > per_shard_ / 2) {
      shard.order.splice(shard.order.begin(), shard.order, node);
      node->moved_at = shard.inserts;
    }
    use(node->value);
    return true;
  }

  void put(std::string_view key, V value, int64_t now_nanos) {
    if (!enabled()) return;
    const HashedKey probe{key, StringHash{}(key)};
    Shard& shard = *shards_[probe.hash % shards_.size()];
    std::lock_guard lock(shard.mutex);
    const int64_t expires = ttl_nanos_ > 0 ? now_nanos + ttl_nanos_ : INT64_MAX;
    auto it = shard.index.find(probe);
    if (it != shard.index.end()) {
      it->second->value = std::move(value);
      it->second->expires_at = expires;
      it->second->moved_at = shard.inserts;
      shard.order.splice(shard.order.begin(), shard.order, it->second);
      return;
    }
    if (shard.order.size() >= per_shard_) {  // evict the least recently used
      const Node& oldest = shard.order.back();
      shard.index.erase(HashedKey{oldest.key, oldest.hash});
      shard.order.pop_back();
      evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    shard.order.push_front(Node{std::string(key), probe.hash, std::move(value), expires, ++shard.inserts});
    // The index's key views the node's string: list nodes never move, and the key is never modified.
    shard.index.emplace(HashedKey{shard.order.front().key, probe.hash}, shard.order.begin());
  }

  void clear() {
    for (auto& shard : shards_) {
      std::lock_guard lock(shard->mutex);
      shard->index.clear();
      shard->order.clear();
    }
  }

  size_t size() const {
    size_t n = 0;
    for (auto& shard : shards_) {
      std::lock_guard lock(shard->mutex);
      n += shard->order.size();
    }
    return n;
  }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  // A key with its hash computed once per call; the index hashes nothing itself.
  struct HashedKey {
    std::string_view text;
    size_t hash;
    bool operator==(const HashedKey& other) const { return text == other.text; }
  };
  struct StoredHash {
    size_t operator()(const HashedKey& key) const { return key.hash; }
  };
  struct Node {
    std::string key;
    size_t hash;
    V value;
    int64_t expires_at;
    uint64_t moved_at;  // shard.inserts when last put at the front
  };
  struct Shard {
    mutable SpinLock mutex;
    std::list<Node> order;  // most recently used first (approximately, see visit())
    uint64_t inserts = 0;
    std::unordered_map<HashedKey, typename std::list<Node>::iterator, StoredHash> index;
  };

  int64_t ttl_nanos_;
  size_t per_shard_ = 0;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace sluice::lookup
