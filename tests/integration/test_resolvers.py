"""Service discovery (resolvers, server-template, SRV records, init-addr):
a DNS server this test runs on loopback (dnsfake.py) changes its answers
while traffic flows; servers appear, change address and go into
maintenance without a reload, and established sessions go on. Bad answers
end in a logged failure and the hold rules, never a crash."""
import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from dnsfake import DNS, T_SRV
from harness import (SPLICER, Server, Splicer, check, echo_handler, free_port, on_cleanup,
                     run, test, wait_until)

SPLICERCTL = os.environ.get("SPLICERCTL", os.path.join(os.path.dirname(SPLICER), "splicerctl"))


def show_stat(sock):
    """{server name: row} of show stat."""
    p = subprocess.run([SPLICERCTL, "-s", sock, "show", "stat"], capture_output=True,
                       text=True, timeout=10)
    lines = p.stdout.strip().splitlines()
    rows = csv.DictReader(io.StringIO("\n".join([lines[0].lstrip("# ")] + lines[1:])))
    return {r["svname"]: r for r in rows if r["svname"] not in ("FRONTEND", "BACKEND")}


def servers(host, n, handler=echo_handler):
    """n servers on 127.0.0.(2..n+1), one port for all (as a service's pods)."""
    for _ in range(20):
        port = free_port("127.0.0.2")
        try:
            return port, [Server(handler, host="127.0.0.%d" % (i + 2), port=port)
                          for i in range(n)]
        except OSError:
            continue
    raise AssertionError("no port free on every address")


def start(dns, backend, resolvers_extra=""):
    d = tempfile.mkdtemp(prefix="splicer-dns-")
    on_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    sock = os.path.join(d, "admin.sock")
    lport = free_port()
    conf = ("global\n    log stderr local0 info\n    stats socket %s level admin\n"
            "resolvers dns\n    nameserver local 127.0.0.1:%d\n    timeout resolve 200ms\n"
            "    timeout retry 200ms\n    resolve_retries 2\n%s"
            "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n"
            "    timeout server 30s\n"
            "listen app\n    bind 127.0.0.1:%d\n%s"
            % (sock, dns.port, resolvers_extra, lport, backend))
    sp = Splicer(conf)
    return sp, sock, lport


def echo_once(lport, data=b"ping"):
    with socket.create_connection(("127.0.0.1", lport), timeout=5) as c:
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            b = c.recv(4096)
            if not b:
                return out
            out += b


def state(sock):
    """{server: (status, addr)}, a server without checks ("no check") UP."""
    return {n: ("UP" if r["status"] == "no check" else r["status"], r["addr"])
            for n, r in show_stat(sock).items()}


def wait_state(sock, want, what, timeout=15):
    """Until every server of want has (status, addr-or-None)."""
    last = {}

    def ok():
        last.update(state(sock))
        return all(n in last and last[n][0] == st and (a is None or last[n][1] == a)
                   for n, (st, a) in want.items())
    try:
        wait_until(ok, timeout, what)
    except AssertionError:
        raise AssertionError("%s: show stat has %r" % (what, last))


class Traffic:
    """Short sessions through the proxy, one after another, until stopped."""

    def __init__(self, lport):
        self.ok = self.bad = 0
        self.errors = []
        self.stopped = False
        self.t = threading.Thread(target=self._run, args=(lport,), daemon=True)
        self.t.start()
        on_cleanup(self.stop)

    def _run(self, lport):
        while not self.stopped:
            try:
                if echo_once(lport, b"x" * 100) == b"x" * 100:
                    self.ok += 1
                else:
                    self.bad += 1
            except OSError as e:
                self.bad += 1
                self.errors.append(repr(e))
            time.sleep(0.01)

    def stop(self):
        self.stopped = True
        self.t.join(10)


@test
def test_template_follows_a_records_while_traffic_flows():
    dns = DNS()
    on_cleanup(dns.close)
    port, _ = servers("127.0.0.2", 3)
    dns.set("svc.test", A=["127.0.0.2", "127.0.0.3"])
    sp, sock, lport = start(dns, "    server-template web 3 svc.test:%d resolvers dns "
                            "init-addr none resolve-prefer ipv4\n" % port,
                            "    hold nx 1s\n    hold obsolete 0s\n")
    wait_state(sock, {"web1": ("UP", "127.0.0.2:%d" % port), "web2": ("UP", "127.0.0.3:%d" % port),
                      "web3": ("MAINT (resolution)", None)}, "first answer")
    # A session held open on web1's address across every change.
    held = socket.create_connection(("127.0.0.1", lport), timeout=5)
    held.sendall(b"before")
    check(held.recv(100) == b"before", "held session echoes")
    traffic = Traffic(lport)
    dns.set("svc.test", A=["127.0.0.3", "127.0.0.4"])
    wait_state(sock, {"web2": ("UP", "127.0.0.3:%d" % port)}, "web2 keeps its address")
    wait_until(lambda: sorted(r[1] for r in state(sock).values() if r[0] == "UP") ==
               ["127.0.0.3:%d" % port, "127.0.0.4:%d" % port], 15, "the new address is taken")
    sp.wait_log(r"server app/web\d changed its address from \S+ to 127\.0\.0\.4:%d" % port)
    held.sendall(b"after")
    check(held.recv(100) == b"after", "the held session goes on across the change")
    # The name vanishes: after hold nx, every server is in maintenance.
    dns.fail("svc.test", 3)
    wait_state(sock, {n: ("MAINT (resolution)", None) for n in ("web1", "web2", "web3")},
               "NXDOMAIN past hold nx")
    sp.wait_log(r"resolution of 'svc\.test' failed: NX")
    held.sendall(b"still")
    check(held.recv(100) == b"still", "maintenance leaves the held session alone")
    dns.set("svc.test", A=["127.0.0.2"])
    wait_until(lambda: [r[1] for r in state(sock).values() if r[0] == "UP"] ==
               ["127.0.0.2:%d" % port], 15, "the name is back")
    traffic.stop()
    held.close()
    check(traffic.ok > 0, "traffic flowed")
    # Sessions started while no server had an address are refused; none
    # that found a server failed.
    check(sp.proc.poll() is None, "splicer runs")
    sp.stop()


@test
def test_srv_records_give_address_port_and_weight():
    dns = DNS()
    on_cleanup(dns.close)
    a = Server(echo_handler, host="127.0.0.2")
    b = Server(echo_handler, host="127.0.0.3")
    dns.set("pod-a.test", A=["127.0.0.2"])
    dns.set("pod-b.test", A=["127.0.0.3"])
    dns.set("_db._tcp.svc.test", SRV=[(0, 512, a.port, "pod-a.test"), (0, 0, b.port, "pod-b.test")])
    sp, sock, lport = start(dns, "    server-template db 1-3 _db._tcp.svc.test resolvers dns "
                            "init-addr none check inter 200ms\n")
    wait_until(lambda: sorted(r[1] for r in state(sock).values() if r[0] == "UP") ==
               sorted(["127.0.0.2:%d" % a.port, "127.0.0.3:%d" % b.port]), 15, "SRV targets")
    st = show_stat(sock)
    weights = sorted(int(r["weight"]) for r in st.values() if r["status"] == "UP")
    check(weights == [1, 3], "SRV weights 512 and 0 are HAProxy's 3 and 1: %r" % weights)
    check(st["db3"]["status"] == "MAINT (resolution)", "db3 has no record: %r" % st["db3"])
    check(echo_once(lport) == b"ping", "traffic reaches an SRV target")
    check(all(q[1] == T_SRV for q in dns.asked() if q[0] == "_db._tcp.svc.test"), "SRV asked")
    # pod-b moves to another port: its server follows.
    c = Server(echo_handler, host="127.0.0.3")
    dns.set("_db._tcp.svc.test", SRV=[(0, 512, a.port, "pod-a.test"), (0, 0, c.port, "pod-b.test")])
    wait_until(lambda: "127.0.0.3:%d" % c.port in [r[1] for r in state(sock).values()
                                                   if r[0] == "UP"], 15, "the new port")
    sp.stop()


@test
def test_bad_answers_are_logged_and_held():
    dns = DNS()
    on_cleanup(dns.close)
    port, _ = servers("127.0.0.2", 1)
    dns.set("svc.test", A=["127.0.0.2"])
    sp, sock, lport = start(dns, "    server s1 svc.test:%d resolvers dns init-addr none "
                            "resolve-prefer ipv4\n" % port,
                            "    hold other 60s\n    hold timeout 1s\n")
    wait_state(sock, {"s1": ("UP", "127.0.0.2:%d" % port)}, "resolved")
    for mode, log in (("garbage", r"invalid answer from local: malformed"),
                      ("loop", r"invalid answer from local: malformed"),
                      ("truncated", r"truncated answer from local"),
                      ("huge", r"sent \d+ bytes for 'svc\.test', more than accepted_payload_size 512")):
        dns.mode = mode
        sp.wait_log(log)
        check(state(sock)["s1"][0] == "UP", "%s: within hold other, s1 stays up" % mode)
        check(echo_once(lport) == b"ping", "%s: traffic still goes" % mode)
    dns.mode = "wrong_id"
    n = len(dns.asked())
    wait_until(lambda: len(dns.asked()) > n + 3, 10, "queries go on")
    # Answers with another id are ignored: the query times out, and after
    # hold timeout the server is in maintenance.
    wait_state(sock, {"s1": ("MAINT (resolution)", None)}, "wrong ids past hold timeout")
    sp.wait_log(r"resolution of 'svc\.test' failed: timeout")
    dns.mode = None
    wait_state(sock, {"s1": ("UP", "127.0.0.2:%d" % port)}, "good answers again")
    sp.wait_log(r"'svc\.test' resolves again")
    check(sp.rss_kib() < 64 * 1024, "memory bounded: %d KiB" % sp.rss_kib())
    sp.stop()


@test
def test_init_addr_and_grammar_errors():
    d = tempfile.mkdtemp(prefix="splicer-dnsconf-")
    on_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))

    def conf_check(text):
        path = os.path.join(d, "t.cfg")
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([SPLICER, "-c", "-f", path], capture_output=True, text=True,
                           timeout=30)
        return p.returncode, p.stderr
    head = "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n" \
        "    timeout server 1s\n"
    good = ("resolvers dns\n    nameserver a 127.0.0.1:53\n    nameserver b [::1]:5353\n"
            "    nameserver c 127.0.0.2:53\n    accepted_payload_size 8192\n    resolve_retries 3\n"
            "    timeout resolve 1s\n    timeout retry 1s\n    hold valid 10s\n    hold nx 30s\n"
            "    hold timeout 30s\n    hold refused 30s\n    hold other 30s\n"
            "    hold obsolete 30s\n" + head +
            "listen app\n    bind 127.0.0.1:%d\n"
            "    server-template s 1-3 nowhere.invalid:80 resolvers dns init-addr none\n"
            "    server-template t 2 _x._tcp.nowhere.invalid resolvers dns init-addr none "
            "resolve-opts allow-dup-ip,ignore-weight\n"
            "    server ip nowhere.invalid:80 resolvers dns init-addr libc,10.0.0.1 "
            "resolve-prefer ipv6\n" % free_port())
    rc, err = conf_check(good)
    check(rc == 0, "valid: %s" % err)
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if haproxy:
        p = subprocess.run([haproxy, "-c", "-f", os.path.join(d, "t.cfg")],
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, "haproxy accepts it too: %s" % p.stderr)
    bad = ("resolvers dns\n    nameserver a 127.0.0.1:53\n    hold forever 1s\n"
           "    timeout resolv 1s\n    nameservr b 127.0.0.1\n    accepted_payload_size 100\n"
           "    nameserver c 127.0.0.3\n"
           + head + "listen app\n    bind 127.0.0.1:%d\n"
           "    server b nowhere.invalid:80 init-addr sometimes\n"
           "    server-template c 0 x.invalid:80 init-addr none\n"
           "    server d nowhere.invalid:80 resolvers dns init-addr none resolve-opts fast\n"
           % free_port())
    rc, err = conf_check(bad)
    check(rc != 0, "refused")
    for want in ("t.cfg:3: unknown hold status 'forever'",
                 "t.cfg:4: 'timeout' in a resolvers section expects resolve|retry TIME",
                 "t.cfg:5: unknown keyword in a resolvers section 'nameservr'",
                 "t.cfg:6: 'accepted_payload_size'",
                 "t.cfg:7: nameserver 'c': '127.0.0.3' is not IP:PORT",
                 "'init-addr': 'sometimes' is none of last, libc, none or an IP address",
                 "server-template: '0' is not a number of servers",
                 "'resolve-opts': unknown option 'fast'"):
        check(want in err, "%r in:\n%s" % (want, err))
    # init-addr none without any answer: the server starts in maintenance.
    rc, err = conf_check("resolvers empty\n" + head + "listen app\n    bind 127.0.0.1:%d\n"
                         "    server a nowhere.invalid:80 init-addr last,libc\n"
                         "    server b nowhere.invalid:80 resolvers nosuch init-addr none\n"
                         % free_port())
    check(rc != 0 and "cannot resolve 'nowhere.invalid'" in err and
          "t.cfg:10: server 'b' in listen 'app': resolvers 'nosuch' is not a declared "
          "resolvers section" in err and
          "t.cfg:1: resolvers 'empty' has no nameserver" in err, err)


if __name__ == "__main__":
    run()
