"""Stick tables: stick on src keeps a client on its server across
reconnects and moves it when that server is down; size and expiry as
show table sees them; use-server and force-persist; track-sc counters;
a bwlim filter whose period and counters are a table's.

Clients come from distinct loopback addresses (127.0.0.N) to be distinct
keys."""
import os
import re
import socket
import subprocess
import time

from harness import (SPLICER, Server, Splicer, addr, check, free_port, named, recv_all, run,
                     test, wait_until)

SPLICERCTL = os.environ.get("SPLICERCTL") or os.path.join(
    os.path.dirname(__file__), "..", "..", "src", "splicerctl")


def ctl(sock, *words):
    p = subprocess.run([SPLICERCTL, "-s", sock] + list(words), capture_output=True, text=True,
                       timeout=10)
    return p.returncode, p.stdout + p.stderr


def table(sock, *words):
    """show table NAME [filter]: (header, {key: {field: value}})."""
    rc, out = ctl(sock, "show", "table", *words)
    check(rc == 0, out)
    lines = out.strip().splitlines()
    entries = {}
    for l in lines[1:]:
        m = re.match(r"0x[0-9a-f]+: key=(\S+) (.*)$", l)
        check(m is not None, "entry line: %r" % l)
        entries[m.group(1)] = dict(f.split("=", 1) for f in m.group(2).split())
    return lines[0], entries


def entry(sock, name, key):
    """The fields of key's entry in table name, {} when it has none."""
    return table(sock, name, "key", key)[1].get(key, {})


def dial(front, src, timeout=10):
    host, port = front.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect((host, int(port)))
    return s


def ask_from(front, src):
    """The name a named() server behind front answers a client from src."""
    s = dial(front, src)
    try:
        out = recv_all(s)
    finally:
        s.close()
    return out.decode()


def start(body, extra_global=""):
    p = free_port()
    d = "/tmp/splicer-stick-%d" % os.getpid()
    os.makedirs(d, exist_ok=True)
    sock = "%s/%d.sock" % (d, p)
    conf = ("global\n    log stderr local0 info\n    stats socket %s level admin\n%s"
            "defaults\n    mode tcp\n    log global\n    option tcplog\n"
            "    timeout connect 2s\n    timeout client 30s\n    timeout server 30s\n"
            "%s" % (sock, extra_global, body.replace("FRONT", addr(p))))
    return Splicer(conf), sock, addr(p)


@test
def test_stick_on_src_keeps_client_then_moves_it_when_its_server_is_down():
    srv = {n: named(n) for n in ("a", "b", "c")}
    body = ("listen app\n    bind FRONT\n    balance roundrobin\n"
            "    stick-table type ip size 100 expire 1m\n    stick on src\n" +
            "".join("    server %s %s check inter 100ms rise 1 fall 1\n" % (n, s.addr)
                    for n, s in srv.items()))
    sp, sock, front = start(body)
    first = {src: ask_from(front, src) for src in ("127.0.0.2", "127.0.0.3", "127.0.0.4")}
    check(sorted(first.values()) == ["a", "b", "c"], "round-robin spreads: %r" % first)
    for _ in range(4):
        for src, name in first.items():
            got = ask_from(front, src)
            check(got == name, "%s went to %s, not its %s" % (src, got, name))
    _, entries = table(sock, "app")
    ids = {"a": "1", "b": "2", "c": "3"}
    for src, name in first.items():
        check(entries[src]["server_id"] == ids[name], "%s: %r" % (src, entries[src]))
    # Its server goes down: the client is balanced elsewhere, then sticks there.
    gone = first["127.0.0.2"]
    srv[gone].close()
    sp.wait_log(r"Server app/%s is DOWN" % gone, 5)
    moved = ask_from(front, "127.0.0.2")
    check(moved != gone, "still sent to the down server %s" % gone)
    for _ in range(3):
        check(ask_from(front, "127.0.0.2") == moved, "does not stick to its new server")
    _, entries = table(sock, "app", "key", "127.0.0.2")
    check(list(entries) == ["127.0.0.2"] and entries["127.0.0.2"]["server_id"] == ids[moved],
          "show table key: %r" % entries)
    sp.stop()


@test
def test_stick_on_another_fetch_keys_an_integer_table():
    srv = {n: named(n) for n in ("a", "b")}
    p2 = free_port()
    body = ("listen app\n    bind FRONT\n    bind 127.0.0.1:%d\n    balance roundrobin\n"
            "    stick-table type integer size 10\n    stick on dst_port\n"
            "    server a %s\n    server b %s\n" % (p2, srv["a"].addr, srv["b"].addr))
    sp, sock, front = start(body)
    second = addr(p2)
    first = {f: ask_from(f, "127.0.0.2") for f in (front, second)}
    check(sorted(first.values()) == ["a", "b"], "balanced once: %r" % first)
    for f, name in first.items():
        for src in ("127.0.0.3", "127.0.0.4"):
            check(ask_from(f, src) == name, "port %s sticks to %s" % (f, name))
    _, entries = table(sock, "app")
    check(sorted(entries) == sorted([front.rsplit(":", 1)[1], str(p2)]), "keys: %r" % entries)
    sp.stop()


@test
def test_table_size_evicts_least_recently_used_and_entries_expire():
    a = named("a")
    body = ("frontend fe\n    bind FRONT\n    default_backend app\n"
            "backend app\n    stick-table type ip size 3 expire 3s\n"
            "    stick on src\n    server a %s\n" % a.addr)
    sp, sock, front = start(body)
    for n in (2, 3, 4):
        ask_from(front, "127.0.0.%d" % n)
    ask_from(front, "127.0.0.2")            # 3 is now the least recently used
    ask_from(front, "127.0.0.5")
    t0 = time.time()
    head, entries = table(sock, "app")
    check(head == "# table: app, type: ip, size:3, used:3", head)
    check(sorted(entries) == ["127.0.0.2", "127.0.0.4", "127.0.0.5"], "kept: %r" % entries)
    for e in entries.values():
        check(e["use"] == "0" and 0 < int(e["exp"]) <= 3000, "entry: %r" % e)
    rc, out = ctl(sock, "show", "table")
    check(out.strip() == "# table: app, type: ip, size:3, used:3", out)

    def used():
        return table(sock, "app")[0].rsplit(":", 1)[1]
    wait_until(lambda: used() == "0", 10, "the entries to expire")
    check(time.time() - t0 > 1.5, "entries went before their expiry")
    ask_from(front, "127.0.0.6")
    check(ctl(sock, "clear", "table", "app", "key", "127.0.0.6") == (0, ""), "clear")
    check(used() == "0", "cleared")
    sp.stop()


@test
def test_use_server_and_force_persist():
    a, b = named("a"), named("b")
    body = ("listen app\n    bind FRONT\n"
            "    use-server b if { src 127.0.0.5 }\n"
            "    use-server b if { src 127.0.0.6 }\n"
            "    force-persist if { src 127.0.0.6 }\n"
            "    server a %s\n    server b %s weight 0\n" % (a.addr, b.addr))
    sp, sock, front = start(body)
    for _ in range(3):
        check(ask_from(front, "127.0.0.2") == "a", "weight 0 keeps b out of balancing")
        check(ask_from(front, "127.0.0.5") == "b", "use-server b")
        check(ask_from(front, "127.0.0.6") == "b", "use-server b")
    check(ctl(sock, "disable", "server", "app/b") == (0, ""), "disable b")
    check(ask_from(front, "127.0.0.5") == "a", "a rule for a server in maintenance is skipped")
    check(ask_from(front, "127.0.0.6") == "b", "force-persist reaches it anyway")
    sp.stop()


@test
def test_use_server_on_srv_is_up():
    a, b, c = named("a"), named("b"), named("c")
    body = ("listen app\n    bind FRONT\n"
            "    use-server b if { srv_is_up(app/c) }\n"
            "    server a %s\n    server b %s weight 0\n    server c %s weight 0\n"
            % (a.addr, b.addr, c.addr))
    sp, sock, front = start(body)
    check(ask_from(front, "127.0.0.2") == "b", "c is up: b")
    check(ctl(sock, "disable", "server", "app/c") == (0, ""), "disable c")
    check(ask_from(front, "127.0.0.2") == "a", "c is down: balanced to a")
    sp.stop()


@test
def test_sc0_and_src_fetches_read_the_table():
    srv = Server(lambda c: (c.sendall(b"hi"), recv_all(c)))
    body = ("frontend fe\n    bind FRONT\n"
            "    stick-table type ip size 10 expire 1m store conn_cur,conn_cnt,conn_rate(10s),gpc0\n"
            "    tcp-request connection track-sc0 src\n"
            "    tcp-request connection reject if { sc0_conn_cur gt 2 }\n"
            "    tcp-request connection reject if { src_conn_cnt gt 5 }\n"
            "    tcp-request connection sc-inc-gpc0(0) if { src 127.0.0.3 }\n"
            "    tcp-request connection track-sc1 src table counts if { src 127.0.0.9 }\n"
            # counts has no entry for 127.0.0.3: 0 there, though 1 in fe
            "    tcp-request connection reject if { src 127.0.0.3 } { sc0_conn_cnt(counts) gt 0 }\n"
            "    default_backend app\n"
            "backend app\n    server s %s\n"
            "backend counts\n    stick-table type ip size 10 store conn_cnt\n" % srv.addr)
    sp, sock, front = start(body)
    held = [dial(front, "127.0.0.2") for _ in range(2)]
    for s in held:
        check(s.recv(2) == b"hi", "served")
    third = dial(front, "127.0.0.2")
    check(recv_all(third) == b"", "a third connection at once is rejected")
    third.close()
    other = dial(front, "127.0.0.3")
    check(other.recv(2) == b"hi", "another client is not (sc0_conn_cnt(counts) reads counts)")
    other.close()
    for s in held:
        s.close()
    wait_until(lambda: entry(sock, "fe", "127.0.0.2").get("conn_cur") == "0", 5,
               "the held ones to end")
    e = entry(sock, "fe", "127.0.0.2")
    check(e["conn_cnt"] == "3", "the rejected one counted: %r" % e)
    for _ in range(2):
        s = dial(front, "127.0.0.2")
        check(s.recv(2) == b"hi", "served again")
        s.close()
    s = dial(front, "127.0.0.2")
    check(recv_all(s) == b"", "src_conn_cnt above 5 is rejected")
    s.close()
    gpc = table(sock, "fe", "data.gpc0", "gt", "0")[1]
    check(list(gpc) == ["127.0.0.3"] and gpc["127.0.0.3"]["gpc0"] == "1", "gpc0: %r" % gpc)
    sp.stop()


@test
def test_track_sc_counts_connections_and_bytes():
    srv = Server(lambda c: (c.sendall(recv_all(c, 5)), recv_all(c)))
    body = ("frontend fe\n    bind FRONT\n"
            "    stick-table type ip size 10 expire 1m store conn_cur,conn_cnt,"
            "conn_rate(10s),bytes_in_cnt,bytes_out_cnt\n"
            "    tcp-request connection track-sc0 src\n"
            "    tcp-request connection track-sc1 src table other if { src 127.0.0.3 }\n"
            "    default_backend app\n"
            "backend app\n    server s %s\n"
            "backend other\n    stick-table type ip size 10 store conn_cnt\n" % srv.addr)
    sp, sock, front = start(body)
    held = [dial(front, "127.0.0.2") for _ in range(2)]
    for s in held:
        s.sendall(b"hello")
        check(s.recv(5) == b"hello", "echo")
    e = entry(sock, "fe", "127.0.0.2")
    check(e.get("conn_cur") == "2" and e.get("conn_cnt") == "2" and e.get("use") == "2" and
          e.get("conn_rate(10000)") == "2", "while held: %r" % e)
    for s in held:
        s.close()
    wait_until(lambda: entry(sock, "fe", "127.0.0.2").get("conn_cur") == "0", 5, "conn_cur 0")
    e = entry(sock, "fe", "127.0.0.2")
    check(e["conn_cnt"] == "2" and e["use"] == "0" and e["bytes_in_cnt"] == "10" and
          e["bytes_out_cnt"] == "10", "after: %r" % e)
    dial(front, "127.0.0.3").close()
    wait_until(lambda: entry(sock, "other", "127.0.0.3").get("conn_cnt") == "1", 5, "track-sc1")
    check(entry(sock, "other", "127.0.0.2") == {}, "track-sc1's condition")
    _, hot = table(sock, "fe", "data.conn_cnt", "gt", "1")
    check(list(hot) == ["127.0.0.2"], "filter: %r" % hot)
    rc, out = ctl(sock, "show", "table", "fe", "data.gpc0", "gt", "1")
    check(rc == 1 and "not stored" in out, out)
    rc, out = ctl(sock, "show", "table", "nosuch")
    check(rc == 1 and "no stick-table named 'nosuch'" in out, out)
    sp.stop()


def client_hello(sni):
    """The bytes of a TLS ClientHello naming sni."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


@test
def test_content_track_sc_keys_on_the_sni():
    a = named("a")
    body = ("frontend fe\n    bind FRONT\n    tcp-request inspect-delay 5s\n"
            "    stick-table type string len 64 size 10 store conn_cnt,conn_cur\n"
            "    tcp-request content track-sc0 req.ssl_sni if { req.ssl_hello_type 1 }\n"
            "    tcp-request content reject if { sc0_conn_cnt gt 2 }\n"
            "    tcp-request content accept if { req.ssl_hello_type 1 }\n"
            "    default_backend app\n"
            "backend app\n    server a %s\n" % a.addr)
    sp, sock, front = start(body)
    for i in range(3):
        s = dial(front, "127.0.0.2")
        s.sendall(client_hello("one.example"))
        try:
            got = recv_all(s)
        except ConnectionResetError:    # rejected with its bytes unread: a reset
            got = b""
        s.close()
        check(got == (b"a" if i < 2 else b""), "try %d: %r" % (i, got))
    wait_until(lambda: entry(sock, "fe", "one.example").get("conn_cur") == "0", 5,
               "the sessions to end")
    check(entry(sock, "fe", "one.example")["conn_cnt"] == "3", "counted by SNI")
    sp.stop()


@test
def test_bwlim_filter_takes_its_period_from_a_table_and_counts_there():
    payload = os.urandom(96 * 1024)
    sink = Server(lambda c: c.sendall(str(len(recv_all(c))).encode()))
    body = ("frontend fe\n    bind FRONT\n"
            "    filter bwlim-in up limit 32k key src table limits\n"
            "    tcp-request content set-bandwidth-limit up\n"
            "    default_backend app\n"
            "backend app\n    server s %s\n"
            "backend limits\n    stick-table type ip size 10 expire 1m "
            "store bwlim_in_rate(1s)\n" % sink.addr)
    sp, sock, front = start(body)
    s = dial(front, "127.0.0.2", timeout=20)
    t0 = time.time()
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    got = recv_all(s)
    took = time.time() - t0
    s.close()
    check(got == str(len(payload)).encode(), "delivered: %r" % got)
    # 96 KiB at 32 KiB per second: about 3 s; never much faster.
    check(took > 1.5, "not limited: %.2fs" % took)
    e = table(sock, "limits", "key", "127.0.0.2")[1].get("127.0.0.2", {})
    check(int(e.get("bwlim_in_rate(1000)", "0")) > 0, "counted: %r" % e)
    sp.stop()


@test
def test_peers_and_unsupported_forms_are_refused_clearly():
    for cfg, want in (
            ("peers mine\n    peer a 127.0.0.1:10000\n", "its stick tables live in one process"),
            ("listen l\n    bind 127.0.0.1:1\n    stick-table type ip size 1 peers mine\n"
             "    server s 127.0.0.1:2\n", "synchronizes them with no peer"),
            ("listen l\n    bind 127.0.0.1:1\n    stick on src\n    server s 127.0.0.1:2\n",
             "declares no stick-table"),
            ("listen l\n    bind 127.0.0.1:1\n    stick-table type integer size 1\n"
             "    stick on src\n    server s 127.0.0.1:2\n", "does not fit table 'l' of type integer"),
            ("listen l\n    bind 127.0.0.1:1\n    stick-table type string size 1\n"
             "    stick on req.ssl_sni\n    server s 127.0.0.1:2\n", "decided at connection time")):
        d = "/tmp/splicer-stick-%d" % os.getpid()
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "bad.cfg")
        with open(path, "w") as f:
            f.write("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n"
                    "    timeout server 1s\n" + cfg)
        p = subprocess.run([SPLICER, "-c", "-f", path], capture_output=True, text=True, timeout=10)
        check(p.returncode != 0 and want in p.stderr, "%s: %s" % (cfg, p.stderr))


run()
