#include "support/npm_clients.h"

#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include "test_support.h"

namespace sluice::test {

namespace {

std::string build_dir() { return std::filesystem::path(SLUICE_BINARY).parent_path().string(); }

bool has_client(const std::string& prefix) {
  return std::filesystem::exists(prefix + "/node_modules/lumberjack-client/index.js");
}

}  // namespace

std::string lumberjack_client_modules() {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  for (const std::string& prefix : {std::string(SLUICE_SOURCE_DIR) + "/build/npm", build_dir() + "/npm"})
    if (has_client(prefix)) return prefix + "/node_modules";
  std::string prefix = build_dir() + "/npm";
  std::filesystem::create_directories(prefix);
  auto r = run_command({"npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", prefix, "lumberjack-client"},
                       "", std::chrono::seconds(180));
  if (r.exit_code != 0 || !has_client(prefix)) return "";
  return prefix + "/node_modules";
}

std::vector<std::string> lumberjack_node_command(const std::string& script_path, int port, int count, int window,
                                                 const std::string& prefix, const std::string& tls_ca,
                                                 const std::string& cert, const std::string& key) {
  std::string modules = lumberjack_client_modules();
  // lumberjack-client sends what was logged before the connection was up as one window, and
  // one window per log() call after: the first `window` events go early, the rest one by one.
  std::string script = fmt::format(R"JS(
const fs = require('fs');
const LumberjackClient = require('{modules}/lumberjack-client');
const tls = {tls};
const config = {{ host: '127.0.0.1', port: {port} }};
if (tls) {{
  config.ca = [fs.readFileSync('{ca}')];
  config.servername = 'localhost';
  if ('{cert}') {{ config.cert = fs.readFileSync('{cert}'); config.key = fs.readFileSync('{key}'); }}
}}
const client = new LumberjackClient(config, tls);
function event(i) {{
  return {{ '@timestamp': new Date().toISOString(), '@metadata': {{ beat: 'testbeat', type: '_doc', version: '8.11.0' }},
           message: '{prefix}' + i, id: i, host: {{ name: 'node-client' }}, agent: {{ type: 'testbeat' }} }};
}}
const early = Math.min({window}, {count});
for (let i = 0; i < early; ++i) client.log(event(i));
let sent = early;
function rest() {{
  if (!client.connected) {{ setTimeout(rest, 10); return; }}
  while (sent < {count}) client.log(event(sent++));
}}
setTimeout(rest, 10);
setInterval(() => {{}}, 1000);
)JS",
                                   fmt::arg("modules", modules), fmt::arg("tls", tls_ca.empty() ? "false" : "true"),
                                   fmt::arg("port", port), fmt::arg("ca", tls_ca), fmt::arg("cert", cert),
                                   fmt::arg("key", key), fmt::arg("prefix", prefix), fmt::arg("count", count),
                                   fmt::arg("window", window));
  write_file(script_path, script);
  return {"node", script_path};
}

}  // namespace sluice::test
