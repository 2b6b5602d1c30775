// Event recycling: each thread keeps a small cache; surplus moves to a bounded global
// list in blocks, so events made on input threads and freed on workers come back.
#include "core/event_pool.h"

#include <algorithm>
#include <mutex>
#include <vector>

namespace sluice {

namespace {

constexpr size_t kBlockSize = 64;          // events moved between a thread and the global list at once
constexpr size_t kLocalLimit = 2 * kBlockSize;
constexpr size_t kGlobalBlockLimit = 256;  // beyond this (16k events) freed events are deleted
constexpr size_t kMaxPooledFields = 256;   // an event grown this wide is not worth keeping
// Pooled events keep their strings' capacity; one that held big values is freed instead, so
// the pool never pins more than about kMaxPooledBytes per cached event.
constexpr size_t kMaxPooledBytes = 64 * 1024;

size_t object_retained_bytes(Object& object, size_t budget);

// Heap bytes a container value's storage holds on to (strings by capacity), give or take.
// Scalars are counted inline by the callers: this runs on every free, so no call per leaf.
size_t container_retained_bytes(Value& v, size_t budget) {
  if (v.is_object()) return object_retained_bytes(v.as_object(), budget);
  size_t total = 0;
  for (Value& item : v.as_array()) {
    total += 32 + item.string_ref().capacity();
    if (item.is_object() || item.is_array()) total += container_retained_bytes(item, budget - std::min(budget, total));
    if (total > budget) return total;
  }
  return total;
}

size_t object_retained_bytes(Object& object, size_t budget) {
  size_t total = 0;
  for (Object::Entry& entry : object) {
    Value& value = entry.value;
    total += 48 + entry.key.capacity() + value.string_ref().capacity();
    if (value.is_object() || value.is_array())
      total += container_retained_bytes(value, budget - std::min(budget, total));
    if (total > budget) return total;
  }
  return total;
}

bool too_big_to_pool(Event& e) {
  if (e.fields().size() > kMaxPooledFields || e.metadata().size() > kMaxPooledFields) return true;
  size_t total = object_retained_bytes(e.fields(), kMaxPooledBytes);
  if (total > kMaxPooledBytes) return true;
  return total + object_retained_bytes(e.metadata(), kMaxPooledBytes - total) > kMaxPooledBytes;
}

using Block = std::vector<Event*>;

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
  // Returns false when full; the caller then deletes the events.
  bool give(Block&& block) {
    std::lock_guard lock(mutex);
    if (blocks.size() >= kGlobalBlockLimit) return false;
    blocks.push_back(std::move(block));
    return true;
  }
};

// Never destroyed: thread caches may hand their events back after static destruction began.
GlobalFreeList& global_list() {
  static auto* list = new GlobalFreeList;
  return *list;
}

void delete_all(Block& block) {
  for (Event* e : block) delete e;
  block.clear();
}

struct ThreadCache {
  Block events;

  ~ThreadCache() {
    while (!events.empty()) {
      size_t n = std::min(kBlockSize, events.size());
      Block block(events.end() - long(n), events.end());
      events.resize(events.size() - n);
      if (!global_list().give(std::move(block))) delete_all(block);
    }
  }
};

ThreadCache& thread_cache() {
  thread_local ThreadCache cache;
  return cache;
}

}  // namespace

Event* new_event() {
  ThreadCache& cache = thread_cache();
  if (cache.events.empty()) {
    Block block;
    if (global_list().take(block)) cache.events.swap(block);
  }
  if (cache.events.empty()) return new Event();
  Event* e = cache.events.back();
  cache.events.pop_back();
  return e;
}

void free_event(Event* e) {
  if (!e) return;
  if (too_big_to_pool(*e)) {
    delete e;  // releases its ack hold too
    return;
  }
  e->reset();
  ThreadCache& cache = thread_cache();
  if (cache.events.capacity() < kLocalLimit) cache.events.reserve(kLocalLimit);
  cache.events.push_back(e);
  if (cache.events.size() >= kLocalLimit) {
    Block block(cache.events.end() - long(kBlockSize), cache.events.end());
    cache.events.resize(cache.events.size() - kBlockSize);
    if (!global_list().give(std::move(block))) delete_all(block);
  }
}

}  // namespace sluice
