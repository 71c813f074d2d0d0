#!/usr/bin/python3
"""jws_check.py ENVELOPE TRUST KID OUTDIR

Cross-check an owner entry made by a TPM with code nobody here wrote:
python3-jwcrypto verifies the entry signed by KID (its JWK taken from the
trust store) as a JWS General Serialization, unchanged.  For openssl the
script also writes OUTDIR/tbs (the JWS signing input), OUTDIR/sig (DER
ECDSA, or the raw PSS block) and OUTDIR/pub.pem.  Exit 0 when jwcrypto
accepts the entry, 1 otherwise.
"""
import base64
import json
import sys

from jwcrypto import jwk, jws
from cryptography.hazmat.primitives.asymmetric.utils import \
    encode_dss_signature


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def main():
    env_path, trust_path, kid, outdir = sys.argv[1:5]
    with open(env_path, encoding="utf-8") as f:
        env_text = f.read()
    env = json.loads(env_text)
    with open(trust_path, encoding="utf-8") as f:
        trust = json.load(f)
    keys = [k for o in trust["owners"] for k in o["keys"] if k["kid"] == kid]
    if len(keys) != 1:
        print("kid not in the trust store", file=sys.stderr)
        return 1
    entry = keys[0]
    key = jwk.JWK(**entry["jwk"])
    mine = [s for s in env["signatures"]
            if json.loads(b64d(s["protected"]))["kid"] == kid]
    if len(mine) != 1:
        print("no entry for kid", file=sys.stderr)
        return 1
    sig = mine[0]
    # jwcrypto on the owner entry alone, in General Serialization.
    one = json.dumps({"payload": env["payload"], "signatures": [sig]})
    token = jws.JWS()
    token.deserialize(one)
    token.allowed_algs = [entry["alg"]]
    token.verify(key, alg=entry["alg"])
    print("jwcrypto: %s entry of %s verifies" % (entry["alg"], kid))
    raw = b64d(sig["signature"])
    with open(outdir + "/tbs", "wb") as f:
        f.write((sig["protected"] + "." + env["payload"]).encode())
    with open(outdir + "/sig", "wb") as f:
        if entry["alg"].startswith("ES"):
            n = len(raw) // 2
            f.write(encode_dss_signature(int.from_bytes(raw[:n], "big"),
                                         int.from_bytes(raw[n:], "big")))
        else:
            f.write(raw)
    with open(outdir + "/pub.pem", "wb") as f:
        f.write(key.export_to_pem())
    return 0


if __name__ == "__main__":
    sys.exit(main())
