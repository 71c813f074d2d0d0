#!/bin/sh
# Issue #17 AC3, renewal: the owner approves once with a 20 s approval
# window, the server issues 5 s credentials (min_lifetime 1, lifetime 5),
# and the agent keeps a valid credential throughout the window through
# ownerbind-proxy without the owner: the owner's key file is removed
# right after the approval. About every second (at least (WINDOW - 1) / 2
# rounds: a sanitizer build is slower; the window's last second is not
# checked) the agent's current credential (GET from the proxy) must be
# unexpired and verify as a relying service
# checks it (WIT + WPT, skew 1 s); when the proxy says renew_at has come,
# the agent makes and signs the renewal itself (ownerbind request
# --renews, ownerbind pop) and the proxy forwards it. After the window no
# credential is issued: the proxy refuses with OB_ERR_PROXY_RENEW, the
# server itself (asked directly) with OB_ERR_APPROVAL_WINDOW in its
# audit record, and once the last credential expires the agent has none.
# Usage: test_renewal.sh OWNERBIND-PROXY OWNERBIND-SERVER OWNERBIND OWNERBIND-VERIFY
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
PX=$1
SRV=$2
OB=$3
OBV=$4
PY=${OB_PYTHON:-/usr/bin/python3}
WINDOW=20
LIFE=5
HERE=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/server/srv-setup.sh"
chmod 0755 "$D"

# A dev-mode server makes the PKI and configuration; it then runs from
# that configuration with 5 s credentials.
srv_dev
JWKS=$(J issuer_jwks)
"$OB" keygen --key file:owner.pem >/dev/null || exit 1
"$OB" enroll --key file:owner.pem --owner alice@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$TRUST" >/dev/null || exit 1
"$PY" - "$D/dev/server.json" "$LIFE" <<'EOT' || exit 1
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["min_lifetime"] = 1
c["lifetime"] = int(sys.argv[2])
json.dump(c, open(p, "w"), indent=2)
EOT
srv_serve

SOCK=$D/agent.sock
AGENT=wimse://example.org/agents/r1
cat >proxy.json <<EOT
{
  "socket": "$SOCK",
  "server": { "url": "$URL", "ca": "$CA", "cert": "$CERT", "key": "$KEY" },
  "gateway": { "url": "https://127.0.0.1:1", "ca": "$CA", "cert": "$CERT",
    "key": "$KEY" },
  "deadline_ms": 3000, "try_timeout_ms": 1500,
  "agents": [
    { "name": "renewing", "ids": ["$AGENT"], "uids": [$(id -u)],
      "exe": "$(readlink -f "$OB")", "model": "agent-mediated" }
  ]
}
EOT
"$PX" --config proxy.json 2>proxy.log &
PP=$!
i=0
while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -S "$SOCK" ] || { cat proxy.log; echo "FAIL: no socket"; exit 1; }

get() {	# $1: output; the agent's current credential, from the proxy
	"$OB" agent get --socket "$SOCK" --agent "$AGENT" --json >"$1" 2>&1
}
field() {	# $1: file, $2: member
	"$PY" -c "import json,sys; print(json.load(open('$1')).get('$2', ''))"
}
# The agent's renewal: made and signed by the agent alone.
mkrenewal() {	# $1: ttl, $2: output
	"$OB" request --sub "$AGENT" --aud "$AUD" --owner alice@example.org \
	    --agent-key ka.pem --renews "$APPR" --ttl "$1" -o rr.json \
	    >/dev/null 2>&1 &&
	"$OB" pop --agent-key ka.pem --model agent-mediated -o "$2" rr.json
}
# Verifies as a relying service does, 1 s skew: WIT, WPT with the agent key.
verifies() {	# $1: agent get --json output
	field "$1" wit >wit.txt &&
	"$OB" wpt --agent-key file:ka.pem --wit wit.txt --aud https://rs.example/x \
	    -o wpt.txt 2>/dev/null &&
	"$OBV" wit --issuer-jwks "$JWKS" --aud https://rs.example/x --skew 1 \
	    --json wit.txt wpt.txt >rp.json 2>&1
}

# The approval: a 20 s window, signed by the owner once.
"$OB" request --sub "$AGENT" --aud "$AUD" --owner alice@example.org \
    --agent-key ka.pem --new-agent-key --ttl "$WINDOW" --renew-window "$WINDOW" \
    -o rq.json >/dev/null 2>rq.err || { cat rq.err; exit 1; }
APPR=$(sed -n 's/.*request \([^ ]*\) for agent key.*/\1/p' rq.err)
"$OB" sign --key file:owner.pem -o rs.json rq.json 2>/dev/null &&
    "$OB" pop --agent-key ka.pem -o ra.json rs.json || exit 1
"$OB" agent get --socket "$SOCK" --agent "$AGENT" --envelope ra.json --json \
    >first.json 2>&1 || { bad "approval: $(cat first.json)"; exit 1; }
UNTIL=$(field first.json renew_until)
[ "$(field first.json approval)" = "$APPR" ] && [ -n "$UNTIL" ] &&
    [ $(($(field first.json expires_at) - $(date +%s))) -le $LIFE ] &&
    ok "approved: a ${LIFE} s credential, window until $UNTIL" ||
    bad "approval answer: $(cat first.json)"
# No owner from here on: its key is gone.
rm -f owner.pem
[ ! -e owner.pem ] && ok "owner key file removed" || bad "owner key still there"

checks=0 renewals=0 gaps=0 maxexp=0
# Until the window's last second: a renewal asks for ttl
# UNTIL - now - 1, so the last credential may end a second before the
# window does (the models test caught a check in that second under ASan).
while [ "$(date +%s)" -lt "$((UNTIL - 1))" ]; do
	now=$(date +%s)
	if ! get cur.json; then
		bad "at $now: no credential: $(cat cur.json)"; gaps=$((gaps + 1))
	else
		exp=$(field cur.json expires_at)
		if [ "$exp" -gt "$now" ] && verifies cur.json; then
			checks=$((checks + 1))
		else
			bad "at $now: expires $exp, rp: $(cat rp.json)"
			gaps=$((gaps + 1))
		fi
		[ "$exp" -gt "$UNTIL" ] && bad "credential past the window: $exp"
		[ "$exp" -gt "$maxexp" ] && maxexp=$exp
		at=$(field cur.json renew_at)
		# exp <= renew_until: the request's iat may be a second on.
		ttl=$((UNTIL - $(date +%s) - 1)); [ $ttl -gt 60 ] && ttl=60
		# A credential that already ends with the window gains
		# nothing from a renewal; a 1 s renewal's envelope expires at
		# the next whole second, which a loaded machine's pop, proxy
		# and server can pass (CI, the models test: "expired 0s ago").
		if [ -n "$at" ] && [ "$now" -ge "$at" ] && [ $ttl -ge 2 ] &&
		    [ "$exp" -lt "$UNTIL" ]; then
			if mkrenewal "$ttl" rn.json &&
			    "$OB" agent get --socket "$SOCK" --agent "$AGENT" \
			    --envelope rn.json --renewal --json >rn.out 2>&1; then
				renewals=$((renewals + 1))
			else
				bad "renewal at $now: $(cat rn.out)"
			fi
		fi
	fi
	sleep 1
done
[ $gaps = 0 ] && [ $checks -ge $(((WINDOW - 1) / 2)) ] &&
    ok "valid and verifying at each of $checks checks across the window" ||
    bad "$gaps gaps in $checks checks"
[ $renewals -ge $((WINDOW / LIFE)) ] && ok "$renewals renewals without the owner" ||
    bad "only $renewals renewals"
[ "$maxexp" -le "$UNTIL" ] && ok "no credential outlives renew_until ($maxexp <= $UNTIL)" ||
    bad "a credential to $maxexp"
field cur.json wit | "$PY" -c "
import base64, json, sys
p = sys.stdin.read().strip().split('.')[1]
c = json.loads(base64.urlsafe_b64decode(p + '=' * (-len(p) % 4)))
o = c['urn:uuid:b880ac85-4c39-4d7c-9849-4aea4cbc60e5']
sys.exit(not (o['renewal_of'] == '$APPR' and o['renew_until'] == $UNTIL and
    o['id'] == 'alice@example.org' and o['model'] == 'agent-mediated'))" &&
    ok "the renewed WIT names the owner, the approval and its window" ||
    bad "owner claim of a renewal"

# After the window: nothing more is issued.
while [ "$(date +%s)" -lt "$UNTIL" ]; do sleep 0.2; done
mkrenewal 60 late.json || exit 1
"$OB" agent get --socket "$SOCK" --agent "$AGENT" --envelope late.json \
    --renewal --json >late.out 2>&1
[ $? = 1 ] && [ "$(field late.out error)" = OB_ERR_PROXY_RENEW ] &&
    ok "after the window the agent gets OB_ERR_PROXY_RENEW" ||
    bad "late renewal via the proxy: $(cat late.out)"
s=$(curl -sS --max-time 10 --cacert "$CA" --cert "$CERT" --key "$KEY" \
    -o srv.json -w '%{http_code}' -H 'Content-Type: application/jose+json' \
    --data-binary @late.json "$URL/v1/credentials")
[ "$s" = 403 ] && [ "$(field srv.json code)" = OB_ERR_REJECTED ] &&
    grep -q '"code":"OB_ERR_APPROVAL_WINDOW","detail":"renewal: OB_ERR_APPROVAL_WINDOW: the window closed' dev/audit.jsonl &&
    ok "the server refuses it too (403; its record: OB_ERR_APPROVAL_WINDOW)" ||
    bad "late renewal at the server: $s $(cat srv.json)"
n=$(grep -c "\"decision\":\"accepted\".*\"renewal_of\":\"$APPR\"" dev/audit.jsonl)
[ "$n" = "$renewals" ] && ok "each renewal in the issuance record ($n)" ||
    bad "audit has $n renewals, the agent made $renewals"
while [ "$(date +%s)" -le "$maxexp" ]; do sleep 0.2; done
get none.json
[ "$(field none.json error)" = OB_ERR_PROXY_NO_CREDENTIAL ] &&
    ok "after the last credential expired the agent has none" ||
    bad "after expiry: $(cat none.json)"

[ $fail = 0 ] || { tail -20 server.log; tail -20 proxy.log; }
exit $fail
