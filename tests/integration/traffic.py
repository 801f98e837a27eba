"""Traffic for the fault and soak tests: sessions that carry seeded
random bytes both ways and check every byte with sha256, a server that
plays its half of each session, and network namespaces joined per thread.

A session starts with a header the client sends: seed, bytes wanted back,
and a mode saying how the session ends. The server's answer and both
sides' sha256 are derived from the seed, so a test only compares digests.
"""
import ctypes
import os
import random
import socket
import struct
import subprocess
import threading
import time

import harness

HDR = struct.Struct("!IIB")
# How a session ends. FIN: both sides send all, then FIN (whoever is
# done first). SERVER_FIRST: the server sends all and closes its half
# before the client sends anything. RST_CLIENT / RST_SERVER: that side
# resets after part of its bytes. IDLE: nobody sends; the proxy's
# timeout ends it.
FIN, SERVER_FIRST, RST_CLIENT, RST_SERVER, IDLE = range(5)
MODES = ("fin", "server-first", "rst-client", "rst-server", "idle")
CHUNK = 64 * 1024


def payload(seed, n, side):
    """The bytes one side of session `seed` sends (side "up" or "down")."""
    return random.Random("%d-%s" % (seed, side)).randbytes(n)


def _send_paced(s, data, pace):
    for off in range(0, len(data), CHUNK):
        s.sendall(data[off:off + CHUNK])
        if pace:
            time.sleep(pace)


def _recv_counted(s, limit=None):
    """Read to EOF (or a reset); returns (bytes, error or None)."""
    out = bytearray()
    try:
        while limit is None or len(out) < limit:
            b = s.recv(1 << 20)
            if not b:
                break
            out += b
    except OSError as e:
        return bytes(out), e
    return bytes(out), None


class PeerServer(harness.Server):
    """The server half: reads the header, sends its payload (paced), reads
    the client's to EOF, and records what it got under the seed."""

    def __init__(self, pace=0.0, **kw):
        self.got = {}
        self.pace = pace
        super().__init__(self._handle, **kw)

    def _handle(self, c):
        hdr = harness.recv_all(c, HDR.size)
        if len(hdr) < HDR.size:
            return
        seed, down, mode = HDR.unpack(hdr)
        data = payload(seed, down, "down")
        err = []

        def sender():
            try:
                if mode == RST_SERVER:
                    _send_paced(c, data[:down // 2], self.pace)
                    harness.reset_close(c)
                    return
                if mode != IDLE:
                    _send_paced(c, data, self.pace)
                    c.shutdown(socket.SHUT_WR)
            except OSError as e:
                err.append(e)
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        if mode == RST_SERVER:
            t.join()
            self.got[seed] = (0, harness.sha(b""), None)
            return
        got, e = _recv_counted(c)
        t.join()
        self.got[seed] = (len(got), harness.sha(got), e or (err[0] if err else None))


class Session:
    """One client session; run() does it and fills in the outcome."""

    def __init__(self, target, seed, up, down, mode=FIN, pace=0.0, make_socket=None,
                 timeout=60, gate=None):
        self.target, self.seed, self.up, self.down = target, seed, up, down
        self.mode, self.pace, self.timeout = mode, pace, timeout
        # gate: an Event; the client sends half its bytes, then waits for
        # it, so the session is surely mid-transfer until the test says.
        self.gate = gate
        self.make_socket = make_socket or (lambda: harness.connect(target, timeout))
        self.got = b""
        self.err = None
        self.sent = 0
        self.done = threading.Event()
        self.t0 = self.t1 = None
        self.started = False
        self.local = None       # "ip:port", as the proxy's log names the client

    def run(self):
        self.t0 = time.monotonic()
        try:
            self._run()
        except OSError as e:
            self.err = self.err or e
        finally:
            self.t1 = time.monotonic()
            self.done.set()

    def _run(self):
        s = self.make_socket()
        self.local = "%s:%d" % s.getsockname()[:2]
        s.settimeout(self.timeout)
        data = payload(self.seed, self.up, "up")
        s.sendall(HDR.pack(self.seed, self.down, self.mode))
        if self.mode == IDLE:
            self.got, self.err = _recv_counted(s)
            s.close()
            return
        if self.mode == SERVER_FIRST:
            self.got, self.err = _recv_counted(s)
            _send_paced(s, data, self.pace)
            self.sent = len(data)
            s.shutdown(socket.SHUT_WR)
            rest, self.err = _recv_counted(s)
            self.got += rest
            s.close()
            return
        if self.mode == RST_CLIENT:
            _send_paced(s, data[:self.up // 2], self.pace)
            self.sent = self.up // 2
            harness.reset_close(s)
            return
        err = []

        def sender():
            try:
                if self.gate is not None:
                    _send_paced(s, data[:len(data) // 2], self.pace)
                    self.gate.wait(self.timeout)
                    data_rest = data[len(data) // 2:]
                else:
                    data_rest = data
                _send_paced(s, data_rest, self.pace)
                self.sent = len(data)
                s.shutdown(socket.SHUT_WR)
            except OSError as e:
                err.append(e)
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        self.got, self.err = _recv_counted(s)
        t.join()
        self.err = self.err or (err[0] if err else None)
        s.close()

    def start(self):
        self.started = True
        threading.Thread(target=self.run, daemon=True).start()
        return self

    def check(self, server):
        """Every byte both ways, for a session meant to end cleanly."""
        harness.check(self.done.wait(self.timeout), "session %d did not end" % self.seed)
        harness.check(self.err is None, "session %d: %r" % (self.seed, self.err))
        harness.check(harness.sha(self.got) == harness.sha(payload(self.seed, self.down, "down")),
                      "session %d: %d of %d bytes down, sha256 differs" %
                      (self.seed, len(self.got), self.down))
        harness.wait_until(lambda: self.seed in server.got, 10, "server's end of %d" % self.seed)
        n, digest, e = server.got[self.seed]
        harness.check(e is None and n == self.up and
                      digest == harness.sha(payload(self.seed, self.up, "up")),
                      "session %d: server got %d of %d bytes (%r), sha256 %s" %
                      (self.seed, n, self.up, e, "differs" if n == self.up else "-"))

    def check_prefix(self, server):
        """For a session that was cut: what arrived is a prefix of what was
        sent, both ways (a reset loses the tail, never changes a byte)."""
        harness.check(self.done.wait(self.timeout), "session %d did not end" % self.seed)
        down = payload(self.seed, self.down, "down")
        harness.check(down.startswith(self.got),
                      "session %d: %d bytes down are not a prefix of what the server sent"
                      % (self.seed, len(self.got)))
        if self.seed in server.got:
            n, digest, _ = server.got[self.seed]
            harness.check(digest == harness.sha(payload(self.seed, self.up, "up")[:n]),
                          "session %d: the %d bytes the server got are not a prefix"
                          % (self.seed, n))


def connect_from(target, source, timeout=30):
    """Connect to target from the loopback address source (127.x.y.z,
    any port): the proxy's log then names this session alone, even once
    the kernel reuses ports."""
    host, port = target.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(timeout)
    s.connect((host, int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def source_of(n):
    """A loopback address of its own for session n (up to 2**24)."""
    return "127.%d.%d.%d" % (1 + (n >> 16) % 254, (n >> 8) & 255, n & 255)


def run_all(sessions, timeout=90):
    for s in sessions:
        if not s.started:
            s.start()
    end = time.monotonic() + timeout
    for s in sessions:
        harness.check(s.done.wait(max(0.1, end - time.monotonic())),
                      "session %d still running after %ss" % (s.seed, timeout))


def bytes_of(sessions):
    return sum(s.up + s.down for s in sessions)


# ---- network namespaces ----

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


class NetNs:
    """A named network namespace (ip netns), deleted when the test ends."""

    def __init__(self, name):
        self.name = name
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        sh("ip netns add %s" % name)
        harness.on_cleanup(self.delete)
        self.sh("ip link set lo up")

    def sh(self, cmd):
        return sh("ip netns exec %s %s" % (self.name, cmd))

    def delete(self):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)

    def socket_in(self, fn):
        """Run fn() with this thread in the namespace: the sockets it makes
        stay there after the thread returns to its own."""
        here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        there = os.open("/run/netns/" + self.name, os.O_RDONLY)
        try:
            if _libc.setns(there, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns " + self.name)
            try:
                return fn()
            finally:
                if _libc.setns(here, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back")
        finally:
            os.close(here)
            os.close(there)


def sh(cmd):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    harness.check(r.returncode == 0, "%s: %s" % (cmd, (r.stdout + r.stderr).strip()))
    return r.stdout


def veth(a, a_ip, b, b_ip, name):
    """A veth pair between namespaces a and b, with /24 addresses."""
    sh("ip link add %sa netns %s type veth peer name %sb netns %s" % (name, a.name, name, b.name))
    a.sh("ip addr add %s/24 dev %sa" % (a_ip, name))
    b.sh("ip addr add %s/24 dev %sb" % (b_ip, name))
    a.sh("ip link set %sa up" % name)
    b.sh("ip link set %sb up" % name)


# ---- the process's resources ----

def close_wait(pid):
    """Sockets of pid in CLOSE_WAIT: the peer closed and we never did."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if t.startswith("socket:["):
            inodes.add(t[8:-1])
    n = 0
    for f in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, f)) as fh:
                for l in fh.readlines()[1:]:
                    p = l.split()
                    if p[3] == "08" and p[9] in inodes:
                        n += 1
        except OSError:
            pass
    return n


def cpu_over(spl, seconds):
    """splicer's CPU (seconds of a core per second) over a window."""
    c0, t0 = spl.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return (spl.cpu_seconds() - c0) / (time.monotonic() - t0)
