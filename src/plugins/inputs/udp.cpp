// The `udp` input: one event per datagram (codec `plain` by default), as Logstash's udp input.
// As in Logstash, the receiving thread only reads datagrams (recvmmsg batches) into a bounded queue
// (`queue_size` datagrams, and at most kQueueBytes bytes) and `workers` threads decode them and
// push the events. When that queue is full the receiving thread waits (Logstash's SizedQueue#push
// blocks too): the socket buffer then absorbs the burst, and what the kernel drops once it is full
// is counted (SO_RXQ_OVFL) in the plugin counter `kernel_drops`, so every datagram sent is either
// received or counted. Dropping in user space instead would lose datagrams that the kernel buffer
// could still have held, and hide them from the kernel's counter.
// The sender's address goes to `host` (ECS disabled) or `[host][ip]` (ECS).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/parser.h"
#include "core/event_pool.h"
#include "core/field_ref.h"
#include "net/udp_receiver.h"
#include "runtime/logging.h"
#include "runtime/metrics.h"
#include "runtime/registry.h"

namespace sluice {
namespace {

constexpr size_t kQueueBytes = size_t(16) << 20;  // bytes of queued datagrams, whatever queue_size says
constexpr size_t kKeptCapacity = 4096;            // a larger datagram buffer is freed once decoded
constexpr size_t kTakeAtOnce = 64;                // datagrams a worker takes per lock
constexpr int kMaxWorkers = 64;

struct Datagram {
  std::string data;
  std::string ip;
};

// A ring of datagram slots. The receiver copies a datagram into a free slot; a worker swaps whole
// slots with its own (decoded) ones, so buffers are recycled and nothing is allocated per datagram
// in steady state.
class DatagramQueue {
 public:
  DatagramQueue(size_t capacity, size_t max_bytes) : slots_(std::max<size_t>(1, capacity)), max_bytes_(max_bytes) {}

  // Waits while full; false once closed or `stop` became true (the datagram is not queued).
  bool put(std::string_view data, const std::string& ip, const std::atomic<bool>& stop) {
    std::unique_lock lock(mutex_);
    auto room = [&] { return closed_ || (count_ < slots_.size() && (count_ == 0 || bytes_ + data.size() <= max_bytes_)); };
    while (!room()) {
      if (stop.load()) return false;
      ++blocked_;
      producer_waiting_ = true;
      not_full_.wait_for(lock, std::chrono::milliseconds(200));
      producer_waiting_ = false;
    }
    if (closed_) return false;
    Datagram& slot = slots_[(head_ + count_) % slots_.size()];
    slot.data.assign(data.data(), data.size());
    slot.ip = ip;
    ++count_;
    bytes_ += data.size();
    // Wake a worker only when one sleeps: a futex call per datagram would cost more than the copy.
    bool wake = consumers_waiting_ > 0;
    lock.unlock();
    if (wake) not_empty_.notify_one();
    return true;
  }

  // Moves up to out.size() datagrams into out (swapping buffers); waits up to wait_ms for one.
  // Returns how many; 0 with drained() true means closed and empty.
  size_t take(std::vector<Datagram>& out, int wait_ms) {
    std::unique_lock lock(mutex_);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    while (count_ == 0 && !closed_) {
      ++consumers_waiting_;
      std::cv_status status = not_empty_.wait_until(lock, deadline);
      --consumers_waiting_;
      if (status == std::cv_status::timeout) break;
    }
    size_t n = std::min(count_, out.size());
    for (size_t i = 0; i < n; ++i) {
      Datagram& slot = slots_[head_];
      bytes_ -= slot.data.size();
      std::swap(out[i], slot);
      head_ = (head_ + 1) % slots_.size();
    }
    count_ -= n;
    bool wake = n > 0 && producer_waiting_;
    lock.unlock();
    if (wake) not_full_.notify_one();
    return n;
  }

  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  bool drained() {
    std::lock_guard lock(mutex_);
    return closed_ && count_ == 0;
  }

  uint64_t blocked() {
    std::lock_guard lock(mutex_);
    return blocked_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::vector<Datagram> slots_;
  size_t head_ = 0, count_ = 0, bytes_ = 0;
  const size_t max_bytes_;
  bool closed_ = false;
  bool producer_waiting_ = false;
  int consumers_waiting_ = 0;
  uint64_t blocked_ = 0;  // waits of the receiver for room (the queue was full)
};

class UdpInput final : public Input {
 public:
  UdpInput(const Options& options, PluginContext& ctx) : metrics_(ctx.metrics) {
    config_.host = options.get_string("host");
    int64_t port = options.get_int("port");
    if (port < 0 || port > 65535) throw config::ConfigError(options.position("port"), "udp input: port must be 0..65535");
    config_.port = int(port);
    int64_t buffer = options.get_int("buffer_size");
    if (buffer < 1 || buffer > 65536) {
      throw config::ConfigError(options.position("buffer_size"), "udp input: buffer_size must be 1..65536");
    }
    config_.max_datagram = size_t(buffer);
    if (options.has("receive_buffer_bytes")) config_.receive_buffer_bytes = size_t(options.get_int("receive_buffer_bytes"));
    int64_t workers = options.get_int("workers");
    if (workers < 1 || workers > kMaxWorkers) {
      throw config::ConfigError(options.position("workers"),
                                "udp input: workers must be 1.." + std::to_string(kMaxWorkers));
    }
    workers_ = int(workers);
    int64_t queue_size = options.get_int("queue_size");
    if (queue_size < 1 || queue_size > 1000000) {
      throw config::ConfigError(options.position("queue_size"), "udp input: queue_size must be 1..1000000");
    }
    queue_size_ = size_t(queue_size);
    std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                                                       : (ctx.settings ? ctx.settings->ecs_compatibility : "v8");
    std::string source_field = options.has("source_ip_fieldname") ? options.get_string("source_ip_fieldname")
                                                                  : (ecs == "disabled" ? "host" : "[host][ip]");
    std::string error;
    auto ref = FieldRef::parse(source_field, &error);
    if (!ref) throw config::ConfigError(options.position("source_ip_fieldname"), "udp input: " + error);
    source_ref_ = *ref;
    codec_ = ctx.make_codec(options.get_codec());
    log_ = logging::get("sluice.inputs.udp");
    if (metrics_) {
      drops_ = &metrics_->counter("kernel_drops");
      received_ = &metrics_->counter("datagrams_received");
      queue_full_ = &metrics_->counter("queue_full_waits");
    }
  }

  void run(InputContext& ctx) override {
    std::unique_ptr<net::UdpReceiver> receiver;
    while (!stop_.load() && !ctx.stopping()) {
      try {
        receiver = std::make_unique<net::UdpReceiver>(config_);
        break;
      } catch (const std::exception& e) {
        log_->error("udp input: {}; retrying in 5 s", e.what());
        if (ctx.wait_for_stop(5000)) return;
      }
    }
    if (!receiver) return;
    log_->info("udp input listening on {}:{} ({} workers, queue_size {})", config_.host, receiver->port(), workers_,
               queue_size_);

    DatagramQueue queue(queue_size_, kQueueBytes);
    std::mutex push_mutex;  // InputContext::push is single-threaded
    std::vector<std::thread> workers;
    workers.reserve(size_t(workers_));
    for (int i = 0; i < workers_; ++i) workers.emplace_back([&] { decode_loop(queue, ctx, push_mutex); });

    uint64_t received = 0;
    while (!stop_.load() && !ctx.stopping()) {
      int got = receiver->receive(200, [&](std::string_view data, const std::string& ip, int) {
        if (queue.put(data, ip, stop_)) ++received;
      });
      if (got < 0) {
        log_->warn("udp input: receive failed");
        if (ctx.wait_for_stop(100)) break;
      }
      publish(*receiver, queue, received);
    }
    // Datagrams already queued are still decoded and pushed.
    queue.close();
    for (auto& worker : workers) worker.join();
    publish(*receiver, queue, received);
  }

  void stop() override { stop_.store(true); }

 private:
  class CollectSink final : public EventSink {
   public:
    CollectSink(const FieldRef& source_ref, std::vector<Event*>& events) : source_ref_(source_ref), events_(events) {}
    void accept(Event* event) override {
      if (!event->get(source_ref_)) event->put(source_ref_).set_string(*ip);
      events_.push_back(event);
    }
    const std::string* ip = nullptr;

   private:
    const FieldRef& source_ref_;
    std::vector<Event*>& events_;
  };

  void decode_loop(DatagramQueue& queue, InputContext& ctx, std::mutex& push_mutex) {
    std::unique_ptr<Codec> codec = codec_->clone();  // codecs keep per-stream state
    std::vector<Datagram> batch(kTakeAtOnce);
    std::vector<Event*> events;
    CollectSink sink(source_ref_, events);
    while (true) {
      size_t n = queue.take(batch, 200);
      if (n == 0) {
        if (queue.drained()) break;
        continue;
      }
      for (size_t i = 0; i < n; ++i) {
        sink.ip = &batch[i].ip;
        try {
          // As Logstash: decode the payload (a line codec splits it), then flush what a streaming
          // codec kept, so each datagram stands alone.
          codec->decode(batch[i].data, sink);
          codec->flush(sink);
        } catch (const std::exception& e) {
          log_->warn("udp input: cannot decode a datagram from {}: {}", batch[i].ip, e.what());
        }
        if (batch[i].data.capacity() > kKeptCapacity) std::string().swap(batch[i].data);
      }
      if (events.empty()) continue;
      std::lock_guard lock(push_mutex);
      for (Event* event : events)
        if (!ctx.push(event)) stop_.store(true);
      ctx.flush();
      events.clear();
    }
  }

  void publish(const net::UdpReceiver& receiver, DatagramQueue& queue, uint64_t received) {
    if (received_) received_->store(received, std::memory_order_relaxed);
    if (drops_) drops_->store(receiver.kernel_drops(), std::memory_order_relaxed);
    if (queue_full_) queue_full_->store(queue.blocked(), std::memory_order_relaxed);
  }

  PluginMetrics* metrics_;
  net::UdpConfig config_;
  int workers_ = 2;
  size_t queue_size_ = 2000;
  FieldRef source_ref_;
  std::unique_ptr<Codec> codec_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<uint64_t>* drops_ = nullptr;
  std::atomic<uint64_t>* received_ = nullptr;
  std::atomic<uint64_t>* queue_full_ = nullptr;
  std::atomic<bool> stop_{false};
};

PluginSchema udp_schema() {
  PluginSchema schema;
  schema.kind = PluginKind::Input;
  schema.name = "udp";
  schema.doc =
      "Reads one event per UDP datagram (codec `plain` by default). Listens on 127.0.0.1 unless `host` says "
      "otherwise. The receiving thread queues datagrams (`queue_size`); `workers` threads decode them. A full "
      "queue makes the receiver wait, so the socket buffer absorbs bursts; what the kernel drops when that is "
      "full too is counted in the plugin counter `kernel_drops` (next to `datagrams_received` and "
      "`queue_full_waits`).";
  auto add = [&](OptionSpec spec) { schema.options.push_back(std::move(spec)); };
  add(option_spec("host", OptionType::String, cv_string("127.0.0.1"),
                  "Address to listen on (sluice default 127.0.0.1; `0.0.0.0` or `::` for every interface)."));
  OptionSpec port = option_spec("port", OptionType::Number, std::nullopt, "UDP port to listen on.");
  port.required = true;
  add(port);
  add(option_spec("buffer_size", OptionType::Number, cv_number(65536), "Largest datagram read (bytes); longer are cut."));
  add(option_spec("receive_buffer_bytes", OptionType::Number, std::nullopt,
                  "Socket receive buffer (SO_RCVBUF); default the system's."));
  add(option_spec("workers", OptionType::Number, cv_number(2), "Threads decoding datagrams (1..64)."));
  add(option_spec("queue_size", OptionType::Number, cv_number(2000),
                  "Datagrams read but not yet decoded (also capped at 16 MiB); when full, the receiver waits and "
                  "the socket buffer fills."));
  add(option_spec("source_ip_fieldname", OptionType::String, std::nullopt,
                  "Field for the sender's address (default `host`, or `[host][ip]` under ECS)."));
  add(option_spec("codec", OptionType::Codec, cv_string("plain"), "Decodes each datagram (default plain)."));
  add(option_spec("ecs_compatibility", OptionType::String, std::nullopt,
                  "`disabled`: `host`; `v1`, `v8`: `[host][ip]`. Default: pipeline.ecs_compatibility.",
                  {"disabled", "v1", "v8"}));
  return schema;
}

const RegisterInput kRegisterUdp{udp_schema(), [](const Options& options, PluginContext& ctx) -> std::unique_ptr<Input> {
                                   return std::make_unique<UdpInput>(options, ctx);
                                 }};

}  // namespace
}  // namespace sluice
