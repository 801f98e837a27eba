"""splicer as a service: what "make install" lays out, the systemd unit's
sandbox (its security score, and that its capabilities are enough for
every engine), and the probes and drain of a sidecar."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ENGINES, SPLICER, SOCKMAP, Server, Skip, Splicer, addr, base_conf, check,
                     check_engine, connect, echo_handler, Fail, free_port, on_cleanup, recv_all, run,
                     test, wait_until)

BUILDDIR = os.path.dirname(os.path.dirname(os.path.abspath(SPLICER)))
UNIT = os.path.join(BUILDDIR, "contrib", "systemd", "splicer.service")


def make(*args, stdin=None):
    """make in the build directory, outside any make that runs the tests."""
    if not os.path.exists(os.path.join(BUILDDIR, "Makefile")):
        raise Skip("no Makefile next to %s" % SPLICER)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(["make", "-C", BUILDDIR] + list(args), capture_output=True, text=True,
                       env=env, timeout=300, input=stdin)
    check(r.returncode == 0, "make %s: %s%s" % (" ".join(args), r.stdout[-2000:], r.stderr[-2000:]))
    return r.stdout


def make_var(name):
    """A variable of the build's Makefile, expanded."""
    out = make("-s", "--no-print-directory", "-f", "Makefile", "-f", "-", "print-it",
               stdin="print-it:\n\t@echo '$(%s)'\n" % name)
    return out.strip()


def tmpdir():
    d = tempfile.mkdtemp(prefix="splicer-service-")
    on_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def files_under(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, fs in os.walk(root) for f in fs)


def unit_values(text, key):
    return [l.split("=", 1)[1] for l in text.splitlines() if l.startswith(key + "=")]


@test
def test_make_install_lays_out_a_service():
    dest = tmpdir()
    make("install", "DESTDIR=" + dest)
    prefix, sysconf = make_var("prefix"), make_var("sysconfdir")
    unitdir, docdir = make_var("systemdsystemunitdir"), make_var("docdir")
    at = lambda p: dest + p
    check(os.access(at(prefix + "/sbin/splicer"), os.X_OK), "no sbin/splicer: %s" % files_under(dest))
    check(os.access(at(prefix + "/bin/splicerctl"), os.X_OK), "no bin/splicerctl")
    check(not os.path.exists(at(prefix + "/bin/splicer")), "the daemon is in bin too")
    cfg = at(sysconf + "/splicer/splicer.cfg")
    for p in (cfg, at(sysconf + "/logrotate.d/splicer"), at(docdir + "/README.md"),
              at(docdir + "/examples/sidecar.cfg"), at(docdir + "/examples/quickstart.cfg")):
        check(os.path.isfile(p), "%s not installed: %s" % (p, files_under(dest)))
    if unitdir:
        unit = open(at(unitdir + "/splicer.service")).read()
        check(unit_values(unit, "ExecStart") == [prefix + "/sbin/splicer -f " + sysconf +
                                                 "/splicer/splicer.cfg"], unit)
        check(unit_values(unit, "ExecReload")[0].startswith(prefix + "/sbin/splicer -c -f "),
              "the reload does not check first: %s" % unit_values(unit, "ExecReload"))
        check(unit_values(unit, "RuntimeDirectory") == ["splicer"], "no RuntimeDirectory")
        check("@" not in "".join(unit_values(unit, "ExecStart")), "unsubstituted: %s" % unit)
    # The example is valid for the binary installed with it.
    r = subprocess.run([at(prefix + "/sbin/splicer"), "-c", "-f", cfg], capture_output=True,
                       text=True)
    check(r.returncode == 0, "the installed example is not valid: %s" % r.stderr)
    # An administrator's file survives a reinstall and an uninstall.
    with open(cfg, "a") as f:
        f.write("# edited\n")
    make("install", "DESTDIR=" + dest)
    check(open(cfg).read().endswith("# edited\n"), "reinstall replaced the edited configuration")
    make("uninstall", "DESTDIR=" + dest)
    left = files_under(dest)
    check(left == [os.path.relpath(cfg, dest)], "uninstall left %s" % left)
    os.unlink(cfg)
    make("install", "DESTDIR=" + dest)
    make("uninstall", "DESTDIR=" + dest)
    check(files_under(dest) == [], "uninstall of an unedited install left %s" % files_under(dest))


@test
def test_unit_security_exposure_at_most_2_5():
    if shutil.which("systemd-analyze") is None:
        raise Skip("no systemd-analyze (apt-get install systemd)")
    make("contrib/systemd/splicer.service")
    d = tmpdir()
    shutil.copy(UNIT, d)
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                        os.path.join(d, "splicer.service")], capture_output=True, text=True, cwd=d)
    m = re.search(r"Overall exposure level for splicer.service: (\d+\.\d+)", r.stdout)
    check(m is not None, "no score: %s %s" % (r.stdout[-2000:], r.stderr))
    check(float(m.group(1)) <= 2.5, "exposure %s:\n%s" % (m.group(1), r.stdout))


def low_port():
    """A free TCP port below 1024 on loopback (needs CAP_NET_BIND_SERVICE)."""
    for p in range(900, 1000):
        if free_low(p):
            return p
    raise Skip("no free port below 1024")


@test
def test_unit_capabilities_are_enough_for_every_engine():
    """splicer as the unit runs it: not root, no new privileges, only the
    ambient capabilities the unit grants; a port below 1024, and the
    sockmap engine in the kernel."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        raise Skip("needs root and setpriv")
    make("contrib/systemd/splicer.service")
    unit = open(UNIT).read()
    caps = unit_values(unit, "AmbientCapabilities")[0].split()
    check(unit_values(unit, "CapabilityBoundingSet")[0].split() == caps,
          "the bounding set is not the ambient set")
    # A capability this machine's bounding set lacks (a container may
    # withhold CAP_SYS_RESOURCE) cannot be granted here: test the others.
    bnd = int(re.search(r"^CapBnd:\s+(\S+)", open("/proc/self/status").read(), re.M).group(1), 16)
    numbers = {"CAP_NET_BIND_SERVICE": 10, "CAP_NET_ADMIN": 12, "CAP_SYS_RESOURCE": 24,
               "CAP_PERFMON": 38, "CAP_BPF": 39}
    check(all(c in numbers for c in caps), "unexpected capabilities %s" % caps)
    spec = ",".join("+" + c[4:].lower() for c in caps if bnd >> numbers[c] & 1)
    wrap = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--no-new-privs",
            "--inh-caps=-all," + spec, "--ambient-caps=" + spec]
    srv = Server(echo_handler)
    on_cleanup(srv.close)
    d = tmpdir()
    os.chmod(d, 0o755)
    for engine in ENGINES:
        p = low_port()
        cfg = os.path.join(d, engine + ".cfg")
        with open(cfg, "w") as f:
            f.write(base_conf("127.0.0.1:%d" % p, srv.addr, engine))
        os.chmod(cfg, 0o644)
        sp = Splicer(args=["-f", cfg], wrap=wrap)
        status = open("/proc/%d/status" % sp.pid).read()
        check(re.search(r"^Uid:\s+65534\s", status, re.M), "not running as nobody")
        data = os.urandom(16 << 20)  # past the point where auto hands over
        s = connect(addr(p), timeout=60)
        t = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
        t.start()
        check(recv_all(s) == data, "engine %s: relay broken" % engine)
        t.join()
        s.close()
        l = sp.wait_sessions(1)[0]
        if engine != "auto":  # auto's hand-over depends on the flow's pace
            check_engine(l, engine)
        if engine in ("sockmap", "auto") and SOCKMAP:
            check("sockmap engine ready" in sp.log(), sp.log()[-2000:])
        sp.stop()



class NotifySocket:
    """systemd's end of sd_notify: a datagram socket; each message is a
    list of KEY=VALUE lines."""

    def __init__(self):
        d = tmpdir()
        os.chmod(d, 0o755)
        self.path = os.path.join(d, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)
        on_cleanup(self.sock.close)
        self.got = []

    def wait(self, key, match=None, timeout=10):
        """The next message that has KEY, with a value matching the
        regular expression match if given (all are kept in got)."""
        end = time.time() + timeout
        while time.time() < end:
            self.sock.settimeout(max(0.01, end - time.time()))
            try:
                m = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            fields = dict(l.split("=", 1) for l in m.split("\n") if "=" in l)
            self.got.append(fields)
            if key in fields and (match is None or re.search(match, fields[key])):
                return fields
        raise Fail("no %s within %ss; got %r" % (key, timeout, self.got))


def need_notify():
    if "(libsystemd)" not in subprocess.run([SPLICER, "-V"], capture_output=True,
                                            text=True).stdout:
        raise Skip("built without libsystemd")


@test
def test_sd_notify_ready_reloading_status_stopping():
    need_notify()
    n = NotifySocket()
    srv = Server(echo_handler)
    on_cleanup(srv.close)
    p = free_port()
    user = "    user nobody\n" if os.geteuid() == 0 else ""
    sp = Splicer(base_conf("127.0.0.1:%d" % p, srv.addr, global_extra=user),
                 env={"NOTIFY_SOCKET": n.path}, expect_exit=True)
    os.chmod(sp.dir, 0o755)  # readable to the user it runs as, for the reloads
    os.chmod(sp.cfg, 0o644)
    m = n.wait("READY")
    check(m["READY"] == "1", repr(m))
    # Ready means serving, as the user it runs as.
    s = connect(addr(p))
    s.sendall(b"ping")
    check(s.recv(4) == b"ping", "not relaying at READY=1")
    s_open = s
    if user:
        st = open("/proc/%d/status" % sp.pid).read()
        check(re.search(r"^Uid:\s+65534\s", st, re.M), "READY=1 before the privileges went")
    n.wait("STATUS", r"^1 sessions; no reload yet$")  # refreshed every 5 s

    before = int(time.monotonic() * 1e6)
    sp.signal(signal.SIGHUP)
    m = n.wait("RELOADING")
    check(before <= int(m.get("MONOTONIC_USEC", 0)) <= int(time.monotonic() * 1e6),
          "MONOTONIC_USEC %r not the reload's time" % m)
    n.wait("READY")
    check(n.wait("STATUS")["STATUS"] == "1 sessions; reload #1 succeeded", repr(n.got))

    with open(sp.cfg, "a") as f:
        f.write("    no-such-keyword 1\n")
    sp.signal(signal.SIGHUP)
    n.wait("RELOADING")
    n.wait("READY")
    st = n.wait("STATUS")["STATUS"]
    check(re.match(r"1 sessions; reload #2 failed: .*no-such-keyword", st), st)
    s_open.close()

    sp.signal(signal.SIGTERM)
    m = n.wait("STOPPING")
    check(m["STOPPING"] == "1" and m.get("STATUS", "").startswith("stopping"), repr(m))
    check(sp.proc.wait(10) == 0, "exit code")
    sp.check_clean()


@test
def test_sd_notify_watchdog_while_loops_turn():
    need_notify()
    n = NotifySocket()
    sp = Splicer(base_conf("127.0.0.1:%d" % free_port(), "127.0.0.1:1"),
                 env={"NOTIFY_SOCKET": n.path, "WATCHDOG_USEC": "200000"}, expect_exit=True)
    n.wait("READY")
    t0 = time.time()
    for _ in range(5):
        n.wait("WATCHDOG")
    check(time.time() - t0 < 5, "five WATCHDOG=1 at 100 ms took %.1fs" % (time.time() - t0))
    sp.stop()


@test
def test_sd_notify_refuses_a_chroot_that_hides_the_socket():
    need_notify()
    if os.geteuid() != 0:
        raise Skip("chroot needs root")
    n = NotifySocket()
    jail = tmpdir()
    sp = Splicer(base_conf("127.0.0.1:%d" % free_port(), "127.0.0.1:1",
                           global_extra="    chroot %s\n" % jail),
                 env={"NOTIFY_SOCKET": n.path}, expect_exit=True)
    check(sp.proc.wait(10) == 2, "exit %s" % sp.proc.returncode)
    check("notify socket %s is out of reach" % n.path in sp.log(), sp.log())



# ---- probes and drain ----

def http_get(port, path, timeout=5):
    """(status, body) of GET http://127.0.0.1:port/path."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode().strip()
    finally:
        c.close()


def probe_conf(listen, server, health, global_extra="", check_line=" check inter 100ms"):
    return base_conf(listen, server + check_line,
                     global_extra="    stats health 127.0.0.1:%d\n%s" % (health, global_extra))


@test
def test_probes_answer_healthz_and_ready_with_the_reason():
    srv = Server(echo_handler)
    on_cleanup(srv.close)
    p, h = free_port(), free_port()
    sock = os.path.join(tmpdir(), "admin.sock")
    sp = Splicer(probe_conf("127.0.0.1:%d" % p, srv.addr, h,
                            "    stats socket %s level admin\n" % sock))
    check(http_get(h, "/healthz") == (200, "alive"), repr(http_get(h, "/healthz")))
    check(http_get(h, "/ready") == (200, "ready"), repr(http_get(h, "/ready")))
    check(http_get(h, "/metrics")[0] == 404, "another path answered")
    # The admin disables the frontend: not ready, still alive.
    r = subprocess.run([os.path.join(os.path.dirname(SPLICER), "splicerctl"), "-s", sock,
                        "disable", "frontend", "app"], capture_output=True, text=True)
    check(r.returncode == 0, r.stdout + r.stderr)
    check(http_get(h, "/ready") == (503, "frontend app is disabled"), repr(http_get(h, "/ready")))
    subprocess.run([os.path.join(os.path.dirname(SPLICER), "splicerctl"), "-s", sock,
                    "enable", "frontend", "app"], check=True, capture_output=True)
    # The app behind goes away: its check takes the server down, and the
    # probe says so while a TCP probe of the port would still pass.
    srv.close()
    sp.wait_log(r"server app/s1 is DOWN")
    check(http_get(h, "/ready") == (503, "frontend app: backend app has no server up"),
          repr(http_get(h, "/ready")))
    check(http_get(h, "/healthz") == (200, "alive"), repr(http_get(h, "/healthz")))
    sp.stop()


def ptrace_stop_thread(tid):
    """Stop one thread of a process (the others run on): PTRACE_SEIZE and
    PTRACE_INTERRUPT. Returns a function that lets it go."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT, WALL = 17, 0x4206, 0x4207, 0x40000000
    if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0:
        raise Skip("ptrace: %s" % os.strerror(ctypes.get_errno()))
    check(libc.ptrace(PTRACE_INTERRUPT, tid, None, None) == 0, "PTRACE_INTERRUPT")
    os.waitpid(tid, WALL)
    return lambda: libc.ptrace(PTRACE_DETACH, tid, None, None)


@test
def test_healthz_fails_while_a_worker_loop_is_stuck():
    if os.geteuid() != 0:
        raise Skip("ptrace of a thread needs root here")
    h = free_port()
    sp = Splicer(probe_conf("127.0.0.1:%d" % free_port(), "127.0.0.1:1", h,
                            "    nbthread 1\n", check_line=""))
    tids = [int(t) for t in os.listdir("/proc/%d/task" % sp.pid) if int(t) != sp.pid]
    check(len(tids) == 1, "expected one worker thread besides the control thread: %s" % tids)
    check(http_get(h, "/healthz")[0] == 200, "not alive at start")
    release = ptrace_stop_thread(tids[0])
    on_cleanup(release)
    wait_until(lambda: http_get(h, "/healthz")[0] == 503, 10, "/healthz 503")
    st, body = http_get(h, "/healthz")
    check(re.match(r"worker thread 0 has not run its event loop for \d+\.\d s$", body), body)
    check(http_get(h, "/ready")[0] == 503, "ready with a stuck worker")
    release()
    wait_until(lambda: http_get(h, "/healthz") == (200, "alive"), 10, "/healthz 200 again")
    sp.stop()


@test
def test_sigterm_grace_kubelet_sees_no_refused_connect_and_no_broken_session():
    """The kubelet's part: probes, SIGTERM, clients still sent here for a
    while (the endpoints controller lags), then the drain."""
    srv = Server(echo_handler)
    on_cleanup(srv.close)
    p, h = free_port(), free_port()
    grace, sending = 4.0, 2.5  # clients stop coming well inside the grace
    sp = Splicer(probe_conf("127.0.0.1:%d" % p, srv.addr, h,
                            "    grace %ds\n    hard-stop-after 20s\n" % grace))
    check(http_get(h, "/ready") == (200, "ready"), "not ready at start")
    # Long sessions in progress at SIGTERM, and sessions opened during the
    # grace, must all end whole.
    long = []
    for i in range(3):
        s = connect(addr(p), timeout=30)
        s.sendall(b"x" * 1000)
        check(len(recv_exactly(s, 1000)) == 1000, "echo before SIGTERM")
        long.append(s)
    sp.signal(signal.SIGTERM)
    t0 = time.time()
    wait_until(lambda: http_get(h, "/ready")[0] == 503, 2, "/ready 503 after SIGTERM")
    check(http_get(h, "/ready") == (503, "stopping (SIGTERM)"), repr(http_get(h, "/ready")))
    refused = broken = done = 0
    during = []
    while time.time() - t0 < sending:
        try:
            s = connect(addr(p), timeout=10)
        except OSError:
            refused += 1
            continue
        try:
            msg = b"during grace %d" % done
            s.sendall(msg)
            if recv_exactly(s, len(msg)) != msg:
                broken += 1
        except OSError:
            broken += 1
        during.append(s)  # some stay open across the end of the grace
        if len(during) > 5:
            during.pop(0).close()
        done += 1
        time.sleep(0.02)
    check(refused == 0 and broken == 0 and done > 20,
          "%d connects, %d refused, %d broken" % (done, refused, broken))
    check(http_get(h, "/healthz") == (200, "alive, stopping"), repr(http_get(h, "/healthz")))
    # After the grace: listeners closed, sessions go on.
    sp.wait_log(r"(SIGTERM|Terminated): stopped accepting; waiting for \d+ sessions", grace + 5)
    check(time.time() - t0 >= grace - 0.1, "listeners closed %.2fs after SIGTERM, before the "
          "grace" % (time.time() - t0))
    wait_until(lambda: refuses(p), 5, "the listener to close after the grace")
    for s in long + during:
        s.sendall(b"after the grace")
        check(recv_exactly(s, 15) == b"after the grace", "a session broke at the end of grace")
        s.shutdown(socket.SHUT_WR)
        check(recv_all(s) == b"", "data after EOF")
        s.close()
    check(sp.proc.wait(10) == 0, "exit %s" % sp.proc.returncode)
    sp.check_clean()
    terms = [l["term"] for l in sp.sessions()]
    check(len(terms) == 3 + done and all(t == "--" for t in terms),
          "%d sessions logged, terminations %s" % (len(terms), sorted(set(terms))))


def recv_exactly(s, n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            break
        b += chunk
    return b


def refuses(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


@test
def test_second_sigterm_during_grace_stops_at_once():
    h, p = free_port(), free_port()
    sp = Splicer(probe_conf("127.0.0.1:%d" % p, "127.0.0.1:1", h, "    grace 60s\n",
                            check_line=""))
    sp.signal(signal.SIGTERM)
    sp.wait_log(r"60.000 s of grace")
    check(not refuses(p), "the listener closed at the first SIGTERM")
    sp.signal(signal.SIGTERM)
    check(sp.proc.wait(10) == 0, "exit %s" % sp.proc.returncode)
    check("SIGTERM during grace: stopping now" in sp.log() or
          "Terminated during grace: stopping now" in sp.log(), sp.log()[-1500:])
    sp.check_clean()



@test
def test_kubernetes_manifest_agrees_with_the_sidecar_config():
    """The probes hit what sidecar.cfg serves, and the pod waits longer
    than splicer's grace and hard-stop-after together."""
    try:
        import yaml
    except ImportError:
        raise Skip("no python3-yaml")
    from harness import SRCDIR
    cfg = open(os.path.join(SRCDIR, "contrib", "examples", "sidecar.cfg")).read()
    docs = list(yaml.safe_load_all(open(os.path.join(SRCDIR, "contrib", "kubernetes",
                                                     "sidecar.yaml"))))
    pod = [d for d in docs if d["kind"] == "Deployment"][0]["spec"]["template"]["spec"]
    c = [c for c in pod["containers"] if c["name"] == "splicer"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    health = int(re.search(r"^\s*stats health \S*:(\d+)", cfg, re.M).group(1))
    bind = int(re.search(r"^\s*bind \S*:(\d+)", cfg, re.M).group(1))
    check(ports["probes"] == health and ports["proxy"] == bind, "ports %s" % ports)
    check(c["readinessProbe"]["httpGet"]["path"] == "/ready", "readinessProbe")
    check(c["livenessProbe"]["httpGet"]["path"] == "/healthz", "livenessProbe")
    secs = lambda k: int(re.search(r"^\s*%s (\d+)s\b" % k, cfg, re.M).group(1))
    check(secs("grace") + secs("hard-stop-after") < pod["terminationGracePeriodSeconds"],
          "grace %ds + hard-stop-after %ds do not fit in terminationGracePeriodSeconds %d"
          % (secs("grace"), secs("hard-stop-after"), pod["terminationGracePeriodSeconds"]))
    r = subprocess.run([SPLICER, "-c", "-f", os.path.join(SRCDIR, "contrib", "examples",
                                                          "sidecar.cfg")],
                       capture_output=True, text=True)
    check(r.returncode == 0, r.stderr)



@test
def test_reload_binds_a_low_port_after_user():
    """After "user", the process keeps CAP_NET_BIND_SERVICE and nothing
    else: a reload opens a second port below 1024."""
    if os.geteuid() != 0:
        raise Skip("user needs root")
    if "libcap-ng (" not in subprocess.run([SPLICER, "-V"], capture_output=True,
                                           text=True).stdout:
        raise Skip("built without libcap-ng")
    srv = Server(echo_handler)
    on_cleanup(srv.close)
    p1 = low_port()
    conf = lambda binds: base_conf(binds, srv.addr, global_extra="    user nobody\n"
                                   "    group nogroup\n")
    sp = Splicer(conf("127.0.0.1:%d" % p1))
    os.chmod(sp.dir, 0o755)
    os.chmod(sp.cfg, 0o644)
    st = open("/proc/%d/status" % sp.pid).read()
    field = lambda k: re.search(r"^%s:[ \t]*(.*)$" % k, st, re.M).group(1).split()
    check(field("Uid") == ["65534"] * 4, "Uid %r" % field("Uid"))
    check(field("Groups") == [], "supplementary groups %r" % field("Groups"))
    for k in ("CapEff", "CapPrm"):
        check(int(field(k)[0], 16) == 1 << 10, "%s %s: not CAP_NET_BIND_SERVICE alone"
              % (k, field(k)[0]))
    check(int(field("CapBnd")[0], 16) & ~(1 << 10) == 0, "bounding set %s" % field("CapBnd"))
    check(field("NoNewPrivs") == ["1"], "NoNewPrivs")
    p2 = [p for p in range(999, 900, -1) if p != p1 and free_low(p)][0]
    with open(sp.cfg, "w") as f:
        f.write(conf("127.0.0.1:%d,127.0.0.1:%d" % (p1, p2)))
    sp.signal(signal.SIGHUP)
    sp.wait_log(r"reload #1 (succeeded|failed)")
    check("reload #1 succeeded" in sp.log(), sp.log()[-1500:])
    c = connect(addr(p2))
    c.sendall(b"low")
    c.shutdown(socket.SHUT_WR)
    check(recv_all(c) == b"low", "the port opened by the reload does not relay")
    sp.stop()


def free_low(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()


# ---- one instance per address ----

def echo_conf(port, threads=2):
    return base_conf("127.0.0.1:%d" % port, "127.0.0.1:1", global_extra="    nbthread %d\n" % threads)


@test
def test_second_splicer_on_the_same_port_is_refused():
    srv = Server(echo_handler)
    on_cleanup(srv.close)
    p = free_port()
    first = Splicer(base_conf("127.0.0.1:%d" % p, srv.addr, global_extra="    nbthread 2\n"))
    second = Splicer(base_conf("127.0.0.1:%d" % p, srv.addr, global_extra="    nbthread 2\n"),
                     expect_exit=True)
    check(second.proc.wait(10) == 2, "exit %s: %s" % (second.proc.returncode, second.log()))
    check("cannot bind 127.0.0.1:%d: pid %d (splicer) listens on it already" % (p, first.pid)
          in second.log(), second.log())
    # Every client still reaches the first one.
    for i in range(20):
        s = connect(addr(p))
        s.sendall(b"%d" % i)
        s.shutdown(socket.SHUT_WR)
        check(recv_all(s) == b"%d" % i, "echo %d" % i)
        s.close()
    check(len(first.wait_sessions(20)) == 20, "the first splicer did not carry every session")
    first.stop()


@test
def test_foreign_reuseport_listener_is_refused_also_on_the_wildcard():
    for host in ("127.0.0.1", "0.0.0.0"):
        p = free_port()
        other = socket.socket()
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind((host, p))
        other.listen()
        on_cleanup(other.close)
        sp = Splicer(echo_conf(p), expect_exit=True)
        check(sp.proc.wait(10) == 2, "exit %s with %s:%d held: %s" % (sp.proc.returncode, host,
                                                                      p, sp.log()))
        check(re.search(r"cannot bind 127.0.0.1:%d: (pid %d \(python[^)]*\)|another process) "
                        r"listens on it already" % (p, os.getpid()), sp.log()), sp.log())
        other.close()
    # Once the other one is gone, the same address binds.
    sp = Splicer(echo_conf(p))
    sp.stop()


@test
def test_pidfile_is_locked_while_splicer_runs():
    d = tmpdir()
    pidfile = os.path.join(d, "splicer.pid")
    first = Splicer(echo_conf(free_port()), args=["-p", pidfile])
    check(open(pidfile).read() == "%d\n" % first.pid, "pidfile %r" % open(pidfile).read())
    second = Splicer(echo_conf(free_port()), args=["-p", pidfile], expect_exit=True)
    check(second.proc.wait(10) == 2, "exit %s: %s" % (second.proc.returncode, second.log()))
    check("pidfile %s is locked by pid %d: another splicer runs with it" % (pidfile, first.pid)
          in second.log(), second.log())
    check(open(pidfile).read() == "%d\n" % first.pid, "the refused one touched the pidfile")
    first.stop()
    third = Splicer(echo_conf(free_port()), args=["-p", pidfile])
    check(open(pidfile).read() == "%d\n" % third.pid, "pidfile after a restart")
    third.stop()



@test
def test_pidfile_lock_survives_daemonizing():
    d = tmpdir()
    pidfile, cfg = os.path.join(d, "splicer.pid"), os.path.join(d, "d.cfg")
    with open(cfg, "w") as f:
        f.write(echo_conf(free_port()).replace("log stderr", "log %s/log" % d))
    r = subprocess.run([SPLICER, "-D", "-p", pidfile, "-f", cfg], timeout=10)
    check(r.returncode == 0, "parent exit %d" % r.returncode)
    wait_until(lambda: open(pidfile).read().strip(), 5, "pidfile")
    pid = int(open(pidfile).read())
    on_cleanup(lambda: os.kill(pid, signal.SIGKILL) if os.path.exists("/proc/%d" % pid) else None)
    second = Splicer(echo_conf(free_port()), args=["-p", pidfile], expect_exit=True)
    check(second.proc.wait(10) == 2 and "is locked by pid %d" % pid in second.log(),
          "exit %s: %s" % (second.proc.returncode, second.log()))
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not os.path.exists("/proc/%d" % pid) or
               open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] == "Z",
               10, "the daemon to exit")


@test
def test_reload_refuses_an_address_another_process_listens_on():
    srv = Server(echo_handler)
    on_cleanup(srv.close)
    p1, p2 = free_port(), free_port()
    sp = Splicer(base_conf("127.0.0.1:%d" % p1, srv.addr, global_extra="    nbthread 2\n"))
    other = socket.socket()
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    other.bind(("127.0.0.1", p2))
    other.listen()
    on_cleanup(other.close)
    with open(sp.cfg, "w") as f:
        f.write(base_conf("127.0.0.1:%d,127.0.0.1:%d" % (p1, p2), srv.addr,
                          global_extra="    nbthread 2\n"))
    sp.signal(signal.SIGHUP)
    sp.wait_log(r"reload #1 (succeeded|failed)")
    check(re.search(r"reload: cannot bind 127.0.0.1:%d: pid %d \(python[^)]*\) listens on it "
                    r"already" % (p2, os.getpid()), sp.log()) and
          "reload #1 failed" in sp.log(), sp.log()[-1500:])
    # The running configuration stays, and its own address is not "foreign".
    other.close()
    sp.signal(signal.SIGHUP)
    sp.wait_log(r"reload #2 (succeeded|failed)")
    check("reload #2 succeeded: 1 addresses kept, 1 opened" in sp.log(), sp.log()[-1500:])
    sp.stop()


run()
