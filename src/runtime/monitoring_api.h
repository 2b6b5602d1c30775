// The monitoring API: Logstash's node endpoints (same paths, same JSON shape) and a Prometheus
// text endpoint, served by libmicrohttpd on its own thread.
//   GET /                                 node info (id, name, host, version, status, pipeline defaults)
//   GET /_node/stats[/TYPES]              events, pipelines, process, reloads, queue (TYPES: comma list)
//   GET /_node/stats/pipelines[/ID]       per-pipeline events, plugins, queue, reloads
//   GET /_node/pipelines[/ID]             per-pipeline settings
//   GET /metrics                          Prometheus text format
// `?pretty` indents the JSON. Everything else is 404 (405 for methods other than GET/HEAD).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtime/metrics.h"
#include "runtime/plugin.h"

struct MHD_Daemon;

namespace sluice {

// One pipeline as the API sees it; the pointers stay valid while the API runs.
struct PipelineView {
  const PipelineSettings* settings = nullptr;
  const PipelineMetrics* metrics = nullptr;
  bool finished = false;
};

struct NodeInfo {
  std::string id;            // persistent uuid (path.data/uuid)
  std::string ephemeral_id;  // new each run
  std::string name;          // node.name, default the host name
  std::string host;          // host name
  std::string version;
  std::string http_address;  // "host:port" once bound
  int64_t started_at_millis = 0;
  PipelineSettings defaults;  // shown as "pipeline" in GET /
};

using PipelineViewProvider = std::function<std::vector<PipelineView>()>;

// Response bodies, separate from the server so they can be tested without sockets.
// `types` filters /_node/stats (empty = all). Returns nullopt for an unknown pipeline id.
std::string render_root(const NodeInfo& node, const std::vector<PipelineView>& pipelines);
std::string render_node_stats(const NodeInfo& node, const std::vector<PipelineView>& pipelines,
                              const std::vector<std::string>& types = {});
std::optional<std::string> render_pipeline_stats(const NodeInfo& node, const std::vector<PipelineView>& pipelines,
                                                 const std::string& only_id = "");
std::optional<std::string> render_node_pipelines(const NodeInfo& node, const std::vector<PipelineView>& pipelines,
                                                 const std::string& only_id = "");
std::string render_prometheus(const NodeInfo& node, const std::vector<PipelineView>& pipelines);
// Re-indents compact JSON (two spaces, Logstash's `?pretty` look).
std::string pretty_json(const std::string& compact);

class MonitoringApi {
 public:
  MonitoringApi(NodeInfo node, PipelineViewProvider provider);
  ~MonitoringApi();
  MonitoringApi(const MonitoringApi&) = delete;
  MonitoringApi& operator=(const MonitoringApi&) = delete;

  // Binds host on the first free port of [port_first, port_last], as Logstash does with its
  // default 9600-9700. Returns false (with *error set) when no port could be bound.
  bool start(const std::string& host, int port_first, int port_last, std::string* error = nullptr);
  void stop();
  int port() const { return port_; }
  const NodeInfo& node() const { return node_; }

  // Handles one request (used by the server thread; public for tests). Returns the status code.
  int handle(const std::string& method, const std::string& path, bool pretty, std::string& body,
             std::string& content_type) const;

 private:
  NodeInfo node_;
  PipelineViewProvider provider_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
};

}  // namespace sluice
