#!/bin/sh
# test_gateway_approval.sh SERVER OWNERBIND SIGNER GATEWAY: issue #15,
# acceptance 2.  A rule asks 2 of alice, bob and carol.  The HSM signs
# only after two distinct named owners approved (`ownerbind approve`,
# posted to POST /v1/approvals); one approval, the same owner twice, an
# owner the rule does not name, an approval bound to another request and
# a forged one do not count; a request nobody approves in time is refused
# with OB_ERR_APPROVAL_TIMEOUT and never signed.
# Exit 0 passed, 1 failed, 77 skipped.
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=${1:?}; OB=${2:?}; SIG=${3:?}; GW=${4:?}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${OB_PYTHON:-/usr/bin/python3}
D=$(mktemp -d /tmp/gateway-appr.XXXXXX) || exit 1
fails=0
CA=''
CB=''
ok() { echo "ok - $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
# shellcheck disable=SC2317 # run from the EXIT trap
cleanup() {
	stop_all
	[ -n "$CA" ] && kill "$CA" 2>/dev/null && wait "$CA" 2>/dev/null
	[ -n "$CB" ] && kill "$CB" 2>/dev/null && wait "$CB" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
: "$SIG"
# shellcheck source=tests/gateway/gw-setup.sh
. "$HERE/gw-setup.sh"
for o in alice bob carol mallory; do
	"$OB" keygen --key "file:$D/$o.pem" >/dev/null &&
	"$OB" enroll --key "file:$D/$o.pem" --owner "$o" \
	    --may-bind 'wimse://acme.example/*' --trust "$STRUST" >/dev/null ||
		die "enroll $o"
done
"$PY" - "$D" <<'PY' || die "policy"
import json, sys
d = sys.argv[1]
p = json.load(open(d + "/policy.json"))
p["rules"].insert(0, {"name": "prod-two-of-three", "effect": "allow",
    "agents": ["wimse://acme.example/agents/prod-*"],
    "approvals": {"k": 2, "owners": ["alice", "bob", "carol"]}})
json.dump(p, open(d + "/policy.json", "w"))
g = json.load(open(d + "/gateway.json"))
g["approval_timeout_s"] = 20
json.dump(g, open(d + "/gateway.json", "w"))
PY
start_server
start_gateway

list() {	# the pending list into $D/list.json; prints how many
	curl -sS --max-time 10 --cacert "$D/tlsca.pem" --cert "$D/proxy.pem" \
	    --key "$D/proxy.key" -o "$D/list.json" "$GURL/v1/approvals" 2>/dev/null
	"$PY" -c "import json; print(len(json.load(open('$D/list.json'))['pending']))"
}
approve() {	# $1 approval file; prints the status; body in ap.json
	curl -sS --max-time 10 --cacert "$D/tlsca.pem" --cert "$D/proxy.pem" \
	    --key "$D/proxy.key" -o "$D/ap.json" -w '%{http_code}' \
	    -H 'Content-Type: application/jose+json' --data-binary "@$1" \
	    "$GURL/v1/approvals" 2>/dev/null
}
held() {	# $1 curl pid: still waiting for its answer
	kill -0 "$1" 2>/dev/null
}
signed_for() { grep -c "\"event\":\"sign\".*agents/$1 " "$D/gateway.log"; }
wait_pending() {	# $1 count
	i=0
	while [ "$(list)" != "$1" ]; do
		i=$((i + 1)); [ $i -gt 200 ] && die "never $1 pending"
		sleep 0.05
	done
}

envelope "$D/a.json" prod-a || die "envelope"
envelope "$D/b.json" prod-b || die "envelope"
curl -sS --max-time 60 --cacert "$D/tlsca.pem" --cert "$D/proxy.pem" \
    --key "$D/proxy.key" -o "$D/ra.json" -w '%{http_code}' \
    -H 'Content-Type: application/jose+json' --data-binary "@$D/a.json" \
    "$GURL/v1/credentials" >"$D/sa" 2>/dev/null &
CA=$!
wait_pending 1
IDA=$("$PY" -c "import json; print(json.load(open('$D/list.json'))['pending'][0]['id'])")
cp "$D/list.json" "$D/list-a.json"
curl -sS --max-time 60 --cacert "$D/tlsca.pem" --cert "$D/proxy.pem" \
    --key "$D/proxy.key" -o "$D/rb.json" -w '%{http_code}' \
    -H 'Content-Type: application/jose+json' --data-binary "@$D/b.json" \
    "$GURL/v1/credentials" >"$D/sb" 2>/dev/null &
CB=$!
wait_pending 2
IDB=$("$PY" -c "
import json
print([p['id'] for p in json.load(open('$D/list.json'))['pending'] if p['id'] != '$IDA'][0])")
grep -q "allowed by rule prod-two-of-three, pending 2 approvals" "$D/gw-audit.jsonl" &&
	ok "held: the record says pending 2 approvals" || bad "no pending record"

"$OB" approve --key "file:$D/alice.pem" --id "$IDA" -o "$D/alice-a.json" \
    "$D/list.json" 2>"$D/approve.err" || die "approve: $(cat "$D/approve.err")"
grep -q "agent    wimse://acme.example/agents/prod-a" "$D/approve.err" &&
	ok "ownerbind approve shows the request" || bad "approve output"
s=$(approve "$D/alice-a.json")
[ "$s" = 200 ] && grep -q '"complete":false' "$D/ap.json" &&
	ok "alice's approval counts (1 of 2)" || bad "alice: $s $(cat "$D/ap.json")"
sleep 0.2
held "$CA" && [ "$(signed_for prod-a)" = 0 ] &&
	ok "one approval: still held, nothing signed" || bad "signed after one approval"
s=$(approve "$D/alice-a.json")
[ "$s" = 403 ] && grep -q OB_ERR_REJECTED "$D/ap.json" &&
    logged 'alice approved request .* already' &&
	ok "the same approval again: 403, not counted" || bad "replay: $s"
"$OB" approve --key "file:$D/alice.pem" --id "$IDA" -o "$D/alice-a2.json" \
    "$D/list.json" 2>/dev/null || die "approve"
s=$(approve "$D/alice-a2.json")
[ "$s" = 403 ] && logged 'alice approved request .* already' &&
	ok "a second, fresh approval by alice: 403" || bad "alice twice: $s"
"$OB" approve --key "file:$D/mallory.pem" --id "$IDA" -o "$D/mal.json" \
    "$D/list.json" 2>/dev/null || die "approve"
s=$(approve "$D/mal.json")
[ "$s" = 403 ] && logged 'is no key of an owner rule prod-two-of-three names' &&
	ok "an enrolled owner the rule does not name: 403" || bad "mallory: $s"
# Bob approves B, but the approval names A: bound to another request.
"$PY" - "$D/list.json" "$IDA" "$IDB" "$D/cross.json" <<'PY' || die "cross"
import json, sys
l = json.load(open(sys.argv[1]))["pending"]
b = [p for p in l if p["id"] == sys.argv[3]][0]
b["id"] = sys.argv[2]
json.dump(b, open(sys.argv[4], "w"))
PY
"$OB" approve --key "file:$D/bob.pem" -o "$D/bob-cross.json" "$D/cross.json" \
    2>/dev/null || die "approve"
s=$(approve "$D/bob-cross.json")
[ "$s" = 403 ] && logged 'approval is for another request or gateway' &&
	ok "bob's approval of B's request posted for A: 403" || bad "cross: $s"
"$PY" - "$D/alice-a.json" "$D/bob.pem" "$D/forged.json" <<'PY' || die "forge"
import base64, json, sys
a = json.load(open(sys.argv[1]))
s = a["signature"]
a["signature"] = ("A" if s[0] != "A" else "B") + s[1:]
json.dump(a, open(sys.argv[3], "w"))
PY
s=$(approve "$D/forged.json")
[ "$s" = 403 ] && logged 'the signature does not verify' &&
	ok "a forged signature: 403" || bad "forged: $s"
printf '{"protected":"e30","payload":"e30","signature":"AA"}' >"$D/junk.json"
s=$(approve "$D/junk.json")
[ "$s" = 403 ] && ok "a malformed approval: 403" || bad "junk: $s"
held "$CA" && [ "$(signed_for prod-a)" = 0 ] &&
	ok "after all that: still held, nothing signed" || bad "signed too early"

"$OB" approve --key "file:$D/bob.pem" --id "$IDA" -o "$D/bob-a.json" \
    "$D/list-a.json" 2>/dev/null || die "approve"
s=$(approve "$D/bob-a.json")
[ "$s" = 200 ] && grep -q '"complete":true' "$D/ap.json" &&
	ok "bob's approval completes 2 of 2" || bad "bob: $s $(cat "$D/ap.json")"
wait "$CA"; CA=''
logged '"event":"sign".*agents/prod-a '
[ "$(cat "$D/sa")" = 201 ] && [ "$(signed_for prod-a)" = 1 ] &&
	ok "then the HSM signed and the server issued: 201" ||
	bad "after two approvals: $(cat "$D/sa") $(cat "$D/ra.json")"
grep -q 'approved: 2 of 3 owners of rule prod-two-of-three' "$D/gw-audit.jsonl" &&
	ok "the record names the approvals" || bad "approval record"

# Nobody approves B: it times out, unsigned.
wait "$CB"; CB=''
[ "$(cat "$D/sb")" = 403 ] && grep -q OB_ERR_APPROVAL_TIMEOUT "$D/rb.json" &&
    [ "$(signed_for prod-b)" = 0 ] &&
	ok "no approvals: 403 OB_ERR_APPROVAL_TIMEOUT, nothing signed" ||
	bad "timeout: $(cat "$D/sb") $(cat "$D/rb.json")"
# The approval endpoints take the proxy's bucket too (a burst of 3).
"$PY" - "$D/gateway.json" <<'EOF' || die "gateway.json"
import json, sys
g = json.load(open(sys.argv[1]))
g["rate"]["per_proxy"] = {"per_second": 0.01, "burst": 3}
json.dump(g, open(sys.argv[1], "w"))
EOF
nr=$(grep -c '"event":"reload"' "$D/gateway.log")
kill -HUP "$GP"
i=0
while [ "$(grep -c '"event":"reload"' "$D/gateway.log")" = "$nr" ] && [ $i -lt 200 ]; do
	sleep 0.05; i=$((i + 1))
done
st=
for i in 1 2 3 4; do
	st="$st $(curl -sS --max-time 10 --cacert "$D/tlsca.pem" --cert "$D/proxy.pem" \
	    --key "$D/proxy.key" -D "$D/lh.txt" -o "$D/list.json" -w '%{http_code}' \
	    "$GURL/v1/approvals" 2>/dev/null)"
done
s=$(approve "$D/bob-a.json")
[ "$st" = " 200 200 200 429" ] && [ "$s" = 429 ] && grep -qi '^retry-after: [1-9]' "$D/lh.txt" &&
    grep -q 'rate-limited: per-proxy bucket of p1' "$D/gw-audit.jsonl" &&
	ok "GET and POST /v1/approvals past the proxy's bucket: 429 with Retry-After, recorded" ||
	bad "approvals rate: $st / $s"
stop_all
out=$("$GW" audit verify "$D/gw-audit.jsonl" 2>&1)
echo "$out" | grep -q 'chain intact' && ok "$out" || bad "audit: $out"
[ $fails = 0 ] || { echo "--- gateway log"; tail -20 "$D/gateway.log"; }
exit $fails
