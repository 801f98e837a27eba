"""The Prometheus endpoint (stats metrics): the text passes
promtool's checks, and the figures follow real sessions."""
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Server, Skip, Splicer, check, connect, echo_handler, free_port, recv_all,
                     run, test, wait_until)


def start(servers, extra_global=""):
    p, m = free_port(), free_port()
    srv = "".join("    server %s %s\n" % (n, a) for n, a in servers)
    conf = ("global\n    log stderr local0 info\n    stats metrics 127.0.0.1:%d\n%s"
            "defaults\n    mode tcp\n    log global\n    option tcplog\n"
            "    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\n"
            "listen app\n    bind 127.0.0.1:%d\n    retries 1\n%s" % (m, extra_global, p, srv))
    return Splicer(conf), "127.0.0.1:%d" % p, "http://127.0.0.1:%d/metrics" % m


def scrape(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        check(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"),
              r.headers["Content-Type"])
        return r.read().decode()


def value(text, name, **labels):
    """The sample of name whose labels include these."""
    for l in text.splitlines():
        m = re.match(r"(\w+)(?:\{(.*)\})? (\S+)$", l)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()) and set(have) >= set(labels):
            return float(m.group(3))
    raise AssertionError("no sample %s%r in:\n%s" % (name, labels, text[:400]))


@test
def test_promtool_accepts_the_text():
    if shutil.which("promtool") is None:
        raise Skip("promtool is not installed (Debian: apt-get install prometheus)")
    srv = Server(echo_handler)
    sp, front, url = start([("s1", srv.addr), ("dead", "127.0.0.1:%d" % free_port())])
    for _ in range(4):
        c = connect(front)
        try:
            c.sendall(b"x" * 1000)
            recv_all(c, 1000)
        except OSError:
            pass                            # those sent to "dead"
        c.close()
    text = scrape(url)
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True)
    check(p.returncode == 0, p.stdout + p.stderr)
    names = set(re.findall(r"^# TYPE (\w+) (\w+)", text, re.M))
    check(all(n.startswith("splicer_") or n.startswith("process_") for n, _ in names),
          repr(names))
    check(all(n.endswith("_total") == (t == "counter") for n, t in names), repr(names))
    print("    promtool check metrics: %d families, no complaint" % len(names))
    sp.stop()


@test
def test_figures_follow_sessions():
    srv = Server(echo_handler)
    dead = "127.0.0.1:%d" % free_port()
    sp, front, url = start([("s1", srv.addr), ("dead", dead)])
    # roundrobin: the sessions alternate; those on "dead" are retried on s1
    # (option redispatch is off: a retry stays on "dead" and fails).
    ok = 0
    for _ in range(4):
        c = connect(front)
        try:
            c.sendall(b"y" * 5000)
            ok += len(recv_all(c, 5000)) == 5000
        except OSError:
            pass
        c.close()
    sp.wait_sessions(4)
    text = scrape(url)
    check(value(text, "splicer_sessions_total") == 4, "sessions total")
    check(value(text, "splicer_frontend_sessions_total", frontend="app") == 4, "fe total")
    check(value(text, "splicer_frontend_bytes_total", frontend="app", direction="upload")
          == 5000 * ok, "upload bytes")
    check(value(text, "splicer_frontend_bytes_total", frontend="app", direction="download")
          == 5000 * ok, "download bytes")
    check(value(text, "splicer_server_bytes_total", backend="app", server="s1",
                direction="download") == 5000 * ok, "server bytes")
    check(value(text, "splicer_server_connect_errors_total", backend="app", server="dead") >= 2,
          "connect errors")
    check(value(text, "splicer_server_sessions_total", backend="app", server="s1") == ok,
          "s1 sessions")
    check(value(text, "splicer_sessions_ended_total", engine="splice") == ok, "ended")
    # A session in progress: two flows on splice, one frontend session.
    c = connect(front)
    c.sendall(b"z")
    recv_all(c, 1)
    text = scrape(url)
    check(value(text, "splicer_flows_current", engine="splice") == 2, "flows now")
    check(value(text, "splicer_sessions_current") == 1, "sessions now")
    check(value(text, "splicer_frontend_sessions_current", frontend="app") == 1, "fe now")
    c.close()
    sp.stop()


@test
def test_states_checks_times_aborts_terminations_and_process():
    srv = Server(echo_handler)
    dead = "127.0.0.1:%d" % free_port()
    sp, front, url = start([("s1", srv.addr), ("dead", dead + " check inter 100ms fall 1"),
                            ("off", srv.addr + " disabled")])
    sp.wait_log(r"server app/dead is DOWN", 10)
    c = connect(front)                  # an ordinary session: --
    c.sendall(b"a" * 100)
    check(len(recv_all(c, 100)) == 100, "echo")
    c.close()
    sp.wait_sessions(1)
    c = connect(front)                  # the client resets during data: CD
    c.sendall(b"b" * 100)
    check(len(recv_all(c, 100)) == 100, "echo")
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    sp.wait_sessions(2)
    text = scrape(url)

    def st(server, state):
        return value(text, "splicer_server_state", backend="app", server=server, state=state)
    check(st("s1", "UP") == 1 and st("s1", "DOWN") == 0, "s1 UP")
    check(st("dead", "DOWN") == 1 and st("dead", "UP") == 0, "dead DOWN")
    check(st("off", "MAINT") == 1 and st("off", "DRAIN") == 0, "off MAINT")
    check(value(text, "splicer_server_check_failures_total", backend="app", server="dead") >= 1,
          "a check failed while up")
    check(value(text, "splicer_server_check_down_transitions_total", backend="app",
                server="dead") == 1, "one transition")
    check(value(text, "splicer_server_downtime_seconds_total", backend="app", server="dead")
          >= 0, "downtime")
    check(value(text, "splicer_server_sessions_ended_total", backend="app", server="s1") == 2,
          "ended")
    check(value(text, "splicer_server_client_aborts_total", backend="app", server="s1") == 1,
          "one client abort")
    check(value(text, "splicer_server_server_aborts_total", backend="app", server="s1") == 0,
          "no server abort")
    check(value(text, "splicer_server_total_time_seconds_total", backend="app", server="s1")
          >= 0, "times")
    check(value(text, "splicer_frontend_terminations_total", frontend="app", state="--") == 1,
          "one --")
    check(value(text, "splicer_frontend_terminations_total", frontend="app", state="CD") == 1,
          "one CD")
    check(value(text, "splicer_frontend_max_sessions", frontend="app") == 1, "peak")
    check(value(text, "splicer_frontend_limit_sessions", frontend="app") == 0, "limit")
    check(value(text, "splicer_build_info", version=re.search(r'version="([^"]+)"',
                text).group(1)) == 1, "build info")
    check(value(text, "process_open_fds") > 5 and value(text, "process_max_fds") > 100, "fds")
    check(value(text, "process_resident_memory_bytes") > 1e6, "rss")
    check(abs(value(text, "process_start_time_seconds") + value(text, "splicer_uptime_seconds")
              - time.time()) < 5, "start time")
    sp.stop()


@test
def test_other_paths_and_methods_are_refused():
    sp, front, url = start([("s1", "127.0.0.1:9")])
    for u, code in ((url.replace("/metrics", "/"), 404), (url + "x", 404)):
        try:
            urllib.request.urlopen(u, timeout=5)
            check(False, "%s answered" % u)
        except urllib.error.HTTPError as e:
            check(e.code == code, "%s: %d" % (u, e.code))
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=b"x", method="POST"), timeout=5)
        check(False, "POST answered")
    except urllib.error.HTTPError as e:
        check(e.code in (405, 501), "POST: %d" % e.code)   # libevent answers 501
    # Garbage instead of HTTP harms nothing.
    s = socket.create_connection(("127.0.0.1", int(url.split(":")[2].split("/")[0])), timeout=5)
    s.sendall(b"\x00\xff garbage\r\n\r\n")
    try:
        s.recv(100)
    except OSError:
        pass
    s.close()
    check("splicer_uptime_seconds" in scrape(url), "still serving")
    check(sp.stop() == 0, "exit code")


@test
def test_an_address_in_use_stops_the_start():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    conf = ("global\n    stats metrics 127.0.0.1:%d\n"
            "listen app\n    mode tcp\n    bind 127.0.0.1:%d\n    server s1 127.0.0.1:9\n"
            % (port, free_port()))
    sp = Splicer(conf, expect_exit=True)
    check(sp.proc.wait(10) == 2, "exit code")
    check("stats metrics 127.0.0.1:%d: Address already in use" % port in sp.log(), sp.log())
    busy.close()


if __name__ == "__main__":
    run()
