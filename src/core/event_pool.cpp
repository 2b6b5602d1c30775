// Event recycling: each thread keeps a small cache; surplus moves to a bounded global
// list in blocks, so events made on input threads and freed on workers come back.
#include "core/event_pool.h"

#include <mutex>
#include <vector>

namespace sluice {

namespace {

constexpr size_t kBlockSize = 64;          // events moved between a thread and the global list at once
constexpr size_t kLocalLimit = 2 * kBlockSize;
constexpr size_t kGlobalBlockLimit = 256;  // beyond this (16k events) freed events are deleted
constexpr size_t kMaxPooledFields = 256;   // an event grown this wide is not worth keeping

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
  if (e->fields().size() > kMaxPooledFields) {
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
