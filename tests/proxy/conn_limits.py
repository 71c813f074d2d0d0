"""The Agent API's connection limits (proxy/conns.h), against a running
ownerbind-proxy with max_conns 3 and timeout_s 2 on SOCK:
- a client trickling its headers a byte every 0.3 s is cut at the deadline
  (not held by evhttp's inactivity timeout), while another is served;
- a request with two Content-Lengths is refused and its connection closed;
- an idle keep-alive connection after a reply is cut at the deadline;
- beyond 3 open connections the next is answered 503 OB_ERR_PROXY_BUSY with
  Retry-After at once and closed; once the idle ones are cut, a new one is
  served.
The bounds leave room for a loaded machine (sanitizers, other jobs): the
old proxy held a trickle for 30 s after its last byte and idle ones 30 s.
Prints one "ok ..." or "FAIL ..." line per check; exits 1 on any FAIL.
Usage: conn_limits.py SOCK"""
import json
import socket
import sys
import threading
import time

SOCK = sys.argv[1]
TIMEOUT_S = 2
fails = 0


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails += 1


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(SOCK)
    return s


def read_reply(s):
    """One whole reply (headers and a Content-Length body), or what came."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            return buf
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(body) < n:
        d = s.recv(4096)
        if not d:
            break
        body += d
    return head + b"\r\n\r\n" + body


def until_closed(s, limit):
    """Seconds until the peer closes s (recv gives b"" or an error)."""
    t0 = time.monotonic()
    s.settimeout(limit)
    try:
        while s.recv(4096):
            pass
    except (socket.timeout, OSError):
        if time.monotonic() - t0 >= limit:
            return None
    return time.monotonic() - t0


BAD_GET = b"GET /v1/credentials HTTP/1.1\r\nHost: p\r\n\r\n"

# 1. A slowloris is cut at the deadline; another client is served meanwhile.
cut = {}


def trickle():
    s = connect()
    t0 = time.monotonic()
    try:
        for b in b"POST /v1/credentials HTTP/1.1\r\nHost: p\r\nX-Slow: " + \
                b"a" * 60:
            s.send(bytes([b]))
            time.sleep(0.3)
        cut["t"] = None
    except OSError:
        cut["t"] = time.monotonic() - t0
    s.close()


t = threading.Thread(target=trickle)
t.start()
time.sleep(0.5)
s = connect()
t0 = time.monotonic()
s.send(BAD_GET)
r = read_reply(s)
check(r.startswith(b"HTTP/1.1 400") and time.monotonic() - t0 < 3,
      "another client is served during the trickle (%r...)" % r[:20])
s.close()
t.join()
check(cut.get("t") is not None and cut["t"] < TIMEOUT_S + 4,
      "a client trickling its headers is cut at the deadline (after %s s, "
      "timeout_s %d)" % (cut.get("t") and round(cut["t"], 1), TIMEOUT_S))

# 1b. Two Content-Lengths (RFC 9112 6.3): 400, and the connection closed.
s = connect()
s.send(b"POST /v1/credentials HTTP/1.1\r\nHost: p\r\nContent-Type: "
       b"application/jose+json\r\nContent-Length: 2\r\nContent-Length: 9"
       b"\r\n\r\n{}")
r = read_reply(s)
d = until_closed(s, 3)
check(r.startswith(b"HTTP/1.1 400") and b"OB_ERR_PROXY_BAD_REQUEST" in r and
      d is not None and d < 1.5,
      "two Content-Lengths: 400 OB_ERR_PROXY_BAD_REQUEST, then closed (%r)"
      % r[:20])
s.close()
time.sleep(0.3)

# 1c. A client that asks to close (and an HTTP/1.0 one) gets its whole
# reply before the close.
for req in (b"GET /v1/credentials HTTP/1.1\r\nHost: p\r\nConnection: close"
            b"\r\n\r\n", b"GET /v1/credentials HTTP/1.0\r\n\r\n"):
    s = connect()
    s.send(req)
    r = read_reply(s)
    check(r.startswith(b"HTTP/1.") and b" 400 " in r[:13] and
          b"OB_ERR_PROXY_BAD_REQUEST" in r,
          "%s: the whole reply, then the close" % req.split(b"\r\n")[0].decode())
    s.close()
time.sleep(0.3)

# 2. Idle after a reply: cut at the deadline.
s = connect()
s.send(BAD_GET)
r = read_reply(s)
d = until_closed(s, TIMEOUT_S + 4)
check(r.startswith(b"HTTP/1.1 400") and d is not None and
      TIMEOUT_S - 0.5 <= d < TIMEOUT_S + 4,
      "an idle keep-alive connection is closed at the deadline (after %s s)"
      % (d and round(d, 1)))
s.close()

# 3. Three open connections; the fourth is refused at once, with a reason.
# (The proxy frees a cut connection when it reads its end, a moment after
# the client saw it: let the earlier ones go first.)
time.sleep(0.5)
held = [connect() for _ in range(3)]
time.sleep(0.2)
s = connect()
t0 = time.monotonic()
r = read_reply(s)
took = time.monotonic() - t0
body = r.partition(b"\r\n\r\n")[2]
try:
    code = json.loads(body).get("code")
except ValueError:
    code = None
check(r.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in r and
      code == "OB_ERR_PROXY_BUSY" and took < 3,
      "the connection beyond max_conns: 503 OB_ERR_PROXY_BUSY, Retry-After, "
      "at once (%r)" % r[:40])
s.close()
# The idle ones are cut at their deadline; then a new client is served.
for h in held:
    until_closed(h, TIMEOUT_S + 4)
    h.close()
s = connect()
s.send(BAD_GET)
r = read_reply(s)
check(r.startswith(b"HTTP/1.1 400"),
      "after the idle connections were cut, a new client is served")
s.close()
sys.exit(1 if fails else 0)
