#!/usr/bin/env python3
"""The sockmap engine against splice and HAProxy, in the same run
(issue 22's targets). Uses compare.py's relays and upstreams.

Targets: splicer-splice, splicer-sockmap (engine sockmap: every session in
the kernel after its first bytes), haproxy (Debian's, mode tcp), and
direct (no relay) for the latency baseline. Per round, targets in turn:
  iperf3 1 stream, 8 streams, and 1 stream --bidir (Gbit/s at the receiver)
  CPU s/GB: the relay process's, plus every kworker thread's (the kernel's
      psock worker sends redirected bytes; on a shared machine other
      kworkers count too, so this is an upper bound for sockmap)
  64 B ping-pong round trip p50 (benchtool ping), and added p50 = relay's
      minus direct's
Prints medians over --rounds, ratios against splice and HAProxy, and the
load (uptime) before and after.

usage: sockmap.py [--splicer PATH] [--rounds N] [--seconds S]
"""
import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare as c  # noqa: E402

TARGETS = ["splicer-splice", "splicer-sockmap", "haproxy"]
# Ports of our own, so that compare.py may run at the same time.
BASE = 24600
c.UP = {k: BASE + v for k, v in c.OFF.items() if k in c.UP}
c.RELAY_BASE = {t: BASE + 100 + 10 * i for i, t in enumerate(c.TARGETS)}


def kworker_cpu():
    """CPU seconds of every kworker thread so far."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                s = f.read()
        except OSError:
            continue
        if s[s.index("(") + 1:s.rindex(")")].startswith("kworker"):
            fields = s.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def iperf(port, streams, seconds, bidir):
    for attempt in range(2):
        j = json.loads(c.run(["iperf3", "-c", c.HOST, "-p", str(port), "-t", str(seconds),
                              "-P", str(streams), "-J"] + (["--bidir"] if bidir else []),
                             seconds))
        end = j.get("end", {})
        if "sum_received" in end:
            break
        time.sleep(1)   # "the server is busy": the last test's end is not in yet
    else:
        raise RuntimeError("iperf3: %s" % j.get("error", "no result"))
    r = [end["sum_received"]] + ([end["sum_received_bidir_reverse"]] if bidir else [])
    return sum(x["bits_per_second"] for x in r) / 1e9, sum(x["bytes"] for x in r)


def with_cpu(pid, fn):
    """(Gbit/s, relay s/GB, relay + kworkers s/GB)."""
    c0, k0 = c.cpu_of(pid), kworker_cpu()
    gbps, nbytes = fn()
    rel, kw = c.cpu_of(pid) - c0, kworker_cpu() - k0
    if nbytes == 0:
        raise RuntimeError("no byte moved")
    return gbps, rel / (nbytes / 1e9), (rel + kw) / (nbytes / 1e9)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--splicer", default=os.path.join(c.HERE, "../../build/src/splicer"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=3)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="splicer-sockmap-bench-")
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(1))
    raw = {t: {} for t in TARGETS + ["direct"]}
    try:
        tools = c.build(d)
        bt = tools["benchtool"]
        ups = c.start_upstreams(tools, d)
        pids = {"splicer-splice": c.start_splicer(os.path.abspath(a.splicer), "splice", d),
                "splicer-sockmap": c.start_splicer(os.path.abspath(a.splicer), "sockmap", d),
                "haproxy": c.start_haproxy(d, False)}
        print("# %s; %s; kernel %s; %d rounds of %d s" % (
            c.run([a.splicer, "-V"], 5).split("\n")[0],
            c.run(["haproxy", "-v"], 5).split("\n")[0], os.uname().release, a.rounds,
            a.seconds))
        print("# load before: " + c.run(["uptime"], 5).strip())
        for r in range(a.rounds):
            raw["direct"].setdefault("p50", []).append(
                c.ping(bt, "%s:%d" % (c.HOST, c.UP["echo"]), a.seconds)[0])
            for t in TARGETS:
                base, pid = c.RELAY_BASE[t], pids[t][None]
                for key, streams, bidir in (("1", 1, False), ("8", 8, False),
                                            ("bidir", 1, True)):
                    v = c.safe("%s %s" % (t, key), with_cpu, pid, lambda: iperf(
                        base + c.OFF["iperf"], streams, a.seconds, bidir))
                    if v:
                        for name, x in zip(("gbps", "cpu", "cpu_kw"), v):
                            raw[t].setdefault(name + key, []).append(x)
                p = c.safe(t + " ping", c.ping, bt, "%s:%d" % (c.HOST, base + c.OFF["echo"]),
                           a.seconds)
                if p:
                    raw[t].setdefault("p50", []).append(p[0])
            print("# round %d done" % (r + 1), file=sys.stderr)
        print("# load after: " + c.run(["uptime"], 5).strip())
    except KeyboardInterrupt:
        pass
    finally:
        c.cleanup()
    report(raw)
    for e in c.ERRORS:
        print("# error: " + e)


def med(raw, t, k):
    v = raw[t].get(k)
    return statistics.median(v) if v else float("nan")


def report(raw):
    cols = [("gbps1", "Gbit/s 1"), ("gbps8", "Gbit/s 8"), ("gbpsbidir", "Gbit/s bidir"),
            ("cpu1", "relay s/GB 1"), ("cpu_kw1", "+kworker s/GB 1"),
            ("cpu_kw8", "+kworker s/GB 8"), ("p50", "p50 us")]
    direct = med(raw, "direct", "p50")
    print("| target | " + " | ".join(h for _, h in cols) + " | added p50 us |")
    print("|---" * (len(cols) + 2) + "|")
    for t in TARGETS:
        print("| %s | " % t + " | ".join("%.2f" % med(raw, t, k) for k, _ in cols) +
              " | %.1f |" % (med(raw, t, "p50") - direct))
    print("| direct | " + " | ".join("" for _ in cols[:-1]) + " | %.2f | |" % direct)
    sm, sp, hp = "splicer-sockmap", "splicer-splice", "haproxy"
    print("\nsockmap / splice: 1 stream %.2fx, 8 streams %.2fx, bidir %.2fx; CPU per GB "
          "(relay + kworkers) 1 stream %.2fx, 8 streams %.2fx" % (
              med(raw, sm, "gbps1") / med(raw, sp, "gbps1"),
              med(raw, sm, "gbps8") / med(raw, sp, "gbps8"),
              med(raw, sm, "gbpsbidir") / med(raw, sp, "gbpsbidir"),
              med(raw, sm, "cpu_kw1") / med(raw, sp, "cpu_kw1"),
              med(raw, sm, "cpu_kw8") / med(raw, sp, "cpu_kw8")))
    print("added p50 64 B: sockmap %.2fx HAProxy's, splice %.2fx HAProxy's" % (
        (med(raw, sm, "p50") - direct) / (med(raw, hp, "p50") - direct),
        (med(raw, sp, "p50") - direct) / (med(raw, hp, "p50") - direct)))


if __name__ == "__main__":
    main()
