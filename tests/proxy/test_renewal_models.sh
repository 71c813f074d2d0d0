#!/bin/sh
# test_renewal_models.sh PROXY SERVER GATEWAY OWNERBIND OWNERBIND-VERIFY:
# issue #17 acceptance 3 for the owner-mediated and server-mediated
# models, through ownerbind-proxy with `ownerbind-server --dev`,
# `ownerbind-gateway --dev` and `ownerbind respond --once --yes`.
# A 12 s approval window, 4 s credentials (server min_lifetime 1,
# lifetime 4).
# Owner-mediated: the dev gateway's rule without max_renew_window_s
# denies a request proposing a window; with max_renew_window_s 12
# (SIGHUP) a 30 s window is denied by the rule and a 12 s one signed.
# Server-mediated: the responder is shown "renewable until" and signs
# once, then is gone.  Then, with the gateway stopped and no responder,
# each agent renews through the proxy by itself (ownerbind request
# --renews, ownerbind pop): every second its current credential is
# unexpired and verifies as a relying service checks it (WIT + WPT, 1 s
# skew), none outlives the window, and after the window the proxy
# refuses (OB_ERR_PROXY_RENEW) and the server too (403, its record
# OB_ERR_APPROVAL_WINDOW).  Both windows run at the same time.
# Exit 0 passed, 1 failed, 77 skipped.
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
PX=${1:?}; SRV=${2:?}; GW=${3:?}; OB=${4:?}; OBV=${5:?}
PY=${OB_PYTHON:-/usr/bin/python3}
WINDOW=12
LIFE=4
for t in curl openssl; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t"; exit 77; }
done
D=$(mktemp -d /tmp/renewmodels.XXXXXX) || exit 1
SP=''
GP=''
PP=''
LP=''
fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
die() { echo "FAIL: $*"; exit 1; }
# shellcheck disable=SC2317 # run from the EXIT trap
cleanup() {
	[ -n "$LP" ] && kill "$LP" 2>/dev/null && wait "$LP" 2>/dev/null
	[ -n "$PP" ] && kill "$PP" 2>/dev/null && wait "$PP" 2>/dev/null
	[ -n "$GP" ] && kill "$GP" 2>/dev/null && wait "$GP" 2>/dev/null
	[ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
chmod 0755 "$D"
cd "$D" || exit 1
wait_for() {	# $1 test expression (eval'd), $2 pid, $3 log
	i=0
	until eval "$1"; do
		kill -0 "$2" 2>/dev/null || die "exited: $(cat "$3")"
		i=$((i + 1)); [ $i -gt 600 ] && die "timed out: $1"
		sleep 0.05
	done
}
J() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
field() {	# $1: file, $2: member
	"$PY" -c "import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ''))" "$1" "$2" 2>/dev/null
}

# The dev server makes its directory; the gateway's --dev registers in it.
"$SRV" --dev "$D/srv" --listen 127.0.0.1:0 2>srvdev.log &
SP=$!
wait_for '[ -f srv/dev.json ]' "$SP" srvdev.log
kill -TERM "$SP"; wait "$SP"; SP=''
"$GW" --dev "$D/gw" --server-dev "$D/srv" 2>gw.log &
GP=$!
wait_for '[ -f gw/dev.json ]' "$GP" gw.log
SURL=$(J srv/dev.json url); AUD=$(J srv/dev.json aud); CA=$(J srv/dev.json tls_ca)
CERT=$(J srv/dev.json client_cert); KEY=$(J srv/dev.json client_key)
JWKS=$(J srv/dev.json issuer_jwks)
GWPOL=$(J gw/dev.json policy)
GWAUDIT=$(J "$(J gw/dev.json config)" audit)

# alice (file key) owns the server-mediated agent; her phone answers.
"$OB" keygen --key file:alice.pem >/dev/null || die "keygen"
"$OB" enroll --key file:alice.pem --owner alice@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$(J srv/dev.json trust)" \
    >/dev/null || die "enroll"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout devca.key -out devca.pem -days 1 -subj '/CN=alice devices CA' \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign 2>/dev/null || die "device CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj '/CN=alice-phone' -keyout phone.key -out phone.csr 2>/dev/null &&
printf 'subjectAltName=URI:wimse://example.org/devices/alice-phone\nextendedKeyUsage=clientAuth\n' >phone.ext &&
openssl x509 -req -in phone.csr -CA devca.pem -CAkey devca.key -CAcreateserial \
    -days 1 -extfile phone.ext -out phone.pem 2>/dev/null || die "device certificate"
cat devca.pem >>srv/clients-ca.pem
"$PY" - srv/server.json "$LIFE" <<'PY' || die "server configuration"
import json, sys
c = json.load(open(sys.argv[1]))
c["clients"].append({"id": "alice-phone", "role": "responder",
                     "owner": "alice@example.org",
                     "san_uri": "wimse://example.org/devices/alice-phone"})
c["challenge"] = {"interval_s": 1, "wait_max_s": 1}
c["min_lifetime"] = 1
c["lifetime"] = int(sys.argv[2])
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
"$SRV" --config "$D/srv/server.json" 2>server.log &
SP=$!
wait_for 'grep -q "\"event\":\"listening\"" server.log' "$SP" server.log

SOCK=$D/agent.sock
OM=wimse://dev.ownerbind.test/agents/rom
OMO=org.dev.ownerbind.test
SM=wimse://example.org/agents/rsm
SMO=alice@example.org
cat >proxy.json <<EOT
{
  "socket": "$SOCK",
  "server": { "url": "$SURL", "ca": "$CA", "cert": "$CERT", "key": "$KEY" },
  "gateway": { "url": "$(J gw/dev.json url)", "ca": "$(J gw/dev.json tls_ca)",
    "cert": "$(J gw/dev.json client_cert)", "key": "$(J gw/dev.json client_key)" },
  "deadline_ms": 10000, "try_timeout_ms": 3000,
  "backoff_initial_ms": 50, "backoff_max_ms": 400,
  "agents": [
    { "name": "om", "ids": ["$OM"], "uids": [$(id -u)],
      "model": "owner-mediated" },
    { "name": "sm", "ids": ["$SM"], "uids": [$(id -u)],
      "model": "server-mediated" }
  ]
}
EOT
"$PX" --config proxy.json 2>proxy.log &
PP=$!
wait_for "[ -S '$SOCK' ]" "$PP" proxy.log

request() {	# $1 name, $2 agent, $3 owner, $4 model, $5 window; $1.env
	"$OB" request --sub "$2" --aud "$AUD" --owner "$3" --agent-key "$1.key" \
	    --new-agent-key --ttl "$5" --renew-window "$5" -o "$1.req" \
	    >/dev/null 2>"$1.rq" &&
	"$OB" pop --model "$4" --agent-key "$1.key" -o "$1.env" "$1.req"
}
jti() {	# $1 name: the approval's jti, as ownerbind request said it
	sed -n 's/.*request \([^ ]*\) for agent key.*/\1/p' "$1.rq"
}
approve() {	# $1 name, $2 agent; out $1.json
	"$OB" agent get --socket "$SOCK" --agent "$2" --envelope "$1.env" \
	    --json >"$1.json" 2>&1
}

# Owner-mediated, the dev policy's rule has no max_renew_window_s.
request om0 "$OM" "$OMO" owner-mediated "$WINDOW" || die "om0 envelope"
if approve om0 "$OM"; then
	bad "a window from a rule without max_renew_window_s: $(cat om0.json)"
elif grep -q "denied by rule dev-agents: approval window (renew_until) not granted" "$GWAUDIT"; then
	ok "a rule without max_renew_window_s grants no window (denied by rule dev-agents)"
else
	bad "om0: $(cat om0.json); $(tail -2 "$GWAUDIT")"
fi
# The rule grants 12 s; SIGHUP reloads the policy.
"$PY" - "$GWPOL" "$WINDOW" <<'PY' || die "gateway policy"
import json, sys
p = json.load(open(sys.argv[1]))
p["rules"][0]["max_renew_window_s"] = int(sys.argv[2])
json.dump(p, open(sys.argv[1], "w"), indent=1)
PY
kill -HUP "$GP"
wait_for 'grep -q "policy reloaded" gw.log' "$GP" gw.log
request om1 "$OM" "$OMO" owner-mediated 30 || die "om1 envelope"
if approve om1 "$OM"; then
	bad "a 30 s window under a 12 s rule: $(cat om1.json)"
elif grep -q "denied by rule dev-agents: approval window 30s over ${WINDOW}s" "$GWAUDIT"; then
	ok "a 30 s window is refused, not capped (denied by rule dev-agents: 30s over ${WINDOW}s)"
else
	bad "om1: $(cat om1.json); $(tail -2 "$GWAUDIT")"
fi

# The approvals.  Owner-mediated: the gateway signs the 12 s window.
request om "$OM" "$OMO" owner-mediated "$WINDOW" || die "om envelope"
OMA=$(jti om)
approve om "$OM" || die "owner-mediated approval: $(cat om.json)"
OMU=$(field om.json renew_until)
[ "$(field om.json approval)" = "$OMA" ] && [ -n "$OMU" ] &&
    grep -q "allowed by rule dev-agents; signing for proxy .*, approval window until $OMU" "$GWAUDIT" &&
    ok "owner-mediated: the gateway signed a window until $OMU (rule dev-agents)" ||
    bad "owner-mediated approval: $(cat om.json)"
# No gateway from here on.
kill -TERM "$GP"; wait "$GP"; GP=''

# Server-mediated: the responder shows the window, signs it, and is gone.
request sm "$SM" "$SMO" server-mediated "$WINDOW" || die "sm envelope"
SMA=$(jti sm)
approve sm "$SM" &
AG=$!
SPIN="sha256//$(openssl x509 -in srv/server.pem -pubkey -noout |
    openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"
"$OB" respond --server "$SURL" --ca "$CA" --server-pin "$SPIN" \
    --cert phone.pem --key phone.key --owner-key file:alice.pem \
    --once --yes --wait 10 --timeout 10 >respond.out 2>&1 ||
	bad "respond: $(cat respond.out)"
wait "$AG" || bad "server-mediated approval: $(cat sm.json)"
SMU=$(field sm.json renew_until)
[ "$(field sm.json approval)" = "$SMA" ] && [ -n "$SMU" ] &&
    ok "server-mediated: approved once, window until $SMU" ||
    bad "server-mediated approval: $(cat sm.json)"
grep -q "renewable until .*($SMU, ${WINDOW}s after the request)" respond.out &&
    ok "the responder showed the window before signing" ||
    bad "respond output: $(cat respond.out)"
rm -f alice.pem
[ ! -e alice.pem ] && ok "no responder, no owner key from here on" ||
    bad "owner key still there"

get() {	# $1 agent, $2 output: the agent's current credential
	"$OB" agent get --socket "$SOCK" --agent "$1" --json >"$2" 2>&1
}
# The agent's renewal: made and signed by the agent alone.
mkrenewal() {	# $1 name, $2 agent, $3 owner, $4 model, $5 approval, $6 ttl, $7 out
	"$OB" request --sub "$2" --aud "$AUD" --owner "$3" --agent-key "$1.key" \
	    --renews "$5" --ttl "$6" -o "$1.rr" >/dev/null 2>&1 &&
	"$OB" pop --agent-key "$1.key" --model "$4" -o "$7" "$1.rr"
}
verifies() {	# $1 name, $2 agent get --json output
	field "$2" wit >"$1.wit" &&
	"$OB" wpt --agent-key "file:$1.key" --wit "$1.wit" \
	    --aud https://rs.example/x -o "$1.wpt" 2>/dev/null &&
	"$OBV" wit --issuer-jwks "$JWKS" --aud https://rs.example/x --skew 1 \
	    --json "$1.wit" "$1.wpt" >"$1.rp" 2>&1
}
# One agent's window, in a subshell: exit 0 when every check held.  A
# check about every second, at least (WINDOW - 1) / 2 of them (the last
# second is not checked) (a sanitizer
# build takes longer per round); every one must find a valid credential.
renew_loop() {	# $1 name, $2 agent, $3 owner, $4 model, $5 approval, $6 until
	n=$1; f=0; checks=0; renewals=0; maxexp=0
	# Until the window's last second: a renewal asks for ttl
	# until - now - 1, so the last credential may end a second before
	# the window does (CI under ASan caught a check in that second).
	while [ "$(date +%s)" -lt "$(($6 - 1))" ]; do
		now=$(date +%s)
		if ! get "$2" "$n.cur"; then
			echo "FAIL: $n at $now: no credential: $(cat "$n.cur")"; f=1
		else
			exp=$(field "$n.cur" expires_at)
			if [ "$exp" -gt "$now" ] && verifies "$n" "$n.cur"; then
				checks=$((checks + 1))
			else
				echo "FAIL: $n at $now: expires $exp: $(cat "$n.rp")"; f=1
			fi
			[ "$exp" -gt "$maxexp" ] && maxexp=$exp
			at=$(field "$n.cur" renew_at)
			ttl=$(($6 - $(date +%s) - 1))
			# Not when the credential already ends with the window
			# (nothing to gain), nor for a 1 s renewal: its
			# envelope's exp is the next whole second, which a
			# loaded machine's pop, proxy and server can pass
			# (CI: "renewal: OB_ERR_EXPIRED: expired 0s ago").
			if [ -n "$at" ] && [ "$now" -ge "$at" ] &&
			    [ $ttl -ge 2 ] && [ "$exp" -lt "$6" ]; then
				if mkrenewal "$n" "$2" "$3" "$4" "$5" "$ttl" "$n.rn" &&
				    "$OB" agent get --socket "$SOCK" --agent "$2" \
				    --envelope "$n.rn" --renewal --json >"$n.rno" 2>&1
				then
					renewals=$((renewals + 1))
				else
					echo "FAIL: $n renewal at $now: $(cat "$n.rno")"; f=1
				fi
			fi
		fi
		sleep 1
	done
	[ $f = 0 ] && [ $checks -ge $(((WINDOW - 1) / 2)) ] &&
	    echo "ok - $n: valid and verifying at each of $checks checks across the window" ||
	    { echo "FAIL: $n: $checks checks"; f=1; }
	# The renewals carried the agent to within a lifetime of the
	# window's end (from a first credential of LIFE seconds that takes
	# at least two): a count of renewals alone depends on how fast a
	# round of the loop is (a sanitizer build is slower).
	[ $renewals -ge 2 ] && [ "$maxexp" -gt $(($6 - LIFE)) ] &&
	    echo "ok - $n: $renewals renewals without owner, gateway or responder, the last credential to $maxexp (window to $6)" ||
	    { echo "FAIL: $n: $renewals renewals, the last credential to $maxexp (window to $6)"; f=1; }
	[ "$maxexp" -le "$6" ] &&
	    echo "ok - $n: no credential outlives the window ($maxexp <= $6)" ||
	    { echo "FAIL: $n: a credential to $maxexp"; f=1; }
	field "$n.cur" wit | "$PY" -c "
import base64, json, sys
p = sys.stdin.read().strip().split('.')[1]
c = json.loads(base64.urlsafe_b64decode(p + '=' * (-len(p) % 4)))
o = c['urn:uuid:b880ac85-4c39-4d7c-9849-4aea4cbc60e5']
sys.exit(not (o['renewal_of'] == '$5' and o['renew_until'] == $6 and
    o['id'] == '$3' and o['model'] == '$4'))" &&
	    echo "ok - $n: the renewed WIT names the owner, the model, the approval and its window" ||
	    { echo "FAIL: $n: owner claim of a renewal"; f=1; }
	n=$(grep -c "\"decision\":\"accepted\".*\"renewal_of\":\"$5\"" srv/audit.jsonl)
	[ "$n" = "$renewals" ] &&
	    echo "ok - $1: each renewal in the issuance record ($n)" ||
	    { echo "FAIL: $1: audit has $n renewals, the agent made $renewals"; f=1; }
	echo "$maxexp" >"$1.maxexp"
	exit $f
}
# After the window: the proxy and the server refuse.
late() {	# $1 name, $2 agent, $3 owner, $4 model, $5 approval, $6 how many
	# late renewals the server has refused so far, this one included
	mkrenewal "$1" "$2" "$3" "$4" "$5" 60 "$1.late" || { bad "$1 late"; return; }
	"$OB" agent get --socket "$SOCK" --agent "$2" --envelope "$1.late" \
	    --renewal --json >"$1.lateo" 2>&1
	[ $? = 1 ] && [ "$(field "$1.lateo" error)" = OB_ERR_PROXY_RENEW ] &&
	    ok "$1: after the window the agent gets OB_ERR_PROXY_RENEW" ||
	    bad "$1: late renewal via the proxy: $(cat "$1.lateo")"
	s=$(curl -sS --max-time 10 --cacert "$CA" --cert "$CERT" --key "$KEY" \
	    -o "$1.srv" -w '%{http_code}' -H 'Content-Type: application/jose+json' \
	    --data-binary @"$1.late" "$SURL/v1/credentials")
	[ "$s" = 403 ] && [ "$(field "$1.srv" code)" = OB_ERR_REJECTED ] &&
	    [ "$(grep -c '"code":"OB_ERR_APPROVAL_WINDOW","detail":"renewal: OB_ERR_APPROVAL_WINDOW: the window closed' srv/audit.jsonl)" -ge "$6" ] &&
	    ok "$1: the server refuses it too (403; its record: OB_ERR_APPROVAL_WINDOW)" ||
	    bad "$1: late renewal at the server: $s $(cat "$1.srv")"
}

(renew_loop om "$OM" "$OMO" owner-mediated "$OMA" "$OMU") >om.loop 2>&1 &
LP=$!
(renew_loop sm "$SM" "$SMO" server-mediated "$SMA" "$SMU") >sm.loop 2>&1
smrc=$?
wait "$LP"; omrc=$?; LP=''
cat om.loop sm.loop
[ $omrc = 0 ] || fails=$((fails + 1))
[ $smrc = 0 ] || fails=$((fails + 1))
while [ "$(date +%s)" -lt "$OMU" ] || [ "$(date +%s)" -lt "$SMU" ]; do
	sleep 0.2
done
late om "$OM" "$OMO" owner-mediated "$OMA" 1
late sm "$SM" "$SMO" server-mediated "$SMA" 2
m=$(cat om.maxexp sm.maxexp 2>/dev/null | sort -n | tail -1)
while [ "$(date +%s)" -le "${m:-0}" ]; do sleep 0.2; done
for x in om:"$OM" sm:"$SM"; do
	get "${x#*:}" "${x%%:*}.none"
	[ "$(field "${x%%:*}.none" error)" = OB_ERR_PROXY_NO_CREDENTIAL ] &&
	    ok "${x%%:*}: after the last credential expired the agent has none" ||
	    bad "${x%%:*}: after expiry: $(cat "${x%%:*}.none")"
done
[ $fails = 0 ] || { echo "$fails failed"; tail -20 server.log; tail -20 proxy.log; exit 1; }
echo "all passed"
