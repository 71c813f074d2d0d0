#!/usr/bin/python3
"""Passkey enrolment through the server's page in Debian's chromium over
the DevTools protocol (tests/server/test_enrol.sh): a virtual WebAuthn
authenticator with no credential, the enrolment page opened from an
invite, "Create passkey" pressed; then the same browser approves a held
request on the approval page.  A second invite's registration is made by
the browser and tampered here for the refusals, python3-fido2's
Fido2Server.register_complete accepts it untampered, the server too, and
once only; eight concurrent posts of a third enrol once.

  cdp_enrol.py run DIR ORIGIN INV_ALICE INV_BOB INV_EXPIRED INV_DAVE HANDLE SPKI CA
"""
import base64
import hashlib
import json
import os
import ssl
import sys
import threading
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp_approve import CDP, b64u, unb64u  # noqa: E402

CREATE_JS = """(async () => {
  const r = await fetch('/v1/enrol/%s', {cache: 'no-store'});
  const j = await r.json();
  const u = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')),
    (c) => c.charCodeAt(0));
  const b = (x) => btoa(String.fromCharCode(...new Uint8Array(x)))
    .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const pk = Object.assign({}, j.publicKey, {challenge: u(j.publicKey.challenge),
    user: Object.assign({}, j.publicKey.user, {id: u(j.publicKey.user.id)})});
  const c = await navigator.credentials.create({publicKey: pk});
  return {options: j.publicKey, id: b(c.rawId),
    clientDataJSON: b(c.response.clientDataJSON),
    attestationObject: b(c.response.attestationObject)};
})()"""


def request(origin, ca, method, path, body=None, raw=None):
    ctx = ssl.create_default_context(cafile=ca)
    data = raw if raw is not None else (
        None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(origin + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read())
        except ValueError:
            return e.code, {}


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest() \
        if os.path.exists(path) else None


def fido2_register(origin, reg):
    """A WebAuthn implementation nobody here wrote accepts the
    registration the browser made; returns what it extracted."""
    from fido2.server import Fido2Server
    from fido2.webauthn import PublicKeyCredentialRpEntity
    from fido2.client import ClientData
    from fido2.ctap2 import AttestationObject
    o = reg["options"]
    srv = Fido2Server(PublicKeyCredentialRpEntity(o["rp"]["id"], "ownerbind"),
                      verify_origin=lambda x: x == origin)
    _, state = srv.register_begin(
        {"id": unb64u(o["user"]["id"]), "name": o["user"]["name"]},
        user_verification=o["authenticatorSelection"]["userVerification"],
        challenge=unb64u(o["challenge"]))
    ad = srv.register_complete(state, ClientData(unb64u(reg["clientDataJSON"])),
                               AttestationObject(unb64u(reg["attestationObject"])))
    return ad.credential_data


def run(d, origin, inv_a, inv_b, inv_x, inv_d, handle, spki, ca):
    from fido2 import cbor
    fails = 0

    def check(cond, what):
        nonlocal fails
        print(("ok: " if cond else "FAIL: ") + what)
        sys.stdout.flush()
        fails += 0 if cond else 1

    enrolled = os.path.join(d, "enrol", "enrolled.json")
    c = CDP(d, spki)
    try:
        c.page("Page.enable")
        c.page("WebAuthn.enable", enableUI=False)
        auth = c.page("WebAuthn.addVirtualAuthenticator", options={
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True,
            "automaticPresenceSimulation": True})["authenticatorId"]
        c.page("Emulation.setDeviceMetricsOverride", width=390, height=844,
               deviceScaleFactor=1, mobile=True)

        # 1. Alice enrols through the page.
        check(digest(enrolled) is None, "no enrolled key before the page")
        c.page("Page.navigate", url=origin + "/enrol/" + inv_a)
        c.wait("!document.getElementById('enrol') ? false : "
               "!document.getElementById('enrol').disabled", "the enrolment page")
        check(c.js("document.getElementById('owner').textContent") ==
              "alice@example.org", "the page names the invite's owner")
        wide = c.js("[document.documentElement.scrollWidth, "
                    "document.getElementById('enrol').getBoundingClientRect().width]")
        check(wide[0] <= 390 and wide[1] >= 300,
              "usable at phone width: no horizontal scroll, a %dpx button" % wide[1])
        csp = c.js("""(async () => (await fetch(location.href)).headers
            .get('content-security-policy'))()""")
        check(csp is not None and "script-src 'self'" in csp and
              "default-src 'none'" in csp and "frame-ancestors 'none'" in csp,
              "strict Content-Security-Policy on the enrolment page")
        c.js("document.getElementById('enrol').click()")
        c.wait("/^(Enrolled|Refused|Not enrolled)/.test("
               "document.getElementById('status').textContent)", "the outcome")
        st = c.js("document.getElementById('status').textContent")
        check(st.startswith("Enrolled"), "Create passkey on the page: %s" % st)
        creds = c.page("WebAuthn.getCredentials", authenticatorId=auth)["credentials"]
        check(len(creds) == 1, "the authenticator made one credential")
        try:
            t = json.load(open(enrolled))
            k = t["owners"][0]["keys"][0]
            f = k["fido2"]
            check(t["owners"][0]["id"] == "alice@example.org" and
                  k["kind"] == "fido2" and k["alg"] == "webauthn-es256" and
                  f["rp_id"] == "localhost" and f["origins"] == [origin] and
                  f["backup_eligible"] is False and f["uv"] == "required" and
                  unb64u(f["credential_id"]) ==
                  base64.b64decode(creds[0]["credentialId"]) and
                  t["owners"][0]["may_bind"] == ["wimse://example.org/agents/*"],
                  "enrolled.json: alice's fido2 key with origins, rp_id, "
                  "backup_eligible, the browser's credential id")
        except (OSError, ValueError, KeyError, IndexError) as e:
            check(False, "enrolled.json: %r" % e)
        s, j = request(origin, ca, "GET", "/v1/enrol/" + inv_a)
        check(s == 410 and j.get("code") == "OB_ERR_ENROL_USED",
              "the used invite's options: %d %s" % (s, j.get("code")))
        c.page("Page.navigate", url=origin + "/enrol/" + inv_a)
        c.wait("document.getElementById('status') && "
               "document.getElementById('status').textContent !== ''",
               "the used invite's page")
        check(c.js("document.getElementById('enrol').disabled") is True,
              "the used invite's page offers no button: %s" %
              c.js("document.getElementById('status').textContent"))

        # 2. The same browser approves alice's held request.
        c.page("Page.navigate", url=origin + "/approve/" + handle)
        c.wait("!document.getElementById('approve') ? false : "
               "!document.getElementById('approve').disabled", "the approval page")
        c.js("document.getElementById('approve').click()")
        c.wait("/^(Approved|Refused|No approval)/.test("
               "document.getElementById('status').textContent)", "the approval")
        st = c.js("document.getElementById('status').textContent")
        check(st.startswith("Approved"),
              "approve with the passkey enrolled on the page: %s" % st)

        # 3. Bob's invite: a registration made by the browser, tampered.
        c.page("Page.navigate", url=origin + "/enrol/" + inv_b)
        c.wait("document.readyState === 'complete'", "bob's page")
        reg = c.js(CREATE_JS % inv_b)
        body = {k: reg[k] for k in ("clientDataJSON", "attestationObject")}
        cd = json.loads(unb64u(reg["clientDataJSON"]))
        ao = cbor.decode(unb64u(reg["attestationObject"]))
        check(ao["fmt"] == "none" and cd["type"] == "webauthn.create",
              "the browser's registration: fmt none, webauthn.create")

        def with_cd(**kw):
            return dict(body, clientDataJSON=b64u(json.dumps(
                dict(cd, **kw), separators=(",", ":")).encode()))

        def with_ao(fmt=None, ad=None):
            x = dict(ao)
            if fmt is not None:
                x["fmt"] = fmt
            if ad is not None:
                x["authData"] = bytes(ad)
            return dict(body, attestationObject=b64u(cbor.encode(x)))

        ad = bytearray(ao["authData"])
        no_up, no_uv, rpid = bytearray(ad), bytearray(ad), bytearray(ad)
        no_up[32] &= 0xfe
        no_uv[32] &= 0xfb
        rpid[0:32] = hashlib.sha256(b"evil.example").digest()
        # The COSE key's alg -7 (0x03 0x26) made -8 (EdDSA, 0x27).
        cose = bytearray(ad)
        i = cose.find(b"\x03\x26", 55)
        cose[i + 1] = 0x27
        cases = [
            ("a wrong origin", with_cd(origin="https://evil.example"), 403,
             "OB_ERR_ENROL_ORIGIN"),
            ("a cross-origin frame", with_cd(crossOrigin=True), 403,
             "OB_ERR_ENROL_ORIGIN"),
            ("a wrong challenge", with_cd(challenge=b64u(os.urandom(32))), 403,
             "OB_ERR_ENROL_CHALLENGE"),
            ("type webauthn.get", with_cd(type="webauthn.get"), 403,
             "OB_ERR_ENROL_TYPE"),
            ("a wrong rp id", with_ao(ad=rpid), 403, "OB_ERR_ENROL_RPID"),
            ("UP missing", with_ao(ad=no_up), 403, "OB_ERR_ENROL_FLAGS"),
            ("UV missing", with_ao(ad=no_uv), 403, "OB_ERR_ENROL_FLAGS"),
            ("fmt packed without a verified statement", with_ao(fmt="packed"),
             403, "OB_ERR_ENROL_ATTESTATION"),
            ("a COSE key that is not ES256", with_ao(ad=cose), 403,
             "OB_ERR_ENROL_KEY"),
            ("malformed CBOR", dict(body, attestationObject=b64u(
                b"\xa3\x63fmt\x64none\xff")), 400, "OB_ERR_ENROL_REQUEST"),
            ("bytes after the CBOR", dict(body, attestationObject=b64u(
                unb64u(reg["attestationObject"]) + b"\0")), 400,
             "OB_ERR_ENROL_REQUEST"),
            ("clientDataJSON that is not JSON", dict(
                body, clientDataJSON=b64u(b'{"type":')), 400,
             "OB_ERR_ENROL_REQUEST"),
            ("an extra member", dict(body, id=reg["id"]), 400,
             "OB_ERR_ENROL_REQUEST"),
            ("a body that is not JSON", None, 400, "OB_ERR_ENROL_REQUEST"),
        ]
        before = digest(enrolled)
        for what, b, want, code in cases:
            if b is None:
                s, j = request(origin, ca, "POST", "/v1/enrol/" + inv_b,
                               raw=b"not json")
            else:
                s, j = request(origin, ca, "POST", "/v1/enrol/" + inv_b, b)
            check(s == want and j.get("code") == code and
                  digest(enrolled) == before,
                  "%s: %d %s, trust store unchanged" % (what, s, j.get("code")))
        s, j = request(origin, ca, "POST", "/v1/enrol/" + inv_b,
                       raw=json.dumps(dict(body, pad="x" * 70000)).encode())
        check(s == 413 and digest(enrolled) == before,
              "an oversized body: %d %s" % (s, j.get("code")))
        for what, inv, want, code in (
                ("an unknown invite", b64u(os.urandom(32)), 404,
                 "OB_ERR_ENROL_UNKNOWN"),
                ("a path that is no invite", "abc", 404, "OB_ERR_ENROL_UNKNOWN"),
                ("an expired invite", inv_x, 410, "OB_ERR_ENROL_EXPIRED")):
            s, j = request(origin, ca, "GET", "/v1/enrol/" + inv)
            s2, j2 = request(origin, ca, "POST", "/v1/enrol/" + inv, body)
            check(s == want and j.get("code") == code and s2 == want and
                  j2.get("code") == code and digest(enrolled) == before,
                  "%s: GET %d %s, POST %d %s" % (what, s, j.get("code"), s2,
                                                 j2.get("code")))

        # 4. Fido2Server accepts the untampered registration; then the
        # server, once.
        try:
            cred = fido2_register(origin, reg)
            check(cred.credential_id == unb64u(reg["id"]),
                  "python3-fido2 Fido2Server.register_complete accepts the "
                  "browser's registration")
        except Exception as e:
            cred = None
            check(False, "python3-fido2: %r" % e)
        s, j = request(origin, ca, "POST", "/v1/enrol/" + inv_b, body)
        check(s == 201 and j.get("status") == "enrolled" and
              j.get("owner") == "bob@example.org" and digest(enrolled) != before,
              "the untampered registration: %d %s" % (s, j))
        try:
            t = json.load(open(enrolled))
            bob = [o for o in t["owners"] if o["id"] == "bob@example.org"][0]
            k = bob["keys"][0]
            x = unb64u(k["jwk"]["x"]) + unb64u(k["jwk"]["y"])
            check(cred is not None and k["kid"] == j.get("kid") and
                  x == cred.public_key[-2] + cred.public_key[-3],
                  "the key the server stored is the one Fido2Server extracted")
        except (OSError, ValueError, KeyError, IndexError) as e:
            check(False, "bob's key: %r" % e)
        after = digest(enrolled)
        s, j = request(origin, ca, "POST", "/v1/enrol/" + inv_b, body)
        check(s == 410 and j.get("code") == "OB_ERR_ENROL_USED" and
              digest(enrolled) == after,
              "the invite reused: %d %s, trust store unchanged" % (s, j.get("code")))

        # 5. Eight posts of one registration at once: one enrols.
        c.page("Page.navigate", url=origin + "/enrol/" + inv_d)
        c.wait("document.readyState === 'complete'", "dave's page")
        reg = c.js(CREATE_JS % inv_d)
        body = {k: reg[k] for k in ("clientDataJSON", "attestationObject")}
        got, lock = [], threading.Lock()

        def race():
            r = request(origin, ca, "POST", "/v1/enrol/" + inv_d, body)
            with lock:
                got.append((r[0], r[1].get("code")))
        ts = [threading.Thread(target=race) for _ in range(8)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        t = json.load(open(enrolled))
        dave = [o for o in t["owners"] if o["id"] == "dave@example.org"]
        check(sorted(got) == [(201, None)] + [(410, "OB_ERR_ENROL_USED")] * 7 and
              len(dave) == 1 and len(dave[0]["keys"]) == 1,
              "8 concurrent posts of one invite: one enrolled, 7 used (%s)" %
              sorted(got))
    finally:
        c.close()
    return fails


if __name__ == "__main__":
    sys.exit(1 if run(*sys.argv[2:11]) else 0)
