#!/usr/bin/python3
"""Conformance with a JOSE library nobody here wrote (Debian's jwcrypto).

1. Envelopes made by `ownerbind request | sign --key file: | pop` for every
   ordinary algorithm: jwcrypto verifies every entry, unchanged, and the
   General serialization as a whole.
2. A General-serialization JWS made by jwcrypto (its own thumbprints, its
   own base64url and JSON) is accepted by `ownerbind-verify`.
3. The test vectors' ordinary entries verify with jwcrypto too.
Usage: test_jose.py OWNERBIND OWNERBIND_VERIFY VECTORS_DIR
"""
import base64, json, os, subprocess, sys, tempfile, time
from jwcrypto import jwk, jws

OB, OBV, VEC = (os.path.abspath(a) for a in sys.argv[1:4])
AUD = "https://id.example"
SUB = "wimse://td.example/agents/interop"
OWNER = "carol@example.com"
failures = 0

def run(*args, stdin=None):
    p = subprocess.run(args, input=stdin, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{args[:2]} exit {p.returncode}: {p.stderr}")
    return p.stdout

def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures += 1

def verify_entries(env_text, keys_by_role):
    env = json.loads(env_text)
    n = 0
    for sig in env["signatures"]:
        h = json.loads(b64d(sig["protected"]))
        one = {"payload": env["payload"], "signatures": [sig]}
        t = jws.JWS()
        t.deserialize(json.dumps(one))
        t.verify(keys_by_role[h["ob_role"]], alg=h["alg"])
        n += 1
    # and the whole General serialization, once per key
    for k in keys_by_role.values():
        t = jws.JWS()
        t.deserialize(env_text)
        t.verify(k)
    return n

with tempfile.TemporaryDirectory() as d:
    os.chdir(d)
    # 1. ours -> jwcrypto
    for alg in ("ES256", "ES384", "EdDSA", "PS256"):
        okey = f"owner-{alg}.pem"
        run(OB, "keygen", "--key", f"file:{okey}", "--alg", alg)
        run(OB, "enroll", "--key", f"file:{okey}", "--owner", f"{OWNER}-{alg}",
            "--may-bind", "wimse://td.example/agents/*", "--trust", "trust.json")
        req = run(OB, "request", "--sub", SUB, "--aud", AUD, "--owner",
                  f"{OWNER}-{alg}", "--agent-key", f"agent-{alg}.pem",
                  "--new-agent-key")
        signed = run(OB, "sign", "--quiet", "--key", f"file:{okey}", "-", stdin=req)
        env = run(OB, "pop", "--agent-key", f"agent-{alg}.pem", "-", stdin=signed)
        keys = {"owner": jwk.JWK.from_pem(open(okey, "rb").read()),
                "agent": jwk.JWK.from_pem(open(f"agent-{alg}.pem", "rb").read())}
        try:
            n = verify_entries(env, keys)
            check(n == 2, f"jwcrypto verifies both entries of a {alg}-owner envelope")
        except Exception as e:
            check(False, f"jwcrypto verifies {alg}: {e!r}")
        # jwcrypto's thumbprint is our kid
        payload = json.loads(b64d(json.loads(env)["payload"]))
        h0 = json.loads(b64d(json.loads(env)["signatures"][0]["protected"]))
        check(h0["kid"] == keys["owner"].thumbprint(),
              f"{alg}: owner kid equals jwcrypto's RFC 7638 thumbprint")
        check(jwk.JWK(**payload["cnf"]["jwk"]).thumbprint() ==
              keys["agent"].thumbprint(), f"{alg}: cnf.jwk is the agent key")
        out = subprocess.run([OBV, "--no-replay-state", "--trust", "trust.json", "--aud", AUD, "-"],
                             input=env, capture_output=True, text=True)
        check(out.returncode == 0, f"{alg}: ownerbind-verify accepts it")

    # 2. jwcrypto -> ours
    owner = jwk.JWK.generate(kty="EC", crv="P-256")
    agent = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    open("jw-owner.pem", "wb").write(owner.export_to_pem(private_key=True, password=None))
    run(OB, "enroll", "--key", "file:jw-owner.pem", "--owner", "dave@example.com",
        "--may-bind", "wimse://td.example/agents/*", "--trust", "trust.json")
    now = int(time.time())
    claims = {"sub": SUB, "aud": AUD, "iat": now, "exp": now + 120,
              "jti": base64.urlsafe_b64encode(os.urandom(18)).decode(),
              "owner": "dave@example.com",
              "cnf": {"jwk": json.loads(agent.export_public())}}
    t = jws.JWS(json.dumps(claims).encode())
    for key, alg, role in ((owner, "ES256", "owner"), (agent, "EdDSA", "agent")):
        t.add_signature(key, alg=alg, protected=json.dumps({
            "alg": alg, "typ": "ownerbind+jws", "kid": key.thumbprint(),
            "ob_role": role, "ob_model": "agent-mediated", "ob_iat": now}))
    made = t.serialize()
    check("signatures" in json.loads(made), "jwcrypto made a General serialization")
    out = subprocess.run([OBV, "--no-replay-state", "--trust", "trust.json", "--aud", AUD, "--json", "-"],
                         input=made, capture_output=True, text=True)
    check(out.returncode == 0 and json.loads(out.stdout)["owner"] == "dave@example.com",
          "ownerbind-verify accepts a JWS made by jwcrypto: " + out.stdout.strip() + out.stderr.strip())
    # a jwcrypto JWS with alg none-like tampering is refused: change the agent's sig
    bad = json.loads(made)
    s = bytearray(b64d(bad["signatures"][1]["signature"]))
    s[0] ^= 1
    bad["signatures"][1]["signature"] = base64.urlsafe_b64encode(bytes(s)).decode().rstrip("=")
    out = subprocess.run([OBV, "--no-replay-state", "--trust", "trust.json", "--aud", AUD, "--json", "-"],
                         input=json.dumps(bad), capture_output=True, text=True)
    check(out.returncode == 1 and json.loads(out.stdout)["error"] == "OB_ERR_SIG_INVALID",
          "a flipped bit in a jwcrypto signature is OB_ERR_SIG_INVALID")

# 3. the vectors' ordinary entries
for name in ("agent-mediated-eddsa.json", "server-mediated-es256.json",
             "agent-mediated-fido2.json"):
    v = json.load(open(os.path.join(VEC, name)))
    env = json.loads(v["expected"]["envelope"])
    keys = {"owner": jwk.JWK.from_pem(v["keys"]["owner"].encode()),
            "agent": jwk.JWK.from_pem(v["keys"]["agent"].encode())}
    for sig in env["signatures"]:
        h = json.loads(b64d(sig["protected"]))
        if h["alg"].startswith("webauthn-"):
            continue          # not a JWS algorithm; see test_webauthn.py
        t = jws.JWS()
        t.deserialize(json.dumps({"payload": env["payload"], "signatures": [sig]}))
        try:
            t.verify(keys[h["ob_role"]], alg=h["alg"])
            check(True, f"vector {name}: {h['ob_role']} entry verifies with jwcrypto")
        except Exception as e:
            check(False, f"vector {name}: {h['ob_role']}: {e!r}")

print(f"interop jose: {failures} failures")
sys.exit(1 if failures else 0)
