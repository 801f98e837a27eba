"""The corpus of real HAProxy "mode tcp" files (tests/conf/wild, see its
MANIFEST): Debian's haproxy -c and splicer -c on each, both counts printed.
A file HAProxy accepts must load in splicer unless the MANIFEST says why it
is refused (one that now loads is reported, for the MANIFEST to be
updated); a few files that load are run with traffic."""
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import (SPLICER, SRCDIR, Server, Splicer, check, echo_handler, free_port,
                     recv_all, run, test)

WILD = os.path.join(SRCDIR, "tests", "conf", "wild")


def manifest():
    """{file: {repo, path, commit, what, edits, expect}} from the MANIFEST."""
    out, cur = {}, None
    with open(os.path.join(WILD, "MANIFEST")) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#") or not line.strip():
                continue
            key, _, val = line.partition(": ")
            if key == "file":
                cur = out.setdefault(val, {})
            cur[key] = val
    return out


def env(tmp):
    """The variables the MANIFEST's files use, and a certificate."""
    cert = os.path.join(tmp, "wild.pem")
    key = os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    key, "-out", cert + ".crt", "-days", "1", "-subj", "/CN=wild"],
                   check=True, capture_output=True, timeout=60)
    with open(cert, "w") as f:
        f.write(open(cert + ".crt").read() + open(key).read())
    e = dict(os.environ)
    e.update(WILD_CERT=cert, HAPROXY_STATS_USER="admin", HAPROXY_STATS_PASSWORD="secret",
             PATRONI1_PRIVATE_DOMAIN="127.0.1.1", PATRONI2_PRIVATE_DOMAIN="127.0.1.2",
             PATRONI3_PRIVATE_DOMAIN="127.0.1.3", HAPROXY_DOMAIN="example.org",
             ADMIN_USERNAME="admin", ADMIN_PASSWORD="secret", PRIMARY_REGION="ams",
             FLY_APP_NAME="pg", PG_LISTEN_ADDRESS="::1")
    return e


def haproxy_path():
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/sbin")


@test
def test_corpus_counts_and_every_refusal_is_expected():
    man = manifest()
    names = sorted(n for n in os.listdir(WILD) if n.endswith(".cfg"))
    check(sorted(man) == names, "MANIFEST and files differ: %r" % (set(man) ^ set(names)))
    repos = {man[n]["repo"] for n in names}
    check(len(names) >= 40 and len(repos) >= 30,
          "%d files from %d repositories" % (len(names), len(repos)))
    haproxy = haproxy_path()
    check(haproxy is not None, "haproxy is not installed (tests/run-all.sh installs it)")
    tmp = tempfile.mkdtemp(prefix="wild-")
    e = env(tmp)
    h_ok = s_ok = both = 0
    bad, stale = [], []
    for n in names:
        path = os.path.join(WILD, n)
        h = subprocess.run([haproxy, "-c", "-f", path], capture_output=True, text=True,
                           timeout=30, env=e, cwd=tmp)
        s = subprocess.run([SPLICER, "-c", "-f", path], capture_output=True, text=True,
                           timeout=30, env=e, cwd=tmp)
        h_ok += h.returncode == 0
        s_ok += s.returncode == 0
        both += h.returncode == 0 and s.returncode == 0
        expect = man[n]["expect"]
        alerts = [l for l in s.stderr.splitlines() if l.startswith("[ALERT]") and
                  "the configuration is not valid" not in l]
        if h.returncode == 0 and s.returncode != 0 and expect == "loads":
            bad.append("%s: haproxy accepts it, splicer refuses:\n  %s" % (n, "\n  ".join(alerts)))
        if expect.startswith("refused") and s.returncode == 0:
            # Progress elsewhere (a helper's feature landing) is no failure
            # here, but the MANIFEST's reason is then out of date.
            stale.append(n)
        if s.returncode != 0:
            # Each error names the file and line; an HTTP or TLS refusal
            # names the proxy.
            for l in alerts:
                if not re.search(r"\] %s:\d+: " % re.escape(path), l):
                    bad.append("%s: an error without file:line: %s" % (n, l))
            if "HTTP application proxy" in expect and not any(
                    re.search(r"(frontend|backend|listen) '[^']+' is an HTTP proxy", l)
                    for l in alerts):
                bad.append("%s: no line names the HTTP proxy:\n  %s" % (n, "\n  ".join(alerts)))
            if "TLS termination" in expect and not any("does not terminate TLS" in l and
                                                       re.search(r"in (frontend|listen) '", l)
                                                       for l in alerts):
                bad.append("%s: no line names the TLS proxy" % n)
    print("wild corpus: %d files from %d repositories; haproxy -c accepts %d, splicer -c "
          "accepts %d (%d of haproxy's)" % (len(names), len(repos), h_ok, s_ok, both))
    if stale:
        print("wild corpus: the MANIFEST says refused but splicer loads %s: update its "
              "expect lines" % ", ".join(stale))
    shutil.rmtree(tmp, ignore_errors=True)
    check(not bad, "\n".join(bad))


def spot(name, subs):
    """The file with each (pattern, replacement) of subs applied, ports and
    servers moved onto this test's loopback addresses."""
    with open(os.path.join(WILD, name)) as f:
        text = f.read()
    for a, b in subs:
        text, n = re.subn(a, b, text)
        check(n > 0, "%s: no %r to replace" % (name, a))
    return text


def relay(port, payload=b"wild corpus"):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    got = recv_all(s)
    s.close()
    return got


@test
def test_loaded_files_relay_traffic():
    """cockroachdb (listen, three servers), pg-tcp-check (frontend and a
    tcp-check backend), warp-socks5 (roundrobin) and ss-relay-range (a
    port range to a server without a port, ulimit-n)."""
    srv = Server(echo_handler)
    p = free_port()
    cases = [
        ("cockroachdb.cfg", [(r"bind :26257", "bind 127.0.0.1:%d" % p),
                             (r"127\.0\.1\.\d:26257", srv.addr)], [p]),
        ("pg-tcp-check.cfg", [(r"bind \*:5432", "bind 127.0.0.1:%d" % p),
                              (r"127\.0\.1\.\d:5432 check port 5432",
                               "%s check port %d" % (srv.addr, srv.port))], [p]),
        ("warp-socks5.cfg", [(r"bind \*:9999", "bind 127.0.0.1:%d" % p),
                             (r"127\.0\.1\.\d:1080", srv.addr)], [p]),
    ]
    for name, subs, ports in cases:
        sp = Splicer(spot(name, subs))
        for port in ports:
            for _ in range(3):
                check(relay(port) == b"wild corpus", "%s: echo through port %d" % (name, port))
        sp.stop()
    # ss-relay-range: splicer on 127.0.0.1:A..A+2, the server without a port
    # on 127.0.1.1 at each of those ports.
    # Below the kernel's ephemeral range, so that no connection of this
    # test holds one of them; each free on both addresses.
    servers = []
    for _ in range(50):
        base = random.randrange(20000, 32000)
        try:
            for i in range(3):
                probe = socket.socket()
                try:
                    probe.bind(("127.0.0.1", base + i))
                finally:
                    probe.close()
            servers = [Server(echo_handler, host="127.0.1.1", port=base + i) for i in range(3)]
            break
        except OSError:
            for s in servers:
                s.close()
            servers = []
    check(len(servers) == 3, "no three consecutive ports free on 127.0.1.1")
    sp = Splicer(spot("ss-relay-range.cfg", [(r"bind \*:15937-15939",
                                              "bind 127.0.0.1:%d-%d" % (base, base + 2))]))
    for i in range(3):
        check(relay(base + i) == b"wild corpus", "ss-relay-range: port %d" % (base + i))
        check(servers[i].accepted == 1, "server at port %d accepted %d" %
              (base + i, servers[i].accepted))
    sp.stop()


if __name__ == "__main__":
    run()
