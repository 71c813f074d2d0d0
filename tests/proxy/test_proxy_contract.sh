#!/bin/sh
# ownerbind-proxy's owner-mediated and server-mediated routes against a
# stand-in that speaks the contract of the gateway and the challenge
# branches (contract_upstream.py, real mutual TLS), until the lead runs
# them end to end: the gateway's 201, the server-mediated start and poll
# (pending, slow_down honoured, 201; denied; expired), and TLS trouble
# reported without retries; the gateway down, then back.
# Usage: test_proxy_contract.sh OWNERBIND-PROXY OWNERBIND SOURCE_DIR
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
PX=$1
OB=$2
S=$3
PY=${OB_PYTHON:-/usr/bin/python3}
D=$(mktemp -d)
UP=
PP=
fail=0
# shellcheck disable=SC2317 # run from the EXIT trap
cleanup() {
	[ -n "$PP" ] && kill "$PP" 2>/dev/null && wait "$PP" 2>/dev/null
	[ -n "$UP" ] && kill "$UP" 2>/dev/null && wait "$UP" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
cd "$D" || exit 1
sh "$S/tests/service/mkcerts.sh" "$D" || exit 1

"$PY" "$S/tests/proxy/contract_upstream.py" "$D/port" "$D" "$D/up.log" 2>"$D/up.err" &
UP=$!
i=0
while [ ! -f "$D/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -f "$D/port" ] || { cat "$D/up.err"; echo "FAIL: no stand-in"; exit 1; }
URL=https://localhost:$(cat "$D/port")
ME=$(id -u)
SOCK=$D/agent.sock
entry() {	# name model
	printf '{ "name": "%s", "ids": ["wimse://example.org/agents/%s"], "uids": [%s], "model": "%s" }' \
	    "$1" "$1" "$ME" "$2"
}
start_proxy() {	# $1: server CA, $2: client certificate name
	cat >proxy.json <<EOT
{
  "socket": "$SOCK",
  "server": { "url": "$URL", "ca": "$1", "cert": "$2.pem", "key": "$2.key" },
  "gateway": { "url": "$URL/", "ca": "$1", "cert": "$2.pem", "key": "$2.key" },
  "deadline_ms": 3000, "backoff_initial_ms": 50, "backoff_max_ms": 200,
  "agents": [ $(entry gw owner-mediated), $(entry ok server-mediated),
    $(entry deny server-mediated), $(entry slow server-mediated),
    $(entry huge owner-mediated), $(entry junk owner-mediated),
    $(entry nowit owner-mediated), $(entry drip owner-mediated),
    $(entry cut owner-mediated), $(entry badpoll owner-mediated) ]
}
EOT
	"$PX" --config proxy.json 2>>"$D/proxy.log" &
	PP=$!
	i=0
	while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}
stop_proxy() { kill "$PP"; wait "$PP"; PP=; }
n=0
agent_only() {	# $1: agent name, $2: model; writes e.json
	n=$((n + 1))
	"$OB" request --sub "wimse://example.org/agents/$1" --aud https://id.test \
	    --owner alice@example.org --agent-key "k$n.pem" --new-agent-key \
	    -o "req$n.json" >/dev/null 2>&1 &&
	"$OB" pop --agent-key "k$n.pem" --model "$2" -o e.json "req$n.json"
}
ask() {
	curl -sS --max-time 60 --unix-socket "$SOCK" -o "$D/resp.json" \
	    -w '%{http_code}' -H 'Content-Type: application/jose+json' \
	    --data-binary @e.json http://proxy/v1/credentials 2>/dev/null
}
code_is() {
	"$PY" -c "import json,sys; sys.exit(json.load(open('$D/resp.json')).get('code') != '$1')"
}
model_is() {
	"$PY" -c "import json,sys; sys.exit(json.load(open('$D/resp.json'))['owner']['model'] != '$1')"
}

start_proxy ca.pem proxy
[ -S "$SOCK" ] || { cat proxy.log; echo "FAIL: no socket"; exit 1; }

# Owner-mediated: to the gateway, its 201 handed back.
agent_only gw owner-mediated || exit 1
s=$(ask)
[ "$s" = 201 ] && model_is owner-mediated && ok "owner-mediated via the gateway: 201" ||
    bad "owner-mediated: $s $(cat resp.json)"

# Server-mediated: 202, then pending, slow_down (interval 2), 201.
agent_only ok server-mediated || exit 1
s=$(ask)
[ "$s" = 201 ] && model_is server-mediated && ok "server-mediated: polled to 201" ||
    bad "server-mediated: $s $(cat resp.json)"
"$PY" - "$D/up.log" <<'PYEOF' && ok "polls: pending, slow_down, then the credential, each after its interval" || bad "polls: $(cat "$D/up.log")"
import sys
rows = [l.split() for l in open(sys.argv[1]) if "/v1/requests/h0" in l]
st = [int(r[2]) for r in rows]
t = [float(r[3]) for r in rows]
assert st == [200, 429, 201], st
# the gap after slow_down is at least the interval it named (2 s): the
# order of events, not a duration the test waits for
assert t[2] - t[1] >= 2.0 and t[1] - t[0] >= 1.0, t
PYEOF
agent_only deny server-mediated || exit 1
s=$(ask)
[ "$s" = 403 ] && code_is OB_ERR_PROXY_DENIED && ok "server-mediated, denied: 403 DENIED" ||
    bad "denied: $s $(cat resp.json)"
agent_only slow server-mediated || exit 1
s=$(ask)
[ "$s" = 410 ] && code_is OB_ERR_PROXY_EXPIRED && ok "server-mediated, no answer: 410 EXPIRED" ||
    bad "expired: $s $(cat resp.json)"

# AC4 for the gateway: down, a clear code and nothing cached for a new
# key; the gateway returns on its port and the proxy recovers.
PORT=$(cat port)
kill "$UP"; wait "$UP" 2>/dev/null; UP=
agent_only gw owner-mediated || exit 1
s=$(ask)
[ "$s" = 503 ] && code_is OB_ERR_PROXY_UPSTREAM_DOWN &&
    ok "gateway down: 503 UPSTREAM_DOWN" || bad "gateway down: $s $(cat resp.json)"
rm -f port
"$PY" "$S/tests/proxy/contract_upstream.py" "$D/port" "$D" "$D/up.log" "$PORT" 2>>"$D/up.err" &
UP=$!
i=0
while [ ! -f "$D/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
s=$(ask)
[ "$s" = 201 ] && model_is owner-mediated && ok "gateway back: 201" ||
    bad "gateway back: $s $(cat resp.json)"
stop_proxy
# Hostile answers from the upstream (contract_upstream.py's HOSTILE): each
# a clear code within the deadline, nothing handed to the agent, and the
# proxy serves the next agent as before.  A reply cut short is a lost
# answer, retried like no connection until the deadline (upstream.c).
start_proxy ca.pem proxy
for case in huge:OB_ERR_PROXY_UPSTREAM_RESPONSE:502 junk:OB_ERR_PROXY_UPSTREAM_RESPONSE:502 \
    nowit:OB_ERR_PROXY_UPSTREAM_RESPONSE:502 cut:OB_ERR_PROXY_UPSTREAM_DOWN:503 \
    badpoll:OB_ERR_PROXY_UPSTREAM_RESPONSE:502 drip:OB_ERR_PROXY_DEADLINE:504; do
	name=${case%%:*}; rest=${case#*:}; want=${rest%%:*}; st=${rest#*:}
	agent_only "$name" owner-mediated || exit 1
	t0=$(date +%s)
	s=$(ask)
	dt=$(($(date +%s) - t0))
	if [ "$s" = "$st" ] && code_is "$want" && [ "$dt" -le 8 ] &&
	    ! grep -q '"wit"' resp.json; then
		ok "upstream $name: $s $want in ${dt}s, no credential"
	else
		bad "upstream $name: $s in ${dt}s: $(head -c 300 resp.json)"
	fi
done
agent_only gw owner-mediated || exit 1
s=$(ask)
[ "$s" = 201 ] && model_is owner-mediated && kill -0 "$PP" &&
    ok "after the hostile answers: the proxy serves the next agent (201)" ||
    bad "after hostile answers: $s $(cat resp.json)"
stop_proxy

# TLS trouble is configuration: reported at once, not retried.
before=$(wc -l <up.log)
start_proxy other-ca.pem proxy
agent_only gw owner-mediated || exit 1
s=$(ask)
[ "$s" = 502 ] && code_is OB_ERR_PROXY_TLS &&
    grep -q '"code":"OB_ERR_PROXY_TLS","detail":"after 1 tries' proxy.log &&
    ok "the upstream's CA is not ours: 502 TLS, one try" || bad "CA: $s $(cat resp.json)"
stop_proxy
start_proxy ca.pem rogue
agent_only gw owner-mediated || exit 1
s=$(ask)
[ "$s" = 502 ] && code_is OB_ERR_PROXY_TLS && [ "$(wc -l <up.log)" = "$before" ] &&
    ok "our certificate is refused: 502 TLS" || bad "client cert: $s $(cat resp.json)"
stop_proxy
[ $fail = 0 ] || { echo "--- proxy log"; cat proxy.log; }
exit $fail
