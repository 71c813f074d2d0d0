#!/usr/bin/python3
"""Write the named seeds of fuzz/corpus/signer (its fuzz-* files are
inputs a 10-minute run found, chosen by a greedy cover of the edges they
reach): sessions of signer-protocol frames
(docs/signer-protocol.md) for fuzz/fuzz_signer.c, whose keys are
tests/vectors/keys/org-ca.pem (issuer, CA org-ca.crt) and gw1.pem
(gateway, id gw1.example) and whose clock stands at NOW.

Usage: fuzz/make-signer-corpus.py [DIR]   (default: fuzz/corpus/signer)

Built with code nobody here wrote (python3-cryptography, jwcrypto), so
the well-formed seeds are also a cross-check of the helper's shape rules:
fuzz_signer aborts if one of them is signed with a signature that does
not verify, and replay-signer runs them in every test run.
"""
import base64
import datetime
import json
import os
import struct
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jwcrypto import jwk

NOW = 1800000000
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYS = os.path.join(TOP, "tests", "vectors", "keys")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "fuzz",
                                                          "corpus", "signer")
SUB = "wimse://td.example/agents/a1"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def cjson(o):
    return json.dumps(o, separators=(",", ":")).encode()


def pem_key(name):
    return serialization.load_pem_private_key(
        open(os.path.join(KEYS, name), "rb").read(), None)


issuer_key = pem_key("org-ca.pem")
ca = x509.load_pem_x509_certificate(
    open(os.path.join(KEYS, "org-ca.crt"), "rb").read())
gw_cert = x509.load_pem_x509_certificate(
    open(os.path.join(KEYS, "gw1.crt"), "rb").read())
agent = pem_key("agent-es256.pem")
agent_jwk = json.loads(jwk.JWK.from_pyca(agent.public_key()).export_public())
kid = jwk.JWK.from_pyca(issuer_key.public_key()).thumbprint()

# ---- frames ----


def frame(body):
    return struct.pack(">I", len(body)) + body


def lv8(b):
    return bytes([len(b)]) + b


def hello(id_=1, vmin=1, vmax=1, client=b"fuzz-daemon"):
    return frame(bytes([1, 1]) + struct.pack(">I", id_) +
                 bytes([vmin, vmax]) + lv8(client))


def pubkey(id_, key, version=1):
    return frame(bytes([version, 2]) + struct.pack(">I", id_) + lv8(key))


def sign(id_, key, purpose, data, for_=b"req=1 peer=fuzz"):
    return frame(bytes([1, 3]) + struct.pack(">I", id_) + lv8(key) +
                 bytes([purpose]) + struct.pack(">H", len(for_)) + for_ +
                 struct.pack(">I", len(data)) + data)


def health(id_):
    return frame(bytes([1, 4]) + struct.pack(">I", id_))


# ---- inputs ----


def wit(life=600, kid_=kid, iat=NOW):
    h = {"alg": "ES256", "kid": kid_, "typ": "wit+jwt"}
    j = dict(agent_jwk, alg="ES256")
    p = {"iss": "https://id.example", "sub": SUB, "iat": iat,
         "exp": iat + life, "jti": "AAAAAAAAAAAAAAAAAAAAAA",
         "sub_profile": "ai_agent", "cnf": {"jwk": j}}
    return (b64u(cjson(h)) + "." + b64u(cjson(p))).encode()


def tbs(uris=(SUB,), ca_=False, life=600):
    t = datetime.datetime.utcfromtimestamp(NOW)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                     "agent")]))
         .issuer_name(ca.subject)
         .public_key(agent.public_key())
         .serial_number(0x42424242424242424242424242424242)
         .not_valid_before(t)
         .not_valid_after(t + datetime.timedelta(seconds=life))
         .add_extension(x509.BasicConstraints(ca=ca_, path_length=None),
                        critical=True)
         .add_extension(x509.KeyUsage(True, False, False, False, False,
                                      False, False, False, False),
                        critical=True)
         .add_extension(x509.SubjectAlternativeName(
             [x509.UniformResourceIdentifier(u) for u in uris]),
             critical=False))
    # Any P-256 key signs it: the TBS names ecdsa-with-SHA256 either way.
    return b.sign(agent, hashes.SHA256()).tbs_certificate_bytes


def gateway_entry(x5c=True, role="gateway"):
    der = gw_cert.public_bytes(serialization.Encoding.DER)
    h = {"alg": "ES256", "typ": "ownerbind+jws", "kid": "gw1.example",
         "ob_role": role, "ob_model": "owner-mediated", "ob_iat": NOW}
    if x5c:
        h["x5c"] = [base64.b64encode(der).decode()]
    p = {"sub": SUB, "aud": "https://id.example", "iat": NOW,
         "exp": NOW + 300, "jti": "AAAAAAAAAAAAAAAAAAAAAw",
         "owner": "acme.example", "cnf": {"jwk": agent_jwk}}
    return (b64u(cjson(h)) + "." + b64u(cjson(p))).encode()


seeds = {
    "hello": hello(),
    "keys-health": hello() + pubkey(2, b"issuer") + pubkey(3, b"gw") +
    health(4),
    "sign-wit": hello() + sign(2, b"issuer", 1, wit()),
    "sign-wic-tbs": hello() + sign(2, b"issuer", 2, tbs()),
    "sign-gateway-entry": hello() + sign(2, b"gw", 3, gateway_entry()),
    "session": hello() + sign(2, b"issuer", 1, wit()) +
    sign(3, b"issuer", 2, tbs()) + sign(4, b"gw", 3, gateway_entry()) +
    health(5),
    "refuse-purpose": hello() + sign(2, b"gw", 1, wit()),
    "refuse-lifetime": hello() + sign(2, b"issuer", 1, wit(life=3601)),
    "refuse-clock": hello() + sign(2, b"issuer", 1, wit(iat=NOW + 3600)),
    "refuse-kid": hello() + sign(2, b"issuer", 1, wit(kid_="x" * 43)),
    "refuse-two-sans": hello() + sign(2, b"issuer", 2,
                                      tbs(uris=(SUB, SUB + "/b"))),
    "refuse-ca-true": hello() + sign(2, b"issuer", 2, tbs(ca_=True)),
    "refuse-wic-lifetime": hello() + sign(2, b"issuer", 2, tbs(life=4000)),
    "refuse-no-x5c": hello() + sign(2, b"gw", 3, gateway_entry(x5c=False)),
    "refuse-owner-entry": hello() + sign(2, b"gw", 3,
                                         gateway_entry(x5c=False,
                                                       role="owner")),
    "refuse-wit-as-tbs": hello() + sign(2, b"issuer", 2, wit()),
    "refuse-tbs-as-wit": hello() + sign(2, b"issuer", 1, tbs()),
    "refuse-random": hello() + sign(2, b"issuer", 1, os.urandom(64)),
    "refuse-key": hello() + sign(2, b"nosuch", 1, wit()),
    "no-hello": sign(1, b"issuer", 1, wit()),
    "two-hellos": hello() + hello(2),
    "hello-versions": hello(vmin=2, vmax=3),
    "trailing": hello() + frame(bytes([1, 2, 0, 0, 0, 2]) + lv8(b"issuer") +
                                b"\0"),
    "unknown-type": hello() + frame(bytes([1, 9, 0, 0, 0, 2])),
    "version-2": hello() + pubkey(2, b"issuer", version=2),
    "oversize": hello() + struct.pack(">I", 69633) + b"\1\2",
    "truncated-field": hello() + frame(bytes([1, 2, 0, 0, 0, 2, 63]) +
                                       b"issuer"),
}
os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print("%d seeds in %s" % (len(seeds), OUT))
