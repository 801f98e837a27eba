"""The admin socket as HAProxy's runtime API: show stat's columns against
Debian haproxy's own, the typed and json forms, show info's names,
prompt mode, get/set weight, show servers state, clear counters."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Server, Splicer, check, connect, echo_handler, free_port, on_cleanup,
                     recv_all, run, test, wait_until)


def ask(sock, line, timeout=5):
    """One line to the socket (non-interactive); the whole answer."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(sock)
    s.sendall(line.encode() + b"\n")
    out = recv_all(s)
    s.close()
    return out.decode()


def start(backend_extra=""):
    """splicer: listen app with s1 (an echo server, checked) and s2 (backup,
    weight 50, nobody listening); (splicer, socket path, front address)."""
    srv = Server(echo_handler)
    dead = free_port()
    p = free_port()
    d = tempfile.mkdtemp(prefix="splicer-rtapi-")
    sock = os.path.join(d, "admin.sock")
    sp = Splicer("global\n    stats socket %s level admin\n"
                 "defaults\n    mode tcp\n    timeout connect 1s\n"
                 "    timeout client 10s\n    timeout server 10s\n"
                 "listen app\n    bind 127.0.0.1:%d\n"
                 "    server s1 %s check inter 200ms\n"
                 "    server s2 127.0.0.1:%d weight 50 backup\n%s"
                 % (sock, p, srv.addr, dead, backend_extra))
    return sp, sock, "127.0.0.1:%d" % p


def rows(csv):
    lines = [l for l in csv.splitlines() if l]
    head = lines[0].lstrip("# ").split(",")
    return head, [dict(zip(head, l.split(","))) for l in lines[1:]]


def haproxy_header():
    """The CSV head line of Debian haproxy's own show stat."""
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/sbin")
    check(haproxy is not None, "haproxy is not installed (tests/run-all.sh installs it)")
    d = tempfile.mkdtemp(prefix="splicer-rtapi-h-")
    sock = os.path.join(d, "h.sock")
    cfg = os.path.join(d, "h.cfg")
    with open(cfg, "w") as f:
        f.write("global\n    stats socket %s\ndefaults\n    mode tcp\n    timeout connect 1s\n"
                "    timeout client 1s\n    timeout server 1s\nlisten app\n"
                "    bind 127.0.0.1:%d\n    server s1 127.0.0.1:%d\n"
                % (sock, free_port(), free_port()))
    h = subprocess.Popen([haproxy, "-f", cfg], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    on_cleanup(lambda: (h.kill(), h.wait()))
    wait_until(lambda: os.path.exists(sock), 10, "haproxy's stats socket")
    out = ""
    for _ in range(50):
        try:
            out = ask(sock, "show stat")
            break
        except (ConnectionRefusedError, FileNotFoundError):
            time.sleep(0.1)
    h.kill()
    h.wait()
    return out.splitlines()[0].lstrip("# ").split(",")


@test
def test_show_stat_has_haproxys_columns_in_haproxys_order():
    sp, sock, front = start()
    want = haproxy_header()
    fixed = want[:want.index("-")]
    head, _ = rows(ask(sock, "show stat"))
    check(head[:len(fixed)] == fixed, "first difference: %r" % next(
        ((i, a, b) for i, (a, b) in enumerate(zip(head, fixed)) if a != b), None))
    check(head[len(fixed)] == "-", "splicer's own columns come after HAProxy's '-'")
    check(head[len(fixed) + 1:len(fixed) + 4] == ["engine", "shaped_bin", "shaped_bout"],
          head[len(fixed):])
    # prometheus-haproxy-exporter reads status at 17 and type at 32.
    check(head.index("status") == 17 and head.index("type") == 32, "positions")
    c = connect(front)
    c.sendall(b"x" * 1000)
    check(len(recv_all(c, 1000)) == 1000, "echo")

    def figures():
        return {(r["pxname"], r["svname"]): r for r in rows(ask(sock, "show stat"))[1]}
    wait_until(lambda: figures()[("app", "s1")]["bin"] == "1000", 10, "server bin 1000")
    f = figures()
    fe, s1, s2, be = (f[("app", n)] for n in ("FRONTEND", "s1", "s2", "BACKEND"))
    check(fe["type"] == "0" and be["type"] == "1" and s1["type"] == "2", "types")
    check(fe["scur"] == "1" and fe["smax"] == "1" and fe["stot"] == "1", fe)
    check(fe["bin"] == "1000" and fe["bout"] == "1000" and fe["status"] == "OPEN", fe)
    check(s1["scur"] == "1" and s1["smax"] == "1" and s1["lbtot"] == "1", s1)
    check(s1["bout"] == "1000" and s1["act"] == "1" and s1["bck"] == "0", s1)
    check(s1["check_rise"] == "2" and s1["check_fall"] == "3" and s1["chkfail"] == "0", s1)
    check(s1["wretr"] == "0" and s1["cli_abrt"] == "0" and s1["rtime"] == "0", s1)
    check(s2["weight"] == "50" and s2["bck"] == "1" and s2["act"] == "0", s2)
    check(be["algo"] == "roundrobin" and be["act"] == "1" and be["scur"] == "1", be)
    check(fe["dreq"] == "" and be["dresp"] == "", "no figure: empty, as in HAProxy")
    check(fe["dcon"] == "0", "tcp-request connection rejects: none")
    c.close()
    wait_until(lambda: figures()[("app", "s1")]["scur"] == "0", 10, "session ended")
    check(figures()[("app", "s1")]["smax"] == "1", "smax stays")
    check(figures()[("app", "s1")]["ttime"] != "" and figures()[("app", "BACKEND")]["ttime"]
          != "", "the ended session's time")
    check(ask(sock, "clear counters") == "\n", "clear counters answers a blank line")
    f = figures()
    check(f[("app", "s1")]["smax"] == "0" and f[("app", "s1")]["stot"] == "1", "maxima only")
    ask(sock, "clear counters all")
    f = figures()
    check(f[("app", "s1")]["stot"] == "0" and f[("app", "FRONTEND")]["bin"] == "0", "all")
    check(sp.stop() == 0, "exit code")


@test
def test_typed_and_json_forms():
    sp, sock, front = start()
    typed = ask(sock, "show stat typed")
    check(typed.endswith("\n\n"), "ends with a blank line")
    lines = typed.split("\n\n")[0].splitlines()
    check("F.1.0.17.status.1:SGP:str:OPEN" in lines, lines[:20])
    check("S.1.1.1.svname.1:KNS:str:s1" in lines, lines[:20])
    check(all(l.count(":") >= 3 for l in lines), "every line NAME:TAGS:TYPE:VALUE")
    objs = json.loads(ask(sock, "show stat json"))
    check(len(objs) == 4, "frontend, two servers, backend")
    st = [f for f in objs[1] if f["field"]["name"] == "status"][0]
    check(st["objType"] == "Server" and st["value"] == {"type": "str", "value": "UP"} and
          st["tags"] == {"origin": "Status", "nature": "Gauge", "scope": "Process"}, st)
    info = json.loads(ask(sock, "show info json"))
    names = {f["field"]["name"]: f for f in info}
    check(names["Pid"]["value"]["value"] == sp.pid and names["Pid"]["field"]["pos"] == 6,
          names["Pid"])
    for n in ("Name", "Version", "Nbthread", "Uptime_sec", "Maxconn", "CurrConns", "CumConns",
              "node", "Start_time_sec", "Reloads"):
        check(n in names, n)
    text = ask(sock, "show info")
    check(text.endswith("\n\n") and "Uptime: 0d 0h00m" in text, text)
    t = ask(sock, "show info typed")
    check("6.Pid.1:SGP:u32:%d\n" % sp.pid in t, t[:300])
    check("unknown argument 'xml'" in ask(sock, "show info xml"), "the wrong word is named")
    check("unexpected argument 'more'" in ask(sock, "show stat json more"), "extra word")
    check(sp.stop() == 0, "exit code")


@test
def test_prompt_mode_runs_commands_until_quit():
    sp, sock, front = start()
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sock)

    def until_prompt(n=1):
        b = b""
        while not b.endswith(b"\n> ") or b.count(b"\n> ") < n:
            d = s.recv(65536)
            check(d, "closed while waiting for the prompt: %r" % b)
            b += d
        return b.decode()
    s.sendall(b"prompt\n")
    check(until_prompt() == "\n> ", "the prompt")
    s.sendall(b"get weight app/s2\n")
    check(until_prompt() == "50 (initial 50)\n\n> ", "get weight")
    # Two lines in one segment, and two commands in one line.
    s.sendall(b"set weight app/s2 50%\nget weight app/s2; get weight app/s1\n")
    out = until_prompt(3)
    check(out == "\n> 25 (initial 50)\n\n> 1 (initial 1)\n\n> ", repr(out))
    s.sendall(b"\n")
    check(until_prompt() == "\n> ", "a blank line: the prompt again")
    s.sendall(b"bogus\n")
    check(until_prompt() == "error: unknown command 'bogus'; 'help' lists them\n\n> ", "error")
    s.sendall(b"show sess\n")
    check(until_prompt().startswith("# id frontend"), "show sess in prompt mode")
    s.sendall(b"quit\n")
    check(recv_all(s) == b"", "quit closes")
    s.close()
    # socat's way: every line at once, then the FIN; each answered in turn.
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sock)
    s.sendall(b"prompt\nget weight app/s1\nshow info\nget weight app/s2")
    s.shutdown(socket.SHUT_WR)
    out = recv_all(s).decode()
    s.close()
    check(out.startswith("\n> 1 (initial 1)\n\n> Name: splicer\n") and
          out.endswith("\n\n> 25 (initial 50)\n\n> "), repr(out))
    check(ask(sock, "set weight app/s2 300").startswith("error: weight"), "range")
    check(ask(sock, "set weight app/s2 101%").startswith("error: weight"), "range %")
    check(ask(sock, "set weight app/s2 7") == "\n", "no answer but the blank line")
    check(ask(sock, "get weight app/s2") == "7 (initial 50)\n\n", "set")
    check("no backend 'nope'" in ask(sock, "get weight nope/s1"), "backend named")
    check("has no server 'nope'" in ask(sock, "get weight app/nope"), "server named")
    check(sp.stop() == 0, "exit code")


@test
def test_show_servers_state_is_haproxys_layout():
    sp, sock, front = start()
    ask(sock, "set server app/s2 state maint")
    out = ask(sock, "show servers state").splitlines()
    check(out[0] == "1" and out[1].startswith("# be_id be_name srv_id srv_name srv_addr "), out)
    cols = out[1][2:].split()
    check(len(cols) == 25, cols)
    srv = {l.split()[3]: dict(zip(cols, l.split())) for l in out[2:] if l}
    check(srv["s1"]["srv_op_state"] == "2" and srv["s1"]["srv_admin_state"] == "0", srv["s1"])
    check(srv["s2"]["srv_op_state"] == "0" and srv["s2"]["srv_admin_state"] == "1", srv["s2"])
    check(srv["s2"]["srv_uweight"] == "50" and srv["s1"]["srv_check_state"] == "6", srv)
    check(srv["s1"]["srv_addr"] == "127.0.0.1" and srv["s1"]["be_name"] == "app", srv["s1"])
    check("no backend 'x'" in ask(sock, "show servers state x"), "bad backend")
    check(len([l for l in ask(sock, "show servers state app").splitlines() if l]) == 4, "one")
    check(sp.stop() == 0, "exit code")


if __name__ == "__main__":
    run()
