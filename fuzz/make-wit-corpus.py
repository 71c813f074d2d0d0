#!/usr/bin/env python3
"""Seed corpus for fuzz/fuzz_wit.c: WIT + WPT pairs as an ownerbind issuer
and agent make them (docs/credentials.md, draft-ietf-wimse-wpt), signed
with the test keys in tests/vectors/keys at GEN_NOW, some good, most
wrong in exactly one way.  Each file: WIT, WPT and optionally an access
token and an x-ctx value, one per line.  Signing uses python3-
cryptography, not our code, so the corpus also checks that we accept what
another implementation makes.

usage: make-wit-corpus.py KEYS_DIR OUT_DIR
"""
import base64, hashlib, json, os, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

NOW = 1767225600
AUD = "https://svc.example/v1/report"
OWNER_CLAIM = "urn:uuid:b880ac85-4c39-4d7c-9849-4aea4cbc60e5"
keys_dir, out = sys.argv[1], sys.argv[2]


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def load(name):
    with open(os.path.join(keys_dir, name), "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def jwk(k):
    pub = k.public_key()
    if isinstance(pub, ed25519.Ed25519PublicKey):
        raw = pub.public_bytes(serialization.Encoding.Raw,
                               serialization.PublicFormat.Raw)
        return {"crv": "Ed25519", "kty": "OKP", "x": b64(raw)}
    n = pub.public_numbers()
    return {"crv": "P-256", "kty": "EC", "x": b64(n.x.to_bytes(32, "big")),
            "y": b64(n.y.to_bytes(32, "big"))}


def thumb(j):
    req = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}[j["kty"]]
    canon = json.dumps({m: j[m] for m in req}, separators=(",", ":"),
                       sort_keys=True)
    return b64(hashlib.sha256(canon.encode()).digest())


def sign(k, msg):
    if isinstance(k, ed25519.Ed25519PrivateKey):
        return k.sign(msg)
    r, s = decode_dss_signature(k.sign(msg, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def jws(hdr, claims, k):
    """hdr, claims: dicts or raw JSON text (for what json.dumps cannot
    write, such as a duplicate member)."""
    h = hdr if isinstance(hdr, str) else json.dumps(hdr, separators=(",", ":"))
    c = claims if isinstance(claims, str) else json.dumps(claims,
                                                          separators=(",", ":"))
    tbs = b64(h.encode()) + "." + b64(c.encode())
    return tbs + "." + b64(sign(k, tbs.encode()))


iss_es, iss_ed = load("owner-es256.pem"), load("owner-eddsa.pem")
ag_es, ag_ed = load("agent-es256.pem"), load("agent-eddsa.pem")
owner, stranger = load("bob-es256.pem"), load("stranger-es256.pem")


def wit_claims(agent, alg, gateway=False):
    a = dict(jwk(agent), alg=alg)
    o = {"id": "alice@example.com", "type": "organization" if gateway else "service"}
    if gateway:
        o.update({"x5t#S256": b64(hashlib.sha256(b"gw").digest()),
                  "gateway": "gw.acme"})
    else:
        o.update({"jwk": jwk(owner), "jkt": thumb(jwk(owner))})
    o.update({"kind": "gateway" if gateway else "software",
              "assurance": "hardware" if gateway else "software",
              "model": "owner-mediated" if gateway else "agent-mediated"})
    if not gateway:
        o["group"] = "Agents"
    o.update({"approved_at": NOW - 60,
              "envelope_sha256": b64(hashlib.sha256(b"envelope").digest())})
    return {"iss": "https://issuer.example", "sub": "wimse://td.example/agents/a1",
            "iat": NOW - 30, "exp": NOW + 3600, "jti": "1itbnQhnWpGsvnBeVvSmlg",
            "sub_profile": "ai_agent", "dns_name": "a1.td.example",
            "cnf": {"jwk": a}, OWNER_CLAIM: o}


def wit_hdr(k, alg):
    return {"alg": alg, "kid": thumb(jwk(k)), "typ": "wit+jwt"}


def wpt_claims(wit, jti="fuzzfuzzfuzzfuzzfuzz01"):
    return {"aud": AUD, "iat": NOW - 1, "exp": NOW + 60, "jti": jti,
            "wth": b64(hashlib.sha256(wit.encode()).digest())}


def write(name, *lines):
    with open(os.path.join(out, name), "w") as f:
        f.write("\n".join(lines))


def pair(name, wh=None, wc=None, ph=None, pc=None, wkey=iss_es, pkey=ag_es,
         agent=ag_es, alg="ES256", extra=(), pc_fn=None):
    wit = jws(wh or wit_hdr(wkey, "ES256" if wkey is iss_es else "EdDSA"),
              wc or wit_claims(agent, alg), wkey)
    c = pc or wpt_claims(wit)
    if pc_fn:
        pc_fn(c)
    wpt = jws(ph or {"alg": alg, "typ": "wpt+jwt"}, c, pkey)
    write(name, wit, wpt, *extra)
    return wit


os.makedirs(out, exist_ok=True)
pair("ok-es256")
pair("ok-eddsa", wkey=iss_ed, pkey=ag_ed, agent=ag_ed, alg="EdDSA")
pair("ok-ed25519-alg", wkey=iss_ed, pkey=ag_ed, agent=ag_ed, alg="Ed25519")
pair("ok-gateway", wc=wit_claims(ag_es, "ES256", gateway=True))
pair("ok-typ-application", ph={"alg": "ES256", "typ": "application/wpt+jwt"})
pair("ok-ath", pc_fn=lambda c: c.update(
    ath=b64(hashlib.sha256(b"at-123").digest())), extra=("at-123",))
pair("ok-oth", pc_fn=lambda c: c.update(
    oth={"x-ctx": b64(hashlib.sha256(b"ctx-9").digest())}), extra=("", "ctx-9"))
pair("ath-missing", extra=("at-123",))
pair("ath-unbound", pc_fn=lambda c: c.update(ath=b64(b"x" * 32)))
pair("tth-unbound", pc_fn=lambda c: c.update(tth=b64(b"x" * 32)))
pair("oth-unknown", pc_fn=lambda c: c.update(oth={"x-other": b64(b"x" * 32)}))
pair("wpt-aud", pc_fn=lambda c: c.update(aud="https://svc.example/other"))
pair("wpt-expired", pc_fn=lambda c: c.update(iat=NOW - 200, exp=NOW - 100))
pair("wpt-too-long", pc_fn=lambda c: c.update(exp=NOW + 86400))
pair("wpt-no-jti", pc_fn=lambda c: c.pop("jti"))
pair("wpt-wth", pc_fn=lambda c: c.update(wth=b64(b"y" * 32)))
pair("wpt-other-key", pkey=stranger)
pair("wpt-alg", ph={"alg": "ES384", "typ": "wpt+jwt"})
pair("wpt-typ", ph={"alg": "ES256", "typ": "wit+jwt"})
pair("wpt-crit", ph={"alg": "ES256", "typ": "wpt+jwt", "crit": ["exp"]})
pair("wpt-dup", ph='{"alg":"ES256","typ":"wpt+jwt","alg":"ES256"}')
c = wit_claims(ag_es, "ES256")
c.update(iat=NOW - 7200, exp=NOW - 100)
pair("wit-expired", wc=c)
pair("wit-unknown-kid", wkey=stranger, wh=wit_hdr(stranger, "ES256"))
pair("wit-other-key", wh=wit_hdr(iss_es, "ES256"), wkey=stranger)
pair("wit-alg-none", wh={"alg": "none", "kid": thumb(jwk(iss_es)), "typ": "wit+jwt"})
pair("wit-alg-eddsa", wh={"alg": "EdDSA", "kid": thumb(jwk(iss_es)), "typ": "wit+jwt"})
pair("wit-typ", wh={"alg": "ES256", "kid": thumb(jwk(iss_es)), "typ": "JWT"})
c = wit_claims(ag_es, "ES256")
del c[OWNER_CLAIM]
pair("wit-no-owner", wc=c)
c = wit_claims(ag_es, "ES256")
c[OWNER_CLAIM]["scope"] = "all"
pair("wit-owner-member", wc=c)
c = wit_claims(ag_es, "ES256")
c[OWNER_CLAIM]["jkt"] = thumb(jwk(stranger))
pair("wit-owner-jkt", wc=c)
c = wit_claims(ag_es, "ES256")
del c["cnf"]["jwk"]["alg"]
pair("wit-cnf-no-alg", wc=c)
c = wit_claims(ag_es, "ES256")
c["sub"] = "https://td.example/a1"
pair("wit-sub", wc=c)
write("form-two-parts", "abc.def", "abc.def.ghi")
write("form-empty", "", "")
