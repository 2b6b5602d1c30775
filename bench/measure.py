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
    # Each run starts with no dirty pages: a run that pushed the kernel past its background
    # writeback threshold paid for the earlier runs' output (CPU-s swung by 2x here).
    os.sync()
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


def run_pair(argv_a, argv_b, out_a, out_b):
    """Two independent processes started together: (their CPU-seconds summed, the wall time until
    both ended, 0). On this VM two busy vCPUs do not always run at the speed of one alone; the
    wall time of the pair against one alone is the ceiling of any two-thread speed-up then."""
    os.sync()  # as in run()
    start = time.monotonic()
    with open(out_a, "wb") as fa, open(out_b, "wb") as fb:
        procs = [subprocess.Popen(argv_a, stdout=fa, stderr=subprocess.DEVNULL),
                 subprocess.Popen(argv_b, stdout=fb, stderr=subprocess.DEVNULL)]
        cpu = 0.0
        for proc in procs:
            _, status, usage = os.wait4(proc.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit(f"bench: {' '.join(argv_a)} exited {os.waitstatus_to_exitcode(status)}")
            cpu += usage.ru_utime + usage.ru_stime
    return cpu, time.monotonic() - start, 0.0


def run_fed(argv, api_port, expected_events, feed):
    """Like run() for a sluice that reads from the network: feed() sends the data, then sluice is
    stopped (SIGTERM) once its monitoring API counts expected_events out. Peak RSS is VmHWM."""
    import json
    import signal
    import threading
    import urllib.request
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    feeder = threading.Thread(target=feed)
    feeder.start()
    rss_kib = 0
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/_node/stats/pipelines", timeout=2) as r:
                stats = json.load(r)
        except OSError:
            continue
        out = sum(p["events"]["out"] for p in stats["pipelines"].values())
        with open(f"/proc/{proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    rss_kib = int(line.split()[1])
        if out >= expected_events:
            break
    wall = time.monotonic() - start
    feeder.join()
    proc.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {' '.join(argv)} exited {os.waitstatus_to_exitcode(status)}")
    return usage.ru_utime + usage.ru_stime, wall, rss_kib / 1024.0


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def send_file_over_tcp(port, path):
    import socket
    deadline = time.monotonic() + 30
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port))
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    with sock, open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            sock.sendall(chunk)


def best_of(n, fn):
    """The run with the least CPU of n (the noise here only ever adds time)."""
    return min((fn() for _ in range(n)), key=lambda r: r[0])


def best_of_interleaved(n, *fns):
    """best_of for several commands run in turn, n rounds: the VM's speed drifts over minutes, and
    a ratio between two blocks of runs taken minutes apart would carry that drift."""
    results = [[] for _ in fns]
    for _ in range(n):
        for i, fn in enumerate(fns):
            results[i].append(fn())
    return [min(r, key=lambda x: x[0]) for r in results]


def ensure_data(lines):
    data = os.path.join(WORK, f"data-{lines}")
    if not os.path.exists(os.path.join(data, "apache.log")):
        os.makedirs(data, exist_ok=True)
        subprocess.check_call([sys.executable, os.path.join(SHARED, "gen.py"), "--lines", str(lines),
                               "--outdir", data])
    return data


def ensure_baseline(name, libs=()):
    exe = os.path.join(WORK, name)
    src = os.path.join(SHARED, name + ".cpp")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        subprocess.check_call(["g++", "-O2", "-o", exe, src] + list(libs))
    return exe


def file_to_file_config(in_path, out_path, filters):
    """file (read mode) -> filters -> json_lines file: the shape of every file scenario."""
    return f'''input {{ file {{ path => "{in_path}" mode => "read" exit_after_read => true
                 sincedb_path => "/dev/null" start_position => "beginning" file_completed_action => "log"
                 file_completed_log_path => "{WORK}/completed.log" }} }}
               filter {{ {filters} }}
               output {{ file {{ path => "{out_path}" codec => json_lines }} }}'''


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

        b, s = best_of_interleaved(args.repeat, baseline, sluice_pass)
        per_m = 1e6 / args.lines
        rows.append(("baseline_passthrough (naive loop)", b[0] * per_m, args.lines / b[1], b[2], 1.0))
        rows.append(("sluice file -> json_lines file, 1 worker", s[0] * per_m, args.lines / s[1], s[2], s[0] / b[0]))

    # 2. generator -> null on one worker: raw pipeline overhead.
    if want("generator"):
        count = 5 * args.lines
        conf = f'input {{ generator {{ count => {count} message => "hello world" }} }} output {{ null {{}} }}'
        g = best_of(args.repeat, lambda: run(sluice_config(conf) + ["-w", "1"]))
        rows.append((f"sluice generator -> null ({count} events), 1 worker", g[0] * 1e6 / count, count / g[1], g[2], None))

    # 3. grok + date (the parsing issue's goals), against PCRE2-JIT of the same expanded pattern with
    #    naive JSON and no date (../shared/bench/baseline_regex.cpp), measured in this run.
    grok_cases = [
        ("grok_apache", apache, "grok_apache_ecs.re",
         'grok { ecs_compatibility => "v1" match => { "message" => "%{COMBINEDAPACHELOG}" } } '
         'date { match => [ "timestamp", "dd/MMM/yyyy:HH:mm:ss Z" ] }'),
        ("grok_syslog", os.path.join(data, "syslog.log"), "grok_syslog_ecs.re",
         'grok { ecs_compatibility => "v1" match => { "message" => "<%{POSINT:pri}>%{SYSLOGLINE}" } overwrite => ["message"] } '
         'date { match => [ "timestamp", "MMM  d HH:mm:ss", "MMM dd HH:mm:ss" ] }'),
    ]
    for name, in_path, regex_file, filters in grok_cases:
        if not want(name):
            continue
        base = ensure_baseline("baseline_regex", ["-lpcre2-8", "-lre2", "-lhs"])

        def baseline_regex():
            with open(out_path, "wb") as out:
                return run([base, "pcre2", "json", in_path, os.path.join(SHARED, regex_file)], stdout=out)

        def sluice_grok(workers):
            if os.path.exists(out_path):
                os.remove(out_path)
            r = run(sluice_config(file_to_file_config(in_path, out_path, filters)) + ["-w", str(workers)])
            text = open(out_path, "rb").read()
            got = text.count(b"\n")
            if got != args.lines:
                sys.exit(f"bench: {name} wrote {got} lines, expected {args.lines}")
            failures = text.count(b"_grokparsefailure") + text.count(b"_dateparsefailure")
            if failures:
                sys.exit(f"bench: {name}: {failures} parse failures")
            return r

        def baseline_pair():
            argv = [base, "pcre2", "json", in_path, os.path.join(SHARED, regex_file)]
            pair_out = os.path.join(WORK, "pair.jsonl")
            try:
                return run_pair(argv, argv, out_path, pair_out)
            finally:
                os.remove(pair_out)

        b, one, two, pair = best_of_interleaved(args.repeat, baseline_regex, lambda: sluice_grok(1),
                                                lambda: sluice_grok(2), baseline_pair)
        per_m = 1e6 / args.lines
        rows.append((f"baseline_regex pcre2-jit json ({name})", b[0] * per_m, args.lines / b[1], b[2], 1.0))
        rows.append((f"sluice {name} + date -> json_lines, 1 worker", one[0] * per_m, args.lines / one[1], one[2], one[0] / b[0]))
        rows.append((f"sluice {name} + date -> json_lines, 2 workers (wall speed-up {one[1] / two[1]:.2f}x)",
                     two[0] * per_m, args.lines / two[1], two[2], two[0] / b[0]))
        # The best (least CPU) pair's wall time against the best single baseline's.
        rows.append((f"two baseline_regex processes at once ({name}; the machine's ceiling for a 2x speed-up "
                     f"now: {2 * b[1] / pair[1]:.2f}x)", pair[0] / 2 * per_m, 2 * args.lines / pair[1], None, pair[0] / 2 / b[0]))

    # 4. The syslog lines over TCP (the tcp input, one connection) -> the same grok + date: what the
    #    network input adds over reading the file.
    if want("tcp_syslog"):
        syslog_path = os.path.join(data, "syslog.log")

        def sluice_tcp():
            if os.path.exists(out_path):
                os.remove(out_path)
            port, api = free_port(), free_port()
            conf = (f'input {{ tcp {{ port => {port} }} }} filter {{ {grok_cases[1][3]} }} '
                    f'output {{ file {{ path => "{out_path}" codec => json_lines }} }}')
            argv = sluice_config(conf) + ["-w", "1"]
            argv[argv.index("--api.enabled") + 1] = "true"
            argv += ["--api.http.port", str(api)]
            return run_fed(argv, api, args.lines, lambda: send_file_over_tcp(port, syslog_path))

        t = best_of(args.repeat, sluice_tcp)
        rows.append(("sluice tcp (syslog lines) -> grok_syslog + date -> json_lines, 1 worker", t[0] * 1e6 / args.lines,
                     args.lines / t[1], t[2], None))

    print(f"lines: {args.lines}  cpus: {os.cpu_count()}  load: {os.getloadavg()[0]:.2f}")
    print()
    print("| scenario | CPU-s per 1M events | events/s (wall) | peak RSS MiB | CPU ratio to baseline |")
    print("|---|---:|---:|---:|---:|")
    for name, cpu, rate, rss, ratio in rows:
        r = f"{ratio:.2f}" if ratio is not None else "-"
        m = f"{rss:.1f}" if rss is not None else "-"
        print(f"| {name} | {cpu:.3f} | {rate:,.0f} | {m} | {r} |")


if __name__ == "__main__":
    main()
