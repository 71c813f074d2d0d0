#!/bin/sh
# ownerbind-server's per-owner and per-agent buckets (decision 174): they
# are taken after verification and before the commit spends the jti, so a
# 429 leaves the envelope good for the retry its Retry-After invites; a
# request the commit refuses (a replay) gives its tokens back; and an
# agent's 429 gives back the owner's token it had taken.  Renewals too.
# Usage: test_server_agent_rate.sh OWNERBIND-SERVER OWNERBIND
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=$1
OB=$2
PY=${OB_PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/srv-setup.sh"
srv_dev

# per_owner: burst 3, no refill to speak of (one token in 1000 s);
# per_agent: burst 1, one token every 2 s.
"$PY" - "$D/dev" <<'PY'
import json, sys
d = sys.argv[1]
c = json.load(open(d + "/server.json"))
c["rate"] = {"per_peer": {"per_second": 0},
             "per_owner": {"per_second": 0.001, "burst": 3},
             "per_agent": {"per_second": 0.5, "burst": 1}}
json.dump(c, open(d + "/server.json", "w"), indent=2)
PY
"$OB" keygen --key file:owner.pem >/dev/null || exit 1
"$OB" enroll --key file:owner.pem --owner alice@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$TRUST" >/dev/null || exit 1

n=0
envelope() {	# $1: output file, $2: agent key file, $3: "new" for a new key
	n=$((n + 1))
	"$OB" request --sub "wimse://example.org/agents/a$n" --aud "$AUD" \
	    --owner alice@example.org --agent-key "$2" ${3:+--new-agent-key} \
	    -o "req$n.json" >/dev/null &&
	"$OB" sign --key file:owner.pem -o "signed$n.json" "req$n.json" 2>/dev/null &&
	"$OB" pop --agent-key "$2" -o "$1" "signed$n.json"
}
# Every envelope before the first request: the buckets' clock starts then.
envelope e1.json k.pem new && envelope e2.json k.pem && envelope e3.json k.pem &&
    envelope e4.json l.pem new || { echo "FAIL: could not build the envelopes"; exit 1; }
# Renewals, under another owner (bob: his own bucket): an approval with a
# window for agent key m.pem, and two renewals of it.
"$OB" keygen --key file:bob.pem >/dev/null &&
"$OB" enroll --key file:bob.pem --owner bob@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$TRUST" >/dev/null &&
"$OB" request --sub wimse://example.org/agents/m --aud "$AUD" \
    --owner bob@example.org --agent-key m.pem --new-agent-key \
    --ttl 600 --renew-window 600 -o rq.json >/dev/null 2>rq.err &&
APPR=$(sed -n 's/.*request \([^ ]*\) for agent key.*/\1/p' rq.err) &&
"$OB" sign --key file:bob.pem -o rs.json rq.json 2>/dev/null &&
"$OB" pop --agent-key m.pem -o ap.json rs.json || { echo "FAIL: the approval"; exit 1; }
renewal() {	# $1: output
	"$OB" request --sub wimse://example.org/agents/m --aud "$AUD" \
	    --owner bob@example.org --agent-key m.pem --renews "$APPR" --ttl 20 \
	    -o rr.json >/dev/null 2>&1 &&
	"$OB" pop --agent-key m.pem --model agent-mediated -o "$1" rr.json
}
renewal r1.json && renewal r2.json || { echo "FAIL: the renewals"; exit 1; }

srv_serve
post() {	# $1: body; prints the status
	curl -sS --max-time 20 --cacert "$CA" --cert "$CERT" --key "$KEY" -D hdrs.txt \
	    -o resp.json -w '%{http_code}' -H 'Content-Type: application/jose+json' \
	    --data-binary "@$1" "$URL/v1/credentials" 2>/dev/null
}
code_is() { "$PY" -c "import json,sys; sys.exit(json.load(open('resp.json')).get('code') != '$1')"; }

s1=$(post e1.json); s2=$(post e2.json)
[ "$s1" = 201 ] && [ "$s2" = 429 ] && code_is OB_ERR_SVC_RATE_LIMITED &&
    grep -qi '^Retry-After: 2' hdrs.txt &&
    ok "the agent's second request at once: 429 with Retry-After: 2" ||
    bad "agent burst: $s1 $s2 $(cat resp.json)"
sleep 2.2
s=$(post e2.json)
[ "$s" = 201 ] && ok "the same envelope after Retry-After: 201 (its jti was not spent)" ||
    bad "retry after 429: $s $(cat resp.json)"
sleep 2.2
s=
for i in 1 2 3; do s="$s $(post e1.json)"; done
[ "$s" = " 403 403 403" ] && ok "a replay, three times: 403 each, never 429 (tokens given back)" ||
    bad "replays:$s"
s=$(post e3.json)
[ "$s" = 201 ] && ok "the agent's next envelope: 201 (the replays left its token)" ||
    bad "after the replays: $s $(cat resp.json)"
# Owner: e1, e2 and e3 took its three tokens; the 429 and the replays
# gave theirs back.  Another agent of the same owner is now refused.
s=$(post e4.json)
[ "$s" = 429 ] && code_is OB_ERR_SVC_RATE_LIMITED && grep -qi '^Retry-After: 1000' hdrs.txt &&
    ok "the owner's burst spent by three credentials: another agent's request is 429" ||
    bad "owner bucket: $s $(cat resp.json)"

# A renewal: the same, its jti committed after the buckets too.
s1=$(post ap.json); s2=$(post r1.json)
[ "$s1" = 201 ] && [ "$s2" = 429 ] && code_is OB_ERR_SVC_RATE_LIMITED &&
    ok "a renewal at once after its approval: 429 (per agent)" ||
    bad "renewal burst: $s1 $s2 $(cat resp.json)"
sleep 2.2
s=$(post r1.json)
[ "$s" = 201 ] && ok "the same renewal after Retry-After: 201 (its jti was not spent)" ||
    bad "renewal retry after 429: $s $(cat resp.json)"
sleep 2.2
s1=$(post r1.json); s2=$(post r1.json); s3=$(post r2.json)
[ "$s1$s2$s3" = 403403201 ] &&
    ok "the renewal replayed twice: 403 each; the next renewal: 201 (tokens given back)" ||
    bad "renewal replays: $s1 $s2 $s3 $(cat resp.json)"
grep -q '"status":429.*"detail":"per-agent rate: OB_ERR_SVC_RATE_LIMITED' server.log &&
    grep -q '"status":429.*"detail":"per-owner rate: OB_ERR_SVC_RATE_LIMITED' server.log &&
    ok "the log names the bucket that refused" || bad "log: which bucket"
srv_stop
out=$("$SRV" audit verify "$D/dev/audit.jsonl" 2>&1)
echo "$out" | grep -q ': 14 lines, chain intact' && ok "audit verify: $out" ||
    bad "audit verify: $out (want 14 decisions)"
rec() { grep -c "$1" "$D/dev/audit.jsonl" | grep -qx "$2"; }
rec '"code":"OB_ERR_SVC_RATE_LIMITED"' 3 && ok "record: the three 429s" || bad "record: 429s"
rec '"decision":"accepted"' 6 && ok "record: six credentials" ||
    bad "record: accepted $(grep -c '"decision":"accepted"' "$D/dev/audit.jsonl")"
[ $fail = 0 ] || { echo "--- server log"; cat server.log; }
exit $fail
