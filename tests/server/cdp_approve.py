#!/usr/bin/python3
"""Drive Debian's chromium over the DevTools protocol for the approval
page (tests/server/test_approval.sh): a virtual WebAuthn authenticator
holding the owner's passkey, the page at the server's origin, the
Approve button, assertions made by the browser for the refusal cases
(tampered here, then posted), python3-fido2's Fido2Server on the
browser-made assertion, and a phone-width screenshot.

  cdp_approve.py keygen DIR            passkey.pem, passkey.json (jwk, id)
  cdp_approve.py run DIR ORIGIN H1 H2 SPKI CA [SCREENSHOT]
"""
import base64
import hashlib
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request

import websocket
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def keygen(d):
    k = ec.generate_private_key(ec.SECP256R1())
    open(os.path.join(d, "passkey.pem"), "wb").write(k.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    n = k.public_key().public_numbers()
    jwk = {"crv": "P-256", "kty": "EC",
           "x": b64u(n.x.to_bytes(32, "big")), "y": b64u(n.y.to_bytes(32, "big"))}
    canon = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    json.dump({"jwk": jwk, "kid": b64u(hashlib.sha256(canon).digest()),
               "credential_id": b64u(os.urandom(16))},
              open(os.path.join(d, "passkey.json"), "w"))


class CDP:
    def __init__(self, d, spki):
        self.dir = os.path.join(d, "chrome")
        os.makedirs(self.dir, exist_ok=True)
        self.proc = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--user-data-dir=" + self.dir,
             "--remote-debugging-port=0",
             "--ignore-certificate-errors-spki-list=" + spki, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "chrome.log"), "w"))
        port_file = os.path.join(self.dir, "DevToolsActivePort")
        for _ in range(400):
            if os.path.exists(port_file) and len(open(port_file).read().split()) == 2:
                break
            time.sleep(0.05)
        port, path = open(port_file).read().split()
        self.ws = websocket.create_connection("ws://127.0.0.1:%s%s" % (port, path),
                                              timeout=60)
        self.id = 0
        tid = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.sid = self.call("Target.attachToTarget", targetId=tid,
                             flatten=True)["sessionId"]

    def call(self, method, session=None, **params):
        self.id += 1
        msg = {"id": self.id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == self.id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m["result"]

    def page(self, method, **params):
        return self.call(method, session=self.sid, **params)

    def js(self, expr):
        r = self.page("Runtime.evaluate", expression=expr, awaitPromise=True,
                      returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError("js: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def wait(self, expr, what):
        for _ in range(600):
            if self.js(expr):
                return
            time.sleep(0.05)
        raise RuntimeError("timed out waiting for " + what)

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


ASSERT_JS = """(async () => {
  const r = await fetch('/v1/approve/%s', {cache: 'no-store'});
  const j = await r.json();
  const u = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')),
    (c) => c.charCodeAt(0));
  const b = (x) => btoa(String.fromCharCode(...new Uint8Array(x)))
    .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const a = await navigator.credentials.get({publicKey: {
    challenge: u(j.publicKey.challenge), rpId: j.publicKey.rpId,
    userVerification: j.publicKey.userVerification}});
  return {challenge: j.publicKey.challenge,
    authenticatorData: b(a.response.authenticatorData),
    clientDataJSON: b(a.response.clientDataJSON),
    signature: b(a.response.signature), id: b(a.rawId)};
})()"""


def post(origin, ca, handle, body):
    ctx = ssl.create_default_context(cafile=ca)
    data = b"not json" if body is None else json.dumps(body).encode()
    req = urllib.request.Request(origin + "/v1/approve/" + handle,
                                 data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def fido2_check(d, origin, a):
    """A WebAuthn implementation nobody here wrote accepts the assertion."""
    from fido2.server import Fido2Server
    from fido2.webauthn import PublicKeyCredentialRpEntity
    from fido2.ctap2 import AttestedCredentialData, AuthenticatorData
    from fido2.client import ClientData
    from fido2.cose import ES256
    pk = json.load(open(os.path.join(d, "passkey.json")))
    key = serialization.load_der_private_key(
        open(os.path.join(d, "passkey.pem"), "rb").read(), None)
    cred = AttestedCredentialData.create(b"\0" * 16, unb64u(pk["credential_id"]),
                                         ES256.from_cryptography_key(key.public_key()))
    srv = Fido2Server(PublicKeyCredentialRpEntity("localhost", "ownerbind"),
                      verify_origin=lambda o: o == origin)
    _, state = srv.authenticate_begin([cred], user_verification="required",
                                      challenge=unb64u(a["challenge"]))
    srv.authenticate_complete(state, [cred], unb64u(a["id"]),
                              ClientData(unb64u(a["clientDataJSON"])),
                              AuthenticatorData(unb64u(a["authenticatorData"])),
                              unb64u(a["signature"]))


def run(d, origin, h1, h2, spki, ca, shot):
    fails = 0

    def check(cond, what):
        nonlocal fails
        print(("ok: " if cond else "FAIL: ") + what)
        fails += 0 if cond else 1

    pk = json.load(open(os.path.join(d, "passkey.json")))
    c = CDP(d, spki)
    try:
        c.page("Page.enable")
        c.page("WebAuthn.enable", enableUI=False)
        auth = c.page("WebAuthn.addVirtualAuthenticator", options={
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True,
            "automaticPresenceSimulation": True})["authenticatorId"]
        c.page("WebAuthn.addCredential", authenticatorId=auth, credential={
            "credentialId": base64.b64encode(unb64u(pk["credential_id"])).decode(),
            "isResidentCredential": True, "rpId": "localhost",
            "privateKey": base64.b64encode(
                open(os.path.join(d, "passkey.pem"), "rb").read()).decode(),
            "userHandle": base64.b64encode(b"alice").decode(), "signCount": 0})
        c.page("Emulation.setDeviceMetricsOverride", width=390, height=844,
               deviceScaleFactor=1, mobile=True)
        c.page("Page.navigate", url=origin + "/approve/" + h1)
        c.wait("!document.getElementById('approve') ? false : "
               "!document.getElementById('approve').disabled", "the page")
        code = c.js("document.getElementById('code').textContent")
        check(code == open(os.path.join(d, "r1.code")).read().strip(),
              "page shows the binding code the agent side got (%s)" % code)
        wide = c.js("[document.documentElement.scrollWidth, "
                    "document.getElementById('approve').getBoundingClientRect().width]")
        check(wide[0] <= 390 and wide[1] >= 300,
              "usable at phone width: no horizontal scroll, a %dpx button" % wide[1])
        if shot:
            png = c.page("Page.captureScreenshot", format="png")["data"]
            open(shot, "wb").write(base64.b64decode(png))
        c.js("document.getElementById('approve').click()")
        c.wait("/^(Approved|Refused|No approval)/.test("
               "document.getElementById('status').textContent)", "the outcome")
        st = c.js("document.getElementById('status').textContent")
        check(st.startswith("Approved"), "Approve with the passkey: %s" % st)
        csp = c.js("""(async () => (await fetch(location.href)).headers
            .get('content-security-policy'))()""")
        check(csp is not None and "script-src 'self'" in csp and
              "default-src 'none'" in csp and "frame-ancestors 'none'" in csp,
              "strict Content-Security-Policy on the page")

        # Browser-made assertions over request 2's challenge, tampered here.
        c.page("Page.navigate", url=origin + "/approve/" + h2)
        c.wait("document.readyState === 'complete'", "page 2")
        a = c.js(ASSERT_JS % h2)
        ad = bytearray(unb64u(a["authenticatorData"]))
        cases = []
        sig = bytearray(unb64u(a["signature"]))
        sig[-1] ^= 1
        cases.append(("a bogus signature", dict(a, signature=b64u(bytes(sig)))))
        for bit, name in ((0x01, "UP"), (0x04, "UV")):
            t = bytearray(ad)
            t[32] &= ~bit & 0xff
            cases.append(("%s missing" % name,
                          dict(a, authenticatorData=b64u(bytes(t)))))
        cd = json.loads(unb64u(a["clientDataJSON"]))
        cd["origin"] = "https://evil.example"
        cases.append(("a wrong origin", dict(a, clientDataJSON=b64u(
            json.dumps(cd, separators=(",", ":")).encode()))))
        t = bytearray(ad)
        t[0:32] = hashlib.sha256(b"evil.example").digest()
        cases.append(("a wrong rp id", dict(a, authenticatorData=b64u(bytes(t)))))
        for what, body in cases:
            body = {k: body[k] for k in ("authenticatorData", "clientDataJSON",
                                         "signature")}
            s, j = post(origin, ca, h2, body)
            check(s == 403 and j.get("code") == "OB_ERR_REJECTED",
                  "%s: %d %s" % (what, s, j.get("code")))
            print("case: " + what)
            sys.stdout.flush()
        for what, body, want in (
                ("not JSON", None, 400), ("an extra member", dict(
                    {k: a[k] for k in ("authenticatorData", "clientDataJSON",
                                       "signature")}, x=1), 400),
                ("a signature that is not base64url", dict(
                    {k: a[k] for k in ("authenticatorData", "clientDataJSON")},
                    signature="*"), 400)):
            s, j = post(origin, ca, h2, body)
            check(s == want and j.get("code") == "OB_ERR_CHAL_ANSWER",
                  "page answer with %s: %d %s" % (what, s, j.get("code")))
        ctx = ssl.create_default_context(cafile=ca)
        try:
            urllib.request.urlopen(origin + "/v1/approve/nosuchhandle",
                                   context=ctx, timeout=30)
            check(False, "unknown handle answered")
        except urllib.error.HTTPError as e:
            check(e.code == 404, "page info for an unknown handle: %d" % e.code)
        try:
            fido2_check(d, origin, a)
            check(True, "python3-fido2 Fido2Server accepts the browser-made assertion")
        except Exception as e:
            check(False, "python3-fido2: %r" % e)
        s, j = post(origin, ca, h2, {k: a[k] for k in (
            "authenticatorData", "clientDataJSON", "signature")})
        check(s == 200 and j.get("status") == "approved",
              "the untampered browser assertion: %d %s" % (s, j))
    finally:
        c.close()
    return fails


if __name__ == "__main__":
    if sys.argv[1] == "keygen":
        keygen(sys.argv[2])
        sys.exit(0)
    sys.exit(1 if run(*sys.argv[2:8], sys.argv[8] if len(sys.argv) > 8 else None)
             else 0)
