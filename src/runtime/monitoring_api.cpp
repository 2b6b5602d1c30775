#include "runtime/monitoring_api.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "core/json.h"
#include "runtime/logging.h"

namespace sluice {

namespace {

int64_t now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t nanos_to_millis(uint64_t nanos) { return nanos / 1000000; }

int effective_workers(const PipelineSettings& s) {
  if (s.workers > 0) return s.workers;
  unsigned cores = std::thread::hardware_concurrency();
  return cores ? static_cast<int>(cores) : 1;
}

// Compact JSON writer: tracks where commas go so callers only say what to write.
class JsonWriter {
 public:
  std::string& out() { return out_; }

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }

  void key(std::string_view name) {
    comma();
    json_append_string(out_, name);
    out_ += ':';
    after_key_ = true;
  }
  void value(std::string_view s) {
    comma();
    json_append_string(out_, s);
  }
  void value(const char* s) { value(std::string_view(s)); }
  void value(uint64_t n) { comma(); fmt::format_to(std::back_inserter(out_), "{}", n); }
  void value(int64_t n) { comma(); fmt::format_to(std::back_inserter(out_), "{}", n); }
  void value(int n) { value(static_cast<int64_t>(n)); }
  void value(double d) { comma(); fmt::format_to(std::back_inserter(out_), "{}", d); }
  void value(bool b) { comma(); out_ += b ? "true" : "false"; }
  void null() { comma(); out_ += "null"; }

  template <typename T>
  void field(std::string_view name, T v) {
    key(name);
    value(v);
  }
  void null_field(std::string_view name) {
    key(name);
    null();
  }

 private:
  void comma() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
  }
  void open(char c) {
    comma();
    out_ += c;
    first_.push_back(true);
  }
  void close(char c) {
    out_ += c;
    first_.pop_back();
  }

  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

void write_node_header(JsonWriter& w, const NodeInfo& node) {
  w.field("host", node.host);
  w.field("version", node.version);
  w.field("http_address", node.http_address);
  w.field("id", node.id);
  w.field("name", node.name);
  w.field("ephemeral_id", node.ephemeral_id);
  w.field("status", "green");
  w.field("snapshot", false);
  w.key("pipeline");
  w.begin_object();
  w.field("workers", effective_workers(node.defaults));
  w.field("batch_size", node.defaults.batch_size);
  w.field("batch_delay", node.defaults.batch_delay_ms);
  w.end_object();
}

double per_second(uint64_t count, int64_t started_at_millis) {
  int64_t elapsed = now_millis() - started_at_millis;
  if (started_at_millis <= 0 || elapsed <= 0) return 0;
  return static_cast<double>(count) * 1000.0 / static_cast<double>(elapsed);
}

void write_flow_metric(JsonWriter& w, std::string_view name, double lifetime) {
  w.key(name);
  w.begin_object();
  // Logstash reports a recent-window rate as "current"; sluice keeps no windows, so both are lifetime.
  w.field("current", lifetime);
  w.field("lifetime", lifetime);
  w.end_object();
}

void write_plugin_counters(JsonWriter& w, const PluginMetrics& p) {
  for (const auto& [name, value] : p.counters()) w.field(name, value);
}

void write_plugin(JsonWriter& w, const PluginMetrics& p) {
  w.begin_object();
  w.field("id", p.id);
  w.field("name", p.name);
  w.key("events");
  w.begin_object();
  uint64_t in = p.events_in.load(std::memory_order_relaxed);
  uint64_t out = p.events_out.load(std::memory_order_relaxed);
  uint64_t millis = nanos_to_millis(p.duration_nanos.load(std::memory_order_relaxed));
  if (p.kind == "input") {
    w.field("out", out);
    w.field("queue_push_duration_in_millis", millis);
  } else {
    w.field("in", in);
    w.field("out", out);
    w.field("duration_in_millis", millis);
  }
  w.end_object();
  uint64_t failures = p.failures.load(std::memory_order_relaxed);
  if (failures > 0) w.field("failures", failures);
  write_plugin_counters(w, p);
  w.end_object();
}

void write_pipeline_stats(JsonWriter& w, const PipelineView& view) {
  const PipelineMetrics& m = *view.metrics;
  uint64_t in = m.events_in.load(std::memory_order_relaxed);
  uint64_t filtered = m.events_filtered.load(std::memory_order_relaxed);
  uint64_t out = m.events_out.load(std::memory_order_relaxed);
  w.begin_object();
  w.key("events");
  w.begin_object();
  w.field("in", in);
  w.field("filtered", filtered);
  w.field("out", out);
  w.field("duration_in_millis", nanos_to_millis(m.duration_nanos.load(std::memory_order_relaxed)));
  w.field("queue_push_duration_in_millis", nanos_to_millis(m.queue_push_duration_nanos.load(std::memory_order_relaxed)));
  w.end_object();

  w.key("flow");
  w.begin_object();
  write_flow_metric(w, "input_throughput", per_second(in, m.started_at_millis));
  write_flow_metric(w, "filter_throughput", per_second(filtered, m.started_at_millis));
  write_flow_metric(w, "output_throughput", per_second(out, m.started_at_millis));
  w.end_object();

  w.key("plugins");
  w.begin_object();
  for (const char* kind : {"input", "codec", "filter", "output"}) {
    w.key(std::string(kind) + "s");
    w.begin_array();
    for (const auto& p : m.plugins)
      if (p && p->kind == kind) write_plugin(w, *p);
    w.end_array();
  }
  w.end_object();

  w.key("reloads");
  w.begin_object();
  w.null_field("last_error");
  w.field("successes", m.reloads_successes.load(std::memory_order_relaxed));
  w.null_field("last_success_timestamp");
  w.null_field("last_failure_timestamp");
  w.field("failures", m.reloads_failures.load(std::memory_order_relaxed));
  w.end_object();

  w.key("queue");
  w.begin_object();
  w.field("type", "memory");
  int64_t queued = m.queue_events.load(std::memory_order_relaxed);
  int64_t queued_bytes = m.queue_bytes.load(std::memory_order_relaxed);
  w.field("events_count", static_cast<uint64_t>(queued < 0 ? 0 : queued));
  w.field("queue_size_in_bytes", static_cast<uint64_t>(queued_bytes < 0 ? 0 : queued_bytes));
  w.field("max_queue_size_in_bytes", m.queue_max_bytes);
  w.field("max_queue_events", m.queue_max_events);
  w.end_object();

  // As Logstash: present when the pipeline's dead letter queue is enabled.
  const DeadLetterQueueMetrics& dlq = m.dead_letter_queue;
  if (dlq.enabled) {
    w.key("dead_letter_queue");
    w.begin_object();
    w.field("queue_size_in_bytes", dlq.queue_size_bytes.load(std::memory_order_relaxed));
    w.field("max_queue_size_in_bytes", dlq.max_bytes);
    w.field("storage_policy", dlq.storage_policy);
    w.field("dropped_events", dlq.dropped_events.load(std::memory_order_relaxed));
    w.field("expired_events", dlq.expired_events.load(std::memory_order_relaxed));
    w.field("events_written", dlq.events_written.load(std::memory_order_relaxed));
    std::string last_error = dlq.last_error();
    w.field("last_error", last_error.empty() ? std::string("no errors") : last_error);
    w.end_object();
  }

  w.field("status", view.finished ? "finished" : "running");
  w.end_object();
}

const PipelineView* find_pipeline(const std::vector<PipelineView>& pipelines, const std::string& id) {
  for (const auto& p : pipelines)
    if (p.settings && p.settings->id == id) return &p;
  return nullptr;
}

struct ProcessStats {
  uint64_t open_fds = 0, max_fds = 0, virtual_bytes = 0, resident_bytes = 0, cpu_millis = 0;
  double load[3] = {0, 0, 0};
};

ProcessStats read_process_stats() {
  ProcessStats s;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (dirent* entry = readdir(dir))
      if (entry->d_name[0] != '.') ++s.open_fds;
    closedir(dir);
    if (s.open_fds > 0) --s.open_fds;  // the directory stream itself
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = limit.rlim_cur;
  std::ifstream statm("/proc/self/statm");
  uint64_t pages_virtual = 0, pages_resident = 0;
  if (statm >> pages_virtual >> pages_resident) {
    uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    s.virtual_bytes = pages_virtual * page;
    s.resident_bytes = pages_resident * page;
  }
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    s.cpu_millis = static_cast<uint64_t>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000 +
                   static_cast<uint64_t>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000;
  }
  getloadavg(s.load, 3);
  return s;
}

bool wants(const std::vector<std::string>& types, std::string_view type) {
  if (types.empty()) return true;
  for (const auto& t : types)
    if (t == type) return true;
  return false;
}

// Prometheus label values escape backslash, quote and newline.
std::string label_value(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

class PromWriter {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  template <typename T>
  void sample(std::string_view name, std::string_view labels, T value) {
    fmt::format_to(std::back_inserter(out_), "{}{{{}}} {}\n", name, labels, value);
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

}  // namespace

std::string render_root(const NodeInfo& node, const std::vector<PipelineView>& pipelines) {
  JsonWriter w;
  w.begin_object();
  write_node_header(w, node);
  w.field("build_snapshot", false);
  w.key("pipelines");
  w.begin_object();
  w.field("count", static_cast<uint64_t>(pipelines.size()));
  w.key("ids");
  w.begin_array();
  for (const auto& p : pipelines) w.value(p.settings->id);
  w.end_array();
  w.end_object();
  w.end_object();
  return std::move(w.out());
}

std::string render_node_stats(const NodeInfo& node, const std::vector<PipelineView>& pipelines,
                              const std::vector<std::string>& types) {
  JsonWriter w;
  w.begin_object();
  write_node_header(w, node);
  if (wants(types, "events")) {
    uint64_t in = 0, filtered = 0, out = 0, duration = 0, push = 0;
    for (const auto& p : pipelines) {
      in += p.metrics->events_in.load(std::memory_order_relaxed);
      filtered += p.metrics->events_filtered.load(std::memory_order_relaxed);
      out += p.metrics->events_out.load(std::memory_order_relaxed);
      duration += p.metrics->duration_nanos.load(std::memory_order_relaxed);
      push += p.metrics->queue_push_duration_nanos.load(std::memory_order_relaxed);
    }
    w.key("events");
    w.begin_object();
    w.field("in", in);
    w.field("filtered", filtered);
    w.field("out", out);
    w.field("duration_in_millis", nanos_to_millis(duration));
    w.field("queue_push_duration_in_millis", nanos_to_millis(push));
    w.end_object();
  }
  if (wants(types, "pipelines")) {
    w.key("pipelines");
    w.begin_object();
    for (const auto& p : pipelines) {
      w.key(p.settings->id);
      write_pipeline_stats(w, p);
    }
    w.end_object();
  }
  if (wants(types, "process")) {
    ProcessStats s = read_process_stats();
    w.key("process");
    w.begin_object();
    w.field("open_file_descriptors", s.open_fds);
    w.field("max_file_descriptors", s.max_fds);
    w.key("mem");
    w.begin_object();
    w.field("total_virtual_in_bytes", s.virtual_bytes);
    w.field("resident_in_bytes", s.resident_bytes);
    w.end_object();
    w.key("cpu");
    w.begin_object();
    w.field("total_in_millis", s.cpu_millis);
    w.key("load_average");
    w.begin_object();
    w.field("1m", s.load[0]);
    w.field("5m", s.load[1]);
    w.field("15m", s.load[2]);
    w.end_object();
    w.end_object();
    w.field("uptime_in_millis", node.started_at_millis > 0 ? now_millis() - node.started_at_millis : 0);
    w.end_object();
  }
  if (wants(types, "reloads")) {
    uint64_t successes = 0, failures = 0;
    for (const auto& p : pipelines) {
      successes += p.metrics->reloads_successes.load(std::memory_order_relaxed);
      failures += p.metrics->reloads_failures.load(std::memory_order_relaxed);
    }
    w.key("reloads");
    w.begin_object();
    w.field("successes", successes);
    w.field("failures", failures);
    w.end_object();
  }
  if (wants(types, "queue")) {
    int64_t queued = 0;
    for (const auto& p : pipelines) queued += p.metrics->queue_events.load(std::memory_order_relaxed);
    w.key("queue");
    w.begin_object();
    w.field("events_count", static_cast<uint64_t>(queued < 0 ? 0 : queued));
    w.end_object();
  }
  w.end_object();
  return std::move(w.out());
}

std::optional<std::string> render_pipeline_stats(const NodeInfo& node, const std::vector<PipelineView>& pipelines,
                                                 const std::string& only_id) {
  if (!only_id.empty() && !find_pipeline(pipelines, only_id)) return std::nullopt;
  JsonWriter w;
  w.begin_object();
  write_node_header(w, node);
  w.key("pipelines");
  w.begin_object();
  for (const auto& p : pipelines) {
    if (!only_id.empty() && p.settings->id != only_id) continue;
    w.key(p.settings->id);
    write_pipeline_stats(w, p);
  }
  w.end_object();
  w.end_object();
  return std::move(w.out());
}

std::optional<std::string> render_node_pipelines(const NodeInfo& node, const std::vector<PipelineView>& pipelines,
                                                 const std::string& only_id) {
  if (!only_id.empty() && !find_pipeline(pipelines, only_id)) return std::nullopt;
  JsonWriter w;
  w.begin_object();
  write_node_header(w, node);
  w.key("pipelines");
  w.begin_object();
  for (const auto& p : pipelines) {
    if (!only_id.empty() && p.settings->id != only_id) continue;
    const PipelineSettings& s = *p.settings;
    w.key(s.id);
    w.begin_object();
    w.field("workers", effective_workers(s));
    w.field("batch_size", s.batch_size);
    w.field("batch_delay", s.batch_delay_ms);
    w.field("ordered", s.ordered);
    w.field("ecs_compatibility", s.ecs_compatibility);
    w.field("config_reload_automatic", false);
    w.field("dead_letter_queue_enabled", s.dead_letter_queue.enabled);
    w.end_object();
  }
  w.end_object();
  w.end_object();
  return std::move(w.out());
}

std::string render_prometheus(const NodeInfo& node, const std::vector<PipelineView>& pipelines) {
  PromWriter w;
  w.family("sluice_info", "gauge", "Version and identity of this sluice process.");
  w.sample("sluice_info",
           fmt::format("version=\"{}\",id=\"{}\",name=\"{}\"", label_value(node.version), label_value(node.id),
                       label_value(node.name)),
           1);
  w.family("sluice_uptime_seconds", "gauge", "Seconds since the process started.");
  w.out() += fmt::format("sluice_uptime_seconds {}\n",
                         node.started_at_millis > 0 ? (now_millis() - node.started_at_millis) / 1000.0 : 0.0);

  struct PipelineCounter {
    const char* name;
    const char* type;
    const char* help;
    std::function<double(const PipelineView&)> get;
  };
  auto load = [](const auto& atomic) { return static_cast<double>(atomic.load(std::memory_order_relaxed)); };
  const std::vector<PipelineCounter> pipeline_counters = {
      {"sluice_pipeline_events_in_total", "counter", "Events pushed into the pipeline queue by its inputs.",
       [&](const PipelineView& p) { return load(p.metrics->events_in); }},
      {"sluice_pipeline_events_filtered_total", "counter", "Events that left the filters.",
       [&](const PipelineView& p) { return load(p.metrics->events_filtered); }},
      {"sluice_pipeline_events_out_total", "counter", "Events taken by the outputs.",
       [&](const PipelineView& p) { return load(p.metrics->events_out); }},
      {"sluice_pipeline_duration_seconds_total", "counter", "Worker time spent on batches.",
       [&](const PipelineView& p) { return load(p.metrics->duration_nanos) / 1e9; }},
      {"sluice_pipeline_queue_push_duration_seconds_total", "counter", "Time inputs waited on a full queue.",
       [&](const PipelineView& p) { return load(p.metrics->queue_push_duration_nanos) / 1e9; }},
      {"sluice_pipeline_queue_events", "gauge", "Events currently in the pipeline queue.",
       [&](const PipelineView& p) { return load(p.metrics->queue_events); }},
      {"sluice_pipeline_queue_bytes", "gauge", "Bytes currently in the pipeline queue.",
       [&](const PipelineView& p) { return load(p.metrics->queue_bytes); }},
      {"sluice_pipeline_queue_max_events", "gauge", "Bound of the pipeline queue in events.",
       [](const PipelineView& p) { return static_cast<double>(p.metrics->queue_max_events); }},
      {"sluice_pipeline_queue_max_bytes", "gauge", "Bound of the pipeline queue in bytes.",
       [](const PipelineView& p) { return static_cast<double>(p.metrics->queue_max_bytes); }},
      {"sluice_pipeline_workers", "gauge", "Worker threads of the pipeline.",
       [](const PipelineView& p) { return static_cast<double>(effective_workers(*p.settings)); }},
      {"sluice_pipeline_running", "gauge", "1 while the pipeline runs, 0 once it has finished.",
       [](const PipelineView& p) { return p.finished ? 0.0 : 1.0; }},
  };
  for (const auto& c : pipeline_counters) {
    w.family(c.name, c.type, c.help);
    for (const auto& p : pipelines)
      w.sample(c.name, fmt::format("pipeline=\"{}\"", label_value(p.settings->id)), c.get(p));
  }

  struct PluginCounter {
    const char* name;
    const char* help;
    std::function<double(const PluginMetrics&)> get;
  };
  const std::vector<PluginCounter> plugin_counters = {
      {"sluice_plugin_events_in_total", "Events that entered the plugin.",
       [&](const PluginMetrics& m) { return load(m.events_in); }},
      {"sluice_plugin_events_out_total", "Events that left the plugin.",
       [&](const PluginMetrics& m) { return load(m.events_out); }},
      {"sluice_plugin_duration_seconds_total", "Time spent inside the plugin.",
       [&](const PluginMetrics& m) { return load(m.duration_nanos) / 1e9; }},
      {"sluice_plugin_failures_total", "Failures of the plugin (failure tags added, write errors).",
       [&](const PluginMetrics& m) { return load(m.failures); }},
  };
  auto plugin_labels = [](const PipelineView& p, const PluginMetrics& m) {
    return fmt::format("pipeline=\"{}\",kind=\"{}\",plugin=\"{}\",id=\"{}\"", label_value(p.settings->id),
                       label_value(m.kind), label_value(m.name), label_value(m.id));
  };
  for (const auto& c : plugin_counters) {
    w.family(c.name, "counter", c.help);
    for (const auto& p : pipelines)
      for (const auto& m : p.metrics->plugins)
        if (m) w.sample(c.name, plugin_labels(p, *m), c.get(*m));
  }
  w.family("sluice_plugin_metric", "untyped", "Plugin-specific counters and gauges, named by the `metric` label.");
  for (const auto& p : pipelines)
    for (const auto& m : p.metrics->plugins) {
      if (!m) continue;
      for (const auto& [name, value] : m->counters())
        w.sample("sluice_plugin_metric", plugin_labels(p, *m) + fmt::format(",metric=\"{}\"", label_value(name)),
                 value);
    }
  return std::move(w.out());
}

std::string pretty_json(const std::string& compact) {
  std::string out;
  out.reserve(compact.size() * 2);
  int depth = 0;
  bool in_string = false;
  auto newline = [&] {
    out += '\n';
    out.append(static_cast<size_t>(depth) * 2, ' ');
  };
  for (size_t i = 0; i < compact.size(); ++i) {
    char c = compact[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < compact.size()) out += compact[++i];
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; out += c; break;
      case '{':
      case '[':
        out += c;
        if (i + 1 < compact.size() && (compact[i + 1] == '}' || compact[i + 1] == ']')) {
          out += compact[++i];  // keep empty containers on one line
          break;
        }
        ++depth;
        newline();
        break;
      case '}':
      case ']': --depth; newline(); out += c; break;
      case ',': out += c; newline(); break;
      case ':': out += " : "; break;
      default: out += c;
    }
  }
  out += '\n';
  return out;
}

MonitoringApi::MonitoringApi(NodeInfo node, PipelineViewProvider provider)
    : node_(std::move(node)), provider_(std::move(provider)) {}

MonitoringApi::~MonitoringApi() { stop(); }

namespace {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) parts.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string not_found_body(const std::string& path) {
  JsonWriter w;
  w.begin_object();
  w.field("path", path);
  w.field("status", 404);
  w.key("error");
  w.begin_object();
  w.field("message", "Not Found");
  w.end_object();
  w.end_object();
  return std::move(w.out());
}

MHD_Result collect_pretty(void* cls, MHD_ValueKind, const char* key, const char* value) {
  if (key && std::strcmp(key, "pretty") == 0) *static_cast<bool*>(cls) = !value || std::strcmp(value, "false") != 0;
  return MHD_YES;
}

MHD_Result answer(void* cls, MHD_Connection* connection, const char* url, const char* method, const char*,
                  const char*, size_t* upload_data_size, void** request_state) {
  // First call per request: remember we have seen it; reply on the next (bodies are ignored).
  static int seen_marker;
  if (*request_state == nullptr) {
    *request_state = &seen_marker;
    return MHD_YES;
  }
  *upload_data_size = 0;
  const auto* api = static_cast<const MonitoringApi*>(cls);
  bool pretty = false;
  MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, collect_pretty, &pretty);
  std::string body, content_type;
  int status = 500;
  try {
    status = api->handle(method, url ? url : "/", pretty, body, content_type);
  } catch (const std::exception& e) {
    body = "{\"status\":500}";
    content_type = "application/json";
    logging::get("sluice.api")->error("request {} failed: {}", url ? url : "/", e.what());
  }
  MHD_Response* response = MHD_create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
  if (!response) return MHD_NO;
  MHD_add_response_header(response, "Content-Type", content_type.c_str());
  MHD_Result result = MHD_queue_response(connection, static_cast<unsigned>(status), response);
  MHD_destroy_response(response);
  return result;
}

// Resolves host (a name or address) to a socket address with the given port.
bool resolve(const std::string& host, int port, sockaddr_storage& addr, socklen_t& len, bool& ipv6,
             std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &result);
  if (rc != 0 || !result) {
    error = "cannot resolve api.http.host `" + host + "`: " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&addr, result->ai_addr, result->ai_addrlen);
  len = result->ai_addrlen;
  ipv6 = result->ai_family == AF_INET6;
  freeaddrinfo(result);
  return true;
}

}  // namespace

int MonitoringApi::handle(const std::string& method, const std::string& path, bool pretty, std::string& body,
                          std::string& content_type) const {
  content_type = "application/json";
  if (method != "GET" && method != "HEAD") {
    body = "{\"status\":405,\"error\":{\"message\":\"Method Not Allowed\"}}";
    return 405;
  }
  std::vector<PipelineView> pipelines = provider_ ? provider_() : std::vector<PipelineView>{};
  std::vector<std::string> parts = split(path, '/');
  std::optional<std::string> result;
  if (parts.empty()) {
    result = render_root(node_, pipelines);
  } else if (parts.size() == 1 && parts[0] == "metrics") {
    content_type = "text/plain; version=0.0.4; charset=utf-8";
    body = render_prometheus(node_, pipelines);
    return 200;
  } else if (parts[0] == "_node" && parts.size() >= 2 && parts[1] == "stats") {
    if (parts.size() == 2) {
      result = render_node_stats(node_, pipelines);
    } else if (parts[2] == "pipelines" && parts.size() <= 4) {
      result = render_pipeline_stats(node_, pipelines, parts.size() == 4 ? parts[3] : "");
    } else if (parts.size() == 3) {
      result = render_node_stats(node_, pipelines, split(parts[2], ','));
    }
  } else if (parts[0] == "_node" && parts.size() >= 2 && parts.size() <= 3 && parts[1] == "pipelines") {
    result = render_node_pipelines(node_, pipelines, parts.size() == 3 ? parts[2] : "");
  } else if (parts[0] == "_node" && parts.size() == 1) {
    result = render_node_pipelines(node_, pipelines);
  }
  if (!result) {
    body = not_found_body(path);
    if (pretty) body = pretty_json(body);
    return 404;
  }
  body = pretty ? pretty_json(*result) : std::move(*result);
  return 200;
}

bool MonitoringApi::start(const std::string& host, int port_first, int port_last, std::string* error) {
  stop();
  std::string why = "no port in range";
  for (int port = port_first; port <= port_last; ++port) {
    sockaddr_storage addr{};
    socklen_t len = 0;
    bool ipv6 = false;
    if (!resolve(host, port, addr, len, ipv6, why)) break;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | (ipv6 ? MHD_USE_IPv6 : 0);
    // Set before the server thread exists: handlers read it without a lock.
    node_.http_address = (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
    daemon_ = MHD_start_daemon(flags, static_cast<uint16_t>(port), nullptr, nullptr, &answer, this,
                               MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&addr),
                               MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_LIMIT, 64u,
                               MHD_OPTION_END);
    if (daemon_) {
      port_ = port;
      return true;
    }
    why = "port " + std::to_string(port) + " is in use or cannot be bound";
  }
  if (error) {
    *error = port_first == port_last ? why
                                     : fmt::format("no free port for the monitoring API on {} in {}-{} ({})", host,
                                                   port_first, port_last, why);
  }
  return false;
}

void MonitoringApi::stop() {
  if (daemon_) {
    MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
  }
}

}  // namespace sluice
