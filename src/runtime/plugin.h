// The four plugin kinds and what the runtime gives them. A plugin file holds its schema,
// its class and one registration (see registry.h), nothing else.
#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/event.h"
#include "runtime/options.h"

namespace sluice {

class Codec;
class PipelineBus;
class Logger;
struct PluginMetrics;
class DeadLetterWriter;

// Logstash's `dead_letter_queue.*` settings (and two sluice extensions routing filter failures).
struct DeadLetterQueueSettings {
  bool enabled = false;                   // dead_letter_queue.enable
  std::string path;                       // path.dead_letter_queue; "" = <path.data>/dead_letter_queue
  size_t max_bytes = size_t(1024) << 20;  // dead_letter_queue.max_bytes
  std::string storage_policy = "drop_newer";  // drop_newer, drop_older
  int flush_interval_ms = 5000;           // dead_letter_queue.flush_interval
  // sluice: events carrying one of these tags after the filters go to the DLQ, not the outputs.
  std::vector<std::string> failure_tags;
  // sluice: events whose `if` condition failed to evaluate go to the DLQ after the filters.
  bool conditional_errors = false;
  // sluice: where entries go: "file" (path.dead_letter_queue, Logstash's layout) or "s3" (one object
  // per entry under <s3_prefix><pipeline id>/, no local disk). dead_letter_queue.type / .s3.*
  std::string type = "file";
  std::string s3_bucket, s3_prefix = "dead_letter_queue/", s3_region = "us-east-1", s3_endpoint;
  std::string s3_access_key_id, s3_secret_access_key;  // "" = AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
};

// Settings of the pipeline a plugin runs in (pipelines.yml / sluice.yml / CLI).
struct PipelineSettings {
  std::string id = "main";
  int workers = 0;                   // 0 = number of cores
  int batch_size = 125;
  int batch_delay_ms = 50;
  std::string ordered = "auto";      // auto, true, false
  std::string ecs_compatibility = "v8";  // disabled, v1, v8
  size_t queue_max_events = 0;       // 0 = default_queue_max_events (bounded in any case)
  size_t queue_max_bytes = 64 << 20;
  std::string path_data = "data";    // where sincedb files go by default
  DeadLetterQueueSettings dead_letter_queue;

  // 16 batches per worker. With fewer, an input faster than the workers sleeps and is woken once
  // per half queue, and each wake-up costs ~30 us of CPU in a VM: at 4 batches per worker that
  // was 5-8% of a grok pipeline's CPU (4,000 wake-ups per 1M events; 1,000 now).
  static size_t default_queue_max_events(size_t workers, size_t batch_size) { return workers * batch_size * 16; }
};

// What every plugin instance is given at construction.
struct PluginContext {
  std::string id;  // the `id` option, or a generated "<name>_<n>"
  const PipelineSettings* settings = nullptr;
  PipelineBus* bus = nullptr;  // pipeline-to-pipeline addresses (process wide)
  PluginMetrics* metrics = nullptr;
  // Becomes true once the pipeline was asked to stop (set by the runtime; never null while the
  // pipeline exists). Lets a plugin blocked on something outside (a retry loop, a missing
  // pipeline address) give up in bounded time.
  const std::atomic<bool>* pipeline_stopping = nullptr;
  // The pipeline's dead letter queue; nullptr when dead_letter_queue.enable is false.
  DeadLetterWriter* dead_letter_queue = nullptr;
  // Builds a codec from a codec option value (plugin block); throws ConfigError.
  std::unique_ptr<Codec> make_codec(const std::shared_ptr<config::PluginBlock>& block) const;
};

// Receives decoded events.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void accept(Event* event) = 0;  // takes ownership
};

class Codec {
 public:
  virtual ~Codec() = default;
  // Decodes a chunk of input bytes; streaming codecs (line, json_lines) keep a partial
  // line until the next call or flush().
  virtual void decode(std::string_view data, EventSink& sink) = 0;
  // Decodes one already-framed unit (a line read by the file input, a datagram).
  virtual void decode_unit(std::string_view unit, EventSink& sink) { decode(unit, sink); }
  virtual void flush(EventSink& sink) { (void)sink; }
  // Appends the encoded event (with its delimiter, if the codec has one) to out.
  virtual void encode(const Event& event, std::string& out) = 0;
  // A new instance with the same options (codecs keep per-stream state).
  virtual std::unique_ptr<Codec> clone() const = 0;
  // Whether decode_unit() of one unit depends on no earlier unit, so that units can be decoded
  // by any worker (each with its own clone). Codecs that join units (multiline) say no.
  virtual bool decodes_units_independently() const { return false; }
};

// How an input's raw units become events on a worker (see InputContext::push_unit).
class UnitDecoder {
 public:
  virtual ~UnitDecoder() = default;
  // Adds the events of one unit to `sink` (usually one). Called by worker threads concurrently:
  // keep per-call state per thread. `origin` is what the input gave with the unit.
  virtual void decode(std::string_view unit, std::string_view origin, EventSink& sink) const = 0;
};

// The input's side of the pipeline queue.
class InputContext {
 public:
  virtual ~InputContext() = default;
  virtual Event* new_event() = 0;  // empty, pooled
  // Queues the event (applying the input's type/tags/add_field). Buffered: call flush()
  // before blocking on I/O. May block while the queue is full (backpressure). Returns false
  // once the pipeline is stopping: the event is still queued and processed, but the input
  // should return from run() soon. Not thread-safe: one thread (or a mutex) per context.
  virtual bool push(Event* event) = 0;
  virtual void flush() = 0;
  // flush(), and the input has nothing more for now: workers take what is queued without
  // waiting for their batches to fill (pipeline.batch.delay). A batch job's last partial batch
  // then goes out at once; a source that idles between bursts calls it before it waits.
  virtual void idle() { flush(); }
  // All or nothing, for inputs that can tell their client to retry (http answers 429): queues
  // every event of `events` (taking ownership) if the queue has room for all of them within
  // timeout_ms, else queues none, leaves them to the caller and returns false. A group larger
  // than the queue's event bound cannot fit at once: it is pushed with the blocking push (true).
  // Unlike push(), callable from several threads at once on one context (it has its own buffer).
  virtual bool try_push(std::span<Event* const> events, int timeout_ms) {
    (void)timeout_ms;
    for (Event* event : events) push(event);
    flush();
    return true;
  }
  // Queues a unit still to be decoded: a worker calls decoder.decode() on it, applies the input's
  // decoration and gives the events the unit's hold on `token` (the caller keeps its own hold).
  // For inputs that would otherwise decode many small units on their thread (file lines): the
  // events are then built on the core that filters them. `decoder` must outlive the pipeline's
  // queue (a member of the input is fine). Same buffering and return value as push().
  virtual bool push_unit(const UnitDecoder& decoder, std::string_view unit, std::string_view origin, AckToken* token);
  // push_unit() for a run of units lying in `data` one after another: unit i ends at ends[i]
  // and the next begins `gap` bytes later (a delimiter); the first begins at data[0]. Copies
  // each pack of units at once instead of unit by unit.
  virtual bool push_units(const UnitDecoder& decoder, std::string_view data, std::span<const uint32_t> ends,
                          uint32_t gap, std::string_view origin, AckToken* token);
  virtual bool stopping() const = 0;
  // Waits up to ms for a stop request; returns true if stopping.
  virtual bool wait_for_stop(int ms) = 0;
};

class Input {
 public:
  virtual ~Input() = default;
  // Runs on its own thread until done (finite inputs) or until ctx.stopping().
  virtual void run(InputContext& ctx) = 0;
  // Asks a blocked run() to return soon (called from another thread).
  virtual void stop() {}
  // A finite input (generator, file in read mode with exit_after_read, stdin) lets
  // the pipeline end when all its inputs are done.
};

// Where filters put events they create (clone, split); they go through the filters after this one.
// The runtime applies the emitting filter's add_field/add_tag/remove_field/remove_tag to every
// emitted event (Logstash's clone and split call filter_matched on each new event), and places
// them after the events of the current batch.
class FilterContext {
 public:
  virtual ~FilterContext() = default;
  virtual Event* new_event() = 0;
  virtual void emit(Event* event) = 0;
};

// One instance per pipeline, shared by all its workers: filter(), filter_batch() and flush()
// may run concurrently from several threads, so implementations must be thread-safe (keep
// per-call state on the stack or in thread_local storage; guard shared state).
class Filter {
 public:
  virtual ~Filter() = default;
  // Processes one event; returns true when it "matched", so the runtime applies the
  // common add_field/add_tag/remove_field/remove_tag options (Logstash's filter_matched).
  virtual bool filter(Event& event, FilterContext& ctx) = 0;
  // Batch form for filters that gain from seeing a whole batch (pipelined lookups).
  // The default calls filter() on each event that is not cancelled; `matched[i]` receives the result.
  virtual void filter_batch(std::span<Event* const> events, std::vector<char>& matched, FilterContext& ctx);
  // Called periodically and at shutdown (aggregate-like filters); may emit events.
  virtual void flush(FilterContext& ctx, bool final) { (void)ctx; (void)final; }
  virtual bool periodic_flush() const { return false; }
  // Whether the worker must hand this filter whole batches. By default it runs a batch through
  // the pipeline in chunks of a few dozen events (chunk_events_for, plan.h), which keeps a chunk's
  // events in the core's cache from decoding to output. True for filters whose cost is per
  // call (one round trip for a batch's lookups) and for those that emit events (in chunks,
  // emitted events would come out after their chunk, not after the whole batch).
  virtual bool needs_whole_batches() const { return false; }
};

class Output {
 public:
  virtual ~Output() = default;
  // Takes the events. When it returns, each event is either written or held by the output
  // (it took AckHold::retain(event->ack_token()) and releases it once stored).
  virtual void write(std::span<Event* const> events) = 0;
  // Periodic (about every second, from a worker thread) and once at shutdown before close().
  // Serialized with write() unless thread_safe().
  virtual void flush() {}
  // The queue ran dry after a worker's batch: write out anything held back to make fewer, larger
  // writes (nothing more is coming soon to add to it). Serialized with write() unless thread_safe().
  virtual void caught_up() {}
  virtual void close() {}
  // Whether write() may be called from several workers at once; if not, the runtime serializes.
  virtual bool thread_safe() const { return false; }
  // Whether write() must see whole batches (see Filter::needs_whole_batches): true unless a
  // write of a few dozen events costs no more per event than a whole batch's (a bulk request
  // or an upload per call would not).
  virtual bool needs_whole_batches() const { return true; }
};

}  // namespace sluice
