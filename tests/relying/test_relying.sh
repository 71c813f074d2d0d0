#!/bin/sh
# A relying service in another organisation, end to end (issue #20): an
# agent gets its credential from a dev-mode identity server, then calls
# examples/relying-service with WIT + WPT headers (curl -H) and with its
# WIC as the TLS client certificate (the agent key is the WIC's key);
# both are allowed by owner, and refused once the policy denies that
# owner.  Interop both ways with jwcrypto: our WPT verifies with cnf.jwk,
# and jwcrypto's WPT for our WIT is accepted.  The steps are those of
# docs/relying-party.md.
# Usage: test_relying.sh OWNERBIND-SERVER OWNERBIND OWNERBIND-VERIFY RELYING-SERVICE
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=$1
OB=$2
VER=$3
RS=$4
PY=${OB_PYTHON:-/usr/bin/python3}
D=$(mktemp -d)
SP=
RP=
fail=0
# shellcheck disable=SC2317 # run from the EXIT trap
cleanup() {
	[ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
	[ -n "$RP" ] && kill "$RP" 2>/dev/null && wait "$RP" 2>/dev/null
	[ -n "${OB_KEEP:-}" ] && echo "kept $D" || rm -rf "$D"
}
trap cleanup EXIT
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

cd "$D" || exit 1
# 1. The identity server (dev mode), an owner, a credential for agent a1.
"$SRV" --dev "$D/dev" --listen 127.0.0.1:0 2>"$D/server.log" &
SP=$!
i=0
while [ ! -f "$D/dev/dev.json" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -f "$D/dev/dev.json" ] || { cat "$D/server.log"; echo "FAIL: no dev.json"; exit 1; }
J() { "$PY" -c "import json,sys; print(json.load(open('$D/dev/dev.json'))['$1'])"; }
URL=$(J url); AUD=$(J aud); TRUST=$(J trust); CA=$(J tls_ca)
CERT=$(J client_cert); KEY=$(J client_key); ICA=$(J issuer_ca)
"$OB" keygen --key file:owner.pem >/dev/null || exit 1
"$OB" enroll --key file:owner.pem --owner alice@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$TRUST" >/dev/null || exit 1
kill -HUP "$SP"
sleep 0.3
"$OB" request --sub wimse://example.org/agents/a1 --aud "$AUD" \
    --owner alice@example.org --agent-key agent.pem --new-agent-key \
    -o req.json >/dev/null &&
"$OB" sign --key file:owner.pem -o signed.json req.json 2>/dev/null &&
"$OB" pop --agent-key agent.pem -o env.json signed.json &&
"$OB" submit --server "$URL" --cert "$CERT" --key "$KEY" --ca "$CA" \
    --wit wit.txt --wic wic.pem env.json || { cat server.log; exit 1; }
curl -sS --max-time 20 --cacert "$CA" --cert "$CERT" --key "$KEY" \
    -o jwks.json "$URL/v1/keys" || exit 1
ok "credential issued (WIT, WIC) and the issuer's JWKS fetched"

# 2. What a relying party checks by hand, with openssl.
openssl verify -CAfile "$ICA" -purpose sslclient wic.pem >/dev/null 2>&1 &&
    ok "openssl verify -purpose sslclient: the WIC chains to the issuer CA" ||
    bad "openssl verify WIC"
openssl x509 -in wic.pem -noout -ext subjectAltName 2>/dev/null |
    grep -q 'URI:wimse://example.org/agents/a1' && ok "openssl x509: one URI SAN, the agent" ||
    bad "openssl x509 SAN"

# 3. The relying service: its own TLS certificate, two policies.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -keyout rs.key -out rs.pem 2>/dev/null || exit 1
cat > allow.json <<'EOF'
{"paths": {"/v1/report": {"allow": [
  {"owner": "alice@example.org", "assurance": ["software", "hardware", "attested"],
   "agent": "wimse://example.org/agents/*"}]}}}
EOF
cat > deny.json <<'EOF'
{"paths": {"/v1/report": {"allow": [
  {"owner": "bob@example.org"},
  {"owner": "alice@example.org", "assurance": ["attested"]}]}}}
EOF
start_rs() {	# $1: policy
	rm -f url.txt
	"$RS" --listen 127.0.0.1:0 --cert rs.pem --key rs.key --issuer-ca "$ICA" \
	    --iss "$AUD" --policy "$1" --url-file url.txt 2>>rs.log &
	RP=$!
	i=0
	while [ ! -s url.txt ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	[ -s url.txt ] || { cat rs.log; echo "FAIL: relying service did not start"; exit 1; }
	RURL=$(cat url.txt)
	PORT=${RURL##*:}
	RCURL="curl -sS --max-time 20 --cacert rs.pem --resolve localhost:$PORT:127.0.0.1"
}
stop_rs() { kill "$RP"; wait "$RP" 2>/dev/null; RP=; }
call() {	# curl args...; prints the status, the body in resp.json
	$RCURL -o resp.json -w '%{http_code}' "$@" 2>/dev/null
}
says() {	# the answer names agent and owner, and how they came
	"$PY" -c "
import json, sys
r = json.load(open('resp.json'))
sys.exit(not (r.get('result') == 'allowed' and r['agent'] == 'wimse://example.org/agents/a1'
    and r['owner'] == 'alice@example.org' and r['via'] == '$1'))"
}
start_rs allow.json

# 4. WIT + WPT in the headers: allowed, the decision logged with both.
"$OB" wpt --agent-key file:agent.pem --wit wit.txt --aud "$RURL/v1/report" \
    --headers > h1.txt || exit 1
s=$(call -H @h1.txt "$RURL/v1/report")
[ "$s" = 200 ] && says wit && ok "WIT + WPT: 200, names agent and owner" ||
    bad "WIT + WPT: $s $(cat resp.json)"
grep '"event":"decision"' rs.log | grep -q 'allow /v1/report via=wit agent=wimse://example.org/agents/a1 owner=alice@example.org' &&
    ok "log: the decision with agent and owner" || bad "decision log (wit)"
s=$(call -H @h1.txt "$RURL/v1/report")
[ "$s" = 400 ] && grep -q '"code":"OB_ERR_WPT_REPLAY"' rs.log &&
    ok "the same WPT again: 400, OB_ERR_WPT_REPLAY in the log" || bad "replay: $s"
"$OB" wpt --agent-key file:agent.pem --wit wit.txt --aud "$RURL/v1/other" \
    --headers > h2.txt || exit 1
s=$(call -H @h2.txt "$RURL/v1/report")
[ "$s" = 400 ] && grep -q '"code":"OB_ERR_WPT_AUD"' rs.log &&
    ok "a WPT for another target URI: 400, OB_ERR_WPT_AUD" || bad "aud: $s"
"$OB" keygen --key file:other-agent.pem >/dev/null 2>&1
"$OB" wpt --agent-key file:other-agent.pem --wit wit.txt --aud "$RURL/v1/report" \
    >/dev/null 2>&1 && bad "ownerbind wpt signed with a key not in cnf.jwk" ||
    ok "ownerbind wpt refuses a key that is not the WIT's"
s=$(call "$RURL/v1/report")
[ "$s" = 403 ] && ok "no credential: 403" || bad "no credential: $s"
# A bearer token beside the WIT must be bound by ath.
printf 'at-%s\n' "$$" > at.txt
"$OB" wpt --agent-key file:agent.pem --wit wit.txt --aud "$RURL/v1/report" \
    --headers > h1b.txt || exit 1
s=$(call -H @h1b.txt -H "Authorization: Bearer $(cat at.txt)" "$RURL/v1/report")
"$OB" wpt --agent-key file:agent.pem --wit wit.txt --aud "$RURL/v1/report" \
    --ath at.txt --headers > h3.txt || exit 1
s2=$(call -H @h3.txt -H "Authorization: Bearer $(cat at.txt)" "$RURL/v1/report")
[ "$s" = 400 ] && [ "$s2" = 200 ] && grep -q '"code":"OB_ERR_WPT_TOKEN_HASH"' rs.log &&
    ok "an access token: refused without ath, allowed with it" || bad "ath: $s $s2"

# 5. The WIC as the TLS client certificate, the agent key as its key.
s=$(call --cert wic.pem --key agent.pem "$RURL/v1/report")
[ "$s" = 200 ] && says wic && ok "mTLS with the WIC: 200, names agent and owner" ||
    bad "WIC: $s $(cat resp.json)"
grep '"event":"decision"' rs.log | grep -q 'allow /v1/report via=wic agent=wimse://example.org/agents/a1 owner=alice@example.org' &&
    ok "log: the WIC decision with agent and owner" || bad "decision log (wic)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=rogue -addext subjectAltName=URI:wimse://example.org/agents/a1 \
    -keyout rogue.key -out rogue.pem 2>/dev/null
s=$(call --cert rogue.pem --key rogue.key "$RURL/v1/report")
[ "$s" != 200 ] && ok "a client certificate of another CA: refused ($s)" ||
    bad "rogue certificate: 200"
s=$(call --cert "$CERT" --key "$KEY" "$RURL/v1/report")
[ "$s" != 200 ] && ok "the identity server's TLS client certificate is no WIC ($s)" ||
    bad "TLS client certificate accepted"

# 6. Interop with jwcrypto, both ways.
"$OB" wpt --agent-key file:agent.pem --wit wit.txt --aud "$RURL/v1/report" \
    -o ours.txt || exit 1
"$PY" - "$D" "$RURL/v1/report" <<'PYEOF' && ok "jwcrypto verifies our WPT with cnf.jwk; we accept jwcrypto's" || bad "jwcrypto interop"
import base64, hashlib, json, os, sys, time
from jwcrypto import jwk, jws, jwt
d, aud = sys.argv[1], sys.argv[2]
wit = open(d + "/wit.txt").read().strip()
b = wit.split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(b + "=" * (-len(b) % 4)))
cnf = jwk.JWK(**claims["cnf"]["jwk"])
wth = base64.urlsafe_b64encode(hashlib.sha256(wit.encode()).digest()).rstrip(b"=").decode()
# Ours, checked by a stock JOSE library with the WIT's cnf.jwk.
ours = open(d + "/ours.txt").read().strip()
t = jwt.JWT(jwt=ours, key=cnf, algs=[claims["cnf"]["jwk"]["alg"]])
h = json.loads(t.header)
c = json.loads(t.claims)
assert h == {"alg": "ES256", "typ": "wpt+jwt"}, h
assert c["aud"] == aud and c["wth"] == wth, c
assert len(c["jti"]) >= 22 and 0 < c["exp"] - time.time() <= 60, c
# jwcrypto's, for our WIT, with the agent key.
key = jwk.JWK.from_pem(open(d + "/agent.pem", "rb").read())
tok = jwt.JWT(header={"alg": "ES256", "typ": "wpt+jwt"},
    claims={"aud": aud, "exp": int(time.time()) + 120,
            "jti": base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode(),
            "wth": wth})
tok.make_signed_token(key)
open(d + "/theirs.txt", "w").write(tok.serialize() + "\n")
PYEOF
"$VER" wit --issuer-jwks jwks.json --aud "$RURL/v1/report" --json wit.txt theirs.txt \
    > theirs.json && grep -q '"owner":"alice@example.org"' theirs.json &&
    ok "ownerbind-verify wit accepts jwcrypto's WPT" || bad "verify jwcrypto WPT"
printf 'Workload-Identity-Token: %s\nWorkload-Proof-Token: %s\n' "$(cat wit.txt)" \
    "$(cat theirs.txt)" > h4.txt
s=$(call -H @h4.txt "$RURL/v1/report")
[ "$s" = 200 ] && says wit && ok "the service accepts jwcrypto's WPT" || bad "jwcrypto WPT at the service: $s"
"$OB" wpt --agent-key file:agent.pem --wit wit.txt --aud "$RURL/v1/report" \
    -o ours2.txt || exit 1
"$VER" wit --issuer-jwks jwks.json --issuer-ca "$ICA" --iss "$AUD" \
    --aud "$RURL/v1/report" wit.txt ours2.txt >/dev/null &&
    ok "ownerbind-verify wit with both the JWKS and the issuer CA" ||
    bad "verify with JWKS and CA"
"$VER" wit --issuer-jwks jwks.json --iss https://other.example \
    --aud "$RURL/v1/report" wit.txt ours2.txt >/dev/null 2>&1; rc=$?
[ $rc = 1 ] && ok "ownerbind-verify wit: another iss, exit 1" || bad "wit iss: exit $rc"
# The WIT is a bearer token: ownerbind-verify reads it with core dumps
# off (RLIMIT_CORE 0, whatever limit it was started with). Held at its
# open of a FIFO, then let go.
mkfifo witfifo
# shellcheck disable=SC3045 # dash and bash have ulimit -c
( ulimit -c unlimited 2>/dev/null || ulimit -c 1000000
  exec "$VER" wit --issuer-jwks jwks.json --aud "$RURL/v1/report" witfifo \
    ours2.txt >/dev/null 2>&1 ) &
VP=$!
i=0
while ! grep -q 'ownerbind-verif' "/proc/$VP/comm" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.02; i=$((i + 1))
done
sleep 0.2
core=$(awk '/^Max core file size/ { print $5 " " $6 }' "/proc/$VP/limits")
cat wit.txt >witfifo
wait "$VP"
[ "$core" = "0 0" ] &&
    ok "ownerbind-verify wit runs with core dumps off (started with them on)" ||
    bad "ownerbind-verify hardening: core file size '$core'"
"$VER" wic --issuer-ca "$ICA" --json wic.pem > wic.json &&
    grep -q '"via":"wic"' wic.json && grep -q '"owner":"alice@example.org"' wic.json &&
    ok "ownerbind-verify wic" || bad "ownerbind-verify wic"
"$VER" wic --issuer-ca "$CA" wic.pem >/dev/null 2>&1; rc=$?
[ $rc = 1 ] && ok "ownerbind-verify wic: another CA, exit 1" || bad "wic other CA: exit $rc"
stop_rs

# 7. A policy that denies this owner refuses both ways in.
start_rs deny.json
"$OB" wpt --agent-key file:agent.pem --wit wit.txt --aud "$RURL/v1/report" \
    --headers > h5.txt || exit 1
s=$(call -H @h5.txt "$RURL/v1/report")
[ "$s" = 403 ] && ok "deny policy: WIT + WPT refused (403)" || bad "deny wit: $s"
s=$(call --cert wic.pem --key agent.pem "$RURL/v1/report")
[ "$s" = 403 ] && ok "deny policy: WIC refused (403)" || bad "deny wic: $s"
n=$(grep '"event":"decision"' rs.log | grep -c 'deny /v1/report via=wi[tc] agent=wimse://example.org/agents/a1 owner=alice@example.org')
[ "$n" = 2 ] && ok "log: both denials name agent and owner" || bad "deny log: $n"
grep -q '"code":"OB_ERR_RP_POLICY"' rs.log && ok "log: OB_ERR_RP_POLICY" || bad "policy code"
stop_rs
[ $fail = 0 ] || { echo "--- relying service log"; cat rs.log; }
exit $fail
