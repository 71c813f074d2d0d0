#!/bin/sh
# The browser approval page of the server-mediated model in a real
# headless Chromium (Debian's chromium) driven over the DevTools protocol
# with its virtual WebAuthn authenticator (tests/server/cdp_approve.py):
# the owner's passkey enrolled for the page's origin, a held request
# approved by pressing Approve, the credential issued; then assertions the
# browser made, with a bogus signature, UP or UV missing, a wrong origin
# and a wrong rp id, refused each for its own reason; python3-fido2's
# Fido2Server accepts the browser-made assertion, which then approves.
# Usage: test_approval.sh OWNERBIND-SERVER OWNERBIND [SCREENSHOT.png]
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=$1
OB=$2
SHOT=${3:-}
PY=${OB_PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v chromium >/dev/null || { echo "SKIP: no chromium"; exit 77; }
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/srv-setup.sh"

srv_dev
PORT=$(free_port)
ORIGIN="https://localhost:$PORT"

# The passkey: made here, enrolled for the page's origin and rp id, and
# put into the browser's virtual authenticator by the driver.
"$PY" "$HERE/cdp_approve.py" keygen "$D" || exit 1
"$PY" - "$D/dev/server.json" "$TRUST" "$D/passkey.json" "$PORT" "$ORIGIN" <<'EOF' || exit 1
import json, sys
cp, tp, kp, port, origin = sys.argv[1:6]
c = json.load(open(cp))
c["listen"] = "127.0.0.1:" + port
# The page's buckets off: its 400-request load below is not a flood
# (test_enrol_rate.sh checks the buckets).
c["challenge"] = {"interval_s": 30, "approval_page": True,
                  "page_per_ip": {"per_second": 0},
                  "page_global": {"per_second": 0}}
c["limits"] = {"workers": 4, "timeout_s": 3}
json.dump(c, open(cp, "w"), indent=1)
k = json.load(open(kp))
t = json.load(open(tp))
t["owners"].append({"id": "alice@example.org",
    "may_bind": ["wimse://example.org/agents/*"],
    "keys": [{"kid": k["kid"], "kind": "fido2", "alg": "webauthn-es256",
              "jwk": k["jwk"],
              "fido2": {"rp_id": "localhost", "uv": "required",
                        "credential_id": k["credential_id"],
                        "origins": [origin], "backup_eligible": False}}]})
json.dump(t, open(tp, "w"), indent=1)
EOF
srv_serve
PCURL="curl -sS --max-time 20 --cacert $CA --cert $CERT --key $KEY"
field() { "$PY" -c "import json,sys; print(json.load(open('$1')).get('$2', ''))"; }

for r in r1 r2; do
	"$OB" request --sub "wimse://example.org/agents/$r" --aud "$AUD" \
	    --owner alice@example.org --agent-key "$r.pem" --new-agent-key \
	    -o "$r.req" >/dev/null 2>&1 &&
	"$OB" pop --model server-mediated --agent-key "$r.pem" -o "$r.start" "$r.req" ||
	    bad "request $r"
	s=$($PCURL -o "$r.held" -w '%{http_code}' -H 'Content-Type: application/jose+json' \
	    --data-binary "@$r.start" "$URL/v1/credentials" 2>/dev/null)
	[ "$s" = 202 ] || bad "start $r: $s $(cat "$r.held")"
done
field r1.held binding_code > r1.code
# Without a client certificate only the page's routes answer.
s=$(curl -sS --max-time 20 --cacert "$CA" -o nocert.json -w '%{http_code}' \
    "$URL/v1/requests/$(field r1.held handle)" 2>/dev/null)
[ "$s" = 403 ] && ok "the proxy's poll without a client certificate: 403" ||
    bad "poll without a certificate: $s"

"$PY" "$HERE/cdp_approve.py" run "$D" "$ORIGIN" "$(field r1.held handle)" \
    "$(field r2.held handle)" "$SPKI" "$CA" "$SHOT" || fail=1
# The page's endpoints under slow and many clients without certificates:
# a slow answer body is cut at the I/O deadline; 8 threads send 400
# requests (the page, its script, unknown handles, malformed answers);
# each gets its documented status.
"$PY" - "$PORT" "$CA" <<'EOF' >pload.out && ok "page load: $(cat pload.out)" || bad "page load: $(cat pload.out)"
import http.client, socket, ssl, sys, threading, time
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
c = ctx.wrap_socket(socket.create_connection(("localhost", port), timeout=30),
                    server_hostname="localhost")
c.sendall(b"POST /v1/approve/abc HTTP/1.1\r\nHost: localhost\r\n"
          b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n")
t0, cut = time.time(), False
for i in range(100):
    try:
        c.sendall(b"{")
        time.sleep(0.5)
    except OSError:
        cut = True
        break
if not cut:
    c.settimeout(5)
    try:
        d = c.recv(4096)
        cut = d == b"" or d.startswith(b"HTTP/1.1 408")
    except OSError:
        cut = True
assert cut and time.time() - t0 < 30, "slow client not cut"
jobs = []
for i in range(400):
    k = i % 4
    jobs.append([("GET", "/approve/h%d" % i, None, 200),
                 ("GET", "/approve.js", None, 200),
                 ("GET", "/v1/approve/nosuch%d" % i, None, 404),
                 ("POST", "/v1/approve/nosuch%d" % i, b'{"x":', 400)][k])
lat, bad, lock = [], [], threading.Lock()
def worker(part):
    h = None
    for m, p, b, want in part:
        t0, st = time.time(), None
        for attempt in range(3):
            if h is None:
                h = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=30)
            try:
                h.request(m, p, body=b, headers={"Content-Type": "application/json"})
                r = h.getresponse()
                r.read()
                st = r.status
                break
            except (OSError, http.client.HTTPException):
                h = None
        with lock:
            lat.append(time.time() - t0)
            if st != want:
                bad.append((m, p, st, want))
ts = [threading.Thread(target=worker, args=(jobs[i::8],)) for i in range(8)]
t0 = time.time()
[t.start() for t in ts]
[t.join() for t in ts]
el = time.time() - t0
lat.sort()
print("slow client cut; %d requests from 8 threads in %.2fs (%.0f/s), p50 %.1f ms, p99 %.1f ms" % (
      len(lat), el, len(lat) / el, lat[len(lat) // 2] * 1e3, lat[int(len(lat) * .99)] * 1e3))
if bad:
    print(bad[:5])
    sys.exit(1)
EOF
for c in SIG_INVALID FIDO_UP FIDO_UV FIDO_ORIGIN FIDO_RPID; do
	grep -q "\"code\":\"OB_ERR_$c\"" server.log && ok "the log names OB_ERR_$c" ||
	    bad "no OB_ERR_$c in the log"
done
for r in r1 r2; do
	s=$($PCURL -o "$r.poll" -w '%{http_code}' "$URL/v1/requests/$(field $r.held handle)" 2>/dev/null)
	[ "$s" = 201 ] && [ -n "$(field $r.poll wit)" ] &&
	    ok "$r: credential issued after the passkey approval" || bad "$r poll: $s $(cat $r.poll)"
done
"$PY" - r1.poll <<'EOF' && ok "the owner claim: a fido2 key, server-mediated" || bad "owner claim"
import base64, json, sys
w = json.load(open(sys.argv[1]))["wit"].split(".")[1]
c = json.loads(base64.urlsafe_b64decode(w + "=" * (-len(w) % 4)))
o = c["urn:uuid:b880ac85-4c39-4d7c-9849-4aea4cbc60e5"]
assert o["model"] == "server-mediated" and o.get("key_kind", o.get("kind")) == "fido2", o
EOF
[ $fail = 0 ] && echo "all approval page tests passed"
exit $fail
