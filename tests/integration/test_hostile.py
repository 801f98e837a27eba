"""Hostile peers and admin clients: nothing a peer sends or withholds,
and nothing an admin client asks and never reads, may make splicer spin
a core, lose a byte or grow without bound, nor slow the data path."""
import fcntl
import os
import random
import resource
import socket
import struct
import sys
import termios
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (SANITIZED, Server, Splicer, addr, check, connect, cpu_share, echo_handler,
                     free_port, on_cleanup, per_engine, recv_all, run, sha, test, wait_until)

# 1,000 idle sessions take 2,000 fds here and 2,000 in splicer (which
# inherits the limit).
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _soft < 8192:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(8192, _hard), _hard))

# A session that sleeps costs nothing; one that spins takes most of a core
# even on a machine whose cores are all busy (CPU time, not wall time).
IDLE_MAX = 0.05


def conf(listens, engine="splice", global_extra=""):
    """listens: (name, port, server address, extra lines)."""
    if engine == "auto":
        global_extra += "    tune.sockmap.promote-bytes 64k\n"
    out = ("global\n    log stderr local0 info\n    stats socket %s level admin\n%s"
           "defaults\n    mode tcp\n    log global\n    option tcplog\n"
           "    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n"
           % (ADMIN, global_extra))
    for name, port, server, extra in listens:
        out += ("listen %s\n    bind 127.0.0.1:%d\n    server s1 %s\n    engine %s\n%s"
                % (name, port, server, engine, extra))
    return out


ADMIN = "/tmp/splicer-hostile-%d.sock" % os.getpid()


def admin(line, timeout=10):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(ADMIN)
    s.sendall(line.encode() + b"\n")
    out = recv_all(s).decode()
    s.close()
    # Every answer ends with a blank line, as HAProxy's: not part of it.
    return out[:-1] if out == "\n" or out.endswith("\n\n") else out


def sessions(timeout=10):
    # An answer ends with a blank line, as HAProxy's do.
    lines = [l for l in admin("show sess", timeout).splitlines() if l.strip()]
    head = lines[0].lstrip("# ").split()
    return [dict(zip(head, l.split())) for l in lines[1:]]


def sessions_of(frontend):
    return [r for r in sessions() if r["frontend"] == frontend]


def unacked(s):
    """Bytes (and FIN) the socket sent that its peer has not acknowledged."""
    return struct.unpack("i", fcntl.ioctl(s, termios.TIOCOUTQ, b"\0\0\0\0"))[0]


def pump(s, n, then_shut=False):
    """Send n bytes from a thread (it may block for ever: that is the point)."""
    def go():
        try:
            s.sendall(b"p" * n)
            if then_shut:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    threading.Thread(target=go, daemon=True).start()


def small_rcvbuf(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)


def hold_handler(stop, send=0):
    """An upstream that never reads (its window closes) and may send."""
    def handler(c):
        if send:
            try:
                c.sendall(b"d" * send)
            except OSError:
                pass
        stop.wait(120)
    return handler


def urgent_handler(stop, got):
    def handler(c):
        got.append(recv_all(c, 2001))
        c.sendall(b"a" * 1000)
        c.send(b"!", socket.MSG_OOB)
        c.sendall(b"b" * 1000)
        stop.wait(120)
    return handler


def halfclose_handler(stop):
    def handler(c):
        recv_all(c)                      # the client's FIN; then say nothing
        stop.wait(120)
    return handler


def settled(window=0.3):
    """Wait until no session's byte counts change over a window (the
    shaped one still moves, slowly)."""
    last = [None]

    def same():
        c = sorted((r["id"], r["bytes_up"], r["bytes_down"]) for r in sessions()
                   if r["frontend"] != "shaped")
        ok = c == last[0]
        last[0] = c
        if not ok:
            time.sleep(window)
        return ok
    wait_until(same, 20, "sessions to stop moving bytes")


@per_engine
def test_no_session_spins_while_nothing_moves(engine):
    """Every event the data path can be woken for and not consume must end
    in progress, a close or sleep: a session after an urgent byte, upstream
    and client zero windows, a FIN behind bytes that cannot be delivered,
    a half-closed session, a client reset pending behind a full pipe, a
    flow shaped to 1 KB/s and a paused session with bytes queued both
    ways. While they sit there, splicer's CPU stays near zero."""
    stop = threading.Event()
    got_urg = []
    servers = {
        "urgent": Server(urgent_handler(stop, got_urg)),
        "zerowin": Server(hold_handler(stop, send=4 << 20)),
        "fin": Server(hold_handler(stop)),
        "half": Server(halfclose_handler(stop)),
        "reset": Server(hold_handler(stop)),
        "shaped": Server(hold_handler(stop)),
        "paused": Server(hold_handler(stop)),
    }
    for name in ("zerowin", "fin", "reset", "shaped", "paused"):
        small_rcvbuf(servers[name].sock)
    ports = {n: free_port() for n in servers}
    extra = {n: "" for n in servers}
    extra["shaped"] = "    bandwidth-limit upload 8kbps\n"
    sp = Splicer(conf([(n, ports[n], servers[n].addr, extra[n]) for n in servers], engine))
    on_cleanup(stop.set)

    def client(name, rcvbuf=None):
        return connect(addr(ports[name]), timeout=30, rcvbuf=rcvbuf)

    urg = client("urgent")
    urg.sendall(b"a" * 1000)
    urg.send(b"!", socket.MSG_OOB)
    urg.sendall(b"b" * 1000)
    check(recv_all(urg, 2001) == b"a" * 1000 + b"!" + b"b" * 1000, "urgent byte, downstream")
    wait_until(lambda: got_urg, 10, "the upstream's urgent bytes")
    check(got_urg[0] == b"a" * 1000 + b"!" + b"b" * 1000, "urgent byte, upstream")

    zw = client("zerowin", rcvbuf=4096)  # neither side reads
    pump(zw, 8 << 20)
    fin = client("fin")
    pump(fin, 8 << 20, then_shut=True)
    half = client("half")
    half.sendall(b"h" * 1000)
    half.shutdown(socket.SHUT_WR)
    rst = client("reset")
    rst.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    pump(rst, 8 << 20)
    shaped = client("shaped")
    pump(shaped, 1 << 20)
    paused = client("paused")
    paused.sendall(b"x")
    wait_until(lambda: sessions_of("paused") and
               sessions_of("paused")[0]["state"] == "established", 10, "paused session up")
    out = admin("pause session %s" % sessions_of("paused")[0]["id"])
    check(out == "", out)
    pump(paused, 1 << 20)
    wait_until(lambda: all(sessions_of(n) for n in servers if n != "reset"), 10,
               "every session")
    wait_until(lambda: sum(int(r["bytes_up"]) for r in sessions_of("reset")) > 0, 10,
               "the reset session to carry bytes")
    time.sleep(0.2)                      # let the pumps fill what they can
    rst.close()                          # a reset while its bytes cannot be delivered
    settled()
    share = cpu_share(sp, 2.0)
    rows = admin("show sess")
    print("    CPU while %d sessions wait: %.1f%% of a core"
          % (len(rows.splitlines()) - 1, share * 100))
    check(share < IDLE_MAX, "splicer used %.0f%% of a core while no byte moved:\n%s"
          % (share * 100, rows))
    stop.set()
    sp.stop()


@per_engine
def test_urgent_byte_right_before_the_fin(engine):
    """The urgent mark is the last thing before the FIN in splicer's
    receive queue (the session was paused while both arrived): the kernel's
    splice returns 0 there, as at the end of the stream, though bytes
    remain. Every byte must still arrive, then the FIN."""
    got = []

    def handler(c):
        got.append(recv_all(c))
        c.shutdown(socket.SHUT_WR)
    srv = Server(handler)
    port = free_port()
    sp = Splicer(conf([("app", port, srv.addr, "")], engine))
    s = connect(addr(port))
    s.sendall(b"s")
    wait_until(lambda: sessions_of("app") and sessions_of("app")[0]["state"] == "established",
               10, "session up")
    check(admin("pause session %s" % sessions_of("app")[0]["id"]) == "", "pause")
    rnd = random.Random(3)
    a, b = rnd.randbytes(20000), rnd.randbytes(20000)
    s.sendall(a)
    s.send(b"!", socket.MSG_OOB)
    s.sendall(b)
    s.shutdown(socket.SHUT_WR)
    wait_until(lambda: unacked(s) == 0, 10, "splicer's kernel to hold every byte and the FIN")
    check(admin("resume session %s" % sessions_of("app")[0]["id"]) == "", "resume")
    check(recv_all(s) == b"", "bytes after the end")
    want = b"s" + a + b"!" + b
    wait_until(lambda: got, 10, "the upstream's EOF")
    check(sha(got[0]) == sha(want), "upstream got %d of %d bytes" % (len(got[0]), len(want)))
    s.close()
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "--" and l["up"] == len(want), "log %r" % l)
    sp.stop()


def idle_crowd(port, n):
    """n clients connected through splicer to an upstream that holds them."""
    cs = []
    for _ in range(n):
        cs.append(socket.create_connection(("127.0.0.1", port), timeout=10))
    return cs


def flood(line, n):
    """n admin clients that send one line and never read."""
    out = []
    for _ in range(n):
        c = socket.socket(socket.AF_UNIX)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.connect(ADMIN)
        c.sendall(line)
        out.append(c)
    return out


def ping_ms(port):
    t0 = time.monotonic()
    s = connect(addr(port), timeout=10)
    s.sendall(b"p")
    check(s.recv(1) == b"p", "ping echoed")
    s.close()
    return (time.monotonic() - t0) * 1000


def queued(c):
    """Bytes waiting in a client's receive queue."""
    return struct.unpack("i", fcntl.ioctl(c, termios.FIONREAD, b"\0\0\0\0"))[0]


@test
def test_admin_clients_that_never_read_are_bounded_and_do_not_slow_the_data_path():
    """Ten admin clients each send a line of repeated 'show sess' (64, the
    most a line may hold) on 1,000 idle sessions, ten more a 4 KB line of
    'show sess;' and ten a 4 KB line of 'help;', and none of them reads.
    An answer waits for its reader in bounded memory (production stops
    while the client's output is full), so splicer's RSS stays within a
    fixed margin of what it was with the idle sessions alone, and a ping
    through another frontend stays fast meanwhile. A reading client then
    gets every session once."""
    hold = Server(backlog=4096, backlog_only=True)
    echo = Server(echo_handler)
    idle_port, ping_port = free_port(), free_port()
    sp = Splicer(conf([("idle", idle_port, hold.addr, ""), ("ping", ping_port, echo.addr, "")],
                      global_extra="    stats timeout 120s\n    stats maxconn 40\n"
                      "    nbthread 2\n"))
    crowd = idle_crowd(idle_port, 1000)
    on_cleanup(lambda: [c.close() for c in crowd])
    wait_until(lambda: sum(r["state"] == "established" for r in sessions(30)) == 1000, 60,
               "1,000 idle sessions")
    base = max(ping_ms(ping_port) for _ in range(5))
    rss0 = sp.rss_kib()
    # Pings all along, from before the first admin client to after the last
    # answer stopped growing.
    pings, done = [], threading.Event()

    def pinger():
        while not done.is_set():
            pings.append(ping_ms(ping_port))
            time.sleep(0.01)
    t = threading.Thread(target=pinger, daemon=True)
    t.start()
    on_cleanup(done.set)
    clients = flood(b"show sess;" * 64 + b"\n", 10)
    clients += flood((b"show sess;" * 410)[:4095] + b"\n", 10)
    clients += flood((b"help;" * 820)[:4095] + b"\n", 10)
    on_cleanup(lambda: [c.close() for c in clients])
    # Wait until every answer has started and splicer stopped producing:
    # what the clients hold no longer grows.
    last = [None]

    def still():
        q = [queued(c) for c in clients]
        ok = q == last[0] and all(q)
        last[0] = q
        if not ok:
            time.sleep(0.3)
        return ok
    wait_until(still, 60, "the answers to stop growing")
    time.sleep(0.2)                      # a few more pings while they sit there
    done.set()
    t.join(10)
    rss1 = sp.rss_kib()
    print("    RSS %d -> %d KiB with 30 clients that do not read; %d pings, max %.1f ms "
          "(%.1f ms before)" % (rss0, rss1, len(pings), max(pings), base))
    margin = 20 * 1024 if not SANITIZED else 60 * 1024
    check(rss1 - rss0 < margin, "RSS grew from %d to %d KiB" % (rss0, rss1))
    check(max(pings) < 500, "a ping took %.0f ms while the admin clients waited" % max(pings))
    refused = clients[10].recv(4096).decode()
    check(refused.startswith("error: 410 commands in one line (at most 64)"), refused)
    ids = [l.split()[0] for l in admin("show sess", timeout=30).splitlines()[1:]
           if " idle " in l]
    check(len(ids) == 1000 and len(set(ids)) == 1000, "show sess listed %d sessions, %d "
          "distinct" % (len(ids), len(set(ids))))
    # A slow reader of the 64 answers gets all of them, each complete.
    c = clients[0]
    c.settimeout(30)
    text = recv_all(c).decode()
    heads = text.count("# id frontend")
    check(heads == 64 and text.count(" idle ") == 64 * 1000,
          "%d heads, %d session lines" % (heads, text.count(" idle ")))
    sp.stop()



@test
def test_show_sess_streams_while_sessions_come_and_go():
    """A streamed 'show sess' resumes each batch where the last one
    stopped; when sessions ended meanwhile, the kept place may be gone and
    is found again by id. Read slowly (so that batches wait for the reader)
    while half of 1,200 idle sessions end and short ones start and end all
    along: no session is listed twice, every line is whole, and every
    session alive throughout is listed (under ASan, a walk that went on
    from a freed session is a use-after-free report)."""
    hold = Server(backlog=4096, backlog_only=True)
    echo = Server(echo_handler)
    stable_port, churn_port = free_port(), free_port()
    sp = Splicer(conf([("stable", stable_port, hold.addr, ""),
                       ("churn", churn_port, echo.addr, "")],
                      global_extra="    nbthread 2\n"))
    crowd = idle_crowd(stable_port, 1200)
    on_cleanup(lambda: [c.close() for c in crowd])
    wait_until(lambda: sum(r["state"] == "established" for r in sessions(30)) == 1200, 60,
               "1,200 idle sessions")
    # Every other one of them ends during the walks (the place a walk kept
    # may be one of those), the others stay.
    keep = {"127.0.0.1:%d" % c.getsockname()[1] for c in crowd[0::2]}
    stable = {r["id"] for r in sessions(30) if r["client"] in keep}
    victims = crowd[1::2]
    done, churned = threading.Event(), [0]

    def churn():
        while not done.is_set():
            try:
                c = connect(addr(churn_port), timeout=10)
                c.sendall(b"c")
                c.recv(1)
                c.close()
                churned[0] += 1
            except OSError:
                pass
    ts = [threading.Thread(target=churn, daemon=True) for _ in range(4)]
    [t.start() for t in ts]
    on_cleanup(done.set)
    # Six walks in one line, far more than the socket's buffer holds: the
    # walk stops between batches while the reader does not read, and the
    # sessions it kept its place at may end meanwhile.
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(ADMIN)
    s.sendall(b"show sess;" * 6 + b"\n")
    got = bytearray()

    def read(n):
        while len(got) < n:
            b = s.recv(4096)
            if not b:
                return
            got.extend(b)
    left = len(victims)
    for part in (victims[0::2], victims[1::2]):
        read(len(got) + 150000)
        last = [None]

        def full():                      # splicer waits for the reader
            q = queued(s)
            ok = q == last[0]
            last[0] = q
            if not ok:
                time.sleep(0.2)
            return ok
        wait_until(full, 20, "the walk to wait for the reader")
        for c in part:                   # a reset: each session ends at once
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
        left -= len(part)
        wait_until(lambda: len(sessions_of("stable")) == len(stable) + left, 20,
                   "the reset sessions to end")
    read(1 << 30)
    s.close()
    walks = got.decode().split("# id frontend")[1:]
    check(len(walks) == 6, "%d walks answered%s" % (len(walks), "; splicer died:\n" +
          sp.log()[-3000:] if sp.proc.poll() is not None else ""))
    for w in walks:
        lines = [l for l in w.splitlines()[1:] if l.strip()]
        rows = [l.split() for l in lines]
        check(all(len(r) == 13 for r in rows), "a broken line in %r" %
              [l for l in lines if len(l.split()) != 13][:3])
        ids = [r[0] for r in rows]
        check(len(ids) == len(set(ids)), "%d sessions listed twice" % (len(ids) - len(set(ids))))
        check(stable <= set(ids), "%d sessions alive throughout not listed" % len(stable - set(ids)))
    done.set()
    [t.join(10) for t in ts]
    print("    6 slow walks over 1,200 idle sessions while 600 of them ended and %d short "
          "ones came and went" % churned[0])
    check(churned[0] > 0, "no session came and went")
    sp.stop()


run()
