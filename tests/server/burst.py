#!/usr/bin/python3
"""A burst of real issuance requests while the signer helper is killed.

Usage: burst.py URL METRICS_URL CA CERT KEY ISSUER_PEM KILL_AT ENVELOPE...

Posts every envelope once to URL/v1/credentials over mutual TLS from 8
threads (keep-alive connections, reconnecting after an error).  When
the number of answers reaches each count in KILL_AT (comma-separated),
it reads the helper's pid from METRICS_URL/healthz and sends it SIGKILL.
Then every answer must be either 201 with a credential that verifies
(the WIT with jwcrypto and the server's JWKS, the WIC's signature with
python3-cryptography and the issuer certificate's key, its one URI SAN
the envelope's sub) or 503 whose problem code is
OB_ERR_SIGNER_UNAVAILABLE with a Retry-After of at least 1 second.
Prints the counts as JSON and exits 1 on the first answer that is
neither, or if no kill met a request (no 503 at all).
"""
import base64
import http.client
import json
import os
import signal
import ssl
import sys
import threading
import urllib.parse
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk, jwt

url, murl, ca, cert, key, issuer_pem, kill_at = sys.argv[1:8]
envelopes = sys.argv[8:]
kills = sorted(int(k) for k in kill_at.split(",") if k)
u = urllib.parse.urlparse(url)
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)

lock = threading.Lock()
answers = []
killed = []
nxt = [0]


def healthz():
    with urllib.request.urlopen(murl + "/healthz", timeout=10) as r:
        return json.load(r)


def maybe_kill():
    """Called with lock held, after an answer was counted."""
    if kills and len(answers) >= kills[0]:
        kills.pop(0)
        try:
            h = healthz()
        except urllib.error.HTTPError as e:
            h = json.load(e)
        pid = h["signer"]["pid"]
        if pid > 0:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)


def post(conn, body):
    conn.request("POST", "/v1/credentials", body=body,
                 headers={"Content-Type": "application/jose+json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, r.getheader("Retry-After"), data


def worker():
    conn = None
    while True:
        with lock:
            if nxt[0] >= len(envelopes):
                break
            path = envelopes[nxt[0]]
            nxt[0] += 1
        body = open(path, "rb").read()
        for attempt in range(3):
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection(
                        u.hostname, u.port, context=ctx, timeout=60)
                res = post(conn, body)
                break
            except (OSError, http.client.HTTPException):
                conn = None
        else:
            res = (0, None, b"")
        with lock:
            answers.append((path, res))
            maybe_kill()


threads = [threading.Thread(target=worker) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()

# ---- every answer: a credential that verifies, or fail-closed ----
host = u.hostname
c = http.client.HTTPSConnection(host, u.port, context=ctx, timeout=30)
c.request("GET", "/v1/keys")
keys = jwk.JWKSet.from_json(c.getresponse().read())
issuer = x509.load_pem_x509_certificate(open(issuer_pem, "rb").read())
ipub = issuer.public_key()
n201 = n503 = 0
for path, (status, retry, data) in answers:
    env = json.load(open(path))
    pl = env["payload"]
    sub = json.loads(base64.urlsafe_b64decode(pl + "=" * (-len(pl) % 4)))["sub"]
    if status == 201:
        cred = json.loads(data)
        tok = jwt.JWT(jwt=cred["wit"], key=keys)
        claims = json.loads(tok.claims)
        assert claims["sub"] == sub, (path, claims["sub"])
        leaf = x509.load_pem_x509_certificate(
            cred["wic"].split("-----END CERTIFICATE-----")[0].encode() +
            b"-----END CERTIFICATE-----\n")
        ipub.verify(leaf.signature, leaf.tbs_certificate_bytes,
                    ec.ECDSA(hashes.SHA256()))
        san = leaf.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.UniformResourceIdentifier) == \
            [sub], (path, list(san))
        n201 += 1
    elif status == 503:
        p = json.loads(data)
        if p.get("code") != "OB_ERR_SIGNER_UNAVAILABLE" or retry is None or \
                int(retry) < 1:
            print("FAIL: 503 without the signer code or Retry-After:",
                  path, retry, p)
            sys.exit(1)
        n503 += 1
    else:
        print("FAIL: answer", status, path, data[:300])
        sys.exit(1)
print(json.dumps({"answers": len(answers), "issued": n201,
                  "signer_unavailable": n503, "helpers_killed": killed}))
if not killed or n503 == 0:
    print("FAIL: no kill met a request in flight")
    sys.exit(1)
