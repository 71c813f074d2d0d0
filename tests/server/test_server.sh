#!/bin/sh
# ownerbind-server over real mutual TLS: a dev-mode server, an owner
# enrolled, agent-mediated envelopes submitted with `ownerbind submit` and
# curl, the credential checked by code nobody here wrote (jwcrypto,
# python3-cryptography, openssl verify), then hostile clients, the
# issuance record, a broken reload and a drain.
# Usage: test_server.sh OWNERBIND-SERVER OWNERBIND
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=$1
OB=$2
PY=${OB_PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/srv-setup.sh"

# The dev server keeps running: it is the server under test.
srv_dev_start server.log
ICA=$(J issuer_ca)
CURL="curl -sS --max-time 20 --cacert $CA --cert $CERT --key $KEY"

# 0. The server runs sandboxed (every thread under the seccomp filter,
# Landlock on) with its key in ownerbind-signer; what follows (issuance,
# SIGHUP reloads, the issuance record, the drain) runs inside it.
i=0	# dev.json is written just before the sandbox is entered
while ! grep -q '"detail":"seccomp: the allow-list is in force' server.log &&
    [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
nt=0; nf=0
for t in "/proc/$SP/task/"*; do
	nt=$((nt + 1))
	grep -q '^Seccomp:[[:space:]]*2$' "$t/status" && nf=$((nf + 1))
done
[ $nt -gt 1 ] && [ $nf = $nt ] && ok "seccomp: $nf of $nt threads filtered" ||
    bad "seccomp: $nf of $nt threads filtered"
grep -q '"event":"sandbox","detail":"landlock ABI' server.log &&
    ok "landlock in force" || bad "landlock: $(grep sandbox server.log)"
MURL=$(grep -o 'metrics=http://127.0.0.1:[0-9]*' server.log | cut -d= -f2)
curl -sS --max-time 10 "$MURL/healthz" >health.json 2>/dev/null
"$PY" -c "import json,sys; h = json.load(open('health.json')); sys.exit(not (h['ready'] and h['signer']['state'] == 'ready' and h['signer']['pid'] > 0))" &&
    ok "/healthz: ready, the signer helper ready" || bad "healthz: $(cat health.json)"

"$OB" keygen --key file:owner.pem >/dev/null || exit 1
"$OB" enroll --key file:owner.pem --owner alice@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$TRUST" >/dev/null || exit 1
kill -HUP "$SP"
sleep 0.3

n=0
envelope() {	# $1: output file; a fresh agent key and jti each time
	n=$((n + 1))
	"$OB" request --sub "wimse://example.org/agents/a$n" --aud "$AUD" \
	    --owner alice@example.org --agent-key "agent$n.pem" --new-agent-key \
	    -o "req$n.json" >/dev/null &&
	"$OB" sign --key file:owner.pem -o "signed$n.json" "req$n.json" 2>/dev/null &&
	"$OB" pop --agent-key "agent$n.pem" -o "$1" "signed$n.json"
}
post() {	# $1: body file, $2: content type; prints the status
	$CURL -o "$D/resp.json" -w '%{http_code}' -H "Content-Type: $2" \
	    --data-binary "@$1" "$URL/v1/credentials" 2>/dev/null
}
code_is() {	# the problem's public code
	"$PY" -c "import json,sys; sys.exit(json.load(open('$D/resp.json')).get('code') != '$1')"
}

# 1. Issuance over mTLS, and the credential checked independently.
envelope e1.json || exit 1
if "$OB" submit --server "$URL" --cert "$CERT" --key "$KEY" --ca "$CA" \
    --wit wit.txt --wic wic.pem e1.json; then ok "submit: 201"; else bad "submit"; fi
$CURL -o jwks.json "$URL/v1/keys" || bad "GET /v1/keys"
# ownerbind inspect on the fresh credentials: issued now, expires later.
"$OB" inspect wit.txt >insp.txt 2>&1
grep -q '^WIT header  {"alg"' insp.txt &&
    grep -Eq '^issued   .*Z \((now|[0-9]+s ago)\)$' insp.txt &&
    grep -Eq '^expires  .*Z \(in [0-9]+[mh]\)$' insp.txt &&
    ok "inspect wit.txt: issued now, expires in ..." ||
    { bad "inspect WIT"; cat insp.txt; }
"$OB" inspect --json wic.pem >insp.json 2>&1 &&
    "$PY" -c 'import json,sys; o=json.load(open(sys.argv[1]))
assert o["kind"] == "wic" and o["uri_san"].startswith("wimse://"), o
assert o["exp"] > o["iat"] and o["expires_in"] > 0 and not o["expired"], o
assert o["issued_ago"] >= 0, o' insp.json &&
    ok "inspect --json wic.pem: names and relative times" ||
    { bad "inspect WIC"; cat insp.json; }
"$PY" - "$D" <<'EOF' 2>&1 && ok "WIT (jwcrypto) and WIC (cryptography) check" || bad "credential checks"
import base64, json, sys
from jwcrypto import jwk, jwt
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
d = sys.argv[1]
OWNER_CLAIM = "urn:uuid:b880ac85-4c39-4d7c-9849-4aea4cbc60e5"
env = json.load(open(d + "/e1.json"))
pl = env["payload"]
payload = json.loads(base64.urlsafe_b64decode(pl + "=" * (-len(pl) % 4)))
keys = jwk.JWKSet.from_json(open(d + "/jwks.json").read())
tok = jwt.JWT(jwt=open(d + "/wit.txt").read().strip(), key=keys)
hdr = json.loads(tok.header)
claims = json.loads(tok.claims)
assert hdr["typ"] == "wit+jwt", hdr
assert claims["sub"] == payload["sub"], claims
assert claims["sub_profile"] == "ai_agent"
cj = dict(claims["cnf"]["jwk"]); cj.pop("alg")
assert cj == payload["cnf"]["jwk"], (cj, payload["cnf"]["jwk"])
own = claims[OWNER_CLAIM]
assert own["id"] == "alice@example.org", own
assert claims["exp"] > claims["iat"]
pem = open(d + "/wic.pem").read()
leaf = x509.load_pem_x509_certificate(pem.split("-----END CERTIFICATE-----")[0].encode() + b"-----END CERTIFICATE-----\n")
san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
uris = san.get_values_for_type(x509.UniformResourceIdentifier)
assert uris == [payload["sub"]] and len(list(san)) == 1, list(san)
eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
assert ExtendedKeyUsageOID.CLIENT_AUTH in eku and ExtendedKeyUsageOID.SERVER_AUTH in eku
assert int(leaf.not_valid_after.timestamp()) == claims["exp"]
EOF
openssl verify -CAfile "$ICA" wic.pem >/dev/null 2>&1 && ok "openssl verify WIC" ||
    bad "openssl verify WIC"

# 2. Refusals over the network: each a clear status, nothing issued.
s=$(post e1.json application/jose+json)
[ "$s" = 403 ] && code_is OB_ERR_REJECTED && ok "replay: 403 REJECTED" || bad "replay: $s"
grep -q '"code":"OB_ERR_REPLAY"' server.log && ok "replay: the log names OB_ERR_REPLAY" ||
    bad "replay not in the log"
envelope e2.json || exit 1
"$PY" -c "
import json; e = json.load(open('e2.json'))
s = e['signatures'][-1]['signature']
e['signatures'][-1]['signature'] = ('A' if s[0] != 'A' else 'B') + s[1:]
json.dump(e, open('e2t.json', 'w'))"
s=$(post e2t.json application/jose+json)
[ "$s" = 403 ] && code_is OB_ERR_REJECTED && ok "tampered: 403" || bad "tampered: $s"
s=$(post e2.json application/json)
[ "$s" = 415 ] && ok "wrong content type: 415" || bad "content type: $s"
head -c 200000 /dev/zero | tr '\0' 'a' > big.json
s=$(post big.json application/jose+json)
[ "$s" = 413 ] && ok "oversized body: 413" || bad "oversized: $s"
printf 'not json' > junk.json
s=$(post junk.json application/jose+json)
[ "$s" = 400 ] && code_is OB_ERR_SVC_BAD_REQUEST && ok "not JSON: 400" || bad "junk: $s"
s=$(curl -sS --max-time 10 --cacert "$CA" -o /dev/null -w '%{http_code}' \
    -H 'Content-Type: application/jose+json' --data-binary @e2.json \
    "$URL/v1/credentials" 2>/dev/null)
[ "$s" != 201 ] && ok "no client certificate: refused ($s)" || bad "no client cert: 201"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=rogue -keyout rogue.key -out rogue.pem 2>/dev/null
s=$(curl -sS --max-time 10 --cacert "$CA" --cert rogue.pem --key rogue.key \
    -o /dev/null -w '%{http_code}' -H 'Content-Type: application/jose+json' \
    --data-binary @e2.json "$URL/v1/credentials" 2>/dev/null)
[ "$s" != 201 ] && ok "client certificate of an unknown CA: refused ($s)" ||
    bad "unknown CA: 201"
# Malformed HTTP and a slow client (a byte every 0.5 s) over real TLS,
# while a well-behaved request is served.
"$PY" - "$URL" "$CA" "$CERT" "$KEY" <<'EOF' && ok "malformed HTTP: 400, slow client cut" || bad "malformed/slow"
import socket, ssl, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False
ctx.load_cert_chain(sys.argv[3], sys.argv[4])
def conn():
    s = socket.create_connection((u.hostname, u.port), timeout=30)
    return ctx.wrap_socket(s)
c = conn()
c.sendall(b"\x00\x01GARBAGE / HTTP/9.9\r\n\r\n")
r = c.recv(4096)
assert r.startswith(b"HTTP/1.1 400"), r[:80]
c.close()
c = conn()
t0 = time.time()
req = b"GET /v1/keys HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
cut = False
for b in req:
    try:
        c.sendall(bytes([b]))
        time.sleep(0.5)
    except OSError:
        cut = True
        break
    if time.time() - t0 > 40:
        break
if not cut:
    c.settimeout(5)
    try:
        cut = c.recv(1) == b""
    except OSError:
        cut = True
assert cut and time.time() - t0 < 30, time.time() - t0
EOF
envelope e3.json || exit 1
s=$(post e3.json application/jose+json)
[ "$s" = 201 ] && ok "served after the hostile clients" || bad "after hostile: $s"

# 3. A broken trust store on SIGHUP: the old one keeps serving.
cp "$TRUST" trust.good
printf '{"owners": [' > "$TRUST"
kill -HUP "$SP"
sleep 0.3
grep -q '"event":"reload","code"' server.log && ok "broken reload logged" || bad "reload log"
envelope e4.json || exit 1
s=$(post e4.json application/jose+json)
[ "$s" = 201 ] && ok "broken reload: old trust store still serves" || bad "after reload: $s"
cp trust.good "$TRUST"

# 4. The issuance record: every decision, the chain intact.
out=$("$SRV" audit verify "$D/dev/audit.jsonl" 2>&1)
echo "$out" | grep -q ': 12 lines, chain intact' && ok "audit verify: $out" ||
    bad "audit verify: $out (want 12 decisions: 3 issued, replay, tampered, wrong content type, oversized, not JSON, no client certificate, unknown CA, malformed, slow)"
# Each refusal below HTTP is in the record with its code and why.
rec() { grep -c "$1" "$D/dev/audit.jsonl" | grep -qx "$2"; }
rec '"code":"OB_ERR_SVC_TOO_LARGE".*HTTP 413' 1 && ok "record: the oversized body (413 from libevent)" ||
    bad "record: oversized missing"
rec '"code":"OB_ERR_SVC_HANDSHAKE".*certificate required' 1 &&
    ok "record: the handshake without a client certificate" || bad "record: no-cert handshake missing"
rec '"code":"OB_ERR_SVC_HANDSHAKE".*unknown CA.*self-signed' 1 &&
    ok "record: the handshake with an unknown CA's certificate" || bad "record: unknown-CA handshake missing"
rec '"code":"OB_ERR_SVC_BAD_REQUEST".*HTTP 400.*malformed' 1 && ok "record: the malformed request" ||
    bad "record: malformed missing"
rec '"code":"OB_ERR_SVC_TIMEOUT".*HTTP 408' 1 && ok "record: the slow client cut at the deadline" ||
    bad "record: slowloris missing"
grep -c '"decision":"accepted"' "$D/dev/audit.jsonl" | grep -qx 3 && ok "3 accepted in the record" ||
    bad "accepted count"
printf 'x' >> "$D/dev/audit.jsonl"
"$SRV" audit verify "$D/dev/audit.jsonl" >/dev/null 2>&1 && bad "a tampered record verifies" ||
    ok "a tampered record fails audit verify"

"$SRV" --version | grep -q 'issuer key backends: signer' && ok "--version: the server's only key backend is the signer helper" ||
    bad "--version"
# 5. --check-config, then SIGTERM drains and exits 0.
"$SRV" --check-config "$(J config)" >/dev/null 2>&1 && ok "--check-config: dev config" ||
    bad "check-config good"
printf '{\n  "listen": "127.0.0.1:1",\n  "bogus": 1\n}\n' > broken.json
out=$("$SRV" --check-config broken.json 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q 'broken.json:3' && ok "--check-config names line 3" ||
    bad "check-config broken: $rc $out"
# The same file given to --config: the same error, the same exit 2 (a
# supervisor need not restart a daemon whose configuration is wrong).
out=$("$SRV" --config broken.json 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q 'broken.json:3' && ok "--config with a broken file: exit 2" ||
    bad "--config broken: $rc $out"
kill -TERM "$SP"
wait "$SP"; rc=$?
SP=
[ $rc = 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM exit $rc"
[ $fail = 0 ] || { echo "--- server log"; cat server.log; }
exit $fail
