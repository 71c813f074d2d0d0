#!/usr/bin/env python3
# signer_deadlines.py SIGNER: ownerbind-signer --listen with timeout_s 2
# (docs/signer-protocol.md, "Deadlines"), a real helper on a unix socket:
#   - a connection that sends no HELLO is cut with an ERROR at ~2 s;
#   - a frame begun and not finished (3 bytes, then nothing) is cut;
#   - a frame trickled a byte every 0.4 s is cut (trickling resets
#     nothing);
#   - meanwhile another client is answered at once, and a connection
#     idle for longer than the deadline after HELLO is still served;
#   - timeout_s 0 is refused by --check-config (exit 2);
#   - the helper logs each cut and exits 0 on SIGTERM.
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

SIGNER = sys.argv[1]
T = 2
failed = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failed.append(what)


def frame(typ, rid, body=b""):
    m = bytes([1, typ]) + struct.pack(">I", rid) + body
    return struct.pack(">I", len(m)) + m


HELLO = frame(1, 1, bytes([1, 1, 4]) + b"test")
PUBKEY = frame(2, 2, bytes([2]) + b"gw")


def read_frame(s, limit):
    """One reply (type, status) or None at the end; limit in seconds."""
    s.settimeout(limit)
    b = b""
    try:
        while len(b) < 4 or len(b) < 4 + struct.unpack(">I", b[:4])[0]:
            c = s.recv(4096)
            if not c:
                return None
            b += c
    except socket.timeout:
        return "timeout"
    m = b[4:]
    return m[1], struct.unpack(">i", m[6:10])[0]


def closed(s, limit):
    s.settimeout(limit)
    try:
        return s.recv(1) == b""
    except (socket.timeout, ConnectionResetError):
        return False


def conn(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    return s


def greeted(path):
    s = conn(path)
    s.sendall(HELLO)
    r = read_frame(s, 5)
    assert r == (0x81, 0), r
    return s


res = {}


def no_hello(path):
    s = conn(path)
    t0 = time.monotonic()
    r = read_frame(s, T + 5)
    res["no_hello"] = (r, time.monotonic() - t0, closed(s, 2))


def half_frame(path):
    s = greeted(path)
    s.sendall(PUBKEY[:3])
    t0 = time.monotonic()
    r = read_frame(s, T + 5)
    res["half"] = (r, time.monotonic() - t0, closed(s, 2))


def trickle(path):
    s = greeted(path)
    t0 = time.monotonic()
    r = None
    try:
        for b in PUBKEY:
            s.sendall(bytes([b]))
            time.sleep(0.4)
            if time.monotonic() - t0 > T + 4:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    r = read_frame(s, 3)
    res["trickle"] = (r, time.monotonic() - t0)


def idle(path):
    s = greeted(path)
    time.sleep(T + 1.5)
    s.sendall(PUBKEY)
    res["idle"] = read_frame(s, 5)


with tempfile.TemporaryDirectory() as d:
    key = os.path.join(d, "gw.pem")
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey",
                    "-noout", "-out", key], check=True)
    cfg = os.path.join(d, "signer.json")
    with open(cfg, "w") as f:
        f.write('{"keys": [{"name": "gw", "uri": "file:gw.pem", '
                '"role": "gateway"}], "timeout_s": %d}\n' % T)
    bad = os.path.join(d, "bad.json")
    with open(bad, "w") as f:
        f.write('{"keys": [{"name": "gw", "uri": "file:gw.pem", '
                '"role": "gateway"}], "timeout_s": 0}\n')
    r = subprocess.run([SIGNER, "--check-config", bad], capture_output=True,
                       text=True)
    check(r.returncode == 2 and "timeout_s" in r.stderr,
          "timeout_s 0: --check-config exits 2 naming it (%d)" % r.returncode)
    sock = os.path.join(d, "s.sock")
    log = open(os.path.join(d, "signer.log"), "w+")
    p = subprocess.Popen([SIGNER, "--config", cfg, "--listen", sock],
                         stderr=log)
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        ts = [threading.Thread(target=f, args=(sock,))
              for f in (no_hello, half_frame, trickle, idle)]
        for t in ts:
            t.start()
        time.sleep(0.5)
        # Another client while the three stall: served at once.
        t0 = time.monotonic()
        s = greeted(sock)
        s.sendall(PUBKEY)
        r = read_frame(s, 5)
        check(r == (0x82, 0) and time.monotonic() - t0 < 1,
              "another client is served while three stall (%s, %.2f s)"
              % (r, time.monotonic() - t0))
        s.close()
        for t in ts:
            t.join(20)
        r, dt, c = res["no_hello"]
        check(r is not None and r != "timeout" and r[0] == 0xff,
              "no HELLO: an ERROR (%s)" % (r,))
        check(T - 0.5 < dt < T + 3 and c,
              "no HELLO: cut after %.2f s, and closed" % dt)
        r, dt, c = res["half"]
        check(r is not None and r != "timeout" and r[0] == 0xff,
              "a half frame: an ERROR (%s)" % (r,))
        check(T - 0.5 < dt < T + 3 and c,
              "a half frame: cut after %.2f s, and closed" % dt)
        r, dt = res["trickle"]
        check(r is not None and r != "timeout" and r[0] == 0xff and
              dt < T + 4.5,
              "a trickled frame: cut (%s after %.2f s)" % (r, dt))
        check(res["idle"] == (0x82, 0),
              "idle %.1f s after HELLO: still served (%s)"
              % (T + 1.5, res["idle"]))
    finally:
        p.terminate()
        rc = p.wait(10)
    check(rc == 0, "SIGTERM: exit %d" % rc)
    log.seek(0)
    text = log.read()
    check(text.count("HELLO not complete within %d s" % T) == 1,
          "the log names the HELLO cut")
    check(text.count("a frame not complete within %d s" % T) == 2,
          "the log names both frame cuts")
sys.exit(1 if failed else 0)
