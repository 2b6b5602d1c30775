// The `generator` input: emits `message` (or each of `lines` in turn) `count` times, as Logstash's
// generator does, with `host` and `sequence` fields. Built for throughput tests, so the hot loop
// reuses pooled events, copies fields into their kept storage and pushes in groups.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/event_pool.h"
#include "core/field_ref.h"
#include "runtime/logging.h"
#include "runtime/registry.h"

namespace sluice {

namespace {

constexpr size_t kGroupSize = 64;  // events made between two timestamps / queue hand-overs

std::string local_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

// Collects what a codec decodes.
class CollectSink final : public EventSink {
 public:
  void accept(Event* event) override { events.push_back(event); }
  std::vector<Event*> events;
};

// Pushes through one InputContext from several generator threads (`threads` > 1).
class SharedPush {
 public:
  explicit SharedPush(InputContext& ctx) : ctx_(ctx) {}
  // Hands over a group; false once the pipeline is stopping.
  bool push_group(std::vector<Event*>& group) {
    std::lock_guard lock(mutex_);
    bool ok = true;
    for (Event* e : group) ok = ctx_.push(e) && ok;
    ctx_.flush();
    group.clear();
    return ok;
  }

 private:
  InputContext& ctx_;
  std::mutex mutex_;
};

class GeneratorInput final : public Input {
 public:
  GeneratorInput(const Options& options, PluginContext& ctx) {
    count_ = std::max<int64_t>(0, options.get_int("count"));
    message_ = options.get_string("message");
    has_lines_ = options.has("lines");
    if (has_lines_) lines_ = options.get_string_array("lines");
    threads_ = int(std::clamp<int64_t>(options.get_int("threads"), 1, 256));
    std::string ecs = options.has("ecs_compatibility") ? options.get_string("ecs_compatibility")
                                                       : (ctx.settings ? ctx.settings->ecs_compatibility : "v8");
    bool use_ecs = ecs != "disabled";
    host_ref_ = FieldRef::of(use_ecs ? "[host][name]" : "host");
    sequence_ref_ = FieldRef::of(use_ecs ? "[event][sequence]" : "sequence");
    auto codec_block = options.get_codec();
    codec_ = ctx.make_codec(codec_block);
    // plain decodes a unit into one event the same way every time: decode once, replay copies.
    replay_ = codec_block && codec_block->name == "plain";
    host_ = local_host_name();
  }

  void run(InputContext& ctx) override {
    if (!has_lines_ && message_ == "stdin") {
      // Logstash reads the message from one line of stdin (readline keeps the newline).
      logging::get("sluice.inputs.generator")->info("Generator plugin reading a line from stdin");
      message_ = read_stdin_line();
    }
    if (!has_lines_) lines_ = {message_};
    if (lines_.empty()) return;
    if (threads_ == 1) {
      generate(ctx, *codec_, nullptr);
      return;
    }
    // Logstash runs `threads` copies of a threadable input, each generating `count` rounds.
    SharedPush shared(ctx);
    std::vector<std::unique_ptr<Codec>> codecs;
    for (int i = 0; i < threads_; ++i) codecs.push_back(codec_->clone());
    std::vector<std::thread> workers;
    for (int i = 1; i < threads_; ++i)
      workers.emplace_back([&, i] { generate(ctx, *codecs[size_t(i)], &shared); });
    generate(ctx, *codecs[0], &shared);
    for (auto& worker : workers) worker.join();
  }

  void stop() override { stop_requested_.store(true, std::memory_order_relaxed); }

 private:
  static std::string read_stdin_line() {
    std::string line;
    char c;
    while (::read(0, &c, 1) == 1) {
      line.push_back(c);
      if (c == '\n') break;
    }
    return line;
  }

  bool stopping(InputContext& ctx) const {
    return stop_requested_.load(std::memory_order_relaxed) || ctx.stopping();
  }

  // One generating loop. `shared` is set when several threads push into the same context.
  // A decoded line prepared for copying: host and sequence already set, and the entry indexes
  // of @timestamp and of the sequence field, so each copy is a storage-reusing Object assignment
  // plus two stores, without a single key lookup.
  struct Replay {
    Event* source = nullptr;
    long timestamp_index = -1;
    std::vector<size_t> sequence_path;
  };

  static long entry_index(const Object& object, std::string_view key) {
    long index = 0;
    for (const Object::Entry& entry : object) {
      if (entry.key == key) return index;
      ++index;
    }
    return -1;
  }

  Replay prepare(Event* source) {
    Replay replay;
    replay.source = source;
    source->put(host_ref_).set_string(host_);
    source->put(sequence_ref_).set_int(0);
    replay.timestamp_index = entry_index(source->fields(), "@timestamp");
    if (replay.timestamp_index >= 0 && !(source->fields().begin() + replay.timestamp_index)->value.is_timestamp())
      replay.timestamp_index = -1;
    const Object* object = &source->fields();
    for (const std::string& segment : sequence_ref_.path()) {
      long index = entry_index(*object, segment);
      replay.sequence_path.push_back(size_t(index));  // present: put() above created it
      const Value& value = (object->begin() + index)->value;
      if (value.is_object()) object = &value.as_object();
    }
    return replay;
  }

  static Event* copy_of(const Replay& replay, Event* event, Timestamp now, int64_t sequence) {
    event->fields().assign_unrelated(replay.source->fields());
    if (!replay.source->metadata().empty()) event->metadata().assign_unrelated(replay.source->metadata());
    Object* object = &event->fields();
    if (replay.timestamp_index >= 0) (object->begin() + replay.timestamp_index)->value.set_timestamp(now);
    Value* value = nullptr;
    for (size_t index : replay.sequence_path) {
      value = &(object->begin() + index)->value;
      if (value->is_object()) object = &value->as_object();
    }
    if (value) value->set_int(sequence);
    return event;
  }

  // One generating loop. `shared` is set when several threads push into the same context.
  void generate(InputContext& ctx, Codec& codec, SharedPush* shared) {
    std::vector<std::vector<Replay>> templates;
    if (replay_) {
      for (const std::string& line : lines_) {
        CollectSink sink;
        codec.decode(line, sink);
        std::vector<Replay> replays;
        for (Event* event : sink.events) replays.push_back(prepare(event));
        templates.push_back(std::move(replays));
      }
    }
    std::vector<Event*> group;
    group.reserve(kGroupSize);
    Timestamp now = Timestamp::now();
    size_t made_with_timestamp = 0;
    bool open = true;

    auto make_event = [&]() -> Event* { return shared ? sluice::new_event() : ctx.new_event(); };
    auto queue = [&](Event* event) {
      if (shared) {
        group.push_back(event);
        if (group.size() >= kGroupSize) open = shared->push_group(group) && open;
      } else {
        open = ctx.push(event) && open;  // push() hands full groups to the queue by itself
      }
      if (++made_with_timestamp >= kGroupSize) {  // the clock is read once per group
        made_with_timestamp = 0;
        now = Timestamp::now();
      }
    };
    // Slow path: events from a codec that may keep state (line, json_lines...); Logstash sets
    // host and sequence after decoding.
    class EmitSink final : public EventSink {
     public:
      explicit EmitSink(std::function<void(Event*)> f) : f_(std::move(f)) {}
      void accept(Event* event) override { f_(event); }

     private:
      std::function<void(Event*)> f_;
    };
    int64_t sequence = 0;
    EmitSink decoded([&](Event* event) {
      event->put(host_ref_).set_string(host_);
      event->put(sequence_ref_).set_int(sequence);
      queue(event);
    });

    if (replay_ && !shared) {
      // Raw units: the worker copies the template into an event of its own pool, so the event is
      // made on the core that filters and frees it (docs/architecture.md). A unit is the sequence
      // number and the line's index.
      unit_templates_ = std::move(templates);
      char unit[sizeof(int64_t) + sizeof(uint32_t)];
      for (; open && (count_ == 0 || sequence < count_); ++sequence) {
        if ((sequence & 63) == 0 && stopping(ctx)) break;
        for (uint32_t i = 0; i < lines_.size() && open; ++i) {
          std::memcpy(unit, &sequence, sizeof(int64_t));
          std::memcpy(unit + sizeof(int64_t), &i, sizeof(uint32_t));
          open = ctx.push_unit(unit_decoder_, std::string_view(unit, sizeof unit), {}, nullptr) && open;
        }
      }
      ctx.flush();
      return;
    }
    for (; open && (count_ == 0 || sequence < count_); ++sequence) {
      if ((sequence & 63) == 0 && stopping(ctx)) break;
      for (size_t i = 0; i < lines_.size() && open; ++i) {
        if (!replay_) {
          codec.decode(lines_[i], decoded);
          continue;
        }
        for (const Replay& replay : templates[i]) queue(copy_of(replay, make_event(), now, sequence));
      }
    }
    // A streaming codec may hold a last partial event (Logstash flushes it with host only).
    if (!replay_) {
      CollectSink rest;
      codec.flush(rest);
      for (Event* event : rest.events) {
        event->put(host_ref_).set_string(host_);
        if (shared) group.push_back(event);
        else ctx.push(event);
      }
    }
    if (shared && !group.empty()) shared->push_group(group);
    if (!shared) ctx.flush();
    for (auto& replays : templates)
      for (Replay& replay : replays) free_event(replay.source);
  }

  // Builds a generator event on the worker from a raw unit (sequence number, line index).
  class ReplayDecoder final : public UnitDecoder {
   public:
    explicit ReplayDecoder(const GeneratorInput& input) : input_(input) {}
    void decode(std::string_view unit, std::string_view, EventSink& sink) const override {
      int64_t sequence = 0;
      uint32_t line = 0;
      if (unit.size() != sizeof sequence + sizeof line) return;
      std::memcpy(&sequence, unit.data(), sizeof sequence);
      std::memcpy(&line, unit.data() + sizeof sequence, sizeof line);
      if (line >= input_.unit_templates_.size()) return;
      // The clock is read once per 64 events, as the generating loop does.
      thread_local Timestamp now = Timestamp::now();
      thread_local unsigned made = 0;
      if (++made % 64 == 0) now = Timestamp::now();
      for (const Replay& replay : input_.unit_templates_[line]) sink.accept(copy_of(replay, new_event(), now, sequence));
    }

   private:
    const GeneratorInput& input_;
  };

 public:
  ~GeneratorInput() override {
    for (auto& replays : unit_templates_)
      for (Replay& replay : replays) free_event(replay.source);
  }

 private:
  // Templates the workers copy from (raw units); kept while units may still be queued.
  std::vector<std::vector<Replay>> unit_templates_;
  const ReplayDecoder unit_decoder_{*this};
  int64_t count_ = 0;
  std::string message_;
  bool has_lines_ = false;
  std::vector<std::string> lines_;
  int threads_ = 1;
  FieldRef host_ref_;
  FieldRef sequence_ref_;
  std::unique_ptr<Codec> codec_;
  bool replay_ = false;
  std::string host_;
  std::atomic<bool> stop_requested_{false};
};

PluginSchema generator_schema() {
  auto option = [](std::string name, OptionType type, std::optional<config::ConfigValue> default_value,
                   std::string doc, std::vector<std::string> allowed = {}) {
    OptionSpec spec;
    spec.name = std::move(name);
    spec.type = type;
    spec.default_value = std::move(default_value);
    spec.doc = std::move(doc);
    spec.allowed = std::move(allowed);
    return spec;
  };
  PluginSchema schema;
  schema.kind = PluginKind::Input;
  schema.name = "generator";
  schema.doc =
      "Generates events, for testing and benchmarking pipelines: `message` (or each of `lines` in turn) `count` "
      "times, with `host` and `sequence` fields (`[host][name]`, `[event][sequence]` under ECS).";
  schema.options = {
      option("count", OptionType::Number, cv_number(0), "How many times to emit the lines; 0 = forever."),
      option("message", OptionType::String, cv_string("Hello world!"),
             "The message of every event (`stdin`: read it from one line of standard input)."),
      option("lines", OptionType::Array, std::nullopt, "Several messages, emitted in turn (overrides `message`)."),
      option("threads", OptionType::Number, cv_number(1),
             "How many copies of this input run, each emitting `count` rounds."),
      option("ecs_compatibility", OptionType::String, std::nullopt,
             "`disabled`: fields `host` and `sequence`; `v1`, `v8`: `[host][name]` and `[event][sequence]`. "
             "Default: pipeline.ecs_compatibility.",
             {"disabled", "v1", "v8"}),
  };
  return schema;
}

const RegisterInput kRegisterGenerator{generator_schema(),
                                        [](const Options& options, PluginContext& ctx) -> std::unique_ptr<Input> {
                                          return std::make_unique<GeneratorInput>(options, ctx);
                                        }};

}  // namespace

}  // namespace sluice
