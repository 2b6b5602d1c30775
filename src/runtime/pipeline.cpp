// A running pipeline: plugin instantiation from the config, input threads feeding the
// bounded queue, worker threads running the plan, and the end/stop sequence.
//
// Lifecycle. start() launches one thread per input, `pipeline.workers` workers and a
// supervisor. The supervisor waits for every input's run() to return (finite inputs end by
// themselves; request_stop() calls each input's stop()), then closes the queue; workers drain
// it and exit; then the filters are flushed with final=true (their events go through the rest
// of the plan and the outputs), and the outputs are flushed and closed. Only then is the
// pipeline finished(). Inputs keep queueing while stopping (push() returns false to tell them
// to return), so nothing read is thrown away and shutdown takes as long as draining one queue.
#include "runtime/pipeline.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "config/parser.h"
#include "core/event_clock.h"
#include "core/event_pool.h"
#include "runtime/bus.h"
#include "runtime/decorate.h"
#include "runtime/dlq.h"
#include "runtime/logging.h"
#include "runtime/plan.h"
#include "runtime/queue.h"
#include "runtime/registry.h"
#include "runtime/worker.h"

namespace sluice {

namespace {

constexpr int64_t kFilterFlushIntervalMs = 5000;  // Logstash's periodic flush period
constexpr int64_t kOutputFlushIntervalMs = 1000;
constexpr std::chrono::milliseconds kWorkerIdleWait{500};
constexpr size_t kInputGroupSize = 128;  // events an input hands over per queue lock
constexpr size_t kMaxUnitsPerPack = 32;  // raw units per queue slot (see RawUnit)
constexpr size_t kMaxPackBytes = 16 * 1024;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void name_thread(const std::string& name) {
  std::string shortened = name.substr(0, 15);
  pthread_setname_np(pthread_self(), shortened.c_str());
}

std::shared_ptr<spdlog::logger> pipeline_log() { return logging::get("sluice.pipeline"); }

}  // namespace

struct InputSlot;

// The input's side of the queue: decorates, buffers a small group, hands it over.
class InputRunner final : public InputContext {
 public:
  InputRunner(Pipeline::Impl& pipeline, InputSlot& slot);
  Event* new_event() override { return sluice::new_event(); }
  bool push(Event* event) override;
  bool push_unit(const UnitDecoder& decoder, std::string_view unit, std::string_view origin, AckToken* token) override;
  bool push_units(const UnitDecoder& decoder, std::string_view data, std::span<const uint32_t> ends, uint32_t gap,
                  std::string_view origin, AckToken* token) override;
  void flush() override;
  void idle() override;
  bool try_push(std::span<Event* const> events, int timeout_ms) override;
  bool stopping() const override;
  bool wait_for_stop(int ms) override;

 private:
  Pipeline::Impl& pipeline_;
  InputSlot& slot_;
  // Each raw unit owns one hold on its chunk. They are taken from the chunk's counter in
  // runs (a credit), so this thread does not write the counter once per line while workers
  // release it from theirs; what is left is given back at flush().
  static constexpr int kUnitHoldCredit = 64;
  AckToken* take_unit_holds(AckToken* token, int count);
  void return_unit_holds();
  // A pooled RawUnit for units of `decoder` from `origin`, holding `hold`'s holds.
  RawUnit* new_pack(const UnitDecoder& decoder, std::string_view origin, AckToken* hold);

  std::vector<EventQueue::Item> group_;
  size_t group_events_ = 0;
  size_t group_limit_;  // events
  size_t pack_limit_;   // units per RawUnit, a divisor of the batch size where it can be
  AckToken* credit_token_ = nullptr;
  int credit_ = 0;
};

struct InputSlot {
  std::string id;
  std::string name;
  std::unique_ptr<Input> input;
  Decoration decoration;
  PluginMetrics* metrics = nullptr;
  std::unique_ptr<InputRunner> runner;
  std::thread thread;
};

struct Pipeline::Impl {
  PipelineSettings settings;
  PipelineBus* bus = nullptr;
  PipelineMetrics metrics;
  std::atomic<bool> stopping{false};

  // Declared before the plugins so that it and the contexts outlive them.
  std::unique_ptr<DeadLetterWriter> dead_letter_writer;
  std::deque<PluginContext> contexts;
  std::set<std::string> used_ids;
  std::set<std::string> reserved_ids;
  std::map<std::string, int> generated_counts;

  Plan plan;
  std::vector<std::unique_ptr<InputSlot>> inputs;
  std::unique_ptr<EventQueue> queue;
  int workers = 1;
  bool ordered = false;

  std::vector<std::thread> worker_threads;
  std::thread supervisor;
  mutable std::mutex state_mutex;
  std::condition_variable state_changed;  // stop requested, finished
  bool started = false;
  bool finished = false;
  std::function<void()> finished_callback;

  std::atomic<int64_t> next_filter_flush_ms{0};
  std::atomic<int64_t> next_output_flush_ms{0};
  std::atomic<bool> flushing{false};
  bool any_periodic_filter = false;

  // ---- building ----
  void reserve_explicit_ids(const config::StatementList& statements);
  std::string plugin_id(const Options& options, const config::PluginBlock& block);
  PluginContext& new_context(const std::string& id, PluginMetrics* metrics);
  const PluginEntry& find_plugin(PluginKind kind, const config::PluginBlock& block);
  void add_input(const config::PluginBlock& block);
  size_t add_filter(const config::PluginBlock& block);
  size_t add_output(const config::PluginBlock& block);

  // ---- running ----
  void run_input(InputSlot& slot);
  void run_worker(int index);
  void supervise();
  void maybe_flush(BatchRunner& runner);
};

// ---- InputRunner ------------------------------------------------------------------------

InputRunner::InputRunner(Pipeline::Impl& pipeline, InputSlot& slot) : pipeline_(pipeline), slot_(slot) {
  group_limit_ = std::max<size_t>(1, std::min(kInputGroupSize, pipeline.queue->max_events() / 4));
  // Workers take whole packs, so packs that add up to a batch keep batches full: 125 -> 4 x 31.
  size_t batch = size_t(std::max(1, pipeline.settings.batch_size));
  size_t packs_per_batch = (batch + kMaxUnitsPerPack - 1) / kMaxUnitsPerPack;
  pack_limit_ = std::max<size_t>(1, std::min(batch / packs_per_batch, group_limit_));
  group_limit_ = std::max(pack_limit_, group_limit_ / pack_limit_ * pack_limit_);
  group_.reserve(group_limit_);
}

bool InputRunner::push(Event* event) {
  if (!event) return !stopping();
  slot_.decoration.apply(*event);
  size_t bytes = event->approx_bytes();
  group_.push_back({event, nullptr, uint32_t(std::min<size_t>(bytes, UINT32_MAX))});
  if (++group_events_ >= group_limit_) flush();
  return !stopping();
}

bool InputRunner::push_unit(const UnitDecoder& decoder, std::string_view unit, std::string_view origin,
                            AckToken* token) {
  AckToken* hold = take_unit_holds(token, 1);
  // The event built from a unit is bigger than its bytes; this bounds what the queue holds.
  size_t unit_bytes = unit.size() + sizeof(Event);
  EventQueue::Item* pack = group_.empty() ? nullptr : &group_.back();
  if (pack && pack->unit && pack->events < pack_limit_ && pack->unit->decoder == &decoder &&
      pack->unit->token == hold && pack->unit->gap == 0 && pack->unit->bytes.size() + unit.size() <= kMaxPackBytes &&
      pack->unit->origin == origin) {
    pack->unit->append_unit(unit);
    pack->events += 1;
    pack->bytes = uint32_t(std::min<size_t>(size_t(pack->bytes) + unit_bytes, UINT32_MAX));
  } else {
    RawUnit* raw = new_pack(decoder, origin, hold);
    raw->append_unit(unit);
    size_t bytes = sizeof(RawUnit) + origin.size() + unit_bytes;
    group_.push_back({nullptr, raw, uint32_t(std::min<size_t>(bytes, UINT32_MAX))});
  }
  if (++group_events_ >= group_limit_) flush();
  return !stopping();
}

bool InputRunner::push_units(const UnitDecoder& decoder, std::string_view data, std::span<const uint32_t> ends,
                             uint32_t gap, std::string_view origin, AckToken* token) {
  size_t first = 0;
  while (first < ends.size()) {
    const size_t begin = first == 0 ? 0 : size_t(ends[first - 1]) + gap;
    size_t count = std::min(pack_limit_, ends.size() - first);
    while (count > 1 && ends[first + count - 1] - begin > kMaxPackBytes) --count;  // a first unit always fits
    const size_t end = ends[first + count - 1];
    RawUnit* raw = new_pack(decoder, origin, take_unit_holds(token, int(count)));
    raw->bytes.assign(data.data() + begin, end - begin);
    raw->ends.resize(count);
    for (size_t i = 0; i < count; ++i) raw->ends[i] = uint32_t(ends[first + i] - begin);
    raw->gap = gap;
    // As in push_unit: the events built from the units are bigger than their bytes.
    size_t bytes = sizeof(RawUnit) + origin.size() + (end - begin) + count * sizeof(Event);
    group_.push_back({nullptr, raw, uint32_t(std::min<size_t>(bytes, UINT32_MAX)), uint32_t(count)});
    group_events_ += count;
    if (group_events_ >= group_limit_) flush();
    first += count;
  }
  return !stopping();
}

RawUnit* InputRunner::new_pack(const UnitDecoder& decoder, std::string_view origin, AckToken* hold) {
  RawUnit* raw = new_raw_unit();
  if (raw->origin != origin) raw->origin.assign(origin.data(), origin.size());
  raw->decoder = &decoder;
  raw->decoration = &slot_.decoration;
  raw->token = hold;
  return raw;
}

AckToken* InputRunner::take_unit_holds(AckToken* token, int count) {
  if (!token) return nullptr;
  if (token != credit_token_ || credit_ < count) {
    return_unit_holds();
    const int credit = std::max(kUnitHoldCredit, count);
    token->retain(credit);
    credit_token_ = token;
    credit_ = credit;
  }
  credit_ -= count;
  return token;
}

void InputRunner::return_unit_holds() {
  if (credit_token_ && credit_ > 0) credit_token_->release(credit_);
  credit_token_ = nullptr;
  credit_ = 0;
}

void InputRunner::flush() {
  if (group_.empty()) {
    return_unit_holds();
    return;
  }
  size_t n = group_events_;
  bool complete = pipeline_.queue->push(group_);
  return_unit_holds();
  size_t left = 0;
  for (const EventQueue::Item& item : group_) left += item.events;
  size_t queued = n - left;
  group_events_ = 0;
  pipeline_.metrics.events_in.fetch_add(queued, std::memory_order_relaxed);
  if (slot_.metrics) slot_.metrics->events_out.fetch_add(queued, std::memory_order_relaxed);
  if (!complete) {
    // The queue closed under us (cannot happen while run() is active; defensive): these
    // events were never processed, so their chunks must not be acknowledged.
    for (auto& item : group_) {
      if (item.event) {
        if (AckToken* token = item.event->ack_token()) token->retain();
        free_event(item.event);
      } else {
        free_raw_unit(item.unit);  // keeps its hold: the chunk stays pinned
      }
    }
    group_.clear();
  }
}

void InputRunner::idle() {
  flush();
  pipeline_.queue->inputs_idle();
}

bool InputRunner::try_push(std::span<Event* const> events, int timeout_ms) {
  if (events.empty()) return true;
  std::vector<EventQueue::Item> group;
  group.reserve(events.size());
  for (Event* event : events) {
    slot_.decoration.apply(*event);
    group.push_back({event, nullptr, uint32_t(std::min<size_t>(event->approx_bytes(), UINT32_MAX))});
  }
  size_t n = group.size();
  bool queued = false;
  if (n > pipeline_.queue->max_events()) {
    queued = pipeline_.queue->push(group);  // can never fit at once: wait for room piece by piece
    if (!queued) {
      // Closed part way (defensive, as in flush()): what was not queued is never acknowledged.
      for (auto& item : group) {
        if (AckToken* token = item.event->ack_token()) token->retain();
        free_event(item.event);
      }
      group.clear();
      queued = true;
    }
  } else {
    queued = pipeline_.queue->try_push_all(group, std::chrono::milliseconds(std::max(0, timeout_ms)));
  }
  if (!queued) return false;
  pipeline_.metrics.events_in.fetch_add(n, std::memory_order_relaxed);
  if (slot_.metrics) slot_.metrics->events_out.fetch_add(n, std::memory_order_relaxed);
  return true;
}

bool InputRunner::stopping() const { return pipeline_.stopping.load(std::memory_order_relaxed); }

bool InputRunner::wait_for_stop(int ms) {
  std::unique_lock lock(pipeline_.state_mutex);
  auto stop_requested = [&] { return pipeline_.stopping.load(); };
  if (ms < 0) {
    pipeline_.state_changed.wait(lock, stop_requested);
    return true;
  }
  return pipeline_.state_changed.wait_for(lock, std::chrono::milliseconds(ms), stop_requested);
}

// ---- building -----------------------------------------------------------------------------

void Pipeline::Impl::reserve_explicit_ids(const config::StatementList& statements) {
  for (const config::Statement& statement : statements) {
    if (statement.kind == config::Statement::Kind::Plugin) {
      if (!statement.plugin) continue;
      for (const config::Attribute& attribute : statement.plugin->attributes) {
        if (attribute.name == "id") reserved_ids.insert(attribute.value.text);
      }
    } else {
      for (const config::IfBranch& branch : statement.branches) reserve_explicit_ids(branch.body);
    }
  }
}

std::string Pipeline::Impl::plugin_id(const Options& options, const config::PluginBlock& block) {
  if (options.has("id")) {
    std::string id = options.get_string("id");
    if (id.empty()) throw config::ConfigError(options.position("id"), "a plugin id cannot be empty");
    if (!used_ids.insert(id).second)
      throw config::ConfigError(options.position("id"),
                                fmt::format("duplicate plugin id '{}': ids must be unique within a pipeline", id));
    return id;
  }
  int& count = generated_counts[block.name];
  std::string id;
  do {
    id = fmt::format("{}_{}", block.name, ++count);
  } while (reserved_ids.count(id) || used_ids.count(id));
  used_ids.insert(id);
  return id;
}

PluginContext& Pipeline::Impl::new_context(const std::string& id, PluginMetrics* plugin_metrics) {
  PluginContext& ctx = contexts.emplace_back();
  ctx.id = id;
  ctx.settings = &settings;
  ctx.bus = bus;
  ctx.metrics = plugin_metrics;
  ctx.pipeline_stopping = &stopping;
  ctx.dead_letter_queue = dead_letter_writer.get();
  return ctx;
}

const PluginEntry& Pipeline::Impl::find_plugin(PluginKind kind, const config::PluginBlock& block) {
  const PluginEntry* entry = Registry::instance().find(kind, block.name);
  if (!entry)
    throw config::ConfigError(block.pos, fmt::format("unknown {} plugin '{}'", plugin_kind_name(kind), block.name));
  return *entry;
}

namespace {

// Plugin constructors may throw anything; the user should see where the plugin is configured.
template <typename Make>
auto construct(const config::PluginBlock& block, const char* kind, Make&& make) {
  try {
    auto plugin = make();
    if (!plugin)
      throw config::ConfigError(block.pos, fmt::format("the {} plugin '{}' could not be created", kind, block.name));
    return plugin;
  } catch (const config::ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    throw config::ConfigError(block.pos, fmt::format("{} plugin '{}': {}", kind, block.name, e.what()));
  }
}

}  // namespace

void Pipeline::Impl::add_input(const config::PluginBlock& block) {
  const PluginEntry& entry = find_plugin(PluginKind::Input, block);
  if (!entry.input) throw config::ConfigError(block.pos, fmt::format("'{}' is not an input plugin", block.name));
  Options options = Options::validate(block, entry.schema);
  auto slot = std::make_unique<InputSlot>();
  slot->id = plugin_id(options, block);
  slot->name = block.name;
  slot->metrics = metrics.add_plugin(slot->id, block.name, "input");
  PluginContext& ctx = new_context(slot->id, slot->metrics);
  slot->decoration = Decoration::for_input(options);
  slot->input = construct(block, "input", [&] { return entry.input(options, ctx); });
  inputs.push_back(std::move(slot));
}

size_t Pipeline::Impl::add_filter(const config::PluginBlock& block) {
  const PluginEntry& entry = find_plugin(PluginKind::Filter, block);
  if (!entry.filter) throw config::ConfigError(block.pos, fmt::format("'{}' is not a filter plugin", block.name));
  Options options = Options::validate(block, entry.schema);
  FilterStage stage;
  stage.id = plugin_id(options, block);
  stage.name = block.name;
  stage.metrics = metrics.add_plugin(stage.id, block.name, "filter");
  PluginContext& ctx = new_context(stage.id, stage.metrics);
  stage.decoration = Decoration::for_filter(options);
  stage.filter = construct(block, "filter", [&] { return entry.filter(options, ctx); });
  stage.periodic_flush = stage.filter->periodic_flush() || (options.raw("periodic_flush") && options.get_bool("periodic_flush"));
  any_periodic_filter = any_periodic_filter || stage.periodic_flush;
  plan.filters.push_back(std::move(stage));
  return plan.filters.size() - 1;
}

size_t Pipeline::Impl::add_output(const config::PluginBlock& block) {
  const PluginEntry& entry = find_plugin(PluginKind::Output, block);
  if (!entry.output) throw config::ConfigError(block.pos, fmt::format("'{}' is not an output plugin", block.name));
  Options options = Options::validate(block, entry.schema);
  OutputStage stage;
  stage.id = plugin_id(options, block);
  stage.name = block.name;
  stage.metrics = metrics.add_plugin(stage.id, block.name, "output");
  PluginContext& ctx = new_context(stage.id, stage.metrics);
  stage.output = construct(block, "output", [&] { return entry.output(options, ctx); });
  if (!stage.output->thread_safe()) stage.serial = std::make_unique<std::mutex>();
  plan.outputs.push_back(std::move(stage));
  return plan.outputs.size() - 1;
}

// ---- running ------------------------------------------------------------------------------

void Pipeline::Impl::run_input(InputSlot& slot) {
  name_thread(fmt::format("[{}]<{}", settings.id, slot.name));
  for (;;) {
    try {
      slot.input->run(*slot.runner);
      slot.runner->flush();
      break;
    } catch (const std::exception& e) {
      slot.runner->flush();
      if (slot.metrics) slot.metrics->failures.fetch_add(1, std::memory_order_relaxed);
      if (stopping.load()) {
        pipeline_log()->error("[{}] input {} failed while stopping: {}", settings.id, slot.id, e.what());
        break;
      }
      // As Logstash does: log, wait a moment, run the input again.
      pipeline_log()->error("[{}] input {} failed, restarting it in 1 s: {}", settings.id, slot.id, e.what());
      if (slot.runner->wait_for_stop(1000)) break;
    }
  }
}

void Pipeline::Impl::maybe_flush(BatchRunner& runner) {
  int64_t now = steady_ms();
  bool filters_due = any_periodic_filter && now >= next_filter_flush_ms.load(std::memory_order_relaxed);
  bool outputs_due = !plan.outputs.empty() && now >= next_output_flush_ms.load(std::memory_order_relaxed);
  if (!filters_due && !outputs_due) return;
  bool expected = false;
  if (!flushing.compare_exchange_strong(expected, true)) return;  // another worker is on it
  if (filters_due) {
    next_filter_flush_ms.store(now + kFilterFlushIntervalMs);
    runner.flush_filters(false);
  }
  if (outputs_due) {
    next_output_flush_ms.store(now + kOutputFlushIntervalMs);
    runner.flush_outputs();
  }
  flushing.store(false);
}

namespace {

// Takes the events a worker decodes from a raw unit into its batch: the input's decoration,
// then the unit's hold on its chunk (to the first event; later ones take their own).
class UnitExpander final : public EventSink {
 public:
  explicit UnitExpander(std::vector<Event*>& batch) : batch_(batch) {}

  void start(const RawUnit& unit) {
    decoration_ = unit.decoration;
    token_ = unit.token;
    hold_given_ = false;
  }
  void accept(Event* event) override {
    if (!event) return;
    if (decoration_) decoration_->apply(*event);
    if (token_) {
      if (hold_given_) event->attach_ack(token_);
      else event->adopt_ack(token_);
      hold_given_ = true;
    }
    batch_.push_back(event);
  }
  // A unit that made no event is done: its hold goes.
  void finish() {
    if (token_ && !hold_given_) token_->release();
  }

 private:
  std::vector<Event*>& batch_;
  const Decoration* decoration_ = nullptr;
  AckToken* token_ = nullptr;
  bool hold_given_ = false;
};

}  // namespace

void Pipeline::Impl::run_worker(int index) {
  name_thread(fmt::format("[{}]>worker{}", settings.id, index));
  BatchRunner runner(plan, metrics, settings.id);
  std::vector<EventQueue::Item> items;
  items.reserve(size_t(settings.batch_size));
  std::vector<Event*> batch;
  batch.reserve(size_t(settings.batch_size));
  UnitExpander expander(batch);
  // The batch goes through in chunks of up to kChunkEvents when every plugin allows (plan.h).
  // Packed units are decoded whole (a pack pins one clock reading): a chunk that a pack would
  // take past the limit goes through first, so the file input's 31-line packs make 31-event chunks.
  const size_t chunk = chunk_events_for(plan);
  auto delay = std::chrono::milliseconds(std::max(0, settings.batch_delay_ms));
  for (;;) {
    items.clear();
    size_t n = queue->pop_batch(items, size_t(settings.batch_size), delay, kWorkerIdleWait);
    for (EventQueue::Item& item : items) {
      if (item.event) {
        batch.push_back(item.event);
        if (chunk && batch.size() >= chunk) runner.process(batch);
        continue;
      }
      RawUnit* pack = item.unit;
      if (chunk && !batch.empty() && batch.size() + pack->unit_count() > chunk) runner.process(batch);
      event_clock::Pin pin;  // the pack's lines were read together: one creation time
      for (size_t i = 0; i < pack->unit_count(); ++i) {
        expander.start(*pack);
        try {
          pack->decoder->decode(pack->unit(i), pack->origin, expander);
          expander.finish();
        } catch (const std::exception& e) {
          // The unit's chunk stays unacknowledged (its hold is kept): the source offers it again.
          pipeline_log()->error("[{}] decoding an input unit failed: {}", settings.id, e.what());
        }
      }
      free_raw_unit(pack);
    }
    if (!batch.empty()) runner.process(batch);
    // Looked at after the batch, not when taking it: another worker may have emptied the queue
    // meanwhile, and what this batch left with the outputs must not wait for the periodic flush.
    if (n > 0 && queue->size() == 0) runner.outputs_caught_up();
    maybe_flush(runner);
    if (n == 0 && queue->drained()) break;
  }
}

void Pipeline::Impl::supervise() {
  name_thread(fmt::format("[{}]supervisor", settings.id));
  for (auto& slot : inputs) {
    if (slot->thread.joinable()) slot->thread.join();
  }
  queue->close();
  for (auto& worker : worker_threads) worker.join();
  // Everything queued went through; now the filters' last words and the outputs' last writes.
  BatchRunner final_runner(plan, metrics, settings.id);
  final_runner.flush_filters(true);
  for (OutputStage& stage : plan.outputs) {
    try {
      stage.output->flush();
      stage.output->close();
    } catch (const std::exception& e) {
      pipeline_log()->error("[{}] output {} failed to close: {}", settings.id, stage.id, e.what());
    }
  }
  if (dead_letter_writer) dead_letter_writer->close();  // seals the open segment
  pipeline_log()->info("Pipeline terminated {{\"pipeline.id\"=>\"{}\"}}", settings.id);
  std::lock_guard lock(state_mutex);
  finished = true;
  state_changed.notify_all();
  // Under the lock: whoever sees finished() true knows the callback has run.
  if (finished_callback) finished_callback();
}

// ---- Pipeline -----------------------------------------------------------------------------

Pipeline::Pipeline(PipelineSettings settings, config::PipelineConfig config, PipelineBus* bus)
    : impl_(std::make_unique<Impl>()) {
  Impl& p = *impl_;
  p.settings = std::move(settings);
  p.bus = bus ? bus : &PipelineBus::instance();
  p.metrics.id = p.settings.id;

  if (p.settings.batch_size < 1)
    throw config::ConfigError(fmt::format("pipeline.batch.size must be at least 1 (got {})", p.settings.batch_size));
  if (p.settings.batch_delay_ms < 0)
    throw config::ConfigError(fmt::format("pipeline.batch.delay cannot be negative (got {})", p.settings.batch_delay_ms));
  if (p.settings.workers < 0)
    throw config::ConfigError(fmt::format("pipeline.workers cannot be negative (got {})", p.settings.workers));
  const std::string& ordered = p.settings.ordered;
  if (ordered != "auto" && ordered != "true" && ordered != "false")
    throw config::ConfigError(fmt::format("pipeline.ordered must be one of auto, true, false (got '{}')", ordered));

  p.workers = p.settings.workers > 0 ? p.settings.workers : int(std::max(1u, std::thread::hardware_concurrency()));
  if (ordered == "true") {
    if (p.workers > 1)
      pipeline_log()->warn("[{}] pipeline.ordered is true: running 1 worker instead of {} to keep the event order", p.settings.id,
                  p.workers);
    p.workers = 1;
    p.ordered = true;
  } else {
    p.ordered = ordered == "auto" && p.workers == 1;
  }
  p.settings.workers = p.workers;

  size_t max_events = p.settings.queue_max_events > 0
                          ? p.settings.queue_max_events
                          : PipelineSettings::default_queue_max_events(size_t(p.workers), size_t(p.settings.batch_size));
  size_t max_bytes = p.settings.queue_max_bytes > 0 ? p.settings.queue_max_bytes : size_t(64) << 20;
  p.metrics.queue_max_events = max_events;
  p.metrics.queue_max_bytes = max_bytes;
  p.queue = std::make_unique<EventQueue>(max_events, max_bytes, &p.metrics);

  p.dead_letter_writer = make_dead_letter_writer(p.settings.dead_letter_queue, p.settings.id, p.settings.path_data,
                                                 &p.metrics.dead_letter_queue);
  p.plan.dead_letters.writer = p.dead_letter_writer.get();
  p.plan.dead_letters.failure_tags = p.settings.dead_letter_queue.failure_tags;
  p.plan.dead_letters.conditional_errors = p.settings.dead_letter_queue.conditional_errors;
  p.plan.dead_letters.pipeline_id = p.settings.id;

  p.reserve_explicit_ids(config.inputs);
  p.reserve_explicit_ids(config.filters);
  p.reserve_explicit_ids(config.outputs);

  for (const config::Statement& statement : config.inputs) {
    if (statement.kind != config::Statement::Kind::Plugin) {
      config::Position pos = statement.branches.empty() ? config::Position{} : statement.branches.front().pos;
      throw config::ConfigError(pos, "conditionals are not supported in the input section");
    }
    if (statement.plugin) p.add_input(*statement.plugin);
  }
  p.plan.filter_nodes = build_plan_nodes(config.filters, PlanNode::Kind::Filter,
                                         [&p](const config::PluginBlock& b) { return p.add_filter(b); });
  p.plan.output_nodes = build_plan_nodes(config.outputs, PlanNode::Kind::Output,
                                         [&p](const config::PluginBlock& b) { return p.add_output(b); });
  for (auto& slot : p.inputs) slot->runner = std::make_unique<InputRunner>(p, *slot);
}

Pipeline::~Pipeline() {
  if (!impl_) return;
  bool started;
  {
    std::lock_guard lock(impl_->state_mutex);
    started = impl_->started;
  }
  if (started) {
    request_stop();
    if (impl_->supervisor.joinable()) impl_->supervisor.join();
  }
}

void Pipeline::start() {
  Impl& p = *impl_;
  {
    std::lock_guard lock(p.state_mutex);
    if (p.started) return;
    p.started = true;
  }
  p.metrics.started_at_millis = wall_ms();
  int64_t now = steady_ms();
  p.next_filter_flush_ms.store(now + kFilterFlushIntervalMs);
  p.next_output_flush_ms.store(now + kOutputFlushIntervalMs);
  pipeline_log()->info(
      "Starting pipeline {{\"pipeline.id\"=>\"{}\", \"pipeline.workers\"=>{}, \"pipeline.batch.size\"=>{}, "
      "\"pipeline.batch.delay\"=>{}, \"pipeline.ordered\"=>{}}}",
      p.settings.id, p.workers, p.settings.batch_size, p.settings.batch_delay_ms, p.ordered);
  p.worker_threads.reserve(size_t(p.workers));
  for (int i = 0; i < p.workers; ++i) p.worker_threads.emplace_back([&p, i] { p.run_worker(i); });
  for (auto& slot : p.inputs) {
    InputSlot* s = slot.get();
    s->thread = std::thread([&p, s] { p.run_input(*s); });
  }
  p.supervisor = std::thread([&p] { p.supervise(); });
}

void Pipeline::request_stop() {
  Impl& p = *impl_;
  {
    std::lock_guard lock(p.state_mutex);
    if (p.stopping.exchange(true)) return;
    p.state_changed.notify_all();
  }
  for (auto& slot : p.inputs) {
    try {
      slot->input->stop();
    } catch (const std::exception& e) {
      pipeline_log()->error("[{}] input {} failed to stop: {}", p.settings.id, slot->id, e.what());
    }
  }
}

bool Pipeline::wait_for(int ms) {
  Impl& p = *impl_;
  std::unique_lock lock(p.state_mutex);
  auto done = [&] { return p.finished || (!p.started && p.stopping.load()); };
  if (ms < 0) {
    p.state_changed.wait(lock, done);
    return true;
  }
  return p.state_changed.wait_for(lock, std::chrono::milliseconds(ms), done);
}

bool Pipeline::finished() const {
  std::lock_guard lock(impl_->state_mutex);
  return impl_->finished;
}

void Pipeline::on_finished(std::function<void()> callback) {
  std::lock_guard lock(impl_->state_mutex);
  impl_->finished_callback = std::move(callback);
}

const PipelineSettings& Pipeline::settings() const { return impl_->settings; }

const PipelineMetrics& Pipeline::metrics() const { return impl_->metrics; }

}  // namespace sluice
