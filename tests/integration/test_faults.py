"""Faults (the fault tier): a lossy, reordering, rate-limited path between
network namespaces; an upstream killed mid-transfer; system calls failing
by injection (tests/faultshim.c, an LD_PRELOAD library); running out of
fds and of pipes; CLOCK_REALTIME jumping under a running session. Each
case runs on every engine, and every stream is checked with sha256.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

from harness import (SANITIZED, SOCKMAP, Faults, Skip, Splicer, addr, base_conf,
                     TEST_TIMEOUT, check, connect, cpu_share, free_port, on_cleanup, per_engine, run, slow,
                     wait_until)
import traffic
from traffic import PeerServer, Session

MIB = 1 << 20
# A spinning process shows ~100% of a core; one that sleeps between
# events a few percent even with both cores busy (more under ASan).
CPU_IDLE = 0.3 if SANITIZED else 0.1


def report(case, engine, sessions, extra=""):
    print("    %s[%s]: %d sessions, %.1f MiB, 0 mismatches%s" %
          (case, engine, len(sessions), traffic.bytes_of(sessions) / MIB, extra))


def terms(spl):
    return [l["term"] for l in spl.sessions()]


def settled(spl, base):
    """Back at the baseline: the same sockets and other fds as at the
    start (empty pipes may stay pooled for the next sessions)."""
    def ok():
        k = spl.fd_kinds()
        # A worker's spare socket, spent on a fault, is made again when
        # that worker next accepts: fewer sockets than at the start is fine.
        return k["socket"] <= base["socket"] and k["other"] == base["other"]
    wait_until(ok, 10, "fds back at %s (now %s)" % (base, spl.fd_kinds()))


def uses_splice(engine):
    """Does a session of this engine call splice(2) (and take pipes)?"""
    return engine in ("splice", "auto") or (engine == "sockmap" and not SOCKMAP)


def spliced_throughout(engine):
    """Is splice(2) its data path from start to end? (auto moves to the
    kernel after its first bytes, when sockmap is there.)"""
    return engine == "splice" or (engine in ("sockmap", "auto") and not SOCKMAP)


# ---- a lossy, reordering, rate-limited path ----

def chaos_path(tag):
    """client ns <-> splicer ns <-> server ns over two veth pairs. In the
    splicer's namespace, both ways: 2% of TCP packets dropped (nftables
    numgen), one in eight sent through a slower htb class (so it leaves
    after packets sent later: reordering), all under a rate limit."""
    for tool in ("nft", "tc", "ip"):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            raise Skip("%s is not installed" % tool)
    base = "sf%d%s" % (os.getpid() % 10000, tag)
    c, s, u = (traffic.NetNs(base + x) for x in ("c", "s", "u"))
    traffic.veth(c, "10.14.1.1", s, "10.14.1.2", base + "x")
    traffic.veth(s, "10.14.2.1", u, "10.14.2.2", base + "y")
    c.sh("ip route add default via 10.14.1.2")
    u.sh("ip route add default via 10.14.2.1")
    for dev in (base + "xb", base + "ya"):
        s.sh("tc qdisc add dev %s root handle 1: htb default 10" % dev)
        s.sh("tc class add dev %s parent 1: classid 1:1 htb rate 400mbit" % dev)
        s.sh("tc class add dev %s parent 1:1 classid 1:10 htb rate 300mbit ceil 400mbit" % dev)
        s.sh("tc class add dev %s parent 1:1 classid 1:20 htb rate 10mbit ceil 20mbit" % dev)
    rules = os.path.join(tempfile.mkdtemp(prefix="chaos-"), "chaos.nft")
    with open(rules, "w") as f:
        f.write("table inet chaos {\n"
                " chain in { type filter hook input priority 0;\n"
                "  meta l4proto tcp numgen random mod 100 < 2 counter drop\n }\n"
                " chain out { type filter hook output priority 0;\n"
                "  meta l4proto tcp numgen random mod 100 < 2 counter drop\n"
                "  meta l4proto tcp numgen random mod 8 == 0 meta priority set 1:20\n }\n"
                "}\n")
    s.sh("nft -f " + rules)
    return c, s, u


def chaos_figures(s):
    out = s.sh("nft list table inet chaos")
    drops = sum(int(w) for w in re.findall(r"packets (\d+) bytes \d+ drop", out))
    nstat = s.sh("nstat -az TcpExtTCPOFOQueue TcpRetransSegs")
    vals = {l.split()[0]: int(l.split()[1]) for l in nstat.splitlines()
            if l.startswith(("Tcp", "TcpExt"))}
    return drops, vals.get("TcpExtTCPOFOQueue", 0), vals.get("TcpRetransSegs", 0)


def lossy_path(engine, n, size, timeout):
    """n sessions x size bytes each way through the chaos path: every
    sha256 equal, every session ends with "--"."""
    c, s, u = chaos_path(engine[:2])
    srv = u.socket_in(lambda: PeerServer(host="10.14.2.2"))
    target = "10.14.1.2:15000"
    spl = Splicer(base_conf(target, srv.addr, engine,
                            timeouts=dict(connect="5s", client="60s", server="60s")),
                  wrap=["ip", "netns", "exec", s.name])
    sessions = [Session(target, i, size, size, timeout=timeout,
                        make_socket=lambda: c.socket_in(lambda: connect(target, 30)))
                for i in range(n)]
    t0 = time.monotonic()
    traffic.run_all(sessions, timeout)
    for x in sessions:
        x.check(srv)
    lines = spl.wait_sessions(len(sessions), 10)
    check(all(l["term"] == "--" for l in lines), "terminations %s" % terms(spl))
    drops, ofo, retrans = chaos_figures(s)
    check(drops > 0, "nftables dropped nothing: the path was not lossy")
    report("lossy", engine, sessions,
           "; %d packets dropped, %d out-of-order queued, %d retransmitted, %.1fs" %
           (drops, ofo, retrans, time.monotonic() - t0))
    spl.stop()


@per_engine
def test_lossy_reordering_path_loses_no_byte(engine):
    """4 sessions x 2 MiB each way through 2% loss each way and reordering
    on both legs."""
    lossy_path(engine, 4, 2 * MIB, 100)


@per_engine
@slow
def test_lossy_path_long(engine):
    """The long version: 32 sessions x 16 MiB each way."""
    lossy_path(engine, 32, 16 * MIB, TEST_TIMEOUT - 20)


# ---- an upstream killed mid-transfer ----

KILLABLE = r"""
import socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
print(l.getsockname()[1], flush=True)
c, _ = l.accept()
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
buf = b"k" * 65536
while True:
    c.sendall(buf)
    c.recv(4096)        # reads slowly: bytes stay queued, so its death resets
    time.sleep(0.002)
"""


@per_engine
def test_upstream_killed_mid_transfer(engine):
    """The server process dies by SIGKILL while both ways are busy: its
    client is reset or closed within seconds, the log line says SD, fds
    return to where they were, and the sessions beside it lose nothing."""
    peer = subprocess.Popen([sys.executable, "-c", KILLABLE], stdout=subprocess.PIPE, text=True)
    on_cleanup(lambda: (peer.poll() is None and peer.kill(), peer.wait()))
    kport = int(peer.stdout.readline())
    srv = PeerServer(pace=0.01)
    fa, fb = free_port(), free_port()
    conf = base_conf(addr(fa), srv.addr, engine) + \
        "listen doomed\n    bind %s\n    server k %s\n    engine %s\n" % (
            addr(fb), addr(kport), engine)
    spl = Splicer(conf)
    base = spl.fd_kinds()
    gate = threading.Event()
    others = [Session(addr(fa), i, 2 * MIB, 2 * MIB, pace=0.01, gate=gate).start()
              for i in range(3)]
    k = connect(addr(fb), 30)
    got, stop = [0], []

    def pump():
        try:
            while not stop:
                k.sendall(b"x" * 16384)
        except OSError:
            pass
    threading.Thread(target=pump, daemon=True).start()
    while got[0] < MIB:
        b = k.recv(65536)
        check(b, "the killable server's stream ended early")
        got[0] += len(b)
    check(all(not o.done.is_set() for o in others), "the other sessions ended too soon")
    peer.send_signal(signal.SIGKILL)
    peer.wait()
    gate.set()
    t0 = time.monotonic()
    k.settimeout(15)
    try:
        while k.recv(65536):
            pass
        ended = "EOF"
    except ConnectionResetError:
        ended = "reset"
    gone = time.monotonic() - t0
    stop.append(1)
    k.close()
    check(gone < 10, "the client learnt of its server's death after %.1fs" % gone)
    lines = [l for l in spl.wait_sessions(1, 10) if l["frontend"] == "doomed"]
    check(lines and lines[0]["term"] == "SD", "doomed session logged %s" % lines)
    traffic.run_all(others, 90)
    for o in others:
        o.check(srv)
    spl.wait_sessions(4, 10)
    check(all(l["term"] == "--" for l in spl.sessions() if l["frontend"] == "app"),
          "the other sessions: %s" % terms(spl))
    settled(spl, base)
    report("killed", engine, others, "; the client saw %s after %.2fs, log %s" %
           (ended, gone, lines[0]["term"]))
    spl.stop()


# ---- system calls failing ----

def fault_run(engine, rules, n=6, size=MIB, extra="", global_extra="", check_all=True,
              unlogged=None, malloc=False):
    """splicer under the shim with `rules` switched on while n sessions
    run, then off; then n more sessions. Returns (splicer, faults,
    sessions during the fault, sessions after). unlogged: a message of
    splicer's log that stands for a connection refused before it became
    a session (so it has no session line). malloc: the shim that wraps the
    allocator too."""
    fl = Faults(malloc)
    srv = PeerServer(pace=0.002)
    port = free_port()
    spl = Splicer(base_conf(addr(port), srv.addr, engine, extra=extra, global_extra=global_extra),
                  env=fl.env)
    base = spl.fd_kinds()
    fl.set(*rules)
    during = [Session(addr(port), i, size, size, pace=0.002) for i in range(n)]
    traffic.run_all(during, 90)
    fl.set()
    if check_all:
        for x in during:
            x.check(srv)
    after = [Session(addr(port), 100 + i, size, size) for i in range(n)]
    traffic.run_all(after, 90)
    for x in after:
        x.check(srv)
    spl.wait_sessions(2 * n - (spl.log().count(unlogged) if unlogged else 0), 10)
    settled(spl, base)
    return spl, fl, srv, during, after


@per_engine
def test_splice_enomem_filling_falls_back_to_copy(engine):
    """splice(socket -> pipe) failing with ENOMEM (kernel memory short):
    nothing was taken from the socket, so the flow carries on with the
    copy engine, logged once; every byte arrives, nothing is reset."""
    spl, fl, srv, during, after = fault_run(engine, ["FAULT_SPLICE=ENOMEM:in:every=5:count=40"])
    hit = fl.injected()
    check(bool(hit) == uses_splice(engine), "%d splice faults injected" % len(hit))
    check(all(t == "--" for t in terms(spl)), "terminations %s" % terms(spl))
    fb = spl.log().count("falls back to the copy engine")
    check(fb == (1 if hit else 0), "fallback logged %d times" % fb)
    report("splice-ENOMEM-in", engine, during + after, "; %d faults" % len(hit))
    spl.stop()


@per_engine
def test_splice_failing_to_write_ends_only_that_session(engine):
    """splice(pipe -> socket) failing once with ENOMEM while the pipe holds
    bytes: that session ends (both sides reset, "RD", one log line, its
    pipe destroyed); every other session is intact; new ones work."""
    spl, fl, srv, during, after = fault_run(engine, ["FAULT_SPLICE=ENOMEM:out:after=20:count=1"],
                                            check_all=False)
    hit = fl.injected()
    check(len(hit) == 1 if spliced_throughout(engine) else
          len(hit) <= (1 if uses_splice(engine) else 0), "%d splice faults" % len(hit))
    t = terms(spl)
    check(t.count("RD") == len(hit) and t.count("--") == len(t) - len(hit),
          "terminations %s" % t)
    failed = [l for l in spl.sessions() if l["term"] == "RD"]
    for x in during:
        if failed and x.err is not None:
            x.check_prefix(srv)
        else:
            x.check(srv)
    check(spl.log().count("engine failed") == len(hit), "log:\n" + spl.log()[-2000:])
    report("splice-ENOMEM-out", engine, during + after, "; %d faults, %d session reset"
           % (len(hit), len(failed)))
    spl.stop()


@per_engine
def test_spurious_eagain_and_eintr_stall_nothing(engine):
    """splice and send answering EAGAIN every third call, recv EINTR every
    fourth, though the socket is ready: level-triggered events bring the
    flow back, so nothing stalls, nothing is lost, and nothing is logged
    as a failure."""
    spl, fl, srv, during, after = fault_run(engine, [
        "FAULT_SPLICE=EAGAIN:every=3", "FAULT_SEND=EAGAIN:every=3", "FAULT_RECV=EINTR:every=4"])
    hit = fl.injected()
    check(hit, "no fault injected")
    check(all(t == "--" for t in terms(spl)), "terminations %s" % terms(spl))
    report("EAGAIN/EINTR", engine, during + after, "; %d faults" % len(hit))
    spl.stop()


@per_engine
def test_short_reads_and_writes_lose_nothing(engine):
    """Every recv, send and splice moving one byte a call, as a congested
    peer allows: sha256 intact both ways, every session ends "--"; a
    session left open afterwards costs no CPU (nothing half-moved keeps
    the loop awake); with the rule gone, full-size I/O again."""
    fl = Faults()
    srv = PeerServer(pace=0.002)
    port = free_port()
    spl = Splicer(base_conf(addr(port), srv.addr, engine), env=fl.env)
    base = spl.fd_kinds()
    fl.set("FAULT_SHORT=1")
    during = [Session(addr(port), i, 48 * 1024, 48 * 1024, pace=0.002) for i in range(3)]
    traffic.run_all(during, 120)
    for x in during:
        x.check(srv)
    # On sockmap the kernel may carry every byte: then no call is made to shorten.
    check(any(l.startswith("SHORT") for l in fl.injected()) or (engine == "sockmap" and SOCKMAP),
          "no call was shortened")
    idle = Session(addr(port), 50, 0, 0, mode=traffic.IDLE).start()
    wait_until(lambda: srv.accepted > len(during), 10, "idle session at the server")
    share = cpu_share(spl, 1.0)
    check(share < CPU_IDLE, "an idle session after short I/O costs %.0f%% of a core" % (100 * share))
    fl.set()
    after = [Session(addr(port), 100 + i, MIB, MIB) for i in range(3)]
    traffic.run_all(after, 90)
    for x in after:
        x.check(srv)
    check(all(t == "--" for t in terms(spl)), "terminations %s" % terms(spl))
    report("short-I/O", engine, during + after, "; idle after: %.1f%% of a core" % (100 * share))
    spl.stop()
    check(idle.done.wait(10), "the idle session did not end when splicer stopped")


@per_engine
def test_malloc_failing_closes_sessions_not_the_process(engine):
    """malloc, calloc and realloc answering NULL every other call while
    sessions come and go: the process survives, a session that cannot get
    memory ends (or is refused) cleanly, the others lose no byte; with
    memory back, every new session is whole and fds return to the start."""
    if SANITIZED:
        raise Skip("ASan's allocator comes before any LD_PRELOAD malloc")
    spl, fl, srv, during, after = fault_run(
        engine, ["FAULT_MALLOC=ENOMEM:every=2"], n=12, size=256 * 1024, check_all=False,
        unlogged="out of memory for a new session", malloc=True)
    hit = [l for l in fl.injected() if l.startswith("MALLOC")]
    check(hit, "no allocation failed")
    check(spl.proc.poll() is None, "splicer died under malloc failures")
    for x in during:
        if x.err is None and len(x.got) == x.down:
            x.check(srv)
        else:
            x.check_prefix(srv)
    report("malloc-NULL", engine, during + after, "; %d allocations failed, %d sessions refused"
           % (len(hit), spl.log().count("out of memory for a new session")))
    spl.stop()


@per_engine
def test_pipe2_failing_falls_back_to_copy(engine):
    """No pipe to be had (pipe2 ENFILE, the system's file table full):
    sessions move by copy, logged once, every byte intact; once pipes
    can be made again, new sessions splice."""
    spl, fl, srv, during, after = fault_run(engine, ["FAULT_PIPE2=ENFILE"])
    hit = fl.injected()
    check(bool(hit) == uses_splice(engine), "%d pipe2 faults" % len(hit))
    check(all(t == "--" for t in terms(spl)), "terminations %s" % terms(spl))
    lines = spl.sessions()
    if hit:
        check(spl.log().count("no pipe available") == 1, "fallback not logged once")
        check(any("copy" in l["engine"] for l in lines[:len(during)]) or
              not spliced_throughout(engine), "nobody fell back")
    report("pipe2-ENFILE", engine, during + after, "; %d faults" % len(hit))
    spl.stop()


@per_engine
def test_accept4_failing_pauses_and_resumes(engine):
    """accept4 failing with EMFILE, then ECONNABORTED: the listener pauses
    (no spin) and resumes; every client is served in the end."""
    fl = Faults()
    srv = PeerServer()
    port = free_port()
    spl = Splicer(base_conf(addr(port), srv.addr, engine), env=fl.env)
    fl.set("FAULT_ACCEPT4=EMFILE:count=3", "FAULT_SOCKET=EMFILE:count=0")
    first = [Session(addr(port), i, 256 * 1024, 256 * 1024) for i in range(4)]
    traffic.run_all(first, 60)
    fl.set("FAULT_ACCEPT4=ECONNABORTED:every=2:count=4")
    second = [Session(addr(port), 10 + i, 256 * 1024, 256 * 1024) for i in range(4)]
    traffic.run_all(second, 60)
    fl.set("FAULT_ACCEPT4=EMFILE")
    stuck = Session(addr(port), 50, 64 * 1024, 64 * 1024).start()
    spl.wait_log("pausing accepts", 10)
    cpu = traffic.cpu_over(spl, 1.0)
    check(cpu < CPU_IDLE, "%.0f%% CPU while accept4 fails" % (cpu * 100))
    check(not stuck.done.is_set(), "served while accept4 failed")
    fl.set()
    traffic.run_all([stuck], 30)
    for x in first + second + [stuck]:
        x.check(srv)
    hit = fl.injected()
    check(len([h for h in hit if "EMFILE" in h]) >= 3, "faults %s" % hit)
    pauses = spl.log().count("pausing accepts")
    check(pauses <= 6, "the pause was logged %d times" % pauses)
    report("accept4", engine, first + second + [stuck],
           "; %d faults, %d pause lines, %.1f%% CPU while failing" % (len(hit), pauses, cpu * 100))
    spl.stop()


@per_engine
def test_socket_failing_after_accept(engine):
    """No fd for the server side (socket EMFILE) after a client was
    accepted: the worker's spare fd carries it, and while socket keeps
    failing, accepting pauses; nothing spins, no byte is lost, no fd
    leaks, and sessions flow again once sockets can be made."""
    fl = Faults()
    srv = PeerServer()
    port = free_port()
    spl = Splicer(base_conf(addr(port), srv.addr, engine, extra="    retries 0\n"), env=fl.env)
    base = spl.fd_kinds()
    fl.set("FAULT_SOCKET=EMFILE")
    sessions = [Session(addr(port), i, 256 * 1024, 256 * 1024, timeout=60).start()
                for i in range(4)]
    wait_until(lambda: len(fl.injected()) >= 1, 10, "a socket fault")
    cpu = traffic.cpu_over(spl, 1.0)
    check(cpu < CPU_IDLE, "%.0f%% CPU while socket fails" % (cpu * 100))
    fl.set()
    traffic.run_all(sessions, 60)
    lines = spl.wait_sessions(4, 10)
    refused = [l for l in lines if l["term"] != "--"]
    for x in sessions:
        if x.err is None:
            x.check(srv)
    check(all(l["term"] == "RC" for l in refused), "terminations %s" % terms(spl))
    check(len(refused) == sum(1 for x in sessions if x.err is not None or not x.got),
          "%d refused, clients: %s" % (len(refused), [repr(x.err) for x in sessions]))
    settled(spl, base)
    after = [Session(addr(port), 100 + i, 256 * 1024, 256 * 1024) for i in range(3)]
    traffic.run_all(after, 60)
    for x in after:
        x.check(srv)
    report("socket-EMFILE", engine, sessions + after, "; %d faults, %d refused (RC), "
           "%.1f%% CPU while failing" % (len(fl.injected()), len(refused), cpu * 100))
    spl.stop()


# ---- out of fds, out of pipes ----

@per_engine
def test_out_of_fds_and_pipes_loses_nothing(engine):
    """The fd limit lowered under a running splicer to a few above what it
    holds, and maxpipes 2: 10 sessions at once cannot all have sockets and
    pipes. Accepting pauses, flows without a pipe copy, every byte
    arrives, splicer does not spin, and it all recovers."""
    srv = PeerServer(pace=0.002)
    port = free_port()
    spl = Splicer(base_conf(addr(port), srv.addr, engine, global_extra="    maxpipes 2\n"))
    base = spl.fd_kinds()
    r = subprocess.run(["prlimit", "--pid", str(spl.pid), "--nofile=%d:" % (spl.fds() + 9)],
                       capture_output=True, text=True)
    check(r.returncode == 0, "prlimit: " + r.stderr)
    sessions = [Session(addr(port), i, MIB, MIB, pace=0.002, timeout=90).start()
                for i in range(10)]
    cpu = traffic.cpu_over(spl, 1.0)
    traffic.run_all(sessions, 90)
    for x in sessions:
        x.check(srv)
    check(all(t == "--" for t in terms(spl)), "terminations %s" % terms(spl))
    subprocess.run(["prlimit", "--pid", str(spl.pid), "--nofile=4096:"], check=True)
    after = [Session(addr(port), 100 + i, MIB, MIB) for i in range(4)]
    traffic.run_all(after, 60)
    for x in after:
        x.check(srv)
    settled(spl, base)
    # Paced transfers cost a few percent; a spin takes a whole core, or
    # two thirds of one beside two busy loops.
    check(cpu < 0.4, "%.0f%% CPU while out of fds" % (cpu * 100))
    report("out-of-fds", engine, sessions + after, "; %s pause lines, %d fallbacks lines, "
           "%.0f%% CPU while short" % (spl.log().count("pausing accepts"),
                                       spl.log().count("no pipe available"), cpu * 100))
    spl.stop()


# ---- a clock jump ----

@per_engine
def test_realtime_jump_changes_no_timeout_or_rate(engine):
    """CLOCK_REALTIME jumps an hour forward, then a day back, under running
    sessions: a session idle for less than its timeout survives, one idle
    for more is ended on time, and a shaped session keeps its rate (a
    token bucket refilled from the wall clock would burst or stall)."""
    fl = Faults()
    srv = PeerServer()
    port, sport = free_port(), free_port()
    conf = base_conf(addr(port), srv.addr, engine, timeouts=dict(client="3s", server="30s")) + \
        ("listen shaped\n    bind %s\n    server s1 %s\n    engine %s\n"
         "    bandwidth-limit download 4mbps\n" % (addr(sport), srv.addr, engine))
    spl = Splicer(conf, env=fl.env)
    idle = connect(addr(port), 20)
    t_idle = time.monotonic()
    shaped = Session(addr(sport), 1, 4096, 1 * MIB).start()
    s = connect(addr(port), 20)
    s.sendall(traffic.HDR.pack(2, 0, traffic.FIN))
    s.sendall(b"a" * 1000)
    time.sleep(1.0)
    fl.set("FAULT_REALTIME_OFFSET=3600")
    time.sleep(1.0)
    fl.set("FAULT_REALTIME_OFFSET=-86400")
    s.sendall(b"b" * 1000)
    s.shutdown(1)
    check(s.recv(10) == b"", "the jumped session did not end cleanly")
    s.close()
    idle.settimeout(20)
    try:
        rest = idle.recv(10)
    except ConnectionResetError:
        rest = b""
    idle_for = time.monotonic() - t_idle
    check(rest == b"", "the idle session got bytes")
    check(idle_for >= 2.9, "the idle session was ended after %.1fs (timeout 3s)" % idle_for)
    traffic.run_all([shaped], 30)
    shaped.check(srv)
    took = shaped.t1 - shaped.t0
    check(took >= 0.8 * MIB * 8 / 4e6, "1 MiB at 4 Mbit/s took %.2fs" % took)
    lines = spl.wait_sessions(3, 10)
    by_term = sorted(l["term"] for l in lines)
    check(by_term == ["--", "--", "cD"], "terminations %s" % by_term)
    check(srv.got[2][0] == 2000, "server got %s" % (srv.got[2],))
    # The offset did reach splicer: the lines it logged after the jump
    # carry yesterday's date.
    yesterday = time.strftime("%b %e ", time.localtime(time.time() - 86400))
    check(any(l.startswith(yesterday) for l in spl.log().splitlines()),
          "no log line dated %r: the clock jump did not happen" % yesterday)
    report("clock-jump", engine, [shaped], "; idle session ended after %.1fs (3s), "
           "shaped 1 MiB in %.2fs" % (idle_for, took))
    spl.stop()


run()
