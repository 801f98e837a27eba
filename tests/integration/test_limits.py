"""maxconn and fd exhaustion: accepting pauses, never refuses, never spins."""
import os
import resource
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Server, params, Splicer, addr, base_conf, check, connect, echo_handler, free_port,
                     recv_all, run, test, wait_until, SANITIZED)


@test
def test_global_maxconn_pauses_accepting_instead_of_refusing():
    def handler(c):
        time.sleep(0.3)
        echo_handler(c)
    srv = Server(handler)
    port = free_port()
    sp = Splicer(base_conf(addr(port), srv.addr, "splice", global_extra="    maxconn 5\n"))
    results = []

    def one(i):
        try:
            s = connect(addr(port), timeout=20)
            s.sendall(b"%d" % i)
            s.shutdown(socket.SHUT_WR)
            got = recv_all(s)
            results.append(True if got == b"%d" % i else (i, got, s.getsockname()))
            s.close()
        except OSError as e:
            results.append(repr(e))
    ts = [threading.Thread(target=one, args=(i,)) for i in range(30)]
    [t.start() for t in ts]
    [t.join(30) for t in ts]
    bad = [r for r in results if r is not True]
    check(not bad, "clients not served: %r; their log lines: %r" % (bad[:5], [
        l for l in sp.sessions() for b in bad if isinstance(b, tuple) and
        l["client"].endswith(":%d" % b[2][1])]))
    # splicer's own count at each session's end (the server's view races
    # with its threads' teardown).
    ac = max(l["ac"] for l in sp.wait_sessions(30))
    check(ac == 5, "at most %d sessions at once, want exactly maxconn 5" % ac)
    check(srv.max_active >= 5, "maxconn never reached upstream (max %d)" % srv.max_active)
    sp.stop()


@test
def test_frontend_maxconn_limits_its_own_sessions():
    def handler(c):
        time.sleep(0.2)
        echo_handler(c)
    srv = Server(handler)
    port = free_port()
    sp = Splicer(base_conf(addr(port), srv.addr, extra="    maxconn 3\n"))
    ok = []

    def one():
        s = connect(addr(port), timeout=20)
        s.sendall(b"x")
        s.shutdown(socket.SHUT_WR)
        ok.append(recv_all(s) == b"x")
    ts = [threading.Thread(target=one) for _ in range(12)]
    [t.start() for t in ts]
    [t.join(30) for t in ts]
    fc = max(l["fc"] for l in sp.wait_sessions(12))
    check(ok.count(True) == 12 and fc == 3, "ok %d, frontend sessions at most %d" % (ok.count(True), fc))
    sp.stop()


@test
def test_rate_limit_sessions_paces_new_sessions():
    """rate-limit sessions 10 with 30 clients at once: 10 at once, then 10
    per second; nobody is refused."""
    srv = Server(echo_handler)
    port = free_port()
    sp = Splicer(base_conf(addr(port), srv.addr, extra="    rate-limit sessions 10\n"))
    done = []
    t0 = time.time()

    def one(i):
        s = connect(addr(port), timeout=20)
        s.sendall(b"r")
        s.shutdown(socket.SHUT_WR)
        if recv_all(s) == b"r":
            done.append(time.time() - t0)
        s.close()
    ts = [threading.Thread(target=one, args=(i,)) for i in range(30)]
    [t.start() for t in ts]
    [t.join(20) for t in ts]
    done.sort()
    check(len(done) == 30, "%d of 30 served" % len(done))
    early = sum(1 for d in done if d < 0.35)
    check(10 <= early <= 14, "%d sessions in the first 0.35 s (burst 10, then 10/s)" % early)
    check(done[-1] >= 1.7, "all 30 served after %.2fs; 10/s needs ~2 s" % done[-1])
    print("    first 0.35 s: %d sessions; last served at %.2f s" % (early, done[-1]))
    sp.stop()


# Two fd limits of different parity: with one of them, accept() can take
# the last fd and leave none for the server side.
@params(64, 65)
def test_out_of_fds_pauses_accept_without_spinning_and_resumes(nofile):
    """With 64 fds and maxconn 1000, accept() fails with EMFILE. splicer
    must pause (CPU stays low), keep existing sessions working, and accept
    again once fds are freed. No retries: a client accepted must get its
    server socket at the first try."""
    srv = Server(echo_handler)
    port = free_port()

    def lowfd():
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    sp = Splicer(base_conf(addr(port), srv.addr, global_extra="    maxconn 1000\n    nbthread 2\n",
                           extra="    retries 0\n"),
                 preexec=lowfd)
    check("maxconn 1000 needs" in sp.log(), "no fd budget warning:\n" + sp.log())
    # The first client is served before the others come (with several
    # threads, any listener may take the fds first).
    clients = [connect(addr(port))]
    clients[0].sendall(b"first")
    check(clients[0].recv(10) == b"first", "the first session did not echo")
    for _ in range(44):                       # 2 fds each: more than 64 allow
        clients.append(connect(addr(port)))
    sp.wait_log("pausing accepts", 5)
    cpu0, t0 = sp.cpu_seconds(), time.time()
    time.sleep(2)
    cpu = (sp.cpu_seconds() - cpu0) / (time.time() - t0)
    check(cpu < 0.10 if not SANITIZED else cpu < 0.3, "splicer used %.0f%% CPU while out of fds" % (cpu * 100))
    # An early client still relays.
    clients[0].sendall(b"alive")
    check(clients[0].recv(10) == b"alive", "existing session stalled")
    # Free fds: everything queued in the backlog gets served.
    for c in clients[:25]:
        c.close()
    late = clients[25:]
    for c in late:
        c.sendall(b"late")
    for c in late:
        c.settimeout(5)
        check(c.recv(10) == b"late", "a client from the backlog was not served")
        c.close()
    lines = sp.log().count("pausing accepts")
    refused = sp.log().count(" RC ")
    print("    CPU while paused %.1f%%, %d pause log lines, %d sessions without a server "
          "socket" % (cpu * 100, lines, refused))
    check(lines <= 5, "the pause was logged %d times" % lines)
    # Each worker holds an fd back for the server side of what it accepts.
    check(refused == 0, "%d accepted clients found no fd for their server" % refused)
    sp.stop()


run()
