#!/usr/bin/env bash
# One command for the benchmarks: builds sluice (if needed) and the naive baselines from ../shared/bench,
# generates the 1M-line data set once, then measures sluice beside the baselines in the same run and prints
# CPU-seconds, events/s, peak RSS and the ratios. Usage: bench/run.sh [--lines N] [--only NAME]
set -euo pipefail
cd "$(dirname "$0")/.."
# The regex baseline links RE2 and Hyperscan too (it can compare engines).
dpkg-query -W -f='${Status}' libre2-dev 2>/dev/null | grep -q "install ok installed" || apt-get install -y -qq libre2-dev >/dev/null
[ -n "${SLUICE_BIN:-}" ] || [ -x build/sluice ] || scripts/build.sh
exec python3 bench/measure.py "$@"
