#!/usr/bin/python3
"""Alter the owner FIDO2 entry of an envelope: real authenticator output,
changed in one place the verifier must check before (or instead of) the
signature.  Usage: alter.py MODE IN OUT
MODE: up-clear uv-clear at-set ed-set rpid type challenge origin"""
import base64, hashlib, json, sys

def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

mode, src, dst = sys.argv[1:4]
env = json.load(open(src))
done = False
for sig in env["signatures"]:
    h = json.loads(b64d(sig["protected"]))
    if not h["alg"].startswith("webauthn-"):
        continue
    ad = bytearray(b64d(sig["header"]["authenticatorData"]))
    cd = json.loads(b64d(sig["header"]["clientDataJSON"]))
    if mode == "up-clear":
        ad[32] &= ~0x01
    elif mode == "uv-clear":
        assert ad[32] & 0x04, "input has no UV flag"
        ad[32] &= ~0x04
    elif mode == "at-set":
        ad[32] |= 0x40
    elif mode == "ed-set":
        ad[32] |= 0x80
    elif mode == "rpid":
        ad[0:32] = hashlib.sha256(b"evil.example").digest()
    elif mode == "type":
        cd["type"] = "webauthn.create"
    elif mode == "challenge":
        cd["challenge"] = b64e(hashlib.sha256(b"another request").digest())
    elif mode == "origin":
        cd["origin"] = "https://evil.example"
    else:
        sys.exit("unknown mode " + mode)
    sig["header"]["authenticatorData"] = b64e(bytes(ad))
    # keep WebAuthn's member order; only the one value changes
    sig["header"]["clientDataJSON"] = b64e(json.dumps(
        cd, separators=(",", ":")).encode())
    done = True
assert done, "no FIDO2 entry"
json.dump(env, open(dst, "w"))
