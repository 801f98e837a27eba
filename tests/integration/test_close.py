"""Half-close, resets and timeouts through the real binary, per engine."""
import errno
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Server, Splicer, addr, base_conf, check, connect, free_port, outq,
                     per_engine, recv_all, reset_close, run, tcp_established, test, wait_until)


def setup(engine, handler, timeouts=None, extra=""):
    srv = Server(handler)
    port = free_port()
    sp = Splicer(base_conf(addr(port), srv.addr, engine, extra=extra, timeouts=timeouts))
    return srv, sp, addr(port)


@per_engine
def test_client_half_close_then_late_answer_arrives(engine):
    """The client sends and half-closes; the server answers 300 ms after
    seeing that FIN; the client must receive the whole answer, then EOF."""
    answer = os.urandom(200000)

    def handler(c):
        req = recv_all(c)                   # until the forwarded FIN
        time.sleep(0.3)
        c.sendall(answer + req)
        c.shutdown(socket.SHUT_WR)
    srv, sp, a = setup(engine, handler)
    s = connect(a)
    s.sendall(b"question")
    s.shutdown(socket.SHUT_WR)
    t0 = time.time()
    got = recv_all(s)
    check(got == answer + b"question", "answer altered: %d bytes" % len(got))
    check(time.time() - t0 >= 0.29, "answer came before the server's delay")
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "--", "termination %s (%s)" % (l["term"], l["reason"]))
    sp.stop()


@per_engine
def test_server_half_close_then_client_keeps_sending(engine):
    """Mirror: the server sends a greeting and half-closes first; the
    client goes on sending 8 MB, which must all reach the server."""
    got = []

    def handler(c):
        c.sendall(b"hello")
        c.shutdown(socket.SHUT_WR)
        got.append(recv_all(c))
    srv, sp, a = setup(engine, handler)
    s = connect(a)
    check(recv_all(s) == b"hello", "greeting lost")          # EOF forwarded
    data = os.urandom(8 << 20)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    wait_until(lambda: got, 10, "the server to read to EOF")
    check(got[0] == data, "server got %d of %d bytes" % (len(got[0]), len(data)))
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "--", "termination %s" % l["term"])
    s.close()
    sp.stop()


@per_engine
def test_server_reset_reaches_client_as_reset(engine):
    def handler(c):
        c.recv(100)
        c.sendall(b"partial")
        time.sleep(0.1)
        reset_close(c)
    srv, sp, a = setup(engine, handler)
    s = connect(a)
    s.sendall(b"go")
    got, err = b"", None
    t0 = time.time()
    try:
        while True:
            b = s.recv(100)
            if not b:
                break
            got += b
    except ConnectionResetError as e:
        err = e
    check(err is not None, "client saw a clean EOF instead of a reset")
    check(got == b"partial", "bytes sent before the reset lost: %r" % got)
    check(time.time() - t0 < 2, "reset took %.1fs" % (time.time() - t0))
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "SD", "termination %s (%s)" % (l["term"], l["reason"]))
    sp.stop()


@per_engine
def test_reset_forwarded_only_after_bytes_are_acknowledged(engine):
    """The server writes 1 MiB and close()s with unread input, so its
    kernel sends a reset. The client reads late: it must still get the
    whole 1 MiB, then the reset (the reset follows the bytes
    received before it). A linger-0 close while bytes wait unacknowledged
    in splicer's send queue would discard them.
    The server closes only once splicer has acknowledged all of its bytes:
    its own kernel discards what is still in its send queue when it
    resets (a stalled path once left 791552 bytes there, which no proxy
    could deliver). The client reads once splicer's socket to the server
    has taken the reset."""
    data = os.urandom(1 << 20)
    closed = []

    def handler(c):
        c.recv(10)                 # the rest of the request stays unread
        c.sendall(data)
        wait_until(lambda: outq(c) == 0, 30, "splicer to acknowledge the server's bytes")
        closed.append(("%s:%d" % c.getpeername(), "%s:%d" % c.getsockname()))
        c.close()
    srv, sp, a = setup(engine, handler)
    s = connect(a)
    s.sendall(b"GET" + b"x" * 5000)
    wait_until(lambda: closed and not tcp_established(*closed[0]), 40,
               "the server's reset to reach splicer")
    got, reset = b"", False
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except ConnectionResetError:
        reset = True
    check(len(got) == len(data) and got == data, "client got %d of %d bytes" % (len(got), len(data)))
    check(reset, "the reset was not forwarded")
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "SD" and l["down"] == len(data), "log %r" % l)
    sp.stop()


@per_engine
def test_client_reset_reaches_server_as_reset(engine):
    seen = []

    def handler(c):
        try:
            data = b""
            while True:
                b = c.recv(65536)
                if not b:
                    seen.append(("eof", data))
                    return
                data += b
        except ConnectionResetError:
            seen.append(("reset", data))
    srv, sp, a = setup(engine, handler)
    s = connect(a)
    s.sendall(b"before-reset")
    time.sleep(0.2)
    reset_close(s)
    wait_until(lambda: seen, 5, "the server to see the end")
    check(seen[0] == ("reset", b"before-reset"), "server saw %r" % (seen[0],))
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "CD", "termination %s (%s)" % (l["term"], l["reason"]))
    sp.stop()


@per_engine
def test_plain_close_is_not_turned_into_a_reset(engine):
    """Upstream writes 1 MiB and close()s with nothing unread: the client
    gets every byte and a clean EOF (Envoy #45190 class)."""
    data = os.urandom(1 << 20)

    def handler(c):
        c.sendall(data)
        c.close()
    srv, sp, a = setup(engine, handler)
    s = connect(a)
    try:
        got = recv_all(s)
    except ConnectionResetError:
        raise AssertionError("client got a reset")
    check(got == data, "got %d of %d bytes" % (len(got), len(data)))
    s.close()
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "--", "termination %s (%s)" % (l["term"], l["reason"]))
    sp.stop()


@per_engine
def test_idle_client_closed_by_timeout_client(engine):
    srv, sp, a = setup(engine, lambda c: recv_all(c), timeouts={"client": "1s", "server": "1s"})
    s = connect(a)
    t0 = time.time()
    check(recv_all(s) == b"", "unexpected data")
    dt = time.time() - t0
    check(0.9 <= dt <= 2.5, "closed after %.2fs, expected ~1s" % dt)
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "cD", "termination %s (%s)" % (l["term"], l["reason"]))
    check("client idle for 1s" in l["reason"], "reason %r" % l["reason"])
    sp.stop()


@per_engine
def test_server_that_never_reads_is_closed_by_timeout_server(engine):
    """Upstream accepts and never reads: the client's sends stall, no
    memory grows, and the session ends at timeout server with sD."""
    srv, sp, a = setup(engine, lambda c: time.sleep(30),
                       timeouts={"client": "30s", "server": "1500ms"})
    s = connect(a)
    s.settimeout(0.2)
    sent = 0
    rss0 = sp.rss_kib()
    chunk = b"x" * 65536
    t0 = time.time()
    while time.time() - t0 < 5:
        try:
            sent += s.send(chunk)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            break
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "sD", "termination %s (%s)" % (l["term"], l["reason"]))
    check(sent < 64 << 20, "the client could push %d bytes into a stalled server" % sent)
    check(sp.rss_kib() - rss0 < 8192, "RSS grew while the server stalled")
    print("    %d bytes accepted before the stall" % sent)
    sp.stop()


@per_engine
def test_lifetime_ends_a_busy_session(engine):
    stop = []

    def handler(c):
        while not stop:
            try:
                c.sendall(b"t" * 1000)
            except OSError:
                return
            time.sleep(0.01)
    srv, sp, a = setup(engine, handler, timeouts={"lifetime": "1500ms"})
    s = connect(a)
    t0 = time.time()
    try:
        recv_all(s)
    except ConnectionResetError:
        pass
    dt = time.time() - t0
    stop.append(1)
    check(1.4 <= dt <= 2.5, "session lived %.2fs, expected 1.5s" % dt)
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "PD" and "timeout lifetime (1500ms)" in l["reason"],
          "log %s %r" % (l["term"], l["reason"]))
    sp.stop()


@test
def test_tunnel_timeout_replaces_client_and_server_once_connected():
    srv, sp, a = setup("splice", lambda c: recv_all(c),
                       timeouts={"client": "30s", "server": "30s", "tunnel": "800ms"})
    s = connect(a)
    s.sendall(b"hi")
    t0 = time.time()
    check(recv_all(s) == b"", "unexpected data")
    dt = time.time() - t0
    check(0.7 <= dt <= 2.0, "closed after %.2fs, expected ~0.8s" % dt)
    l = sp.wait_sessions(1)[0]
    check(l["term"] in ("cD", "sD") and "800ms" in l["reason"], "log %r" % l)
    sp.stop()


@per_engine
def test_client_fin_timeout_bounds_the_idle_half(engine):
    """The server half-closes; the client keeps its half open and idle.
    timeout client-fin (1s) ends it, not timeout client (30s)."""
    def handler(c):
        c.sendall(b"bye")
        c.shutdown(socket.SHUT_WR)
        recv_all(c)
    srv, sp, a = setup(engine, handler, timeouts={"client": "30s", "client-fin": "1s"})
    s = connect(a)
    t0 = time.time()
    check(recv_all(s) == b"bye", "greeting lost")
    l = sp.wait_sessions(1, timeout=5)[0]
    dt = time.time() - t0
    check(l["term"] == "cD", "termination %s (%s)" % (l["term"], l["reason"]))
    check(dt < 3, "took %.1fs" % dt)
    s.close()
    sp.stop()


@test
def test_zero_length_sessions_leave_one_log_line_each():
    srv = Server(lambda c: recv_all(c))
    port = free_port()
    sp = Splicer(base_conf(addr(port), srv.addr))
    for i in range(20):
        s = connect(addr(port))
        if i % 2:
            reset_close(s)
        else:
            s.close()
    logs = sp.wait_sessions(20)
    time.sleep(0.3)
    check(len(sp.sessions()) == 20, "%d log lines for 20 sessions" % len(sp.sessions()))
    terms = sorted(set(l["term"] for l in logs))
    check(set(terms) <= {"--", "CD", "CC"}, "terminations %r" % terms)
    sp.stop()


run()
