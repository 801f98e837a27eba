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
from harness import (Splicer, check, connect, free_port, named, recv_all, run, test)

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


if __name__ == "__main__":
    run()
