"""The HTTP stats page: a listen in mode http holding only stats and
monitor-uri lines is served (HTML, ;csv, basic auth, refresh), any other
mode http proxy is refused."""
import base64
import os
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import (SPLICER, Server, Splicer, check, connect, echo_handler, free_port, recv_all,
                     run, test, wait_until)

SPLICERCTL = os.environ.get("SPLICERCTL", os.path.join(os.path.dirname(SPLICER), "splicerctl"))


def start(page, servers):
    """splicer with a TCP listen 'app' and the stats listen 'page' (its
    lines); (splicer, app address, stats base URL, admin socket)."""
    p, s = free_port(), free_port()
    sock = "/tmp/splicer-statspage-%d-%d.sock" % (os.getpid(), s)
    srv = "".join("    server %s %s check inter 200ms\n" % (n, a) for n, a in servers)
    conf = ("global\n    log stderr local0 info\n    stats socket %s level admin\n"
            "defaults\n    mode tcp\n    log global\n    timeout connect 1s\n"
            "    timeout client 30s\n    timeout server 30s\n"
            "listen app\n    bind 127.0.0.1:%d\n%s"
            "listen stats\n    bind 127.0.0.1:%d\n    mode http\n    option httplog\n"
            "    maxconn 10\n%s" % (sock, p, srv, s, page))
    return Splicer(conf), ("127.0.0.1", p), "http://127.0.0.1:%d" % s, sock


def get(url, user=None):
    """(status, headers, body) of GET url, with basic auth 'user:pass'."""
    req = urllib.request.Request(url)
    if user is not None:
        req.add_header("Authorization", "Basic " + base64.b64encode(user.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def show_stat(sock):
    p = subprocess.run([SPLICERCTL, "-s", sock, "show", "stat"], capture_output=True,
                       text=True, timeout=10)
    check(p.returncode == 0, p.stdout + p.stderr)
    return p.stdout


def rows(csv):
    lines = csv.strip().splitlines()
    head = lines[0].lstrip("# ").split(",")
    return [dict(zip(head, l.split(","))) for l in lines[1:]]


PAGE = ("    stats enable\n    stats uri /stats\n    stats realm Splicer\\ Stats\n"
        "    stats auth admin:secret\n    stats auth ops:other\n    stats refresh 5s\n"
        "    stats hide-version\n    monitor-uri /healthz\n")


@test
def test_auth_asks_with_the_realm_and_lets_users_in():
    sp, _, base, _ = start(PAGE, [("s1", "127.0.0.1:%d" % free_port())])
    for who in (None, "admin:wrong", "nobody:secret"):
        code, hdr, _ = get(base + "/stats", who)
        check(code == 401, "%r: %d" % (who, code))
        check(hdr["WWW-Authenticate"] == 'Basic realm="Splicer Stats"',
              repr(hdr["WWW-Authenticate"]))
    for who in ("admin:secret", "ops:other"):
        code, _, body = get(base + "/stats", who)
        check(code == 200 and "<table" in body, "%r: %d %s" % (who, code, body[:200]))
    code, _, body = get(base + "/healthz")
    check(code == 200, "monitor-uri without auth: %d %s" % (code, body))
    code, _, _ = get(base + "/elsewhere", "admin:secret")
    check(code == 503, "a path outside the prefix: %d" % code)
    sp.stop()


@test
def test_page_has_a_table_per_proxy_that_follows_traffic_and_refreshes():
    srv = Server(echo_handler)
    sp, app, base, _ = start(PAGE, [("s1", srv.addr), ("dead", "127.0.0.1:%d" % free_port())])
    code, hdr, body = get(base + "/stats", "admin:secret")
    check(code == 200, "%d" % code)
    check(hdr["Content-Type"].startswith("text/html"), hdr["Content-Type"])
    check(hdr["Refresh"] == "5", repr(hdr["Refresh"]))
    check('<meta http-equiv="refresh" content="5">' in body, body[:300])
    check("<h2>app</h2>" in body and "<h2>stats</h2>" not in body, body)
    for cell in ("<td>FRONTEND</td>", "<td>s1</td>", "<td>dead</td>", "<td>BACKEND</td>",
                 "<th>check_status</th>", "<th>econ</th>"):
        check(cell in body, "%s not in %s" % (cell, body))
    check("0.1" not in body.split("<h1>")[1].split("</h1>")[0], "hide-version: " + body[:400])
    c = connect("%s:%d" % app)
    c.sendall(b"x" * 100)
    recv_all(c, 100)
    c.close()

    def counted():
        body = get(base + "/stats", "admin:secret")[2]
        row = body.split('<tr class="FRONTEND">')[1].split("</tr>")[0]
        return row.split("<td>")[7].startswith("1<")    # stot
    wait_until(counted, 10, "the page's FRONTEND stot to be 1")
    wait_until(lambda: '<tr class="dead"><td>dead</td><td>DOWN' in
               get(base + "/stats", "admin:secret")[2], 10, "server dead DOWN on the page")
    sp.stop()
    srv.close()


@test
def test_csv_is_show_stat():
    sp, _, base, sock = start(PAGE, [("s1", "127.0.0.1:%d" % free_port())])
    code, hdr, csv = get(base + "/stats;csv", "admin:secret")
    check(code == 200 and hdr["Content-Type"].startswith("text/plain"), "%d" % code)
    admin = show_stat(sock)
    check(csv.splitlines()[0] == admin.splitlines()[0],
          "heads differ:\n%s\n%s" % (csv.splitlines()[0], admin.splitlines()[0]))
    key = [(r["pxname"], r["svname"]) for r in rows(csv)]
    check(key == [(r["pxname"], r["svname"]) for r in rows(admin)], repr(key))
    check(key == [("app", "FRONTEND"), ("app", "s1"), ("app", "BACKEND")], repr(key))
    check(get(base + "/stats;csv")[0] == 401, "the CSV needs auth too")
    sp.stop()


@test
def test_defaults_uri_no_auth_no_refresh():
    sp, _, base, _ = start("    stats enable\n", [])
    code, hdr, body = get(base + "/haproxy?stats")
    check(code == 200 and "<table" in body, "%d %s" % (code, body[:200]))
    check(hdr["Refresh"] is None and "http-equiv" not in body, body[:300])
    check(get(base + "/haproxy?stats;csv")[2].startswith("# pxname,svname,"), "csv")
    sp.stop()


def raw_get(url_path, port, source):
    """The status code of GET url_path on 127.0.0.1:port from address source."""
    c = socket.socket()
    c.settimeout(10)
    c.bind((source, 0))
    c.connect(("127.0.0.1", port))
    c.sendall(b"GET %s HTTP/1.0\r\n\r\n" % url_path.encode())
    head = recv_all(c).split(b"\r\n", 1)[0].decode()
    c.close()
    return int(head.split()[1])


@test
def test_monitor_fail_answers_503_while_its_condition_holds():
    """HAProxy's monitor fail: the monitor-uri answers 503 while any
    condition holds (here: no server of app up, or a client not from
    127.0.0.1), 200 otherwise; the page itself stays as it was."""
    port = free_port()
    sp, _, base, _ = start("    monitor-uri /healthz\n    stats enable\n"
                           "    acl app_dead nbsrv(app) lt 1\n"
                           "    monitor fail if app_dead\n"
                           "    monitor fail unless { src 127.0.0.1 }\n",
                           [("s1", "127.0.0.1:%d" % port)])
    wait_until(lambda: get(base + "/healthz")[0] == 503, 10, "503 with s1 down")
    code, _, body = get(base + "/healthz")
    check("<h1>503 Service Unavailable</h1>" in body, body)
    check(get(base + "/haproxy?stats")[0] == 200, "the page itself is not the monitor")
    srv = Server(echo_handler, port=port)
    wait_until(lambda: get(base + "/healthz")[0] == 200, 10, "200 once s1 is up")
    check("Service ready." in get(base + "/healthz")[2], "the 200 body")
    check(raw_get("/healthz", int(base.rsplit(":", 1)[1]), "127.0.0.2") == 503,
          "a client from 127.0.0.2 fails 'unless { src 127.0.0.1 }'")
    srv.close()
    wait_until(lambda: get(base + "/healthz")[0] == 503, 10, "503 again with s1 down")
    sp.stop()


def check_file(conf):
    with tempfile.NamedTemporaryFile("w", suffix=".cfg") as f:
        f.write(conf)
        f.flush()
        p = subprocess.run([SPLICER, "-c", "-f", f.name], capture_output=True, text=True,
                           timeout=20)
    return p.returncode, p.stdout + p.stderr


@test
def test_other_mode_http_proxies_stay_refused():
    head = "defaults\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
    for body, name in (
            ("listen web\n    bind 127.0.0.1:%d\n    mode http\n    stats enable\n"
             "    server s1 127.0.0.1:1\n", "listen 'web'"),
            ("frontend fe\n    bind 127.0.0.1:%d\n    mode http\n    stats enable\n"
             "    http-request deny\n", "frontend 'fe'"),
            ("backend be\n    mode http\n    stats enable%s\n", "backend 'be'")):
        rc, out = check_file(head + (body % free_port() if "%d" in body else body % ""))
        errs = [l for l in out.splitlines() if "[ALERT]" in l and "not valid" not in l]
        check(rc != 0 and len(errs) == 1, out)
        check(name + " is an HTTP proxy" in errs[0] and "splicer is a TCP proxy" in errs[0],
              errs[0])
    rc, out = check_file(head + "listen stats\n    bind 127.0.0.1:%d\n    mode http\n"
                         "    stats enable\n    stats admin if TRUE\n" % free_port())
    check(rc == 0 and "'stats admin' has no effect" in out, out)
    rc, out = check_file(head + "listen stats\n    bind 127.0.0.1:%d\n    mode http\n"
                         "    stats uri nope\n" % free_port())
    check(rc != 0 and "must start with '/'" in out, out)
    # monitor: the errors and warnings of HAProxy 2.6 (haproxy -c agrees).
    page = head + "listen stats\n    bind 127.0.0.1:%d\n    mode http\n    monitor-uri /m\n" % \
        free_port()
    for line, want in (("monitor fail", "requires either 'if' or 'unless'"),
                       ("monitor fail when TRUE", "requires either 'if' or 'unless'"),
                       ("monitor pass if TRUE", "only supports 'fail'"),
                       ("monitor fail if { nbsrv(nope) lt 1 }", "nope")):
        rc, out = check_file(page + "    %s\n" % line)
        check(rc != 0 and want in out, "%s: %s" % (line, out))
    rc, out = check_file(head.replace("defaults\n", "defaults\n    monitor fail if TRUE\n") +
                         "listen stats\n    bind 127.0.0.1:%d\n    mode http\n"
                         "    stats enable\n" % free_port())
    check(rc != 0 and "'monitor' is not allowed in defaults" in out, out)
    rc, out = check_file(head + "listen app\n    bind 127.0.0.1:%d\n    mode tcp\n"
                         "    monitor fail if TRUE\n    server s 127.0.0.1:1\n" % free_port())
    check(rc == 0 and "'monitor fail' has no effect in listen 'app'" in out, out)


if __name__ == "__main__":
    run()
