#!/bin/sh
# test_gateway.sh SERVER OWNERBIND SIGNER GATEWAY: issue #15, acceptance 1
# and 5, over the network with real parts: a development identity server,
# SoftHSM2 behind ownerbind-signer, curl as the proxy.
#   AC1  an agent's request through the gateway yields a credential whose
#        owner claim names the organisation and the gateway; the server
#        verified the chain to the organisation CA (it refuses once the
#        trust store names another CA); a policy-denied request never
#        reaches the server (its record does not grow); the decision names
#        the rule; the gateway process maps no PKCS#11 module.
#   AC5  `ownerbind-gateway audit verify` passes the record, and detects a
#        removed, an altered, an inserted and a reordered line.
# Exit 0 passed, 1 failed, 77 skipped.
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=${1:?}; OB=${2:?}; SIG=${3:?}; GW=${4:?}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${OB_PYTHON:-/usr/bin/python3}
D=$(mktemp -d /tmp/gateway.XXXXXX) || exit 1
fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
# shellcheck disable=SC2317 # run from the EXIT trap
cleanup() { stop_all; rm -rf "$D"; }
trap cleanup EXIT
: "$SIG"
# shellcheck source=tests/gateway/gw-setup.sh
. "$HERE/gw-setup.sh"
start_server
start_gateway

srvlines() { wc -l <"$D/srv/audit.jsonl"; }
# --- AC1: the credential ---
envelope "$D/e1.json" a1 || die "envelope"
s=$(post proxy "$D/e1.json")
[ "$s" = 201 ] && ok "through the gateway: 201" ||
	bad "allowed request: $s $(cat "$D/resp.json")"
"$PY" - "$D/resp.json" "$ORG" "$GWID" <<'PY' && ok "the owner claim names $ORG and $GWID, kind gateway" || bad "owner claim: $(cat "$D/resp.json")"
import base64, json, sys
r = json.load(open(sys.argv[1]))
p = r["wit"].split(".")[1]
w = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
o = [v for k, v in w.items() if isinstance(v, dict) and v.get("model")][0]
assert o == r["owner"], (o, r["owner"])
assert o["id"] == sys.argv[2] and o["gateway"] == sys.argv[3], o
assert o["model"] == "owner-mediated" and o["kind"] == "gateway", o
assert o["type"] == "organization", o
PY
grep -q '"peer":"gw-acme".*"decision":"accepted"' "$D/srv/audit.jsonl" &&
	ok "the server's record: accepted from gw-acme" || bad "server record"
logged '"event":"sign".*"purpose":"gateway-entry".*proxy=p1' &&
	ok "the signer logged the gateway entry for proxy p1" ||
	bad "no signer line: $(grep sign "$D/gateway.log")"
grep -q '"decision":"accepted".*allowed by rule acme-agents; signing for proxy p1' \
    "$D/gw-audit.jsonl" && ok "the gateway's record names the rule" ||
	bad "gateway record: $(cat "$D/gw-audit.jsonl")"
# Debian's libcurl maps libp11-kit.so (librtmp -> gnutls), the loader
# library; no module may be mapped, and the gateway links none itself.
HPID=$("$PY" -c "import json,urllib.request; print(json.load(urllib.request.urlopen('$GMET/healthz'))['signer']['pid'])")
if grep -Eiq 'softhsm|p11-kit-proxy|/pkcs11/' "/proc/$GP/maps"; then
	bad "the gateway maps a PKCS#11 module: $(grep -Ei 'softhsm|pkcs11' "/proc/$GP/maps" | head -2)"
elif ! grep -q libsofthsm2 "/proc/$HPID/maps"; then
	bad "the helper maps no libsofthsm2: the check proves nothing"
else
	ok "the gateway maps no PKCS#11 module (its helper $HPID maps libsofthsm2)"
fi
if readelf -d "$GW" | grep NEEDED | grep -Eiq 'p11|tss2|fido2|pcsc'; then
	bad "the gateway links: $(readelf -d "$GW" | grep NEEDED)"
else
	ok "the gateway's binary links no token library"
fi
grep -q '^Seccomp:[[:space:]]*2' "/proc/$GP/status" &&
    logged 'seccomp: the allow-list is in force' &&
    logged '"event":"sandbox","detail":"landlock' &&
	ok "the gateway runs under seccomp (and Landlock where the kernel has it)" ||
	bad "no sandbox: $(grep sandbox "$D/gateway.log")"
if grep -aq "$UPIN" "/proc/$GP/environ" "/proc/$GP/cmdline"; then
	bad "the PIN is in the gateway's environment or argv"
else
	ok "no PIN in the gateway's environment or argv"
fi

# --- AC1: denied by policy, never forwarded ---
before=$(srvlines)
envelope "$D/e2.json" sandbox-x || die "envelope"
s=$(post proxy "$D/e2.json")
[ "$s" = 403 ] && code_is OB_ERR_POLICY_DENIED &&
	ok "deny rule: 403 OB_ERR_POLICY_DENIED" || bad "deny rule: $s"
envelope "$D/e3.json" a3 1200 || die "envelope"
s=$(post proxy "$D/e3.json")
[ "$s" = 403 ] && code_is OB_ERR_POLICY_DENIED &&
	ok "max_lifetime 600 against 1200: 403" || bad "lifetime: $s"
"$OB" request --sub "wimse://other.example/agents/x" --aud "$AUD" \
    --owner "$ORG" --agent-key "$D/ox.pem" --new-agent-key -o "$D/ox-req.json" \
    >/dev/null && "$OB" pop --model owner-mediated --agent-key "$D/ox.pem" \
    -o "$D/e4.json" "$D/ox-req.json" || die "envelope"
s=$(post proxy "$D/e4.json")
[ "$s" = 403 ] && code_is OB_ERR_POLICY_DENIED &&
	ok "no rule selects another trust domain: 403" || bad "default: $s"
[ "$(srvlines)" = "$before" ] && ok "denied requests never reached the server" ||
	bad "the server saw a denied request"
grep -q 'denied by rule no-sandbox-agents: a deny rule' "$D/gw-audit.jsonl" &&
    grep -q 'denied by rule acme-agents: lifetime 1200s over 600s' "$D/gw-audit.jsonl" &&
    grep -q 'denied by rule (default): no rule selects' "$D/gw-audit.jsonl" &&
	ok "each denial names its rule in the record" || bad "denial records"

# --- not for the gateway: other peers, other shapes ---
s=$(post stranger "$D/e1.json")
[ "$s" = 403 ] && code_is OB_ERR_SVC_PEER_UNKNOWN &&
	ok "a certificate that names no proxy: 403" || bad "stranger: $s"
"$OB" pop --agent-key "$D/agent1.pem" -o "$D/am.json" "$D/req1.json" 2>/dev/null ||
	die "agent-mediated pop"
s=$(post proxy "$D/am.json")
[ "$s" = 403 ] && code_is OB_ERR_REJECTED &&
	ok "an agent-mediated request is refused (not owner-mediated)" || bad "model: $s"
grep -q 'OB_ERR_CHANNEL_MISMATCH' "$D/gw-audit.jsonl" && ok "... recorded as a channel mismatch" ||
	bad "channel mismatch not recorded"
"$PY" - "$D/e1.json" "$D/forged.json" <<'PY' || die "forge"
import json, sys
e = json.load(open(sys.argv[1]))
s = e["signatures"][0]["signature"]
e["signatures"][0]["signature"] = ("A" if s[0] != "A" else "B") + s[1:]
json.dump(e, open(sys.argv[2], "w"))
PY
before=$(srvlines)
s=$(post proxy "$D/forged.json")
[ "$s" = 403 ] && [ "$(srvlines)" = "$before" ] &&
	ok "a broken agent signature: 403, not forwarded" || bad "forged: $s"

# --- SIGHUP: the configuration (decision 146) ---
cp "$D/gateway.json" "$D/gateway.good"
gwconf() {	# $1: JSON merged over gateway.good into gateway.json
	"$PY" - "$D" "$1" <<'PY' || die "gwconf $1"
import json, sys
d, extra = sys.argv[1], json.loads(sys.argv[2])
g = json.load(open(d + "/gateway.good"))
for k, v in extra.items():
    if isinstance(v, dict) and isinstance(g.get(k), dict):
        g[k].update(v)
    else:
        g[k] = v
json.dump(g, open(d + "/gateway.tmp", "w"), indent=1)
PY
	mv "$D/gateway.tmp" "$D/gateway.json"
}
greloads() { grep -c '"event":"reload"' "$D/gateway.log"; }
ghup() {	# wait for one more "reload" line
	before=$(greloads)
	kill -HUP "$GP"
	i=0
	while [ "$(greloads)" -le "$before" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
}
gfailed() { curl -sS --max-time 10 "$GMET/metrics" | sed -n 's/^ob_reloads_total{result="failed"} //p'; }
slow='{"rate": {"per_proxy": {"per_second": 0.001, "burst": 1}}}'
f0=$(gfailed)
gwconf "{\"limits\": {\"workers\": 3}, ${slow#\{}"
ghup
logged '"event":"reload","code":"OB_ERR_GW_RELOAD","detail":"[^"]*gateway.json: \\"limits.workers\\" changed: it is fixed at start' &&
	ok "a changed fixed member (limits.workers) is refused naming it" ||
	bad "fixed member: $(grep '"event":"reload"' "$D/gateway.log" | tail -1)"
[ "$(gfailed)" = $((f0 + 1)) ] && ok "ob_reloads_total{result=\"failed\"} counts it" ||
	bad "failed reloads: $(gfailed) (was $f0)"
envelope "$D/r1.json" r1 && envelope "$D/r2.json" r2 || die "envelope"
s1=$(post proxy "$D/r1.json"); s2=$(post proxy "$D/r2.json")
[ "$s1$s2" = 201201 ] && ok "... and the rate limit in that file is not applied (201, 201)" ||
	bad "after the refused reload: $s1 $s2"
gwconf "$slow"
ghup
logged '"event":"reload","detail":"configuration reloaded: 1 proxies' &&
	ok "a good file is reloaded" || bad "good reload: $(grep '"event":"reload"' "$D/gateway.log" | tail -1)"
envelope "$D/r3.json" r3 && envelope "$D/r4.json" r4 || die "envelope"
s1=$(post proxy "$D/r3.json"); s2=$(post proxy "$D/r4.json")
[ "$s1$s2" = 201429 ] && code_is OB_ERR_SVC_RATE_LIMITED &&
	ok "the reloaded per-proxy rate (burst 1) applies: 201, then 429" || bad "reloaded rate: $s1 $s2"
gwconf '{"proxies": [{"id": "p9", "san_uri": "wimse://acme.example/proxy/p9"}]}'
ghup
envelope "$D/r5.json" r5 || die "envelope"
s=$(post proxy "$D/r5.json")
[ "$s" = 403 ] && code_is OB_ERR_SVC_PEER_UNKNOWN && ok "a proxy removed by a reload is refused (403)" ||
	bad "removed proxy: $s"
cp "$D/gateway.good" "$D/gateway.json"
ghup
s=$(post proxy "$D/r5.json")
[ "$s" = 201 ] && ok "the original file again: the proxy is served" || bad "restored: $s"
# An agent's 429 gives back the owner's token it took (decision 174):
# owner burst 2, agent burst 1, neither refilled in the test's time.
gwconf '{"rate": {"per_owner": {"per_second": 0.001, "burst": 2}, "per_agent": {"per_second": 0.001, "burst": 1}}}'
ghup
envelope "$D/q1.json" q1 || die "envelope"
"$OB" request --sub wimse://acme.example/agents/q1 --aud "$AUD" --owner "$ORG" \
    --agent-key "$D/agent$n.pem" -o "$D/q2req.json" >/dev/null &&
    "$OB" pop --model owner-mediated --agent-key "$D/agent$n.pem" \
    -o "$D/q2.json" "$D/q2req.json" || die "envelope q2"
envelope "$D/q3.json" q3 && envelope "$D/q4.json" q4 || die "envelope"
s1=$(post proxy "$D/q1.json"); s2=$(post proxy "$D/q2.json")
a2=$(grep -c 'rate-limited: per-agent bucket' "$D/gw-audit.jsonl")
s3=$(post proxy "$D/q3.json"); s4=$(post proxy "$D/q4.json")
[ "$s1$s2$s3$s4" = 201429201429 ] && [ "$a2" = 1 ] &&
    grep -q 'rate-limited: per-owner bucket' "$D/gw-audit.jsonl" &&
    ok "an agent's 429 leaves its owner's token: 201, 429 (agent), 201 (another agent), 429 (owner)" ||
    bad "owner's token on an agent's 429: $s1 $s2 $s3 $s4 (agent lines $a2)"
cp "$D/gateway.good" "$D/gateway.json"
ghup
# log_level is reloaded: at "warn" a 201 leaves no request line, the
# replay's 403 a "warn" one (the reload's own "info" line is not written:
# /metrics counts it); the record has both decisions either way.
gok() { curl -sS --max-time 10 "$GMET/metrics" | sed -n 's/^ob_reloads_total{result="ok"} //p'; }
k=$(gok)
gwconf '{"log_level": "warn"}'
kill -HUP "$GP"
i=0
while [ "$(gok)" = "$k" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
at=$(wc -l <"$D/gateway.log"); na=$(wc -l <"$D/gw-audit.jsonl")
envelope "$D/r6.json" r6 || die "envelope"
s1=$(post proxy "$D/r6.json"); s2=$(post proxy "$D/r6.json")
sleep 0.2
tail -n +$((at + 1)) "$D/gateway.log" | grep '"svc":"ownerbind-gateway"' >"$D/warn.log"
[ "$s1$s2" = 201403 ] && ! grep -q '"level":"info"' "$D/warn.log" &&
    grep -q '"level":"warn".*"path":"/v1/credentials","status":403' "$D/warn.log" &&
    [ $(($(wc -l <"$D/gw-audit.jsonl") - na)) -ge 2 ] &&
	ok "log_level warn: the 201 unlogged, the 403 logged as warn, both in the record" ||
	bad "log_level warn: $s1 $s2: $(cat "$D/warn.log")"
cp "$D/gateway.good" "$D/gateway.json"
ghup
# --- Replays (decision 169): the HSM signs an agent's request once; the
# same envelope again is refused by the gateway itself, unsigned, and
# never reaches the server; so is a second one with the same agent key
# and jti.
gsig() { curl -sS --max-time 10 "$GMET/metrics" | sed -n "s/^$1 //p"; }
envelope "$D/rp.json" rp || die "envelope"
n0=$(gsig ob_gateway_signed_total); l0=$(srvlines)
s1=$(post proxy "$D/rp.json"); s2=$(post proxy "$D/rp.json")
c2=$("$PY" -c "import json; print(json.load(open('$D/resp.json')).get('code', '-'))" 2>/dev/null)
n1=$(gsig ob_gateway_signed_total); l1=$(srvlines)
[ "$s1$s2" = 201403 ] && [ $((n1 - n0)) = 1 ] && [ $((l1 - l0)) = 1 ] &&
    [ "$c2" = OB_ERR_REJECTED ] &&
    grep -q '"decision":"rejected".*replay, not signed: OB_ERR_REPLAY: the gateway forwarded' "$D/gw-audit.jsonl" &&
	ok "a replayed envelope: 403 OB_ERR_REJECTED from the gateway (as the server's: no detail), unsigned (signed +$((n1 - n0))), the server saw one (+$((l1 - l0)) lines), recorded" ||
	bad "replay: $s1 $s2 signed +$((n1 - n0)) server +$((l1 - l0)): $c2"
[ "$(gsig ob_gateway_replays_refused_total)" -ge 1 ] &&
    [ "$(gsig ob_gateway_requests_held)" -ge 1 ] &&
	ok "/metrics: replays refused and requests held" ||
	bad "replay metrics: $(curl -sS "$GMET/metrics" | grep -E 'replays|held')"
envelope "$D/r7.json" r7 || die "envelope"
s=$(post proxy "$D/r7.json")
sleep 0.2
[ "$s" = 201 ] && tail -n 5 "$D/gateway.log" |
    grep -q '"svc":"ownerbind-gateway","request_id":"[0-9a-f]*","peer":"p1".*"status":201' &&
	ok "log_level back to info: the 201 logged again" ||
	bad "log_level info: $s: $(tail -n 5 "$D/gateway.log")"

# --- Malformed, oversized and slow input to the gateway itself: each
# refused with its code, nothing signed, and the next request served.
signs=$(grep -c '"event":"sign"' "$D/gateway.log")
hpost() {	# $1 content type, $2 body file: the status
	curl -sS --max-time 30 --cacert "$D/tlsca.pem" --cert "$D/proxy.pem" \
	    --key "$D/proxy.key" -o "$D/resp.json" -w '%{http_code}' \
	    -H "Content-Type: $1" --data-binary "@$2" "$GURL/v1/credentials" 2>/dev/null
}
echo 'not an envelope' >"$D/junk.txt"
s=$(hpost text/plain "$D/junk.txt")
[ "$s" = 415 ] && code_is OB_ERR_SVC_MEDIA_TYPE && ok "text/plain: 415 OB_ERR_SVC_MEDIA_TYPE" ||
    bad "text/plain: $s $(cat "$D/resp.json")"
s=$(hpost application/jose+json "$D/junk.txt")
[ "$s" = 400 ] && code_is OB_ERR_SVC_BAD_REQUEST &&
    ok "a body that is not JSON: 400 OB_ERR_SVC_BAD_REQUEST (docs/errors.md)" ||
    bad "junk envelope: $s $(cat "$D/resp.json")"
echo '{"payload": "e30", "signatures": []}' >"$D/nosig.json"
s=$(hpost application/jose+json "$D/nosig.json")
[ "$s" = 403 ] && code_is OB_ERR_REJECTED && ok "JSON that is no envelope: 403 OB_ERR_REJECTED" ||
    bad "no-signature envelope: $s $(cat "$D/resp.json")"
head -c 70000 /dev/zero | tr '\0' 'a' >"$D/big.txt"
s=$(hpost application/jose+json "$D/big.txt")
[ "$s" = 413 ] && ok "a body over limits.max_body (64 KiB): 413" || bad "oversized: $s $(cat "$D/resp.json")"
# Headers trickled a byte every 0.5 s: cut at limits.timeout_s (10 s).
mkdir -p "$D/slow"
cp "$D/tlsca.pem" "$D/slow/ca.pem"; cp "$D/proxy.pem" "$D/proxy.key" "$D/slow/"
"$PY" "$HERE/../service/svc_client.py" slowloris "${GURL##*:}" "$D/slow" 30 \
    >"$D/slow.out" 2>&1
cut=$(cat "$D/slow.out")
case $cut in
[0-9]*) [ "${cut%%.*}" -lt 24 ] && ok "a header trickle is cut at the deadline ($cut s)" ||
	bad "slowloris cut late: $cut s" ;;
*) bad "slowloris: $cut" ;;
esac
[ "$(grep -c '"event":"sign"' "$D/gateway.log")" = "$signs" ] &&
    ok "none of these was signed" || bad "a refused request was signed"
envelope "$D/r8.json" r8 || die "envelope"
s=$(post proxy "$D/r8.json")
[ "$s" = 201 ] && ok "then a good request: 201" || bad "after hostile input: $s $(cat "$D/resp.json")"

# --- AC1: the server checks the chain to the organisation CA ---
"$PY" - "$STRUST" "$D" <<'PY' || die "trust edit"
import json, sys, subprocess
t = json.load(open(sys.argv[1]))
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
    "ec_paramgen_curve:P-256", "-nodes", "-keyout", sys.argv[2] + "/other.key",
    "-out", sys.argv[2] + "/other.pem", "-days", "1", "-subj", "/CN=other CA",
    "-addext", "basicConstraints=critical,CA:TRUE"], check=True,
    capture_output=True)
t["gateways"][0]["ca"] = [open(sys.argv[2] + "/other.pem").read()]
json.dump(t, open(sys.argv[1], "w"))
PY
kill -HUP "$SP"
wait_log "$D/server.log" 'trust store reloaded' "$SP"
envelope "$D/e5.json" a5 || die "envelope"
s=$(post proxy "$D/e5.json")
[ "$s" = 403 ] && code_is OB_ERR_REJECTED &&
    grep -q '"code":"OB_ERR_GATEWAY_CHAIN"' "$D/srv/audit.jsonl" &&
	ok "another organisation CA in the trust store: the server refuses (OB_ERR_GATEWAY_CHAIN)" ||
	bad "chain: $s $(tail -1 "$D/srv/audit.jsonl")"
grep -q 'forwarded: server answered HTTP 403 OB_ERR_REJECTED' "$D/gw-audit.jsonl" &&
	ok "the gateway recorded the server's answer" || bad "server answer not recorded"

# --- SIGHUP: a bad policy keeps the old one ---
cp "$D/policy.json" "$D/policy.good"
printf '{"ownerbind_gateway_policy": 1, "rules": [{"name": "x", "effect": "allow", "agentz": []}]}' >"$D/policy.json"
kill -HUP "$GP"
wait_log "$D/gateway.log" 'OB_ERR_POLICY_INVALID' "$GP"
logged 'rules\[0\].agentz' && ok "a bad policy is refused naming the member" ||
	bad "bad policy detail"
cp "$D/policy.good" "$D/policy.json"
envelope "$D/e6.json" sandbox-y || die "envelope"
s=$(post proxy "$D/e6.json")
[ "$s" = 403 ] && ok "the old policy stays in force" || bad "after a bad reload: $s"

# --- SIGHUP: a record renamed by logrotate goes on in a new file ---
mv "$D/gw-audit.jsonl" "$D/gw-audit.jsonl.1"
ghup
envelope "$D/e7.json" sandbox-y || die "envelope"
s=$(post proxy "$D/e7.json")
[ "$s" = 403 ] && [ "$(wc -l <"$D/gw-audit.jsonl")" = 1 ] && logged '"event":"audit reopened"' &&
    ok "rotated: the next decision in a new record file" || bad "rotated: $s"
out=$("$GW" audit verify "$D/gw-audit.jsonl.1" "$D/gw-audit.jsonl" 2>&1)
echo "$out" | grep -q 'chain intact across them' && ok "audit verify: the two files, one chain" ||
    bad "audit verify after rotation: $out"

# --- AC5: the record's chain ---
stop_all
# The rotated files, joined again, are one record from the genesis.
cat "$D/gw-audit.jsonl.1" "$D/gw-audit.jsonl" >"$D/joined" && mv "$D/joined" "$D/gw-audit.jsonl"
out=$("$GW" audit verify "$D/gw-audit.jsonl" 2>&1)
echo "$out" | grep -q 'chain intact' && ok "audit verify: $out" || bad "audit verify: $out"
N=$(wc -l <"$D/gw-audit.jsonl")
tamper() {	# $1 name, $2 python over lines L
	"$PY" - "$D/gw-audit.jsonl" "$D/t.jsonl" "$2" <<'PY'
import sys
L = open(sys.argv[1]).read().splitlines(True)
exec(sys.argv[3])
open(sys.argv[2], "w").writelines(L)
PY
	out=$("$GW" audit verify "$D/t.jsonl" 2>&1); rc=$?
	[ $rc = 1 ] && echo "$out" | grep -q 'line' && ok "audit verify detects $1: $out" ||
		bad "$1 not detected (rc $rc): $out"
}
[ "$N" -ge 6 ] || bad "only $N lines"
tamper "a removed line" 'del L[2]'
tamper "an altered line" 'L[1] = L[1].replace("accepted", "rejected", 1) if "accepted" in L[1] else L[1].replace("rejected", "accepted", 1)'
tamper "an inserted line" 'L.insert(2, L[1])'
tamper "two lines swapped" 'L[1], L[2] = L[2], L[1]'
tamper "a truncated last line" 'L[-1] = L[-1][:len(L[-1]) // 2]'
out=$("$GW" audit verify "$D/gw-audit.jsonl" 2>&1)
echo "$out" | grep -q "$N lines, chain intact" && ok "the original still verifies" || bad "original: $out"
"$PY" -c 'import json, sys
g = json.load(open(sys.argv[1]))
g["log_level"] = "verbose"
json.dump(g, open(sys.argv[2], "w"))' "$D/gateway.json" "$D/gwl.json"
out=$("$GW" --check-config "$D/gwl.json" 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q 'log_level' &&
    ok "log_level \"verbose\" is refused naming the member" || bad "log_level verbose: $rc $out"
out=$("$GW" --config "$D/gwl.json" 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q 'log_level' &&
    ok "--config with a refused file: exit 2" || bad "--config gwl: $rc $out"
# proxies[] as the server's clients[]: exactly one way to name the
# certificate, and no two entries naming the same one.
for k in both same; do
	"$PY" -c 'import json, sys
g = json.load(open(sys.argv[1]))
p = g["proxies"][0]
if sys.argv[3] == "both":
    p["cert_sha256"] = "00" * 32
else:
    g["proxies"].append({"id": "p1-again", "san_uri": p["san_uri"]})
json.dump(g, open(sys.argv[2], "w"))' "$D/gateway.json" "$D/gwp.json" "$k"
	out=$("$GW" --check-config "$D/gwp.json" 2>&1); rc=$?
	case $k in
	both) want='must have exactly one of "san_uri" and "cert_sha256"' ;;
	same) want='names the same certificate as proxies\[0\]' ;;
	esac
	[ $rc = 2 ] && echo "$out" | grep -q "$want" &&
	    ok "proxies[]: $k refused" || bad "proxies[] $k: $rc $out"
done
# hsm_queue.in_flight: the signatures asked of the helper at once, 1..32.
for n in 0 33 8; do
	"$PY" -c 'import json, sys
g = json.load(open(sys.argv[1]))
g["hsm_queue"] = {"in_flight": int(sys.argv[3])}
json.dump(g, open(sys.argv[2], "w"))' "$D/gateway.json" "$D/gwq.json" "$n"
	out=$("$GW" --check-config "$D/gwq.json" 2>&1); rc=$?
	if [ "$n" = 8 ]; then
		[ $rc = 0 ] && ok "hsm_queue.in_flight 8 is taken" ||
		    bad "in_flight 8: $rc $out"
	else
		[ $rc = 2 ] && echo "$out" | grep -q in_flight &&
		    ok "hsm_queue.in_flight $n is refused" ||
		    bad "in_flight $n: $rc $out"
	fi
done
[ $fails = 0 ] || { echo "--- gateway log"; tail -30 "$D/gateway.log"; }
exit $fails
