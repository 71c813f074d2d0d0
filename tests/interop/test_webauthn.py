#!/usr/bin/python3
"""A stock WebAuthn server verification (Debian's python3-fido2,
Fido2Server.authenticate_complete) accepts ownerbind FIDO2 entries, given
only the credential's public key and the challenge recomputed from the
entry's JWS signing input (docs/envelope.md, "FIDO2 entries").
Usage: test_webauthn.py ENVELOPE_JSON_OR_VECTOR... (vectors: *.json with
"expected"; envelopes: {"envelope": ..., "public_key_pem": ..., "rp_id": ...})
"""
import base64, hashlib, json, sys
from cryptography.hazmat.primitives import serialization
from fido2.cose import CoseKey
from fido2.ctap2 import AttestedCredentialData, AuthenticatorData
from fido2.server import Fido2Server
from fido2.utils import websafe_encode
from fido2.webauthn import PublicKeyCredentialRpEntity, UserVerificationRequirement
try:                                    # python3-fido2 >= 1.0
    from fido2.webauthn import CollectedClientData
except ImportError:                     # Debian 12: 0.9
    from fido2.client import ClientData as CollectedClientData

def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def check_entry(env, pub, rp_id, uv_required):
    """Return the number of FIDO2 entries the stock verifier accepted."""
    n = 0
    for sig in env["signatures"]:
        h = json.loads(b64d(sig["protected"]))
        if not h["alg"].startswith("webauthn-"):
            continue
        signing_input = (sig["protected"] + "." + env["payload"]).encode()
        challenge = hashlib.sha256(signing_input).digest()
        cred_id = b"ownerbind-test-credential"
        cred = AttestedCredentialData.create(b"\0" * 16, cred_id,
                                             CoseKey.for_alg(-7 if h["alg"] == "webauthn-es256" else -8)
                                             .from_cryptography_key(pub))
        server = Fido2Server(PublicKeyCredentialRpEntity(rp_id, "ownerbind"),
                             verify_origin=lambda o: o == "ownerbind:")
        state = {"challenge": websafe_encode(challenge),
                 "user_verification": UserVerificationRequirement.REQUIRED
                 if uv_required else UserVerificationRequirement.PREFERRED}
        cd = CollectedClientData(b64d(sig["header"]["clientDataJSON"]))
        ad = AuthenticatorData(b64d(sig["header"]["authenticatorData"]))
        signature = b64d(sig["signature"])
        server.authenticate_complete(state, [cred], cred_id, cd, ad, signature)
        # and a tampered signature must fail in the same verifier
        bad = bytearray(signature)
        bad[-1] ^= 1
        try:
            server.authenticate_complete(state, [cred], cred_id, cd, ad, bytes(bad))
            raise AssertionError("tampered signature accepted")
        except ValueError:
            pass
        n += 1
    return n

total = 0
for path in sys.argv[1:]:
    v = json.load(open(path))
    if "expected" in v:
        env = json.loads(v["expected"]["envelope"])
        pem = v["keys"]["owner"].encode()
        pub = serialization.load_pem_private_key(pem, None).public_key()
        rp_id = v.get("fido2", {}).get("rp_id", "ownerbind:")
        uv = v.get("fido2", {}).get("uv") == "required"
    else:
        env = json.loads(v["envelope"])
        pub = serialization.load_pem_public_key(v["public_key_pem"].encode())
        rp_id, uv = v["rp_id"], v.get("uv_required", False)
    k = check_entry(env, pub, rp_id, uv)
    print(f"ok   {path}: {k} FIDO2 entr{'y' if k == 1 else 'ies'} accepted by python3-fido2 Fido2Server")
    total += k
if total == 0:
    print("FAIL no FIDO2 entry was checked")
    sys.exit(1)
print(f"interop webauthn: {total} passed, 0 failed")
