// The batch executor over a compiled plan: branches partition the batch and keep its order,
// emitted events go through the later filters only, cancelled events are freed at once
// (releasing their acks), decorations apply to matched and emitted events, flush passes,
// an output failure leaves the events unacknowledged, and a batch goes through in chunks only
// when every plugin takes them, with the same result in the same order.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <stdexcept>

#include "config/parser.h"
#include "core/event_pool.h"
#include "runtime/plan.h"
#include "runtime/worker.h"

namespace sluice {
namespace {

// Appends its name to the event's [path] array and reports a match.
class PathFilter final : public Filter {
 public:
  explicit PathFilter(std::string name) : name_(std::move(name)) {}
  bool filter(Event& e, FilterContext&) override {
    Value& path = e.fields()["path"];
    if (!path.is_array()) path.make_array();
    path.as_array().emplace_back(std::string_view(name_));
    return true;
  }

 private:
  std::string name_;
};

class DropOddFilter final : public Filter {
 public:
  bool filter(Event& e, FilterContext&) override {
    if (e.fields().find("seq")->as_int() % 2) e.cancel();
    return false;
  }
};

class EmitFilter final : public Filter {
 public:
  bool needs_whole_batches() const override { return true; }
  bool filter(Event& e, FilterContext& ctx) override {
    Event* copy = ctx.new_event();
    copy->fields() = e.fields();
    copy->fields()["emitted"].set_bool(true);
    copy->attach_ack(e.ack_token());
    ctx.emit(copy);
    return false;
  }
};

class FlushFilter final : public Filter {
 public:
  explicit FlushFilter(bool periodic) : periodic_(periodic) {}
  bool filter(Event&, FilterContext&) override { return false; }
  void flush(FilterContext& ctx, bool final) override {
    Event* e = ctx.new_event();
    e->fields()["seq"].set_int(final ? 1000 : 2000);
    ctx.emit(e);
  }
  bool periodic_flush() const override { return periodic_; }

 private:
  bool periodic_;
};

struct Written {
  int64_t seq;
  std::string path;  // names joined by ","
  bool emitted;
  std::vector<std::string> tags;
};

class RecordOutput final : public Output {
 public:
  explicit RecordOutput(std::vector<Written>& out, bool fail = false, bool chunks = false)
      : out_(out), fail_(fail), chunks_(chunks) {}
  bool needs_whole_batches() const override { return !chunks_; }
  void write(std::span<Event* const> events) override {
    if (fail_) throw std::runtime_error("cannot write");
    for (const Event* e : events) {
      Written w{-1, "", false, {}};
      if (const Value* v = e->fields().find("seq")) w.seq = v->as_int();
      if (const Value* v = e->fields().find("path"); v && v->is_array()) {
        for (const Value& item : v->as_array()) w.path += (w.path.empty() ? "" : ",") + item.as_string();
      }
      w.emitted = e->fields().contains("emitted");
      if (const Value* v = e->fields().find("tags"); v && v->is_array()) {
        for (const Value& t : v->as_array()) w.tags.push_back(t.as_string());
      }
      out_.push_back(std::move(w));
    }
  }
  int flushes = 0;
  void flush() override { ++flushes; }

 private:
  std::vector<Written>& out_;
  bool fail_;
  bool chunks_;
};

struct CountingListener : AckListener {
  std::mutex mutex;
  std::vector<uint64_t> acked_chunks;
  void acked(uint64_t id) override {
    std::lock_guard lock(mutex);
    acked_chunks.push_back(id);
  }
};

// A plan from config text; filter plugin names map to factories here (no registry involved):
// p_<name> -> PathFilter(name), drop_odd, emit, flush_periodic, flush_final.
struct TestPlan {
  Plan plan;
  PipelineMetrics metrics;
  std::vector<Written> written;
  RecordOutput* output = nullptr;

  explicit TestPlan(const std::string& filters, bool failing_output = false, bool chunked_output = false) {
    auto cfg = config::parse_config("filter {" + filters + "}", "plan.conf");
    plan.filter_nodes = build_plan_nodes(cfg.filters, PlanNode::Kind::Filter, [&](const config::PluginBlock& b) {
      FilterStage stage;
      stage.id = b.name;
      stage.name = b.name;
      if (b.name.rfind("p_", 0) == 0) stage.filter = std::make_unique<PathFilter>(b.name.substr(2));
      else if (b.name == "drop_odd") stage.filter = std::make_unique<DropOddFilter>();
      else if (b.name == "emit") stage.filter = std::make_unique<EmitFilter>();
      else if (b.name == "flush_periodic") stage.filter = std::make_unique<FlushFilter>(true);
      else if (b.name == "flush_final") stage.filter = std::make_unique<FlushFilter>(false);
      else throw std::runtime_error("unknown test filter " + b.name);
      stage.periodic_flush = stage.filter->periodic_flush();
      if (b.name == "p_tagged") {
        stage.decoration = decoration_with_tag();
      }
      plan.filters.push_back(std::move(stage));
      return plan.filters.size() - 1;
    });
    OutputStage out;
    out.id = "record";
    auto record = std::make_unique<RecordOutput>(written, failing_output, chunked_output);
    output = record.get();
    out.output = std::move(record);
    out.serial = std::make_unique<std::mutex>();
    plan.outputs.push_back(std::move(out));
    PlanNode node;
    node.kind = PlanNode::Kind::Output;
    node.stage = 0;
    plan.output_nodes.push_back(std::move(node));
  }

  static Decoration decoration_with_tag();
};

Decoration TestPlan::decoration_with_tag() {
  // Validate a real block so the Decoration is read exactly as the runtime reads it.
  PluginSchema schema;
  schema.kind = PluginKind::Filter;
  schema.name = "p_tagged";
  auto cfg = config::parse_config("filter { p_tagged { add_tag => ['deco_%{seq}'] } }", "deco.conf");
  Options options = Options::validate(*cfg.filters.at(0).plugin, schema);
  return Decoration::for_filter(options);
}

std::vector<Event*> make_batch(int n, AckToken* token = nullptr) {
  std::vector<Event*> batch;
  for (int i = 0; i < n; ++i) {
    Event* e = new_event();
    e->fields()["seq"].set_int(i);
    if (token) e->attach_ack(token);
    batch.push_back(e);
  }
  return batch;
}

TEST(PlanExecution, BranchesPartitionAndKeepTheBatchOrder) {
  TestPlan t(R"(
    p_first {}
    if [seq] < 3 { p_low {} } else if [seq] < 6 { p_mid {} if [seq] == 4 { p_four {} } } else { p_high {} }
    p_last {})");
  BatchRunner runner(t.plan, t.metrics, "test");
  auto batch = make_batch(8);
  runner.process(batch);
  EXPECT_TRUE(batch.empty());
  ASSERT_EQ(t.written.size(), 8u);
  const char* expected[] = {"first,low,last", "first,low,last", "first,low,last",    "first,mid,last",
                            "first,mid,four,last", "first,mid,last", "first,high,last", "first,high,last"};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(t.written[size_t(i)].seq, i);
    EXPECT_EQ(t.written[size_t(i)].path, expected[i]) << "seq " << i;
  }
  EXPECT_EQ(t.metrics.events_filtered.load(), 8u);
  EXPECT_EQ(t.metrics.events_out.load(), 8u);
}

TEST(PlanExecution, EmittedEventsGoThroughLaterFiltersOnlyAndComeLast) {
  TestPlan t("p_a {} emit {} p_b {}");
  BatchRunner runner(t.plan, t.metrics, "test");
  auto batch = make_batch(3);
  runner.process(batch);
  ASSERT_EQ(t.written.size(), 6u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(t.written[size_t(i)].emitted);
    EXPECT_EQ(t.written[size_t(i)].path, "a,b");
    EXPECT_TRUE(t.written[size_t(i) + 3].emitted);
    EXPECT_EQ(t.written[size_t(i) + 3].seq, i);
    EXPECT_EQ(t.written[size_t(i) + 3].path, "a,b");  // copied "a" from the original, then went through b
  }
}

TEST(PlanExecution, CancelledEventsAreFreedAndAcknowledgedBeforeTheOutputs) {
  CountingListener listener;
  AckToken* odd_token = AckToken::create(&listener, 7);
  AckToken* even_token = AckToken::create(&listener, 8);
  TestPlan t("drop_odd {} p_after {}");
  BatchRunner runner(t.plan, t.metrics, "test");
  std::vector<Event*> batch;
  for (int i = 0; i < 6; ++i) {
    Event* e = new_event();
    e->fields()["seq"].set_int(i);
    e->attach_ack(i % 2 ? odd_token : even_token);
    batch.push_back(e);
  }
  odd_token->release();
  even_token->release();
  runner.process(batch);
  ASSERT_EQ(t.written.size(), 3u);
  for (auto& w : t.written) EXPECT_EQ(w.seq % 2, 0);
  std::lock_guard lock(listener.mutex);
  ASSERT_EQ(listener.acked_chunks.size(), 2u);
  EXPECT_EQ(listener.acked_chunks[0], 7u);  // the dropped chunk was done first
  EXPECT_EQ(listener.acked_chunks[1], 8u);
}

TEST(PlanExecution, DecorationAppliesToMatchedEvents) {
  TestPlan t("p_tagged {}");
  BatchRunner runner(t.plan, t.metrics, "test");
  auto batch = make_batch(2);
  runner.process(batch);
  ASSERT_EQ(t.written.size(), 2u);
  EXPECT_EQ(t.written[0].tags, std::vector<std::string>{"deco_0"});
  EXPECT_EQ(t.written[1].tags, std::vector<std::string>{"deco_1"});
}

TEST(PlanExecution, FlushPassesReachLaterFiltersAndOutputs) {
  TestPlan t("if [x] { flush_periodic {} p_p {} } flush_final {} p_f {}");
  BatchRunner runner(t.plan, t.metrics, "test");
  runner.flush_filters(false);  // periodic: only flush_periodic, whose event leaves its branch
  ASSERT_EQ(t.written.size(), 1u);
  EXPECT_EQ(t.written[0].seq, 2000);
  EXPECT_EQ(t.written[0].path, "p,f");
  t.written.clear();
  runner.flush_filters(true);  // final: both
  ASSERT_EQ(t.written.size(), 2u);
  EXPECT_EQ(t.written[0].seq, 1000);
  EXPECT_EQ(t.written[0].path, "p,f");
  EXPECT_EQ(t.written[1].seq, 1000);
  EXPECT_EQ(t.written[1].path, "f");
  runner.flush_outputs();
  EXPECT_EQ(t.output->flushes, 1);
}

TEST(PlanExecution, OutputFailureLeavesEventsUnacknowledged) {
  CountingListener listener;
  AckToken* token = AckToken::create(&listener, 1);
  TestPlan t("p_a {}", /*failing_output=*/true);
  BatchRunner runner(t.plan, t.metrics, "test");
  auto batch = make_batch(4, token);
  token->release();
  runner.process(batch);  // must not throw
  EXPECT_TRUE(listener.acked_chunks.empty());
  EXPECT_EQ(t.metrics.plugin_errors.load(), 1u);
}

TEST(PlanExecution, EmptyBatchAndEmptyPlan) {
  TestPlan t("");
  BatchRunner runner(t.plan, t.metrics, "test");
  std::vector<Event*> batch;
  runner.process(batch);
  EXPECT_TRUE(t.written.empty());
  auto three = make_batch(3);
  runner.process(three);
  EXPECT_EQ(t.written.size(), 3u);
}

// A batch goes through in chunks only when every filter and output takes them.
TEST(PlanExecution, ChunksOnlyWhenEveryPluginTakesThem) {
  EXPECT_EQ(chunk_events_for(TestPlan("p_a {} drop_odd {}", false, true).plan), kChunkEvents);
  EXPECT_EQ(chunk_events_for(TestPlan("", false, true).plan), kChunkEvents);
  EXPECT_EQ(chunk_events_for(TestPlan("p_a {} drop_odd {}").plan), 0u);       // the output wants whole batches
  EXPECT_EQ(chunk_events_for(TestPlan("p_a {} emit {}", false, true).plan), 0u);  // a filter does
  EXPECT_EQ(chunk_events_for(TestPlan("if [seq] == 1 { emit {} }", false, true).plan), 0u);  // also in a branch
}

// Chunks of one batch, one after the other, give what the whole batch gives, in order.
TEST(PlanExecution, ChunksOfABatchKeepItsOrder) {
  TestPlan whole("p_a {} drop_odd {} if [seq] > 40 { p_b {} }", false, true);
  TestPlan chunked("p_a {} drop_odd {} if [seq] > 40 { p_b {} }", false, true);
  BatchRunner whole_runner(whole.plan, whole.metrics, "whole");
  BatchRunner chunk_runner(chunked.plan, chunked.metrics, "chunked");
  auto batch = make_batch(125);
  whole_runner.process(batch);
  auto all = make_batch(125);
  for (size_t start = 0; start < all.size(); start += kChunkEvents) {
    std::vector<Event*> chunk(all.begin() + long(start), all.begin() + long(std::min(all.size(), start + kChunkEvents)));
    chunk_runner.process(chunk);
  }
  ASSERT_EQ(chunked.written.size(), 63u);  // the even seq of 0..124
  ASSERT_EQ(whole.written.size(), chunked.written.size());
  for (size_t i = 0; i < whole.written.size(); ++i) {
    EXPECT_EQ(chunked.written[i].seq, whole.written[i].seq);
    EXPECT_EQ(chunked.written[i].path, whole.written[i].path);
  }
}

}  // namespace
}  // namespace sluice
