#!/usr/bin/env python3
"""Runs each benchmark scenario as a child process and reports its CPU time (user+sys, from
wait4), wall time and peak RSS. Ratios are against a baseline measured in the same run, because
the machines here are noisy. Results go to stdout as a Markdown table."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "bench")
# SLUICE_BIN picks another build (e.g. build-perf/sluice); scratch files go beside that binary.
SLUICE = os.path.abspath(os.environ.get("SLUICE_BIN") or os.path.join(ROOT, "build", "sluice"))
GNU_TIME = "/usr/bin/time"
WORK = os.environ.get("SLUICE_BENCH_DIR") or os.path.join(os.path.dirname(SLUICE), "bench")


def run(argv, stdout=subprocess.DEVNULL, env=None):
    """Returns (cpu_seconds, wall_seconds, max_rss_mib) of one child run."""
    # wait4's ru_maxrss keeps the high-water mark of the forked Python (~14 MiB) across exec, so
    # the peak RSS comes from GNU time instead when it is there (its CPU still counts in wait4).
    use_gnu_time = os.path.exists(GNU_TIME)
    if use_gnu_time:
        argv = [GNU_TIME, "-f", "sluice-bench-maxrss-kib=%M"] + argv
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"bench: {' '.join(argv)} exited {code}:\n{err[-2000:]}")
    rss_kib = usage.ru_maxrss
    if use_gnu_time:
        for line in err.splitlines():
            if line.startswith("sluice-bench-maxrss-kib="):
                rss_kib = int(line.split("=", 1)[1])
    return usage.ru_utime + usage.ru_stime, wall, rss_kib / 1024.0


def best_of(n, fn):
    """The run with the least CPU of n (the noise here only ever adds time)."""
    return min((fn() for _ in range(n)), key=lambda r: r[0])


def ensure_data(lines):
    data = os.path.join(WORK, f"data-{lines}")
    if not os.path.exists(os.path.join(data, "apache.log")):
        os.makedirs(data, exist_ok=True)
        subprocess.check_call([sys.executable, os.path.join(SHARED, "gen.py"), "--lines", str(lines),
                               "--outdir", data])
    return data


def ensure_baseline(name):
    exe = os.path.join(WORK, name)
    src = os.path.join(SHARED, name + ".cpp")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        subprocess.check_call(["g++", "-O2", "-o", exe, src])
    return exe


def sluice_config(text):
    path = os.path.join(WORK, "bench.conf")
    with open(path, "w") as f:
        f.write(text)
    return [SLUICE, "-f", path, "--api.enabled", "false", "--log.level", "warn", "--path.data",
            os.path.join(WORK, "sluice-data")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    data = ensure_data(args.lines)
    apache = os.path.join(data, "apache.log")
    out_path = os.path.join(WORK, "out.jsonl")
    rows = []

    def want(name):
        return not args.only or args.only in name

    # 1. file in -> json_lines file out, against the naive passthrough loop.
    if want("passthrough"):
        base = ensure_baseline("baseline_passthrough")

        def baseline():
            with open(out_path, "wb") as out:
                return run([base, apache], stdout=out)

        def sluice_pass():
            if os.path.exists(out_path):
                os.remove(out_path)
            conf = f'''input {{ file {{ path => "{apache}" mode => "read" exit_after_read => true
                         sincedb_path => "/dev/null" start_position => "beginning" file_completed_action => "log"
                         file_completed_log_path => "{WORK}/completed.log" }} }}
                       output {{ file {{ path => "{out_path}" codec => json_lines }} }}'''
            r = run(sluice_config(conf) + ["-w", "1"])
            got = sum(1 for _ in open(out_path, "rb"))
            if got != args.lines:
                sys.exit(f"bench: passthrough wrote {got} lines, expected {args.lines}")
            return r

        b = best_of(args.repeat, baseline)
        s = best_of(args.repeat, sluice_pass)
        per_m = 1e6 / args.lines
        rows.append(("baseline_passthrough (naive loop)", b[0] * per_m, args.lines / b[1], b[2], 1.0))
        rows.append(("sluice file -> json_lines file, 1 worker", s[0] * per_m, args.lines / s[1], s[2], s[0] / b[0]))

    # 2. generator -> null on one worker: raw pipeline overhead.
    if want("generator"):
        count = 5 * args.lines
        conf = f'input {{ generator {{ count => {count} message => "hello world" }} }} output {{ null {{}} }}'
        g = best_of(args.repeat, lambda: run(sluice_config(conf) + ["-w", "1"]))
        rows.append((f"sluice generator -> null ({count} events), 1 worker", g[0] * 1e6 / count, count / g[1], g[2], None))

    print(f"lines: {args.lines}  cpus: {os.cpu_count()}  load: {os.getloadavg()[0]:.2f}")
    print()
    print("| scenario | CPU-s per 1M events | events/s (wall) | peak RSS MiB | CPU ratio to baseline |")
    print("|---|---:|---:|---:|---:|")
    for name, cpu, rate, rss, ratio in rows:
        r = f"{ratio:.2f}" if ratio is not None else "-"
        print(f"| {name} | {cpu:.3f} | {rate:,.0f} | {rss:.1f} | {r} |")


if __name__ == "__main__":
    main()
