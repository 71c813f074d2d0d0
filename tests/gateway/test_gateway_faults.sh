#!/bin/sh
# test_gateway_faults.sh SERVER OWNERBIND SIGNER GATEWAY P11FAULT: issue
# #15, acceptance 3.  Each fault gives the proxy a clear code, nothing is
# signed without its record line, and service resumes when it clears:
#   - the HSM token removed (tests/pkcs11/p11fault.so in front of SoftHSM2:
#     CKR_DEVICE_REMOVED while a file exists);
#   - ownerbind-signer killed (SIGKILL);
#   - the identity server down (stopped) and slow (SIGSTOP: past the
#     gateway's server.timeout_ms);
#   - the record's disk full (a file-size limit set on the running
#     gateway with prlimit(1), then lifted).
# Exit 0 passed, 1 failed, 77 skipped.
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=${1:?}; OB=${2:?}; SIG=${3:?}; GW=${4:?}; FAULT=${5:?}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${OB_PYTHON:-/usr/bin/python3}
command -v prlimit >/dev/null 2>&1 || { echo "SKIP: prlimit"; exit 77; }
D=$(mktemp -d /tmp/gateway-fault.XXXXXX) || exit 1
fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
# shellcheck disable=SC2317 # run from the EXIT trap
cleanup() {
	stop_all	# the server continued first, if it is stopped
	rm -rf "$D"
}
trap cleanup EXIT
: "$SIG"
# shellcheck source=tests/gateway/gw-setup.sh
. "$HERE/gw-setup.sh"
P11FAULT_MODULE=$SOFTHSM_MODULE; export P11FAULT_MODULE
P11FAULT_REMOVED_FILE=$D/removed; export P11FAULT_REMOVED_FILE
"$PY" - "$D" "$FAULT" <<'PY' || die "fault configuration"
import json, sys
d, fault = sys.argv[1:3]
s = json.load(open(d + "/signer.json"))
s["keys"][0]["uri"] = s["keys"][0]["uri"].split("?")[0] + "?module-path=" + fault
json.dump(s, open(d + "/signer.json", "w"))
g = json.load(open(d + "/gateway.json"))
g["server"]["timeout_ms"] = 1500
json.dump(g, open(d + "/gateway.json", "w"))
PY
start_server
start_gateway
health() { "$PY" -c "import json,urllib.request
try: print(json.load(urllib.request.urlopen('$GMET/healthz'))['signer']['state'])
except Exception as e: print(json.load(e)['signer']['state'])"; }
await_ready() {
	i=0
	while [ "$(health)" != ready ]; do
		i=$((i + 1)); [ $i -gt 400 ] && die "the signer never came back"
		sleep 0.05
	done
}
k=0
try() {	# $1 want status, $2 want code (or -), $3 what
	k=$((k + 1))
	envelope "$D/f$k.json" "f$k" || die "envelope"
	s=$(post proxy "$D/f$k.json")
	c=$("$PY" -c "import json; print(json.load(open('$D/resp.json')).get('code', '-'))" 2>/dev/null)
	if [ "$s" = "$1" ] && { [ "$2" = - ] || [ "$c" = "$2" ]; }; then
		ok "$3: $s $c"
	else
		bad "$3: $s $c (want $1 $2) $(cat "$D/resp.json")"
	fi
}
try 201 - "baseline"

# The token removed, then back.
: >"$D/removed"
try 503 OB_ERR_SIGNER_UNAVAILABLE "token removed"
grep -q 'Retry-After' "$D/hdrs.txt" && ok "... with Retry-After" || bad "no Retry-After"
rm -f "$D/removed"
try 201 - "token back: resumed"

# The helper killed.
HPID=$("$PY" -c "import json,urllib.request; print(json.load(urllib.request.urlopen('$GMET/healthz'))['signer']['pid'])")
kill -KILL "$HPID"
i=0
while [ "$(health)" = ready ] && [ $i -lt 100 ]; do sleep 0.02; i=$((i + 1)); done
k=$((k + 1)); envelope "$D/f$k.json" "f$k" || die "envelope"
s=$(post proxy "$D/f$k.json")
c=$("$PY" -c "import json; print(json.load(open('$D/resp.json')).get('code', '-'))" 2>/dev/null)
{ [ "$s" = 503 ] && [ "$c" = OB_ERR_SIGNER_UNAVAILABLE ]; } || [ "$s" = 201 ] &&
	ok "signer killed: $s $c (503 while it restarts, or 201 once back)" ||
	bad "signer killed: $s $c"
await_ready
try 201 - "signer restarted: resumed"

# The server down, then back.
kill -TERM "$SP"; wait "$SP"; SP=''
try 502 OB_ERR_UPSTREAM_UNAVAILABLE "server down"
grep -q 'forwarded (signed), no answer: OB_ERR_UPSTREAM_UNAVAILABLE' "$D/gw-audit.jsonl" &&
	ok "... recorded" || bad "server down not recorded"
start_server
# The envelope the server never answered is not spent: the same one again
# is signed and issued (decision 169).
s=$(post proxy "$D/f$k.json")
[ "$s" = 201 ] && ok "the unanswered envelope again, server back: 201" ||
	bad "the unanswered envelope again: $s $(cat "$D/resp.json")"
s=$(post proxy "$D/f$k.json")
[ "$s" = 403 ] && tail -n 1 "$D/gw-audit.jsonl" | grep -q 'replay, not signed' &&
	ok "... and once answered, spent: 403 from the gateway" ||
	bad "the answered envelope again: $s $(cat "$D/resp.json")"
try 201 - "server back: resumed"

# The server slow: stopped past the gateway's deadline.
kill -STOP "$SP"
try 504 OB_ERR_UPSTREAM_TIMEOUT "server slow"
kill -CONT "$SP"
try 201 - "server answers again: resumed"

# The record's disk full: a file-size limit just above its size.
size=$(wc -c <"$D/gw-audit.jsonl")
signs=$(grep -c '"event":"sign"' "$D/gateway.log")
prlimit --pid "$GP" --fsize=$((size + 200)):unlimited || die "prlimit"
try 503 OB_ERR_SVC_UNAVAILABLE "record disk full"
[ "$(grep -c '"event":"sign"' "$D/gateway.log")" = "$signs" ] &&
	ok "... and nothing was signed" || bad "signed without a record"
prlimit --pid "$GP" --fsize=unlimited:unlimited || die "prlimit"
try 201 - "room again: resumed"

stop_all
# Every signature has its record line, written before it.
"$PY" - "$D/gateway.log" "$D/gw-audit.jsonl" <<'PY' && ok "every signature has its 'signing' record line" || bad "a signature without its record"
import json, re, sys
signed = [re.search(r"req=([0-9a-f]+)", json.loads(l)["for"]).group(1)
          for l in open(sys.argv[1]) if '"event":"sign"' in l]
rec = {json.loads(l)["request_id"] for l in open(sys.argv[2])
       if "signing for proxy" in l}
missing = [s for s in signed if s not in rec]
assert signed and not missing, missing
PY
out=$("$GW" audit verify "$D/gw-audit.jsonl" 2>&1)
echo "$out" | grep -q 'chain intact' && ok "after the faults: $out" || bad "audit: $out"
[ $fails = 0 ] || { echo "--- gateway log"; tail -25 "$D/gateway.log"; }
exit $fails
