#!/usr/bin/env bash
# Runs the example pipelines (examples/settings/pipelines.yml) with the already built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf build/example-out build/example-data
mkdir -p build/example-out build/example-data
export SLUICE_HOME="$PWD" SLUICE_OUT="$PWD/build/example-out"
build/sluice --path.settings examples/settings --path.data build/example-data --api.enabled false "$@"
echo "example: output in build/example-out/:" >&2
wc -l build/example-out/*.jsonl >&2
