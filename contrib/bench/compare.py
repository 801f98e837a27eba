#!/usr/bin/env python3
"""The whole comparison in one command: splicer against its peers and
against the physical limit, side by side, interleaved, in one run.

Targets (each relay on one thread, 256 KiB pipes, loopback):
  direct           no relay
  splice-loop      splice_loop.c: two blocking threads splicing per session,
                   the least a relay can do (the physical reference)
  splicer-splice, -copy, -sockmap, -auto   splicer's engines
  haproxy          Debian's HAProxy, mode tcp, its default (no splice)
  haproxy-splice   the same with option splice-request/-response
  nginx            nginx stream, one worker
Figures, median of --rounds rounds (targets take turns within a round, so
that the noise of a shared machine hits them all alike):
  Gbit/s, 1 and 8 streams     iperf3, at the receiver
  CPU s/GB                    the relay's (/proc/PID/stat), and all of it:
                              relay + client + server (the whole system's
                              would count the others of a shared machine)
  latency p50/p99/p99.9 us    64-byte ping-pong round trips (benchtool ping)
  conn/s                      connect, one request, answer, close; 16 at a
                              time (benchtool conn against benchtool reply)
  KiB RSS per idle session    with --idle (5,000) idle sessions open, once
  CPU % at 1G (--only ...,cpu1g, not by default)   the relay's CPU, in % of
                              one core, moving iperf3 -b 1G (engine auto's
                              promote-max-rate figure)
Local upstream: TCP in, unix socket out (server unix@PATH) against TCP in,
TCP out and against direct TCP, for splicer and splice-loop (benchtool bulk
instead of iperf3, which has no unix sockets).
Checks (PASS/FAIL, ratios): RSS per idle session <= 2 KiB; 9,000 idle
sessions under a 20,000-fd limit; bulk (8 streams) within 3% of splice-loop.

Writes DIR/results.json, DIR/results.csv, DIR/table.md and DIR/*.png
(python3-matplotlib), and prints the table. Every run is bounded in time.

usage: compare.py [--splicer PATH] [--rounds N] [--seconds S] [--idle N]
                  [--out DIR] [--only throughput,latency,connect,idle,local,checks,cpu1g]
                  [--targets a,b,...] [--max-minutes M]
"""
import argparse
import csv
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
PIPESIZE = 262144
BASE = 22000
FD_LIMIT = 20000
HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = ["direct", "splice-loop", "splicer-splice", "splicer-copy", "splicer-sockmap",
           "splicer-auto", "haproxy", "haproxy-splice", "nginx"]
LOCAL = ["direct-tcp", "direct-unix", "splicer tcp->tcp", "splicer tcp->unix",
         "splice-loop tcp->tcp", "splice-loop tcp->unix"]
# Upstream ports (TCP); each relay listens on its base + the same offsets.
UP = {"iperf": BASE, "echo": BASE + 1, "reply": BASE + 2, "hold": BASE + 3, "sink": BASE + 4}
OFF = {"iperf": 0, "echo": 1, "reply": 2, "hold": 3, "sink": 4,
       "usink": 5, "uecho": 6, "ureply": 7}
RELAY_BASE = {t: BASE + 100 + 10 * i for i, t in enumerate(TARGETS)}
children = []


def spawn(argv, log=None, nofile=None):
    def pre():
        os.setsid()
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log or subprocess.DEVNULL,
                         preexec_fn=pre)
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


def build(d):
    """The reference relay and the peers, built here with cc."""
    out = {}
    for name in ("splice_loop", "benchtool"):
        out[name] = os.path.join(d, name)
        subprocess.run(["cc", "-O2", "-pthread", "-o", out[name],
                        os.path.join(HERE, name + ".c")], check=True, timeout=120)
    return out


# ---- the relays ----

def write(d, name, lines):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def routes(d, local):
    """(listen offset, upstream address as HAProxy spells it) per listener."""
    r = [(OFF[k], "%s:%d" % (HOST, UP[k])) for k in ("iperf", "echo", "reply", "hold", "sink")]
    if local:
        r += [(OFF["usink"], "unix@" + os.path.join(d, "sink.sock")),
              (OFF["uecho"], "unix@" + os.path.join(d, "echo.sock")),
              (OFF["ureply"], "unix@" + os.path.join(d, "reply.sock"))]
    return r


def start_splicer(path, engine, d):
    base = RELAY_BASE["splicer-" + engine]
    # No maxconn: the fd limit sets it (9,712 at 20,000), as in production.
    conf = ["global", "    log stderr local0 err", "    nbthread 1",
            "    tune.pipesize %d" % PIPESIZE] + \
        (["    tune.sockmap.promote-max-rate 1gbps"] if engine == "auto" else []) + [
            "defaults", "    mode tcp", "    timeout connect 5s", "    timeout client 300s",
            "    timeout server 300s", "    engine %s" % engine]
    for off, up in routes(d, engine == "splice"):
        conf += ["listen l%d" % off, "    bind %s:%d" % (HOST, base + off),
                 "    server s %s" % up]
    cfg = write(d, "splicer-%s.cfg" % engine, conf)
    p = spawn([path, "-f", cfg], open(os.path.join(d, "splicer-%s.log" % engine), "w"),
              nofile=FD_LIMIT)
    wait_port(base)
    return {None: p.pid}


def start_haproxy(d, splice):
    name = "haproxy-splice" if splice else "haproxy"
    base = RELAY_BASE[name]
    # HAProxy reserves fds for maxconn and maxpipes up front: both must fit
    # the 20,000 fd limit.
    conf = ["global", "    nbthread 1", "    maxconn 7000", "    tune.pipesize %d" % PIPESIZE,
            "    maxpipes 2000", "defaults", "    mode tcp", "    timeout connect 5s",
            "    timeout client 300s", "    timeout server 300s"] + \
        (["    option splice-request", "    option splice-response"] if splice else [])
    for off, up in routes(d, False):
        conf += ["listen l%d" % off, "    bind %s:%d" % (HOST, base + off),
                 "    server s %s" % up]
    cfg = write(d, name + ".cfg", conf)
    p = spawn(["haproxy", "-db", "-f", cfg], open(os.path.join(d, name + ".log"), "w"))
    wait_port(base)
    return {None: p.pid}


def nginx_conf(d, name, body):
    return write(d, name + ".conf", [
        "load_module /usr/lib/nginx/modules/ngx_stream_module.so;", "worker_processes 1;",
        "worker_rlimit_nofile %d;" % FD_LIMIT, "master_process off;", "daemon off;",
        "pid %s/%s.pid;" % (d, name), "error_log %s/%s-error.log error;" % (d, name),
        "events { worker_connections 9000; }", body])


def start_nginx(d):
    base = RELAY_BASE["nginx"]
    servers = "".join("  server { listen %s:%d; proxy_pass %s; }\n" % (HOST, base + off, up)
                      for off, up in routes(d, False))
    p = spawn(["nginx", "-p", d, "-c", nginx_conf(d, "nginx-stream",
                                                  "stream {\n%s}" % servers)])
    wait_port(base)
    return {None: p.pid}


def start_splice_loop(tools, d):
    """One process per route; pids by listen offset (CPU is the route's)."""
    base, pids = RELAY_BASE["splice-loop"], {}
    for off, up in routes(d, True):
        up = up[5:] if up.startswith("unix@") else up
        pids[off] = spawn([tools["splice_loop"], str(base + off), up, str(PIPESIZE)]).pid
    wait_port(base)
    return pids


def start_upstreams(tools, d):
    """The servers' pids by name ("iperf", "sink", "usink"...)."""
    bt = tools["benchtool"]
    pids = {"iperf": spawn(["iperf3", "-s", "-B", HOST, "-p", str(UP["iperf"])]).pid}
    for mode in ("echo", "reply", "hold", "sink"):
        pids[mode] = spawn([bt, mode, str(UP[mode])], nofile=FD_LIMIT).pid
    for mode in ("sink", "echo", "reply"):
        pids["u" + mode] = spawn([bt, mode, os.path.join(d, mode + ".sock")]).pid
    for port in UP.values():
        wait_port(port)
    return pids


# ---- measurements ----

def cpu_of(pid):
    if pid is None:
        return 0.0
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(argv, seconds):
    return subprocess.run(argv, capture_output=True, text=True,
                          timeout=seconds + 30).stdout


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measured(fn, pid, peers):
    """fn() -> bytes moved; returns (value, relay s/GB, s/GB of the relay,
    the client and the servers). Not the whole system's: on a shared
    machine that counts the others' work too."""
    ps = [pid] + list(peers) if pid else list(peers)
    c0, a0 = cpu_of(pid), sum(cpu_of(p) for p in ps) + cpu_children()
    v, nbytes = fn()
    gb = nbytes / 1e9 if nbytes else None
    a1 = sum(cpu_of(p) for p in ps) + cpu_children()
    return (v, (cpu_of(pid) - c0) / gb if gb and pid else None, (a1 - a0) / gb if gb else None)


def iperf(port, streams, seconds, rate=None):
    for attempt in range(2):
        j = json.loads(run(["iperf3", "-c", HOST, "-p", str(port), "-t", str(seconds),
                            "-P", str(streams), "-J"] + (["-b", rate] if rate else []),
                           seconds))
        if "sum_received" in j.get("end", {}):
            r = j["end"]["sum_received"]
            return r["bits_per_second"] / 1e9, r["bytes"]
        time.sleep(1)   # "the server is busy": the last test's end is not in yet
    raise RuntimeError("iperf3: %s" % j.get("error", "no result"))


ERRORS = []


def safe(label, fn, *args):
    """A failed measurement is left out (and reported), not the run."""
    try:
        return fn(*args)
    except (OSError, ValueError, RuntimeError, IndexError, KeyError) as e:
        ERRORS.append("%s: %s" % (label, e))
        return None


def bulk(bt, addr, streams, seconds):
    nbytes, secs = run([bt, "bulk", addr, str(streams), str(seconds)], seconds).split()
    return int(nbytes) * 8 / float(secs) / 1e9, int(nbytes)


def ping(bt, addr, seconds):
    out = run([bt, "ping", addr, str(seconds), "64"], seconds).split()
    return [float(x) for x in out[1:5]]


def conns(bt, addr, seconds):
    return float(run([bt, "conn", addr, str(seconds), "16"], seconds).split()[0])


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open("/proc/%d/status" % pid) as f:
            total += next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return total


def fds_of(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def idle_sessions(port, pid, hold, n, timeout=60):
    """Open n idle sessions through the relay at port; returns (KiB of the
    relay's RSS per session, sessions that reached the upstream and stayed)."""
    base_fds, before = fds_of(hold), rss_kib([pid])
    socks, end = [], time.time() + timeout
    try:
        for _ in range(n):
            if time.time() > end:
                break
            socks.append(socket.create_connection((HOST, port), 10))
        while fds_of(hold) - base_fds < len(socks) and time.time() < end:
            time.sleep(0.1)
        time.sleep(0.5)
        after, held = rss_kib([pid]), fds_of(hold) - base_fds
        alive = sum(1 for s in socks if _alive(s))
    finally:
        for s in socks:
            s.close()
    wait_drain(hold, base_fds, 30)
    return (after - before) / max(len(socks), 1), min(held, alive)


def _alive(s):
    s.setblocking(False)
    try:
        return s.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def wait_drain(hold, base, timeout):
    end = time.time() + timeout
    while fds_of(hold) > base + 16 and time.time() < end:
        time.sleep(0.1)


# ---- progress and report ----

class Progress:
    def __init__(self, total, max_minutes):
        self.total, self.done, self.t0 = total, 0, time.time()
        self.limit = self.t0 + 60 * max_minutes
        self.tty = sys.stderr.isatty()

    def step(self, label):
        self.done += 1
        el = time.time() - self.t0
        eta = el / (self.done - 1) * (self.total - self.done + 1) if self.done > 1 else 0
        line = "[%3d/%d %3d%%] %-58s elapsed %dm%02ds, eta %dm%02ds, load %.1f" % (
            self.done, self.total, 100 * self.done // self.total, label[:58], el // 60,
            el % 60, eta // 60, eta % 60, os.getloadavg()[0])
        sys.stderr.write(("\r" + line + "\033[K") if self.tty else line + "\n")
        sys.stderr.flush()
        if time.time() > self.limit:
            raise TimeoutError("--max-minutes reached")

    def end(self):
        if self.tty:
            sys.stderr.write("\n")


def fmt(v, nd=2):
    return "-" if v is None else ("%.*f" % (nd, v))


COLS = [("gbps1", "Gbit/s 1 str", 2), ("gbps8", "Gbit/s 8 str", 2),
        ("cpu_gb", "relay CPU s/GB", 3), ("sys_gb", "all CPU s/GB", 3),
        ("p50", "RTT p50 us", 1), ("p99", "RTT p99 us", 1), ("p999", "RTT p99.9 us", 1),
        ("cps", "conn/s", 0), ("idle_kib", "KiB/idle sess", 2), ("cpu_1g", "CPU % at 1G", 1)]


def table(names, med, cols):
    cols = [c for c in cols if any(med[t].get(c[0]) is not None for t in names)]
    out = ["| target | " + " | ".join(c[1] for c in cols) + " |",
           "|---|" + "---|" * len(cols)]
    for t in names:
        out.append("| %s | " % t + " | ".join(fmt(med[t].get(k), nd) for k, _, nd in cols)
                   + " |")
    return out


def plots(out, med, names, local_med):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no plots: python3-matplotlib is missing)")
        return []
    made = []
    groups = [("throughput", [("gbps1", "1 stream"), ("gbps8", "8 streams")], "Gbit/s"),
              ("cpu", [("cpu_gb", "relay"), ("sys_gb", "relay + client + server")],
               "CPU s per GB"),
              ("latency", [("p50", "p50"), ("p99", "p99")], "64 B round trip, us"),
              ("conns", [("cps", "conn/s")], "connections per second"),
              ("rss", [("idle_kib", "RSS")], "KiB per idle session")]
    for sets, title in ((names, ""), (list(local_med), "local-")):
        data = med if not title else local_med
        for name, keys, ylabel in groups:
            shown = [t for t in sets if any(data[t].get(k) is not None for k, _ in keys)]
            if not shown:
                continue
            fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(shown)), 4))
            w = 0.8 / len(keys)
            for i, (k, lab) in enumerate(keys):
                ax.bar([x + i * w for x in range(len(shown))],
                       [data[t].get(k) or 0 for t in shown], w, label=lab)
            ax.set_xticks([x + w * (len(keys) - 1) / 2 for x in range(len(shown))])
            ax.set_xticklabels(shown, rotation=30, ha="right", fontsize=8)
            ax.set_ylabel(ylabel)
            ax.set_title(("local upstream: " if title else "") + name)
            if len(keys) > 1:
                ax.legend()
            fig.tight_layout()
            path = os.path.join(out, "%s%s.png" % (title, name))
            fig.savefig(path, dpi=100)
            plt.close(fig)
            made.append(path)
    return made


def keep(into, keys, values):
    for k, v in zip(keys, values or ()):
        if v is not None:
            into.setdefault(k, []).append(v)


def ratio(x, y):
    return x / y if x and y else None


def checks(med, nine):
    """Item 5 of issue 21, as ratios: PASS/FAIL lines."""
    out = []

    def line(name, ok, detail):
        out.append(("PASS" if ok else "FAIL") + "  " + name + ": " + detail)
    s, ref = med.get("splicer-splice", {}), med.get("splice-loop", {})
    if s.get("idle_kib") is not None:
        line("RSS per idle session <= 2 KiB", s["idle_kib"] <= 2.0,
             "%.2f KiB (%.2fx the limit)" % (s["idle_kib"], s["idle_kib"] / 2.0))
    if nine is not None:
        line("9,000 idle sessions under a %d-fd limit" % FD_LIMIT, nine >= 9000,
             "%d of 9000 held (%.3fx)" % (nine, nine / 9000))
    for k, lab in (("gbps8", "8 streams"), ("gbps1", "1 stream")):
        r = ratio(s.get(k), ref.get(k))
        if r is not None:
            line("bulk %s within 3%% of splice-loop" % lab, r >= 0.97,
                 "splicer-splice/splice-loop %.3fx" % r)
    return out


# ---- the run ----

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--splicer", default=os.path.join(HERE, "../../build/src/splicer"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--idle", type=int, default=5000)
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--only", default="throughput,latency,connect,idle,local,checks")
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--max-minutes", type=float, default=40)
    a = ap.parse_args()
    only, names = set(a.only.split(",")), [t for t in a.targets.split(",") if t in TARGETS]
    for tool in ("iperf3", "haproxy", "nginx", "cc"):
        if shutil.which(tool) is None:
            sys.exit("%s is missing: run contrib/bench/bench.sh, which installs it" % tool)
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))
    os.makedirs(a.out, exist_ok=True)
    d = tempfile.mkdtemp(prefix="splicer-bench-")
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(1))
    splicer = os.path.abspath(a.splicer)
    try:
        tools = build(d)
        bt = tools["benchtool"]
        ups = start_upstreams(tools, d)
        hold = ups["hold"]
        pids = {}
        for t in names:
            if t.startswith("splicer-"):
                pids[t] = start_splicer(splicer, t[8:], d)
            elif t.startswith("haproxy"):
                pids[t] = start_haproxy(d, t == "haproxy-splice")
            elif t == "nginx":
                pids[t] = start_nginx(d)
            elif t == "splice-loop":
                pids[t] = start_splice_loop(tools, d)
            else:
                pids[t] = {}
        meta = {
            "splicer": run([splicer, "-V"], 5).split("\n")[0],
            "haproxy": run(["haproxy", "-v"], 5).split("\n")[0],
            "nginx": subprocess.run(["nginx", "-v"], capture_output=True,
                                    text=True).stderr.strip(),
            "kernel": os.uname().release, "cpus": os.cpu_count(), "rounds": a.rounds,
            "seconds": a.seconds, "pipesize": PIPESIZE, "uptime_start":
                run(["uptime"], 5).strip(), "started": time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                                     time.gmtime())}
        print("# %(splicer)s; %(haproxy)s; %(nginx)s; kernel %(kernel)s; %(cpus)d CPUs; "
              "%(rounds)d rounds of %(seconds)d s; pipe size %(pipesize)d" % meta)
        print("# load at start: " + meta["uptime_start"])
        raw = {t: {} for t in names}
        lraw = {t: {} for t in LOCAL}
        per = 2 * ("throughput" in only) + ("latency" in only) + ("connect" in only) + \
            ("cpu1g" in only)
        total = a.rounds * (len(names) * per +
                            (len(LOCAL) * 4 if "local" in only else 0)) + \
            (len(names) if "idle" in only else 0) + (1 if "checks" in only else 0)
        pr = Progress(max(total, 1), a.max_minutes)

        def addr(t, what):
            if t in ("direct", "direct-tcp"):
                return "%s:%d" % (HOST, UP[what])
            return "%s:%d" % (HOST, RELAY_BASE[t] + OFF[what])

        def pid(t, what):
            p = pids.get(t, {})
            return p.get(OFF[what], p.get(None))
        nine = None
        try:
            for r in range(a.rounds):
                for t in names:
                    lab = "round %d/%d %s: " % (r + 1, a.rounds, t)
                    if "throughput" in only:
                        port = int(addr(t, "iperf").split(":")[1])
                        pr.step(lab + "iperf3 1 stream")
                        g = safe(lab + "iperf3 1", measured, lambda: iperf(port, 1, a.seconds),
                                 pid(t, "iperf"), [ups["iperf"]])
                        keep(raw[t], ("gbps1",), g)
                        pr.step(lab + "iperf3 8 streams")
                        g = safe(lab + "iperf3 8", measured, lambda: iperf(port, 8, a.seconds),
                                 pid(t, "iperf"), [ups["iperf"]])
                        keep(raw[t], ("gbps8", "cpu_gb", "sys_gb"), g)
                    if "cpu1g" in only and t != "direct":
                        pr.step(lab + "iperf3 at 1 Gbit/s")
                        c0 = cpu_of(pid(t, "iperf"))
                        if safe(lab + "iperf3 1G", iperf, port, 1, a.seconds, "1G"):
                            keep(raw[t], ("cpu_1g",),
                                 [100 * (cpu_of(pid(t, "iperf")) - c0) / a.seconds])
                    if "latency" in only:
                        pr.step(lab + "ping-pong 64 B")
                        keep(raw[t], ("p50", "p90", "p99", "p999"),
                             safe(lab + "ping", ping, bt, addr(t, "echo"), a.seconds))
                    if "connect" in only:
                        pr.step(lab + "connections")
                        keep(raw[t], ("cps",), safe(lab + "conn", lambda: [
                            conns(bt, addr(t, "reply"), a.seconds)]))
                if "local" in only and "splicer-splice" in names and "splice-loop" in names:
                    local_round(a, r, bt, d, pr, lraw, pids, ups)
            if "idle" in only:
                for t in names:
                    if t in ("direct", "splice-loop"):
                        continue
                    pr.step("idle: %d sessions through %s" % (a.idle, t))
                    port = int(addr(t, "hold").split(":")[1])
                    kib, _ = idle_sessions(port, pid(t, "hold"), hold, a.idle)
                    raw[t]["idle_kib"] = [kib]
            if "checks" in only and "splicer-splice" in names:
                pr.step("9,000 idle sessions through splicer-splice")
                port = int(addr("splicer-splice", "hold").split(":")[1])
                _, nine = idle_sessions(port, pid("splicer-splice", "hold"), hold, 9000, 120)
        except (TimeoutError, subprocess.TimeoutExpired) as e:
            print("\nstopped early: %s; the figures below are of the rounds done" % e)
        pr.end()
        meta["uptime_end"] = run(["uptime"], 5).strip()
        med = {t: {k: statistics.median(v) for k, v in raw[t].items()} for t in names}
        lmed = {t: {k: statistics.median(v) for k, v in lraw[t].items()} for t in LOCAL
                if lraw[t]}
        report(a, meta, names, raw, med, lraw, lmed, nine)
    finally:
        cleanup()
        shutil.rmtree(d, ignore_errors=True)


def local_round(a, r, bt, d, pr, lraw, pids, ups):
    """TCP in, unix out against TCP in, TCP out and direct."""
    sb, lb = RELAY_BASE["splicer-splice"], RELAY_BASE["splice-loop"]
    where = {
        "direct-tcp": ("%s:%d" % (HOST, UP["sink"]), "%s:%d" % (HOST, UP["echo"]),
                       "%s:%d" % (HOST, UP["reply"]), None),
        "direct-unix": (os.path.join(d, "sink.sock"), os.path.join(d, "echo.sock"),
                        os.path.join(d, "reply.sock"), None)}
    for name, base in (("splicer", sb), ("splice-loop", lb)):
        for out, offs in (("tcp", ("sink", "echo", "reply")), ("unix", ("usink", "uecho",
                                                                        "ureply"))):
            where["%s tcp->%s" % (name, out)] = tuple(
                "%s:%d" % (HOST, base + OFF[o]) for o in offs) + (
                    (name if name == "splice-loop" else "splicer-splice", OFF[offs[0]]),)
    for t in LOCAL:
        sink, echo, reply, who = where[t]
        pid = None
        if who is not None:	# splice-loop: the route's process; splicer: its one
            p = pids[who[0]]
            pid = p.get(who[1], p.get(None))
        lab = "round %d/%d local %s: " % (r + 1, a.rounds, t)
        pr.step(lab + "bulk 1 stream")
        peers = [ups["usink" if "unix" in t else "sink"]]
        keep(lraw[t], ("gbps1",), safe(lab + "bulk 1", measured,
                                       lambda: bulk(bt, sink, 1, a.seconds), pid, peers))
        pr.step(lab + "bulk 8 streams")
        keep(lraw[t], ("gbps8", "cpu_gb", "sys_gb"), safe(
            lab + "bulk 8", measured, lambda: bulk(bt, sink, 8, a.seconds), pid, peers))
        pr.step(lab + "ping-pong 64 B")
        keep(lraw[t], ("p50", "p90", "p99", "p999"), safe(lab + "ping", ping, bt, echo,
                                                          a.seconds))
        pr.step(lab + "connections")
        keep(lraw[t], ("cps",), safe(lab + "conn", lambda: [conns(bt, reply, a.seconds)]))


def report(a, meta, names, raw, med, lraw, lmed, nine):
    lines = table(names, med, COLS) if any(med[t] for t in names) else []
    lcols = [c for c in COLS if c[0] != "idle_kib"]
    llines = table(list(lmed), lmed, lcols) if lmed else []
    d50 = med.get("direct", {}).get("p50")
    notes = []
    if d50 is not None:
        notes.append("added p50 round trip (us) over direct: " + ", ".join(
            "%s %+.1f" % (t, med[t]["p50"] - d50) for t in names
            if t != "direct" and "p50" in med[t]))
    for k, lab in (("gbps8", "8-stream throughput"), ("cps", "conn/s"),
                   ("sys_gb", "CPU per GB (relay + peers)")):
        base = med.get("direct", {}).get(k)
        if base:
            notes.append("%s / direct: " % lab + ", ".join(
                "%s %.2fx" % (t, med[t][k] / base) for t in names
                if t != "direct" and med[t].get(k)))
    for k, lab in (("cps", "conn/s"), ("p50", "RTT p50"), ("gbps8", "8 streams")):
        s, h = med.get("splicer-splice", {}).get(k), med.get("haproxy-splice", {}).get(k)
        if s and h:
            notes.append("splicer-splice / haproxy-splice %s: %.2fx" % (lab, s / h))
    if lmed.get("direct-tcp"):
        dt = lmed["direct-tcp"]
        for t in ("splicer tcp->tcp", "splicer tcp->unix", "splice-loop tcp->tcp",
                  "splice-loop tcp->unix"):
            if t in lmed:
                notes.append("local %s / direct-tcp: bulk 8 streams %s, bulk 1 stream %s, "
                             "CPU/GB (all) %s, conn/s %s" % (t, *(
                                 fmt(ratio(lmed[t].get(k), dt.get(k))) + "x"
                                 for k in ("gbps8", "gbps1", "sys_gb", "cps"))))
        u, tt = lmed.get("splicer tcp->unix", {}), lmed.get("splicer tcp->tcp", {})
        if u and tt:
            notes.append("splicer: unix upstream / TCP upstream: bulk 8 streams %sx, "
                         "1 stream %sx, RTT p50 %sx, conn/s %sx" % tuple(
                             fmt(ratio(u.get(k), tt.get(k))) for k in
                             ("gbps8", "gbps1", "p50", "cps")))
    chk = checks(med, nine)
    text = ["# %s; %s; %s; kernel %s; %d CPUs; %d rounds of %d s; pipe size %d"
            % (meta["splicer"], meta["haproxy"], meta["nginx"], meta["kernel"], meta["cpus"],
               meta["rounds"], meta["seconds"], meta["pipesize"]),
            "# load: start " + meta["uptime_start"], "#       end   " + meta["uptime_end"],
            ""] + lines + [""]
    if llines:
        text += ["Local upstream (TCP in; out over TCP or a unix socket; benchtool bulk):",
                 ""] + llines + [""]
    text += ["    " + n for n in notes] + [""] + chk
    if ERRORS:
        text += ["", "measurements left out:"] + ["    " + e for e in ERRORS]
    print("\n" + "\n".join(text))
    with open(os.path.join(a.out, "table.md"), "w") as f:
        f.write("\n".join(text) + "\n")
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"meta": meta, "rounds": raw, "median": med, "local_rounds": lraw,
                   "local_median": lmed, "checks": chk, "errors": ERRORS}, f, indent=1)
    with open(os.path.join(a.out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["section", "target", "metric", "median", "rounds"])
        for sec, rr, mm in (("main", raw, med), ("local", lraw, lmed)):
            for t in mm:
                for k, v in rr[t].items():
                    w.writerow([sec, t, k, "%.4f" % mm[t][k], " ".join("%.4f" % x for x in v)])
    made = plots(a.out, med, names, lmed)
    print("wrote %s/table.md, results.json, results.csv%s" % (
        a.out, "".join(", " + os.path.basename(p) for p in made)))


if __name__ == "__main__":
    main()
