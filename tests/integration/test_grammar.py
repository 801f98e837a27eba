"""HAProxy's address and value forms, with traffic: servers without a port
or with +N/-N, bind port ranges, ":::PORT" with v4v6 and tfo, and the
socket options the keywords set (read back from the running process's own
sockets with pidfd_getfd)."""
import ctypes
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Server, Splicer, check, connect, echo_handler, free_port, named, recv_all,
                     run, test, wait_until)

HEAD = ("global\n    log stderr local0 info\n"
        "defaults\n    mode tcp\n    log global\n    option tcplog\n"
        "    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n")

_libc = ctypes.CDLL(None, use_errno=True)
SYS_PIDFD_OPEN, SYS_PIDFD_GETFD = 434, 438


def ask(host, port, family=socket.AF_INET):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect((host, port))
    got = recv_all(s)
    s.close()
    return got


def free_ports(n, host="127.0.0.1"):
    """n consecutive free ports (held only while probing)."""
    for _ in range(50):
        base = free_port(host)
        if base + n > 65535:
            continue
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                s.bind((host, p))
                socks.append(s)
            return base
        except OSError:
            pass
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no %d consecutive free ports" % n)


def process_sockets(pid, want):
    """The sockets of process pid, duplicated here, for which want(sock)
    is true (each a socket.socket; the caller closes them)."""
    pidfd = _libc.syscall(SYS_PIDFD_OPEN, pid, 0)
    check(pidfd >= 0, "pidfd_open: errno %d" % ctypes.get_errno())
    out = []
    try:
        for name in os.listdir("/proc/%d/fd" % pid):
            try:
                if not os.readlink("/proc/%d/fd/%s" % (pid, name)).startswith("socket:"):
                    continue
            except OSError:
                continue
            fd = _libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
            if fd < 0:
                continue
            s = socket.socket(fileno=fd)
            if s.type == socket.SOCK_STREAM and want(s):
                out.append(s)
            else:
                s.close()
    finally:
        os.close(pidfd)
    return out


def listening_on(port):
    def want(s):
        try:
            return (s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1 and
                    s.getsockname()[1] == port)
        except OSError:
            return False
    return want


@test
def test_server_without_port_takes_the_client_destination_port():
    a, b = named("A"), named("B")
    off = b.port - a.port
    rel = "%+d" % off
    sp = Splicer(HEAD + "listen same\n    bind 127.0.0.2:%d,127.0.0.2:%d\n"
                 "    server s 127.0.0.1\n"
                 "listen shifted\n    bind 127.0.0.3:%d\n    server s 127.0.0.1:%s\n"
                 % (a.port, b.port, a.port, rel))
    check(ask("127.0.0.2", a.port) == b"A", "no port: to port %d" % a.port)
    check(ask("127.0.0.2", b.port) == b"B", "no port: to port %d" % b.port)
    check(ask("127.0.0.3", a.port) == b"B", "port %s from %d" % (rel, a.port))
    sp.stop()


@test
def test_bind_port_range_listens_on_each_port():
    srv = named("R")
    base = free_ports(3)
    sp = Splicer(HEAD + "listen r\n    bind 127.0.0.1:%d-%d\n    server s %s\n"
                 % (base, base + 2, srv.addr))
    for p in range(base, base + 3):
        check(ask("127.0.0.1", p) == b"R", "port %d of the range" % p)
    sp.stop()


@test
def test_ipv6_any_v4v6_and_tfo():
    srv = named("six")
    port = free_port("::1")
    sp = Splicer(HEAD + "listen six\n    bind :::%d v4v6 tfo\n    server s %s\n"
                 % (port, srv.addr))
    check(ask("127.0.0.1", port) == b"six", "IPv4 client on ':::%d v4v6'" % port)
    check(ask("::1", port, socket.AF_INET6) == b"six", "IPv6 client")
    socks = process_sockets(sp.pid, listening_on(port))
    try:
        check(len(socks) >= 1, "no listening socket on port %d" % port)
        for s in socks:
            check(s.family == socket.AF_INET6, "family %r" % s.family)
            check(s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 0, "v6only set")
            check(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN) > 0, "no TCP_FASTOPEN")
    finally:
        for s in socks:
            s.close()
    sp.stop()


@test
def test_ipv4_and_ipv6_prefixes():
    srv = named("pre")
    p4, p6 = free_port(), free_port("::1")
    sp = Splicer(HEAD + "listen pre\n    bind ipv4@:%d\n    bind ipv6@:%d v6only\n"
                 "    server s ipv4@%s\n" % (p4, p6, srv.addr))
    check(ask("127.0.0.1", p4) == b"pre", "ipv4@:%d" % p4)
    check(ask("::1", p6, socket.AF_INET6) == b"pre", "ipv6@:%d" % p6)
    try:
        ask("127.0.0.1", p6)
        check(False, "IPv4 client accepted on 'ipv6@:%d v6only'" % p6)
    except OSError:
        pass
    sp.stop()


@test
def test_directory_environment_and_conditions():
    """-f DIR reads its *.cfg in byte order (not README, not .hidden.cfg);
    ${VAR} and ${VAR-default} are expanded, and only the .if branch taken
    is read."""
    import tempfile
    a, b = named("A"), named("B")
    port = free_port()
    d = tempfile.mkdtemp(prefix="splicer-dir-")
    files = {
        "10-global.cfg": HEAD,
        "20-listen.cfg": ".if defined(SPLICER_TEST_PICK_B)\n"
                         "listen app\n    bind \"127.0.0.1:${SPLICER_TEST_PORT}\"\n"
                         "    server s ${SPLICER_TEST_B-127.0.0.9:1}\n"
                         ".else\nlisten app\n    bind 127.0.0.1:1\n    server s %s\n.endif\n"
                         % a.addr,
        "README": "not a configuration\n",
        ".hidden.cfg": "garbage\n",
    }
    for n, text in files.items():
        with open(os.path.join(d, n), "w") as f:
            f.write(text)
    sp = Splicer(args=["-f", d], env={"SPLICER_TEST_PICK_B": "", "SPLICER_TEST_PORT": str(port),
                                      "SPLICER_TEST_B": b.addr})
    check(ask("127.0.0.1", port) == b"B", "the .if branch, its variables")
    sp.stop()


@test
def test_nosplice_copies():
    """HAProxy's nosplice: a session of engine splice moves through user
    space (the log says copy), the bytes intact."""
    srv = Server(echo_handler)
    port = free_port()
    sp = Splicer(HEAD.replace("global\n", "global\n    nosplice\n", 1) +
                 "listen app\n    bind 127.0.0.1:%d\n    engine splice\n    server s %s\n"
                 % (port, srv.addr))
    c = connect("127.0.0.1:%d" % port)
    c.sendall(b"x" * 100000)
    c.shutdown(socket.SHUT_WR)
    check(recv_all(c) == b"x" * 100000, "echo")
    c.close()
    l = sp.wait_sessions(1)[0]
    check(l["engine"] == "copy", "engine %r" % l["engine"])
    sp.stop()


def established_to(port, local):
    """Established sockets whose local (local=True) or peer port is port."""
    def want(s):
        try:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                return False
            return (s.getsockname() if local else s.getpeername())[1] == port
        except OSError:
            return False
    return want


def keepalive(s):
    return (s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
            s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT))


@test
def test_tcpka_options_set_keepalive_on_each_side():
    """option clitcpka with clitcpka-idle/-intvl/-cnt on the client
    socket, option srvtcpka with srvtcpka-* on the server socket, read
    back from splicer's own sockets; a listen without them has neither."""
    import threading
    held = threading.Event()

    def hold(c):
        held.wait(10)
    srv = Server(hold)
    on, off = free_port(), free_port()
    sp = Splicer(HEAD + "listen ka\n    bind 127.0.0.1:%d\n    option clitcpka\n"
                 "    clitcpka-idle 70s\n    clitcpka-intvl 7s\n    clitcpka-cnt 4\n"
                 "    option srvtcpka\n    srvtcpka-idle 80s\n    srvtcpka-intvl 8s\n"
                 "    srvtcpka-cnt 5\n    server s %s\n"
                 "listen plain\n    bind 127.0.0.1:%d\n    server s %s\n"
                 % (on, srv.addr, off, srv.addr))
    c1, c2 = connect("127.0.0.1:%d" % on), connect("127.0.0.1:%d" % off)
    wait_until(lambda: srv.accepted >= 2, 10, "both sessions connected")
    cli = process_sockets(sp.pid, established_to(on, True))
    cli_off = process_sockets(sp.pid, established_to(off, True))
    ups = process_sockets(sp.pid, established_to(srv.port, False))
    try:
        check(len(cli) == 1 and len(cli_off) == 1 and len(ups) == 2,
              "sockets: %d %d %d" % (len(cli), len(cli_off), len(ups)))
        check(keepalive(cli[0]) == (1, 70, 7, 4), "client side: %r" % (keepalive(cli[0]),))
        check(cli_off[0].getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0,
              "keep-alive on a listen without clitcpka")
        kas = sorted(keepalive(u) for u in ups)
        check(kas[1] == (1, 80, 8, 5), "server side: %r" % (kas,))
        check(kas[0][0] == 0, "keep-alive on a server socket without srvtcpka: %r" % (kas,))
    finally:
        for s in cli + cli_off + ups:
            s.close()
    held.set()
    c1.close()
    c2.close()
    sp.stop()


if __name__ == "__main__":
    run()
