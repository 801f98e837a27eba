#!/usr/bin/env python3
"""Bandwidth shaping: rates measured at the receiver with iperf3,
fair shares, per-source independence, every bucket obeyed, bwlim filters,
half-close with every byte, and no CPU spent while waiting for tokens.

The shaper itself is exact (tests/check_shaper.c proves it on a virtual
clock); these tests allow 2% above the limit (a shaper that lets more
through is wrong) and 4% below (a busy machine may deliver less)."""
import hashlib
import json
import os
import socket
import subprocess
import threading
import time

from harness import (Server, Splicer, accept_queue, addr, base_conf, check, connect, free_port,
                     on_cleanup, params, recv_all, run, test, wait_until, SANITIZED)

SECONDS = 5
OVER, UNDER = 1.02, 0.96


def iperf_server(port, bind="127.0.0.1"):
    """iperf3 -s -1 on port, once the one before it has let the port go;
    returns when it listens."""
    wait_until(lambda: accept_queue(port) is None, 10, "the last iperf3 -s to leave the port")
    p = subprocess.Popen(["iperf3", "-s", "-1", "-B", bind, "-p", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop():
        if p.poll() is None:
            p.kill()
        p.wait()
    on_cleanup(stop)
    wait_until(lambda: accept_queue(port) is not None or p.poll() is not None, 10,
               "iperf3 -s to listen")
    check(p.poll() is None, "iperf3 -s -p %d exited with %s" % (port, p.returncode))
    return p


def iperf(port, reverse=False, streams=1, seconds=SECONDS, bind=None):
    """Run an iperf3 client through splicer; returns its JSON report."""
    argv = ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(seconds), "-J",
            "-P", str(streams)]
    if reverse:
        argv.append("-R")
    if bind:
        argv += ["-B", bind]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    check(r.returncode == 0, "iperf3 failed: %s %s" % (r.stdout[-2000:], r.stderr[-500:]))
    return json.loads(r.stdout)


def received_mbps(report):
    return report["end"]["sum_received"]["bits_per_second"] / 1e6


def stream_mbps(report):
    return [s["receiver"]["bits_per_second"] / 1e6 for s in report["end"]["streams"]]


def jain(xs):
    return sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs))


def within(got, limit, what):
    print("    %s: %.3f Mbit/s for a limit of %g (%.2f%%)" % (what, got, limit,
                                                            (got / limit - 1) * 100))
    check(got <= limit * OVER, "%s: %.3f Mbit/s is above the %g Mbit/s limit" % (what, got, limit))
    check(got >= limit * UNDER, "%s: %.3f Mbit/s is well below the %g Mbit/s limit" %
          (what, got, limit))


def shaped_proxy(extra, engine="splice", global_extra=""):
    """splicer in front of a fresh iperf3 server; returns (splicer, port)."""
    up = free_port()
    iperf_server(up)
    port = free_port()
    sp = Splicer(base_conf(addr(port), addr(up), engine=engine, extra=extra,
                           global_extra=global_extra))
    return sp, port


@params("1", "10", "100", "1000")
def test_rate_is_held_both_ways(mbps):
    """Upload and download limits, one iperf3 stream each way in turn. A
    limit the machine cannot reach at the moment (1 Gbit/s on a busy one)
    is judged against what the same path carries unshaped, measured right
    after: the shaper must never exceed its limit, and must not be what
    holds the stream below it."""
    for direction, reverse in (("upload", False), ("download", True)):
        sp, port = shaped_proxy("    bandwidth-limit %s %smbps\n" % (direction, mbps))
        got = received_mbps(iperf(port, reverse=reverse))
        sp.stop()
        limit = float(mbps)
        if got < limit * UNDER:
            sp, port = shaped_proxy("")
            free = received_mbps(iperf(port, reverse=reverse))
            sp.stop()
            print("    %s unshaped: %.1f Mbit/s" % (direction, free))
            if free < limit:
                check(got <= limit * OVER, "%s: %.3f Mbit/s is above the %g Mbit/s limit" %
                      (direction, got, limit))
                check(got >= free * 0.8, "%s at %s Mbit/s: %.1f Mbit/s, unshaped %.1f" %
                      (direction, mbps, got, free))
                continue
        within(got, limit, "%s at %s Mbit/s" % (direction, mbps))


@test
def test_copy_engine_is_shaped_too():
    sp, port = shaped_proxy("    bandwidth-limit download 20mbps\n", engine="copy")
    within(received_mbps(iperf(port, reverse=True)), 20.0, "copy engine download")
    sp.stop()
    check("copy" in sp.log(), "the session did not use the copy engine")


@test
def test_shaped_splice_stays_zero_copy():
    """A shaped session still splices: its log line names the engine."""
    sp, port = shaped_proxy("    bandwidth-limit upload 50mbps\n")
    iperf(port, seconds=2)
    sp.stop()
    lines = [l for l in sp.log().splitlines() if " app app/s1 " in l]
    check(lines and all(" splice " in l for l in lines), "not spliced:\n" + "\n".join(lines))


@test
def test_shared_bucket_gives_fair_shares():
    sp, port = shaped_proxy("    bandwidth-limit download 40mbps shared\n")
    rep = iperf(port, reverse=True, streams=4)
    shares = stream_mbps(rep)
    print("    shares: %s Mbit/s, Jain's index %.4f" %
          (", ".join("%.2f" % x for x in shares), jain(shares)))
    within(received_mbps(rep), 40.0, "4 streams sharing 40 Mbit/s")
    check(jain(shares) >= 0.95, "unfair shares: %s" % shares)
    sp.stop()


@test
def test_per_connection_limit_is_per_session():
    sp, port = shaped_proxy("    bandwidth-limit download 10mbps\n")
    rep = iperf(port, reverse=True, streams=3)
    within(received_mbps(rep), 30.0, "3 sessions of 10 Mbit/s each")
    sp.stop()


@test
def test_per_source_buckets_keep_clients_apart():
    """Two clients (127.0.0.2 and .3) each get the whole per-source rate at
    the same time; two sessions of one client share it."""
    up2, up3 = free_port(), free_port()
    iperf_server(up2)
    iperf_server(up3)
    port2, port3 = free_port(), free_port()
    # Two frontends on one shared backend limit: the bucket is per source.
    conf = ("global\n    log stderr local0 info\n"
            "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n"
            "    timeout server 30s\n"
            "frontend f2\n    bind %s\n    default_backend b2\n"
            "frontend f3\n    bind %s\n    default_backend b3\n"
            "backend b2\n    bandwidth-limit upload 10mbps per-source\n    server s %s\n"
            "backend b3\n    bandwidth-limit upload 10mbps per-source\n    server s %s\n"
            % (addr(port2), addr(port3), addr(up2), addr(up3)))
    sp = Splicer(conf)
    out = {}

    def client(port, src):
        out[src] = iperf(port, bind=src)
    t = [threading.Thread(target=client, args=(port2, "127.0.0.2")),
         threading.Thread(target=client, args=(port3, "127.0.0.3"))]
    for x in t:
        x.start()
    for x in t:
        x.join()
    within(received_mbps(out["127.0.0.2"]), 10.0, "client 127.0.0.2 alone in its bucket")
    within(received_mbps(out["127.0.0.3"]), 10.0, "client 127.0.0.3 alone in its bucket")
    sp.stop()

    sp, port = shaped_proxy("    bandwidth-limit upload 10mbps per-source\n")
    rep = iperf(port, streams=2)
    within(received_mbps(rep), 10.0, "two sessions of one client")
    check(jain(stream_mbps(rep)) >= 0.95, "unfair: %s" % stream_mbps(rep))
    sp.stop()


@test
def test_every_bucket_applies():
    """Per-connection 50 Mbit/s in the frontend, 30 shared in the backend
    and a process total of 20: the total wins; without it, the backend's."""
    up = free_port()
    iperf_server(up)
    port = free_port()

    def conf(total):
        return ("global\n    log stderr local0 info\n%s"
                "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n"
                "    timeout server 30s\n"
                "frontend f\n    bind %s\n    bandwidth-limit upload 50mbps\n"
                "    default_backend b\n"
                "backend b\n    bandwidth-limit upload 30mbps shared\n    server s %s\n"
                % (total, addr(port), addr(up)))
    sp = Splicer(conf("    bandwidth-limit total 20mbps\n"))
    within(received_mbps(iperf(port)), 20.0, "total 20 under 30 shared under 50")
    sp.stop()
    iperf_server(up)
    sp = Splicer(conf(""))
    within(received_mbps(iperf(port)), 30.0, "30 shared under 50")
    sp.stop()


@test
def test_haproxy_bwlim_filters():
    """An HAProxy 2.8 style configuration: a per-stream bwlim-out filter
    enabled by set-bandwidth-limit (with its own limit for one ACL), and a
    per-source bwlim-in filter."""
    up = free_port()
    port = free_port()
    conf = ("global\n    log stderr local0 info\n"
            "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n"
            "    timeout server 30s\n"
            "listen app\n    bind %s\n"
            "    acl lan src 127.0.0.2\n"
            "    filter bwlim-out dl default-limit 1250k default-period 1s\n"
            "    filter bwlim-in ul limit 625k period 500ms key src\n"
            "    tcp-request content set-bandwidth-limit dl limit 2500k period 1s if lan\n"
            "    tcp-request content set-bandwidth-limit dl unless lan\n"
            "    tcp-request content set-bandwidth-limit ul\n"
            "    server s1 %s\n" % (addr(port), addr(up)))
    sp = Splicer(conf)
    iperf_server(up)
    # HAProxy's sizes are 1024-based: 1250k per second is 10.24 Mbit/s.
    within(received_mbps(iperf(port, reverse=True)), 10.24, "bwlim-out 1250k per 1s")
    iperf_server(up)
    within(received_mbps(iperf(port, reverse=True, bind="127.0.0.2")), 20.48,
           "bwlim-out with 'limit 2500k period 1s' for the lan ACL")
    iperf_server(up)
    within(received_mbps(iperf(port)), 10.24, "bwlim-in 625k per 500ms keyed by src")
    sp.stop()


@test
def test_quick_mode_bandwidth_limit():
    up = free_port()
    iperf_server(up)
    port = free_port()
    sp = Splicer(args=["--listen", addr(port), "--upstream", addr(up),
                       "--bandwidth-limit", "8mbps"])
    within(received_mbps(iperf(port)), 8.0, "quick mode --bandwidth-limit 8mbps")
    sp.stop()


def digest_server(c):
    """Read to EOF, answer with the sha256 of what came, then close."""
    h = hashlib.sha256()
    n = 0
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        h.update(b)
        n += len(b)
    c.sendall(("%d %s" % (n, h.hexdigest())).encode())
    c.shutdown(socket.SHUT_WR)


@params("splice", "copy")
def test_half_close_delivers_every_byte(engine):
    """A shaped upload followed at once by shutdown(SHUT_WR): the server
    gets every byte before the FIN (HAProxy's bwlim cut such sessions
    short), and the answer still comes back."""
    srv = Server(digest_server)
    port = free_port()
    sp = Splicer(base_conf(addr(port), srv.addr, engine=engine,
                           extra="    bandwidth-limit upload 16mbps burst 64k\n"))
    data = os.urandom(3 * 1024 * 1024 + 17)
    t0 = time.time()
    c = connect(addr(port))
    c.settimeout(30)
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    answer = recv_all(c).decode()
    dt = time.time() - t0
    c.close()
    want = "%d %s" % (len(data), hashlib.sha256(data).hexdigest())
    print("    %d bytes in %.2f s (%.2f Mbit/s), answer %s" %
          (len(data), dt, len(data) * 8 / dt / 1e6, "intact" if answer == want else answer))
    check(answer == want, "the server got %r, expected %r" % (answer, want))
    check(dt >= len(data) * 8 / 16e6 * 0.95, "not shaped: %.2f s" % dt)
    sp.stop()


@params("splice", "copy")
def test_download_then_fin_delivers_every_byte(engine):
    data = os.urandom(2 * 1024 * 1024 + 5)

    def sender(c):
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        recv_all(c)
    srv = Server(sender)
    port = free_port()
    sp = Splicer(base_conf(addr(port), srv.addr, engine=engine,
                           extra="    bandwidth-limit download 16mbps\n"))
    c = connect(addr(port))
    c.settimeout(30)
    got = recv_all(c)
    c.close()
    check(hashlib.sha256(got).digest() == hashlib.sha256(data).digest(),
          "download: %d of %d bytes, or different bytes" % (len(got), len(data)))
    sp.stop()


@test
def test_waiting_for_tokens_costs_no_cpu():
    """Four streams held at 10 Mbit/s each: splicer sleeps on timers
    between grants."""
    sp, port = shaped_proxy("    bandwidth-limit download 10mbps\n")
    cpu0, t0 = sp.cpu_seconds(), time.time()
    rep = iperf(port, reverse=True, streams=4, seconds=SECONDS)
    cpu = (sp.cpu_seconds() - cpu0) / (time.time() - t0)
    print("    splicer CPU %.2f%% of a core for 4 shaped streams (%.1f Mbit/s)" %
          (cpu * 100, received_mbps(rep)))
    check(cpu < (0.05 if not SANITIZED else 0.20), "splicer used %.1f%% CPU" % (cpu * 100))
    sp.stop()


run()
