// Test-only plugins for the runtime integration tests (see pipeline_test_plugins.h).
#include "pipeline_test_plugins.h"

#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/ack.h"
#include "core/event_pool.h"
#include "core/json.h"
#include "runtime/registry.h"

namespace sluice::rt_test {

std::string this_thread_text() {
  std::ostringstream out;
  out << std::this_thread::get_id();
  return out.str();
}

namespace {

std::mutex registry_mutex;
std::map<std::string, std::shared_ptr<SourceState>> sources;
std::map<std::string, std::shared_ptr<CollectState>> collectors;

OptionSpec option(std::string name, OptionType type, std::optional<config::ConfigValue> def = std::nullopt) {
  OptionSpec o;
  o.name = std::move(name);
  o.type = type;
  o.default_value = std::move(def);
  return o;
}

PluginSchema schema(PluginKind kind, std::string name, std::vector<OptionSpec> options) {
  PluginSchema s;
  s.kind = kind;
  s.name = std::move(name);
  s.doc = "Test-only plugin.";
  s.options = std::move(options);
  return s;
}

// Decodes rt_source's raw units: `unit` is the sequence number, `origin` the message.
class SourceUnitDecoder final : public UnitDecoder {
 public:
  explicit SourceUnitDecoder(int64_t events_per_unit) : events_per_unit_(events_per_unit) {}
  void decode(std::string_view unit, std::string_view origin, EventSink& sink) const override {
    for (int64_t i = 0; i < events_per_unit_; ++i) {
      Event* e = new_event();
      e->init_with_message(origin, Timestamp::now());
      e->fields()["seq"].set_int(std::stoll(std::string(unit)));
      e->fields()["decoded_on"].set_string(this_thread_text());
      sink.accept(e);
    }
  }

 private:
  int64_t events_per_unit_;
};

class SourceInput final : public Input, public AckListener {
 public:
  SourceInput(const Options& o, PluginContext&)
      : state_(source(o.get_string("key"))),
        count_(o.get_int("count")),
        chunk_(std::max<int64_t>(1, o.get_int("chunk"))),
        message_(o.get_string("message")),
        preset_type_(o.get_string("preset_type")),
        unit_events_(o.get_int("unit_events")),
        unit_decoder_(std::max<int64_t>(0, unit_events_)) {}

  void run(InputContext& ctx) override {
    state_->input_thread = this_thread_text();
    uint64_t chunk_id = 0;
    for (int64_t seq = 0; count_ == 0 || seq < count_;) {
      AckToken* token = AckToken::create(this, chunk_id);
      {
        std::lock_guard lock(sizes_mutex_);
        sizes_[chunk_id] = 0;
      }
      state_->chunks_created.fetch_add(1);
      bool keep_going = true;
      int64_t in_chunk = 0;
      for (; in_chunk < chunk_ && (count_ == 0 || seq < count_); ++in_chunk, ++seq) {
        if (unit_events_ >= 0) {
          {
            std::lock_guard lock(sizes_mutex_);
            ++sizes_[chunk_id];
          }
          state_->pushed.fetch_add(1);
          if (!ctx.push_unit(unit_decoder_, std::to_string(seq), message_, token)) {
            keep_going = false;
            ++in_chunk;
            ++seq;
            break;
          }
          continue;
        }
        Event* e = ctx.new_event();
        e->init_with_message(message_, Timestamp::now());
        e->fields()["seq"].set_int(seq);
        if (!preset_type_.empty()) e->fields()["type"].set_string(preset_type_);
        e->attach_ack(token);
        {
          std::lock_guard lock(sizes_mutex_);
          ++sizes_[chunk_id];
        }
        state_->pushed.fetch_add(1);
        if (!ctx.push(e)) {
          keep_going = false;
          ++in_chunk;
          ++seq;
          break;
        }
      }
      token->release();  // the input's own hold: the chunk is handed over
      ++chunk_id;
      if (!keep_going || ctx.stopping()) break;
    }
    ctx.flush();
    state_->run_returned.store(true);
  }

  void acked(uint64_t chunk_id) override {
    uint64_t size = 0;
    {
      std::lock_guard lock(sizes_mutex_);
      size = sizes_[chunk_id];
    }
    std::lock_guard lock(state_->mutex);
    state_->acked_chunks.insert(chunk_id);
    state_->acked_events.fetch_add(size);
  }

 private:
  std::shared_ptr<SourceState> state_;
  int64_t count_;
  int64_t chunk_;
  std::string message_;
  std::string preset_type_;
  int64_t unit_events_;
  SourceUnitDecoder unit_decoder_;
  std::mutex sizes_mutex_;
  std::map<uint64_t, uint64_t> sizes_;
};

class MarkFilter final : public Filter {
 public:
  MarkFilter(const Options& o, PluginContext&) : field_(FieldRef::of(o.get_string("field"))), value_(o.get_string("value")) {}
  bool filter(Event& e, FilterContext&) override {
    e.put(field_).set_string(value_);
    return true;
  }

 private:
  FieldRef field_;
  std::string value_;
};

class CloneFilter final : public Filter {
 public:
  CloneFilter(const Options& o, PluginContext&) : copies_(o.get_int("copies")) {}
  bool filter(Event& e, FilterContext& ctx) override {
    for (int64_t i = 0; i < copies_; ++i) {
      Event* copy = ctx.new_event();
      copy->fields() = e.fields();
      copy->metadata() = e.metadata();
      copy->attach_ack(e.ack_token());
      copy->fields()["clone"].set_bool(true);
      ctx.emit(copy);
    }
    return false;
  }

 private:
  int64_t copies_;
};

class DropFilter final : public Filter {
 public:
  DropFilter(const Options&, PluginContext&) {}
  bool filter(Event& e, FilterContext&) override {
    e.cancel();
    return false;
  }
};

class FlusherFilter final : public Filter {
 public:
  FlusherFilter(const Options&, PluginContext&) {}
  bool filter(Event&, FilterContext&) override { return false; }
  void flush(FilterContext& ctx, bool final) override {
    if (!final) return;
    Event* e = ctx.new_event();
    e->init_with_message("flushed", Timestamp::now());
    ctx.emit(e);
  }
};

class ThrowFilter final : public Filter {
 public:
  ThrowFilter(const Options&, PluginContext&) {}
  bool filter(Event&, FilterContext&) override { throw std::runtime_error("test filter failure"); }
};

class CollectOutput final : public Output {
 public:
  CollectOutput(const Options& o, PluginContext&)
      : state_(collector(o.get_string("key"))),
        source_(o.get_string("source").empty() ? nullptr : source(o.get_string("source"))),
        delay_ms_(o.get_int("delay_ms")),
        slow_seq_(o.get_int("slow_seq")),
        throw_(o.get_bool("throw")) {}

  void write(std::span<Event* const> events) override {
    int now = state_->concurrent.fetch_add(1) + 1;
    int seen = state_->max_concurrent.load();
    while (now > seen && !state_->max_concurrent.compare_exchange_weak(seen, now)) {
    }
    bool slow = slow_seq_ < 0;
    for (const Event* e : events) {
      if (const Value* v = e->fields().find("seq"); v && v->is_int() && v->as_int() == slow_seq_) slow = true;
    }
    if (delay_ms_ > 0 && slow) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    if (throw_) {
      state_->concurrent.fetch_sub(1);
      throw std::runtime_error("test output failure");
    }
    std::vector<Collected> batch;
    for (const Event* e : events) {
      if (source_ && e->ack_token() && source_->chunk_acked(e->ack_token()->chunk_id()))
        state_->arrived_already_acked.fetch_add(1);
      Collected c;
      if (const Value* v = e->fields().find("message"); v && v->is_string()) c.message = v->as_string();
      if (const Value* v = e->fields().find("seq"); v && v->is_int()) c.seq = v->as_int();
      if (const Value* v = e->fields().find("type"); v && v->is_string()) c.type = v->as_string();
      if (const Value* v = e->fields().find("decoded_on"); v && v->is_string()) c.decoded_on = v->as_string();
      c.written_on = this_thread_text();
      if (const Value* v = e->fields().find("tags"); v && v->is_array()) {
        for (const Value& t : v->as_array()) c.tags.push_back(t.to_text());
      }
      json_append_event(c.json, *e);
      batch.push_back(std::move(c));
    }
    {
      std::lock_guard lock(state_->mutex);
      for (auto& c : batch) state_->events.push_back(std::move(c));
    }
    state_->concurrent.fetch_sub(1);
  }

  void caught_up() override {
    std::lock_guard lock(state_->mutex);
    ++state_->caught_ups;
    state_->collected_at_last_caught_up = state_->events.size();
  }

 private:
  std::shared_ptr<CollectState> state_;
  std::shared_ptr<SourceState> source_;
  int64_t delay_ms_;
  int64_t slow_seq_;  // >= 0: only a batch holding the event with this [seq] is delayed
  bool throw_;
};

const RegisterInput source_registration{
    schema(PluginKind::Input, "rt_source",
           {option("key", OptionType::String, cv_string("default")), option("count", OptionType::Number, cv_number(10)),
            option("chunk", OptionType::Number, cv_number(10)),
            option("message", OptionType::String, cv_string("hello")),
            option("preset_type", OptionType::String, cv_string("")),
            option("unit_events", OptionType::Number, cv_number(-1))}),
    [](const Options& o, PluginContext& c) { return std::make_unique<SourceInput>(o, c); }};

const RegisterFilter mark_registration{
    schema(PluginKind::Filter, "rt_mark",
           {option("field", OptionType::String, cv_string("marked")), option("value", OptionType::String, cv_string("yes"))}),
    [](const Options& o, PluginContext& c) { return std::make_unique<MarkFilter>(o, c); }};

const RegisterFilter clone_registration{schema(PluginKind::Filter, "rt_clone", {option("copies", OptionType::Number, cv_number(1))}),
                                        [](const Options& o, PluginContext& c) { return std::make_unique<CloneFilter>(o, c); }};

const RegisterFilter drop_registration{schema(PluginKind::Filter, "rt_drop", {}),
                                       [](const Options& o, PluginContext& c) { return std::make_unique<DropFilter>(o, c); }};

const RegisterFilter flusher_registration{
    schema(PluginKind::Filter, "rt_flusher", {}),
    [](const Options& o, PluginContext& c) { return std::make_unique<FlusherFilter>(o, c); }};

const RegisterFilter throw_registration{schema(PluginKind::Filter, "rt_throw", {}),
                                        [](const Options& o, PluginContext& c) { return std::make_unique<ThrowFilter>(o, c); }};

const RegisterOutput collect_registration{
    schema(PluginKind::Output, "rt_collect",
           {option("key", OptionType::String, cv_string("default")), option("source", OptionType::String, cv_string("")),
            option("delay_ms", OptionType::Number, cv_number(0)), option("slow_seq", OptionType::Number, cv_number(-1)),
            option("throw", OptionType::Boolean, cv_bool(false))}),
    [](const Options& o, PluginContext& c) { return std::make_unique<CollectOutput>(o, c); }};

}  // namespace

std::shared_ptr<SourceState> source(const std::string& key) {
  std::lock_guard lock(registry_mutex);
  auto& s = sources[key];
  if (!s) s = std::make_shared<SourceState>();
  return s;
}

std::shared_ptr<CollectState> collector(const std::string& key) {
  std::lock_guard lock(registry_mutex);
  auto& s = collectors[key];
  if (!s) s = std::make_shared<CollectState>();
  return s;
}

std::string unique_key(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "_" + std::to_string(counter.fetch_add(1));
}

PipelineSettings settings(int workers, int batch_size, int batch_delay_ms) {
  PipelineSettings s;
  s.workers = workers;
  s.batch_size = batch_size;
  s.batch_delay_ms = batch_delay_ms;
  return s;
}

std::unique_ptr<Pipeline> make_pipeline(const std::string& config_text, PipelineSettings s, PipelineBus* bus) {
  return std::make_unique<Pipeline>(std::move(s), config::parse_config(config_text, "test.conf"), bus);
}

}  // namespace sluice::rt_test
