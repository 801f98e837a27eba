#!/usr/bin/env python3
"""Issue 22, item 5's counts: the promotion-under-load test
(test_sockmap.py: sessions echoed both ways at once on engine auto,
handed to the kernel mid-stream) and the bidirectional stress test
(test_relay.py: the same on engine sockmap from the first byte) run N
times in a row, each run with a fresh splicer, and every session counted:

  ok       every byte echoed once, in order, and the log says "--"
  lost     fewer bytes came back than were sent, with no error
  doubled  bytes came back that differ from what was sent at that offset
           (a doubled or reordered segment), or splicer logged a segment
           the kernel handled twice (then the session is reset)
  reset    the session ended with an error or a termination other than "--"

Prints one line per run that is not clean and a summary at the end (also
on ^C or when --minutes runs out), then exits 1 if any session was not ok.
Run it niced on a shared machine:

  SPLICER=b/src/splicer SPLICERCTL=b/src/splicerctl SPLICER_SRCDIR=. \\
      nice -n 10 python3 contrib/sockmap-stress.py --runs 1000 --minutes 60

usage: sockmap-stress.py [--runs N] [--minutes M] [--sessions S] [--size BYTES]
"""
import argparse
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../tests/integration"))
import test_sockmap as t  # noqa: E402
from harness import SOCKMAP  # noqa: E402

KINDS = ("ok", "lost", "doubled", "reset")


def one_run(engine, sessions, size, seed):
    """Run sessions at once through a fresh splicer; {kind: count}."""
    srv, sp, a = t.start(engine)
    results = {}

    def one(i):
        results[i] = t.echo_both_ways(a, size, seed + i)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(sessions)]
    [x.start() for x in ts]
    [x.join(300) for x in ts]
    try:
        logs = sp.wait_sessions(sessions, timeout=60)
    except Exception:       # noqa: BLE001 (a missing log line is a reset)
        logs = []
    doubled = sum("handled a segment twice" in l for l in sp.log().splitlines())
    promoted = sum("sockmap" in l.get("engine", "").split("/") for l in logs)
    sp.stop()
    # Log lines come in the order sessions end, and a doubled segment the
    # kernel handed splicer is logged and reset (counted as doubled, not as
    # a reset): so count, not match.
    res = [results.get(i, (b"x", b"", "no result")) for i in range(sessions)]
    counts = dict.fromkeys(KINDS, 0)
    counts["doubled"] = doubled + sum(got != data[:len(got)] for data, got, _ in res)
    bad_end = sum(err is not None for _, _, err in res)
    bad_end = max(bad_end, sessions - sum(l["term"] == "--" for l in logs))
    counts["reset"] = max(0, bad_end - doubled)
    counts["lost"] = sum(err is None and len(got) < len(data) and got == data[:len(got)]
                         for data, got, err in res)
    counts["ok"] = max(0, sessions - counts["doubled"] - counts["reset"] - counts["lost"])
    return counts, promoted


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--size", type=int, default=8 << 20, help="bytes each way per session")
    args = ap.parse_args()
    if not SOCKMAP:
        sys.exit("the sockmap engine is not here (built without BPF, or not root)")
    total = {e: dict.fromkeys(KINDS, 0) for e in ("auto", "sockmap")}
    promoted, runs, t0 = 0, 0, time.time()
    try:
        while runs < args.runs and time.time() - t0 < args.minutes * 60:
            for engine in ("auto", "sockmap"):
                c, p = one_run(engine, args.sessions, args.size, runs * args.sessions)
                promoted += p if engine == "auto" else 0
                for k in KINDS:
                    total[engine][k] += c[k]
                if c["ok"] != args.sessions:
                    print("run %d %s: %r" % (runs + 1, engine, c), flush=True)
            runs += 1
            if runs % 50 == 0:
                print("%d runs, %.0f s: %r" % (runs, time.time() - t0, total), flush=True)
    except KeyboardInterrupt:
        pass
    print("%d runs in a row of %d sessions x %d bytes each way, on auto (promotion under load; "
          "%d sessions promoted) and on sockmap (both ways from the start), %.0f s:"
          % (runs, args.sessions, args.size, promoted, time.time() - t0))
    for engine, c in total.items():
        print("  %-7s %s" % (engine, ", ".join("%d %s" % (c[k], k) for k in KINDS)))
    sys.exit(0 if all(c["ok"] == sum(c.values()) for c in total.values()) else 1)


if __name__ == "__main__":
    main()
