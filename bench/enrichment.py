#!/usr/bin/env python3
"""CPU cost of the enrichment filters, measured through the real binary on one worker.

The same generator -> null pipeline (events whose message is an IPv4 address) runs with and without
the filter, each at N events and at one round of the generator's lines; the filter's cost per event is
((with - without) at N) - ((with - without) at one round), so start-up work (loading the dictionary,
networks or database) is reported apart. CPU = user+sys of the whole process, best of --repeat, the
four runs of a case interleaved.
  translate: a 100k-entry JSON dictionary, about half the addresses found
  cidr:      10k networks from network_path, about half the addresses inside one
  geoip:     a City database with 10k networks (built here with MaxMind::DB::Writer); 10k distinct
             addresses cycling (default cache: every lookup misses; cache_size 20000: every lookup hits)
             and 500 addresses cycling (default cache: hits)
Usage: SLUICE_BIN=build-x/sluice bench/enrichment.py [--events N] [--repeat R]"""
import argparse
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measure  # noqa: E402  (run, best_of, sluice_config, WORK)

PERL_WRITER = r"""
use strict; use warnings; use JSON::PP; use MaxMind::DB::Writer::Tree;
my ($records_path, $output) = @ARGV;
my %types = (city => 'map', continent => 'map', country => 'map', location => 'map', postal => 'map',
  names => 'map', subdivisions => ['array', 'map'], latitude => 'double', longitude => 'double',
  metro_code => 'uint16');
my $tree = MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 28, database_type => 'GeoLite2-City',
  languages => ['en'], description => { en => 'sluice bench' }, remove_reserved_networks => 0,
  map_key_type_callback => sub { $types{ $_[0] } // 'utf8_string' });
open(my $in, '<', $records_path) or die; my $text = do { local $/; <$in> }; close($in);
for my $r (@{ JSON::PP->new->decode($text) }) { $tree->insert_network($r->[0], $r->[1]); }
open(my $out, '>:raw', $output) or die; $tree->write_tree($out); close($out);
"""


def random_addresses(count, rng):
    """count distinct IPv4 addresses spread over 11.0.0.0 - 60.255.255.255."""
    seen = set()
    while len(seen) < count:
        seen.add(f"{rng.randint(11, 60)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
    return sorted(seen)


def prepare(work, ips, rng):
    os.makedirs(work, exist_ok=True)
    # translate: 100k keys, half of the event addresses among them.
    dictionary = {ip: f"host-{i}" for i, ip in enumerate(ips[::2])}
    while len(dictionary) < 100_000:
        dictionary[f"{rng.randint(61, 99)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"] = "x"
    with open(os.path.join(work, "dict.json"), "w") as f:
        json.dump(dictionary, f)
    # cidr: 10k /24 networks, covering every other event address.
    nets = {".".join(ip.split(".")[:3]) + ".0/24" for ip in ips[::2]}
    while len(nets) < 10_000:
        nets.add(f"{rng.randint(61, 99)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/24")
    with open(os.path.join(work, "nets.txt"), "w") as f:
        f.write("\n".join(sorted(nets)) + "\n")
    # geoip: a City database with the same 10k /24 networks.
    mmdb = os.path.join(work, "city.mmdb")
    if not os.path.exists(mmdb):
        records = [[net, {"city": {"names": {"en": f"City {i}"}}, "continent": {"code": "EU"},
                          "country": {"iso_code": "FR", "names": {"en": "France"}},
                          "location": {"latitude": 48.0 + i / 1e4, "longitude": 2.0, "time_zone": "Europe/Paris"},
                          "subdivisions": [{"iso_code": "IDF", "names": {"en": "Ile-de-France"}}]}]
                   for i, net in enumerate(sorted(nets))]
        with open(os.path.join(work, "records.json"), "w") as f:
            json.dump(records, f)
        with open(os.path.join(work, "writer.pl"), "w") as f:
            f.write(PERL_WRITER)
        subprocess.check_call(["perl", os.path.join(work, "writer.pl"), os.path.join(work, "records.json"), mmdb])
    return os.path.join(work, "dict.json"), os.path.join(work, "nets.txt"), mmdb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(7)
    work = os.path.join(measure.WORK, "enrichment")
    ips = random_addresses(10_000, rng)
    dict_path, nets_path, mmdb = prepare(work, ips, rng)
    hot = ips[:500]  # a working set that fits geoip's default cache

    def pipeline(addresses, count, filters):
        lines = ", ".join(f'"{ip}"' for ip in addresses)
        conf = (f'input {{ generator {{ lines => [{lines}] count => {count} }} }}\n'
                f'filter {{ {filters} }}\noutput {{ null {{}} }}\n')
        return lambda: measure.run(measure.sluice_config(conf) + ["-w", "1"])

    translate = f'translate {{ source => "message" target => "host" dictionary_path => "{dict_path}" }}'
    cidr = f'cidr {{ address => "%{{message}}" network_path => "{nets_path}" add_tag => ["known"] }}'
    geoip = f'geoip {{ source => "message" target => "geo" database => "{mmdb}" }}'
    geoip_big = f'geoip {{ source => "message" target => "geo" cache_size => 20000 database => "{mmdb}" }}'
    cases = [
        ("translate, 100k-entry dictionary_path", ips, translate),
        ("cidr, 10k networks (network_path)", ips, cidr),
        ("geoip City, 10k addresses cycling, default cache (all misses)", ips, geoip),
        ("geoip City, 10k addresses cycling, cache_size 20000 (all hits)", ips, geoip_big),
        ("geoip City, 500 addresses cycling, default cache (all hits)", hot, geoip),
    ]

    def added_per_million(addresses, filters):
        """CPU-s the filter adds per 1M events: (with - without) at N events, minus the same at one round
        of the lines (start-up: config, dictionary/database loading)."""
        count = max(1, args.events // len(addresses))
        events = count * len(addresses)
        # The four runs are interleaved, each repeat running all four in turn, and each takes its
        # best: the noise here comes in periods of minutes, which would otherwise fall on one side.
        runs = [pipeline(addresses, count, filters), pipeline(addresses, count, ""),
                pipeline(addresses, 1, filters), pipeline(addresses, 1, "")]
        best = [float("inf")] * len(runs)
        for _ in range(args.repeat):
            for i, run in enumerate(runs):
                best[i] = min(best[i], run()[0])
        full, full_base, start, start_base = best
        per_event = ((full - full_base) - (start - start_base)) / (events - len(addresses))
        return full_base * 1e6 / events, per_event * 1e6, (start - start_base)

    print(f"events: {args.events}  cpus: {os.cpu_count()}  load: {os.getloadavg()[0]:.2f}")
    print()
    print("| filter (generator -> null, 1 worker) | pipeline without it, CPU-s per 1M | added by the filter, CPU-s per 1M events | its start-up, CPU-s |")
    print("|---|---:|---:|---:|")
    for name, addresses, filters in cases:
        base, added, startup = added_per_million(addresses, filters)
        print(f"| {name} | {base:.3f} | {added:.3f} | {startup:.3f} |", flush=True)


if __name__ == "__main__":
    main()
