#!/usr/bin/env bash
# Runs the example pipelines (examples/settings/pipelines.yml) with the already built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf build/example-out build/example-data
mkdir -p build/example-out build/example-data
export SLUICE_HOME="$PWD" SLUICE_OUT="$PWD/build/example-out" SLUICE_LOGS="${SLUICE_LOGS:-$PWD/examples/security/logs}"
build/sluice --path.settings examples/settings --path.data build/example-data --api.enabled false "$@"
# A short summary: events per pipeline, how many carry a failure tag, where the output went.
echo "example: events per pipeline (output in build/example-out/):" >&2
python3 - build/example-out/*.jsonl >&2 <<'PY'
import json, sys
for path in sys.argv[1:]:
    total = failed = 0
    for line in open(path, encoding="utf-8", errors="replace"):
        total += 1
        tags = json.loads(line).get("tags", [])
        failed += any(t.startswith("_") and ("failure" in t or "unknown" in t) for t in tags)
    name = path.rsplit("/", 1)[-1].removesuffix(".jsonl")
    print(f"  {name:<10} {total:6d} events, {failed:4d} with a failure tag  {path}")
PY
