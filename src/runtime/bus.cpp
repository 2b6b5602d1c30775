// Pipeline-to-pipeline address registry (see bus.h for the shutdown order).
#include "runtime/bus.h"

#include <chrono>
#include <stdexcept>

namespace sluice {

PipelineBus& PipelineBus::instance() {
  static PipelineBus bus;
  return bus;
}

void PipelineBus::listen(const std::string& address, Receiver* receiver) {
  std::lock_guard lock(mutex_);
  AddressState& state = addresses_[address];
  if (state.receiver && state.receiver != receiver)
    throw std::runtime_error("pipeline address '" + address + "' is already in use by another pipeline input");
  state.receiver = receiver;
  changed_.notify_all();
}

void PipelineBus::unlisten(const std::string& address, Receiver* receiver) {
  std::unique_lock lock(mutex_);
  auto it = addresses_.find(address);
  if (it == addresses_.end() || it->second.receiver != receiver) return;
  if (block_on_unlisten_) {
    changed_.wait(lock, [&] { return it->second.senders == 0 || !block_on_unlisten_; });
  }
  it->second.receiver = nullptr;
  changed_.wait(lock, [&] { return it->second.in_flight == 0; });
  changed_.notify_all();
}

void PipelineBus::set_block_on_unlisten(bool block) {
  std::lock_guard lock(mutex_);
  block_on_unlisten_ = block;
  changed_.notify_all();
}

void PipelineBus::register_sender(const std::string& address) {
  std::lock_guard lock(mutex_);
  ++addresses_[address].senders;
}

void PipelineBus::unregister_sender(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = addresses_.find(address);
  if (it == addresses_.end() || it->second.senders == 0) return;
  --it->second.senders;
  changed_.notify_all();
}

bool PipelineBus::send(const std::string& address, std::span<Event* const> events, const std::atomic<bool>* give_up,
                       bool wait) {
  std::unique_lock lock(mutex_);
  AddressState& state = addresses_[address];
  while (!state.receiver) {
    if (!wait || (give_up && give_up->load())) return false;
    // The give-up flag is set by another component without notifying us: poll it.
    changed_.wait_for(lock, std::chrono::milliseconds(100));
  }
  Receiver* receiver = state.receiver;
  ++state.in_flight;
  lock.unlock();
  try {
    receiver->deliver(events);
  } catch (...) {
    lock.lock();
    --state.in_flight;
    changed_.notify_all();
    throw;
  }
  lock.lock();
  --state.in_flight;
  changed_.notify_all();
  return true;
}

bool PipelineBus::has_receiver(const std::string& address) const {
  std::lock_guard lock(mutex_);
  auto it = addresses_.find(address);
  return it != addresses_.end() && it->second.receiver != nullptr;
}

int PipelineBus::senders(const std::string& address) const {
  std::lock_guard lock(mutex_);
  auto it = addresses_.find(address);
  return it == addresses_.end() ? 0 : it->second.senders;
}

}  // namespace sluice
