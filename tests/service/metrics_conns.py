#!/usr/bin/env python3
# metrics_conns.py DIR PORT MPORT TIMEOUT: the metrics listener's own cap
# (64 connections) and deadline (limits.timeout_s), decision 168:
#   - 64 idle connections are held; the 65th gets 503
#     OB_ERR_SVC_UNAVAILABLE with Retry-After and is closed;
#   - meanwhile the TLS listener serves a request;
#   - a request trickled a byte every 0.5 s (which resets evhttp's own
#     inactivity timeout) is cut near TIMEOUT;
#   - once they are gone /healthz answers, and /metrics counts the
#     refusal and the trickle's cut.  The idle ones are not counted: evhttp's
#     own inactivity timeout has the same length and may close them first.
# DIR holds the test PKI (ca.pem, proxy.pem, proxy.key).
import os
import socket
import ssl
import sys
import time

D, PORT, MPORT, T = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(
    sys.argv[4])
CAP = 64
failed = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failed.append(what)


def plain():
    s = socket.create_connection(("127.0.0.1", MPORT), timeout=10)
    return s


def read_all(s, limit):
    s.settimeout(limit)
    b = b""
    try:
        while True:
            c = s.recv(65536)
            if not c:
                return b, True
            b += c
    except socket.timeout:
        return b, False
    except ConnectionResetError:
        return b, True


def get(path):
    s = plain()
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
              b"Connection: close\r\n\r\n")
    return read_all(s, 10)[0].decode(errors="replace")


def counters():
    m = get("/metrics")
    return dict(ln.rsplit(" ", 1) for ln in m.split("\r\n\r\n", 1)[-1]
                .splitlines() if ln and not ln.startswith("#"))


held = [plain() for _ in range(CAP)]
time.sleep(0.3)
extra = plain()
b, closed = read_all(extra, 5)
text = b.decode(errors="replace")
check(text.startswith("HTTP/1.1 503") and "OB_ERR_SVC_UNAVAILABLE" in text
      and "Retry-After: 1" in text and closed,
      "connection %d: 503 OB_ERR_SVC_UNAVAILABLE with Retry-After, closed"
      % (CAP + 1))
ctx = ssl.create_default_context(cafile=os.path.join(D, "ca.pem"))
ctx.load_cert_chain(os.path.join(D, "proxy.pem"), os.path.join(D, "proxy.key"))
with socket.create_connection(("127.0.0.1", PORT), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as t:
        t.sendall(b"GET /whoami HTTP/1.1\r\nHost: localhost\r\n"
                  b"Connection: close\r\n\r\n")
        r = read_all(t, 10)[0].decode(errors="replace")
check(r.startswith("HTTP/1.1 200") and "proxy-1" in r,
      "the TLS listener serves while the metrics listener is full")
# The held ones are cut at the deadline, with nothing sent.
t0 = time.monotonic()
b, closed = read_all(held[0], T + 5)
check(closed and b == b"" and time.monotonic() - t0 < T + 2,
      "an idle metrics connection is closed at the deadline")
for s in held:
    s.close()
time.sleep(0.3)
cuts0 = int(counters().get("ob_metrics_connections_cut_total", "0"))
# A trickle: every byte resets evhttp's timeout, not the deadline.
s = plain()
req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
t0 = time.monotonic()
cut = False
for c in req:
    try:
        s.sendall(bytes([c]))
    except (BrokenPipeError, ConnectionResetError):
        cut = True
        break
    time.sleep(0.5)
    if time.monotonic() - t0 > T + 6:
        break
if not cut:
    b, cut = read_all(s, 2)
dt = time.monotonic() - t0
check(cut and dt < T + 3, "a trickled request is cut after %.1f s" % dt)
h = get("/healthz")
check('"ready":true' in h, "/healthz answers after the flood")
lines = counters()
check(int(lines.get("ob_metrics_connections_refused_total", "0")) >= 1,
      "/metrics counts the refusal (%s)"
      % lines.get("ob_metrics_connections_refused_total"))
cuts = int(lines.get("ob_metrics_connections_cut_total", "0"))
check(cuts >= cuts0 + 1, "/metrics counts the trickle's cut (%d, then %d)"
      % (cuts0, cuts))
sys.exit(1 if failed else 0)
