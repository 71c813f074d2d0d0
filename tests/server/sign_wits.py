#!/usr/bin/env python3
# sign_wits.py SOCKET: to ownerbind-signer at SOCKET, HELLO, PUBKEY of key
# "issuer", then five WIT signing inputs for it; prints the five statuses
# (0 or an ob_err.h code), one a line (docs/signer-protocol.md).
import base64
import json
import socket
import struct
import sys
import time

from jwcrypto import jwk

s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])


def rd(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit("the helper closed the connection")
        b += c
    return b


def call(typ, rid, body):
    m = bytes([1, typ]) + struct.pack(">I", rid) + body
    s.sendall(struct.pack(">I", len(m)) + m)
    m = rd(struct.unpack(">I", rd(4))[0])
    return struct.unpack(">i", m[6:10])[0], m[10:]


def lv8(b):
    return bytes([len(b)]) + b


def b64(d):
    return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=")


st, _ = call(1, 1, bytes([1, 1]) + lv8(b"verify-every-test"))
assert st == 0, st
st, rest = call(2, 2, lv8(b"issuer"))
assert st == 0, st
# PUBKEY's reply: alg, kind, kid, each a u8-length string, then more
for _ in range(2):
    rest = rest[1 + rest[0]:]
kid = rest[1:1 + rest[0]].decode()
agent = json.loads(jwk.JWK.generate(kty="EC", crv="P-256").export_public())
for i in range(5):
    t = int(time.time())
    tbs = b64({"alg": "ES256", "kid": kid, "typ": "wit+jwt"}) + b"." + b64(
        {"iss": "https://iss.example", "sub": "wimse://example.org/agents/f",
         "iat": t, "exp": t + 600, "jti": "j%d" % i, "cnf": {"jwk": agent}})
    body = (lv8(b"issuer") + bytes([1]) + struct.pack(">H", 4) + b"test" +
            struct.pack(">I", len(tbs)) + tbs)
    st, _ = call(3, 10 + i, body)
    print(st)
