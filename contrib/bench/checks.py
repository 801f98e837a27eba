#!/usr/bin/env python3
"""The cost of health checks: splicer's CPU while it checks many servers.

N servers (default 1,000) are checked every `inter` (default 2 s) with one
of the check kinds below; the checked servers are a few loopback
listeners in this script (a separate process, so that its CPU is not
splicer's), which answer what the kind expects. splicer's CPU is read
from /proc/PID/stat over the measured window, after one interval of
warm-up, and given in % of one core, with the checks the listeners saw.

Kinds:
  connect    a bare TCP connect ("check"); as HAProxy's, it resets the
             connection before the handshake's last ACK, so the listeners
             never accept it and cannot count it: CPU per check is then
             taken at the expected rate
  tcp-check  option tcp-check: send PING, expect +PONG (redis-like)
  http       option httpchk GET /health, expect status 200

With --haproxy, HAProxy (one thread) checks the same servers with the
same configuration, after splicer, for comparison on the same machine;
--baseline measures another splicer build too. With --together they run
at once, each checking its own servers, so that a machine busy with other
work weighs on every figure alike.

With --floor, check_floor.c (built here with cc) makes the same checks at
the same rate with nothing but the system calls a check needs, batched on
a 10 ms tick: on loopback the kernel's TCP work for both ends of each
connection is counted to the connecting process, and that program's
figure is the floor no prober goes below on this machine.

usage: checks.py [--splicer PATH] [--servers N] [--inter MS] [--seconds S]
                 [--kinds connect,tcp-check,http] [--haproxy PATH]
                 [--baseline PATH] [--together] [--floor]
"""
import argparse
import multiprocessing
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REQUESTS = {"connect": "", "tcp-check": "PING\r\n", "http": "GET /health HTTP/1.0\r\n\r\n"}
ANSWERS = {"connect": b"", "tcp-check": b"+PONG\r\n",
           "http": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"}
LISTENERS = 8


def serve(ports, answer, counter, ready):
    """Accept on every port; answer (after reading the request, if any)."""
    sel = selectors.DefaultSelector()
    for p in ports:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", p))
        s.listen(4096)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, None)
    ready.set()
    while True:
        for key, _ in sel.select():
            if key.data is None:
                try:
                    c, _ = key.fileobj.accept()
                except OSError:
                    continue
                with counter.get_lock():
                    counter.value += 1
                if not answer:
                    c.close()
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, b"")
                continue
            c = key.fileobj
            try:
                d = c.recv(4096)
            except OSError:
                d = b""
            if d:
                try:
                    c.send(answer)
                except OSError:
                    pass
            sel.unregister(c)
            c.close()


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def cpu_ticks(pid):
    """(user, system) clock ticks of pid."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def config(kind, ports, n, inter, log=True):
    rules = {"connect": "",
             "tcp-check": "    option tcp-check\n    tcp-check send PING\\r\\n\n"
                          "    tcp-check expect string +PONG\n",
             "http": "    option httpchk GET /health\n    http-check expect status 200\n"}[kind]
    front = free_ports(1)[0]
    servers = "".join("    server s%d 127.0.0.1:%d check\n" % (i, ports[i % len(ports)])
                      for i in range(n))
    return ("global\n%s    nbthread 1\n    maxconn 4000\n"
            "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n"
            "    timeout server 10s\n    timeout check 1s\n"
            "listen app\n    bind 127.0.0.1:%d\n%s"
            "    default-server inter %dms rise 2 fall 3\n%s"
            % ("    log stderr local0 notice\n" if log else "", front, rules, inter, servers))


def start(args, kind, proxy):
    """proxy checking its own servers (listeners of its own): a handle."""
    ports = free_ports(LISTENERS)
    counter, ready = multiprocessing.Value("l", 0), multiprocessing.Event()
    srv = multiprocessing.Process(target=serve, args=(ports, ANSWERS[kind], counter, ready),
                                  daemon=True)
    srv.start()
    ready.wait(10)
    d = tempfile.mkdtemp(prefix="splicer-checks-bench-")
    cfg = os.path.join(d, "checks.cfg")
    with open(cfg, "w") as f:
        f.write(config(kind, ports, args.servers, args.inter, "haproxy" not in
                       os.path.basename(proxy)))
    log = open(os.path.join(d, "stderr"), "wb")
    if os.path.basename(proxy) == "check_floor":
        argv = [proxy, str(int(args.servers * 1000 / args.inter)), REQUESTS[kind]] + \
            [str(p) for p in ports]
    else:
        argv = [proxy, "-f", cfg] + (["-db"] if "haproxy" in os.path.basename(proxy) else [])
    sp = subprocess.Popen(argv, stdout=log, stderr=log)
    return dict(kind=kind, proxy=proxy, srv=srv, counter=counter, dir=d, log=log, sp=sp)


def sample(h):
    h["t"], h["cpu"], h["n"] = time.time(), cpu_ticks(h["sp"].pid), h["counter"].value


def finish(args, h):
    """Stop h and print what it cost between its two samples."""
    t0, c0, n0 = h["t0"], h["cpu0"], h["n0"]
    t1, c1, n1 = h["t"], h["cpu"], h["n"]
    with open(os.path.join(h["dir"], "stderr"), "rb") as f:
        downs = f.read().count(b" is DOWN")
    h["sp"].terminate()
    h["sp"].wait()
    h["srv"].terminate()
    h["srv"].join()
    h["log"].close()
    shutil.rmtree(h["dir"], ignore_errors=True)
    hz = os.sysconf("SC_CLK_TCK")
    user, system = (c1[0] - c0[0]) / hz, (c1[1] - c0[1]) / hz
    cpu = (user + system) / (t1 - t0) * 100
    expect = args.servers / (args.inter / 1000.0)
    kind = h["kind"]
    rate = (n1 - n0) / (t1 - t0) if kind != "connect" else expect
    print("%-14s %-10s %5d servers every %d ms: %5.2f%% of a core (user %.2f%%, system %.2f%%: "
          "the kernel's loopback TCP handshakes are counted to the connecting process), "
          "%6.0f checks/s%s (expected %.0f), %.1f us of CPU per check, %d servers marked down"
          % (os.path.basename(h["proxy"]), kind, args.servers, args.inter, cpu,
             user / (t1 - t0) * 100, system / (t1 - t0) * 100, rate,
             " (not seen)" if kind == "connect" else "", expect,
             (user + system) / max(rate * (t1 - t0), 1) * 1e6, downs), flush=True)


def run(args, kind, proxies):
    """Measure proxies over the same window (--together), else one after
    the other."""
    groups = [proxies] if args.together else [[p] for p in proxies]
    for group in groups:
        hs = [start(args, kind, p) for p in group]
        time.sleep(args.inter / 1000.0 * 1.5)           # the first spread of checks
        for h in hs:
            sample(h)
            h["t0"], h["cpu0"], h["n0"] = h["t"], h["cpu"], h["n"]
        time.sleep(args.seconds)
        for h in hs:
            sample(h)
        for h in hs:
            finish(args, h)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--splicer", default=os.environ.get(
        "SPLICER", os.path.join(here, "..", "..", "src", "splicer")))
    ap.add_argument("--servers", type=int, default=1000)
    ap.add_argument("--inter", type=int, default=2000, help="ms")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--kinds", default="connect,tcp-check,http")
    ap.add_argument("--haproxy", help="also measure this HAProxy binary")
    ap.add_argument("--baseline", help="also measure this other splicer (an older build)")
    ap.add_argument("--together", action="store_true",
                    help="measure every binary in the same window, each with its own servers "
                         "(a busy machine then weighs on all alike)")
    ap.add_argument("--floor", action="store_true",
                    help="also measure check_floor.c, the least a prober can spend")
    args = ap.parse_args()
    if not os.path.exists(args.splicer):
        sys.exit("no splicer at %s (--splicer PATH)" % args.splicer)
    floor = None
    if args.floor:
        floor = os.path.join(tempfile.mkdtemp(prefix="splicer-check-floor-"), "check_floor")
        subprocess.check_call([os.environ.get("CC", "cc"), "-O2", "-o", floor,
                               os.path.join(here, "check_floor.c")])
    proxies = [p for p in (args.baseline, args.splicer, args.haproxy, floor) if p]
    for kind in args.kinds.split(","):
        run(args, kind, proxies)


if __name__ == "__main__":
    main()
