#!/usr/bin/python3
"""A stand-in for the two upstreams that are built on other branches, speaking
exactly the contract the proxy is written to (docs/proxy.md, "Routes"): the
gateway's POST /v1/credentials (201 with a credential) and the server-mediated
start (202) and poll (GET /v1/requests/H: 200 authorization_pending, 429
slow_down, 201, 403 denied, 410 expired).  Real TLS with a required client
certificate from the test's CA.  It never checks a signature: it only answers
the proxy the way the contract says, so that the proxy's routes can be tested
before the real gateway and challenge flow are merged.

  contract_upstream.py PORTFILE DIR LOG [PORT]
The agent id's last segment picks the script: gw (201 at once), ok (pending,
slow_down, then 201), deny (pending, then 403), slow (pending until expired);
and hostile answers to the owner-mediated POST: huge (a 201 of 2 MiB), junk
(a 201 that is not JSON), nowit (a 201 without a wit), drip (a 201 whose
body comes a byte a second), cut (a 201 whose body stops half way and the
connection closes), badpoll (a 202 whose poll path leaves /v1/requests/).
Every request is one line in LOG: METHOD PATH STATUS SECONDS-SINCE-START.
"""
import base64, http.server, json, ssl, sys, time

PORTFILE, D, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
START = time.monotonic()
polls = {}


def cred(sub, model):
    now = int(time.time())
    return {"wit": "eyJhbGciOiJFUzI1NiJ9.e30.c2ln", "expires_at": now + 60,
            "wic": "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n",
            "owner": {"id": "alice@example.org", "model": model, "sub": sub}}


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, obj, problem=False):
        b = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/problem+json" if problem
                         else "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.send_header("X-Request-Id", "standin%04d" % (len(polls)))
        self.end_headers()
        self.wfile.write(b)
        with open(LOG, "a") as f:
            f.write("%s %s %d %.2f\n" % (self.command, self.path, status,
                                        time.monotonic() - START))

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != "/v1/credentials":
            return self.send(404, {"code": "OB_ERR_SVC_NOT_FOUND"}, True)
        pl = json.loads(body)["payload"]
        sub = json.loads(base64.urlsafe_b64decode(pl + "=" * (-len(pl) % 4)))["sub"]
        what = sub.rsplit("/", 1)[1]
        if what == "gw":
            return self.send(201, cred(sub, "owner-mediated"))
        if what in HOSTILE:
            return HOSTILE[what](self, sub)
        h = "h%d" % len(polls)
        polls[h] = {"what": what, "sub": sub, "n": 0}
        self.send(202, {"handle": h, "interval": 1,
                        "expires_in": 3 if what == "slow" else 30,
                        "binding_code": "BC-1234", "poll": "/v1/requests/" + h})

    def do_GET(self):
        h = self.path.rsplit("/", 1)[1]
        p = polls.get(h)
        if not self.path.startswith("/v1/requests/") or p is None:
            return self.send(404, {"code": "OB_ERR_SVC_NOT_FOUND"}, True)
        p["n"] += 1
        n, what = p["n"], p["what"]
        if p.get("done"):
            return self.send(410, {"type": "expired", "code": "expired"}, True)
        if n == 1 or what == "slow":
            return self.send(200, {"status": "authorization_pending", "interval": 1})
        if what == "deny":
            return self.send(403, {"type": "denied", "code": "denied"}, True)
        if n == 2:
            return self.send(429, {"type": "slow_down", "status": "slow_down",
                                   "interval": 2}, True)
        p["done"] = True
        self.send(201, cred(p["sub"], "server-mediated"))


def raw(h, status, body, length=None, then=None):
    """Status, headers and body as given (length: the Content-Length said)."""
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body) if length is None
                                        else length))
    h.end_headers()
    h.wfile.write(body)
    h.wfile.flush()
    if then:
        then(h)
    with open(LOG, "a") as f:
        f.write("%s %s %d %.2f\n" % (h.command, h.path, status,
                                    time.monotonic() - START))


def drip(h, sub):
    b = json.dumps(cred(sub, "owner-mediated")).encode()
    h.send_response(201)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(b)))
    h.end_headers()
    try:
        for c in b:
            h.wfile.write(bytes([c]))
            h.wfile.flush()
            time.sleep(1)
    except OSError:
        pass
    h.close_connection = True


def cut(h):
    h.close_connection = True
    h.connection.shutdown(2)


HOSTILE = {
    "huge": lambda h, sub: raw(h, 201, b'{"wit": "' + b"A" * (2 << 20) +
                               b'"}'),
    "junk": lambda h, sub: raw(h, 201, b"<html>not json</html>"),
    "nowit": lambda h, sub: h.send(201, {"wic": "x", "expires_at": 1}),
    "drip": drip,
    "cut": lambda h, sub: raw(h, 201, json.dumps(cred(sub, "owner-mediated"))
                              .encode()[:40], length=4000, then=cut),
    "badpoll": lambda h, sub: h.send(202, {"handle": "x", "interval": 1,
                                           "expires_in": 30,
                                           "poll": "/v1/requests/../../etc"}),
}


srv = http.server.ThreadingHTTPServer(
    ("127.0.0.1", int(sys.argv[4]) if len(sys.argv) > 4 else 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(D + "/server.pem", D + "/server.key")
ctx.load_verify_locations(D + "/ca.pem")
ctx.verify_mode = ssl.CERT_REQUIRED
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
