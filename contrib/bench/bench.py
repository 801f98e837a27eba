#!/usr/bin/env python3
"""splicer against its peers, side by side, interleaved, in one run.

Targets: direct (no proxy), splicer with the splice, copy, sockmap and
auto engines, HAProxy (mode tcp, option splice-request/-response, one
thread) and nginx stream (one worker). Every proxy runs one thread and
the same pipe size. For each figure the targets take turns, round after
round, and the median of the rounds is reported, so that the noise of a
shared machine hits them all alike.

Figures:
  iperf3 throughput, 1 and 8 streams (receiver side, Gbit/s)
  sockperf ping-pong, 64-byte messages: latency p50 and p99 (us, one way)
  new connections per second: wrk, one request per connection
      ("Connection: close") against an nginx HTTP upstream
  proxy CPU seconds per GB moved (from /proc, during the 1-stream runs)
  proxy CPU at a fixed 1 Gbit/s (iperf3 -b 1G), in % of one core: the
      figure behind engine auto's promote-max-rate
  RSS per idle session with 5,000 idle sessions open (KiB)

usage: bench.py [--splicer PATH] [--rounds N] [--seconds S] [--idle N]
                [--only throughput,latency,connect,idle]
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
PIPESIZE = 262144
BASE = 21000           # ports BASE.. are used; see PORTS


class Ports:
    iperf = BASE            # iperf3 server
    sock = BASE + 1         # sockperf server
    http = BASE + 2         # nginx HTTP upstream
    idle = BASE + 3         # idle upstream (this script)
    # each proxy listens on 4 ports: +0 iperf, +1 sockperf, +2 http, +3 idle
    proxy = {"splicer-splice": BASE + 10, "splicer-copy": BASE + 20,
             "haproxy": BASE + 30, "nginx": BASE + 40,
             "splicer-sockmap": BASE + 50, "splicer-auto": BASE + 60}


TARGETS = ["direct", "splicer-splice", "splicer-copy", "splicer-sockmap", "splicer-auto",
           "haproxy", "nginx"]
children = []


def spawn(argv, **kw):
    p = subprocess.Popen(argv, stdout=kw.pop("stdout", subprocess.DEVNULL),
                         stderr=kw.pop("stderr", subprocess.DEVNULL), **kw)
    children.append(p)
    return p


def cleanup():
    for p in children:
        if p.poll() is None:
            p.terminate()
    for p in children:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection((HOST, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("nothing listens on %s:%d after %ds" % (HOST, port, timeout))


def port_of(target, what):
    off = {"iperf": 0, "sock": 1, "http": 2, "idle": 3}[what]
    if target == "direct":
        return getattr(Ports, what)
    return Ports.proxy[target] + off


# ---- the proxies ----

def start_splicer(path, engine, d):
    base = Ports.proxy["splicer-" + engine]
    conf = ["global", "    log stderr local0 err", "    nbthread 1", "    maxconn 7000",
            "    tune.pipesize %d" % PIPESIZE] + \
        (["    tune.sockmap.promote-max-rate 1gbps"] if engine == "auto" else []) + [
            "defaults", "    mode tcp", "    timeout connect 5s", "    timeout client 120s",
            "    timeout server 120s", "    engine %s" % engine]
    for i, up in enumerate([Ports.iperf, Ports.sock, Ports.http, Ports.idle]):
        conf += ["listen l%d" % i, "    bind %s:%d" % (HOST, base + i),
                 "    server s %s:%d" % (HOST, up)]
    cfg = os.path.join(d, "splicer-%s.cfg" % engine)
    with open(cfg, "w") as f:
        f.write("\n".join(conf) + "\n")
    p = spawn([path, "-f", cfg], stderr=open(os.path.join(d, "splicer-%s.log" % engine), "w"))
    wait_port(base)
    return [p.pid]


def start_haproxy(d):
    base = Ports.proxy["haproxy"]
    # HAProxy reserves fds for maxconn and maxpipes up front: both must fit
    # the 20,000 fd limit of the benchmark machine.
    conf = ["global", "    nbthread 1", "    maxconn 7000", "    tune.pipesize %d" % PIPESIZE,
            "    maxpipes 2000",
            "defaults", "    mode tcp", "    timeout connect 5s", "    timeout client 120s",
            "    timeout server 120s", "    option splice-request", "    option splice-response"]
    for i, up in enumerate([Ports.iperf, Ports.sock, Ports.http, Ports.idle]):
        conf += ["listen l%d" % i, "    bind %s:%d" % (HOST, base + i),
                 "    server s %s:%d" % (HOST, up)]
    cfg = os.path.join(d, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write("\n".join(conf) + "\n")
    p = spawn(["haproxy", "-db", "-f", cfg], stderr=open(os.path.join(d, "haproxy.log"), "w"))
    wait_port(base)
    return [p.pid]


def nginx_conf(d, name, body):
    path = os.path.join(d, name + ".conf")
    with open(path, "w") as f:
        f.write("""load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
worker_rlimit_nofile 40000;
master_process off;
daemon off;
pid %s/%s.pid;
error_log %s/%s-error.log error;
events { worker_connections 40000; }
%s
""" % (d, name, d, name, body))
    return path


def start_nginx(d):
    base = Ports.proxy["nginx"]
    servers = "".join("  server { listen %s:%d; proxy_pass %s:%d; }\n" % (HOST, base + i, HOST, up)
                      for i, up in enumerate([Ports.iperf, Ports.sock, Ports.http, Ports.idle]))
    cfg = nginx_conf(d, "nginx-stream", "stream {\n%s}" % servers)
    p = spawn(["nginx", "-p", d, "-c", cfg])
    wait_port(base)
    return [p.pid]


def start_upstreams(d):
    spawn(["iperf3", "-s", "-B", HOST, "-p", str(Ports.iperf)])
    spawn(["sockperf", "sr", "--tcp", "-i", HOST, "-p", str(Ports.sock)])
    cfg = nginx_conf(d, "nginx-http", """http {
  access_log off;
  keepalive_timeout 0;
  server { listen %s:%d; location / { return 200 "ok\\n"; } }
}""" % (HOST, Ports.http))
    spawn(["nginx", "-p", d, "-c", cfg])
    idle = IdleUpstream(Ports.idle)
    for p in (Ports.iperf, Ports.sock, Ports.http):
        wait_port(p)
    return idle


class IdleUpstream:
    """Accepts and holds connections (the idle-session figure)."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, port))
        self.sock.listen(8192)
        self.conns = []
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            c, _ = self.sock.accept()
            self.conns.append(c)

    def drop(self):
        for c in self.conns:
            c.close()
        self.conns.clear()


# ---- measurements ----

def cpu_seconds(pids):
    t = 0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        t += int(fields[11]) + int(fields[12])
    return t / os.sysconf("SC_CLK_TCK")


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def iperf(target, streams, seconds, pids, rate=None):
    c0 = cpu_seconds(pids) if pids else 0
    out = subprocess.run(["iperf3", "-c", HOST, "-p", str(port_of(target, "iperf")),
                          "-t", str(seconds), "-P", str(streams), "-J"] +
                         (["-b", rate] if rate else []),
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    j = json.loads(out)
    r = j["end"]["sum_received"]
    cpu = (cpu_seconds(pids) - c0) if pids else None
    gb = r["bytes"] / 1e9
    if rate:
        return r["bits_per_second"] / 1e9, (100 * cpu / seconds if cpu is not None else None)
    return r["bits_per_second"] / 1e9, (cpu / gb if cpu is not None else None)


def sockperf(target, seconds):
    out = subprocess.run(["sockperf", "pp", "--tcp", "-i", HOST,
                          "-p", str(port_of(target, "sock")), "-m", "64", "-t", str(seconds)],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    p50 = float(re.search(r"percentile 50\.000 =\s+([\d.]+)", out).group(1))
    p99 = float(re.search(r"percentile 99\.000 =\s+([\d.]+)", out).group(1))
    return p50, p99


def wrk(target, seconds):
    out = subprocess.run(["wrk", "-t1", "-c16", "-d%ds" % seconds, "-H", "Connection: close",
                          "http://%s:%d/" % (HOST, port_of(target, "http"))],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    return float(m.group(1)) if m else 0.0, (errs.group(1) if errs else "")


def idle_rss(target, pids, n, upstream):
    before = rss_kib(pids)
    socks = []
    try:
        for _ in range(n):
            socks.append(socket.create_connection((HOST, port_of(target, "idle")), 10))
        end = time.time() + 20
        while len(upstream.conns) < n and time.time() < end:
            time.sleep(0.05)
        time.sleep(0.3)
        after = rss_kib(pids)
    finally:
        for s in socks:
            s.close()
        time.sleep(0.5)
        upstream.drop()
    return (after - before) / n


# ---- report ----

def fmt(v, nd=2):
    return "-" if v is None else ("%.*f" % (nd, v))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--splicer", default=os.path.join(os.path.dirname(__file__),
                                                      "../../build/src/splicer"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--idle", type=int, default=5000)
    ap.add_argument("--only", default="throughput,latency,connect,idle")
    a = ap.parse_args()
    only = set(a.only.split(","))
    for tool in ("iperf3", "haproxy", "nginx", "sockperf", "wrk"):
        if shutil.which(tool) is None:
            sys.exit("%s is missing: run contrib/bench/bench.sh, which installs it" % tool)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    d = tempfile.mkdtemp(prefix="splicer-bench-")
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(1))
    try:
        upstream = start_upstreams(d)
        pids = {"direct": None,
                "splicer-splice": start_splicer(os.path.abspath(a.splicer), "splice", d),
                "splicer-copy": start_splicer(os.path.abspath(a.splicer), "copy", d),
                "splicer-sockmap": start_splicer(os.path.abspath(a.splicer), "sockmap", d),
                "splicer-auto": start_splicer(os.path.abspath(a.splicer), "auto", d),
                "haproxy": start_haproxy(d),
                "nginx": start_nginx(d)}
        ver = subprocess.run([a.splicer, "-V"], capture_output=True, text=True).stdout.strip()
        hv = subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
        nv = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
        print("# %s; %s; %s; kernel %s; %d CPUs; %d rounds of %d s; pipe size %d"
              % (ver, hv, nv, os.uname().release, os.cpu_count(), a.rounds, a.seconds, PIPESIZE))
        res = {t: {} for t in TARGETS}

        def add(t, k, v):
            res[t].setdefault(k, []).append(v)
        for r in range(a.rounds):
            for t in TARGETS:
                if "throughput" in only:
                    g, cpu = iperf(t, 1, a.seconds, pids[t])
                    add(t, "gbps1", g)
                    if cpu is not None:
                        add(t, "cpu_gb", cpu)
                    add(t, "gbps8", iperf(t, 8, a.seconds, None)[0])
                    if pids[t] is not None:
                        add(t, "cpu_1g", iperf(t, 1, a.seconds, pids[t], "1G")[1])
                if "latency" in only:
                    p50, p99 = sockperf(t, a.seconds)
                    add(t, "p50", p50)
                    add(t, "p99", p99)
                if "connect" in only:
                    cps, errs = wrk(t, a.seconds)
                    add(t, "cps", cps)
                print("  round %d %-15s %s" % (r + 1, t, " ".join(
                    "%s=%s" % (k, fmt(v[-1])) for k, v in res[t].items())), flush=True)
        if "idle" in only:
            for t in TARGETS[1:]:
                add(t, "idle_kib", idle_rss(t, pids[t], a.idle, upstream))
        med = {t: {k: statistics.median(v) for k, v in res[t].items()} for t in TARGETS}
        cols = [("gbps1", "Gbit/s 1 str"), ("gbps8", "Gbit/s 8 str"), ("p50", "p50 us"),
                ("p99", "p99 us"), ("cps", "conn/s"), ("cpu_gb", "CPU s/GB"),
                ("cpu_1g", "CPU % at 1G"),
                ("idle_kib", "KiB/idle sess")]
        print()
        print("| target | " + " | ".join(c[1] for c in cols) + " |")
        print("|---|" + "---|" * len(cols))
        for t in TARGETS:
            print("| %s | " % t + " | ".join(fmt(med[t].get(k), 1 if k in ("cps",) else 2)
                                          for k, _ in cols) + " |")
        print()

        def ratio(k, a_, b_, inv=False):
            x, y = med[a_].get(k), med[b_].get(k)
            if not x or not y:
                return "-"
            return "%.2fx" % ((y / x) if inv else (x / y))
        d50 = med["direct"].get("p50")

        def added(t):
            return med[t]["p50"] - d50 if d50 is not None and "p50" in med[t] else None
        print("ratios (median of rounds):")
        print("  throughput 1 stream: splice/haproxy %s, splice/direct %s, splice/nginx %s"
              % (ratio("gbps1", "splicer-splice", "haproxy"), ratio("gbps1", "splicer-splice",
                 "direct"), ratio("gbps1", "splicer-splice", "nginx")))
        print("  throughput 8 streams: splice/haproxy %s, splice/direct %s"
              % (ratio("gbps8", "splicer-splice", "haproxy"),
                 ratio("gbps8", "splicer-splice", "direct")))
        print("  sockmap: throughput 1 stream sockmap/splice %s, 8 streams %s; auto/splice "
              "%s; CPU at 1 Gbit/s sockmap/splice %s"
              % (ratio("gbps1", "splicer-sockmap", "splicer-splice"),
                 ratio("gbps8", "splicer-sockmap", "splicer-splice"),
                 ratio("gbps1", "splicer-auto", "splicer-splice"),
                 ratio("cpu_1g", "splicer-sockmap", "splicer-splice")))
        if d50 is not None:
            print("  added p50 latency (us): splice %s, copy %s, sockmap %s, auto %s, haproxy %s, "
                  "nginx %s; splice/haproxy %s, sockmap/haproxy %s"
                  % tuple([fmt(added(t)) for t in TARGETS[1:]] +
                          ["%.2fx" % (added(x) / added("haproxy")) if added("haproxy") else "-"
                           for x in ("splicer-splice", "splicer-sockmap")]))
        print("  new connections/s: splice/haproxy %s, splice/nginx %s"
              % (ratio("cps", "splicer-splice", "haproxy"), ratio("cps", "splicer-splice", "nginx")))
        print("  CPU per GB: splice/haproxy %s, splice/nginx %s"
              % (ratio("cpu_gb", "splicer-splice", "haproxy"),
                 ratio("cpu_gb", "splicer-splice", "nginx")))
        if "idle" in only:
            print("  RSS per idle session: splice %s KiB, haproxy %s KiB, nginx %s KiB"
                  % tuple(fmt(med[t].get("idle_kib")) for t in ("splicer-splice", "haproxy",
                                                                  "nginx")))
    finally:
        cleanup()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
