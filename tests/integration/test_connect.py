"""Upstream connect failures, retries, and clients that leave early."""
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Server, Splicer, accept_queue, addr, check, connect, echo_handler,
                     free_port, per_engine, recv_all, reset_close, run, test, wait_until)


def conf(port, server, connect_to="500ms", retries=2, engine="splice", more=""):
    return ("global\n    log stderr local0 info\n"
            "listen app\n    bind 127.0.0.1:%d\n    server s1 %s\n    engine %s\n"
            "    option tcplog\n    log global\n    retries %d\n"
            "    timeout connect %s\n    timeout client 10s\n    timeout server 10s\n%s"
            % (port, server, engine, retries, connect_to, more))


def blackhole():
    """A listener whose accept queue is full: new SYNs are dropped, so
    connects to it neither succeed nor fail until they time out."""
    srv = Server(backlog=0, backlog_only=True)
    fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", srv.port))
        fillers.append(c)
    wait_until(lambda: (accept_queue(srv.port) or 0) >= 1, 5, "the black hole's accept queue to fill")
    return srv, fillers


@test
def test_refused_upstream_closes_client_after_every_try():
    dead = free_port()                       # nothing listens there
    port = free_port()
    sp = Splicer(conf(port, addr(dead), "500ms", 2))
    s = connect(addr(port))
    t0 = time.time()
    check(recv_all(s) == b"", "data from nowhere")
    dt = time.time() - t0
    # 3 tries, each refused at once, 2 turn-arounds of min(500ms, 1s).
    check(0.9 <= dt <= 2.5, "client closed after %.2fs, expected ~1s" % dt)
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "SC", "termination %s" % l["term"])
    check("failed after 3 tries: Connection refused" in l["reason"], "reason %r" % l["reason"])
    check(l["retries"] == 2, "retries field %d" % l["retries"])
    sp.stop()


@test
def test_unanswered_connect_closes_client_after_timeout_connect_times_tries():
    bh, fillers = blackhole()
    port = free_port()
    sp = Splicer(conf(port, bh.addr, "600ms", 1))
    s = connect(addr(port))
    t0 = time.time()
    check(recv_all(s) == b"", "data from nowhere")
    dt = time.time() - t0
    check(1.1 <= dt <= 1.8, "client closed after %.2fs, expected 2 x 600ms" % dt)
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "sC", "termination %s (%s)" % (l["term"], l["reason"]))
    check("timeout connect (600ms)" in l["reason"] and "after 2 tries" in l["reason"],
          "reason %r" % l["reason"])
    sp.stop()
    for f in fillers:
        f.close()


@test
def test_client_reset_during_connect_ends_session_at_once():
    bh, fillers = blackhole()
    port = free_port()
    sp = Splicer(conf(port, bh.addr, "5s", 0))
    base = sp.fds()
    s = connect(addr(port))
    wait_until(lambda: sp.fds() == base + 2, 5, "the client's socket and the connecting one")
    reset_close(s)
    l = sp.wait_sessions(1, timeout=2)[0]
    check(l["term"] == "CC", "termination %s (%s)" % (l["term"], l["reason"]))
    wait_until(lambda: sp.fds() == base, 2, "client and server sockets to close")
    sp.stop()
    for f in fillers:
        f.close()


@test
def test_retry_reaches_server_that_comes_up():
    """The first try is refused; the server starts listening during the
    turn-around; the second try serves the client."""
    port = free_port()
    up = free_port()
    sp = Splicer(conf(port, addr(up), "800ms", 3), args=["-d"])
    s = connect(addr(port))
    s.sendall(b"ping")
    s.shutdown(socket.SHUT_WR)
    sp.wait_log(r"connect to 127\.0\.0\.1:%d failed \(Connection refused\)" % up)
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", up))
    lsock.listen(5)
    lsock.settimeout(5)
    c, _ = lsock.accept()
    check(recv_all(c) == b"ping", "request lost across the retry")
    c.sendall(b"pong")
    c.close()
    check(recv_all(s) == b"pong", "answer lost")
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "--" and l["retries"] >= 1, "log %r" % l)
    lsock.close()
    sp.stop()


@per_engine
def test_thousand_sessions_with_aborts_leave_no_fd_behind(engine):
    """1,000 sessions: whole echoes, resets mid-transfer, closes without
    reading, and aborts (close or reset) while the upstream connect is
    still pending. Afterwards splicer holds exactly the fds it had."""
    echo = Server(echo_handler)
    bh, fillers = blackhole()
    p1, p2 = free_port(), free_port()
    sp = Splicer("global\n    log stderr local0 info\n"
                 "defaults\n    mode tcp\n    log global\n    option tcplog\n    retries 0\n"
                 "    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n"
                 "    engine %s\n"
                 "listen ok\n    bind 127.0.0.1:%d\n    server e %s\n"
                 "listen slow\n    bind 127.0.0.1:%d\n    server b %s\n"
                 % (engine, p1, echo.addr, p2, bh.addr))
    time.sleep(0.2)
    base = sp.fd_kinds()
    rnd = random.Random(1000)
    errors = []

    def one(k):
        try:
            kind = k % 5
            if kind in (0, 1):                       # abort while connecting
                s = connect(addr(p2))
                time.sleep(rnd.random() * 0.05)
                reset_close(s) if kind == 0 else s.close()
                return
            s = connect(addr(p1))
            data = os.urandom(rnd.randint(1, 300000))
            if kind == 2:                            # full echo
                t = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
                t.start()
                got = recv_all(s)
                t.join()
                if got != data:
                    errors.append("echo %d/%d" % (len(got), len(data)))
                s.close()
            elif kind == 3:                          # reset mid-transfer
                s.sendall(data[:len(data) // 2 + 1])
                s.recv(1)
                reset_close(s)
            else:                                    # close without reading
                s.sendall(data)
                s.close()
        except OSError as e:
            errors.append(repr(e))

    for i in range(0, 1000, 50):
        ts = [threading.Thread(target=one, args=(k,)) for k in range(i, i + 50)]
        [t.start() for t in ts]
        [t.join(30) for t in ts]
    check(not errors, "%d client errors: %r" % (len(errors), errors[:5]))
    sp.wait_sessions(1000, timeout=30)
    # Sockets back to the baseline; pipes only as many as the pool keeps
    # empty (at most one per flow that ran at once).
    wait_until(lambda: sp.fd_kinds()["socket"] == base["socket"], 10,
               "sockets back to %d (now %r)" % (base["socket"], sp.fd_kinds()))
    k = sp.fd_kinds()
    check(k["other"] == base["other"], "fds other than sockets and pipes: %r -> %r" % (base, k))
    check(k["pipe"] % 2 == 0 and k["pipe"] <= 2 * 100, "pipe fds: %d" % k["pipe"])
    terms = {}
    for l in sp.sessions():
        terms[l["term"]] = terms.get(l["term"], 0) + 1
    print("    terminations: %r" % terms)
    check(sp.stop() == 0, "exit code")
    for f in fillers:
        f.close()


if __name__ == "__main__":
    run()
