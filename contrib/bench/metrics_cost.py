#!/usr/bin/env python3
"""The cost of the operator interfaces with many sessions open: a
Prometheus scrape of /metrics, "show stat", "show info" and "show servers
state" on the admin socket, each timed (wall clock, median and worst of
--rounds) with no session and with --sessions idle sessions open
(default 10,000), with the answer's size.

The sessions go to a holder in another process that accepts and keeps
them; the fd limits are raised for splicer and this script (root may, up
to fs.nr_open). The machine's load (uptime) is printed beside the figures.

usage: metrics_cost.py [--splicer PATH] [--sessions N] [--rounds N]
"""
import argparse
import multiprocessing
import os
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

FDS = 65536


def raise_fds():
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (FDS, FDS))
    except (ValueError, OSError):
        pass


def holder(port_q, n):
    """Accept and keep up to n connections, reading what comes."""
    raise_fds()
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4096)
    ls.setblocking(False)
    port_q.put(ls.getsockname()[1])
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    held = []
    while True:
        for key, _ in sel.select(1):
            if key.fileobj is ls:
                try:
                    while True:
                        c, _ = ls.accept()
                        held.append(c)
                except BlockingIOError:
                    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def admin(sock, line):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(sock)
    s.sendall(line.encode() + b"\n")
    out = b""
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        out += d
    s.close()
    return out


def timed(fn, rounds):
    ms, size = [], 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        size = len(fn())
        ms.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ms), max(ms), size


def measure(label, url, sock, rounds):
    for name, fn in (("GET /metrics", lambda: urllib.request.urlopen(url, timeout=30).read()),
                     ("show stat", lambda: admin(sock, "show stat")),
                     ("show info", lambda: admin(sock, "show info")),
                     ("show servers state", lambda: admin(sock, "show servers state"))):
        med, worst, size = timed(fn, rounds)
        print("  %-16s %-20s median %7.2f ms  worst %7.2f ms  %7d bytes"
              % (label, name, med, worst, size))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--splicer", default=os.environ.get("SPLICER", "b/src/splicer"))
    ap.add_argument("--sessions", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=20)
    a = ap.parse_args()
    raise_fds()
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if 2 * a.sessions + 200 > limit:
        print("the fd limit is %d (raising it needs CAP_SYS_RESOURCE): %d sessions, not %d"
              % (limit, (limit - 200) // 2 // 1000 * 1000, a.sessions))
        a.sessions = (limit - 200) // 2 // 1000 * 1000
    q = multiprocessing.Queue()
    h = multiprocessing.Process(target=holder, args=(q, a.sessions), daemon=True)
    h.start()
    hport = q.get(timeout=10)
    d = tempfile.mkdtemp(prefix="splicer-metrics-cost-")
    sock, mport, fport = os.path.join(d, "admin.sock"), free_port(), free_port()
    cfg = os.path.join(d, "s.cfg")
    with open(cfg, "w") as f:
        f.write("global\n    maxconn %d\n    stats socket %s level admin\n"
                "    stats metrics 127.0.0.1:%d\n"
                "defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 10m\n"
                "    timeout server 10m\n"
                "listen app\n    bind 127.0.0.1:%d backlog 4096\n    server s1 127.0.0.1:%d\n"
                % (a.sessions + 100, sock, mport, fport, hport))
    sp = subprocess.Popen([a.splicer, "-f", cfg], preexec_fn=raise_fds,
                          stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr"), "wb"))
    print("  splicer log: %s" % os.path.join(d, "stderr"))
    try:
        deadline = time.time() + 10
        while not os.path.exists(sock) and time.time() < deadline:
            time.sleep(0.05)
        url = "http://127.0.0.1:%d/metrics" % mport
        print("load: %s" % subprocess.run(["uptime"], capture_output=True,
                                           text=True).stdout.strip())
        measure("0 sessions", url, sock, a.rounds)
        conns = []
        for _ in range(a.sessions):
            conns.append(socket.create_connection(("127.0.0.1", fport), timeout=10))
        deadline = time.time() + 60
        while time.time() < deadline:
            info = admin(sock, "show info").decode()
            cur = int(next(l.split()[1] for l in info.splitlines()
                           if l.startswith("CurrConns:")))
            if cur >= a.sessions:
                break
            time.sleep(0.2)
        print("  sessions open: %d" % cur)
        measure("%d sessions" % a.sessions, url, sock, a.rounds)
        print("load: %s" % subprocess.run(["uptime"], capture_output=True,
                                           text=True).stdout.strip())
        for c in conns:
            c.close()
    finally:
        sp.terminate()
        sp.wait(30)
        h.terminate()


if __name__ == "__main__":
    sys.exit(main())
