#!/usr/bin/env bash
# Installs everything the tests need, builds sluice and its tests, runs them all through ctest,
# then a short run of each fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
scripts/build.sh -DSLUICE_TESTS=ON
(cd build && ctest --output-on-failure -j 2 --timeout 600)
scripts/fuzz.sh 20
