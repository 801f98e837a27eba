"""The soak: a seeded mix of sessions on every engine at once (one
frontend per engine) with random sizes, directions and endings (FIN by
either side, a reset by either side, an idle timeout), while SIGHUP
reloads alternate good and bad configurations, the admin socket answers
`show sess` / `show stat` / `show pools` and Prometheus scrapes
`/metrics`. At the end: no sha256 mismatch, fds and CLOSE_WAIT as at the
start, RSS within a margin, splicer idle, no sanitizer line.

SPLICER_SOAK_SECONDS sets the length (60 by default, as CI runs it);
SPLICER_SOAK_SEED the generator's seed. The long run:
    SPLICER_SOAK_SECONDS=600 python3 tests/integration/test_soak.py
"""
import os
import random
import signal
import subprocess
import threading
import time
import urllib.request

import harness
from harness import (ENGINES, SANITIZED, SPLICER, Splicer, addr, base_conf, check, free_port,
                     run, test, wait_until)
import traffic
from traffic import PeerServer, Session

SECONDS = float(os.environ.get("SPLICER_SOAK_SECONDS", "60"))
SEED = int(os.environ.get("SPLICER_SOAK_SEED", "14"))
SPLICERCTL = os.environ.get("SPLICERCTL") or os.path.join(os.path.dirname(SPLICER), "splicerctl")
CLIENTS = 8                 # sessions at once
IDLE_TIMEOUT = 3            # seconds: how an idle session ends
# RSS may grow by this much over the run (allocator caches, log buffers,
# the reloads' configurations): a leak of a session's worth per session
# would pass it within the first minute. ASan keeps freed memory in a
# quarantine (made small below) and its shadow, so its margin is wider.
RSS_MARGIN_KIB = 49152 if SANITIZED else 8192
CPU_QUIET = 0.15 if SANITIZED else 0.05

# Weights of the endings, and expected termination state of each.
ENDINGS = [(traffic.FIN, 50), (traffic.SERVER_FIRST, 15), (traffic.RST_CLIENT, 12),
           (traffic.RST_SERVER, 12), (traffic.IDLE, 3)]
TERMS = {traffic.FIN: ("--",), traffic.SERVER_FIRST: ("--",), traffic.RST_CLIENT: ("CD", "CC"),
         traffic.RST_SERVER: ("SD",), traffic.IDLE: ("cD", "sD")}


def config(ports, srv, admin, metrics, generation, bad=False):
    """One frontend per engine; each good generation changes a value so a
    reload has something to apply. A bad one has an unknown keyword."""
    g = ("    stats socket %s level admin\n    stats metrics %s\n    maxconn 2000\n"
         % (admin, addr(metrics)))
    text = base_conf(addr(ports[0]), srv.addr, ENGINES[0], global_extra=g,
                     timeouts=dict(connect="%dms" % (2000 + generation),
                                   client="%ds" % IDLE_TIMEOUT, server="%ds" % IDLE_TIMEOUT))
    for e, p in zip(ENGINES[1:], ports[1:]):
        text += "listen %s\n    bind %s\n    server s1 %s\n    engine %s\n" % (
            e, addr(p), srv.addr, e)
    if bad:
        text += "    no-such-keyword %d\n" % generation
    return text


def ctl(sock, *words):
    p = subprocess.run([SPLICERCTL, "-s", sock] + list(words), capture_output=True, text=True,
                       timeout=20)
    return p.returncode, p.stdout + p.stderr


class Generator:
    """The seeded sequence of sessions: which frontend, how many bytes each
    way, how it ends. Sizes are log-uniform from 0 to 2 MiB."""

    def __init__(self, seed, ports):
        self.rnd = random.Random(seed)
        self.ports = ports
        self.n = 0
        self.lock = threading.Lock()

    def size(self):
        return int(2 ** self.rnd.uniform(0, 21)) - 1

    def next(self):
        with self.lock:
            self.n += 1
            i = self.rnd.randrange(len(self.ports))
            mode = self.rnd.choices([m for m, _ in ENDINGS], [w for _, w in ENDINGS])[0]
            up, down = self.size(), self.size()
            if mode in (traffic.RST_CLIENT, traffic.RST_SERVER):
                up, down = max(up, 2), max(down, 2)
            target, source = addr(self.ports[i]), traffic.source_of(self.n)
            return Session(target, self.n, up, down, mode=mode,
                           pace=self.rnd.choice((0, 0, 0.001)), timeout=60,
                           make_socket=lambda: traffic.connect_from(target, source)), ENGINES[i]


def check_session(x, srv, figures):
    """A finished session against what its ending promises."""
    if x.mode in (traffic.FIN, traffic.SERVER_FIRST):
        x.check(srv)
    elif x.mode == traffic.IDLE:
        check(x.got == b"", "idle session %d got bytes" % x.seed)
    else:
        x.check_prefix(srv)
    figures["bytes"] += len(x.got) + (srv.got.get(x.seed, (0,))[0])


def admin_and_scrape(admin, metrics, figures, stop):
    """Ask the admin socket and scrape the metrics once a second."""
    while not stop:
        for cmd in (("show", "sess"), ("show", "stat"), ("show", "pools")):
            rc, out = ctl(admin, *cmd)
            if rc != 0:
                figures["admin_errors"].append("%s: %s" % (" ".join(cmd), out[-300:]))
            figures["admin"] += 1
        try:
            with urllib.request.urlopen("http://%s/metrics" % addr(metrics), timeout=20) as r:
                text = r.read().decode()
            if "splicer_sessions_total" not in text:
                figures["admin_errors"].append("scrape without splicer_sessions_total")
            figures["scrapes"] += 1
        except OSError as e:
            figures["admin_errors"].append("scrape: %r" % e)
        time.sleep(1)


@test
def test_soak_mixed_traffic_reloads_admin_and_scrapes():
    srv = PeerServer()
    ports = [free_port() for _ in ENGINES]
    metrics = free_port()
    d = "/tmp/splicer-soak-%d" % os.getpid()
    os.makedirs(d, exist_ok=True)
    harness.on_cleanup(lambda: subprocess.run(["rm", "-rf", d]))
    admin = os.path.join(d, "admin.sock")
    # A small ASan quarantine, so that RSS measures splicer, not how much
    # freed memory ASan holds back.
    spl = Splicer(config(ports, srv, admin, metrics, 0), env=dict(ASAN_OPTIONS=os.environ.get(
        "ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1") + ":quarantine_size_mb=16")
        if SANITIZED else None)
    gen = Generator(SEED, ports)
    figures = dict(bytes=0, admin=0, scrapes=0, admin_errors=[], reloads=0, bad_reloads=0)
    # Warm up: a session per engine, so that the start figures include
    # what a first session allocates once (buffers, a pooled pipe).
    warm = [Session(addr(p), 10 ** 6 + i, 65536, 65536) for i, p in enumerate(ports)]
    traffic.run_all(warm, 30)
    for x in warm:
        x.check(srv)
    spl.wait_sessions(len(warm), 10)
    fd0, rss0, cw0 = spl.fd_kinds(), spl.rss_kib(), traffic.close_wait(spl.pid)

    stop, done, lock = [], [], threading.Lock()
    fds_seen = [sum(fd0.values())] * 2

    def client():
        while not stop:
            x, engine = gen.next()
            x.run()
            with lock:
                done.append((x, engine))
    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    side = threading.Thread(target=admin_and_scrape, args=(admin, metrics, figures, stop),
                            daemon=True)
    side.start()
    t_end = time.monotonic() + SECONDS
    generation = 0
    while time.monotonic() < t_end:
        time.sleep(min(3, max(0, t_end - time.monotonic())))
        n = sum(spl.fd_kinds().values())
        fds_seen[0], fds_seen[1] = min(fds_seen[0], n), max(fds_seen[1], n)
        if time.monotonic() >= t_end:
            break
        generation += 1
        bad = generation % 2 == 0
        with open(spl.cfg, "w") as f:
            f.write(config(ports, srv, admin, metrics, generation, bad))
        spl.signal(signal.SIGHUP)
        line = spl.wait_log(r"reload #%d (succeeded|failed)" % generation, 20)[-1]
        check(("failed" in line) == bad, "reload #%d of a %s file: %s" %
              (generation, "bad" if bad else "good", line))
        figures["reloads"] += 1
        figures["bad_reloads"] += bad
    stop.append(1)
    for t in threads:
        t.join(90)
    side.join(60)
    check(not any(t.is_alive() for t in threads), "a client thread is stuck")

    # Every session against its promise, and its log line.
    mismatches = []
    for x, _ in done:
        try:
            check_session(x, srv, figures)
        except harness.Fail as e:
            mismatches.append(str(e))
    check(not mismatches, "%d of %d sessions wrong, first: %s" %
          (len(mismatches), len(done), mismatches[:3]))
    lines = spl.wait_sessions(len(done) + len(warm), 30)
    # Each session comes from a loopback address of its own, so its log
    # line is the one that names that address (ports alone are reused,
    # and a session may log after a newer one from the same port).
    logged = {}
    for l in lines:
        logged.setdefault((l["frontend"], l["client"]), []).append(l)
    wrong = []
    for x, engine in done:
        fe = "app" if engine == ENGINES[0] else engine
        same = logged.get((fe, x.local)) or [None]
        check(len(same) == 1, "%d log lines for session %d" % (len(same), x.seed))
        l = same[0]
        if l is None or l["term"] not in TERMS[x.mode]:
            wrong.append("%s %s: %s" % (traffic.MODES[x.mode], engine, l and l["term"]))
            print("    unlike its mode: session %d %s %s, %d up / %d down, client got %d (%r), "
                  "server %s; log: %s" % (x.seed, traffic.MODES[x.mode], engine, x.up, x.down,
                                          len(x.got), x.err, srv.got.get(x.seed), l))
    check(not wrong, "%d sessions ended unlike their mode: %s" % (
        len(wrong), sorted(set((w, wrong.count(w)) for w in wrong))))
    check(not figures["admin_errors"], "admin/scrape errors: %s" % figures["admin_errors"][:3])

    # Quiet: back where it started.
    def settled():
        k = spl.fd_kinds()
        return k["socket"] == fd0["socket"] and k["other"] == fd0["other"]
    wait_until(settled, 20, "fds back at %s (now %s)" % (fd0, spl.fd_kinds()))
    fd1, rss1, cw1 = spl.fd_kinds(), spl.rss_kib(), traffic.close_wait(spl.pid)
    rc, pools = ctl(admin, "show", "pools")
    cpu = traffic.cpu_over(spl, 3.0)
    per_engine = {e: sum(1 for _, en in done if en == e) for e in ENGINES}
    per_mode = {traffic.MODES[m]: sum(1 for x, _ in done if x.mode == m) for m, _ in ENDINGS}
    print("    soak %.0fs seed %d: %d sessions %s %s, %.1f MiB, 0 mismatches; %d reloads "
          "(%d bad), %d admin commands, %d scrapes" %
          (SECONDS, SEED, len(done), per_engine, per_mode, figures["bytes"] / 2 ** 20,
           figures["reloads"], figures["bad_reloads"], figures["admin"], figures["scrapes"]))
    print("    fds start %s end %s (min %d max %d in between); RSS start %d KiB end %d KiB "
          "(margin %d); CLOSE_WAIT %d -> %d; CPU over 3 s quiet %.1f%%" %
          (fd0, fd1, fds_seen[0], fds_seen[1], rss0, rss1, RSS_MARGIN_KIB, cw0, cw1, cpu * 100))
    check(cw1 == 0, "%d sockets in CLOSE_WAIT" % cw1)
    check(rss1 <= rss0 + RSS_MARGIN_KIB, "RSS grew from %d to %d KiB" % (rss0, rss1))
    check(cpu < CPU_QUIET, "splicer used %.1f%% CPU while idle" % (cpu * 100))
    check(rc == 0, "show pools: " + pools)
    check(spl.stop() == 0, "splicer's exit status")


harness.TEST_TIMEOUT = max(harness.TEST_TIMEOUT, int(SECONDS) + 240)
run()
