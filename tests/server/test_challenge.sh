#!/bin/sh
# The server-mediated model over real mutual TLS (docs/server-mediated.md):
# a sandboxed server built on the dev mode, a proxy that starts a held
# request and polls it, and `ownerbind respond` as the owner's device
# answering with a file key and with a SoftHSM2 key.  Then every refusal:
# a replayed answer, an answer to another challenge, an answer with
# another request's nonce, an answer after the deadline, an answer from
# another owner's device or key, a denial, a second request for the same
# agent key, another proxy's poll, a wrong pin, and malformed answers.
# Usage: test_challenge.sh OWNERBIND-SERVER OWNERBIND
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=$1
OB=$2
PY=${OB_PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/server/srv-setup.sh"

# The dev mode makes the PKI, the issuer key in its signer and the config;
# the config then gets responder devices and is served with --config.
srv_dev
srv_pki "$HERE/service/mkcerts.sh"
PIN="sha256//$SPKI"
config() {	# $1: deadline_s [$2: workers (4), $3: wait_max_s (2), $4: max_pending (1024)]
	"$PY" - "$D/dev/server.json" "$ALICE_SHA" "$1" "${2:-4}" "${3:-2}" "${4:-1024}" <<'EOF'
import json, sys
p, sha, deadline = sys.argv[1], sys.argv[2], int(sys.argv[3])
workers, wait_max, max_pending = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
c = json.load(open(p))
c["listen"] = "127.0.0.1:0"
c["tls"]["client_ca"] = "clients-ca.pem"
c["clients"] = [c["clients"][0],
    {"id": "alice-phone", "role": "responder", "owner": "alice@example.org",
     "cert_sha256": sha},
    {"id": "bob-phone", "role": "responder", "owner": "bob@example.org",
     "san_uri": "spiffe://test.example/proxy/nobody"},
    {"id": "proxy-2", "role": "proxy",
     "san_uri": "spiffe://test.example/proxy/p1"}]
c["challenge"] = {"deadline_s": deadline, "interval_s": 30, "wait_max_s": wait_max,
                  "max_pending": max_pending}
c["limits"] = {"workers": workers, "timeout_s": 3}
json.dump(c, open(p, "w"), indent=1)
EOF
}
serve() {	# $1: deadline_s [$2: workers, $3: wait_max_s]; sets SP and URL
	config "$@"
	[ -f server.log ] && cat server.log >> server.prev.log
	srv_serve
}

printf '48151623\n' > pin; chmod 600 pin
"$OB" keygen --key file:alice.pem >/dev/null || exit 1
"$OB" keygen --key file:bob.pem >/dev/null || exit 1
eval "$("$HERE/pkcs11/softhsm-fixture.sh" "$D/hsm" 48151623 56781234)" ||
    { echo "FAIL: SoftHSM2 fixture"; exit 1; }
P11="pkcs11:token=owner-test;object=chal?module-path=$SOFTHSM_MODULE"
"$OB" keygen --key "$P11" --alg ES256 --pin-source file:pin >/dev/null ||
    { echo "FAIL: pkcs11 keygen"; exit 1; }
for k in file:alice.pem "$P11"; do
	"$OB" enroll --key "$k" --owner alice@example.org --pin-source file:pin \
	    --may-bind 'wimse://example.org/agents/*' --trust "$TRUST" >/dev/null ||
	    { echo "FAIL: enroll $k"; exit 1; }
done
"$OB" enroll --key file:bob.pem --owner bob@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$TRUST" >/dev/null || exit 1

serve 120
PCURL="curl -sS --max-time 20 --cacert $CA --cert $CERT --key $KEY"
ACURL="curl -sS --max-time 20 --cacert $CA --cert pki/hashpeer.pem --key pki/hashpeer.key"
BCURL="curl -sS --max-time 20 --cacert $CA --cert pki/stranger.pem --key pki/stranger.key"
P2CURL="curl -sS --max-time 20 --cacert $CA --cert pki/proxy.pem --key pki/proxy.key"
RESPOND="$OB respond --server $URL --ca $CA --server-pin $PIN --timeout 20"
ALICE_DEV="--cert pki/hashpeer.pem --key pki/hashpeer.key"

n=0
start_req() {	# $1: name; a fresh agent key unless $2 names one
	n=$((n + 1))
	ak=${2:-agent$n.pem}
	new=--new-agent-key
	[ -f "$ak" ] && new=
	"$OB" request --sub "wimse://example.org/agents/a$n" --aud "$AUD" \
	    --owner alice@example.org --agent-key "$ak" $new \
	    -o "$1.req" >/dev/null &&
	"$OB" pop --model server-mediated --agent-key "$ak" -o "$1.start" "$1.req"
}
post_start() {	# $1: name; prints the status, the answer in $1.held
	$PCURL -o "$1.held" -w '%{http_code}' -H 'Content-Type: application/jose+json' \
	    --data-binary "@$1.start" "$URL/v1/credentials" 2>/dev/null
}
field() { "$PY" -c "import json,sys; print(json.load(open('$1')).get('$2', ''))"; }
poll() {	# $1: name, $2: curl; prints the status, the answer in $1.poll
	$2 -o "$1.poll" -w '%{http_code}' "$URL/v1/requests/$(field "$1.held" handle)" 2>/dev/null
}
answer() {	# $1: handle, $2: body file, $3: curl, [$4: content type]
	$3 -o ans.resp -w '%{http_code}' -H "Content-Type: ${4:-application/json}" \
	    --data-binary "@$2" "$URL/v1/owner/challenges/$1" 2>/dev/null
}
code_is() { [ "$(field "$1" code)" = "$2" ]; }
owner_entry() {	# $1: a signed envelope, $2: the answer file to write
	"$PY" - "$1" "$2" <<'EOF'
import base64, json, sys
e = json.load(open(sys.argv[1]))
def role(s):
    p = s["protected"]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["ob_role"]
o = [s for s in e["signatures"] if role(s) == "owner"][0]
json.dump({"protected": o["protected"], "signature": o["signature"]},
    open(sys.argv[2], "w"))
EOF
}
alice_answer() {	# $1: name: alice's answer to $1.held's nonce, in $1.ans
	$ACURL -o "$1.list" "$URL/v1/owner/challenges" 2>/dev/null
	nn=$("$PY" -c "import json; print([c['nonce'] for c in json.load(open('$1.list'))['challenges'] if c['handle'] == '$(field "$1.held" handle)'][0])") &&
	"$OB" sign --key file:alice.pem --model server-mediated --nonce "$nn" --quiet \
	    -o "$1.s" "$1.start" 2>/dev/null && owner_entry "$1.s" "$1.ans"
}

# 1. File key: start (202 with handle, binding code, poll path), pending,
# slow_down, the responder approves once, the credential once, then 410.
start_req r1 || exit 1
s=$(post_start r1)
[ "$s" = 202 ] && [ "$(field r1.held poll)" = "/v1/requests/$(field r1.held handle)" ] &&
    [ "$(field r1.held binding_code | tr -d 0-9)" = "" ] &&
    [ "$(field r1.held binding_code | wc -c)" = 7 ] &&
    ok "start: 202, handle, 6-digit binding code, poll path" || bad "start: $s $(cat r1.held)"
s=$(poll r1 "$PCURL")
[ "$s" = 200 ] && [ "$(field r1.poll status)" = authorization_pending ] &&
    ok "poll: authorization_pending" || bad "poll: $s $(cat r1.poll)"
s=$(poll r1 "$PCURL")
[ "$s" = 429 ] && code_is r1.poll OB_ERR_CHAL_SLOW_DOWN &&
    [ "$(field r1.poll type)" = slow_down ] && [ "$(field r1.poll interval)" = 30 ] &&
    ok "poll within the interval: 429 slow_down" || bad "slow_down: $s $(cat r1.poll)"
s=$(poll r1 "$P2CURL")
[ "$s" = 404 ] && code_is r1.poll OB_ERR_CHAL_UNKNOWN &&
    ok "another proxy's poll: 404" || bad "other proxy poll: $s"
$BCURL -o bob.list "$URL/v1/owner/challenges" 2>/dev/null
[ "$("$PY" -c "import json; print(len(json.load(open('bob.list'))['challenges']))")" = 0 ] &&
    ok "bob's device does not see alice's challenge" || bad "bob sees: $(cat bob.list)"
$RESPOND --cert pki/hashpeer.pem --key pki/hashpeer.key \
    --server-pin "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" \
    --owner-key file:alice.pem --once --yes --wait 2 >pin.out 2>&1
grep -q OB_ERR_RESPOND_PIN pin.out && ok "responder: a wrong server pin refuses" ||
    bad "wrong pin: $(cat pin.out)"
# shellcheck disable=SC2086 # ALICE_DEV is two options
$RESPOND $ALICE_DEV --owner-key file:alice.pem --once --yes --wait 20 \
    --save-answer ans1.json 2>resp1.out &&
    grep -q "code      $(field r1.held binding_code)" resp1.out &&
    ok "responder (file key): shown the same binding code, approved" ||
    bad "responder: $(cat resp1.out)"
s=$(poll r1 "$PCURL")
[ "$s" = 201 ] && [ -n "$(field r1.poll wit)" ] && ok "poll after approval: 201 credential" ||
    bad "poll after approval: $s $(cat r1.poll)"
"$PY" - r1.poll <<'EOF' && ok "the WIT's owner claim: alice, server-mediated" || bad "owner claim"
import base64, json, sys
w = json.load(open(sys.argv[1]))["wit"].split(".")[1]
c = json.loads(base64.urlsafe_b64decode(w + "=" * (-len(w) % 4)))
o = c["urn:uuid:b880ac85-4c39-4d7c-9849-4aea4cbc60e5"]
assert o["id"] == "alice@example.org" and o["model"] == "server-mediated", o
EOF
s=$(poll r1 "$PCURL")
[ "$s" = 410 ] && code_is r1.poll OB_ERR_CHAL_EXPIRED && ok "second poll: 410" ||
    bad "second poll: $s"

# 2. The replayed answer: refused by the held request, and its nonce is spent.
s=$(answer "$(field r1.held handle)" ans1.json "$ACURL")
[ "$s" = 409 ] && code_is ans.resp OB_ERR_CHAL_ANSWERED && ok "replayed answer: 409" ||
    bad "replay: $s $(cat ans.resp)"

# 3. An answer to another challenge: r1's answer on r2's handle.
start_req r2 || exit 1
[ "$(post_start r2)" = 202 ] || bad "start r2"
s=$(answer "$(field r2.held handle)" ans1.json "$ACURL")
[ "$s" = 403 ] && code_is ans.resp OB_ERR_REJECTED &&
    grep -q '"code":"OB_ERR_SIG_INVALID"' server.log &&
    ok "another challenge's answer: 403 (the signature is not over this request)" ||
    bad "cross answer: $s $(cat ans.resp)"
# ... and an owner entry over r2 made with r1's nonce.
N1=$("$PY" -c "
import json, base64
p = json.load(open('ans1.json'))['protected']
print(json.loads(base64.urlsafe_b64decode(p + '=' * (-len(p) % 4)))['ob_nonce'])")
"$OB" sign --key file:alice.pem --model server-mediated --nonce "$N1" --quiet \
    -o r2.other r2.start 2>/dev/null || bad "sign with r1's nonce"
owner_entry r2.other r2.ans
s=$(answer "$(field r2.held handle)" r2.ans "$ACURL")
[ "$s" = 403 ] && code_is ans.resp OB_ERR_REJECTED &&
    grep -F -e "$(field r2.held handle | cut -c1-8)" server.log | grep -q '"code":"OB_ERR_NONCE' &&
    ok "an answer with another request's nonce: 403 (nonce bound to r1)" ||
    bad "other nonce: $s $(cat ans.resp)"

# 4. Another owner: bob's device on alice's request; bob's key from alice's device.
$ACURL -o alist.json "$URL/v1/owner/challenges" 2>/dev/null
N2=$("$PY" -c "import json; print([c['nonce'] for c in json.load(open('alist.json'))['challenges'] if c['handle'] == '$(field r2.held handle)'][0])")
"$OB" sign --key file:bob.pem --model server-mediated --nonce "$N2" --quiet \
    -o r2.bob r2.start 2>/dev/null || bad "bob signs"
owner_entry r2.bob r2.bans
s=$(answer "$(field r2.held handle)" r2.bans "$BCURL")
[ "$s" = 403 ] && code_is ans.resp OB_ERR_CHAL_OWNER && ok "another owner's device: 403 CHAL_OWNER" ||
    bad "bob's device: $s $(cat ans.resp)"
s=$(answer "$(field r2.held handle)" r2.bans "$ACURL")
[ "$s" = 403 ] && code_is ans.resp OB_ERR_REJECTED &&
    grep -q '"code":"OB_ERR_OWNER_KEY_UNKNOWN"' server.log &&
    ok "another owner's key: 403 (not alice's key)" || bad "bob's key: $s $(grep answer server.log | tail -1)"

# 5. SoftHSM2: the same request, still pending, approved with the PKCS#11 key.
# shellcheck disable=SC2086
$RESPOND $ALICE_DEV --owner-key "$P11" --pin-source file:pin --once --yes \
    --handle "$(field r2.held handle)" --wait 20 2>resp2.out &&
    ok "responder (SoftHSM2 key): approved" || bad "responder p11: $(cat resp2.out)"
s=$(poll r2 "$PCURL")
[ "$s" = 201 ] && ok "SoftHSM2-approved credential: 201" || bad "p11 poll: $s $(cat r2.poll)"

# 6. One outstanding challenge per agent key; a denial.
start_req r3 || exit 1
[ "$(post_start r3)" = 202 ] || bad "start r3"
start_req r4 agent$n.pem || exit 1
s=$(post_start r4)
[ "$s" = 409 ] && code_is r4.held OB_ERR_CHAL_OUTSTANDING &&
    ok "second request for the same agent key: 409" || bad "outstanding: $s $(cat r4.held)"
# shellcheck disable=SC2086
$RESPOND $ALICE_DEV --deny --once --handle "$(field r3.held handle)" --wait 20 2>/dev/null ||
    bad "deny"
s=$(poll r3 "$PCURL")
[ "$s" = 403 ] && code_is r3.poll OB_ERR_CHAL_DENIED && ok "denied: 403" ||
    bad "denied poll: $s $(cat r3.poll)"

# 7. Hostile answers and callers.
start_req r5 || exit 1
[ "$(post_start r5)" = 202 ] || bad "start r5"
H5=$(field r5.held handle)
printf 'not json' > junk.json
s=$(answer "$H5" junk.json "$ACURL")
[ "$s" = 400 ] && code_is ans.resp OB_ERR_CHAL_ANSWER && ok "answer not JSON: 400" || bad "junk: $s"
printf '{"protected":"e30","signature":"AA","x":1}' > extra.json
s=$(answer "$H5" extra.json "$ACURL")
[ "$s" = 400 ] && code_is ans.resp OB_ERR_CHAL_ANSWER && ok "answer with an extra member: 400" ||
    bad "extra: $s"
printf '{"decision":"maybe"}' > maybe.json
s=$(answer "$H5" maybe.json "$ACURL")
[ "$s" = 400 ] && ok "decision other than deny: 400" || bad "maybe: $s"
s=$(answer "$H5" ans1.json "$ACURL" text/plain)
[ "$s" = 415 ] && ok "answer with the wrong content type: 415" || bad "ctype: $s"
head -c 200000 /dev/zero | tr '\0' 'a' > big.json
s=$(answer "$H5" big.json "$ACURL")
[ "$s" = 413 ] && ok "oversized answer: 413" || bad "big: $s"
s=$(answer "..%2f" ans1.json "$ACURL")
[ "$s" = 404 ] && ok "a handle that is not a handle: 404" || bad "bad handle: $s"
s=$(answer "$H5" ans1.json "$PCURL")
[ "$s" = 403 ] && ok "a proxy cannot answer: 403" || bad "proxy answers: $s"
s=$($ACURL -o ans.resp -w '%{http_code}' -H 'Content-Type: application/jose+json' \
    --data-binary @r5.start "$URL/v1/credentials" 2>/dev/null)
[ "$s" = 403 ] && ok "a responder cannot request credentials: 403" || bad "responder requests: $s"
s=$($ACURL -o ans.resp -w '%{http_code}' "$URL/v1/owner/challenges?wait=x" 2>/dev/null)
[ "$s" = 400 ] && ok "challenges?wait=x: 400" || bad "wait=x: $s"
"$OB" request --sub wimse://example.org/agents/nn --aud "$AUD" --owner alice@example.org \
    --agent-key nn.pem --new-agent-key -o nn.req >/dev/null &&
"$OB" sign --key file:alice.pem --model server-mediated --nonce AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \
    --quiet -o nn.s nn.req 2>/dev/null &&
"$OB" pop --agent-key nn.pem -o nn.start nn.s || bad "nn"
"$PY" -c "
import json; e = json.load(open('nn.start'))
e['signatures'] = e['signatures'][-1:]
json.dump(e, open('nn.start', 'w'))"
s=$($PCURL -o ans.resp -w '%{http_code}' -H 'Content-Type: application/jose+json' \
    --data-binary @nn.start "$URL/v1/credentials" 2>/dev/null)
[ "$s" = 400 ] && code_is ans.resp OB_ERR_CHAL_SHAPE &&
    ok "a start whose agent entry carries a nonce: 400 CHAL_SHAPE" || bad "shape: $s $(cat ans.resp)"
# 7b. Slow and many clients on the new endpoints: a slow answer body (a
# byte every 0.5 s) is cut at the I/O deadline; 8 threads send 400 polls
# of made-up handles, malformed answers and challenge lists at once; every
# answer is the documented one and a real request is served after it.
"$PY" - "$URL" "$CA" pki/hashpeer.pem pki/hashpeer.key "$H5" <<'EOF' && ok "slow answer body cut at the deadline" || bad "slow answer"
import socket, ssl, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False
ctx.load_cert_chain(sys.argv[3], sys.argv[4])
c = ctx.wrap_socket(socket.create_connection((u.hostname, u.port), timeout=30))
head = ("POST /v1/owner/challenges/%s HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n" % sys.argv[5])
c.sendall(head.encode())
t0 = time.time()
cut = False
for i in range(200):
    try:
        c.sendall(b"{")
        time.sleep(0.5)
    except OSError:
        cut = True
        break
    if time.time() - t0 > 40:
        break
if not cut:
    c.settimeout(5)
    try:
        data = c.recv(4096)
        cut = data == b"" or data.startswith(b"HTTP/1.1 408")
    except OSError:
        cut = True
assert cut and time.time() - t0 < 30, time.time() - t0
EOF
"$PY" - "$URL" "$CA" "$CERT" "$KEY" pki/hashpeer.pem pki/hashpeer.key <<'EOF' >load.out && ok "load: $(cat load.out)" || bad "load: $(cat load.out)"
import http.client, ssl, sys, threading, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
def ctx(cert, key):
    c = ssl.create_default_context(cafile=sys.argv[2])
    c.check_hostname = False
    c.load_cert_chain(cert, key)
    return c
proxy, dev = ctx(sys.argv[3], sys.argv[4]), ctx(sys.argv[5], sys.argv[6])
jobs = []
for i in range(400):
    k = i % 4
    if k == 0:
        jobs.append(("p", "GET", "/v1/requests/nosuchhandle%d" % i, None, 404))
    elif k == 1:
        jobs.append(("d", "POST", "/v1/owner/challenges/nosuch%d" % i,
                     b'{"protected":"e30","signature":"AA"}', 404))
    elif k == 2:
        jobs.append(("d", "POST", "/v1/owner/challenges/x%d" % i, b'{"protected":', 400))
    else:
        jobs.append(("d", "GET", "/v1/owner/challenges", None, 200))
lat, bad, lock = [], [], threading.Lock()
def worker(part):
    conns = {}
    for who, m, p, b, want in part:
        t0 = time.time()
        status = None
        for attempt in range(3):
            h = conns.get(who)
            if h is None:
                h = conns[who] = http.client.HTTPSConnection(
                    u.hostname, u.port, context=proxy if who == "p" else dev,
                    timeout=30)
            try:
                h.request(m, p, body=b, headers={"Content-Type": "application/json"})
                r = h.getresponse()
                r.read()
                status = r.status
                break
            except (OSError, http.client.HTTPException) as e:
                conns.pop(who, None)
                status = repr(e)
        with lock:
            lat.append(time.time() - t0)
            if status != want:
                bad.append((p, status, want))
ts = [threading.Thread(target=worker, args=(jobs[i::8],)) for i in range(8)]
t0 = time.time()
[t.start() for t in ts]
[t.join() for t in ts]
el = time.time() - t0
lat.sort()
print("%d requests from 8 threads in %.2fs (%.0f/s), p50 %.1f ms, p99 %.1f ms" % (
      len(lat), el, len(lat) / el, lat[len(lat) // 2] * 1e3, lat[int(len(lat) * .99)] * 1e3))
if bad:
    print(bad[:5])
    sys.exit(1)
EOF
# shellcheck disable=SC2086
$RESPOND $ALICE_DEV --owner-key file:alice.pem --once --yes \
    --handle "$H5" --wait 20 2>/dev/null &&
    [ "$(poll r5 "$PCURL")" = 201 ] && ok "served after the slow and many clients" ||
    bad "after load"
srv_stop

# 8. After the deadline: a server holding requests for 8 s.  The answer is
# made while the request is pending and sent after it expired.
serve 8
RESPOND="$OB respond --server $URL --ca $CA --server-pin $PIN --timeout 20"
start_req r6 || exit 1
[ "$(post_start r6)" = 202 ] || bad "start r6"
alice_answer r6 || bad "sign r6"
# The deadline is the server's clock: wait until a list shows it gone.
i=0
while $ACURL "$URL/v1/owner/challenges" 2>/dev/null | grep -qF -e "$(field r6.held handle)" &&
    [ $i -lt 400 ]; do sleep 0.1; i=$((i + 1)); done
s=$(answer "$(field r6.held handle)" r6.ans "$ACURL")
[ "$s" = 410 ] && code_is ans.resp OB_ERR_CHAL_EXPIRED && ok "answer after the deadline: 410" ||
    bad "late answer: $s $(cat ans.resp)"
s=$(poll r6 "$PCURL")
[ "$s" = 410 ] && ok "poll after the deadline: 410" || bad "late poll: $s"
srv_stop

# 9. Long-polls wait on the event loop, not in a worker (decision 162):
# one worker, alice's and bob's devices waiting up to 8 s; a start still
# gets the worker at once and wakes alice's wait (not bob's) with it.
serve 120 1 8
MURL=$(grep -o 'metrics=http://127.0.0.1:[0-9]*' "$D/server.log" | head -1 | cut -d= -f2)
parked() { curl -sS --max-time 5 "$MURL/metrics" | awk '$1 == "ob_http_parked" { print $2 }'; }
$ACURL -o along.json "$URL/v1/owner/challenges?wait=8" 2>/dev/null & AL=$!
$BCURL -o blong.json "$URL/v1/owner/challenges?wait=8" 2>/dev/null & BL=$!
i=0; while [ "$(parked)" != 2 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ "$(parked)" = 2 ] && ok "two responders' long-polls parked (ob_http_parked 2)" ||
    bad "parked: $(parked)"
start_req r7 || exit 1
s=$(post_start r7)
[ "$s" = 202 ] && kill -0 "$BL" 2>/dev/null &&
    ok "a start gets the one worker while both long-polls wait" ||
    bad "start during long-polls: $s (bob's long-poll $(kill -0 "$BL" 2>/dev/null && echo waits || echo ended))"
i=0; while kill -0 "$AL" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
! kill -0 "$AL" 2>/dev/null && kill -0 "$BL" 2>/dev/null &&
    grep -qF -e "$(field r7.held handle)" along.json &&
    ok "alice's long-poll is woken with the new request, bob's waits on" ||
    bad "alice's long-poll: $(cat along.json 2>/dev/null)"
wait "$BL"
[ "$("$PY" -c "import json; print(len(json.load(open('blong.json'))['challenges']))")" = 0 ] &&
    ok "bob's long-poll ends empty at its wait" || bad "bob's long-poll: $(cat blong.json)"
kill -0 "$SP" 2>/dev/null && ok "the server runs on" || bad "the server died"
# At most 8 long-polls wait at once for one owner: the 9th is 429 at once.
BLS=
for i in 1 2 3 4 5 6 7 8; do
	$BCURL -o "bl$i.json" "$URL/v1/owner/challenges?wait=8" 2>/dev/null & BLS="$BLS $!"
done
i=0; while [ "$(parked)" != 8 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
s=$($BCURL -D bl9.hdr -o bl9.json -w '%{http_code}' "$URL/v1/owner/challenges?wait=8" 2>/dev/null)
[ "$(parked)" = 8 ] && [ "$s" = 429 ] && code_is bl9.json OB_ERR_SVC_RATE_LIMITED &&
    grep -qi '^Retry-After: 1' bl9.hdr &&
    ok "8 long-polls of bob's wait; a 9th is 429 OB_ERR_SVC_RATE_LIMITED with Retry-After" ||
    bad "9th long-poll: $s $(cat bl9.json) (parked $(parked))"
# ownerbind respond waits for a busy server (Retry-After) within --wait.
$OB respond --server "$URL" --ca "$CA" --server-pin "$PIN" --timeout 20 \
    --cert pki/stranger.pem --key pki/stranger.key --owner-key file:bob.pem \
    --once --yes --wait 3 >bresp.out 2>&1; echo "rc=$? " >>bresp.out
[ "$(grep -c 'trying again in 1 s' bresp.out)" -ge 2 ] &&
    grep -q 'OB_ERR_SUBMIT_REFUSED.*(HTTP 429 OB_ERR_SVC_RATE_LIMITED' bresp.out &&
    grep -q '^rc=1 ' bresp.out &&
    ok "respond retries a 429 after Retry-After, then gives up at --wait with the code" ||
    bad "respond on 429: $(cat bresp.out)"
# SIGTERM answers the parked long-polls before the drain.
srv_stop
n8=0
for p in $BLS; do
	i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 40 ]; do sleep 0.05; i=$((i + 1)); done
	kill -0 "$p" 2>/dev/null || n8=$((n8 + 1))
done
[ "$n8" = 8 ] && [ "$("$PY" -c "import json, sys
print(sum(json.load(open(f)) == {'challenges': []} for f in sys.argv[1:]))" bl[1-8].json)" = 8 ] &&
    ok "SIGTERM answers all 8 at once, empty" || bad "after SIGTERM: $n8 of 8 answered"

# 10. A full table: with max_pending 2, a third start is 503 OB_ERR_CHAL_FULL
# with Retry-After, and the two held are still pending.
serve 120 4 2 2
PCURL="curl -sS --max-time 20 --cacert $CA --cert $CERT --key $KEY"
start_req f1 && start_req f2 && start_req f3 || exit 1
s1=$(post_start f1); s2=$(post_start f2)
s3=$($PCURL -o f3.held -D f3.hdr -w '%{http_code}' -H 'Content-Type: application/jose+json' \
    --data-binary "@f3.start" "$URL/v1/credentials" 2>/dev/null)
[ "$s1$s2$s3" = 202202503 ] && code_is f3.held OB_ERR_CHAL_FULL &&
    grep -qi '^Retry-After:' f3.hdr &&
    ok "max_pending 2: a third start is 503 OB_ERR_CHAL_FULL with Retry-After" ||
    bad "full table: $s1 $s2 $s3 $(cat f3.held)"
p1=$(poll f1 "$PCURL")
[ "$p1" = 200 ] && [ "$(field f1.poll status)" = authorization_pending ] &&
    ok "the held ones are still pending" || bad "held after full: $p1 $(cat f1.poll)"
srv_stop

# 11. Approved, then not issued (decision 171): the helper stopped, an
# answer that verifies spends the nonce and the jti, the issuance fails
# (503 OB_ERR_SIGNER_UNAVAILABLE), and the request is over: the proxy's
# poll is 409 OB_ERR_CHAL_FAILED at once, the owner's list no longer
# shows it, and a long-poll parked meanwhile is not woken with it.  Once
# the helper is back, a new request is issued.
"$PY" - "$D/dev/server.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["signer"]["timeout_ms"] = 1500
json.dump(c, open(sys.argv[1], "w"), indent=1)
EOF
serve 120 4 4
RESPOND="$OB respond --server $URL --ca $CA --server-pin $PIN --timeout 20"
MURL=$(grep -o 'metrics=http://127.0.0.1:[0-9]*' "$D/server.log" | head -1 | cut -d= -f2)
hstate() { "$PY" -c "import json,urllib.request; h=json.load(urllib.request.urlopen('$MURL/healthz'))['signer']; print(h['state'], h['pid'])"; }
start_req x1 || exit 1
[ "$(post_start x1)" = 202 ] || bad "start x1"
alice_answer x1 || bad "sign x1"
HP=$(hstate | cut -d' ' -f2)
kill -STOP "$HP"
answer "$(field x1.held handle)" x1.ans "$ACURL" >x1.st &
XA=$!
sleep 0.4
$ACURL -o xlong.json "$URL/v1/owner/challenges?wait=4" 2>/dev/null & XL=$!
wait "$XA"
s=$(cat x1.st)
[ "$s" = 503 ] && code_is ans.resp OB_ERR_SIGNER_UNAVAILABLE &&
    ok "an accepted answer with the helper stopped: 503 OB_ERR_SIGNER_UNAVAILABLE" ||
    bad "answer, helper stopped: $s $(cat ans.resp)"
kill -CONT "$HP" 2>/dev/null
s=$(poll x1 "$PCURL")
[ "$s" = 409 ] && code_is x1.poll OB_ERR_CHAL_FAILED &&
    ok "the proxy's poll: 409 OB_ERR_CHAL_FAILED (the request is over)" ||
    bad "poll after the failed issuance: $s $(cat x1.poll)"
wait "$XL"
$ACURL -o xlist2.json "$URL/v1/owner/challenges" 2>/dev/null
! grep -qF -e "$(field x1.held handle)" xlist2.json xlong.json &&
    ok "the owner's devices are not offered the spent request again" ||
    bad "the spent request is listed: $(cat xlist2.json xlong.json)"
s=$(answer "$(field x1.held handle)" x1.ans "$ACURL")
[ "$s" = 409 ] && ok "the same answer again: 409, nothing issued" ||
    bad "the answer again: $s $(cat ans.resp)"
i=0; while [ "$(hstate | cut -d' ' -f1)" != ready ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
start_req x2 || exit 1
[ "$(post_start x2)" = 202 ] || bad "start x2"
# shellcheck disable=SC2086 # ALICE_DEV is two options
$RESPOND $ALICE_DEV --owner-key file:alice.pem --once --yes --wait 20 \
    >xresp.out 2>&1 || bad "respond x2: $(cat xresp.out)"
sleep 1
s=$(poll x2 "$PCURL")
[ "$s" = 201 ] && ok "the helper back: a new request is issued" ||
    bad "after the helper came back: $s $(cat x2.poll)"
srv_stop

[ $fail = 0 ] && echo "all challenge tests passed"
exit $fail
