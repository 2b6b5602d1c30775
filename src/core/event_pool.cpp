// Event (and raw unit) recycling: each thread keeps a small cache; surplus moves to a bounded
// global list in blocks, so objects made on one thread and freed on another come back.
#include "core/event_pool.h"

#include <algorithm>
#include <mutex>
#include <vector>

namespace sluice {

namespace {

constexpr size_t kBlockSize = 64;          // events moved between a thread and the global list at once
// Above two batches of the default size: a worker that builds and frees its own events (see
// RawUnit) keeps them in its cache, hot in its core's caches, instead of trading blocks through
// the global list with the other workers.
constexpr size_t kLocalLimit = 4 * kBlockSize;
constexpr size_t kGlobalBlockLimit = 256;  // beyond this (16k events) freed events are deleted
constexpr size_t kMaxPooledFields = 256;   // an event grown this wide is not worth keeping
// Pooled events keep their strings' capacity; one that held big values is freed instead, so
// the pool never pins more than about kMaxPooledBytes per cached event.
constexpr size_t kMaxPooledBytes = 64 * 1024;

size_t object_retained_bytes(const Object& object, size_t budget);

// Heap bytes a container value's storage holds on to (strings by capacity), give or take.
// Scalars are counted inline by the callers: this runs on every free, so no call per leaf.
// A shared object (Value::share) is not this event's: it is not counted.
size_t container_retained_bytes(const Value& v, size_t budget) {
  if (v.is_object()) return v.is_shared() ? 0 : object_retained_bytes(v.as_object(), budget);
  size_t total = 0;
  for (const Value& item : v.as_array()) {
    total += 32 + item.as_string().capacity();
    if (item.is_object() || item.is_array()) total += container_retained_bytes(item, budget - std::min(budget, total));
    if (total > budget) return total;
  }
  return total;
}

size_t object_retained_bytes(const Object& object, size_t budget) {
  size_t total = 0;
  for (const Object::Entry& entry : object) {
    const Value& value = entry.value;
    total += 48 + entry.key.capacity() + value.as_string().capacity();
    if (value.is_object() || value.is_array())
      total += container_retained_bytes(value, budget - std::min(budget, total));
    if (total > budget) return total;
  }
  return total;
}

// Top-level strings only: no walk into nested objects.
size_t top_level_retained_bytes(const Object& object) {
  size_t total = 0;
  for (const Object::Entry& entry : object) total += entry.key.capacity() + entry.value.as_string().capacity();
  return total;
}

// The full walk costs as much as a filter on a wide event, so most frees check only the
// top-level strings (where a huge message lands) and every kFullCheckEvery-th free walks the
// whole tree. An event that kept a huge nested value can so stay pooled for a few uses; what
// the pool keeps stays bounded by what was in flight at once (events are reused last-in first).
constexpr unsigned kFullCheckEvery = 8;

bool too_big_to_pool(Event& e) {
  if (e.fields().size() > kMaxPooledFields || e.metadata().size() > kMaxPooledFields) return true;
  thread_local unsigned frees = 0;
  if (++frees % kFullCheckEvery != 0) return top_level_retained_bytes(e.fields()) > kMaxPooledBytes;
  size_t total = object_retained_bytes(e.fields(), kMaxPooledBytes);
  if (total > kMaxPooledBytes) return true;
  return total + object_retained_bytes(e.metadata(), kMaxPooledBytes - total) > kMaxPooledBytes;
}

// One recycling pool per pooled type: thread caches plus a bounded global list of blocks.
template <typename T>
struct Pool {
  using Block = std::vector<T*>;

  struct GlobalFreeList {
    std::mutex mutex;
    std::vector<Block> blocks;

    bool take(Block& into) {
      std::lock_guard lock(mutex);
      if (blocks.empty()) return false;
      into.swap(blocks.back());
      blocks.pop_back();
      return true;
    }
    // Returns false when full; the caller then deletes the objects.
    bool give(Block&& block) {
      std::lock_guard lock(mutex);
      if (blocks.size() >= kGlobalBlockLimit) return false;
      blocks.push_back(std::move(block));
      return true;
    }
  };

  // Never destroyed: thread caches may hand their objects back after static destruction began.
  static GlobalFreeList& global_list() {
    static auto* list = new GlobalFreeList;
    return *list;
  }

  static void delete_all(Block& block) {
    for (T* e : block) delete e;
    block.clear();
  }

  struct ThreadCache {
    Block items;

    ~ThreadCache() {
      while (!items.empty()) {
        size_t n = std::min(kBlockSize, items.size());
        Block block(items.end() - long(n), items.end());
        items.resize(items.size() - n);
        if (!global_list().give(std::move(block))) delete_all(block);
      }
    }
  };

  static ThreadCache& thread_cache() {
    thread_local ThreadCache cache;
    return cache;
  }

  static T* take() {
    ThreadCache& cache = thread_cache();
    if (cache.items.empty()) {
      Block block;
      if (global_list().take(block)) cache.items.swap(block);
    }
    if (cache.items.empty()) return new T();
    T* e = cache.items.back();
    cache.items.pop_back();
    return e;
  }

  // `e` is already emptied by the caller.
  static void give(T* e) {
    ThreadCache& cache = thread_cache();
    if (cache.items.capacity() < kLocalLimit) cache.items.reserve(kLocalLimit);
    cache.items.push_back(e);
    if (cache.items.size() >= kLocalLimit) {
      Block block(cache.items.end() - long(kBlockSize), cache.items.end());
      cache.items.resize(cache.items.size() - kBlockSize);
      if (!global_list().give(std::move(block))) delete_all(block);
    }
  }
};

}  // namespace

Event* new_event() { return Pool<Event>::take(); }

void free_event(Event* e) {
  if (!e) return;
  if (too_big_to_pool(*e)) {
    delete e;  // releases its ack hold too
    return;
  }
  e->reset();
  Pool<Event>::give(e);
}

RawUnit* new_raw_unit() { return Pool<RawUnit>::take(); }

void free_raw_unit(RawUnit* unit) {
  if (!unit) return;
  if (unit->bytes.capacity() + unit->origin.capacity() + 4 * unit->ends.capacity() > kMaxPooledBytes) {
    delete unit;
    return;
  }
  unit->bytes.clear();
  unit->ends.clear();
  unit->gap = 0;
  unit->token = nullptr;
  Pool<RawUnit>::give(unit);
}

}  // namespace sluice
