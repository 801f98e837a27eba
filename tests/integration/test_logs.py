"""splicer's tcplog lines read by tools written for HAProxy's: Logstash's
HAPROXYTCP grok pattern (transcribed below into a Python regex, with the
grok base patterns it uses) and HAProxy's own halog. Every field must be
the session's."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Server, Skip, Splicer, check, connect, echo_handler, free_port, recv_all,
                     run, test, wait_until)

# logstash-patterns-core, patterns/legacy/grok-patterns and haproxy.
GROK = {
    "INT": r"(?:[+-]?(?:[0-9]+))",
    "POSINT": r"\b(?:[1-9][0-9]*)\b",
    "NOTSPACE": r"\S+",
    "MONTH": r"\b(?:[Jj]an(?:uary|uar)?|[Ff]eb(?:ruary|ruar)?|[Mm](?:a|ä)?r(?:ch|z)?|"
             r"[Aa]pr(?:il)?|[Mm]a(?:y|i)?|[Jj]un(?:e|i)?|[Jj]ul(?:y|i)?|[Aa]ug(?:ust)?|"
             r"[Ss]ep(?:tember)?|[Oo](?:c|k)?t(?:ober)?|[Nn]ov(?:ember)?|[Dd]e(?:c|z)(?:ember)?)\b",
    "MONTHDAY": r"(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])",
    "YEAR": r"(?>\d\d){1,2}",
    "HOUR": r"(?:2[0123]|[01]?[0-9])",
    "MINUTE": r"(?:[0-5][0-9])",
    "SECOND": r"(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)",
    "IPV4": r"(?<![0-9])(?:(?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|"
            r"2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.]"
            r"(?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]))(?![0-9])",
    "HOSTNAME": r"\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*"
                r"(?:\.?|\b)",
    "PROG": r"[\x21-\x5a\x5c\x5e-\x7e]+",
}
GROK["TIME"] = r"(?!<[0-9])%s:%s(?::%s)(?![0-9])" % (GROK["HOUR"], GROK["MINUTE"], GROK["SECOND"])
GROK["SYSLOGTIMESTAMP"] = r"%s +%s %s" % (GROK["MONTH"], GROK["MONTHDAY"], GROK["TIME"])
GROK["IP"] = GROK["IPV4"]        # the test's addresses are IPv4
GROK["IPORHOST"] = r"(?:%s|%s)" % (GROK["IP"], GROK["HOSTNAME"])
GROK["SYSLOGPROG"] = r"(?P<program>%s)(?:\[(?P<pid>%s)\])?" % (GROK["PROG"], GROK["POSINT"])
GROK["HAPROXYTIME"] = (r"(?!<[0-9])(?P<haproxy_hour>%s):(?P<haproxy_minute>%s)"
                       r"(?::(?P<haproxy_second>%s))(?![0-9])"
                       % (GROK["HOUR"], GROK["MINUTE"], GROK["SECOND"]))
GROK["HAPROXYDATE"] = (r"(?P<haproxy_monthday>%s)/(?P<haproxy_month>%s)/(?P<haproxy_year>%s):"
                       r"(?P<haproxy_time>%s).(?P<haproxy_milliseconds>%s)"
                       % (GROK["MONTHDAY"], GROK["MONTH"], GROK["YEAR"], GROK["HAPROXYTIME"],
                          GROK["INT"]))

# HAPROXYTCP, field for field (the ISO8601 alternative left out: syslog
# daemons write the traditional timestamp by default).
HAPROXYTCP = re.compile(
    r"(?:(?P<syslog_timestamp>{SYSLOGTIMESTAMP})) (?P<syslog_server>{IPORHOST}) {SYSLOGPROG}: "
    r"(?P<client_ip>{IP}):(?P<client_port>{INT}) \[(?P<accept_date>{HAPROXYDATE})\] "
    r"(?P<frontend_name>{NOTSPACE}) (?P<backend_name>{NOTSPACE})/(?P<server_name>{NOTSPACE}) "
    r"(?P<time_queue>{INT})/(?P<time_backend_connect>{INT})/(?P<time_duration>{NOTSPACE}) "
    r"(?P<bytes_read>{NOTSPACE}) (?P<termination_state>{NOTSPACE}) "
    r"(?P<actconn>{INT})/(?P<feconn>{INT})/(?P<beconn>{INT})/(?P<srvconn>{INT})/"
    r"(?P<retries>{NOTSPACE}) (?P<srv_queue>{INT})/(?P<backend_queue>{INT})".format(**GROK))


class Syslog:
    """A UDP syslog receiver that writes what it gets as rsyslog writes a
    file: 'Mon dd hh:mm:ss HOST TAG: MSG' (the PRI dropped, the host
    added)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lines, self.pris = [], []
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                d = self.sock.recv(65536).decode()
            except OSError:
                return
            m = re.match(r"<(\d+)>(\w{3} [ \d]\d \d\d:\d\d:\d\d) (.*)$", d, re.S)
            if m:
                self.pris.append((int(m.group(1)), m.group(3)))
                self.lines.append("%s logs-host %s" % (m.group(2), m.group(3).rstrip("\n")))

    def close(self):
        self.sock.close()


def traffic(sp_front, n):
    """n sessions of 100 * (i + 1) bytes each way; their client ports."""
    ports = {}
    for i in range(n):
        c = connect(sp_front)
        c.sendall(b"q" * (100 * (i + 1)))
        check(len(recv_all(c, 100 * (i + 1))) == 100 * (i + 1), "echo")
        ports[c.getsockname()[1]] = 100 * (i + 1)
        c.close()
    return ports


@test
def test_haproxytcp_grok_pattern_reads_every_field():
    srv = Server(echo_handler)
    log = Syslog()
    p = free_port()
    sp = Splicer("global\n    log stderr local0 info\n    log 127.0.0.1:%d local0 info\n"
                 "defaults\n    mode tcp\n    log global\n    option tcplog\n"
                 "    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n"
                 "frontend web\n    bind 127.0.0.1:%d\n    default_backend app\n"
                 "backend app\n    server s1 %s\n" % (log.port, p, srv.addr))
    ports = traffic("127.0.0.1:%d" % p, 3)
    wait_until(lambda: sum(" web app/s1 " in l for l in log.lines) == 3, 10, "3 tcplog lines")
    got = 0
    for l in log.lines:
        if " web app/s1 " not in l:
            continue
        m = HAPROXYTCP.match(l)
        check(m is not None, "HAPROXYTCP does not match %r" % l)
        f = m.groupdict()
        n = ports[int(f["client_port"])]
        check(f["syslog_server"] == "logs-host" and f["program"] == "splicer" and
              f["pid"] == str(sp.pid), f)
        check(f["client_ip"] == "127.0.0.1" and f["frontend_name"] == "web" and
              f["backend_name"] == "app" and f["server_name"] == "s1", f)
        check(f["time_queue"] == "0" and int(f["time_backend_connect"]) >= 0 and
              int(f["time_duration"]) >= int(f["time_backend_connect"]), f)
        check(f["bytes_read"] == str(n) and f["termination_state"] == "--", f)
        check(int(f["actconn"]) >= 0 and f["retries"] == "0" and f["srv_queue"] == "0" and
              f["backend_queue"] == "0", f)
        check(re.match(r"\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}$", f["accept_date"]), f)
        # splicer's own, after HAProxy's last field.
        check(l[m.end():].startswith(" %d " % n), "bytes to the server after %%bq: %r" % l)
        got += 1
    check(got == 3, "three lines")
    pris = {pri for pri, msg in log.pris if " web app/s1 " in msg}
    check(pris == {134}, "local0.info: PRI 134 (%r)" % pris)
    halog = shutil.which("halog") or shutil.which("halog", path="/usr/sbin:/sbin")
    if halog is None:
        raise Skip("halog is not installed (Debian's haproxy package ships it)")
    mine = [l for l in log.lines if " web app/s1 " in l]
    # HAProxy's own line: splicer's cut after HAProxy's last field.
    theirs = [l[:HAPROXYTCP.match(l).end()] for l in mine]
    now = int(time.time())

    def halog_count(lines, *args):
        p = subprocess.run([halog] + list(args) + ["-c"], input="".join(l + "\n" for l in lines),
                           capture_output=True, text=True, timeout=10)
        check(p.returncode == 0, p.stderr)
        return int(p.stdout.split()[0])
    # What halog reads of a TCP line: the timers (errors), HTTP or not,
    # and the accept date.
    for args, want in ((("-E",), 3), (("-e",), 0), (("-H",), 0),
                       (("-time", "%d:%d" % (now - 600, now + 600)), 3),
                       (("-time", "%d:%d" % (now - 7200, now - 3600)), 0)):
        check(halog_count(mine, *args) == want == halog_count(theirs, *args),
              "halog %s: %d for splicer's lines, %d for HAProxy's, want %d"
              % (" ".join(args), halog_count(mine, *args), halog_count(theirs, *args), want))
    print("    HAPROXYTCP matched 3 lines field for field; halog reads them as HAProxy's")
    check(sp.stop() == 0, "exit code")
    log.close()


@test
def test_format_short_writes_the_level_alone():
    srv = Server(echo_handler)
    raw = []
    p = free_port()
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    sp = Splicer("global\n    log stderr local0 info\n"
                 "    log 127.0.0.1:%d format short local0 info\n"
                 "defaults\n    mode tcp\n    log global\n    option tcplog\n"
                 "    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n"
                 "listen app\n    bind 127.0.0.1:%d\n    server s1 %s\n"
                 % (rx.getsockname()[1], p, srv.addr))
    traffic("127.0.0.1:%d" % p, 1)
    while not any(" app app/s1 " in r for r in raw):
        raw.append(rx.recv(65536).decode())
    line = next(r for r in raw if " app app/s1 " in r)
    check(line.startswith("<6>127.0.0.1:"), "HAProxy's short format: %r" % line)
    check(sp.stop() == 0, "exit code")
    rx.close()


HAPROXY_TCPLOG = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"


@test
def test_log_format_gives_haproxys_line_exactly_and_a_json_line():
    srv = Server(echo_handler)
    log = Syslog()
    p, q = free_port(), free_port()
    sp = Splicer("global\n    log stderr local0 info\n    log 127.0.0.1:%d local0 info\n"
                 "defaults\n    mode tcp\n    log global\n"
                 "    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n"
                 "frontend web\n    bind 127.0.0.1:%d\n    default_backend app\n"
                 '    log-format "%s"\n'
                 "frontend js\n    bind 127.0.0.1:%d\n    default_backend app\n"
                 "    log-format '{\"client\":%%{+Q}ci,\"port\":%%cp,\"front\":\"%%fi:%%fp\","
                 "\"server\":\"%%si:%%sp\",\"up\":%%U,\"down\":%%B,\"state\":%%{+Q}ts,"
                 "\"fe\":%%{+Q}f,\"be\":%%{+Q}b,\"srv\":%%{+Q}s,\"retries\":%%rc,\"id\":%%ID,"
                 "\"tl\":\"%%Tl\",\"engine\":%%{+Q}[engine],\"reason\":%%{+Q}[reason],"
                 "\"pct\":\"100%%%%\"}'\n"
                 "backend app\n    server s1 %s\n" % (log.port, p, HAPROXY_TCPLOG, q, srv.addr))
    ports = traffic("127.0.0.1:%d" % p, 2)
    jports = traffic("127.0.0.1:%d" % q, 1)
    wait_until(lambda: sum(" web app/s1 " in l for l in log.lines) == 2 and
               sum('"fe":"js"' in l for l in log.lines) == 1, 10, "the lines")
    for l in log.lines:
        if " web app/s1 " in l:
            m = HAPROXYTCP.match(l)
            check(m is not None and m.end() == len(l), "exactly HAProxy's line: %r" % l)
            check(int(m.group("client_port")) in ports and m.group("bytes_read") ==
                  str(ports[int(m.group("client_port"))]), l)
    j = json.loads(next(l for l in log.lines if '"fe":"js"' in l).split(": ", 1)[1])
    check(j["client"] == "127.0.0.1" and j["port"] in jports and j["up"] == 100 and
          j["down"] == 100 and j["state"] == "--", j)
    check(j["front"] == "127.0.0.1:%d" % q and j["server"] == srv.addr, j)
    check(j["be"] == "app" and j["srv"] == "s1" and j["retries"] == 0 and j["id"] >= 1, j)
    check(j["engine"] in ("splice", "sockmap", "splice/sockmap") and j["reason"], j)
    check(j["pct"] == "100%", j)
    check(re.match(r"\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}$", j["tl"]), j)
    check(sp.stop() == 0, "exit code")
    log.close()


@test
def test_no_backend_chosen_logs_the_frontend_name():
    # HAProxy's stream starts with the frontend as its backend: a content
    # reject logs "f f/<NOSRV>", in tcplog and in %b alike.
    log = Syslog()
    p, q = free_port(), free_port()
    sp = Splicer("global\n    log stderr local0 info\n    log 127.0.0.1:%d local0 info\n"
                 "defaults\n    mode tcp\n    log global\n    timeout connect 1s\n"
                 "    timeout client 10s\n    timeout server 10s\n"
                 "frontend lf\n    bind 127.0.0.1:%d\n    log-format \"lf %%ft %%b/%%s %%ts\"\n"
                 "    tcp-request content reject\n    default_backend app\n"
                 "frontend tl\n    bind 127.0.0.1:%d\n    option tcplog\n"
                 "    tcp-request content reject\n    default_backend app\n"
                 "backend app\n    server s1 127.0.0.1:1\n" % (log.port, p, q))
    for port in (p, q):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.settimeout(10)
        try:
            s.recv(1)
        except OSError:
            pass
        s.close()
    wait_until(lambda: any("lf lf lf/<NOSRV> PR" in l for l in log.lines) and
               any(" tl tl/<NOSRV> " in l for l in log.lines), 10,
               "frontend names in %r" % log.lines)
    check(sp.stop() == 0, "exit code")
    log.close()


@test
def test_log_format_errors_name_the_variable():
    for fmt, want in (("%ci %zz", "'%zz'"), ("%{+W}ci", "'+W'"), ("%[nope]", "'%[nope]'"),
                      ("%{+Q ci", "'{' without '}'"), ("%Th", "'%Th'"), ("%Tu", "'%Tu'"),
                      ("%Td", "'%Td'"), ("%tsc", "'%tsc'"), ("%trg", "'%trg'"),
                      ("%trl", "'%trl'"), ("%cix", "'%cix'")):
        sp = Splicer("defaults\n    mode tcp\nfrontend f\n    bind 127.0.0.1:%d\n"
                     "    log-format \"%s\"\n    default_backend b\n"
                     "backend b\n    server s 127.0.0.1:1\n" % (free_port(), fmt),
                     args=["-c"], expect_exit=True)
        sp.proc.wait(10)
        check(sp.proc.returncode != 0 and want in sp.log(), "%r: %s" % (fmt, sp.log()))


@test
def test_log_formats_are_haproxys():
    srv = Server(echo_handler)
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    port = rx.getsockname()[1]
    iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d"
    host = socket.gethostname()
    for fmt, rx_line in (
            ("local", r"<134>\w{3} [ \d]\d \d\d:\d\d:\d\d splicer\[\d+\]: 127"),
            ("rfc3164", r"<134>\w{3} [ \d]\d \d\d:\d\d:\d\d %s splicer\[\d+\]: 127"
             % re.escape(host)),
            ("rfc5424", r"<134>1 %s %s splicer \d+ - - 127" % (iso, re.escape(host))),
            ("priority", r"<134>127"), ("short", r"<6>127"), ("timed", r"<6>%s 127" % iso),
            ("iso", r"%s 127" % iso), ("raw", r"127")):
        p = free_port()
        sp = Splicer("global\n    log stderr local0 info\n"
                     "    log 127.0.0.1:%d format %s local0 info\n"
                     "defaults\n    mode tcp\n    log global\n    option tcplog\n"
                     "    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n"
                     "listen app\n    bind 127.0.0.1:%d\n    server s1 %s\n"
                     % (port, fmt, p, srv.addr))
        traffic("127.0.0.1:%d" % p, 1)
        line = ""
        while " app app/s1 " not in line:
            line = rx.recv(65536).decode()
        check(re.match(rx_line + r"\S*:\d+ \[", line), "format %s: %r" % (fmt, line))
        check(sp.stop() == 0, "exit code")
    rx.close()


if __name__ == "__main__":
    run()
