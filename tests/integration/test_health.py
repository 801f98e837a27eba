"""Active health checks: a server that stops answering is taken down and
gets no new session; when it answers again it comes back."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server, Splicer, check, free_port, recv_all, run, test, wait_until, connect, addr


class Switchable:
    """A named server on a fixed port that can stop and start listening."""

    def __init__(self, name):
        self.name = name.encode()
        self.port = free_port()
        self.sock = None
        self.start()

    def start(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.sock = s
        threading.Thread(target=self._loop, args=(s,), daemon=True).start()

    def _loop(self, s):
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            try:
                c.sendall(self.name)
                c.close()
            except OSError:
                pass

    def stop(self):
        self.sock.close()


def ask(port):
    s = connect(addr(port))
    try:
        return recv_all(s).decode()
    finally:
        s.close()


@test
def test_server_down_gets_no_session_and_comes_back():
    a, b = Switchable("a"), Switchable("b")
    port = free_port()
    sp = Splicer("global\n    log stderr local0 info\n"
                 "defaults\n    mode tcp\n    timeout connect 500ms\n"
                 "    timeout client 5s\n    timeout server 5s\n    timeout check 300ms\n"
                 "listen app\n    bind 127.0.0.1:%d\n    balance roundrobin\n"
                 "    default-server check inter 200ms rise 2 fall 2\n"
                 "    server a 127.0.0.1:%d\n    server b 127.0.0.1:%d\n"
                 % (port, a.port, b.port))
    check(sorted(set(ask(port) for _ in range(6))) == ["a", "b"], "both serve at first")
    t0 = time.time()
    a.stop()
    sp.wait_log(r"Server app/a is DOWN, reason: Layer4 connection problem", 5)
    down_after = time.time() - t0
    # fall 2 at inter 200 ms (fastinter = inter): about 0.2 to 0.6 s.
    check(down_after < 2.0, "marked down after %.2fs" % down_after)
    check(set(ask(port) for _ in range(10)) == {"b"}, "a still gets sessions while down")
    t1 = time.time()
    a.start()
    sp.wait_log(r"Server app/a is UP", 5)
    check(time.time() - t1 < 2.0, "back up after %.2fs" % (time.time() - t1))
    check(set(ask(port) for _ in range(6)) == {"a", "b"}, "a gets no session once up again")
    print("    down after %.2f s, up again after %.2f s" % (down_after, time.time() - t1))
    a.stop()
    b.stop()
    sp.stop()


@test
def test_all_servers_down_closes_clients_promptly():
    a = Switchable("a")
    port = free_port()
    sp = Splicer("global\n    log stderr local0 info\n"
                 "defaults\n    mode tcp\n    log global\n    option tcplog\n"
                 "    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"
                 "listen app\n    bind 127.0.0.1:%d\n"
                 "    server a 127.0.0.1:%d check inter 100ms fall 1 rise 1\n" % (port, a.port))
    a.stop()
    sp.wait_log("Server app/a is DOWN", 3)
    t0 = time.time()
    check(ask(port) == "", "served by a down server")
    check(time.time() - t0 < 0.5, "close took %.2fs" % (time.time() - t0))
    l = sp.wait_sessions(1)[0]
    check(l["term"] == "SC" and "no server available" in l["reason"], repr(l))
    sp.stop()


run()
