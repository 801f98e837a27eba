"""Active health checks: a server that stops answering is taken down and
gets no new session; when it answers again it comes back."""
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (SPLICER, Server, Splicer, check, free_port, recv_all, run, test, wait_until,
                     connect, addr)

SPLICERCTL = os.environ.get("SPLICERCTL", os.path.join(os.path.dirname(SPLICER), "splicerctl"))


class Switchable:
    """A named server on a fixed port that can stop and start listening."""

    def __init__(self, name):
        self.name = name.encode()
        self.port = free_port()
        self.sock = None
        self.start()

    def start(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.sock = s
        threading.Thread(target=self._loop, args=(s,), daemon=True).start()

    def _loop(self, s):
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            try:
                c.sendall(self.name)
                c.close()
            except OSError:
                pass

    def stop(self):
        # shutdown() first: it wakes the thread blocked in accept(), which
        # would otherwise keep the socket listening (a bare connect check
        # never completes a handshake for accept() to return).
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def ask(port):
    s = connect(addr(port))
    try:
        return recv_all(s).decode()
    finally:
        s.close()


@test
def test_server_down_gets_no_session_and_comes_back():
    a, b = Switchable("a"), Switchable("b")
    port = free_port()
    sp = Splicer("global\n    log stderr local0 info\n"
                 "defaults\n    mode tcp\n    timeout connect 500ms\n"
                 "    timeout client 5s\n    timeout server 5s\n    timeout check 300ms\n"
                 "listen app\n    bind 127.0.0.1:%d\n    balance roundrobin\n"
                 "    default-server check inter 200ms rise 2 fall 2\n"
                 "    server a 127.0.0.1:%d\n    server b 127.0.0.1:%d\n"
                 % (port, a.port, b.port))
    check(sorted(set(ask(port) for _ in range(6))) == ["a", "b"], "both serve at first")
    t0 = time.time()
    a.stop()
    sp.wait_log(r"Server app/a is DOWN, reason: Layer4 connection problem", 5)
    down_after = time.time() - t0
    # fall 2 at inter 200 ms (fastinter = inter): about 0.2 to 0.6 s.
    check(down_after < 2.0, "marked down after %.2fs" % down_after)
    check(set(ask(port) for _ in range(10)) == {"b"}, "a still gets sessions while down")
    t1 = time.time()
    a.start()
    sp.wait_log(r"Server app/a is UP", 5)
    check(time.time() - t1 < 2.0, "back up after %.2fs" % (time.time() - t1))
    check(set(ask(port) for _ in range(6)) == {"a", "b"}, "a gets no session once up again")
    print("    down after %.2f s, up again after %.2f s" % (down_after, time.time() - t1))
    a.stop()
    b.stop()
    sp.stop()


@test
def test_all_servers_down_closes_clients_promptly():
    a = Switchable("a")
    port = free_port()
    sp = Splicer("global\n    log stderr local0 info\n"
                 "defaults\n    mode tcp\n    log global\n    option tcplog\n"
                 "    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"
                 "listen app\n    bind 127.0.0.1:%d\n"
                 "    server a 127.0.0.1:%d check inter 100ms fall 1 rise 1\n" % (port, a.port))
    a.stop()
    sp.wait_log("Server app/a is DOWN", 3)
    t0 = time.time()
    check(ask(port) == "", "served by a down server")
    check(time.time() - t0 < 0.5, "close took %.2fs" % (time.time() - t0))
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "SC" and "no server available" in l["reason"], repr(l))
    sp.stop()


def ctl(sock, *words):
    p = subprocess.run([SPLICERCTL, "-s", sock] + list(words), capture_output=True, text=True,
                       timeout=10)
    check(p.returncode == 0, p.stdout + p.stderr)
    return p.stdout


def status(sock, server):
    """The status column of show stat for app/server."""
    lines = ctl(sock, "show", "stat").strip().splitlines()
    head = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(head, l.split(","))) for l in lines[1:]]
    return next(r["status"] for r in rows if r["pxname"] == "app" and r["svname"] == server)


def admin_splicer(servers, inter_ms, rise, fall):
    port = free_port()
    sock = "/tmp/splicer-health-%d-%d.sock" % (os.getpid(), port)
    sp = Splicer("global\n    log stderr local0 info\n    stats socket %s level admin\n"
                 "defaults\n    mode tcp\n    timeout connect 500ms\n"
                 "    timeout client 5s\n    timeout server 5s\n    timeout check 300ms\n"
                 "listen app\n    bind 127.0.0.1:%d\n"
                 "    default-server check inter %dms rise %d fall %d\n%s"
                 % (sock, port, inter_ms, rise, fall, servers))
    wait_until(lambda: os.path.exists(sock), 5, "the admin socket")
    return sp, sock, port


@test
def test_leaving_maintenance_hands_the_server_back_to_its_checks():
    """A dead server put in maintenance and enabled again stays DOWN: its
    checks hold it down, not the admin; show stat says which one does."""
    inter, rise, fall = 100, 2, 2
    a, b = Switchable("a"), Switchable("b")
    sp, sock, port = admin_splicer("    server a 127.0.0.1:%d\n    server b 127.0.0.1:%d\n"
                                   % (a.port, b.port), inter, rise, fall)
    bound = (inter * (rise + fall) + 300 * fall) / 1000.0 + 2   # inter x fall, plus timeouts
    ctl(sock, "disable", "server", "app/a")
    check(status(sock, "a") == "MAINT", status(sock, "a"))
    a.stop()
    sp.wait_log(r"Server app/a is DOWN", bound)
    check(status(sock, "a") == "MAINT", "maintenance wins over DOWN: " + status(sock, "a"))
    for words in (("enable", "server", "app/a"), ("set", "server", "app/a", "state", "ready")):
        ctl(sock, *words)
        check(status(sock, "a") == "DOWN", "%s made it %s" % (" ".join(words), status(sock, "a")))
        check(set(ask(port) for _ in range(6)) == {"b"}, "a dead server got sessions")
        ctl(sock, "set", "server", "app/a", "state", "drain")
        check(status(sock, "a") == "DOWN", "drain over a failed check: " + status(sock, "a"))
    ctl(sock, "set", "server", "app/a", "state", "ready")
    # Back to life: the checks, not the admin, bring it up, rise checks later.
    a.start()
    sp.wait_log(r"Server app/a is UP", bound)
    check(status(sock, "a").startswith("UP"), status(sock, "a"))
    check(set(ask(port) for _ in range(6)) == {"a", "b"}, "a is up and gets no session")
    a.stop()
    b.stop()
    sp.stop()


@test
def test_disabled_server_with_failing_checks_stays_down_when_enabled():
    inter, rise, fall = 100, 2, 2
    b = Switchable("b")
    dead = free_port()
    sp, sock, port = admin_splicer("    server a 127.0.0.1:%d disabled\n    server b 127.0.0.1:%d\n"
                                   % (dead, b.port), inter, rise, fall)
    sp.wait_log(r"Server app/a is DOWN", (inter * fall + 300 * fall) / 1000.0 + 2)
    check(status(sock, "a") == "MAINT", status(sock, "a"))
    ctl(sock, "enable", "server", "app/a")
    check(status(sock, "a") == "DOWN", status(sock, "a"))
    check(set(ask(port) for _ in range(6)) == {"b"}, "the dead server got sessions")
    b.stop()
    sp.stop()


@test
def test_status_shows_the_checks_on_their_way():
    """While failures pile up on an up server, show stat says "UP n/fall"."""
    inter, rise, fall = 100, 2, 100
    a = Switchable("a")
    sp, sock, port = admin_splicer("    server a 127.0.0.1:%d\n" % a.port, inter, rise, fall)
    check(status(sock, "a") == "UP", status(sock, "a"))
    a.stop()
    wait_until(lambda: status(sock, "a").startswith("UP ") and status(sock, "a") != "UP",
               (inter + 300) * 3 / 1000.0 + 2, "UP n/%d" % fall)
    n, f = status(sock, "a")[3:].split("/")
    check(int(f) == fall and 0 < int(n) < fall, status(sock, "a"))
    sp.stop()


run()
