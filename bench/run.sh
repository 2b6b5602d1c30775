#!/usr/bin/env bash
# One command for the benchmarks: builds sluice (if needed) and the naive baselines from ../shared/bench,
# generates the 1M-line data set once, then measures sluice beside the baselines in the same run and prints
# CPU-seconds, events/s, peak RSS and the ratios. Usage: bench/run.sh [--lines N] [--only NAME]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SLUICE_BIN:-}" ] || [ -x build/sluice ] || scripts/build.sh
exec python3 bench/measure.py "$@"
