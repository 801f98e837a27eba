"""The admin socket and splicerctl: every command with good and
bad arguments, levels, many clients at once, and what the commands do to
real sessions."""
import mmap
import os
import re
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (SANITIZED, SOCKMAP, SPLICER, TEST_TIMEOUT, Server, Skip, Splicer,
                     accept_queue, addr, check, connect, echo_handler, free_port, named,
                     on_cleanup, params, recv_all, run, sha, test, wait_until)

SPLICERCTL = os.environ.get("SPLICERCTL", os.path.join(os.path.dirname(SPLICER), "splicerctl"))


def ctl(sock, *words):
    """splicerctl -s sock words...: (exit status, output)."""
    p = subprocess.run([SPLICERCTL, "-s", sock] + list(words), capture_output=True, text=True,
                       timeout=10)
    return p.returncode, p.stdout + p.stderr


def ask(sock, data, timeout=5):
    """Raw bytes to the socket; the whole answer."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(sock)
    try:
        s.sendall(data)
    except BrokenPipeError:
        # splicer may answer and close before reading (too many admin
        # clients): the answer still waits in this UNIX socket.
        pass
    out = recv_all(s)
    s.close()
    return out.decode("utf-8", "replace")


def start(servers=(), levels=("admin",), extra_global="", mode=None, extra=""):
    """splicer with one admin socket per level; {level: path}."""
    p = free_port()
    d = "/tmp/splicer-admin-%d" % os.getpid()
    os.makedirs(d, exist_ok=True)
    socks = {lv: "%s/%s-%d.sock" % (d, lv, p) for lv in levels}
    g = "".join("    stats socket %s level %s%s\n" % (path, lv, " mode %s" % mode if mode else "")
                for lv, path in socks.items())
    srv = "".join("    server %s %s\n" % (n, a) for n, a in servers)
    conf = ("global\n    log stderr local0 info\n%s%s"
            "defaults\n    mode tcp\n    log global\n    option tcplog\n"
            "    timeout connect 2s\n    timeout client 30s\n    timeout server 30s\n"
            "listen app\n    bind 127.0.0.1:%d\n%s%s" % (g, extra_global, p, srv, extra))
    sp = Splicer(conf)
    return sp, socks, addr(p)


def stat_rows(sock):
    rc, out = ctl(sock, "show", "stat")
    check(rc == 0, out)
    lines = out.strip().splitlines()
    head = lines[0].lstrip("# ").split(",")
    return [dict(zip(head, l.split(","))) for l in lines[1:]]


def sess_rows(sock):
    rc, out = ctl(sock, "show", "sess")
    check(rc == 0, out)
    lines = out.strip().splitlines()
    head = lines[0].lstrip("# ").split()
    return [dict(zip(head, l.split())) for l in lines[1:]]


@test
def test_socket_is_private_by_default_and_mode_is_applied():
    sp, socks, _ = start()
    st = os.stat(socks["admin"])
    check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
          "mode %o" % st.st_mode)
    check(sp.wait_log("admin socket .* ready \\(level admin\\)"), "ready line")
    sp.stop()
    check(not os.path.exists(socks["admin"]), "socket file left after stop")
    sp, socks, _ = start(mode="660")
    check(stat.S_IMODE(os.stat(socks["admin"]).st_mode) == 0o660, "mode 660")
    sp.stop()


@test
def test_owner_names_are_checked():
    d = "/tmp/splicer-admin-%d" % os.getpid()
    os.makedirs(d, exist_ok=True)
    cfg = os.path.join(d, "owner.cfg")
    with open(cfg, "w") as f:
        f.write("global\n    stats socket %s/o.sock user no-such-user-here group no-such-grp\n"
                "listen l\n    mode tcp\n    bind 127.0.0.1:%d\n    server s 127.0.0.1:9\n"
                % (d, free_port()))
    p = subprocess.run([SPLICER, "-c", "-f", cfg], capture_output=True, text=True)
    check(p.returncode == 1, p.stderr)
    check("owner.cfg:2: stats socket: user 'no-such-user-here' does not exist" in p.stderr and
          "owner.cfg:2: stats socket: group 'no-such-grp' does not exist" in p.stderr, p.stderr)


@test
def test_a_stale_socket_file_is_replaced_and_another_file_refused():
    sp, socks, _ = start()
    path = socks["admin"]
    sp.kill()                               # leaves the socket file behind
    check(os.path.exists(path), "no stale file to test with")
    conf = open(sp.cfg).read()
    sp2 = Splicer(conf)
    check(ctl(path, "show", "info")[0] == 0, "the new process answers")
    sp2.stop()
    with open(path, "w") as f:
        f.write("not a socket")
    sp3 = Splicer(conf, expect_exit=True)
    check(sp3.proc.wait(10) != 0, "started over a regular file")
    check("the path exists and is not a socket" in sp3.log(), sp3.log())
    os.unlink(path)


@test
def test_help_show_info_and_show_stat():
    a, b = named("a"), named("b")
    sp, socks, front = start([("a", a.addr), ("b", b.addr)])
    s = socks["admin"]
    rc, out = ctl(s, "help")
    check(rc == 0 and "show sess" in out and "set server BACKEND/SERVER weight" in out, out)
    for _ in range(4):
        c = connect(front)
        recv_all(c)
        c.close()
    sp.wait_sessions(4)
    rc, out = ctl(s, "show", "info")
    info = dict(l.split(": ", 1) for l in out.strip().splitlines())
    check(rc == 0 and info["Name"] == "splicer" and info["Pid"] == str(sp.pid), out)
    check(info["CumConns"] == "4" and info["CurrConns"] == "0", out)
    check(info["Reloads"] == "0" and info["LastReload"] == "none", out)
    rows = {(r["pxname"], r["svname"]): r for r in stat_rows(s)}
    check(rows[("app", "FRONTEND")]["stot"] == "4", repr(rows))
    check(rows[("app", "a")]["stot"] == "2" and rows[("app", "b")]["stot"] == "2", repr(rows))
    # Unchecked servers read "no check" while up, as in HAProxy.
    check(rows[("app", "a")]["status"] == "no check" and
          rows[("app", "BACKEND")]["status"] == "UP", repr(rows))
    # bout: the servers' names went down to the clients.
    check(rows[("app", "FRONTEND")]["bout"] == "4" and rows[("app", "a")]["bout"] == "2",
          repr(rows))
    sp.stop()


@test
def test_show_pools_counts_the_pipes_of_live_sessions():
    """Four sessions each holding bytes in a pipe: used pipes show per
    thread and in total. The server does not read and its receive buffer
    is small, so once the clients have filled every buffer on the way
    (they keep sending until the kernel takes no more), each session's
    pipe holds bytes it cannot write."""
    hold = threading.Event()
    srv = Server(lambda c: (hold.wait(TEST_TIMEOUT), recv_all(c)), rcvbuf=4096)
    sp, socks, front = start([("s1", srv.addr)])
    cs = [connect(front) for _ in range(4)]
    for c in cs:
        c.setblocking(False)
    state = {}

    def four_held():
        for c in cs:
            try:
                while True:
                    c.send(b"p" * 65536)
            except BlockingIOError:
                pass
        rc, state["out"] = ctl(socks["admin"], "show", "pools")
        total = [l for l in state["out"].splitlines() if l.startswith("total ")]
        return rc == 0 and total and total[0].split()[1] == "4"
    wait_until(four_held, 20, "4 pipes in use")
    out = state["out"]
    lines = out.strip().splitlines()
    check(lines[0] == "# thread used free created failed fallbacks", out)
    total = next(l for l in lines if l.startswith("total ")).split()
    per = [l.split() for l in lines[1:] if l[0].isdigit()]
    check(len(per) >= 1 and sum(int(p[1]) for p in per) == int(total[1]), out)
    check(int(total[1]) == 4 and int(total[3]) >= 4, "4 pipes in use: %s" % out)
    check(next(l for l in lines if l.startswith("allocated ")) == "allocated %d" %
          (int(total[1]) + int(total[2])), out)
    hold.set()
    [c.close() for c in cs]
    sp.stop()


@test
def test_reloads_show_in_show_info():
    sp, socks, _ = start()
    s = socks["admin"]
    sp.signal(signal.SIGHUP)
    sp.wait_log("reload #1 succeeded")
    info = ctl(s, "show", "info")[1]
    check("Reloads: 1\n" in info and "LastReload: succeeded" in info, info)
    good = open(sp.cfg).read()
    with open(sp.cfg, "a") as f:
        f.write("    nonsense here\n")
    sp.signal(signal.SIGHUP)
    sp.wait_log("reload #2 failed")
    info = ctl(s, "show", "info")[1]
    check("Reloads: 2\n" in info and "ReloadsFailed: 1" in info and "LastReload: failed" in info,
          info)
    with open(sp.cfg, "w") as f:
        f.write(good.replace("level admin", "level user"))
    sp.signal(signal.SIGHUP)
    sp.wait_log("the 'stats' lines changed")
    check(ctl(s, "shutdown", "session", "1")[1].startswith("error: no session"),
          "the socket keeps the level it started with")
    sp.stop()


@test
def test_show_sess_and_shutdown_session():
    srv = Server(echo_handler)
    sp, socks, front = start([("s1", srv.addr)])
    s = socks["admin"]
    c = connect(front)
    data = os.urandom(300000)
    c.sendall(data)
    got = recv_all(c, len(data))
    check(got == data, "echo")
    rows = sess_rows(s)
    check(len(rows) == 1, repr(rows))
    r = rows[0]
    check(r["frontend"] == "app" and r["backend/server"] == "app/s1" and
          r["state"] == "established" and r["server"] == srv.addr and
          r["client"] == "%s:%d" % c.getsockname(), repr(r))
    check(int(r["bytes_up"]) == len(data) and int(r["bytes_down"]) == len(data), repr(r))
    check(r["engine"] == "splice" and float(r["age_s"]) >= 0 and float(r["idle_s"]) >= 0, repr(r))
    rc, out = ctl(s, "shutdown", "session", r["id"])
    check(rc == 0 and out == "", out)
    try:
        rest = recv_all(c)
    except ConnectionResetError:
        rest = b""
    check(rest == b"", "bytes after shutdown: %r" % rest[:20])
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "KD" and "admin socket" in l["reason"], repr(l))
    wait_until(lambda: sess_rows(s) == [], 5, "the session to leave show sess")
    rc, out = ctl(s, "shutdown", "session", r["id"])
    check(rc == 1 and out.startswith("error: no session %s" % r["id"]), out)
    for bad in (["shutdown", "session", "x"], ["shutdown", "session", "0"],
                ["shutdown", "session", "99999999999"], ["shutdown", "session"]):
        rc, out = ctl(s, *bad)
        check(rc == 1 and out.startswith("error: ") and out.count("\n") == 1, "%r: %s" % (bad, out))
    c.close()
    sp.stop()


@test
def test_show_sess_rates_follow_a_transfer():
    """A client that sends about 2 MB/s for 2.5 s: the up rate reads about
    16 Mbit/s, the down rate 0."""
    srv = Server(lambda c: recv_all(c))
    sp, socks, front = start([("s1", srv.addr)])
    c = connect(front)
    t0, sent = time.monotonic(), 0
    while time.monotonic() - t0 < 2.5:
        c.sendall(b"r" * 20000)
        sent += 20000
        time.sleep(0.01)
    r = sess_rows(socks["admin"])[0]
    # Judged against the rate the client reached (its sleeps run long on a
    # busy machine), not against the 16 Mbit/s it aimed at.
    want = sent * 8 / (time.monotonic() - t0)
    c.close()
    bps = int(r["bps_up"])
    check(0.5 * want < bps < 1.5 * want and r["bps_down"] == "0",
          "sent at %.1f Mbit/s: %r" % (want / 1e6, r))
    sp.stop()


class Counting(Server):
    """Echoes, and counts what it received."""

    def __init__(self):
        self.got = 0
        super().__init__(self.echo)

    def echo(self, c):
        while True:
            b = c.recv(65536)
            if not b:
                break
            self.got += len(b)
            c.sendall(b)
        c.shutdown(socket.SHUT_WR)


@params("splice", "sockmap")
def test_pause_stops_both_ways_and_resume_restarts(engine):
    if engine == "sockmap" and not SOCKMAP:
        raise Skip("the sockmap engine is not here")
    srv = Counting()
    sp, socks, front = start([("s1", srv.addr)], extra="    engine %s\n" % engine)
    s = socks["admin"]
    c = connect(front)
    c.sendall(b"a" * 1000)
    check(recv_all(c, 1000) == b"a" * 1000, "echo before")
    sid = sess_rows(s)[0]["id"]
    check(ctl(s, "pause", "session", sid) == (0, ""), "pause")
    wait_until(lambda: sess_rows(s)[0]["state"] == "paused", 5, "state paused")
    time.sleep(0.05)
    before = srv.got
    data = os.urandom(200000)
    c.sendall(data)
    time.sleep(0.5)
    check(srv.got == before, "%d bytes reached the server while paused" % (srv.got - before))
    c.settimeout(0.2)
    try:
        early = c.recv(10)
    except socket.timeout:
        early = None
    check(early is None, "bytes came back while paused: %r" % early)
    c.settimeout(10)
    check(ctl(s, "resume", "session", sid) == (0, ""), "resume")
    check(recv_all(c, len(data)) == data, "the paused bytes after resume")
    check(sess_rows(s)[0]["state"] == "established", "state after resume")
    c.shutdown(socket.SHUT_WR)
    check(recv_all(c) == b"", "EOF")
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "--" and l["up"] == 1000 + len(data), repr(l))
    for bad in (["pause", "session", "777777"], ["resume", "session", "abc"],
                ["pause", "session"]):
        rc, out = ctl(s, *bad)
        check(rc == 1 and out.startswith("error: "), "%r: %s" % (bad, out))
    c.close()
    sp.stop()


@test
def test_a_session_still_connecting_cannot_be_paused():
    """A server that never accepts (its backlog is full): the session
    stays connecting, and pausing it is refused with its state."""
    blocked = Server(backlog_only=True, backlog=0)
    fill = []
    for _ in range(3):                      # fill its accept queue: later SYNs are dropped
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(("127.0.0.1", blocked.port))
        fill.append(f)
    wait_until(lambda: (accept_queue(blocked.port) or 0) >= 1, 5, "a full accept queue")
    sp, socks, front = start([("s1", blocked.addr)])
    c = connect(front)
    wait_until(lambda: any(r["state"] == "connecting" for r in sess_rows(socks["admin"])), 5,
               "a connecting session")
    sid = next(r["id"] for r in sess_rows(socks["admin"]) if r["state"] == "connecting")
    rc, out = ctl(socks["admin"], "pause", "session", sid)
    check(rc == 1 and "is connecting: only an established session can be paused" in out, out)
    c.close()
    [f.close() for f in fill]
    sp.stop()


@test
def test_shutdown_sessions_of_a_server():
    a, b = Server(echo_handler), Server(echo_handler)
    sp, socks, front = start([("a", a.addr), ("b", b.addr)])
    cs = [connect(front) for _ in range(4)]
    for c in cs:
        c.sendall(b"x")
        check(recv_all(c, 1) == b"x", "echo")
    rc, out = ctl(socks["admin"], "shutdown", "sessions", "server", "app/a")
    check(rc == 0, out)
    logs = sp.wait_sessions(2)
    check(len(logs) == 2 and all(l["server"] == "a" and l["term"] == "KD" for l in logs),
          repr(logs))
    left = sess_rows(socks["admin"])
    check(len(left) == 2 and all(r["backend/server"] == "app/b" for r in left), repr(left))
    for bad in (["shutdown", "sessions", "server", "app/zz"],
                ["shutdown", "sessions", "server", "nope/a"],
                ["shutdown", "sessions", "server", "app"],
                ["shutdown", "sessions", "frontend", "app/a"]):
        rc, out = ctl(socks["admin"], *bad)
        check(rc == 1 and out.startswith("error: "), "%r: %s" % (bad, out))
    [c.close() for c in cs]
    sp.stop()


@test
def test_runtime_commands_reach_sessions_of_every_configuration_generation():
    """After a reload, sessions that started before it hold the old
    configuration (its own server structs): shutdown sessions, pause,
    resume, set bandwidth-limit session and show sess must reach them by
    backend and server name, also once the reload removed that server."""
    a, b = Server(echo_handler), Server(echo_handler)
    sp, socks, front = start([("a", a.addr), ("b", b.addr)], extra="    balance first\n")
    old = [connect(front) for _ in range(3)]
    for c in old:
        c.sendall(b"x")
        check(recv_all(c, 1) == b"x", "echo")
    with open(sp.cfg) as f:
        text = f.read()
    sp.signal(signal.SIGHUP)
    sp.wait_log(r"reload #1 succeeded")
    new = connect(front)                 # same names, the new generation
    new.sendall(b"y")
    check(recv_all(new, 1) == b"y", "echo")
    rows = sess_rows(socks["admin"])
    check(len(rows) == 4 and all(r["backend/server"] == "app/a" for r in rows), repr(rows))
    first = min(int(r["id"]) for r in rows)
    for words in (["pause", "session", str(first)], ["resume", "session", str(first)],
                  ["set", "bandwidth-limit", "session", str(first), "upload", "10mbps"]):
        rc, out = ctl(socks["admin"], *words)
        check(rc == 0 and out == "", "%r: %s" % (words, out))
    sp.wait_log(r"%d: paused from the admin socket" % first)
    sp.wait_log(r"%d: resumed from the admin socket" % first)
    sp.wait_log(r"%d: upload limited to" % first)
    rc, out = ctl(socks["admin"], "shutdown", "sessions", "server", "app/a")
    check(rc == 0 and out == "", out)
    logs = sp.wait_sessions(4)
    check(sorted(l["term"] for l in logs) == ["KD"] * 4, repr(logs))
    # A reload that removes server a: the sessions it had still answer to its name.
    old = [connect(front) for _ in range(2)]
    for c in old:
        c.sendall(b"z")
        check(recv_all(c, 1) == b"z", "echo")
    with open(sp.cfg, "w") as f:
        f.write(text.replace("    server a %s\n" % a.addr, ""))
    sp.signal(signal.SIGHUP)
    sp.wait_log(r"reload #2 succeeded")
    rc, out = ctl(socks["admin"], "shutdown", "sessions", "server", "app/a")
    check(rc == 0 and out == "", out)
    logs = sp.wait_sessions(6)
    check(sorted(l["term"] for l in logs[4:]) == ["KD"] * 2, repr(logs[4:]))
    rc, out = ctl(socks["admin"], "shutdown", "sessions", "server", "app/a")
    check(rc == 1 and out.startswith("error: backend 'app' has no server 'a'"), out)
    [c.close() for c in old + [new]]
    sp.stop()


@test
def test_server_states_and_weights_steer_new_sessions():
    a, b = named("a"), named("b")
    sp, socks, front = start([("a", a.addr), ("b", b.addr)])
    s = socks["admin"]

    def names(n):
        out = []
        for _ in range(n):
            c = connect(front)
            out.append(recv_all(c).decode())
            c.close()
        return out

    check(ctl(s, "disable", "server", "app/a") == (0, ""), "disable")
    check(set(names(4)) == {"b"}, "a in maintenance")
    check(next(r for r in stat_rows(s) if r["svname"] == "a")["status"] == "MAINT", "MAINT")
    check(ctl(s, "enable", "server", "app/a") == (0, ""), "enable")
    check(set(names(4)) == {"a", "b"}, "a back")
    check(ctl(s, "set", "server", "app/b", "state", "drain") == (0, ""), "drain")
    check(set(names(4)) == {"a"}, "b draining")
    check(next(r for r in stat_rows(s) if r["svname"] == "b")["status"] == "DRAIN", "DRAIN")
    check(ctl(s, "set", "server", "app/b", "state", "maint")[0] == 0, "maint")
    check(ctl(s, "set", "server", "app/b", "state", "ready")[0] == 0, "ready")
    check(ctl(s, "set", "server", "app/a", "weight", "0") == (0, ""), "weight 0")
    check(set(names(4)) == {"b"}, "a at weight 0")
    check(next(r for r in stat_rows(s) if r["svname"] == "a")["weight"] == "0", "weight shown")
    check(ctl(s, "set", "server", "app/a", "weight", "3")[0] == 0, "weight 3")
    got = names(8)
    check(got.count("a") == 6 and got.count("b") == 2, "3:1 gives %r" % got)
    for bad, why in (((["set", "server", "app/a", "state", "up"]), "is not one of ready"),
                     ((["set", "server", "app/a", "weight", "257"]), "weight: 257 is out of range [0..256]"),
                     ((["set", "server", "app/a", "weight", "-1"]), "weight: number '-1' must not be negative"),
                     ((["set", "server", "app/a", "colour", "red"]), "unknown argument 'colour'"),
                     ((["set", "server", "app/c", "weight", "1"]), "has no server 'c'"),
                     ((["disable", "server", "nope/a"]), "no backend 'nope'"),
                     ((["disable", "server", "a"]), "is not BACKEND/SERVER"),
                     ((["enable", "server"]), "missing argument")):
        rc, out = ctl(s, *bad)
        check(rc == 1 and why in out and out.count("\n") == 1, "%r: %s" % (bad, out))
    sp.stop()


def answered_within(front, seconds):
    """Connect and wait up to `seconds` for the server's name; returns
    (socket, bytes or None)."""
    c = connect(front)
    c.settimeout(seconds)
    try:
        return c, c.recv(10)
    except socket.timeout:
        return c, None


@test
def test_disable_and_enable_frontend():
    """A disabled frontend accepts no client: one that connects waits in
    the kernel's backlog, and is served once the frontend is enabled."""
    a = named("a")
    sp, socks, front = start([("a", a.addr)])
    s = socks["admin"]
    c, got = answered_within(front, 2)
    check(got == b"a", "before: %r" % got)
    c.close()
    check(ctl(s, "disable", "frontend", "app") == (0, ""), "disable")
    row = next(r for r in stat_rows(s) if r["svname"] == "FRONTEND")
    check(row["status"] == "STOP", repr(row))
    time.sleep(0.1)
    c, got = answered_within(front, 0.5)
    check(got is None, "answered while disabled: %r" % got)
    check(ctl(s, "enable", "frontend", "app") == (0, ""), "enable")
    c.settimeout(5)
    check(c.recv(10) == b"a", "the waiting client is served after enable")
    c.close()
    check(next(r for r in stat_rows(s) if r["svname"] == "FRONTEND")["status"] == "OPEN", "OPEN")
    for bad, why in ((["disable", "frontend", "nope"], "no frontend 'nope'"),
                     (["enable", "frontend"], "missing argument")):
        rc, out = ctl(s, *bad)
        check(rc == 1 and why in out, "%r: %s" % (bad, out))
    sp.stop()


@test
def test_set_maxconn_frontend_and_global():
    srv = Server(lambda c: (c.sendall(b"hi"), recv_all(c)))
    sp, socks, front = start([("s1", srv.addr)])
    s = socks["admin"]
    for words, held_by in ((["set", "maxconn", "frontend", "app", "1"], "frontend"),
                           (["set", "maxconn", "global", "1"], "global")):
        check(ctl(s, *words) == (0, ""), "%r" % words)
        first, got = answered_within(front, 2)
        check(got == b"hi", "first: %r" % got)
        second, got = answered_within(front, 0.5)
        check(got is None, "a second session over maxconn %s 1" % held_by)
        first.close()
        second.settimeout(5)
        check(second.recv(10) == b"hi", "served once the first ended (%s)" % held_by)
        second.close()
        sp.wait_sessions(2 if held_by == "frontend" else 4)
        # Lift it again.
        check(ctl(s, *(words[:-1] + (["0"] if held_by == "frontend" else ["1000"]))) == (0, ""),
              "lift")
    info = ctl(s, "show", "info")[1]
    check("Maxconn: 1000\n" in info, info)
    many = [answered_within(front, 2) for _ in range(3)]
    check(all(g == b"hi" for _, g in many), "three at once after lifting")
    [c.close() for c, _ in many]
    for bad, why in ((["set", "maxconn", "global", "0"], "maxconn: 0 is out of range [1.."),
                     (["set", "maxconn", "global", "99999999"], "maxconn: 99999999 is out of range [1.."),
                     (["set", "maxconn", "frontend", "app", "-1"], "maxconn: number '-1' must not be negative"),
                     (["set", "maxconn", "frontend", "nope", "5"], "no frontend 'nope'"),
                     (["set", "maxconn", "backend", "app", "5"], "no command has 'backend'")):
        rc, out = ctl(s, *bad)
        check(rc == 1 and why in out, "%r: %s" % (bad, out))
    sp.stop()


class Meter(Server):
    """Reads everything and records (time, total) as bytes arrive."""

    def __init__(self):
        self.got = 0
        super().__init__(self.count)

    def count(self, c):
        while True:
            b = c.recv(65536)
            if not b:
                break
            self.got += len(b)

    def rate_over(self, seconds):
        a, t0 = self.got, time.time()
        time.sleep(seconds)
        return (self.got - a) * 8 / (time.time() - t0)


def pump(c, stop):
    try:
        while not stop:
            c.sendall(b"p" * 65536)
    except OSError:
        pass


@test
def test_set_bandwidth_limit_of_a_session_and_a_frontend():
    srv = Meter()
    sp, socks, front = start([("s1", srv.addr)], extra="    bandwidth-limit upload 400mbps\n")
    s = socks["admin"]
    c = connect(front)
    stop = []
    t = threading.Thread(target=pump, args=(c, stop))
    t.start()
    time.sleep(0.3)
    sid = sess_rows(s)[0]["id"]
    check(ctl(s, "set", "bandwidth-limit", "session", sid, "upload", "16mbps") == (0, ""), "set")
    time.sleep(0.5)
    r = srv.rate_over(2)
    check(13e6 < r < 19e6, "session at 16 Mbit/s reads %.1f Mbit/s" % (r / 1e6))
    print("    set bandwidth-limit session %s upload 16mbps: %.2f Mbit/s" % (sid, r / 1e6))
    # The frontend's own line, for a running session (the strictest wins):
    check(ctl(s, "set", "bandwidth-limit", "session", sid, "upload", "400mbps")[0] == 0, "raise")
    check(ctl(s, "set", "bandwidth-limit", "frontend", "app", "upload", "8mbps") == (0, ""),
          "frontend")
    time.sleep(0.5)
    r = srv.rate_over(2)
    check(6.5e6 < r < 9.5e6, "frontend at 8 Mbit/s reads %.1f Mbit/s" % (r / 1e6))
    print("    set bandwidth-limit frontend app upload 8mbps: %.2f Mbit/s" % (r / 1e6))
    stop.append(1)
    c.close()
    t.join(10)
    for bad, why in ((["set", "bandwidth-limit", "session", sid, "upload", "fast"], "fast"),
                     (["set", "bandwidth-limit", "session", sid, "sideways", "1mbps"],
                      "not upload or download"),
                     (["set", "bandwidth-limit", "session", "999999", "upload", "1mbps"],
                      "no session 999999"),
                     (["set", "bandwidth-limit", "frontend", "app", "download", "1mbps"],
                      "has no 'bandwidth-limit download' line"),
                     (["set", "bandwidth-limit", "frontend", "zz", "upload", "1mbps"],
                      "no frontend 'zz'")):
        rc, out = ctl(s, *bad)
        check(rc == 1 and why in out and out.count("\n") == 1, "%r: %s" % (bad, out))
    sp.stop()


@test
def test_set_bandwidth_limit_frontend_reaches_sessions_from_before_a_reload():
    """A session keeps the configuration it started with, and with it that
    configuration's bandwidth-limit lines: after a reload, 'set
    bandwidth-limit frontend' must change those too."""
    srv = Meter()
    sp, socks, front = start([("s1", srv.addr)], extra="    bandwidth-limit upload 400mbps\n")
    c = connect(front)
    stop = []
    t = threading.Thread(target=pump, args=(c, stop))
    t.start()
    wait_until(lambda: srv.got > 0, 10, "bytes through")
    sp.signal(signal.SIGHUP)
    sp.wait_log(r"reload #1 succeeded: .* 1 sessions continue")
    check(ctl(socks["admin"], "set", "bandwidth-limit", "frontend", "app", "upload", "8mbps") ==
          (0, ""), "set")
    time.sleep(0.5)
    r = srv.rate_over(2)
    stop.append(1)
    c.close()
    t.join(10)
    print("    after a reload, frontend at 8 Mbit/s: the older session reads %.2f Mbit/s"
          % (r / 1e6))
    check(6.5e6 < r < 9.5e6, "the session from before the reload reads %.1f Mbit/s"
          % (r / 1e6))
    sp.stop()


@test
def test_a_kernel_flow_cannot_be_shaped():
    if not SOCKMAP:
        raise Skip("the sockmap engine is not here")
    srv = Server(echo_handler)
    sp, socks, front = start([("s1", srv.addr)], extra="    engine sockmap\n")
    c = connect(front)
    c.sendall(b"x")
    check(recv_all(c, 1) == b"x", "echo")
    sid = sess_rows(socks["admin"])[0]["id"]
    rc, out = ctl(socks["admin"], "set", "bandwidth-limit", "session", sid, "upload", "1mbps")
    check(rc == 1 and "carried by the kernel" in out, out)
    c.close()
    sp.stop()


@test
def test_levels_are_enforced():
    a = named("a")
    sp, socks, _ = start([("a", a.addr)], levels=("user", "operator", "admin"))
    allowed = {
        "user": {"help", "show info", "show stat", "show sess", "show pools"},
        "operator": {"help", "show info", "show stat", "show sess", "show pools",
                     "disable server app/a",
                     "enable server app/a", "set server app/a state ready",
                     "disable frontend app", "enable frontend app"},
    }
    every = ["help", "show info", "show stat", "show sess", "show pools", "disable server app/a",
             "enable server app/a", "set server app/a state ready", "set server app/a weight 2",
             "shutdown session 12345", "shutdown sessions server app/a", "pause session 12345",
             "resume session 12345", "disable frontend app", "enable frontend app",
             "set maxconn frontend app 0", "set maxconn global 1000",
             "set bandwidth-limit session 12345 upload 1mbps"]
    for level, sock in socks.items():
        for cmd in every:
            rc, out = ctl(sock, *cmd.split())
            refused = "needs level" in out
            ok = level == "admin" or cmd in allowed[level]
            check(refused != ok, "%s at level %s: rc %d, %s" % (cmd, level, rc, out))
            if refused:
                check(rc == 1 and out.count("\n") == 1, out)
    sp.stop()


@test
def test_bad_input_gets_one_error_line_and_harms_nothing():
    srv = Server(echo_handler)
    sp, socks, front = start([("s1", srv.addr)])
    s = socks["admin"]
    c = connect(front)                      # a session that must live through it all
    c.sendall(b"before")
    check(recv_all(c, 6) == b"before", "echo")
    for data, want in ((b"bogus\n", "unknown command 'bogus'"),
                       (b"show\n", "'show' is not a whole command"),
                       (b"show info extra\n", "unknown argument 'extra'"),
                       (b"show foo\n", "no command has 'foo' after 'show'"),
                       (b"a" * 5000 + b"\n", "line too long"),
                       (b"a" * 9000, "line too long"),
                       (b"show\x00info\n", "NUL byte"),
                       (b"\xff\xfe\x80\n", "unknown command"),
                       (b" ".join([b"w"] * 40) + b"\n", "too many words"),
                       (b"show info", "Name: splicer"),           # no newline, then EOF
                       (b"\n", ""),
                       (b"show stat; show info\n", "Name: splicer")):
        s2 = socket.socket(socket.AF_UNIX)
        s2.settimeout(5)
        s2.connect(s)
        s2.sendall(data)
        if not data.endswith(b"\n") and b"a" * 9000 != data:
            s2.shutdown(socket.SHUT_WR)
        out = recv_all(s2).decode("utf-8", "replace")
        s2.close()
        check(want in out, "%r: %r" % (data[:30], out[:200]))
        if want and "error" in out:     # one line, then the blank line ending an answer
            check(out.count("\n") == 2 and out.startswith("error: ") and out.endswith("\n\n"),
                  repr(out))
    # A client that connects and says nothing holds nobody up.
    idle = socket.socket(socket.AF_UNIX)
    idle.connect(s)
    c.sendall(b"after")
    check(recv_all(c, 5) == b"after", "the session lived through it")
    check(ctl(s, "show", "info")[0] == 0, "still answering")
    idle.close()
    c.close()
    check(sp.stop() == 0, "exit code")


@test
def test_garbage_from_many_clients_leaves_a_stream_intact():
    """A 1 MiB line without newline, binary, clients that
    leave mid-answer, 100 at once, while 256 MiB go through a session."""
    srv = Server(lambda c: (c.sendall(sha(recv_all(c)).encode()), c.close()))
    sp, socks, front = start([("s1", srv.addr)], extra_global="    stats maxconn 200\n")
    s = socks["admin"]
    result = []

    def stream():
        c = connect(front, timeout=60)
        data = os.urandom(1 << 20)
        h = __import__("hashlib").sha256()
        for _ in range(256):
            c.sendall(data)
            h.update(data)
        c.shutdown(socket.SHUT_WR)
        result.append(recv_all(c).decode() == h.hexdigest())
        c.close()

    t = threading.Thread(target=stream)
    t.start()
    rnd = __import__("random").Random(3)
    garbage = [b"x" * (1 << 20), bytes(rnd.randrange(256) for _ in range(3000)) + b"\n",
               b"show stat\n", b"show sess\n", b"help\n"]

    def one(i):
        g = garbage[i % len(garbage)]
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(10)
        try:
            c.connect(s)
            c.sendall(g)
            if i % 3 == 0:
                c.close()                   # gone before the answer
                return
            recv_all(c)
        except OSError:
            pass                            # a reset after a refused line is fine
        c.close()

    ts = [threading.Thread(target=one, args=(i,)) for i in range(100)]
    [x.start() for x in ts]
    [x.join(30) for x in ts]
    t.join(120)
    check(result == [True], "the 256 MiB stream: %r" % result)
    check("Name: splicer" in ask(s, b"show info\n"), "still answering")
    check(sp.rss_kib() < (512 if SANITIZED else 64) * 1024, "RSS %d KiB" % sp.rss_kib())
    check(sp.stop() == 0, "exit code")


@test
def test_another_user_cannot_connect_and_user_level_cannot_shut_down():
    """Mode 0600, root's: nobody gets EACCES."""
    sp, socks, _ = start(levels=("user",))
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        sys.executable, "-c",
                        "import socket; s = socket.socket(socket.AF_UNIX); s.connect(%r)"
                        % socks["user"]], capture_output=True, text=True)
    check(p.returncode != 0 and "PermissionError" in p.stderr, p.stderr)
    rc, out = ctl(socks["user"], "shutdown", "session", "1")
    check(rc == 1 and "needs level admin" in out, out)
    sp.stop()


@test
def test_many_clients_at_once():
    sp, socks, _ = start(extra_global="    stats maxconn 100\n")
    s = socks["admin"]
    answers, lock = [], threading.Lock()

    def one():
        out = ask(s, b"show info\n")
        with lock:
            answers.append(out)

    ts = [threading.Thread(target=one) for _ in range(60)]
    [t.start() for t in ts]
    [t.join(20) for t in ts]
    check(len(answers) == 60 and all("Name: splicer" in a for a in answers),
          "%d answers" % len(answers))
    sp.stop()


@test
def test_stats_maxconn_and_timeout():
    """Past 'stats maxconn' a client is told to come back; a client that
    says nothing for 'stats timeout' is dropped."""
    sp, socks, _ = start(extra_global="    stats maxconn 2\n    stats timeout 300ms\n")
    s = socks["admin"]
    idle = []
    for _ in range(2):
        c = socket.socket(socket.AF_UNIX)
        c.connect(s)
        idle.append(c)
    time.sleep(0.1)
    out = ask(s, b"show info\n")
    check(out == "error: too many admin clients at once, try again\n", repr(out))
    t0 = time.time()
    for c in idle:
        c.settimeout(5)
        check(c.recv(10) == b"", "an idle client kept")
        c.close()
    check(0.15 < time.time() - t0 < 2, "dropped after %.2f s" % (time.time() - t0))
    check("Name: splicer" in ask(s, b"show info\n"), "answers again")
    sp.stop()


@test
def test_splicerctl_exit_status_and_usage():
    sp, socks, _ = start()
    check(ctl(socks["admin"], "show", "info")[0] == 0, "0 on an answer")
    check(ctl(socks["admin"], "no", "such")[0] == 1, "1 on an error answer")
    rc, out = ctl("/tmp/splicer-no-such.sock", "show", "info")
    check(rc == 2 and "cannot reach splicer at /tmp/splicer-no-such.sock" in out, out)
    p = subprocess.run([SPLICERCTL], capture_output=True, text=True)
    check(p.returncode == 2 and "usage" in p.stderr, p.stderr)
    p = subprocess.run([SPLICERCTL, "show", "info"], capture_output=True, text=True,
                       env=dict(os.environ, SPLICER_SOCKET=socks["admin"]))
    check(p.returncode == 0 and "Name: splicer" in p.stdout, "SPLICER_SOCKET")
    sp.stop()


# ---- the stats file and splicerctl top ----

HEADER = struct.Struct("=QIIIIIIIIQIIIIQQQQiIQQQQQ32s")
PROXY = struct.Struct("=II64sQQQQQQQQQ")


def read_record(buf, off, st):
    """A seqlock read of one record: (fields) or None if it kept moving."""
    for _ in range(1000):
        s1 = struct.unpack_from("=I", buf, off)[0]
        if s1 & 1:
            continue
        rec = st.unpack_from(buf, off)
        if struct.unpack_from("=I", buf, off)[0] == s1:
            return rec
    return None


def stats_conf_start(servers, path):
    return start(servers, extra_global="    stats file %s\n" % path)


@test
def test_stats_file_is_read_consistently_during_load():
    """A separate reader maps the file read-only while 4 sessions upload:
    every snapshot is whole, counters never go back, and at the end the
    frontend's upload count is every byte sent."""
    srv = Server(lambda c: recv_all(c))
    path = "/tmp/splicer-admin-%d/stats-%d" % (os.getpid(), free_port())
    sp, socks, front = stats_conf_start([("s1", srv.addr)], path)
    f = open(path, "rb")
    buf = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    h = HEADER.unpack_from(buf, 0)
    magic, version, hsize, psize = h[0], h[1], h[2], h[3]
    check(magic == 0x31544154534c5053 and version == 1 and hsize == HEADER.size and
          psize == PROXY.size, "header %r" % (h[:8],))
    nproxies, proxies_off = h[10], h[14]
    check(nproxies == 1 and h[18] == sp.pid, "layout %r" % (h,))
    size = 8 << 20

    def upload():
        c = connect(front)
        for _ in range(size // 65536):
            c.sendall(b"u" * 65536)
            time.sleep(0.002)
        c.close()

    ts = [threading.Thread(target=upload) for _ in range(4)]
    [t.start() for t in ts]
    seen, last, torn = 0, -1, 0
    while any(t.is_alive() for t in ts):
        r = read_record(buf, proxies_off, PROXY)
        if r is None:
            torn += 1
            continue
        name, up = r[2].rstrip(b"\0").decode(), r[6]
        check(name == "app" and up >= last, "snapshot %r after %d" % (r, last))
        last = up
        seen += 1
        time.sleep(0.01)
    [t.join() for t in ts]
    wait_until(lambda: read_record(buf, proxies_off, PROXY)[6] == 4 * size, 5,
               "the final count in the file")
    check(seen > 20 and torn == 0, "%d snapshots, %d torn" % (seen, torn))
    print("    %d consistent snapshots of a frontend during 4 x 8 MB uploads" % seen)
    buf.close()
    f.close()
    sp.stop()
    check(not os.path.exists(path), "the file is removed at stop")


@test
def test_top_refuses_another_version_and_other_files():
    srv = Server(echo_handler)
    d = "/tmp/splicer-admin-%d" % os.getpid()
    path = "%s/stats-%d" % (d, free_port())
    sp, socks, front = stats_conf_start([("s1", srv.addr)], path)
    data = bytearray(open(path, "rb").read())
    struct.pack_into("=I", data, 8, 2)
    other = path + ".v2"
    with open(other, "wb") as f:
        f.write(data)
    p = subprocess.run([SPLICERCTL, "top", "-f", other, "-n", "1"], capture_output=True, text=True)
    check(p.returncode == 2 and "layout version 2; this splicerctl reads version 1" in p.stderr,
          p.stderr)
    with open(other, "wb") as f:
        f.write(b"hello, not stats at all" * 10)
    p = subprocess.run([SPLICERCTL, "top", "-f", other, "-n", "1"], capture_output=True, text=True)
    check(p.returncode == 2 and "is not a splicer stats file" in p.stderr, p.stderr)
    p = subprocess.run([SPLICERCTL, "top", "-f", d + "/nope", "-n", "1"], capture_output=True,
                       text=True)
    check(p.returncode == 2 and "cannot open the stats file" in p.stderr, p.stderr)
    os.unlink(other)
    sp.stop()


@test
def test_top_under_a_terminal_shows_frontends_servers_and_sessions():
    """splicerctl top in a pty (script -qc), quit with q."""
    srv = Server(lambda c: recv_all(c))
    path = "/tmp/splicer-admin-%d/stats-%d" % (os.getpid(), free_port())
    sp, socks, front = stats_conf_start([("s1", srv.addr), ("s2", srv.addr)], path)
    c = connect(front)
    stop = []
    t = threading.Thread(target=pump, args=(c, stop))
    t.start()
    p = subprocess.Popen(["script", "-qec", "%s top -f %s" % (SPLICERCTL, path), "/dev/null"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    on_cleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
    # Read its frames until one (complete: the next one has begun) shows
    # the session moving, rather than quitting after a fixed time.
    sess = r"^\d+\s+app\s+127\.0\.0\.1:\d+\s+splice\s+\d+s\s+(\S+)"
    out, found = bytearray(), []
    os.set_blocking(p.stdout.fileno(), False)

    def moving_frame():
        try:
            while True:
                b = os.read(p.stdout.fileno(), 65536)
                if not b:
                    break
                out.extend(b)
        except BlockingIOError:
            pass
        frames = out.decode("utf-8", "replace").split("\x1b[H\x1b[2J")[1:-1]
        for f in frames:
            m = re.search(sess, f, re.M)
            if "FRONTEND" in f and m and m.group(1) != "0":
                found.append(f)
                return True
        return p.poll() is not None
    wait_until(moving_frame, 20, "a frame of top showing the session moving")
    p.stdin.write(b"q")
    p.stdin.flush()
    os.set_blocking(p.stdout.fileno(), True)
    try:
        rest, _ = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        rest, _ = p.communicate()
        check(False, "top did not quit on q: %r" % rest[-300:])
    stop.append(1)
    c.close()
    t.join(10)
    check(found, "top exited before a frame showed the session: %r" % bytes(out[-600:]))
    last = found[0]
    check(p.returncode == 0, "exit %d" % p.returncode)
    lines = last.replace("\r", "").rstrip("\n").split("\n")
    check(len(lines) <= 24 and all(len(l) <= 80 for l in lines), "not 80x24: %r" % lines)
    check(re.search(r"^app\s+OPEN\s+1 ", last, re.M), last)
    check(re.search(r"^app/s1\s+UP ", last, re.M) and re.search(r"^app/s2\s+UP ", last, re.M),
          last)
    m = re.search(sess, last, re.M)
    check(m and m.group(1) not in ("0",), "the session and its rate: %s" % last)
    print("    top, last frame:\n      " + "\n      ".join(lines[:12]))
    sp.stop()


if __name__ == "__main__":
    run()
