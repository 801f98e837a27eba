"""A real consumer of show stat: Debian's prometheus-haproxy-exporter
reads splicer's admin socket as it reads HAProxy's, a Prometheus server
scrapes the exporter, and promtool's queries find the frontend, backend
and server figures of sessions that are running and ended."""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Server, Skip, Splicer, check, connect, echo_handler, free_port, on_cleanup,
                     recv_all, run, test, wait_until)


def tool(name):
    path = shutil.which(name)
    if path is None:
        raise Skip("%s is not installed (tests/run-all.sh installs it)" % name)
    return path


def spawn(argv, d, name):
    log = open(os.path.join(d, name + ".log"), "wb")
    p = subprocess.Popen(argv, stdout=log, stderr=log)
    on_cleanup(lambda: (p.kill(), p.wait(), log.close()))
    return p


def query(prom, expr):
    """promtool's answer to an instant query: {labels text: value}."""
    p = subprocess.run(["promtool", "query", "instant", prom, expr], capture_output=True,
                       text=True, timeout=20)
    out = {}
    for l in p.stdout.splitlines():
        m = re.match(r"(\S+?)(\{.*\})? => (\S+) @", l)
        if m:
            out[m.group(2) or ""] = float(m.group(3))
    return out


def scur(sock):
    """The frontend's scur in show stat."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(b"show stat\n")
    lines = recv_all(s).decode().splitlines()
    s.close()
    head = lines[0].lstrip("# ").split(",")
    return next(dict(zip(head, l.split(",")))["scur"] for l in lines[1:] if ",FRONTEND," in l)


@test
def test_haproxy_exporter_and_prometheus_read_splicers_figures():
    exporter = tool("prometheus-haproxy-exporter")
    prometheus = tool("prometheus")
    tool("promtool")
    srv = Server(echo_handler)
    d = tempfile.mkdtemp(prefix="splicer-exporter-")
    sock = os.path.join(d, "admin.sock")
    front = free_port()
    sp = Splicer("global\n    stats socket %s level user\n"
                 "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 30s\n"
                 "    timeout server 30s\n"
                 "frontend web\n    bind 127.0.0.1:%d\n    default_backend app\n"
                 "backend app\n    server s1 %s\n"
                 "    server dead 127.0.0.1:%d check inter 200ms fall 1\n"
                 % (sock, front, srv.addr, free_port()))
    sp.wait_log(r"server app/dead is DOWN", 10)
    ep, pp = free_port(), free_port()
    spawn([exporter, "--haproxy.scrape-uri=unix:" + sock,
           "--web.listen-address=127.0.0.1:%d" % ep], d, "exporter")
    with open(os.path.join(d, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: splicer\n"
                "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % ep)
    spawn([prometheus, "--config.file=" + os.path.join(d, "prometheus.yml"),
           "--storage.tsdb.path=" + os.path.join(d, "tsdb"),
           "--web.listen-address=127.0.0.1:%d" % pp], d, "prometheus")
    prom = "http://127.0.0.1:%d" % pp
    # Traffic: two sessions ended (500 bytes each way), one running (1000).
    addr = "127.0.0.1:%d" % front
    for _ in range(2):
        c = connect(addr)
        c.sendall(b"y" * 500)
        check(len(recv_all(c, 500)) == 500, "echo")
        c.close()
        wait_until(lambda: scur(sock) == "0", 10, "the session ended")  # smax stays 1
    live = connect(addr)
    live.sendall(b"z" * 1000)
    check(len(recv_all(live, 1000)) == 1000, "echo")
    want = {
        'haproxy_frontend_current_sessions{frontend="web"}': 1,
        'haproxy_frontend_sessions_total{frontend="web"}': 3,
        'haproxy_frontend_max_sessions{frontend="web"}': 1,
        'haproxy_frontend_bytes_in_total{frontend="web"}': 2000,
        'haproxy_frontend_bytes_out_total{frontend="web"}': 2000,
        'haproxy_backend_current_sessions{backend="app"}': 1,
        'haproxy_backend_sessions_total{backend="app"}': 3,
        'haproxy_backend_bytes_in_total{backend="app"}': 2000,
        'haproxy_backend_up{backend="app"}': 1,
        'haproxy_backend_current_queue{backend="app"}': 0,
        'haproxy_server_current_sessions{backend="app",server="s1"}': 1,
        'haproxy_server_max_sessions{backend="app",server="s1"}': 1,
        'haproxy_server_sessions_total{backend="app",server="s1"}': 3,
        'haproxy_server_bytes_out_total{backend="app",server="s1"}': 2000,
        'haproxy_server_up{backend="app",server="s1"}': 1,
        'haproxy_server_up{backend="app",server="dead"}': 0,
        'haproxy_server_weight{backend="app",server="s1"}': 1,
        'haproxy_up': 1,
    }
    got = {}

    def all_right():
        for expr, v in want.items():
            r = query(prom, expr)
            got[expr] = list(r.values())
            if list(r.values()) != [v]:
                return False
        return True
    try:
        wait_until(all_right, 30, "Prometheus's figures")
    except AssertionError:
        raise AssertionError("Prometheus's figures: %r" % got)
    # The exporter parsed every line of the CSV.
    r = query(prom, "haproxy_exporter_csv_parse_failures_total")
    check(list(r.values()) == [0], r)
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % ep, timeout=10) as h:
        text = h.read().decode()
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True)
    check(p.returncode == 0, p.stdout + p.stderr)
    print("    %d figures right through exporter, Prometheus and promtool" % len(want))
    live.close()
    check(sp.stop() == 0, "exit code")


if __name__ == "__main__":
    run()
