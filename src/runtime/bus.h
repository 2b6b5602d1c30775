// Pipeline-to-pipeline links: a process-wide registry of addresses.
//   output { pipeline { send_to => ["a", "b"] } }   sends a copy of each event to each address;
//   input  { pipeline { address => "a" } }          receives them into its pipeline's queue.
// A copy holds the upstream event's acknowledgement, so the upstream source hears that an
// event is done only when every downstream copy is done too. Delivery blocks while the
// downstream queue is full (backpressure crosses pipelines), and while nobody listens on the
// address (as in Logstash: events wait for the address to appear).
//
// SHUTDOWN ORDER (no deadlock, nothing lost): upstream pipelines finish first, then
// downstream ones. Stop every pipeline at once (request_stop on all, any order); then
//  1. a downstream `pipeline` input that is asked to stop keeps listening until no sender
//     is registered on its address (block_on_unlisten, the default), while its workers keep
//     draining its queue, so every upstream event still in flight is delivered;
//  2. upstream pipelines drain and close their outputs, which unregisters their senders;
//  3. the downstream input then leaves its address, its queue drains and it finishes.
// A sender whose address has no listener gives up once its own pipeline is stopping: the
// events are not acknowledged (the source redoes them), so shutdown stays bounded.
// Pipelines linked in a cycle cannot shut down this way (each waits for the other): don't.
// A `pipeline` input that had senders when it started ends by itself once they have all
// unregistered (their pipelines finished): a chain behind a finite input ends like a batch job.
// For stopping one downstream pipeline alone (reload), call set_block_on_unlisten(false)
// first: senders then wait for the address to come back.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <span>
#include <string>

#include "core/event.h"

namespace sluice {

class PipelineBus {
 public:
  class Receiver {
   public:
    virtual ~Receiver() = default;
    // Takes ownership of the events and queues them (blocking while the queue is full).
    // Called from the sending pipelines' worker threads, possibly several at once.
    virtual void deliver(std::span<Event* const> events) = 0;
  };

  PipelineBus() = default;
  PipelineBus(const PipelineBus&) = delete;
  PipelineBus& operator=(const PipelineBus&) = delete;

  // The bus pipelines use when they are given none.
  static PipelineBus& instance();

  // Claims an address; throws std::runtime_error when another receiver holds it.
  void listen(const std::string& address, Receiver* receiver);
  // Leaves the address: first (with block_on_unlisten) waits until no sender is registered on
  // it, then for deliveries in progress to end. No deliver() call follows its return.
  void unlisten(const std::string& address, Receiver* receiver);
  void set_block_on_unlisten(bool block);

  // A pipeline output declares the addresses it sends to for as long as it may send.
  void register_sender(const std::string& address);
  void unregister_sender(const std::string& address);

  // Hands the events to the address's receiver (which takes ownership), waiting for one to
  // listen. Returns false, leaving the events with the caller, when `give_up` becomes true
  // while nobody listens, or at once when `wait` is false and nobody listens.
  bool send(const std::string& address, std::span<Event* const> events, const std::atomic<bool>* give_up,
            bool wait = true);

  bool has_receiver(const std::string& address) const;
  int senders(const std::string& address) const;

 private:
  struct AddressState {
    Receiver* receiver = nullptr;
    int senders = 0;
    int in_flight = 0;
  };

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, AddressState> addresses_;
  bool block_on_unlisten_ = true;
};

}  // namespace sluice
