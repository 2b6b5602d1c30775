// Independent clients from npm for the network input tests (node 20 is on the machine; CI
// installs the packages with `scripts/deps.sh test`, else the first test installs them).
#pragma once

#include <string>
#include <vector>

namespace sluice::test {

// The node_modules folder that holds `lumberjack-client`: <repo>/build/npm (scripts/deps.sh) or
// <build dir>/npm, installed there with npm on first use. "" when npm fails (the test then fails).
std::string lumberjack_client_modules();

// Writes a node script that sends `count` events through lumberjack-client to 127.0.0.1:port
// (TLS when tls_ca is set, with a client certificate when cert/key are set) in windows of
// `window` events, each event {"@metadata": {"beat": "testbeat", ...}, "message": "<prefix><i>",
// "id": <i>, "host": {"name": "node-client"}}, then stays connected until killed.
// Returns the argv to run it (node with NODE_PATH pointing at the modules).
std::vector<std::string> lumberjack_node_command(const std::string& script_path, int port, int count, int window,
                                                 const std::string& prefix, const std::string& tls_ca = "",
                                                 const std::string& cert = "", const std::string& key = "");

}  // namespace sluice::test
