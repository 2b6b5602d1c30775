#!/usr/bin/env bash
# The main job: installs, builds, then runs the example pipelines over the bundled sample
# logs and writes JSON lines to build/example-out/. No servers needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh -DSLUICE_TESTS=OFF -DSLUICE_BENCH=OFF
exec scripts/example.sh
