"""Health checks beyond a connect, against the real servers they check:
tcp-check rules, the protocol checks (redis, smtp, ssl-hello, pgsql,
mysql, ldap), and hostile answers. Each check kind is shown to take a
server down and bring it back, with HAProxy's log line; every wait is
bounded by inter, fall, rise and timeout check."""
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Skip, Splicer, check, connect, free_port, on_cleanup, recv_all, run, test,
                     wait_until)

INTER, RISE, FALL, TCHECK = 200, 2, 2, 400      # ms, as written in every config below


def bound(fall=FALL):
    """Seconds within which a change must show: fall (or rise) checks,
    each at most inter + timeout check apart, plus scheduling slack."""
    return (INTER + TCHECK) * (max(fall, RISE) + 1) / 1000.0 + 3


def splicer(backend, servers, extra_global=""):
    """A listen "app" with the given check lines and servers."""
    port = free_port()
    srv = "".join("    server %s 127.0.0.1:%d%s\n" % (n, p, opts) for n, p, opts in servers)
    sp = Splicer("global\n    log stderr local0 info\n%s"
                 "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n"
                 "    timeout server 10s\n    timeout check %dms\n"
                 "listen app\n    bind 127.0.0.1:%d\n%s"
                 "    default-server check inter %dms rise %d fall %d\n%s"
                 % (extra_global, TCHECK, port, backend, INTER, RISE, FALL, srv))
    return sp, port


def down(sp, name, reason):
    return sp.wait_log(r"Server app/%s is DOWN, reason: %s" % (name, reason), bound())


def up(sp, name, count=1):
    return sp.wait_log(r"Server app/%s is UP" % name, bound(), count)


def spawn(argv, **kw):
    """A server process ended with the test."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)

    def end():
        if p.poll() is None:
            p.kill()
            p.wait()
    on_cleanup(end)
    return p


def need(*binaries):
    for b in binaries:
        if shutil.which(b) is None and not os.path.exists(b):
            raise Skip("%s is not installed (tests/run-all.sh installs it)" % b)


class Scripted:
    """A TCP server whose answer to each connection is handler(conn),
    the handler switchable while it runs."""

    def __init__(self, handler, host="127.0.0.1", port=0):
        self.handler = handler
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._loop, daemon=True).start()
        on_cleanup(self.close)

    def close(self):
        # shutdown() wakes the thread in accept(), which would otherwise
        # keep the socket listening: a bare connect check resets before
        # its handshake ends, so accept() never returns for it.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c):
        try:
            c.settimeout(10)
            self.handler(c)
        except OSError:
            pass
        finally:
            c.close()


def line_reply(replies):
    """Answer each received line by replies(line) (bytes or None to stop)."""
    def h(c):
        buf = b""
        while True:
            d = c.recv(4096)
            if not d:
                return
            buf += d
            while b"\n" in buf:
                l, buf = buf.split(b"\n", 1)
                r = replies(l.rstrip(b"\r"))
                if r is None:
                    return
                c.sendall(r)
    return h


REDIS_RULES = ("    option tcp-check\n"
               "    tcp-check connect\n"
               "    tcp-check send PING\\r\\n\n"
               "    tcp-check expect string +PONG\n"
               "    tcp-check send info\\ replication\\r\\n\n"
               "    tcp-check comment \"the primary\"\n"
               "    tcp-check expect string role:master\n"
               "    tcp-check send QUIT\\r\\n\n"
               "    tcp-check expect string +OK\n")


@test
def test_tcp_check_rules_follow_the_answer():
    role = {"r": b"master"}

    def replies(l):
        if l == b"PING":
            return b"+PONG\r\n"
        if l == b"info replication":
            body = b"# Replication\r\nrole:" + role["r"] + b"\r\nconnected_slaves:0\r\n"
            return b"$%d\r\n%s\r\n" % (len(body), body)
        if l == b"QUIT":
            return b"+OK\r\n"
        return b"-ERR unknown\r\n"
    srv = Scripted(line_reply(replies))
    sp, port = splicer(REDIS_RULES, [("a", srv.port, "")])
    role["r"] = b"slave"
    # The answer stays open without a match: HAProxy waits, then times out.
    l = down(sp, "a", "Layer7 timeout")[0]
    check("at step 5 of tcp-check (expect string 'role:master') comment: 'the primary'" in l, l)
    role["r"] = b"master"
    up(sp, "a")
    sp.stop()


@test
def test_check_port_addr_and_connect_rules():
    """server "port"/"addr" move the checks; "tcp-check connect port" and
    send-proxy reach another port with a PROXY header first."""
    seen = []

    def h(c):
        seen.append(c.recv(200))
        c.sendall(b"ready\n")
    probe = Scripted(h, "127.0.0.2")
    data = Scripted(lambda c: c.sendall(b"data\n"))
    sp, port = splicer("    option tcp-check\n"
                       "    tcp-check connect port %d send-proxy\n"
                       "    tcp-check expect string ready\n" % probe.port,
                       [("a", data.port, " addr 127.0.0.2")])
    wait_until(lambda: len(seen) >= 2, bound(), "two checks on the probe port")
    pp = seen[0].split(b"\r\n")[0].split()
    check(pp[:2] == [b"PROXY", b"TCP4"] and pp[3] == b"127.0.0.2" and
          int(pp[5]) == probe.port, repr(seen[0]))
    c = connect(("127.0.0.1:%d" % port))
    check(recv_all(c) == b"data\n", "traffic goes to the server's own port")
    c.close()
    check("is DOWN" not in sp.log(), sp.log())
    sp.stop()
    # "addr" and "port" on the server: the checks go there, traffic does
    # not. The data port is dead and the server stays up while the check
    # port listens; closed, the server goes down.
    dead = free_port()
    sp, port = splicer("", [("a", dead, " addr 127.0.0.2 port %d" % probe.port)])
    end = time.time() + bound(FALL)
    while time.time() < end:
        check("is DOWN" not in sp.log(), "checks did not go to addr:port: " + sp.log()[-300:])
        time.sleep(0.05)
    probe.close()
    down(sp, "a", "Layer4 connection problem")
    sp.stop()


@test
def test_answers_in_pieces_or_before_the_request_pass():
    """A check watches its socket edge-triggered: an answer that comes in
    pieces, each after the check found the socket empty, and one sent
    before the request (its readable edge comes while the check writes)
    must both be read to the end and pass, check after check."""
    def dribble(c):
        c.recv(100)
        for part in (b"+", b"PO", b"NG\r\n"):
            c.sendall(part)
            time.sleep(0.04)

    def eager(c):
        c.sendall(b"+PONG\r\n")
        c.recv(100)
    servers = {"dribble": Scripted(dribble), "eager": Scripted(eager)}
    seen = {}
    for name, srv in servers.items():
        h = srv.handler

        def counted(c, h=h, name=name):
            seen[name] = seen.get(name, 0) + 1
            h(c)
        srv.handler = counted
    sp, _ = splicer("    option tcp-check\n    tcp-check send PING\\r\\n\n"
                    "    tcp-check expect string +PONG\n",
                    [(n, s.port, "") for n, s in servers.items()])
    wait_until(lambda: min(seen.get(n, 0) for n in servers) >= FALL + 2, bound(FALL + 2),
               "checks of both servers")
    check("is DOWN" not in sp.log(), sp.log()[-600:])
    sp.stop()


def hostile(kind):
    def h(c):
        c.recv(100)
        if kind == "silent":
            time.sleep(TCHECK / 1000.0 * 3)
        elif kind == "reset":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        elif kind == "huge":
            try:
                c.sendall(b"A" * (1 << 20))
            except OSError:
                pass
        elif kind == "garbage":
            c.sendall(bytes((i * 131 + 7) & 255 for i in range(70000))[:65536])
    return h


@test
def test_hostile_answers_are_failed_checks_and_harm_nothing():
    """A server that never answers, one that resets, one that sends a
    megabyte line or binary garbage: each is a failed check with a reason
    while a healthy server of the same proxy keeps serving."""
    good = Scripted(lambda c: (c.recv(100), c.sendall(b"+PONG\r\nok\n")))
    servers = {k: Scripted(hostile(k)) for k in ("silent", "reset", "huge", "garbage")}
    sp, port = splicer("    option tcp-check\n    tcp-check send PING\\r\\n\n"
                       "    tcp-check expect string +PONG\n",
                       [(k, s.port, "") for k, s in servers.items()] + [("good", good.port, "")])
    reasons = {"silent": "Layer7 timeout", "reset": "Layer[47] (connection problem|invalid)",
               "huge": "Layer7 invalid response", "garbage": "Layer7 invalid response"}
    for k, r in reasons.items():
        l = down(sp, k, r)[0]
        print("    " + l.split("]: ", 1)[-1][:150])
    for _ in range(4):
        c = connect("127.0.0.1:%d" % port)
        c.sendall(b"x")
        check(recv_all(c) == b"+PONG\r\nok\n", "the good server serves")
        c.close()
    check("is DOWN" not in "".join(l for l in sp.log().splitlines() if "app/good" in l),
          "the good server went down")
    sp.stop()


@test
def test_smtpchk_banner_and_helo():
    state = {"banner": b"554 not now\r\n"}

    def h(c):
        c.sendall(state["banner"])
        line_reply(lambda l: b"250 hello\r\n" if l.startswith(b"HELO") or
                   l.startswith(b"EHLO") else None)(c)
    srv = Scripted(h)
    sp, port = splicer("    option smtpchk EHLO splicer.test\n", [("mx", srv.port, "")])
    l = down(sp, "mx", "Layer7 invalid response")[0]
    check("at step 1" in l, l)
    state["banner"] = b"220-mx ESMTP\r\n220 ready\r\n"
    up(sp, "mx")
    sp.stop()


@test
def test_ssl_hello_chk_against_openssl_s_server():
    need("openssl")
    d = tempfile.mkdtemp(prefix="splicer-ssl-")
    on_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                    "/CN=localhost", "-days", "1", "-keyout", d + "/k.pem", "-out", d + "/c.pem"],
                   check=True, capture_output=True, timeout=60)
    port = free_port()
    sp, _ = splicer("    option ssl-hello-chk\n", [("tls", port, "")])
    down(sp, "tls", "Layer4 connection problem")
    p = spawn(["openssl", "s_server", "-quiet", "-accept", "127.0.0.1:%d" % port,
               "-cert", d + "/c.pem", "-key", d + "/k.pem"], stdin=subprocess.DEVNULL)
    up(sp, "tls")
    p.kill()
    p.wait()
    # A plain TCP service on that port is not TLS.
    Scripted(lambda c: c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n"), port=port)
    down(sp, "tls", "Layer7 invalid response")
    sp.stop()


def redis(port, *args):
    need("redis-server", "redis-cli")
    d = tempfile.mkdtemp(prefix="splicer-redis-")
    on_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    p = spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
               "--save", "", "--appendonly", "no"] + list(args))
    wait_until(lambda: rcli(port, "PING") == "PONG", 10, "redis on %d" % port)
    return p


def rcli(port, *words):
    try:
        return subprocess.run(["redis-cli", "-p", str(port)] + list(words), capture_output=True,
                              text=True, timeout=5).stdout.strip()
    except subprocess.TimeoutExpired:
        return ""


def redis_port_through(port):
    c = connect("127.0.0.1:%d" % port)
    c.sendall(b"CONFIG GET port\r\nQUIT\r\n")
    out = recv_all(c).decode()
    c.close()
    return int(out.split("\r\n")[4])


@test
def test_redis_traffic_follows_the_master():
    """A replica promoted and the master demoted with REPLICAOF: within
    inter x fall the checks move traffic to the new master."""
    pa, pb = free_port(), free_port()
    redis(pa)
    redis(pb, "--replicaof", "127.0.0.1", str(pa))
    sp, port = splicer(REDIS_RULES, [("a", pa, ""), ("b", pb, "")])
    down(sp, "b", "Layer7 timeout")
    check({redis_port_through(port) for _ in range(4)} == {pa}, "traffic to the master")
    t0 = time.time()
    rcli(pb, "REPLICAOF", "NO", "ONE")
    rcli(pa, "REPLICAOF", "127.0.0.1", str(pb))
    down(sp, "a", "Layer7 timeout")
    up(sp, "b")
    took = time.time() - t0
    check({redis_port_through(port) for _ in range(4)} == {pb}, "traffic to the new master")
    print("    traffic followed the promotion in %.2f s (inter %d ms, fall %d, rise %d)"
          % (took, INTER, FALL, RISE))
    sp.stop()


@test
def test_redis_check_option():
    pa = free_port()
    redis(pa)
    sp, port = splicer("    option redis-check\n", [("r", pa, "")])
    rcli(pa, "CONFIG", "SET", "requirepass", "s3cret")
    l = down(sp, "r", "Layer7 invalid response")[0]
    check("+PONG" in l, l)
    rcli(pa, "-a", "s3cret", "--no-auth-warning", "CONFIG", "SET", "requirepass", "")
    up(sp, "r")
    sp.stop()


def tmpdir(prefix, owner=None):
    d = tempfile.mkdtemp(prefix=prefix)
    on_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    if owner is not None:
        os.chown(d, owner.pw_uid, owner.pw_gid)
    return d


def pg_bin():
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins or not os.path.exists(bins[-1] + "/initdb"):
        raise Skip("postgresql is not installed (tests/run-all.sh installs it)")
    return bins[-1]


@test
def test_pgsql_check_against_postgresql():
    b = pg_bin()
    pg = pwd.getpwnam("postgres")
    d = tmpdir("splicer-pg-", pg)
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run(as_pg + [b + "/initdb", "-D", d + "/data", "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True, timeout=120)
    port = free_port()
    ctl = as_pg + [b + "/pg_ctl", "-D", d + "/data", "-l", d + "/log", "-w", "-t", "60"]

    def pg_ctl(*words):
        subprocess.run(ctl + list(words), check=True, capture_output=True, timeout=90)
    on_cleanup(lambda: subprocess.run(ctl + ["-m", "immediate", "stop"], capture_output=True,
                                      timeout=90))
    sp, _ = splicer("    option pgsql-check user postgres\n", [("pg", port, "")])
    down(sp, "pg", "Layer4 connection problem")
    pg_ctl("-o", "-p %d -k %s -c listen_addresses=127.0.0.1" % (port, d), "start")
    up(sp, "pg")
    # Refused by pg_hba.conf: an 'E' answer, the check's unwanted content.
    hba = d + "/data/pg_hba.conf"
    with open(hba, "w") as f:
        f.write("local all all trust\nhost all all 127.0.0.1/32 reject\n")
    pg_ctl("reload")
    l = down(sp, "pg", "Layer7 invalid response")[0]
    check("matched unwanted content '^E'" in l, l)
    with open(hba, "w") as f:
        f.write("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    pg_ctl("reload")
    up(sp, "pg", 2)
    sp.stop()


def mariadb(d):
    need("mariadbd", "mariadb-install-db", "mariadb")
    subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=" + d + "/data",
                    "--user=root", "--auth-root-authentication-method=socket",
                    "--skip-test-db"], check=True, capture_output=True, timeout=120)
    port = free_port()
    spawn(["mariadbd", "--no-defaults", "--datadir=" + d + "/data", "--port=%d" % port,
           "--bind-address=127.0.0.1", "--socket=" + d + "/sock", "--user=root",
           "--skip-name-resolve", "--skip-log-bin", "--pid-file=" + d + "/pid"])
    wait_until(lambda: sql(d, "SELECT 1") is not None, 60, "mariadbd")
    return port


def sql(d, q):
    p = subprocess.run(["mariadb", "-S", d + "/sock", "-u", "root", "-e", q],
                       capture_output=True, text=True, timeout=30)
    return p.stdout if p.returncode == 0 else None


@test
def test_mysql_check_against_mariadb():
    """No such user: refused (MariaDB says so in its first packet when no
    account matches the host); the user created: up; dropped: down. Both
    of HAProxy's login packets, 4.1 and 4.0."""
    d = tmpdir("splicer-mysql-")
    port = mariadb(d)
    for opt in ("user haproxy post-41", "user haproxy"):
        sp, _ = splicer("    option mysql-check %s\n" % opt, [("db", port, "")])
        l = down(sp, "db", "Layer7 invalid response")[0]
        check("Access denied" in l or "is not allowed to connect" in l, l)
        sql(d, "CREATE USER 'haproxy'@'127.0.0.1'")
        up(sp, "db")
        sql(d, "DROP USER 'haproxy'@'127.0.0.1'")
        down(sp, "db", "Layer7 invalid response")
        sp.stop()


@test
def test_ldap_check_against_slapd():
    need("slapd")
    d = tmpdir("splicer-ldap-")
    port = free_port()

    def slapd(anonymous):
        with open(d + "/slapd.conf", "w") as f:
            f.write("pidfile %s/slapd.pid\nargsfile %s/slapd.args\n%s"
                    % (d, d, "" if anonymous else "disallow bind_anon\n"))
        p = spawn(["slapd", "-d", "0", "-f", d + "/slapd.conf",
                   "-h", "ldap://127.0.0.1:%d/" % port])
        wait_until(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 10, "slapd")
        return p
    p = slapd(False)
    sp, _ = splicer("    option ldap-check\n", [("ldap", port, "")])
    l = down(sp, "ldap", "Layer7 invalid response")[0]
    check("LDAP bind failed, resultCode 48" in l, l)
    p.kill()
    p.wait()
    slapd(True)
    up(sp, "ldap")
    sp.stop()


class Patroni:
    """A Patroni-like REST endpoint: /primary answers 200 on the primary and
    503 on a replica; /healthz answers with a body; requests are kept."""

    def __init__(self):
        self.status = {"/primary": 200, "/healthz": 200, "/": 200}
        self.body = b"ok"
        self.requests = []
        self.srv = Scripted(self._one)
        self.port = self.srv.port

    def _one(self, c):
        req = b""
        while b"\r\n\r\n" not in req:
            d = c.recv(4096)
            if not d:
                return
            req += d
        self.requests.append(req)
        path = req.split(b" ")[1].decode()
        code = self.status.get(path, 404)
        body = self.body if path == "/healthz" else b"{}"
        c.sendall(b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\n\r\n%s"
                  % (code, {200: b"OK", 503: b"Service Unavailable", 404: b"Not Found"}[code],
                     len(body), body))


@test
def test_httpchk_follows_patroni_primary():
    """HAProxy's Patroni recipe: OPTIONS /primary on the REST port, expect
    200; the replica is held down, a promotion moves it up."""
    api = Patroni()
    data = Scripted(lambda c: c.sendall(b"pg\n"))
    sp, port = splicer("    option httpchk OPTIONS /primary\n    http-check expect status 200\n",
                       [("pg1", data.port, " port %d" % api.port)])
    api.status["/primary"] = 503
    l = down(sp, "pg1", "Layer7 wrong status, code: 503")[0]
    check("HTTP status check returned code <503>" in l, l)
    check(api.requests[0].startswith(b"OPTIONS /primary HTTP/1.0\r\n"), repr(api.requests[0]))
    api.status["/primary"] = 200
    up(sp, "pg1")
    c = connect("127.0.0.1:%d" % port)
    check(recv_all(c) == b"pg\n", "traffic goes to the data port")
    c.close()
    sp.stop()


@test
def test_httpchk_old_header_form_ends_each_header():
    """option httpchk's version word may carry headers, the last without
    its CRLF: each header must still end on its own line."""
    api = Patroni()
    sp, port = splicer("    option httpchk OPTIONS / HTTP/1.1\\r\\nHost:\\ www\\r\\nX-A:\\ b\n",
                       [("a", api.port, "")])
    wait_until(lambda: api.requests, bound(), "a check")
    check(api.requests[0] == b"OPTIONS / HTTP/1.1\r\nHost: www\r\nX-A: b\r\n"
          b"Connection: close\r\n\r\n", repr(api.requests[0]))
    sp.stop()


@test
def test_http_check_send_and_body_expect():
    api = Patroni()
    sp, port = splicer("    option httpchk\n"
                       "    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host db.test "
                       "body ping\n"
                       "    http-check expect ! rstatus ^5\n"
                       "    http-check expect string ok\n", [("a", api.port, "")])
    wait_until(lambda: api.requests, bound(), "a check")
    r = api.requests[0]
    check(r.startswith(b"GET /healthz HTTP/1.1\r\nHost: db.test\r\n") and
          b"Content-Length: 4\r\n" in r and r.endswith(b"\r\n\r\nping"), repr(r))
    api.body = b"degraded"
    l = down(sp, "a", "Layer7 invalid response")[0]
    check("did not match content 'ok' in the body at step 3" in l, l)
    api.body = b"ok"
    up(sp, "a")
    api.status["/healthz"] = 503
    down(sp, "a", "Layer7 wrong status, code: 503")
    sp.stop()


@test
def test_log_format_forms_send_their_text():
    """The -lf forms take HAProxy's log-format text, '%%' a '%': tcp-check
    send-lf, send-binary-lf and expect string-lf; http-check send uri-lf,
    body-lf and hdr values, expect string-lf. A hdr Connection replaces
    HAProxy's own "Connection: close". The checks pass on these answers
    and fail when they change."""
    said = []

    def reply(line):
        said.append(line)
        return {b"PING 100%": b"+PONG 100%\r\n", b"PING": b"+PONG\r\n"}.get(line, b"-ERR\r\n")
    redis = Scripted(line_reply(reply))
    sp, _ = splicer("    option tcp-check\n"
                    "    tcp-check send-lf PING\\ 100%%\\r\\n\n"
                    "    tcp-check expect string-lf +PONG\\ 100%%\n"
                    "    tcp-check send-binary-lf 50494e470d0a\n"
                    "    tcp-check expect string +PONG\n", [("r", redis.port, "")])
    wait_until(lambda: len(said) >= 2 * (FALL + 2), bound(FALL + 2), "checks of the -lf sends")
    check(said[:2] == [b"PING 100%", b"PING"], repr(said[:2]))
    api = Patroni()
    api.body = b"o%k"
    sp2, _ = splicer("    option httpchk\n"
                     "    http-check send meth GET uri-lf /healthz ver HTTP/1.1 hdr X-Load 100%% "
                     "hdr Connection keep-alive body-lf p%%ng\n"
                     "    http-check expect string-lf o%%k\n", [("h", api.port, "")])
    wait_until(lambda: api.requests, bound(), "an HTTP check")
    r = api.requests[0]
    check(r.startswith(b"GET /healthz HTTP/1.1\r\nX-Load: 100%\r\nConnection: keep-alive\r\n")
          and b"Connection: close" not in r and r.endswith(b"\r\n\r\np%ng"), repr(r))
    api.body = b"ok"
    down(sp2, "h", "Layer7 invalid response")
    check("is DOWN" not in sp.log(), sp.log()[-500:])
    sp.stop()
    sp2.stop()


@test
def test_http_check_expect_hdr_follows_a_header():
    """http-check expect hdr name X-Role value primary: the server is up
    while its answer says so, down (with the header in the reason) when it
    says replica, and a hostile header block (no colon, huge) only fails
    the check."""
    role = {"v": b"X-Role: primary\r\n"}

    def h(c):
        c.recv(4096)
        c.sendall(b"HTTP/1.1 200 OK\r\n" + role["v"] + b"Content-Length: 0\r\n\r\n")
    srv = Scripted(h)
    sp, _ = splicer("    option httpchk GET /\n"
                    "    http-check expect hdr name -m str x-role value primary\n",
                    [("a", srv.port, "")])
    role["v"] = b"X-Role: replica\r\n"
    l = down(sp, "a", "Layer7 invalid response")[0]
    check("HTTP header (name 'x-role', value 'primary') not found" in l, l)
    role["v"] = b"X-Role: primary\r\n"
    up(sp, "a")
    role["v"] = b"no colon here\r\n" + b"X" * 20000 + b"\r\n"
    l = sp.wait_log(r"Server app/a is DOWN, reason: Layer7 invalid response", bound(), 2)[1]
    check("HTTP headers longer than 16384 bytes" in l, l)
    sp.stop()


@test
def test_http_check_disable_on_404_stops_new_sessions():
    api = Patroni()
    data = Scripted(lambda c: c.sendall(b"a\n"))
    other = Scripted(lambda c: c.sendall(b"b\n"))
    sp, port = splicer("    option httpchk GET /\n    http-check disable-on-404\n",
                       [("a", data.port, " port %d" % api.port), ("b", other.port, "")])
    api.status["/"] = 404
    sp.wait_log(r"Server app/a is stopping \(NOLB\), reason: Layer7 check conditionally "
                r"passed, code: 404", bound())
    for _ in range(4):
        c = connect("127.0.0.1:%d" % port)
        check(recv_all(c) == b"b\n", "a server in NOLB got a new session")
        c.close()
    api.status["/"] = 200
    sp.wait_log(r"Server app/a is UP, reason: Layer7 check passed, code: 200", bound())
    sp.stop()


@test
def test_hostile_http_answers():
    def huge(c):
        c.recv(1000)
        c.sendall(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 100000)
    def garbage(c):
        c.recv(1000)
        c.sendall(bytes(range(256)) * 4)
    def silent(c):
        c.recv(1000)
        time.sleep(TCHECK / 1000.0 * 3)
    servers = {k: Scripted(h) for k, h in (("huge", huge), ("garbage", garbage),
                                           ("silent", silent))}
    sp, port = splicer("    option httpchk GET /\n", [(k, v.port, "") for k, v in servers.items()])
    l = down(sp, "huge", "Layer7 invalid response")[0]
    check("HTTP headers longer than 16384 bytes" in l, l)
    l = down(sp, "garbage", "Layer7 invalid response")[0]
    check("not an HTTP/1.x status line" in l, l)
    down(sp, "silent", "Layer7 timeout")
    sp.stop()


def ctl_run(sock, *words):
    ctl = os.environ.get("SPLICERCTL", os.path.join(os.path.dirname(os.environ.get(
        "SPLICER", "")), "splicerctl"))
    p = subprocess.run([ctl, "-s", sock] + list(words), capture_output=True, text=True,
                       timeout=10)
    check(p.returncode == 0, "%s: %s%s" % (" ".join(words), p.stdout, p.stderr))
    return p.stdout


def ctl_stat(sock, name):
    out = ctl_run(sock, "show", "stat").strip().splitlines()
    head = out[0].lstrip("# ").split(",")
    rows = [dict(zip(head, l.split(","))) for l in out[1:]]
    return next(r for r in rows if r["pxname"] == "app" and r["svname"] == name)


@test
def test_agent_check_sets_state_and_weight():
    """An agent written here answers what the test says: "down # reason",
    "up 50%", "drain", "ready", "maint". Each changes the agent's part of
    the state (show stat says "(agent)") or the weight, and only the
    agent's answer undoes it."""
    said = {"line": b"up 100%\n"}
    asked = []

    def agent(c):
        asked.append(c.recv(100))
        c.sendall(said["line"])
    ag = Scripted(agent)
    a = Scripted(lambda c: c.sendall(b"a\n"))
    b = Scripted(lambda c: c.sendall(b"b\n"))
    sock = "/tmp/splicer-agent-%d-%d.sock" % (os.getpid(), ag.port)
    sp, port = splicer("", [("a", a.port, " weight 10 agent-check agent-port %d agent-inter %dms "
                             "agent-send hello\\n" % (ag.port, INTER)), ("b", b.port, "")],
                       extra_global="    stats socket %s level admin\n" % sock)
    wait_until(lambda: asked, bound(), "the agent asked")
    check(asked[0] == b"hello\n", repr(asked[0]))

    def names():
        out = set()
        for _ in range(6):
            c = connect("127.0.0.1:%d" % port)
            out.add(recv_all(c).decode().strip())
            c.close()
        return out
    said["line"] = b"down # disk full\n"
    sp.wait_log(r"Agent check for server app/a: DOWN, the agent says down # disk full", bound())
    check(ctl_stat(sock, "a")["status"] == "DOWN (agent)", ctl_stat(sock, "a")["status"])
    check(names() == {"b"}, "a got sessions while its agent says down")
    said["line"] = b"up 50%\n"
    sp.wait_log(r"Agent check for server app/a: weight 5 \(50% of 10\)", bound())
    check(ctl_stat(sock, "a")["status"] == "UP" and ctl_stat(sock, "a")["weight"] == "5",
          repr(ctl_stat(sock, "a")))
    said["line"] = b"drain\n"
    sp.wait_log(r"Agent check for server app/a: the agent sets drain", bound())
    check(ctl_stat(sock, "a")["status"] == "DRAIN (agent)", ctl_stat(sock, "a")["status"])
    check(names() == {"b"}, "a got sessions while its agent drains it")
    said["line"] = b"maint\n"
    sp.wait_log(r"Agent check for server app/a: the agent sets maint", bound())
    check(ctl_stat(sock, "a")["status"] == "MAINT (agent)", ctl_stat(sock, "a")["status"])
    said["line"] = b"ready 100%\n"
    sp.wait_log(r"Agent check for server app/a: the agent sets ready", bound())
    check(names() == {"a", "b"}, "a is back")
    sp.stop()


def echo(c):
    while True:
        d = c.recv(4096)
        if not d:
            return
        c.sendall(d)


class Probe:
    """A check port that can be closed (connection refused) and reopened."""

    def __init__(self):
        self.srv = Scripted(lambda c: None)
        self.port = self.srv.port

    def stop(self):
        self.srv.close()

    def start(self):
        self.srv = Scripted(lambda c: None, port=self.port)


def ends(c, timeout):
    """The session c is ended by the proxy within timeout (EOF or reset)."""
    c.settimeout(timeout)
    try:
        return c.recv(100) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


@test
def test_log_health_checks_and_on_marked_down_shutdown_sessions():
    data, probe = Scripted(echo), Probe()
    sp, port = splicer("    option log-health-checks\n",
                       [("a", data.port, " port %d on-marked-down shutdown-sessions" % probe.port)])
    c = connect("127.0.0.1:%d" % port)
    c.sendall(b"hi")
    check(c.recv(10) == b"hi", "relayed")
    probe.stop()
    sp.wait_log(r'Health check for server app/a failed, reason: Layer4 connection problem, '
                r'info: "Connection refused", check duration: \d+ms, status: 1/2 UP\.', bound())
    sp.wait_log(r"Health check for server app/a failed, .* status: 0/2 DOWN\.", bound())
    sp.wait_log(r"server app/a is down: 1 sessions shut down \(on-marked-down\)", bound())
    check(ends(c, 2), "the session went on after its server was marked down")
    c.close()
    probe.start()
    sp.wait_log(r"Health check for server app/a succeeded, reason: Layer4 check passed, "
                r".*status: 1/2 DOWN\.", bound())
    up(sp, "a")
    sp.stop()


@test
def test_on_marked_up_shutdown_backup_sessions():
    """The sessions of every backup server end, found in one walk."""
    a, b, b2, probe = Scripted(echo), Scripted(echo), Scripted(echo), Probe()
    probe.stop()
    sp, port = splicer("    balance roundrobin\n    option allbackups\n",
                       [("a", a.port, " port %d on-marked-up shutdown-backup-sessions"
                         % probe.port), ("b", b.port, " backup"), ("b2", b2.port, " backup")])
    down(sp, "a", "Layer4 connection problem")
    clients = []
    for _ in range(2):
        c = connect("127.0.0.1:%d" % port)
        c.sendall(b"x")
        check(c.recv(10) == b"x", "relayed by a backup")
        clients.append(c)
    probe.start()
    up(sp, "a")
    sp.wait_log(r"server app/a is up: 2 sessions of backup servers shut down \(on-marked-up\)",
                bound())
    for c in clients:
        check(ends(c, 2), "a backup's session went on")
    sp.stop()


def ramp_weights(sp, sock, weight):
    """The weights show stat gives a while a 2 s slow start of a lasts,
    which must end at weight."""
    seen = set()
    end = time.time() + 2 + bound()
    while time.time() < end and "slow start over" not in sp.log():
        seen.add(int(ctl_stat(sock, "a")["weight"]))
        time.sleep(0.05)
    sp.wait_log(r"server app/a: slow start over, weight %d" % weight, 1)
    check(ctl_stat(sock, "a")["weight"] == str(weight), "full weight at the end")
    return seen


@test
def test_slowstart_ramps_the_weight():
    data, probe = Scripted(echo), Probe()
    sock = "/tmp/splicer-slow-%d-%d.sock" % (os.getpid(), probe.port)
    sp, port = splicer("", [("a", data.port, " port %d weight 20 slowstart 2s" % probe.port)],
                       extra_global="    stats socket %s level admin\n" % sock)
    probe.stop()
    down(sp, "a", "Layer4 connection problem")
    probe.start()
    up(sp, "a")
    seen = ramp_weights(sp, sock, 20)
    check(any(0 < w < 20 for w in seen), "no weight between 0 and 20: %r" % sorted(seen))
    print("    weights seen while ramping: %s" % sorted(seen))
    sp.stop()


def slow_splicer(opts):
    """Server a, its checks on a probe that starts stopped, and an admin socket."""
    data, probe = Scripted(echo), Probe()
    sock = "/tmp/splicer-slow-%d-%d.sock" % (os.getpid(), probe.port)
    sp, port = splicer("", [("a", data.port, " port %d %s" % (probe.port, opts))],
                       extra_global="    stats socket %s level admin\n" % sock)
    probe.stop()
    down(sp, "a", "Layer4 connection problem")
    return sp, sock, probe


@test
def test_slowstart_cut_short_leaves_the_full_weight():
    """A server that comes up while drained ends its ramp at once: once
    ready, its weight is the full one, not the ramp's first step."""
    sp, sock, probe = slow_splicer("weight 20 slowstart 30s")
    ctl_run(sock, "set", "server", "app/a", "state", "drain")
    probe.start()
    up(sp, "a")
    ctl_run(sock, "set", "server", "app/a", "state", "ready")
    wait_until(lambda: ctl_stat(sock, "a")["status"].startswith("UP"), bound(), "a ready")
    w = ctl_stat(sock, "a")["weight"]
    check(w == "20", "weight %s after a ramp cut short" % w)
    sp.stop()


@test
def test_slowstart_ramps_toward_a_weight_set_meanwhile():
    """set server weight during the ramp is the ramp's new end; the ramp
    does not put the configured weight back."""
    sp, sock, probe = slow_splicer("weight 200 slowstart 2s")
    probe.start()
    up(sp, "a")
    ctl_run(sock, "set", "server", "app/a", "weight", "10")
    sp.wait_log(r"server app/a: slow start over, weight 10", 2 + bound())
    w = ctl_stat(sock, "a")["weight"]
    check(w == "10", "weight %s at the end, 10 was set" % w)
    sp.stop()


@test
def test_slowstart_out_of_maintenance():
    """As HAProxy, a server leaving maintenance ramps up too, to its weight,
    without checks to bring it up."""
    data = Scripted(echo)
    sock = "/tmp/splicer-slow-%d-%d.sock" % (os.getpid(), data.port)
    sp, port = splicer("", [("a", data.port, " no-check weight 20 slowstart 2s")],
                       extra_global="    stats socket %s level admin\n" % sock)
    wait_until(lambda: os.path.exists(sock), 5, "the admin socket")
    ctl_run(sock, "disable", "server", "app/a")
    ctl_run(sock, "enable", "server", "app/a")
    seen = ramp_weights(sp, sock, 20)
    check(any(0 < w < 20 for w in seen), "no ramp out of maintenance: %r" % sorted(seen))
    sp.stop()


@test
def test_observe_layer4_marks_down_on_traffic_errors():
    """The checks pass (their port answers), but the traffic port refuses:
    error-limit errors in a row of real sessions take the server down, and
    the passing checks bring it back."""
    probe = Probe()
    dead = free_port()
    good = Scripted(lambda c: c.sendall(b"b\n"))
    sp, port = splicer("    retries 0\n", [("a", dead, " port %d observe layer4 error-limit 3 "
                                           "on-error mark-down" % probe.port),
                                          ("b", good.port, "")])
    for _ in range(8):
        c = connect("127.0.0.1:%d" % port)
        recv_all(c)
        c.close()
        if "is DOWN" in sp.log():
            break
    l = down(sp, "a", "Layer4 connection problem")[0]
    # The count is read ten times a second: at least error-limit of them.
    n = int(l.split('info: "')[1].split()[0])
    check(n >= 3 and "connect errors in a row of traffic (observe layer4)" in l, l)
    up(sp, "a")
    sp.stop()


@test
def test_an_unreachable_agent_changes_nothing():
    """Connectivity is the health check's: an agent that cannot be reached
    leaves the server as its last answer left it, up or down."""
    said = {"line": b"down\n"}
    ag = Scripted(lambda c: c.sendall(said["line"]))
    a = Scripted(lambda c: c.sendall(b"a\n"))
    sock = "/tmp/splicer-agent2-%d-%d.sock" % (os.getpid(), ag.port)
    sp, port = splicer("", [("a", a.port, " agent-check agent-port %d agent-inter %dms"
                             % (ag.port, INTER))],
                       extra_global="    stats socket %s level admin\n" % sock)
    sp.wait_log(r"Agent check for server app/a: DOWN, the agent says down", bound())
    ag.close()
    end = time.time() + bound()
    while time.time() < end:
        check(ctl_stat(sock, "a")["status"] == "DOWN (agent)", ctl_stat(sock, "a")["status"])
        time.sleep(0.1)
    check("Agent check for server app/a: UP" not in sp.log(), "an absent agent brought it up")
    sp.stop()


@test
def test_error_status_and_on_error_set_the_reason():
    """error-status L4CON and on-error TEXT replace HAProxy's default
    reason and info of a failed expect; status-code int(N) is the code."""
    role = {"v": b"role:master\r\n"}
    redis = Scripted(lambda c: c.recv(100) and c.sendall(role["v"]))     # then closes
    sp, _ = splicer("    option tcp-check\n"
                    "    tcp-check send info\\r\\n\n"
                    "    tcp-check expect error-status L4CON on-error not\\ the\\ primary "
                    "status-code int(42) string role:master\n", [("r", redis.port, "")])
    role["v"] = b"role:slave\r\n"
    l = sp.wait_log(r"Server app/r is DOWN, reason: Layer4 connection problem, code: 42, "
                    r'info: "not the primary"', bound())[0]
    check("TCPCHK" not in l, l)
    sp.stop()


@test
def test_ok_status_and_on_success_set_the_pass():
    """ok-status L4OK with on-success TEXT: the server comes up with that
    reason; error-status L7OKC turns a failed expect into a conditional
    pass that takes the server out of balancing (NOLB)."""
    api = Patroni()
    api.status["/"] = 503
    sp, _ = splicer("    option httpchk GET /\n"
                    "    http-check expect ok-status L4OK on-success all\\ good "
                    "error-status L7OKC status 200\n", [("a", api.port, "")])
    sp.wait_log(r"Server app/a is stopping \(NOLB\), reason: Layer7 check conditionally "
                r"passed, code: 503", bound())
    api.status["/"] = 200
    sp.wait_log(r"Server app/a is UP, reason: Layer4 check passed, code: 200", bound())
    sp.stop()


@test
def test_tout_status_names_the_timeout():
    silent = Scripted(lambda c: c.recv(100) and c.recv(100))
    sp, _ = splicer("    option tcp-check\n    tcp-check send x\\r\\n\n"
                    "    tcp-check expect tout-status L6TOUT string +OK\n",
                    [("s", silent.port, "")])
    sp.wait_log(r"Server app/s is DOWN, reason: Layer6 timeout", bound())
    sp.stop()


@test
def test_bad_options_are_refused_by_name():
    d = tempfile.mkdtemp(prefix="splicer-expect-")
    on_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    cfg = os.path.join(d, "c.cfg")
    for opt, want in (("ok-status L7RSP", "expects one of L7OK, L7OKC, L6OK, L4OK"),
                      ("error-status", "expects one of L7OKC"),
                      ("status-code status", "evaluates no sample fetches"),
                      ("on-error %[srv_name]", "'%[srv_name]' is not supported")):
        with open(cfg, "w") as f:
            f.write("defaults\n    mode tcp\nlisten app\n    bind 127.0.0.1:1\n"
                    "    option tcp-check\n    tcp-check expect %s string x\n"
                    "    server s 127.0.0.1:1 check\n" % opt)
        r = subprocess.run([os.environ["SPLICER"], "-c", "-f", cfg], capture_output=True,
                           text=True, timeout=30)
        check(r.returncode != 0 and want in r.stderr + r.stdout,
              "%s: %s" % (opt, r.stderr + r.stdout))



run()
