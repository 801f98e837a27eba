"""A small DNS server on loopback UDP for the resolvers tests: its answers
(A, AAAA, SRV with the targets' addresses as additional records, NXDOMAIN,
REFUSED) are changed by the test while it runs, and it can answer badly on
purpose: another id, truncated, larger than asked, malformed, a
compression loop, or not at all."""
import socket
import struct
import threading

T_A, T_AAAA, T_SRV, T_OPT = 1, 28, 33, 41


def _name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def _rr(owner, rtype, rdata, ttl=5):
    return _name(owner) + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


class DNS:
    """zones: {name: {"A": [ip...], "AAAA": [ip...], "SRV": [(prio, weight,
    port, target)...]}}; rcode: {name: 3 (NX) or 5 (REFUSED)}; mode: None
    or one of "drop", "wrong_id", "truncated", "huge", "garbage", "loop"."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.zones, self.rcode, self.mode = {}, {}, None
        self.queries = []  # (name, qtype)
        self.closed = False
        threading.Thread(target=self._loop, daemon=True).start()

    def set(self, name, **recs):
        with self.lock:
            self.zones[name] = recs
            self.rcode.pop(name, None)

    def fail(self, name, rcode):
        with self.lock:
            self.rcode[name] = rcode

    def asked(self):
        with self.lock:
            return list(self.queries)

    def close(self):
        self.closed = True
        self.sock.close()

    def _question(self, q):
        off, labels = 12, []
        while q[off]:
            labels.append(q[off + 1:off + 1 + q[off]].decode())
            off += 1 + q[off]
        qtype = struct.unpack("!H", q[off + 1:off + 3])[0]
        return ".".join(labels).lower(), qtype, q[12:off + 5]

    def _records(self, name, qtype, recs):
        an, ad = [], []
        if qtype == T_A:
            an = [_rr(name, T_A, socket.inet_pton(socket.AF_INET, ip)) for ip in recs.get("A", [])]
        elif qtype == T_AAAA:
            an = [_rr(name, T_AAAA, socket.inet_pton(socket.AF_INET6, ip))
                  for ip in recs.get("AAAA", [])]
        elif qtype == T_SRV:
            for prio, weight, port, target in recs.get("SRV", []):
                an.append(_rr(name, T_SRV, struct.pack("!HHH", prio, weight, port) + _name(target)))
                t = self.zones.get(target, {})
                ad += [_rr(target, T_A, socket.inet_pton(socket.AF_INET, ip))
                       for ip in t.get("A", [])]
        return an, ad

    def answer(self, q):
        name, qtype, question = self._question(q)
        with self.lock:
            self.queries.append((name, qtype))
            mode, rcode = self.mode, self.rcode.get(name, 0)
            recs = self.zones.get(name)
            an, ad = self._records(name, qtype, recs or {})
        if mode == "drop":
            return None
        if recs is None and rcode == 0:
            rcode = 3
        qid = struct.unpack("!H", q[:2])[0]
        if mode == "wrong_id":
            qid ^= 0x5a5a
        flags = 0x8180 | rcode | (0x0200 if mode == "truncated" else 0)
        if mode == "huge":  # many records, far past the 512 bytes announced
            an = an * 200
        head = struct.pack("!HHHHHH", qid, flags, 1, len(an), 0, len(ad))
        msg = head + question + b"".join(an) + b"".join(ad)
        if mode == "garbage":
            msg = head + question + b"\x07garbage"
        elif mode == "loop":  # a name that points at itself
            msg = struct.pack("!HHHHHH", qid, flags, 1, 1, 0, 0) + question + \
                b"\xc0" + bytes([12 + len(question)]) + b"\0"
        return msg

    def _loop(self):
        while not self.closed:
            try:
                q, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            try:
                a = self.answer(q)
            except (IndexError, struct.error):
                continue
            if a is not None:
                try:
                    self.sock.sendto(a, peer)
                except OSError:
                    pass
