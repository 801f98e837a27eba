"""Local upstreams: servers at unix@/path, /path and abns@name, per engine."""
import errno
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(__file__))
from harness import (SPLICER, TEST_TIMEOUT, Server, Splicer, addr, base_conf, check,
                     connect, free_port, on_cleanup, per_engine, recv_all, reset_close, run,
                     test, wait_until)

SPLICERCTL = os.environ.get("SPLICERCTL", os.path.join(os.path.dirname(SPLICER), "splicerctl"))


def unix_server(handler, abstract=None):
    """A server on a fresh socket path, or at abns@abstract."""
    if abstract is not None:
        return Server(handler, unix="abns@" + abstract)
    path = os.path.join(tempfile.mkdtemp(prefix="splicer-unix-"), "app.sock")
    on_cleanup(lambda: os.path.exists(path) and os.unlink(path))
    srv = Server(handler, unix="unix@" + path)
    srv.path = path
    return srv


def setup(engine, handler, abstract=None, extra="", server=None):
    srv = unix_server(handler, abstract)
    port = free_port()
    sp = Splicer(base_conf(addr(port), server or srv.addr, engine, extra=extra))
    return srv, sp, addr(port)


def both_ways(s, data):
    """Send data and half-close from a thread while reading to EOF here."""
    t = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
    t.start()
    got = recv_all(s)
    t.join(TEST_TIMEOUT)
    return got


def check_fallback(engine, l):
    """The kernel's redirect is for TCP: engine sockmap and auto keep a
    flow to a unix socket spliced."""
    want = "copy" if engine == "copy" else "splice"
    check(set(l["engine"].split("/")) == {want}, "engine %s for engine %s" % (l["engine"], engine))


@per_engine
def test_bytes_cross_unix_server_intact_both_ways(engine):
    """8 MB up and 8 MB down at once through a unix-socket server: both
    sides see the other's exact bytes (sha256) and its FIN."""
    up, down = os.urandom(8 << 20), os.urandom(8 << 20)
    seen = {}

    def handler(c):
        seen["up"] = hashlib.sha256(both_ways(c, down)).hexdigest()
    srv, sp, a = setup(engine, handler, extra="    timeout server 30s\n")
    s = connect(a)
    got = both_ways(s, up)
    check(hashlib.sha256(got).digest() == hashlib.sha256(down).digest(),
          "client got %d bytes, not the server's 8 MB" % len(got))
    wait_until(lambda: "up" in seen, 10, "the server to read to EOF")
    check(seen["up"] == hashlib.sha256(up).hexdigest(), "the server got other bytes")
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "--", "termination %s (%s)" % (l["term"], l["reason"]))
    check(l["up"] == len(up) and l["down"] == len(down),
          "logged %d up / %d down" % (l["up"], l["down"]))
    check_fallback(engine, l)
    check(not srv.errors, "server: %s" % srv.errors)
    sp.stop()


@per_engine
def test_unix_server_half_close_reaches_client(engine):
    """The server answers and half-closes first; the client sees EOF, then
    still sends, and the server reads that to the client's FIN."""
    got = []

    def handler(c):
        c.sendall(b"hello")
        c.shutdown(socket.SHUT_WR)
        got.append(recv_all(c))
    srv, sp, a = setup(engine, handler)
    s = connect(a)
    check(recv_all(s) == b"hello", "greeting or its FIN lost")
    s.sendall(b"after the server's FIN")
    s.shutdown(socket.SHUT_WR)
    wait_until(lambda: got, 10, "the server to read to EOF")
    check(got[0] == b"after the server's FIN", "server got %r" % got[0])
    check(sp.wait_sessions(1)[0]["term"] == "--", "not a clean end")
    sp.stop()


@per_engine
def test_client_reset_closes_unix_server(engine):
    """A client's reset ends the session: the server sees its connection
    end (a unix socket has no reset: EOF or ECONNRESET)."""
    ended = []

    def handler(c):
        c.sendall(b"ready")
        try:
            ended.append(c.recv(100))
        except OSError as e:
            ended.append(e.errno)
    srv, sp, a = setup(engine, handler)
    s = connect(a)
    check(s.recv(5) == b"ready", "no greeting")
    reset_close(s)
    wait_until(lambda: ended, 10, "the server to see the end")
    check(ended[0] in (b"", errno.ECONNRESET), "server read %r" % ended[0])
    l = sp.wait_sessions(1)[0]
    check(l["term"][0] == "C", "termination %s after the client's reset" % l["term"])
    sp.stop()


@per_engine
def test_unix_server_abort_reaches_client_as_reset(engine):
    """The unix server closes with bytes it never read: its peer (the
    relay) reads ECONNRESET, which reaches the client as a TCP reset."""
    def handler(c):
        c.sendall(b"partial")
        wait_until(lambda: len(c.recv(4, socket.MSG_PEEK)) == 4, 10, "the request")
        # close with the request unread: the kernel resets the peer
    srv, sp, a = setup(engine, handler)
    s = connect(a)
    s.sendall(b"unread request")
    got, err = b"", None
    try:
        while True:
            b = s.recv(100)
            if not b:
                break
            got += b
    except OSError as e:
        err = e.errno
    check(got == b"partial", "client got %r" % got)
    check(err == errno.ECONNRESET, "client saw %s, not a reset" % (err or "EOF"))
    l = sp.wait_sessions(1)[0]
    check(l["term"][0] == "S", "termination %s after the server's abort" % l["term"])
    sp.stop()


@test
def test_missing_socket_path_is_a_logged_connect_error():
    d = tempfile.mkdtemp(prefix="splicer-unix-")
    path = os.path.join(d, "nobody.sock")
    port = free_port()
    sp = Splicer(base_conf(addr(port), "unix@" + path, extra="    retries 1\n"))
    s = connect(addr(port))
    check(recv_all(s) == b"", "bytes from nowhere")
    sp.wait_log(r"connect to server 's1' \(unix@%s\) failed after 2 tries: "
                r"No such file or directory" % path)
    check(sp.wait_sessions(1)[0]["term"][0] == "S", "not a server-side end")
    sp.stop()


@test
def test_abstract_and_bare_path_servers():
    """abns@NAME (HAProxy's zero-padded abstract name) and a bare /PATH
    reach their servers."""
    name = "splicer-test-%d" % os.getpid()
    ab = unix_server(lambda c: (c.sendall(b"abstract"), c.shutdown(socket.SHUT_WR)),
                    abstract=name)
    bare = unix_server(lambda c: (c.sendall(b"path"), c.shutdown(socket.SHUT_WR)))
    p1, p2 = free_port(), free_port()
    conf = base_conf(addr(p1), ab.addr) + \
        "listen app2\n    bind %s\n    server s2 %s\n" % (addr(p2), bare.path)
    sp = Splicer(conf)
    check(recv_all(connect(addr(p1))) == b"abstract", "abns@ server not reached")
    check(recv_all(connect(addr(p2))) == b"path", "bare path server not reached")
    sp.stop()


@test
def test_check_of_unix_server_follows_its_socket():
    """A plain connect check: UP while the socket listens, DOWN once it is
    gone; show sess shows the server as unix@PATH."""
    srv = unix_server(lambda c: recv_all(c))
    port = free_port()
    sock = os.path.join(tempfile.mkdtemp(prefix="splicer-admin-"), "admin.sock")
    sp = Splicer(base_conf(addr(port), srv.addr + " check inter 100ms fall 2 rise 1",
                           global_extra="    stats socket %s level admin\n" % sock))
    s = connect(addr(port))
    s.sendall(b"x")
    wait_until(lambda: srv.accepted >= 1, 10, "a session to reach the server")
    out = subprocess.run([SPLICERCTL, "-s", sock, "show sess"], capture_output=True,
                         text=True, timeout=10).stdout
    check(" %s " % srv.addr in out, "show sess does not show %s:\n%s" % (srv.addr, out))
    s.close()
    srv.close()
    os.unlink(srv.path)
    sp.wait_log(r"Server app/s1 is DOWN.*Layer4 connection problem")
    sp.stop()


@test
def test_bad_unix_addresses_are_refused():
    long_path = "/" + "x" * 120
    for a, why in (("unix@", "empty path"), ("abns@", "empty name"),
                   ("unix@" + long_path, "longer than the 107 bytes")):
        d = tempfile.mkdtemp(prefix="splicer-unix-")
        cfg = os.path.join(d, "t.cfg")
        with open(cfg, "w") as f:
            f.write(base_conf(addr(free_port()), a))
        r = subprocess.run([SPLICER, "-c", "-f", cfg], capture_output=True, text=True,
                           timeout=10)
        check(r.returncode != 0 and why in r.stderr, "%r: rc %d, %s" % (a, r.returncode,
                                                                         r.stderr))
    cfg = os.path.join(tempfile.mkdtemp(prefix="splicer-unix-"), "t.cfg")
    with open(cfg, "w") as f:
        f.write(base_conf(addr(free_port()), "unix@/run/app.sock check port 8080"))
    r = subprocess.run([SPLICER, "-c", "-f", cfg], capture_output=True, text=True, timeout=10)
    check(r.returncode == 0 and "'port' has no effect on a unix server" in r.stderr,
          "no warning for port on a unix server: rc %d, %s" % (r.returncode, r.stderr))


if __name__ == "__main__":
    run()
