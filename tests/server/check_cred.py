#!/usr/bin/python3
"""Independent checks of an issued credential (docs/credentials.md).

Usage: check_cred.py DIR, where DIR holds wit.txt, wic.pem (leaf then
chain), jwks.json (ob_issuer_jwks), verdict.json (ob_verdict_json), ca.pem
(the trust anchor for openssl verify: the issuer CA or its root) and
expect.json ({"iss", "lifetime", "oid", "jti"}, optionally "subject_ou":
true when the issuer puts the owner's group in the Subject OU).  Uses only code
nobody in this project wrote: jwcrypto for the WIT, Debian's
python3-cryptography and `openssl verify` for the WIC.  The DER of the
owner binding is read with the small reader below (no pyasn1 on Debian
12 by default); it checks tags and lengths strictly.
"""
import base64
import datetime
import json
import os
import subprocess
import sys
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from jwcrypto import jwk, jws, jwt

OWNER_CLAIM = "urn:uuid:b880ac85-4c39-4d7c-9849-4aea4cbc60e5"

d = sys.argv[1]
rd = lambda n: open(os.path.join(d, n)).read()
wit = rd("wit.txt").strip()
wic_pem = rd("wic.pem")
jwks = rd("jwks.json")
v = json.loads(rd("verdict.json"))
exp_ = json.loads(rd("expect.json"))
fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL", what)


def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


# ---- WIT: jwcrypto with the JWKS the issuer serves ----
keys = jwk.JWKSet.from_json(jwks)
# The signing key first, then any the issuer publishes (issuer.publish).
doc = json.loads(jwks)
nkeys = exp_.get("jwks_keys", 1)
check(len(doc["keys"]) == nkeys, "JWKS has %d key(s)" % nkeys)
check(len({d.get("kid") for d in doc["keys"]}) == len(doc["keys"]),
      "JWKS kids are distinct")
k = keys.get_key(doc["keys"][0]["kid"])
check(k.get("use") == "sig" and k.get("kid") and k.get("alg") and
      k.get("x5c"), "JWKS key has use=sig, kid, alg, x5c")
tok = jwt.JWT(jwt=wit, key=keys, algs=[k.get("alg")])
hdr = json.loads(tok.header)
cl = json.loads(tok.claims)
check(hdr == {"alg": k.get("alg"), "kid": k.get("kid"), "typ": "wit+jwt"},
      "WIT header is alg, kid, typ wit+jwt: %r" % hdr)
check(cl["iss"] == exp_["iss"], "iss")
check(cl["sub"] == v["agent"], "sub is the agent")
check(cl["exp"] - cl["iat"] == exp_["lifetime"], "exp - iat is the lifetime")
check(cl["jti"] == exp_["jti"] and len(b64u(cl["jti"])) == 16,
      "jti is 16 random bytes")
check(cl["sub_profile"] == "ai_agent", "sub_profile ai_agent")
want_jwk = dict(v["agent_jwk"], alg=v["agent_alg"])
check(cl["cnf"] == {"jwk": want_jwk}, "cnf.jwk is the agent key with alg")
for m in ("dns_name", "logical_id", "client_id"):
    check(cl.get(m) == v.get(m), m + " as approved")
check("act" not in cl and "may_act" not in cl, "no act / may_act")
o = cl.get(OWNER_CLAIM)
check(isinstance(o, dict), "one owner claim object")
o = o or {}
check(o.get("id") == v["owner"] and o.get("type") == v["owner_type"],
      "owner id and type")
if v["gateway"] is None:
    check(o.get("jwk") == v["owner_jwk"], "owner jwk is the trusted key")
    check(o.get("jkt") == v["owner_jkt"] ==
          jwk.JWK(**v["owner_jwk"]).thumbprint(), "owner jkt (RFC 7638)")
    check("x5t#S256" not in o and "gateway" not in o, "no gateway members")
else:
    check(o.get("x5t#S256") == v["gateway_x5t"], "gateway leaf hash")
    check(o.get("gateway") == v["gateway"], "gateway id")
    check("jwk" not in o, "no owner jwk for a gateway")
for m in ("kind", "assurance", "model", "approved_at"):
    check(o.get(m) == v[{"kind": "owner_kind"}.get(m, m)], "owner " + m)
check(o.get("envelope_sha256") == v["envelope_sha256"], "envelope hash")
check(o.get("group") == v.get("owner_group"), "owner group")
check([n for n in cl if n.startswith("urn:")] == [OWNER_CLAIM],
      "exactly one owner claim")
# A tampered WIT must not verify.
bad = wit[:-4] + ("AAAA" if not wit.endswith("AAAA") else "BBBB")
try:
    jwt.JWT(jwt=bad, key=keys, algs=[k.get("alg")])
    check(False, "a tampered WIT is refused")
except Exception:
    pass

# ---- WIC: openssl verify, both purposes ----
pems = [p + "-----END CERTIFICATE-----\n"
        for p in wic_pem.split("-----END CERTIFICATE-----")[:-1]]
check(len(pems) >= 2, "WIC PEM is the leaf then the chain")
with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as f:
    f.write(pems[0].lstrip())
    leaf_path = f.name
with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as f:
    f.write("".join(p.lstrip() for p in pems[1:]))
    chain_path = f.name
for purpose in ("sslclient", "sslserver"):
    r = subprocess.run(["openssl", "verify", "-purpose", purpose, "-CAfile",
                        os.path.join(d, "ca.pem"), "-untrusted", chain_path,
                        leaf_path], capture_output=True, text=True)
    check(r.returncode == 0 and ": OK" in r.stdout,
          "openssl verify -purpose %s: %s%s" % (purpose, r.stdout, r.stderr))
os.unlink(chain_path)
os.unlink(leaf_path)

# ---- WIC: Debian's python3-cryptography ----
c = x509.load_pem_x509_certificate(pems[0].lstrip().encode())
# The issuer certificate: the first of the chain after the leaf.
ca = x509.load_pem_x509_certificate(pems[1].lstrip().encode())
chain_der = [base64.b64encode(x509.load_pem_x509_certificate(
    p.lstrip().encode()).public_bytes(serialization.Encoding.DER)).decode()
    for p in pems[1:]]
check(k.get("x5c") == chain_der, "JWKS x5c is the WIC chain")
spki_ = (serialization.Encoding.DER,
         serialization.PublicFormat.SubjectPublicKeyInfo)
check(ca.public_key().public_bytes(*spki_) == serialization.load_pem_public_key(
    k.export_to_pem()).public_bytes(*spki_), "JWKS key is the issuer CA key")
check(c.version == x509.Version.v3, "X.509 v3")
check(c.issuer == ca.subject, "issuer is the CA subject")
E = c.extensions
san = E.get_extension_for_class(x509.SubjectAlternativeName)
names = list(san.value)
check(len(names) == 1 and isinstance(names[0], x509.UniformResourceIdentifier)
      and names[0].value == cl["sub"], "exactly one SAN, a URI == sub")
check(not san.value.get_values_for_type(x509.RFC822Name), "no email SAN")
ku = E.get_extension_for_class(x509.KeyUsage)
check(ku.critical and ku.value.digital_signature and not any([
    ku.value.content_commitment, ku.value.key_encipherment,
    ku.value.data_encipherment, ku.value.key_agreement,
    ku.value.key_cert_sign, ku.value.crl_sign]),
    "keyUsage critical, digitalSignature only")
eku = E.get_extension_for_class(x509.ExtendedKeyUsage)
check(set(eku.value) == {ExtendedKeyUsageOID.SERVER_AUTH,
                         ExtendedKeyUsageOID.CLIENT_AUTH} and
      len(list(eku.value)) == 2, "EKU serverAuth + clientAuth")
bc = E.get_extension_for_class(x509.BasicConstraints)
check(bc.critical and bc.value.ca is False, "basicConstraints critical CA:FALSE")
ski = E.get_extension_for_class(x509.SubjectKeyIdentifier)
check(ski.value == x509.SubjectKeyIdentifier.from_public_key(c.public_key()),
      "SKI is the key's hash")
aki = E.get_extension_for_class(x509.AuthorityKeyIdentifier)
ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
check(aki.value.key_identifier == ca_ski.value.digest, "AKI is the CA's SKI")
check(c.serial_number > 0 and c.serial_number.bit_length() >= 64,
      "serial positive, >= 64 bits")
na = c.not_valid_after.replace(tzinfo=datetime.timezone.utc).timestamp()
nb = c.not_valid_before.replace(tzinfo=datetime.timezone.utc).timestamp()
check(int(na) == cl["exp"], "notAfter == WIT exp")
check(int(nb) == cl["iat"], "notBefore == WIT iat")
agent_pub = serialization.load_pem_public_key(
    jwk.JWK(**v["agent_jwk"]).export_to_pem())
spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
check(c.public_key().public_bytes(*spki) == agent_pub.public_bytes(*spki),
      "SPKI is the agent key")
ou = c.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
want_ou = ([v["owner_group"]] if exp_.get("subject_ou") and
           v.get("owner_group") else [])
check([a.value for a in ou] == want_ou,
      "Subject OU is %s" % (want_ou or "absent (wic.subject_ou off or no group)"))
check(len(E) == 7, "exactly 7 extensions, got %d" % len(E))


# ---- the owner binding: one non-critical extension ----
def tlv(b, i):
    """(tag, content, next index) of the DER element at b[i]."""
    tag = b[i]
    n = b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        check(1 <= k <= 3 and b[i] != 0, "DER definite minimal length")
        n = int.from_bytes(b[i:i + k], "big")
        check(n >= 0x80, "DER minimal length form")
        i += k
    check(i + n <= len(b), "DER length within the value")
    return tag, b[i:i + n], i + n


def elems(b):
    i, out = 0, []
    while i < len(b):
        t, val, i = tlv(b, i)
        out.append((t, val))
    return out


def oid(b):
    first = b[0]
    arcs, n = [first // 40 if first < 80 else 2,
               first % 40 if first < 80 else first - 80], 0
    for x in b[1:]:
        n = (n << 7) | (x & 0x7F)
        if not x & 0x80:
            arcs.append(n)
            n = 0
    return ".".join(map(str, arcs))


ob = [e for e in E if e.oid.dotted_string == exp_["oid"]]
check(len(ob) == 1 and not ob[0].critical,
      "one non-critical owner-binding extension %s" % exp_["oid"])
raw = ob[0].value.value
t, body, end = tlv(raw, 0)
check(t == 0x30 and end == len(raw), "binding is one SEQUENCE")
attrs = {}
for t, a in elems(body):
    check(t == 0x30, "Attribute is a SEQUENCE")
    (t1, o1), (t2, vals) = elems(a)
    check(t1 == 0x06 and t2 == 0x31, "Attribute { OID, SET }")
    check(oid(o1) not in attrs, "attribute types are unique")
    attrs[oid(o1)] = elems(vals)
check(list(attrs) == ["2.5.4.32", "2.5.4.45", "2.5.4.13",
                      "1.2.840.113549.1.9.5", "1.2.840.113549.1.9.4"],
      "attribute types in order: %r" % list(attrs))
# owner: Name { RDN { uid = owner id } }
(tn, name), = attrs["2.5.4.32"]
(ts, rdn), = elems(name)
(tav_t, tav), = elems(rdn)
(to, uo), (tv, uv) = elems(tav)
check(tn == 0x30 and ts == 0x31 and oid(uo) == "0.9.2342.19200300.100.1.1"
      and tv == 0x0C and uv.decode() == v["owner"], "owner uid is the owner id")
# x500UniqueIdentifier: the owner key thumbprint or gateway leaf hash
(tb, bits), = attrs["2.5.4.45"]
want = b64u(v["owner_jkt"] if v["gateway"] is None else v["gateway_x5t"])
check(tb == 0x03 and bits == b"\x00" + want, "key id is the thumbprint/hash")
# description: name=value
desc = {x.decode().split("=", 1)[0]: x.decode().split("=", 1)[1]
        for tt, x in attrs["2.5.4.13"] if tt == 0x0C}
wantd = {"type": v["owner_type"], "kind": v["owner_kind"],
         "model": v["model"], "assurance": v["assurance"]}
if v["gateway"] is not None:
    wantd["gateway"] = v["gateway"]
check(desc == wantd, "description pairs %r" % desc)
enc = [tt.to_bytes(1, "big") + len(x).to_bytes(1, "big") + x
       for tt, x in attrs["2.5.4.13"]]
check(enc == sorted(enc), "SET OF values in DER order")
(tt, tv), = attrs["1.2.840.113549.1.9.5"]
fmt = "%y%m%d%H%M%SZ" if tt == 0x17 else "%Y%m%d%H%M%SZ"
check(tt in (0x17, 0x18) and int(datetime.datetime.strptime(
    tv.decode(), fmt).replace(tzinfo=datetime.timezone.utc).timestamp()) ==
    v["approved_at"], "signingTime is the approval time")
(tt, md), = attrs["1.2.840.113549.1.9.4"]
check(tt == 0x04 and md == b64u(v["envelope_sha256"]),
      "messageDigest is the envelope SHA-256")

if fails:
    print("%d check(s) failed" % len(fails))
    sys.exit(1)
print("credential: all independent checks passed")
