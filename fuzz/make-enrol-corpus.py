#!/usr/bin/python3
"""Seeds for fuzz_enrol.c: registrations for its fixed expectation
(challenge bytes 0..31, rp id localhost, origin https://localhost:8443,
UV required), made here with a fresh P-256 key, and one of each refusal.

  make-enrol-corpus.py DIR
"""
import base64
import hashlib
import json
import os
import struct
import sys

from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def reg(cd=None, fmt="none", flags=0x45, rp="localhost", alg=-7, trail=b""):
    n = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    cose = cbor.encode({1: 2, 3: alg, -1: 1, -2: n.x.to_bytes(32, "big"),
                        -3: n.y.to_bytes(32, "big")})
    cid = os.urandom(16)
    ad = (hashlib.sha256(rp.encode()).digest() + bytes([flags]) +
          struct.pack(">I", 0) + bytes(16) + struct.pack(">H", len(cid)) +
          cid + cose)
    c = {"type": "webauthn.create", "challenge": b64u(bytes(range(32))),
         "origin": "https://localhost:8443", "crossOrigin": False}
    c.update(cd or {})
    ao = cbor.encode({"fmt": fmt, "attStmt": {}, "authData": ad}) + trail
    return json.dumps({"clientDataJSON": b64u(json.dumps(c).encode()),
                       "attestationObject": b64u(ao)}).encode()


def main(d):
    os.makedirs(d, exist_ok=True)
    seeds = {
        "good": reg(),
        "good-be-bs": reg(flags=0x5d),
        "extra-members": reg(cd={"other_keys_can_be_added_here": "x"}),
        "type-get": reg(cd={"type": "webauthn.get"}),
        "wrong-challenge": reg(cd={"challenge": b64u(bytes(32))}),
        "wrong-origin": reg(cd={"origin": "https://evil.example"}),
        "cross-origin": reg(cd={"crossOrigin": True}),
        "wrong-rpid": reg(rp="evil.example"),
        "no-up": reg(flags=0x44),
        "no-uv": reg(flags=0x41),
        "bs-without-be": reg(flags=0x55),
        "packed": reg(fmt="packed"),
        "eddsa": reg(alg=-8),
        "trailing": reg(trail=b"\0"),
        "not-json": b'{"clientDataJSON":',
    }
    # Raw attestation objects (the harness also tries each input as one).
    for name in ("good", "no-up", "eddsa", "packed"):
        b = json.loads(seeds[name])["attestationObject"]
        seeds["ao-" + name] = base64.urlsafe_b64decode(b + "=" * (-len(b) % 4))
    for name, data in seeds.items():
        open(os.path.join(d, name), "wb").write(data)


if __name__ == "__main__":
    main(sys.argv[1])
