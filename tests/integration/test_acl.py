"""ACLs, tcp-request connection and use_backend, from real source addresses
(any 127.0.0.0/8 address is a loopback source)."""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, Splicer, check, free_port, named, recv_all, run, test


def ask_from(src, port):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    try:
        return recv_all(s).decode()
    except ConnectionResetError:
        return "RESET"
    finally:
        s.close()


HEAD = ("global\n    log stderr local0 info\n"
        "defaults\n    mode tcp\n    log global\n    option tcplog\n"
        "    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n")


@test
def test_tcp_request_connection_reject_by_source():
    srv = named("ok")
    port = free_port()
    sp = Splicer(HEAD + "frontend fe\n    bind 127.0.0.1:%d\n"
                 "    acl blocked src 127.0.0.66 127.0.9.0/24\n"
                 "    tcp-request connection reject if blocked\n"
                 "    default_backend be\n"
                 "backend be\n    server s %s\n" % (port, srv.addr))
    check(ask_from("127.0.0.5", port) == "ok", "allowed client not served")
    for bad in ("127.0.0.66", "127.0.9.200"):
        got = ask_from(bad, port)
        check(got in ("", "RESET"), "rejected client %s got %r" % (bad, got))
    check(srv.accepted == 1, "rejected clients reached the server (%d)" % srv.accepted)
    # Rejected connections are not sessions: one log line only.
    check(len(sp.wait_sessions(1)) == 1, "log lines %r" % sp.sessions())
    sp.stop()


@test
def test_accept_rule_before_reject_all():
    srv = named("ok")
    port = free_port()
    sp = Splicer(HEAD + "listen app\n    bind 127.0.0.1:%d\n"
                 "    tcp-request connection accept if { src 127.0.0.10/31 }\n"
                 "    tcp-request connection reject\n"
                 "    server s %s\n" % (port, srv.addr))
    check(ask_from("127.0.0.10", port) == "ok", ".10 refused")
    check(ask_from("127.0.0.11", port) == "ok", ".11 refused")
    check(ask_from("127.0.0.12", port) in ("", "RESET"), ".12 accepted")
    sp.stop()


@test
def test_use_backend_routes_by_source_then_default():
    a, b, d = named("a"), named("b"), named("default")
    port = free_port()
    sp = Splicer(HEAD + "frontend fe\n    bind 127.0.0.1:%d\n"
                 "    acl net_a src 127.0.1.0/24\n    acl net_b src 127.0.2.0/24\n"
                 "    acl vip src 127.0.2.7\n"
                 "    use_backend be_a if net_a\n"
                 "    use_backend be_b if net_b !vip\n"
                 "    default_backend be_d\n"
                 "backend be_a\n    server s %s\n"
                 "backend be_b\n    server s %s\n"
                 "backend be_d\n    server s %s\n" % (port, a.addr, b.addr, d.addr))
    check(ask_from("127.0.1.9", port) == "a", "net_a")
    check(ask_from("127.0.2.9", port) == "b", "net_b")
    check(ask_from("127.0.2.7", port) == "default", "vip excluded from be_b")
    check(ask_from("127.0.3.1", port) == "default", "default_backend")
    # Sessions are logged as they end, by whichever thread ran them: match
    # each line to its client rather than trusting the order of the lines.
    by_client = {l["client"].rsplit(":", 1)[0]: l["backend"]
                 for l in sp.wait_sessions(4)}
    want = {"127.0.1.9": "be_a", "127.0.2.9": "be_b",
            "127.0.2.7": "be_d", "127.0.3.1": "be_d"}
    check(by_client == want, "log backends %r" % by_client)
    sp.stop()


@test
def test_use_backend_without_default_closes_unmatched():
    a = named("a")
    port = free_port()
    sp = Splicer(HEAD + "frontend fe\n    bind 127.0.0.1:%d\n"
                 "    use_backend be_a if { src 127.0.1.0/24 }\n"
                 "backend be_a\n    server s %s\n" % (port, a.addr))
    check(ask_from("127.0.1.1", port) == "a", "matched client")
    check(ask_from("127.0.5.1", port) == "", "unmatched client served")
    # Two threads may log the two sessions in either order.
    l = [x for x in sp.wait_sessions(2) if x["client"].startswith("127.0.5.1:")][0]
    check(l["term"] == "PC" and "no use_backend rule matched" in l["reason"], repr(l))
    sp.stop()


run()
