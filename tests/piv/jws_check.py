#!/usr/bin/python3
"""jws_check.py ENVELOPE TRUST KID

Check an owner entry made by a PIV card with code nobody here wrote:
python3-jwcrypto verifies the entry signed by KID (its JWK and alg taken
from the trust store) as a JWS General Serialization, unchanged.  Exit 0
when jwcrypto accepts it, 1 otherwise.
"""
import base64
import json
import sys

from jwcrypto import jwk, jws


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def main():
    env_path, trust_path, kid = sys.argv[1:4]
    with open(env_path, encoding="utf-8") as f:
        env = json.load(f)
    with open(trust_path, encoding="utf-8") as f:
        trust = json.load(f)
    keys = [k for o in trust["owners"] for k in o["keys"] if k["kid"] == kid]
    if len(keys) != 1:
        print("kid not in the trust store", file=sys.stderr)
        return 1
    entry = keys[0]
    mine = [s for s in env["signatures"]
            if json.loads(b64d(s["protected"]))["kid"] == kid]
    if len(mine) != 1:
        print("no entry for kid", file=sys.stderr)
        return 1
    one = json.dumps({"payload": env["payload"], "signatures": mine})
    token = jws.JWS()
    token.deserialize(one)
    token.allowed_algs = [entry["alg"]]
    token.verify(jwk.JWK(**entry["jwk"]), alg=entry["alg"])
    print("jwcrypto: %s entry of %s verifies" % (entry["alg"], kid))
    return 0


if __name__ == "__main__":
    sys.exit(main())
