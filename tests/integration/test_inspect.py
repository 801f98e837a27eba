"""Content inspection: tcp-request inspect-delay and content rules, SNI
routing of real TLS clients (openssl s_client, Python ssl) to several
openssl s_server backends, an SSH / TLS / HTTP multiplexer on one port,
and the bad inputs a router meets (ClientHellos cut, oversized, with
bogus lengths, sent a byte at a time; random bytes; silent clients).
The bytes inspected are peeked, so the session still splices them: the
log's engine column says splice."""
import hashlib
import os
import select
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Server, Splicer, check, free_port, named, on_cleanup, recv_all, run,
                     test, wait_until)

HEAD = ("global\n    log stderr local0 info\n"
        "defaults\n    mode tcp\n    log global\n    option tcplog\n"
        "    timeout connect 2s\n    timeout client 20s\n    timeout server 20s\n")
NAMES = ("a.example", "b.example", "c.example")


def need(*binaries):
    for b in binaries:
        check(shutil.which(b) is not None, "%s is not installed (tests/run-all.sh installs it)"
              % b)


def tls_backends():
    """One openssl s_server -rev per name, each with its own certificate:
    {name: (port, DER of its certificate)}."""
    need("openssl")
    d = tempfile.mkdtemp(prefix="splicer-inspect-")
    on_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    out = {}
    for n in NAMES:
        key, crt = os.path.join(d, n + ".key"), os.path.join(d, n + ".pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + n,
                        "-days", "1", "-keyout", key, "-out", crt],
                       check=True, capture_output=True, timeout=60)
        der = subprocess.run(["openssl", "x509", "-in", crt, "-outform", "DER"],
                             check=True, capture_output=True, timeout=30).stdout
        port = free_port()
        p = subprocess.Popen(["openssl", "s_server", "-quiet", "-rev", "-accept",
                              "127.0.0.1:%d" % port, "-cert", crt, "-key", key],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        on_cleanup(lambda p=p: (p.kill(), p.wait()))
        wait_until(lambda port=port: port_open(port), 10, "s_server on %d" % port)
        out[n] = (port, der)
    return out


def dialed(port):
    """Is an established connection open to 127.0.0.1:port (/proc/net/tcp)?"""
    want = "0100007F:%04X" % port
    with open("/proc/net/tcp") as f:
        return any(l.split()[2] == want and l.split()[3] == "01" for l in f.readlines()[1:])


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def sni_router(backends, extra="", delay="5s"):
    port = free_port()
    conf = HEAD + ("frontend tls\n    bind 127.0.0.1:%d\n"
                   "    tcp-request inspect-delay %s\n%s"
                   "    tcp-request content accept if { req.ssl_hello_type 1 }\n" %
                   (port, delay, extra))
    for n in NAMES:
        conf += "    use_backend be_%s if { req.ssl_sni -i %s }\n" % (n[0], n)
    conf += "    default_backend be_a\n"
    for n in NAMES:
        conf += "backend be_%s\n    server s %s:%d\n" % (n[0], "127.0.0.1", backends[n][0])
    return Splicer(conf), port


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def lines(n, seed):
    """n lines of hex (s_server -rev sends each back reversed)."""
    h = hashlib.sha256(seed.encode()).hexdigest()
    return [(h * 4)[i % 64:i % 64 + 100].encode() for i in range(n)]


def exchange(s, payload):
    """Send the lines, read them back reversed; both checksums."""
    want = b"".join(l[::-1] + b"\n" for l in payload)
    s.sendall(b"".join(l + b"\n" for l in payload))
    got = b""
    s.settimeout(10)
    while len(got) < len(want):
        d = s.recv(65536)
        if not d:
            break
        got += d
    return hashlib.sha256(got).hexdigest(), hashlib.sha256(want).hexdigest()


def python_client(port, sni, payload):
    """A Python ssl client: which certificate answered, and the checksums."""
    s = client_ctx().wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                                 server_hostname=sni)
    try:
        der = s.getpeercert(binary_form=True)
        return der, exchange(s, payload)
    finally:
        s.close()


def session_of(sp, cport, timeout=10):
    """The log line of the client that used local port cport."""
    def find():
        for l in sp.sessions():
            if l["client"].endswith(":%d" % cport):
                return l
        return None
    wait_until(lambda: find() is not None, timeout, "log line of client port %d" % cport)
    return find()


@test
def test_sni_routes_python_clients_to_their_backends_and_splices():
    backends = tls_backends()
    sp, port = sni_router(backends)
    for n in NAMES + ("b.example",):
        payload = lines(300, n)
        der, (got, want) = python_client(port, n, payload)
        check(der == backends[n][1], "SNI %s answered by another backend" % n)
        check(got == want, "SNI %s: payload checksum %s, want %s" % (n, got, want))
    ls = sp.wait_sessions(4)
    for l in ls:
        check(l["engine"] == "splice", "SNI-routed session not spliced: %r" % l)
        check(l["term"] == "--", "abnormal end %r" % l)
    check(sorted(l["backend"] for l in ls) == ["be_a", "be_b", "be_b", "be_c"],
          "backends %r" % [l["backend"] for l in ls])
    sp.stop()


@test
def test_sni_routes_openssl_s_client():
    backends = tls_backends()
    sp, port = sni_router(backends)
    for n in ("c.example", "b.example"):
        payload = lines(200, "s_client " + n)
        want = b"".join(l[::-1] + b"\n" for l in payload)
        p = subprocess.Popen(["openssl", "s_client", "-quiet", "-connect",
                              "127.0.0.1:%d" % port, "-servername", n, "-alpn", "h2,http/1.1"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        on_cleanup(lambda p=p: (p.kill(), p.wait()))
        p.stdin.write(b"".join(l + b"\n" for l in payload))
        p.stdin.flush()
        got = b""
        end = time.time() + 20
        while len(got) < len(want) and time.time() < end:
            r, _, _ = select.select([p.stdout], [], [], 1)
            if r:
                d = os.read(p.stdout.fileno(), 65536)
                if not d:
                    break
                got += d
        # -quiet ignores its stdin's EOF: it ends when told.
        p.kill()
        p.wait()
        check(hashlib.sha256(got).digest() == hashlib.sha256(want).digest(),
              "s_client %s: %d bytes back, checksum differs from the %d sent reversed" %
              (n, len(got), len(want)))
    ls = sp.wait_sessions(2)
    check(sorted(l["backend"] for l in ls) == ["be_b", "be_c"], "backends %r" % ls)
    check(all(l["engine"] == "splice" for l in ls), "not spliced: %r" % ls)
    sp.stop()


def hello_bytes(sni, alpn=None):
    """A real ClientHello from Python's ssl, and the objects to finish
    the handshake over any transport."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    ctx = client_ctx()
    if alpn:
        ctx.set_alpn_protocols(alpn)
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read(), obj, inc, out


def finish_handshake(s, obj, inc, out):
    s.settimeout(10)
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            d = out.read()
            if d:
                s.sendall(d)
            r = s.recv(65536)
            check(r, "server closed during the handshake")
            inc.write(r)
    d = out.read()
    if d:
        s.sendall(d)
    return obj.getpeercert(binary_form=True)


@test
def test_hello_sent_one_byte_per_segment_still_routes():
    backends = tls_backends()
    sp, port = sni_router(backends)
    hello, obj, inc, out = hello_bytes("c.example")
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(hello)):
        s.send(hello[i:i + 1])
        time.sleep(0.002)
    der = finish_handshake(s, obj, inc, out)
    check(der == backends["c.example"][1], "a hello in 1-byte segments went elsewhere")
    cport = s.getsockname()[1]
    s.close()
    l = session_of(sp, cport)
    check(l["backend"] == "be_c" and l["engine"] == "splice", "%r" % l)
    sp.stop()


def raw(port, data, fin=True, wait=10):
    """Send data (then FIN): what came back, b"RESET" on a reset."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    try:
        s.sendall(data)
        if fin:
            s.shutdown(socket.SHUT_WR)
        return recv_all(s)
    except OSError:
        # A reset (rejected with bytes unread) ends sends, shutdown, reads.
        return b"RESET"
    finally:
        s.close()


def mux(delay="1s"):
    """One port: SSH, TLS and HTTP by their first bytes, the rest rejected."""
    ssh, web, tls = named("ssh-server"), named("http-server"), named("tls-server")
    port = free_port()
    sp = Splicer(HEAD + "frontend mux\n    bind 127.0.0.1:%d\n"
                 "    tcp-request inspect-delay %s\n"
                 "    acl ssh req.payload(0,8) -m bin 5353482d322e302d\n"
                 "    acl tls req.ssl_hello_type 1\n"
                 "    tcp-request content accept if ssh or tls or HTTP\n"
                 "    tcp-request content reject if !{ req.payload(0,1) -m reg ^[A-Z] } "
                 "!{ req.ssl_ver ge 3.0 }\n"
                 "    tcp-request content reject if WAIT_END\n"
                 "    use_backend ssh if ssh\n"
                 "    use_backend tls if tls\n"
                 "    default_backend web\n"
                 "backend ssh\n    server s %s\n"
                 "backend tls\n    server s %s\n"
                 "backend web\n    server s %s\n" % (port, delay, ssh.addr, tls.addr, web.addr))
    return sp, port, (ssh, web, tls)


@test
def test_multiplexer_routes_ssh_tls_http_on_one_port():
    sp, port, (ssh, web, tls) = mux()
    hello = hello_bytes("mux.example")[0]
    check(raw(port, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n") == b"ssh-server", "ssh not routed")
    check(raw(port, hello) == b"tls-server", "tls not routed")
    check(raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == b"http-server", "http not routed")
    # An HTTP request in pieces waits for its end before it is routed.
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /slow HTTP/1.0\r\n")
    time.sleep(0.2)
    s.sendall(b"User-Agent: t\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    check(recv_all(s) == b"http-server", "split http request not routed")
    s.close()
    ls = sp.wait_sessions(4)
    check(sorted(l["backend"] for l in ls) == ["ssh", "tls", "web", "web"], "%r" % ls)
    check(all(l["engine"] == "splice" for l in ls), "not spliced: %r" % ls)
    sp.stop()


@test
def test_reject_rules_and_random_bytes_never_reach_a_server():
    sp, port, servers = mux()
    # Lower-case text, no TLS: the third rule rejects it at once.
    check(raw(port, b"hello there\n") in (b"", b"RESET"), "text client served")
    for i in range(20):
        data = os.urandom(1 + (i * 397) % 6000)
        got = raw(port, data)
        check(got in (b"", b"RESET", b"http-server", b"ssh-server", b"tls-server"),
              "random bytes got %r" % got[:40])
    ls = sp.wait_sessions(21)
    rejected = [l for l in ls if l["term"] == "PR"]
    check(rejected, "no session was rejected: %r" % ls[:3])
    for l in rejected:
        check("rejected by the tcp-request content rule at line" in l["reason"], "%r" % l)
        # No backend chosen: HAProxy logs the frontend's name, f/<NOSRV>.
        check(l["backend"] == "mux" and l["server"] == "<NOSRV>", "%r" % l)
    check(sum(s.accepted for s in servers) == len(ls) - len(rejected),
          "servers saw %d sessions, %d were not rejected" %
          (sum(s.accepted for s in servers), len(ls) - len(rejected)))
    check(sp.proc.poll() is None, "splicer died")
    sp.stop()


@test
def test_cut_oversized_and_bogus_hellos_are_judged_and_harm_nothing():
    sp, port, servers = mux(delay="1s")
    hello = hello_bytes("cut.example")[0]
    cuts = [1, 2, 5, 6, 9, 11, 43, len(hello) // 2, len(hello) - 1]
    for k in cuts:
        raw(port, hello[:k])			# then FIN: judged on what is there
    big = bytearray(hello[:5]) + os.urandom(20000)
    big[3:5] = (0x4801).to_bytes(2, "big")	# a record above 2^14 + 2048
    raw(port, bytes(big))
    long_hs = bytearray(hello)
    long_hs[6:9] = (0xffffff).to_bytes(3, "big")	# handshake longer than its record
    raw(port, bytes(long_hs))
    bad_sni = bytearray(hello)
    i = bad_sni.find(b"cut.example")
    bad_sni[i - 2:i] = (0xfff0).to_bytes(2, "big")	# a host name longer than its list
    raw(port, bytes(bad_sni))
    full = bytearray(b"\x16\x03\x01\x40\x00\x01\x00\x3f\xfc") + os.urandom(17000)
    raw(port, bytes(full))			# fills the 16 kB buffer: judged then
    n = len(cuts) + 4
    ls = sp.wait_sessions(n, timeout=20)
    check(all(l["backend"] != "tls" for l in ls), "a broken hello reached the TLS backend")
    check(sp.proc.poll() is None, "splicer died")
    # Still serving.
    check(raw(port, hello) == b"tls-server", "no longer routes a good hello")
    sp.stop()


@test
def test_silent_client_is_judged_when_the_delay_expires():
    backends = tls_backends()
    sp, port = sni_router(backends, delay="1s")
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    t0 = time.time()
    # Nothing sent: once inspect-delay is over the rules run once more on
    # no bytes, none decides, and default_backend takes the session.
    wait_until(lambda: dialed(backends["a.example"][0]), 5, "a connection to be_a")
    check(time.time() - t0 >= 0.95, "judged before inspect-delay was over")
    hello, obj, inc, out = hello_bytes("b.example")
    s.sendall(hello)
    der = finish_handshake(s, obj, inc, out)
    check(der == backends["a.example"][1],
          "a client silent past the delay was not sent to default_backend")
    s.close()
    l = sp.wait_sessions(1)[0]
    check(l["backend"] == "be_a", "%r" % l)
    sp.stop()


@test
def test_silent_client_rejected_by_wait_end():
    sp, port, servers = mux(delay="500ms")
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    t0 = time.time()
    got = recv_all(s)
    dt = time.time() - t0
    s.close()
    check(got == b"", "silent client got %r" % got)
    check(dt >= 0.45, "closed after %.2fs, before inspect-delay" % dt)
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "PR" and "after 0 bytes" in l["reason"], "%r" % l)
    check(sum(x.accepted for x in servers) == 0, "a server saw the silent client")
    sp.stop()


@test
def test_client_reset_during_inspection_is_an_abort_not_a_fin():
    """A reset after a few bytes leaves them readable: it must not pass
    for a FIN, which makes the rules final and dials a server."""
    tls = named("tls-server")
    port = free_port()
    sp = Splicer(HEAD + "frontend fe\n    bind 127.0.0.1:%d\n"
                 "    tcp-request inspect-delay 2s\n"
                 "    tcp-request content accept if { req.ssl_hello_type 1 }\n"
                 "    default_backend be\nbackend be\n    server s %s\n" % (port, tls.addr))
    hello = hello_bytes("rst.example")[0]
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    cport = s.getsockname()[1]
    s.sendall(hello[:10])
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    l = session_of(sp, cport, timeout=5)
    check(l["term"] == "CR" and l["server"] == "<NOSRV>" and l["tw"] == -1 and
          l["tc"] == -1, "%r" % l)
    check("client aborted during content inspection" in l["reason"], "%r" % l)
    check(tls.accepted == 0, "a server was dialled for a client that reset")
    # The same bytes then a FIN are judged on what came: accepted, served.
    check(raw(port, hello[:10]) == b"tls-server", "a FIN after a cut hello was not served")
    sp.stop()


@test
def test_sni_pattern_file_and_reject():
    backends = tls_backends()
    d = tempfile.mkdtemp(prefix="splicer-inspect-")
    on_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    allowed = os.path.join(d, "allowed")
    with open(allowed, "w") as f:
        f.write("# names served\nA.example\n\nc.example\n")
    sp, port = sni_router(backends, extra="    tcp-request content reject if !{ req.ssl_sni "
                          "-i -f %s }\n" % allowed)
    der, (got, want) = python_client(port, "a.example", lines(50, "f"))
    check(der == backends["a.example"][1] and got == want, "allowed name not served")
    try:
        python_client(port, "b.example", lines(5, "g"))
        refused = False
    except (ssl.SSLError, OSError):
        refused = True
    check(refused, "a name outside the file was served")
    ls = sp.wait_sessions(2)
    check(sorted(l["term"] for l in ls) == ["--", "PR"], "%r" % ls)
    sp.stop()


@test
def test_content_track_sc_tracks_once_however_the_bytes_come():
    """A track-sc rule runs again with every segment while a later rule
    waits: the session still counts once in its entry, and lets it go."""
    sock = os.path.join(tempfile.mkdtemp(prefix="splicer-inspect-"), "admin.sock")
    web = named("http-server")
    port = free_port()
    sp = Splicer(HEAD.replace("global\n", "global\n    stats socket %s level admin\n" % sock) +
                 "frontend fe\n    bind 127.0.0.1:%d\n"
                 "    stick-table type ip size 10 expire 1m store conn_cur,conn_cnt\n"
                 "    tcp-request inspect-delay 5s\n"
                 "    tcp-request content track-sc0 src\n"
                 "    tcp-request content reject if { sc0_conn_cur gt 1 }\n"
                 "    tcp-request content accept if HTTP\n"
                 "    default_backend web\n"
                 "backend web\n    server s %s\n" % (port, web.addr))
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    for piece in (b"GET / HT", b"TP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
        s.sendall(piece)
        time.sleep(0.05)
    check(recv_all(s) == b"http-server", "an HTTP request in 4 segments not served")
    s.close()
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "--" and l["backend"] == "web", "%r" % l)

    def fields():
        out = subprocess.run([os.environ.get("SPLICERCTL", "splicerctl"), "-s", sock, "show",
                              "table", "fe"], capture_output=True, text=True, timeout=10).stdout
        return out
    wait_until(lambda: "conn_cur=0" in fields(), 5, "the entry to be let go")
    check("conn_cnt=1" in fields(), "counted more than once: %r" % fields())
    sp.stop()


if __name__ == "__main__":
    run()
