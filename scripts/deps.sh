#!/usr/bin/env bash
# Installs the Debian 12 packages sluice needs. `deps.sh` = build and run; `deps.sh test` adds
# what the test suite starts (servers, clang for the fuzzers, npm clients).
set -euo pipefail
BUILD_PKGS=(build-essential cmake ninja-build ccache pkg-config
  libpcre2-dev libhyperscan-dev libsimdjson-dev libyaml-cpp-dev libfmt-dev libspdlog-dev libcli11-dev
  libcctz-dev libmaxminddb-dev libnats-dev libhiredis-dev libzstd-dev zlib1g-dev libcurl4-openssl-dev
  libssl-dev libmicrohttpd-dev libgnutls28-dev libpq-dev python3 time
  libc-ares-dev uap-core)
TEST_PKGS=(libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  nats-server redis-server curl util-linux bsdutils openssl procps
  postgresql-15 memcached libmaxmind-db-writer-perl rsyslog nodejs
  swift swift-proxy swift-object swift-container swift-account python3-swift
  dnsmasq-base)
pkgs=("${BUILD_PKGS[@]}")
if [ "${1:-}" = test ]; then pkgs+=("${TEST_PKGS[@]}"); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# nodejs (nodesource build) ships npm itself; Debian's nodejs does not.
if [ "${1:-}" = test ] && ! command -v npm >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
# beats input tests: an independent Lumberjack client (npm), installed once into build/npm.
if [ "${1:-}" = test ]; then
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [ ! -d "$repo/build/npm/node_modules/lumberjack-client" ]; then
    mkdir -p "$repo/build/npm"
    npm install --silent --no-audit --no-fund --prefix "$repo/build/npm" lumberjack-client >/dev/null
  fi
fi
