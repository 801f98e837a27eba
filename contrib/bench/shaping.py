#!/usr/bin/env python3
"""Bandwidth shaping: splicer against nginx stream, in one run.

For each rate (1, 10, 100, 1000 Mbit/s) and direction, one iperf3 stream
goes through splicer (bandwidth-limit upload|download, splice engine) and
through nginx (proxy_upload_rate / proxy_download_rate), taking turns
round after round. Reported: the rate the receiver saw over the run and
its error against the limit, and the proxy's CPU while shaping. Then four
shaped streams at once: their total, Jain's fairness index and CPU.
HAProxy 2.6 (Debian 12) has no bandwidth filter, so it is not in the race.

usage: shaping.py [--splicer PATH] [--rounds N] [--seconds S]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import HOST, cleanup, cpu_seconds, nginx_conf, spawn, wait_port  # noqa: E402

BASE = 21100
IPERF = BASE                      # iperf3 server
RATES = [1, 10, 100, 1000]        # Mbit/s
# Per target, direction and rate a port: splicer BASE+10.., nginx BASE+50..


def port(target, direction, i):
    return BASE + (10 if target == "splicer" else 50) + (0 if direction == "upload" else 20) + i


def start_splicer(path, d):
    conf = ["global", "    log stderr local0 err", "    nbthread 1",
            "defaults", "    mode tcp", "    timeout connect 5s", "    timeout client 120s",
            "    timeout server 120s", "    engine splice"]
    for direction in ("upload", "download"):
        for i, r in enumerate(RATES):
            conf += ["listen %s%d" % (direction, r),
                     "    bind %s:%d" % (HOST, port("splicer", direction, i)),
                     "    bandwidth-limit %s %dmbps" % (direction, r),
                     "    server s %s:%d" % (HOST, IPERF)]
    cfg = os.path.join(d, "splicer.cfg")
    with open(cfg, "w") as f:
        f.write("\n".join(conf) + "\n")
    p = spawn([path, "-f", cfg], stderr=open(os.path.join(d, "splicer.log"), "w"))
    wait_port(port("splicer", "upload", 0))
    return [p.pid]


def start_nginx(d):
    servers = ""
    for direction in ("upload", "download"):
        for i, r in enumerate(RATES):
            servers += "  server { listen %s:%d; proxy_pass %s:%d; proxy_%s_rate %d; }\n" % (
                HOST, port("nginx", direction, i), HOST, IPERF, direction, r * 125000)
    p = spawn(["nginx", "-p", d, "-c", nginx_conf(d, "nginx-shaping", "stream {\n%s}" % servers)])
    wait_port(port("nginx", "upload", 0))
    return [p.pid]


def iperf(p, reverse, streams, seconds, pids):
    import json
    c0 = cpu_seconds(pids)
    argv = ["iperf3", "-c", HOST, "-p", str(p), "-t", str(seconds), "-P", str(streams), "-J"]
    if reverse:
        argv.append("-R")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30).stdout
    cpu = (cpu_seconds(pids) - c0) / seconds
    end = json.loads(out)["end"]
    shares = [s["receiver"]["bits_per_second"] / 1e6 for s in end["streams"]]
    return end["sum_received"]["bits_per_second"] / 1e6, cpu, shares


def jain(xs):
    return sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--splicer", default="build/src/splicer")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    a = ap.parse_args()
    for tool in ("iperf3", "nginx"):
        if shutil.which(tool) is None:
            sys.exit("%s is not installed (contrib/bench/bench.sh installs it)" % tool)
    d = tempfile.mkdtemp(prefix="splicer-shaping-")
    try:
        spawn(["iperf3", "-s", "-B", HOST, "-p", str(IPERF)])
        wait_port(IPERF)
        pids = {"splicer": start_splicer(a.splicer, d), "nginx": start_nginx(d)}
        res = {}
        for rnd in range(a.rounds):
            for direction in ("upload", "download"):
                for i, r in enumerate(RATES):
                    for t in ("splicer", "nginx"):
                        got, cpu, _ = iperf(port(t, direction, i), direction == "download", 1,
                                            a.seconds, pids[t])
                        res.setdefault((t, direction, r), []).append((got, cpu))
            for t in ("splicer", "nginx"):
                got, cpu, shares = iperf(port(t, "download", 1), True, 4, a.seconds, pids[t])
                res.setdefault((t, "4x10"), []).append((got, cpu, jain(shares)))
            print("round %d/%d done" % (rnd + 1, a.rounds), file=sys.stderr)

        print("Shaping accuracy at the receiver, iperf3 -t %d, median of %d rounds"
              % (a.seconds, a.rounds))
        print("%-9s %6s | %-22s | %-22s" % ("", "limit", "splicer", "nginx"))
        print("%-9s %6s | %9s %6s %5s | %9s %6s %5s" % ("direction", "Mbit/s", "Mbit/s", "error",
                                                          "CPU%", "Mbit/s", "error", "CPU%"))
        for direction in ("upload", "download"):
            for r in RATES:
                row = "%-9s %6d |" % (direction, r)
                for t in ("splicer", "nginx"):
                    got = statistics.median(x[0] for x in res[(t, direction, r)])
                    cpu = statistics.median(x[1] for x in res[(t, direction, r)])
                    row += " %9.3f %+5.2f%% %5.2f |" % (got, (got / r - 1) * 100, cpu * 100)
                print(row.rstrip(" |"))
        print("\n4 streams of 10 Mbit/s each (download), median of %d rounds" % a.rounds)
        for t in ("splicer", "nginx"):
            got = statistics.median(x[0] for x in res[(t, "4x10")])
            cpu = statistics.median(x[1] for x in res[(t, "4x10")])
            fair = statistics.median(x[2] for x in res[(t, "4x10")])
            print("  %-8s %7.3f Mbit/s (%+.2f%%), Jain %.4f, CPU %.2f%% of a core"
                  % (t, got, (got / 40 - 1) * 100, fair, cpu * 100))
    finally:
        cleanup()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
