"""PROXY protocol: accept-proxy on binds, send-proxy(-v2) to servers."""
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Server, Splicer, addr, check, connect, echo_handler, free_port, recv_all,
                     run, test, wait_until)

SIG = b"\r\n\r\n\x00\r\nQUIT\n"
HEAD = ("global\n    log stderr local0 info\n"
        "defaults\n    mode tcp\n    log global\n    option tcplog\n"
        "    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n")


def v2(src, sport, dst, dport, tlvs=b""):
    body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport) + tlvs
    return SIG + b"\x21\x11" + struct.pack("!H", len(body)) + body


class Recorder:
    """An upstream that records everything it receives."""

    def __init__(self):
        self.got = []
        self.srv = Server(self.handler)
        self.addr = self.srv.addr

    def handler(self, c):
        data = recv_all(c)
        self.got.append(data)
        c.sendall(b"ok")


def splicer_with(bind_opts, server_opts, up):
    port = free_port()
    sp = Splicer(HEAD + "listen app\n    bind 127.0.0.1:%d %s\n    server s %s %s\n"
                 % (port, bind_opts, up, server_opts))
    return sp, port


def send_and_close(port, data, per_byte=0.0):
    s = connect(addr(port))
    try:
        if per_byte:
            for i in range(len(data)):
                s.sendall(data[i:i + 1])
                time.sleep(per_byte)
        else:
            s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return recv_all(s)
    except (ConnectionResetError, BrokenPipeError, OSError):
        return b"RESET"     # splicer closed on a bad header before we were done
    finally:
        s.close()


@test
def test_accept_proxy_v1_strips_header_and_uses_its_address():
    rec = Recorder()
    sp, port = splicer_with("accept-proxy", "", rec.addr)
    payload = os.urandom(300000)
    got = send_and_close(port, b"PROXY TCP4 203.0.113.9 198.51.100.1 5555 80\r\n" + payload)
    check(got == b"ok", "answer %r" % got[:20])
    check(rec.got == [payload], "upstream got %d bytes, want the payload only" % len(rec.got[0]))
    l = sp.wait_sessions(1)[0]
    check(l["client"] == "203.0.113.9:5555" and l["term"] == "--", repr(l))
    sp.stop()


@test
def test_accept_proxy_v2_sent_one_byte_at_a_time():
    rec = Recorder()
    sp, port = splicer_with("accept-proxy", "", rec.addr)
    hdr = v2("192.0.2.44", 4444, "192.0.2.1", 443, tlvs=b"\x04\x00\x03abc")
    got = send_and_close(port, hdr + b"after", per_byte=0.005)
    check(got == b"ok" and rec.got == [b"after"], "got %r upstream %r" % (got, rec.got))
    check(sp.wait_sessions(1)[0]["client"] == "192.0.2.44:4444", repr(sp.sessions()))
    sp.stop()


@test
def test_accept_proxy_local_and_unknown_keep_the_real_address():
    rec = Recorder()
    sp, port = splicer_with("accept-proxy", "", rec.addr)
    send_and_close(port, b"PROXY UNKNOWN\r\nx")
    send_and_close(port, SIG + b"\x20\x00\x00\x00" + b"y")
    logs = sp.wait_sessions(2)
    check(all(l["client"].startswith("127.0.0.1:") for l in logs), repr(logs))
    check(sorted(rec.got) == [b"x", b"y"], repr(rec.got))
    sp.stop()


@test
def test_bad_proxy_headers_are_closed_and_reach_nothing():
    rec = Recorder()
    sp, port = splicer_with("accept-proxy", "", rec.addr)
    bad = [
        b"GET / HTTP/1.0\r\n\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
        b"PROXY TCP4 1.2.3.999 5.6.7.8 1 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2" + b"x" * 100,
        SIG + b"\x31\x11\x00\x0c" + b"\x00" * 12,
        SIG + b"\x21\x11\x00\x10" + b"\x00" * 12 + b"\x04\x00\x09x",
    ]
    for b in bad:
        got = send_and_close(port, b + b"payload")
        check(got in (b"", b"RESET"), "bad header %r answered %r" % (b[:20], got))
    logs = sp.wait_sessions(len(bad))
    check(all(l["term"] == "PR" for l in logs), "terms %r" % [l["term"] for l in logs])
    check(rec.srv.accepted == 0, "%d bad headers reached the server" % rec.srv.accepted)
    print("    e.g. %s" % logs[1]["reason"])
    sp.stop()


@test
def test_proxy_header_must_arrive_within_timeout_client():
    rec = Recorder()
    port = free_port()
    sp = Splicer(HEAD.replace("timeout client 5s", "timeout client 1s") +
                 "listen app\n    bind 127.0.0.1:%d accept-proxy\n    server s %s\n" % (port, rec.addr))
    s = connect(addr(port))
    t0 = time.time()
    try:
        for ch in b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n":
            s.sendall(bytes([ch]))
            time.sleep(0.2)
    except (BrokenPipeError, ConnectionResetError):
        pass
    l = sp.wait_sessions(1, timeout=5)[0]
    dt = time.time() - t0
    check(l["term"] == "cR" and "timeout waiting for the PROXY header" in l["reason"], repr(l))
    check(0.9 <= dt <= 2.5, "closed after %.2fs" % dt)
    check(rec.srv.accepted == 0, "the server saw a connection")
    s.close()
    sp.stop()


@test
def test_lifetime_while_the_header_is_read_ends_in_phase_R():
    """timeout lifetime may fire before the PROXY header is complete: the
    session ends in the header phase, so its code is PR (the proxy ended
    it while it was still reading the request), never PD."""
    rec = Recorder()
    port = free_port()
    sp = Splicer(HEAD + "    timeout lifetime 300ms\n" +
                 "listen app\n    bind 127.0.0.1:%d accept-proxy\n    server s %s\n" % (port, rec.addr))
    s = connect(addr(port))
    s.sendall(b"PROXY TCP4 1.2.3.4 ")        # and nothing more: timeout client is 5s
    l = sp.wait_sessions(1, timeout=5)[0]
    check(l["term"] == "PR" and "timeout lifetime (300ms) reached" in l["reason"], repr(l))
    check(rec.srv.accepted == 0, "the server saw a connection")
    s.close()
    sp.stop()


@test
def test_header_on_a_bind_without_accept_proxy_is_plain_data():
    rec = Recorder()
    sp, port = splicer_with("", "", rec.addr)
    hdr = v2("10.9.8.7", 1, "10.9.8.6", 2)
    send_and_close(port, hdr + b"data")
    wait_until(lambda: rec.got, 5, "upstream data")
    check(rec.got == [hdr + b"data"], "header not forwarded verbatim")
    check(sp.wait_sessions(1)[0]["client"].startswith("127.0.0.1:"), "header trusted")
    sp.stop()


def header_reader():
    """An upstream that returns the PROXY header it received, then the rest."""
    got = []

    def handler(c):
        got.append(recv_all(c))
        c.sendall(b"done")
    return Server(handler), got


@test
def test_send_proxy_v1_and_v2_announce_the_client():
    for opt in ("send-proxy", "send-proxy-v2"):
        srv, got = header_reader()
        sp, port = splicer_with("", opt, srv.addr)
        s = socket.socket()
        s.bind(("127.0.0.5", 0))
        s.connect(("127.0.0.1", port))
        cport = s.getsockname()[1]
        s.sendall(b"hello")
        s.shutdown(socket.SHUT_WR)
        check(recv_all(s) == b"done", "no answer with %s" % opt)
        s.close()
        data = got[0]
        if opt == "send-proxy":
            want = b"PROXY TCP4 127.0.0.5 127.0.0.1 %d %d\r\nhello" % (cport, port)
            check(data == want, "%s sent %r" % (opt, data))
        else:
            want = v2("127.0.0.5", cport, "127.0.0.1", port) + b"hello"
            check(data == want, "%s sent %r" % (opt, data))
        sp.stop()


@test
def test_chain_send_proxy_v2_into_accept_proxy_keeps_the_client_address():
    echo = Server(echo_handler)
    inner, outer = free_port(), free_port()
    b = Splicer(HEAD + "listen inner\n    bind 127.0.0.1:%d accept-proxy\n    server e %s\n"
                % (inner, echo.addr))
    a = Splicer(HEAD + "listen outer\n    bind 127.0.0.1:%d\n    server b 127.0.0.1:%d send-proxy-v2\n"
                % (outer, inner))
    s = socket.socket()
    s.bind(("127.0.0.77", 0))
    s.connect(("127.0.0.1", outer))
    cport = s.getsockname()[1]
    data = os.urandom(1 << 20)
    t = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
    t.start()
    check(recv_all(s) == data, "echo through two splicers")
    t.join()
    l = b.wait_sessions(1)[0]
    check(l["client"] == "127.0.0.77:%d" % cport, "inner splicer logged %s" % l["client"])
    a.stop()
    b.stop()


@test
def test_use_backend_sees_the_proxied_address():
    x, y = Recorder(), Recorder()
    port = free_port()
    sp = Splicer(HEAD + "frontend fe\n    bind 127.0.0.1:%d accept-proxy\n"
                 "    tcp-request connection reject if { src 203.0.113.0/24 }\n"
                 "    use_backend bx if { src 203.0.113.0/24 }\n    default_backend by\n"
                 "backend bx\n    server s %s\nbackend by\n    server s %s\n" % (port, x.addr, y.addr))
    # tcp-request connection sees the real peer (127.0.0.1), as in HAProxy.
    send_and_close(port, b"PROXY TCP4 203.0.113.5 198.51.100.1 1000 80\r\nviaX")
    send_and_close(port, b"PROXY TCP4 192.0.2.5 198.51.100.1 1000 80\r\nviaY")
    wait_until(lambda: x.got and y.got, 5, "both backends")
    check(x.got == [b"viaX"] and y.got == [b"viaY"], "x %r y %r" % (x.got, y.got))
    sp.stop()


run()
