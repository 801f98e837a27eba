"""Balancing, server options, the queue and redispatch, through the binary."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Server, Splicer, addr, check, connect, free_port, named, on_cleanup,
                     recv_all, run, test, wait_until)


def conf(port, backend_lines, defaults=""):
    return ("global\n    log stderr local0 info\n"
            "defaults\n    mode tcp\n    log global\n    option tcplog\n"
            "    timeout connect 500ms\n    timeout client 10s\n    timeout server 10s\n%s"
            "listen app\n    bind 127.0.0.1:%d\n%s" % (defaults, port, backend_lines))


def ask(port, timeout=10):
    s = connect(addr(port), timeout=timeout)
    try:
        return recv_all(s).decode()
    finally:
        s.close()


@test
def test_roundrobin_follows_weights():
    a, b, c = named("a"), named("b"), named("c")
    port = free_port()
    sp = Splicer(conf(port, "    balance roundrobin\n    server a %s weight 1\n"
                            "    server b %s weight 2\n    server c %s weight 3\n"
                      % (a.addr, b.addr, c.addr)))
    got = [ask(port) for _ in range(60)]
    counts = {k: got.count(k) for k in "abc"}
    check(counts == {"a": 10, "b": 20, "c": 30}, "counts %r" % counts)
    sp.stop()


@test
def test_queue_holds_sessions_until_a_slot_frees_or_timeout_queue():
    """Server maxconn 2, 20 clients, each served for 0.3 s, timeout queue
    1 s: never more than 2 upstream at once; the queued ones are served
    in turn or closed with sQ after 1 s."""
    srv = named("x", hold=0.3)
    port = free_port()
    sp = Splicer(conf(port, "    server s %s maxconn 2\n    timeout queue 1s\n" % srv.addr))
    results = []

    def one():
        t0 = time.time()
        try:
            results.append((ask(port), time.time() - t0))
        except OSError as e:
            results.append((repr(e), time.time() - t0))
    ts = [threading.Thread(target=one) for _ in range(20)]
    [t.start() for t in ts]
    [t.join(20) for t in ts]
    logs = sp.wait_sessions(20)
    served = [l for l in logs if l["term"] == "--"]
    expired = [l for l in logs if l["term"] == "sQ"]
    check(len(served) + len(expired) == 20, "terms %r" % [l["term"] for l in logs])
    check(len(served) >= 4 and len(expired) >= 1, "%d served, %d expired" % (len(served), len(expired)))
    check(max(l["sc"] for l in logs) <= 2, "more than maxconn 2 on the server")
    check(all(l["tw"] > 0 for l in expired) and all(0.9 <= r[1] < 2.0 for r in results if r[0] == ""),
          "queue timeout timing: %r" % sorted(r[1] for r in results if r[0] == ""))
    check(sum(1 for r in results if r[0] == "x") == len(served), "clients vs log")
    check(any(l["tw"] >= 250 for l in served), "no served session waited in the queue")
    check("timeout queue (1s)" in expired[0]["reason"], expired[0]["reason"])
    sp.stop()


@test
def test_redispatch_moves_the_last_retry_to_another_server():
    dead = free_port()
    b = named("b")
    port = free_port()
    sp = Splicer(conf(port, "    balance first\n    retries 2\n    option redispatch\n"
                            "    server a 127.0.0.1:%d\n    server b %s\n" % (dead, b.addr)))
    t0 = time.time()
    check(ask(port) == "b", "not served by b")
    dt = time.time() - t0
    l = sp.wait_sessions(1)[0]
    check(l["server"] == "b" and l["retries"] == 2 and l["term"] == "--", repr(l))
    check(0.4 <= dt <= 1.5, "served after %.2fs, expected one 500 ms turn-around" % dt)
    sp.stop()


@test
def test_without_redispatch_retries_stay_on_the_server():
    dead = free_port()
    b = named("b")
    port = free_port()
    sp = Splicer(conf(port, "    balance first\n    retries 1\n"
                            "    server a 127.0.0.1:%d\n    server b %s\n" % (dead, b.addr)))
    check(ask(port) == "", "served although no retry may leave server a")
    l = sp.wait_sessions(1)[0]
    check(l["server"] == "a" and l["term"] == "SC", repr(l))
    sp.stop()


@test
def test_backup_serves_only_while_primaries_are_out():
    p, bk = named("primary"), named("backup")
    port, port2 = free_port(), free_port()
    sp = Splicer(conf(port, "    server p %s disabled\n    server b %s backup\n" % (p.addr, bk.addr)))
    check([ask(port) for _ in range(5)] == ["backup"] * 5, "backup not used")
    sp.stop()
    sp2 = Splicer(conf(port2, "    server p %s\n    server b %s backup\n" % (p.addr, bk.addr)))
    check([ask(port2) for _ in range(5)] == ["primary"] * 5, "backup used while primary up")
    sp2.stop()


@test
def test_leastconn_spreads_long_sessions():
    a, b = named("a", hold=2), named("b", hold=2)
    port = free_port()
    sp = Splicer(conf(port, "    balance leastconn\n    server a %s\n    server b %s\n"
                      % (a.addr, b.addr)))
    socks = [connect(addr(port)) for _ in range(6)]
    wait_until(lambda: a.active + b.active == 6, 5, "six sessions at the servers")
    check(a.active == 3 and b.active == 3, "active a=%d b=%d" % (a.active, b.active))
    for s in socks:
        s.close()
    sp.stop()


@test
def test_source_keeps_a_client_on_one_server():
    a, b, c = named("a"), named("b"), named("c")
    port = free_port()
    sp = Splicer(conf(port, "    balance source\n    server a %s\n    server b %s\n    server c %s\n"
                      % (a.addr, b.addr, c.addr)))
    got = set(ask(port) for _ in range(15))
    check(len(got) == 1, "one client reached %r" % got)
    sp.stop()


@test
def test_default_server_options_apply_to_following_servers():
    a, b = named("a", hold=1), named("b", hold=1)
    port = free_port()
    sp = Splicer(conf(port, "    default-server maxconn 1\n    server a %s\n    server b %s\n"
                            "    timeout queue 200ms\n" % (a.addr, b.addr)))
    socks = [connect(addr(port)) for _ in range(3)]
    logs = sp.wait_sessions(1, timeout=3)
    check(logs[0]["term"] == "sQ", "third client not queued: %r" % logs[0])
    for s in socks:
        s.close()
    sp.stop()


def gated(name, gate):
    """A server that answers its name once gate is set, then reads until
    the client closes: its sessions hold their slots until then."""
    def handler(c):
        gate.wait(20)
        c.sendall(name.encode())
        c.shutdown(socket.SHUT_WR)
        recv_all(c)
    return Server(handler)


class Queued:
    """splicer with an admin socket (for show stat's qcur of each row) in
    front of two gated servers a and b: backend_lines % (a, b) addresses."""

    def __init__(self, backend_lines):
        self.gate = threading.Event()
        on_cleanup(self.gate.set)
        self.srv = {"a": gated("a", self.gate), "b": gated("b", self.gate)}
        d = tempfile.mkdtemp(prefix="splicer-queue-")
        self.sock = os.path.join(d, "admin.sock")
        self.port = free_port()
        lines = backend_lines % (self.srv["a"].addr, self.srv["b"].addr)
        self.sp = Splicer(conf(self.port, lines).replace(
            "global\n", "global\n    stats socket %s level admin\n" % self.sock, 1))
        self.clients = []
        on_cleanup(lambda: [c.close() for c in self.clients])

    def one_held_one_queued(self):
        """The first client's session held at its server, the second queued
        on that server (balance source: the same client address). Returns
        (that server's name, the other's)."""
        a, b = self.srv["a"], self.srv["b"]
        self.client()
        wait_until(lambda: a.active + b.active == 1, 5, "the first session at its server")
        x, y = ("a", "b") if a.active else ("b", "a")
        self.client()
        wait_until(lambda: self.qcur(x) == 1, 5, "the second session in %s's queue" % x)
        return x, y

    def ctl(self, *words):
        ctl = os.environ.get("SPLICERCTL", os.path.join(os.path.dirname(os.environ.get(
            "SPLICER", "")), "splicerctl"))
        return subprocess.run([ctl, "-s", self.sock] + list(words), capture_output=True,
                              text=True, timeout=10).stdout

    def qcur(self, name):
        lines = self.ctl("show", "stat").strip().splitlines()
        head = lines[0].lstrip("# ").split(",")
        row = [dict(zip(head, l.split(","))) for l in lines[1:]]
        return next(int(r["qcur"] or 0) for r in row if r["svname"] == name)

    def client(self):
        c = connect(addr(self.port))
        self.clients.append(c)
        return c


@test
def test_source_queues_on_its_server_and_refuses_beyond_maxqueue():
    """balance source keeps a client on its server: with that server full
    (maxconn 1), the client's next session waits in that server's own
    queue though the other server is free (show stat qcur 1), and the one
    after, beyond maxqueue 1, is refused at once with SQ, as HAProxy."""
    q = Queued("    balance source\n    timeout queue 10s\n"
               "    server a %s maxconn 1 maxqueue 1\n    server b %s maxconn 1 maxqueue 1\n")
    x, y = q.one_held_one_queued()
    c3 = q.client()
    c3.settimeout(5)
    check(recv_all(c3) == b"", "the session beyond maxqueue was served")
    l = q.sp.wait_sessions(1)[0]
    check(l["term"] == "SQ" and "maxqueue 1" in l["reason"], repr(l))
    check(q.srv[y].accepted == 0 and q.qcur(y) == 0, "the free server %s got a session" % y)
    q.gate.set()
    for c in q.clients[:2]:
        c.settimeout(10)
        check(recv_all(c) == x.encode(), "a queued session left its server")
        c.close()
    logs = q.sp.wait_sessions(3)
    check(sorted(l["term"] for l in logs) == ["--", "--", "SQ"], repr(logs))
    check(all(l["server"] == x for l in logs if l["term"] == "--"), repr(logs))
    q.sp.stop()


@test
def test_leastconn_fills_server_queues_to_maxqueue_then_the_backend():
    """leastconn with maxqueue 1: once both servers are at maxconn 1, the
    next two sessions wait one in each server's queue (HAProxy's served +
    queued < maxconn + maxqueue), the fifth in the backend's; all are
    served once the servers answer."""
    q = Queued("    balance leastconn\n    timeout queue 10s\n"
               "    server a %s maxconn 1 maxqueue 1\n    server b %s maxconn 1 maxqueue 1\n")
    a, b = q.srv["a"], q.srv["b"]
    cs = [q.client() for _ in range(2)]
    wait_until(lambda: a.active == 1 and b.active == 1, 5, "one session at each server")
    cs += [q.client() for _ in range(2)]
    wait_until(lambda: q.qcur("a") == 1 and q.qcur("b") == 1, 5, "one in each server's queue")
    cs.append(q.client())
    wait_until(lambda: q.qcur("BACKEND") == 1, 5, "the fifth in the backend's queue")
    check(q.qcur("a") == 1 and q.qcur("b") == 1, "server queues moved")
    q.gate.set()
    for c in cs:
        c.settimeout(10)
        check(recv_all(c) in (b"a", b"b"), "a session was not served")
        c.close()
    logs = q.sp.wait_sessions(5)
    check([l["term"] for l in logs] == ["--"] * 5, repr(logs))
    q.sp.stop()


@test
def test_server_queue_moves_to_the_backend_when_its_server_goes_away():
    """With option redispatch, a server put in maintenance hands its queue
    to the backend's, as HAProxy's pendconn_redistribute: the session
    queued for it is served at once by the other server."""
    q = Queued("    balance source\n    option redispatch\n    timeout queue 10s\n"
               "    server a %s maxconn 1\n    server b %s maxconn 1\n")
    x, y = q.one_held_one_queued()
    q.ctl("disable", "server", "app/%s" % x)
    wait_until(lambda: q.srv[y].active == 1, 5, "the queued session at the other server")
    check(q.qcur(x) == 0 and q.qcur("BACKEND") == 0, "still queued")
    q.gate.set()
    c2 = q.clients[1]
    c2.settimeout(10)
    check(recv_all(c2) == y.encode(), "the queued session was not redispatched")
    q.sp.stop()

run()
