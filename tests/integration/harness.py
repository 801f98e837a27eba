"""Integration harness: start the real splicer binary, talk to it with
Python sockets, and clean up every process and socket we started, even
when a test fails.

Each test file registers functions with @test (or @per_engine, which runs
the function once per data-path engine) and ends with run(). Every test
runs under a watchdog; the last line printed is "N passed, N failed".
"""
import fcntl
import hashlib
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import traceback

SPLICER = os.environ.get("SPLICER") or os.path.join(
    os.path.dirname(__file__), "..", "..", "src", "splicer")
SRCDIR = os.environ.get("SPLICER_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
ENGINES = ("splice", "copy", "sockmap", "auto")
# engine auto hands a session to the kernel after this much (default 1m),
# if it is not faster than the rate (default 1gbps): here low and high
# enough that the battery's larger transfers are promoted mid-stream.
AUTO_PROMOTE = "64k"
AUTO_MAX_RATE = "1000gbps"
# The sockmap engine is there when the binary has it and we may load BPF;
# otherwise sessions of engine sockmap and auto are spliced.
SOCKMAP = os.path.exists(SPLICER) and os.geteuid() == 0 and " sockmap" in \
    subprocess.run([SPLICER, "-V"], capture_output=True, text=True).stdout
# Under ASan, memory and timing figures are loosened (shadow memory, slower code).
SANITIZED = "asan" in subprocess.run(["ldd", SPLICER], capture_output=True, text=True).stdout \
    if os.path.exists(SPLICER) else False
TEST_TIMEOUT = int(os.environ.get("SPLICER_TEST_TIMEOUT", "120"))

_tests = []
_cleanups = []


def test(fn):
    _tests.append((fn.__name__, fn, ()))
    return fn


def params(*values):
    """Run the test once per value, passed as its argument."""
    def deco(fn):
        for v in values:
            _tests.append(("%s[%s]" % (fn.__name__, v), fn, (v,)))
        return fn
    return deco


def per_engine(fn):
    for e in ENGINES:
        _tests.append(("%s[%s]" % (fn.__name__, e), fn, (e,)))
    return fn


TIER = os.environ.get("SPLICER_TEST_TIER", "")


def slow(fn):
    """A test of the slow tier (minutes, not seconds): skipped unless
    SPLICER_TEST_TIER=slow or tests are named on the command line. Put
    it under @test / @per_engine / @params."""
    def wrapper(*args):
        if TIER != "slow" and not sys.argv[1:]:
            raise Skip("slow tier: run with SPLICER_TEST_TIER=slow, or name the test")
        return fn(*args)
    wrapper.__name__ = fn.__name__
    return wrapper


def netns(sysctls):
    """Run the decorated test in a network namespace of its own, with
    these /proc/sys/net values (e.g. {"ipv4/tcp_wmem": "4096 8192 16384"}),
    so that buffer sizes are small and known without touching the host.
    The test function is re-run in a child python under unshare --net."""
    def deco(fn):
        def wrapper(*args):
            name = fn.__name__ + ("[%s]" % args[0] if args else "")
            if os.environ.get("SPLICER_IN_NETNS") == name:
                return fn(*args)
            setup = "ip link set lo up"
            for k, v in sysctls.items():
                setup += " && echo '%s' > /proc/sys/net/%s" % (v, k)
            env = dict(os.environ, SPLICER_IN_NETNS=name)
            r = subprocess.run(["unshare", "--net", "--", "sh", "-c",
                                setup + ' && exec "$0" "$1" "$2"', sys.executable,
                                os.path.abspath(sys.argv[0]), "=" + name],
                               env=env, capture_output=True, text=True, timeout=TEST_TIMEOUT)
            out = (r.stdout + r.stderr).strip()
            for l in r.stdout.splitlines():
                if l.startswith("    "):
                    print(l)
            check(r.returncode == 0 and "1 passed, 0 failed" in r.stdout,
                  "in its network namespace: %s" % out[-3000:])
        wrapper.__name__ = fn.__name__
        return wrapper
    return deco


def on_cleanup(fn):
    """Run fn when the current test ends, whatever happens."""
    _cleanups.append(fn)


class Fail(AssertionError):
    pass


class Skip(Exception):
    """Raised by a test that cannot run here (the reason is printed)."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


# ---- addresses ----

def free_port(host="127.0.0.1"):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def addr(port, host="127.0.0.1"):
    return "%s:%d" % (host, port)


# ---- peers ----

class Server:
    """A TCP server on loopback running handler(conn) in a thread per
    connection. backlog_only=True listens but never accepts. rcvbuf fixes
    the accepted sockets' SO_RCVBUF (set on the listener, before the
    handshake, so the window it advertises is small from the start)."""

    def __init__(self, handler=None, host="127.0.0.1", backlog=128, backlog_only=False,
                 rcvbuf=None, unix=None, port=0):
        # unix: a unix-socket server at the address as splicer spells it,
        # "unix@PATH" or "abns@NAME" (bound zero-padded, as HAProxy does).
        self.sock = socket.socket(socket.AF_UNIX if unix else socket.AF_INET,
                                  socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if unix:
            self.sock.bind(unix[5:] if unix.startswith("unix@") else
                           b"\0" + unix[5:].encode().ljust(107, b"\0"))
            self.port, self.addr = None, unix
        else:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.sock.bind((host, port))  # port 0: any
            except OSError:
                self.sock.close()
                raise
            self.port = self.sock.getsockname()[1]
            self.addr = addr(self.port, host)
        self.sock.listen(backlog)
        self.handler = handler
        self.accepted = 0
        self.active = 0
        self.max_active = 0
        self.errors = []
        self.lock = threading.Lock()
        self.conns = []
        self.closed = False
        if not backlog_only:
            self.thread = threading.Thread(target=self._loop, daemon=True)
            self.thread.start()
        on_cleanup(self.close)

    def _loop(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.active += 1
                self.max_active = max(self.max_active, self.active)
                self.conns.append(c)
            threading.Thread(target=self._run, args=(c,), daemon=True).start()

    def _run(self, c):
        try:
            c.settimeout(TEST_TIMEOUT)
            self.handler(c)
        except Exception as e:  # recorded; the test decides
            self.errors.append(repr(e))
        finally:
            with self.lock:
                self.active -= 1
            try:
                c.close()
            except OSError:
                pass

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in list(self.conns):
            try:
                c.close()
            except OSError:
                pass


def echo_handler(c):
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        c.sendall(b)
    c.shutdown(socket.SHUT_WR)


def named(name, hold=0.0):
    """A server that answers with its name (after `hold` seconds), then
    reads until the client closes."""
    def handler(c):
        time.sleep(hold)
        c.sendall(name.encode())
        c.shutdown(socket.SHUT_WR)
        recv_all(c)
    return Server(handler)


def recv_all(s, limit=None):
    """Read until EOF (or limit bytes). Returns bytes."""
    out = bytearray()
    while limit is None or len(out) < limit:
        b = s.recv(1 << 20 if limit is None else min(1 << 20, limit - len(out)))
        if not b:
            break
        out += b
    return bytes(out)


def outq(s):
    """Bytes in s's send queue: not sent or not yet acknowledged."""
    return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]


def tcp_established(a, b):
    """Is there an established TCP socket on this host from address a to
    b (each "host:port", IPv4)? Read from /proc/net/tcp: a socket that
    got a reset has left it, though its owner has not closed it yet."""
    def hexaddr(x):
        host, port = x.rsplit(":", 1)
        return "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(host))[0], int(port))
    want = (hexaddr(a), hexaddr(b))
    with open("/proc/net/tcp") as f:
        for l in f.readlines()[1:]:
            w = l.split()
            if (w[1], w[2]) == want and w[3] == "01":
                return True
    return False


def accept_queue(port):
    """Connections waiting in the accept queue of the IPv4 listener on
    this port (/proc/net/tcp gives it as rx_queue for a LISTEN socket),
    or None while nothing listens there."""
    want = ":%04X" % port
    with open("/proc/net/tcp") as f:
        for l in f.readlines()[1:]:
            w = l.split()
            if w[1].endswith(want) and w[3] == "0A":
                return int(w[4].split(":")[1], 16)
    return None


def discard(s):
    """Read until EOF into one reused buffer; return the count. A reader
    that keeps no copy never stalls on growing a 256 MB bytearray."""
    buf = memoryview(bytearray(1 << 20))
    n = 0
    while True:
        k = s.recv_into(buf)
        if not k:
            return n
        n += k


def ask(port):
    """What a server that speaks first (named()) says through port."""
    s = connect(addr(port))
    try:
        first = s.recv(1)
        s.shutdown(socket.SHUT_WR)
        return (first + recv_all(s)).decode()
    finally:
        s.close()


def sha(b):
    return hashlib.sha256(b).hexdigest()


def reset_close(s):
    """Close with SO_LINGER 0: the peer sees a reset."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()


def connect(a, timeout=10, rcvbuf=None):
    """Connect to "host:port". rcvbuf is set before the handshake: shrinking
    it afterwards shrinks an advertised window, and the zero-window probes
    that follow back off for seconds."""
    host, port = a.rsplit(":", 1)
    host = host.strip("[]")
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect((host, int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


# ---- the process under test ----

class Splicer:
    """splicer started with a configuration text (or arguments)."""

    def __init__(self, conf=None, args=None, wait_for=None, env=None, preexec=None,
                 expect_exit=False, wrap=None):
        self.dir = tempfile.mkdtemp(prefix="splicer-test-")
        self.errpath = os.path.join(self.dir, "stderr")
        argv = (wrap or []) + [SPLICER]
        if conf is not None:
            self.cfg = os.path.join(self.dir, "test.cfg")
            with open(self.cfg, "w") as f:
                f.write(conf)
            argv += ["-f", self.cfg]
        argv += args or []
        self.err = open(self.errpath, "wb")
        e = dict(os.environ)
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        e.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        e.update(env or {})
        self.proc = subprocess.Popen(argv, stdout=self.err, stderr=self.err, env=e,
                                     preexec_fn=preexec)
        self.pid = self.proc.pid
        on_cleanup(self.kill)
        if not expect_exit:
            self.wait_log(wait_for or r"splicer \S+ started", 10)

    def log(self):
        with open(self.errpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, timeout=10, count=1):
        """Wait until `count` log lines match pattern; return them."""
        end = time.time() + timeout
        while True:
            found = [l for l in self.log().splitlines() if re.search(pattern, l)]
            if len(found) >= count:
                return found
            if self.proc.poll() is not None and time.time() > end - timeout + 0.5:
                # Exited: one last read, then fail.
                found = [l for l in self.log().splitlines() if re.search(pattern, l)]
                if len(found) >= count:
                    return found
                raise Fail("splicer exited (%s) before logging %r:\n%s" %
                           (self.proc.returncode, pattern, self.log()[-3000:]))
            if time.time() > end:
                raise Fail("no %d log line(s) matching %r within %ss; log tail:\n%s" %
                           (count, pattern, timeout, self.log()[-3000:]))
            time.sleep(0.02)

    def sessions(self):
        """Parsed tcplog lines."""
        out = []
        rx = re.compile(r'(\S+) \[[^\]]+\] (\S+) (\S+)/(\S+) (-?\d+)/(-?\d+)/(-?\d+) '
                        r'(\d+) (\S\S) (\d+)/(\d+)/(\d+)/(\d+)/(\d+) (\d+)/(\d+) (\d+) (\S+) "(.*)"')
        for l in self.log().splitlines():
            m = rx.search(l)
            if m:
                g = m.groups()
                out.append(dict(client=g[0], frontend=g[1], backend=g[2], server=g[3],
                                tw=int(g[4]), tc=int(g[5]), tt=int(g[6]),
                                down=int(g[7]), term=g[8],
                                ac=int(g[9]), fc=int(g[10]), bc=int(g[11]), sc=int(g[12]),
                                retries=int(g[13]), sq=int(g[14]), bq=int(g[15]),
                                up=int(g[16]), engine=g[17], reason=g[18]))
        return out

    def wait_sessions(self, n, timeout=10):
        self.wait_log(r'"[^"]*"$', timeout, n)
        return self.sessions()

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def fd_kinds(self):
        """Open fds by kind: socket, pipe, other."""
        kinds = {"socket": 0, "pipe": 0, "other": 0}
        d = "/proc/%d/fd" % self.pid
        for fd in os.listdir(d):
            try:
                t = os.readlink(os.path.join(d, fd))
            except OSError:
                continue
            k = t.split(":")[0]
            kinds[k if k in kinds else "other"] += 1
        return kinds

    def rss_kib(self):
        with open("/proc/%d/status" % self.pid) as f:
            for l in f:
                if l.startswith("VmRSS:"):
                    return int(l.split()[1])
        return 0

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def signal(self, sig):
        os.kill(self.pid, sig)

    def stop(self, timeout=10):
        """SIGTERM and wait; returns the exit code. Fails on sanitizer reports."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Fail("splicer did not exit within %ss of SIGTERM" % timeout)
        self.check_clean()
        return rc

    def check_clean(self):
        log = self.log()
        check("Sanitizer" not in log and "runtime error" not in log,
              "sanitizer report:\n" + log[-4000:])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.err.close()


def wait_until(cond, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(0.02)
    raise Fail("timed out after %ss waiting for %s" % (timeout, what))


def cpu_share(sp, seconds):
    """splicer's CPU time over the next `seconds`, as a share of one core:
    CPU consumed, not wall-clock speed, so a busy machine does not make a
    sleeping process look busy (a spinning one still gets its slices)."""
    c0, t0 = sp.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return (sp.cpu_seconds() - c0) / (time.monotonic() - t0)


def check_engine(l, engine, promoted=True):
    """The log line's engine column is what a session of this engine
    should show: with sockmap there, engine sockmap is in the kernel, and
    so is engine auto once it has moved enough (promoted). promoted=None
    is for engine auto where the peers' pace decides: a flow is handed
    over only at a moment it holds no byte, which two peers that keep
    each other's buffers full may never give; each flow is then spliced
    or in the kernel, nothing else."""
    if engine == "auto" and promoted is None:
        check(set(l["engine"].split("/")) <= {"splice", "sockmap"},
              "engine %s for engine auto" % l["engine"])
    elif engine in ("sockmap", "auto"):
        want = "sockmap" if SOCKMAP and (engine == "sockmap" or promoted) else "splice"
        check(want in l["engine"].split("/"), "engine %s, expected %s for engine %s"
              % (l["engine"], want, engine))
    else:
        check(l["engine"] == engine, "engine %s" % l["engine"])


def base_conf(listen, server, engine="splice", extra="", global_extra="", timeouts=None):
    t = dict(connect="2s", client="30s", server="30s")
    t.update(timeouts or {})
    tl = "".join("    timeout %s %s\n" % (k, v) for k, v in t.items() if v)
    if engine == "auto":
        global_extra += "    tune.sockmap.promote-bytes %s\n    tune.sockmap.promote-max-rate %s\n" \
            % (AUTO_PROMOTE, AUTO_MAX_RATE)
    return ("global\n    log stderr local0 info\n%s"
            "defaults\n    mode tcp\n    log global\n    option tcplog\n%s"
            "listen app\n    bind %s\n    server s1 %s\n    engine %s\n%s"
            % (global_extra, tl, listen, server, engine, extra))


# ---- runner ----

class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout("test exceeded %ss" % TEST_TIMEOUT)


def run():
    only = sys.argv[1:]
    passed = failed = skipped = 0
    signal.signal(signal.SIGALRM, _alarm)
    for name, fn, args in _tests:
        # "=NAME" selects one test exactly; other words select by substring.
        if only and not any(name == o[1:] if o.startswith("=") else o in name for o in only):
            continue
        t0 = time.time()
        signal.alarm(TEST_TIMEOUT)
        try:
            fn(*args)
            ok, why = True, ""
        except Skip as e:
            ok, why = None, str(e)
        except Exception as e:
            ok = False
            why = "".join(traceback.format_exception_only(type(e), e)).strip()
            if not isinstance(e, (Fail, _Timeout)):
                why = traceback.format_exc()
        finally:
            signal.alarm(0)
            while _cleanups:
                try:
                    _cleanups.pop()()
                except Exception:
                    pass
        dt = time.time() - t0
        if ok is None:
            skipped += 1
            print("SKIP %s: %s" % (name, why), flush=True)
        elif ok:
            passed += 1
            print("PASS %s (%.1fs)" % (name, dt), flush=True)
        else:
            failed += 1
            print("FAIL %s (%.1fs): %s" % (name, dt, why), flush=True)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped), flush=True)
    sys.exit(1 if failed else 0)


_malloc_shim = []


def shim_path(malloc=False):
    """The fault shim make check builds; built here when run by hand.
    malloc: the variant that also wraps malloc, calloc and realloc (built
    here, for the tests that want it: under ASan, whose allocator must
    own every block, it cannot be used)."""
    p = os.environ.get("SPLICER_FAULTSHIM") or os.path.join(
        os.path.dirname(os.path.abspath(SPLICER)), "..", "tests", "faultshim.so")
    if not malloc and os.path.exists(p):
        return p
    if malloc and _malloc_shim:
        return _malloc_shim[0]
    out = os.path.join(tempfile.mkdtemp(prefix="faultshim-"), "faultshim.so")
    r = subprocess.run(["cc", "-std=gnu11", "-O2", "-shared", "-fPIC", "-o", out] +
                       (["-DFAULTSHIM_MALLOC"] if malloc else []) +
                       [os.path.join(SRCDIR, "tests", "faultshim.c"), "-ldl", "-lpthread"],
                       capture_output=True, text=True)
    check(r.returncode == 0, "building the fault shim: " + r.stderr)
    if malloc:
        _malloc_shim.append(out)
    return out


class Faults:
    """splicer under the shim; set() switches the rules while it runs."""

    def __init__(self, malloc=False):
        d = tempfile.mkdtemp(prefix="splicer-faults-")
        self.file = os.path.join(d, "rules")
        self.logpath = os.path.join(d, "injected")
        env = dict(LD_PRELOAD=shim_path(malloc), FAULT_FILE=self.file, FAULT_LOG=self.logpath)
        if SANITIZED:
            # ASan wants its runtime first; the shim only wraps calls.
            env["ASAN_OPTIONS"] = os.environ.get(
                "ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1") + ":verify_asan_link_order=0"
        self.env = env

    def set(self, *rules):
        """Rules take effect within 10 ms; counters restart."""
        tmp = self.file + ".new"
        with open(tmp, "w") as f:
            f.write("".join(r + "\n" for r in rules))
        os.rename(tmp, self.file)
        time.sleep(0.05)

    def injected(self):
        try:
            with open(self.logpath) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []
