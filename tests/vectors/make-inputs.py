#!/usr/bin/python3
"""Write the inputs of the positive vectors (keys, claims, headers, trust).
`test_vectors --write FILE...` then fills in "expected" (docs/envelope.md,
"Test vectors").  Keys are fixed and public: RFC 8032/8037 and RFC 7515
example keys, and two P-256 keys derived from fixed strings."""
import base64, hashlib, json
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives import serialization as s

def pem(k):
    return k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8,
                           s.NoEncryption()).decode()
def ed(hexd):
    return ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(hexd))
def p256(d):
    return ec.derive_private_key(d, ec.SECP256R1())
def b64d(x):
    return int.from_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)), "big")

K = {
  # RFC 8037 A.1 (= RFC 8032 7.1 test 1)
  "rfc8037-ed25519": pem(ed("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")),
  # RFC 8032 7.1 test 2
  "rfc8032-test2-ed25519": pem(ed("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")),
  # RFC 7515 A.3
  "rfc7515-a3-p256": pem(p256(b64d("jpsQnnGQmL-YBIffH1136cLSWvbQ0Rj0PC2Di1NNpBE"))),
  "agent-p256": pem(p256(int.from_bytes(hashlib.sha256(b"ownerbind test agent").digest(), "big"))),
  "fido2-p256": pem(p256(int.from_bytes(hashlib.sha256(b"ownerbind test fido2 credential").digest(), "big"))),
}
NOW = 1800000000
def claims(jti, extra=None):
    c = {"sub": "wimse://td.example/agents/a1", "aud": "https://id.example",
         "iat": NOW, "exp": NOW + 300, "jti": jti, "owner": "alice@example.com"}
    c.update(extra or {})
    return c
def ph(alg, role, model, nonce=None):
    h = {"alg": alg, "typ": "ownerbind+jws", "kid": None, "ob_role": role,
         "ob_model": model, "ob_iat": NOW}
    if nonce:
        h["ob_nonce"] = nonce
    return h
V = [
 {"name": "agent-mediated-eddsa",
  "description": "Owner and agent both Ed25519 (deterministic): the whole envelope is compared byte for byte.",
  "owner_key": "rfc8037-ed25519", "owner_kind": "software", "agent_key": "rfc8032-test2-ed25519",
  "claims": claims("AAECAwQFBgcICQoLDA0ODw", {"dns_name": "agent-a1.td.example", "logical_id": "ans://acme/assistant"}),
  "entries": [{"signer": "owner", "protected": ph("EdDSA", "owner", "agent-mediated")},
              {"signer": "agent", "protected": ph("EdDSA", "agent", "agent-mediated")}],
  "verify": {"aud": "https://id.example"}},
 {"name": "server-mediated-es256",
  "description": "ES256 owner (RFC 7515 A.3 key) and agent; server nonce. ECDSA is randomized: the signatures are fixed here and verified, everything else is compared byte for byte.",
  "owner_key": "rfc7515-a3-p256", "owner_kind": "software", "agent_key": "agent-p256",
  "claims": claims("EBESExQVFhcYGRobHB0eHw"),
  "nonce": "bm9uY2UtZm9yLXRoZS12ZWN0b3ItMDE",
  "entries": [{"signer": "owner", "protected": ph("ES256", "owner", "server-mediated", "bm9uY2UtZm9yLXRoZS12ZWN0b3ItMDE")},
              {"signer": "agent", "protected": ph("ES256", "agent", "server-mediated", "bm9uY2UtZm9yLXRoZS12ZWN0b3ItMDE")}],
  "verify": {"aud": "https://id.example"}},
 {"name": "agent-mediated-fido2",
  "description": "A FIDO2 owner entry (webauthn-es256): authenticatorData with UP and UV, counter 42; clientDataJSON compared byte for byte.",
  "owner_key": "fido2-p256", "owner_kind": "fido2", "agent_key": "agent-p256",
  "claims": claims("ICEiIyQlJicoKSorLC0uLw"),
  "fido2": {"rp_id": "ownerbind:", "flags": 5, "counter": 42, "uv": "required"},
  "entries": [{"signer": "owner", "protected": ph("webauthn-es256", "owner", "agent-mediated")},
              {"signer": "agent", "protected": ph("ES256", "agent", "agent-mediated")}],
  "verify": {"aud": "https://id.example"}},
]
for v in V:
    v["now"] = NOW
    v["keys"] = {"owner": K[v["owner_key"]], "agent": K[v["agent_key"]]}
    with open(v["name"] + ".json", "w") as f:
        json.dump(v, f, indent=2)
        f.write("\n")
