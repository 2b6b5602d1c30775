#!/usr/bin/env bash
# The security example with its whole enrichment stage (README tour, step 8). Starts a throwaway
# PostgreSQL 15 (the asset inventory) and redis-server (the threat-intel set) on 127.0.0.1 and free
# ports, loads examples/security/enrich/ into them, builds the demo GeoIP2 City database, runs the
# example pipelines with examples/enrich/pipelines.yml over the sample logs (SLUICE_LOGS to change
# them), prints a summary and stops the servers. Output: build/example-enrich/out/*.jsonl.
# Installs the packages it needs (as root, Debian 12) and builds build/sluice when it is missing;
# SLUICE_BIN runs another binary. Extra arguments go to sluice.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
enrich="$repo/examples/security/enrich"
sluice_bin="${SLUICE_BIN:-build/sluice}"
work="${SLUICE_ENRICH_WORK:-$repo/build/example-enrich}"
pg_bin=/usr/lib/postgresql/15/bin

# The servers and the .mmdb writer (scripts/deps.sh installs them too, for the tests).
missing=()
for p in postgresql-15 redis-server libmaxmind-db-writer-perl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "example-enrich: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "example-enrich: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -x "$sluice_bin" ]; then
  scripts/deps.sh
  scripts/build.sh -DSLUICE_TESTS=OFF -DSLUICE_BENCH=OFF
fi

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
random_secret() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

rm -rf "$work"
mkdir -p "$work/out" "$work/data"
servers="$(mktemp -d -t sluice-enrich.XXXXXX)"
chmod 755 "$servers"
redis_pid=""
pg_started=""

# initdb refuses root: as root the server runs as the postgres user.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
  [ -n "$pg_started" ] && as_postgres "$pg_bin/pg_ctl" -D "$servers/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  rm -rf "$servers"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# This run's passwords: random, handed to sluice in the environment, never printed.
SLUICE_ASSETS_PASSWORD="$(random_secret)"
SLUICE_REDIS_PASSWORD="$(random_secret)"
export SLUICE_ASSETS_PASSWORD SLUICE_REDIS_PASSWORD

# PostgreSQL: a database `assets` with the inventory, read by the login `sluice_reader`.
pg_port="$(free_port)"
mkdir "$servers/pg"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$servers/pg"
random_secret >"$servers/pg/superuser-password"   # TCP logins need one; nobody uses it
[ "$(id -u)" = 0 ] && chown postgres:postgres "$servers/pg/superuser-password"
as_postgres "$pg_bin/initdb" -D "$servers/pg/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
  --pwfile="$servers/pg/superuser-password" --no-sync -E UTF8 --locale=C.UTF-8 >"$servers/initdb.log" 2>&1 ||
  { cat "$servers/initdb.log" >&2; exit 1; }
as_postgres "$pg_bin/pg_ctl" -D "$servers/pg/data" -l "$servers/pg/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $servers/pg -c fsync=off" start >/dev/null ||
  { cat "$servers/pg/server.log" >&2; exit 1; }
pg_started=1
psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -h "$servers/pg" -p "$pg_port" -U postgres "$@"; }
# The password goes in on stdin, not on a command line other users could see.
psql_admin -d postgres >/dev/null <<SQL
CREATE DATABASE assets;
CREATE ROLE sluice_reader LOGIN PASSWORD '$SLUICE_ASSETS_PASSWORD';
SQL
psql_admin -d assets >/dev/null <"$enrich/assets.sql"
psql_admin -d assets -c "GRANT SELECT ON asset_ranges TO sluice_reader" >/dev/null

# Redis: the set `threat-intel:ip`. The password sits in a private config file, not on the command line.
redis_port="$(free_port)"
mkdir "$servers/redis"
(umask 077 && cat >"$servers/redis/redis.conf" <<CONF
bind 127.0.0.1
port $redis_port
save ""
appendonly no
dir $servers/redis
requirepass $SLUICE_REDIS_PASSWORD
CONF
)
redis-server "$servers/redis/redis.conf" >"$servers/redis/redis.log" 2>&1 &
redis_pid=$!
redis() { REDISCLI_AUTH="$SLUICE_REDIS_PASSWORD" redis-cli --no-auth-warning -h 127.0.0.1 -p "$redis_port" "$@"; }
for _ in $(seq 100); do
  [ "$(redis ping 2>/dev/null)" = PONG ] && break
  kill -0 "$redis_pid" 2>/dev/null || { cat "$servers/redis/redis.log" >&2; exit 1; }
  sleep 0.1
done
mapfile -t indicators < <(grep -Ev '^[[:space:]]*(#|$)' "$enrich/threat-intel.txt")
redis sadd threat-intel:ip "${indicators[@]}" >/dev/null

# GeoIP: the demo City database from a small CSV file.
perl "$enrich/build-geoip-db.pl" "$enrich/geoip-demo.csv" "$work/demo-city.mmdb" 2>/dev/null

echo "example-enrich: PostgreSQL on 127.0.0.1:$pg_port, redis-server on 127.0.0.1:$redis_port" >&2
SLUICE_HOME="$repo" SLUICE_OUT="$work/out" SLUICE_LOGS="${SLUICE_LOGS:-$repo/examples/security/logs}" \
  SLUICE_ASSETS_DB="jdbc:postgresql://127.0.0.1:$pg_port/assets" SLUICE_ASSETS_USER=sluice_reader \
  SLUICE_REDIS_HOST=127.0.0.1 SLUICE_REDIS_PORT="$redis_port" SLUICE_GEOIP_DB="$work/demo-city.mmdb" \
  "$sluice_bin" --path.settings examples/enrich --path.data "$work/data" --api.enabled false "$@"

# The summary: per output file, how many events got each kind of context; then one enriched event.
echo "example-enrich: enriched events per pipeline (output in ${work#"$repo"/}/out/):" >&2
python3 - "$work"/out/*.jsonl >&2 <<'PY'
import json, sys

def get(event, dotted):
    for key in dotted.split("."):
        if not isinstance(event, dict) or key not in event:
            return None
        event = event[key]
    return event

sample = None
print(f"  {'':<9} {'events':>6} {'asset':>6} {'threat':>6} {'geo':>6} {'rule':>6} {'failed':>6}")
for path in sys.argv[1:]:
    name = path.rsplit("/", 1)[-1].removesuffix(".jsonl")
    counts = dict(events=0, asset=0, threat=0, geo=0, rule=0, failed=0)
    for line in open(path, encoding="utf-8", errors="replace"):
        event = json.loads(line)
        tags = event.get("tags", [])
        counts["events"] += 1
        counts["asset"] += bool(get(event, "source.asset") or get(event, "destination.asset"))
        counts["threat"] += "threat_intel_match" in tags
        counts["geo"] += bool(get(event, "source.geo") or get(event, "destination.geo"))
        counts["rule"] += get(event, "rule.name") is not None
        counts["failed"] += any(t.startswith("_") and ("failure" in t or "unknown" in t) for t in tags)
        if sample is None and "threat_intel_match" in tags and get(event, "destination.asset"):
            sample = event
    print(f"  {name:<9} " + " ".join(f"{counts[k]:>6}" for k in counts))
print("  (asset: owner/zone from PostgreSQL; threat: in the Redis threat-intel set; geo: geoip; rule: rule.name)")
if sample:
    keep = {}
    for field in ("source.ip", "source.geo.country_iso_code", "source.geo.city_name", "destination.ip",
                  "destination.asset", "network.direction", "rule.name", "threat.indicator.ip", "tags"):
        value = get(sample, field)
        if value is not None:
            keep[field] = value
    print("example-enrich: one enriched event (selected fields):")
    print("  " + json.dumps(keep))
PY
