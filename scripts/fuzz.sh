#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into build-fuzz/ and runs each for N seconds (default 60).
# FUZZ_SEED (default 1) fixes libFuzzer's seed so a short CI run is repeatable; FUZZ_SEED=0 = random,
# for the longer exploratory runs (e.g. `FUZZ_SEED=0 scripts/fuzz.sh 600`).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
seed="${FUZZ_SEED:-1}"
ls tests/fuzz/*_fuzz.cpp >/dev/null 2>&1 || { echo "fuzz: no targets"; exit 0; }
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSLUICE_TESTS=OFF -DSLUICE_BENCH=OFF -DSLUICE_FUZZ=ON \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address" >/dev/null
cmake --build build-fuzz -j "$(nproc)"
for src in tests/fuzz/*_fuzz.cpp; do
  name=$(basename "$src" .cpp)
  corpus="build-fuzz/corpus/$name"; mkdir -p "$corpus"
  seeds="tests/fuzz/seeds/$name"; [ -d "$seeds" ] || seeds=""
  echo "fuzz: $name for ${secs}s" >&2
  build-fuzz/"$name" -max_total_time="$secs" -seed="$seed" -rss_limit_mb=2048 -print_final_stats=0 "$corpus" $seeds 2>&1 | tail -n 3
done
