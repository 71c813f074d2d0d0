#!/usr/bin/env python3
"""Two ownerbind-server instances on one Redis (test_server_redis.sh).

  redis_multi.py race DIR URL_A URL_B
  redis_multi.py down DIR URL_A URL_B REDIS_PID REDIS_SERVER

DIR has dev/ (the TLS client certificate), the envelopes of mkenvs, the
servers' logs and redis.conf.  race: every round two threads send their
request but its last byte, meet at a barrier, send the last byte: the
same envelope to both servers, two envelopes with one nonce, two FIDO2
envelopes with one counter value; exactly one 201 per round, the other a
403.  Then eight envelopes of one agent, alternating: the per-agent
bucket is shared, so five pass and three get 429.  down: both servers
under load while Redis is stopped (SIGSTOP), then killed and started
again: no 201 while it is down, every answer a 503 with
OB_ERR_SVC_UNAVAILABLE, and 201s again once it is back.
"""
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


class Conn:
    """One keep-alive mutual-TLS connection; POST /v1/credentials."""

    def __init__(self, url, d):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=d + "/dev/tls-ca.pem")
        self.ctx.check_hostname = False
        self.ctx.load_cert_chain(d + "/dev/client.pem", d + "/dev/client.key")
        self.sock = None
        self.buf = b""

    def _open(self):
        s = socket.create_connection((self.host, self.port), timeout=30)
        self.sock = self.ctx.wrap_socket(s)
        self.buf = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def _read(self, n):
        while len(self.buf) < n:
            b = self.sock.recv(65536)
            if not b:
                raise IOError("connection closed")
            self.buf += b
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _head(self):
        while b"\r\n\r\n" not in self.buf:
            b = self.sock.recv(65536)
            if not b:
                raise IOError("connection closed")
            self.buf += b
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head.decode("latin-1")

    def post(self, body, barrier=None):
        """(status, problem code or None, parsed body)."""
        req = ("POST /v1/credentials HTTP/1.1\r\nHost: %s\r\n"
               "Content-Type: application/jose+json\r\n"
               "Content-Length: %d\r\n\r\n" % (self.host, len(body))
               ).encode() + body
        if self.sock is None:
            self._open()
        if barrier is not None:
            self.sock.sendall(req[:-1])
            barrier.wait()
            self.sock.sendall(req[-1:])
        else:
            self.sock.sendall(req)
        lines = self._head().split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for h in lines[1:]:
            k, _, v = h.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        if "content-length" not in hdrs:
            raise IOError("no Content-Length: %r" % hdrs)
        doc = json.loads(self._read(int(hdrs["content-length"])) or b"null")
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        code = doc.get("code") if isinstance(doc, dict) else None
        return status, (None if status == 201 else code), doc


def lines(d, name):
    with open(os.path.join(d, name), "rb") as f:
        return [l.rstrip(b"\n") for l in f if l.strip()]


def race_round(conns, bodies):
    """Post bodies[i] to conns[i] at the same moment; both answers."""
    barrier = threading.Barrier(2, timeout=30)
    res = [None, None]
    errs = []

    def run(i):
        try:
            res[i] = conns[i].post(bodies[i], barrier)
        except Exception as e:  # reported below, never retried
            errs.append(repr(e))
            barrier.abort()

    ts = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        fail("a request failed: " + "; ".join(errs))
    return res


def log_count(d, code):
    n = 0
    for s in ("A", "B"):
        with open(os.path.join(d, "server%s.log" % s)) as f:
            n += sum(1 for l in f if '"code":"%s"' % code in l)
    return n


def race(d, urls):
    conns = [Conn(u, d) for u in urls]
    kinds = [
        ("jti", lines(d, "jti.txt"), lines(d, "jti.txt"), "OB_ERR_REPLAY"),
        ("nonce", lines(d, "nonce0.txt"), lines(d, "nonce1.txt"),
         "OB_ERR_NONCE_USED"),
        ("fido2 counter", lines(d, "fido0.txt"), lines(d, "fido1.txt"),
         "OB_ERR_FIDO_COUNTER"),
    ]
    t0 = time.monotonic()
    for name, la, lb, internal in kinds:
        wins = [0, 0]
        before = log_count(d, internal)
        for i, (ea, eb) in enumerate(zip(la, lb)):
            (sa, ca, da), (sb, cb, db) = race_round(conns, (ea, eb))
            if sorted((sa, sb)) != [201, 403]:
                fail("%s round %d: %d %s / %d %s" % (name, i, sa, ca, sb, cb))
            loser = ca if sa == 403 else cb
            winner = da if sa == 201 else db
            if loser != "OB_ERR_REJECTED" or "wit" not in winner:
                fail("%s round %d: loser %s, winner %r" % (name, i, loser,
                                                          winner))
            wins[0 if sa == 201 else 1] += 1
        # Each loser was refused for the reason raced on, in a log.
        got = log_count(d, internal) - before
        if got != len(la):
            fail("%s: %d refusals %s in the logs, not %d" % (name, got,
                                                            internal, len(la)))
        print("ok: %s race, %d rounds: exactly one 201 each (A won %d, B %d),"
              " %d x %s" % (name, len(la), wins[0], wins[1], got, internal))
    print("races took %.1f s" % (time.monotonic() - t0))
    # One agent's bucket, shared: 5 of 8 pass, whichever server they hit.
    st = [conns[i % 2].post(e)[:2] for i, e in enumerate(lines(d, "rate.txt"))]
    if [s for s, _ in st] != [201] * 5 + [429] * 3 or \
       any(c != "OB_ERR_SVC_RATE_LIMITED" for s, c in st if s == 429):
        fail("shared per-agent bucket: %r" % st)
    print("ok: shared per-agent bucket: 5 x 201 then 3 x 429 across both")
    # Every acceptance is in exactly one issuance record.
    acc = 0
    for s in ("A", "B"):
        with open(os.path.join(d, "audit%s.jsonl" % s)) as f:
            acc += sum(1 for l in f
                       if json.loads(l).get("decision") == "accepted")
    want = 3 * len(kinds[0][1]) + 5
    if acc != want:
        fail("%d acceptances in the issuance records, not %d" % (acc, want))
    print("ok: %d acceptances recorded across both servers" % acc)


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        # The process can go between open and read (ESRCH).
        return "gone"


def until(what, pred, limit=30):
    t = time.monotonic() + limit
    while not pred():
        if time.monotonic() > t:
            fail("never: " + what)
        time.sleep(0.02)


def redis_up(sock):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        s.sendall(b"PING\r\n")
        ok = s.recv(16).startswith(b"+PONG")
        s.close()
        return ok
    except OSError:
        return False


def down(d, urls, rpid, redis_server):
    envs = iter(lines(d, "load.txt"))
    lock = threading.Lock()
    recs = []
    stop = threading.Event()
    errs = []

    def worker(name, url):
        c = Conn(url, d)
        while not stop.is_set():
            with lock:
                e = next(envs, None)
            if e is None:
                errs.append("out of envelopes")
                return
            t0 = time.monotonic()
            try:
                s, code, _ = c.post(e)
            except Exception as x:
                errs.append("%s: %r" % (name, x))
                return
            with lock:
                recs.append((name, t0, time.monotonic(), s, code))
            time.sleep(0.01)

    def n(pred):
        with lock:
            return sum(1 for r in recs if pred(r))

    def each(pred, k):
        return all(n(lambda r: r[0] == s and pred(r)) >= k for s in "AB")

    ts = [threading.Thread(target=worker, args=(s, u))
          for s, u in zip("AB", urls)]
    for t in ts:
        t.start()
    until("201s before the outage", lambda: each(lambda r: r[3] == 201, 10))
    os.kill(rpid, signal.SIGSTOP)
    until("Redis stopped", lambda: proc_state(rpid) == "T")
    t0 = time.monotonic()
    until("requests while stopped", lambda: each(lambda r: r[1] > t0, 15))
    t1 = time.monotonic()
    os.kill(rpid, signal.SIGCONT)
    until("201s after SIGCONT",
          lambda: each(lambda r: r[1] > t1 and r[3] == 201, 10))
    os.kill(rpid, signal.SIGKILL)
    until("Redis dead", lambda: proc_state(rpid) in ("Z", "gone"))
    t2 = time.monotonic()
    until("requests while dead", lambda: each(lambda r: r[1] > t2, 15))
    t3 = time.monotonic()
    p = subprocess.Popen([redis_server, os.path.join(d, "redis.conf")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(d, "redis2.pid"), "w") as f:
        f.write("%d\n" % p.pid)
    until("Redis back", lambda: redis_up(os.path.join(d, "redis.sock")))
    until("201s after the restart",
          lambda: each(lambda r: r[1] > t3 and r[3] == 201, 10))
    stop.set()
    for t in ts:
        t.join()
    if errs:
        fail("; ".join(errs))
    bad = [r for r in recs if r[3] not in (201, 503)]
    if bad:
        fail("answers other than 201 and 503: %r" % bad[:5])
    for a, b, what in ((t0, t1, "stopped"), (t2, t3, "killed")):
        inside = [r for r in recs if r[1] > a and r[2] < b]
        wrong = [r for r in inside
                 if r[3] != 503 or r[4] != "OB_ERR_SVC_UNAVAILABLE"]
        if wrong:
            fail("while Redis was %s: %r" % (what, wrong[:5]))
        for s in "AB":
            k = sum(1 for r in inside if r[0] == s)
            if k < 10:
                fail("only %d requests to %s while Redis was %s" % (k, s, what))
        print("ok: Redis %s: %d requests, every one 503 OB_ERR_SVC_UNAVAILABLE"
              ", no 201" % (what, len(inside)))
    print("ok: service resumed on both after SIGCONT and after a restart "
          "(%d requests, %d accepted)" % (len(recs),
                                          sum(1 for r in recs if r[3] == 201)))
    # The log names the cause: the state on B, the shared buckets on A.
    for s, want in (("A", "per-peer rate: OB_ERR_STATE_UNAVAILABLE"),
                    ("B", '"code":"OB_ERR_STATE_UNAVAILABLE"')):
        with open(os.path.join(d, "server%s.log" % s)) as f:
            if want not in f.read():
                fail("server %s's log lacks %s" % (s, want))
    print("ok: the logs name OB_ERR_STATE_UNAVAILABLE (A: shared buckets, "
          "B: the state)")


def main():
    mode, d, ua, ub = sys.argv[1:5]
    if mode == "race":
        race(d, (ua, ub))
    elif mode == "down":
        down(d, (ua, ub), int(sys.argv[5]), sys.argv[6])
    else:
        fail("mode " + mode)


if __name__ == "__main__":
    main()
