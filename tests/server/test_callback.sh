#!/bin/sh
# The server-mediated model's ping callback (docs/api.md, "Ping callback"):
# a sandboxed server whose proxies have callbacks configured, a python3
# HTTPS receiver as the client's callback, and `ownerbind respond` as the
# owner's device.  One ping with the token for an issued, a denied and an
# expired request; none without the header; a hanging and a refusing
# callback delay no credential, hold up no other client's ping and are
# logged as dropped; a client without
# a callback and an oversized token get 400.  Then the notifier alone
# (tests/server/notifier_queue.py): its queue's per-client share and bound.
# Usage: test_callback.sh OWNERBIND-SERVER OWNERBIND
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=$1
OB=$2
PY=${OB_PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/server/srv-setup.sh"

srv_dev
srv_pki "$HERE/service/mkcerts.sh"
PIN="sha256//$SPKI"

# The client's callback (KP): the dev server certificate (127.0.0.1), its CA.
"$PY" "$HERE/server/callback_receiver.py" "$D/dev/server.pem" \
    "$D/dev/server.key" "$D/pings.jsonl" "$D/rport" 2>receiver.log &
KP=$!
i=0
while [ ! -f rport ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -f rport ] || { cat receiver.log; echo "FAIL: receiver"; exit 1; }
RPORT=$(cat rport)
# A port nothing listens on: a refusing callback.
CPORT=$(free_port)
"$PY" - "$D/dev/server.json" "$ALICE_SHA" "$RPORT" "$CPORT" <<'EOF'
import json, sys
p, sha, rport, cport = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
c = json.load(open(p))
ca = "tls-ca.pem"
c["listen"] = "127.0.0.1:0"
c["tls"]["client_ca"] = "clients-ca.pem"
dev = c["clients"][0]
dev["callback"] = {"url": "https://127.0.0.1:%s/ping" % rport, "ca": ca}
c["clients"] = [dev,
    {"id": "alice-phone", "role": "responder", "owner": "alice@example.org",
     "cert_sha256": sha},
    {"id": "proxy-hang", "role": "proxy",
     "san_uri": "spiffe://test.example/proxy/p1",
     "callback": {"url": "https://127.0.0.1:%s/hang" % rport, "ca": ca}},
    {"id": "proxy-refused", "role": "proxy",
     "san_uri": "spiffe://test.example/proxy/nobody",
     "callback": {"url": "https://127.0.0.1:%s/ping" % cport, "ca": ca}},
    {"id": "proxy-plain", "role": "proxy",
     "san_uri": "spiffe://test.example/proxy/p1/x"}]
c["challenge"] = {"deadline_s": 8, "interval_s": 1, "wait_max_s": 2}
c["limits"] = {"workers": 4, "timeout_s": 3}
json.dump(c, open(p, "w"), indent=1)
EOF
# A callback on a responder, or not https://, is refused by the check.
"$PY" - "$D/dev/server.json" "$D/dev/bad.json" "$D/dev/bad2.json" "$D/dev/bad3.json" <<'EOF'
import copy, json, sys
c = json.load(open(sys.argv[1]))
b = copy.deepcopy(c)
b["clients"][1]["callback"] = b["clients"][0]["callback"]
json.dump(b, open(sys.argv[2], "w"))
b = copy.deepcopy(c)
b["clients"][0]["callback"]["url"] = "http://127.0.0.1:1/ping"
json.dump(b, open(sys.argv[3], "w"))
b = copy.deepcopy(c)
b["clients"][0]["callback"]["url"] = "https://ops:Hunter2-cb@127.0.0.1:1/ping"
json.dump(b, open(sys.argv[4], "w"))
EOF
"$SRV" --check-config "$D/dev/bad.json" >/dev/null 2>bad.out &&
    bad "a responder's callback accepted" ||
    { grep -q 'is for role "proxy" only' bad.out && ok "config: a callback is for proxies only" ||
    bad "bad config: $(cat bad.out)"; }
"$SRV" --check-config "$D/dev/bad2.json" >/dev/null 2>bad2.out &&
    bad "an http:// callback accepted" ||
    { grep -q 'must be an https:// URL' bad2.out && ok "config: an http:// callback is refused" ||
    bad "bad2 config: $(cat bad2.out)"; }
"$SRV" --check-config "$D/dev/bad3.json" >/dev/null 2>bad3.out &&
    bad "a callback URL with a password accepted" ||
    { grep -q 'must not carry a user or password' bad3.out && ! grep -q Hunter2 bad3.out &&
    ok "config: a callback URL with user:password is refused, not repeated" ||
    bad "bad3 config: $(cat bad3.out)"; }

"$OB" keygen --key file:alice.pem >/dev/null || exit 1
"$OB" enroll --key file:alice.pem --owner alice@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$TRUST" >/dev/null || exit 1

srv_serve
MURL=$(grep -o 'metrics=http://127.0.0.1:[0-9]*' server.log | cut -d= -f2)

PCURL="curl -sS --max-time 20 --cacert $CA --cert $CERT --key $KEY"
HCURL="curl -sS --max-time 20 --cacert $CA --cert pki/proxy.pem --key pki/proxy.key"
RCURL="curl -sS --max-time 20 --cacert $CA --cert pki/stranger.pem --key pki/stranger.key"
XCURL="curl -sS --max-time 20 --cacert $CA --cert pki/prefix.pem --key pki/prefix.key"
RESPOND="$OB respond --server $URL --ca $CA --server-pin $PIN --timeout 20"
RESPOND="$RESPOND --cert pki/hashpeer.pem --key pki/hashpeer.key --owner-key file:alice.pem"

n=0
start_req() {	# $1: name
	n=$((n + 1))
	"$OB" request --sub "wimse://example.org/agents/a$n" --aud "$AUD" \
	    --owner alice@example.org --agent-key "agent$n.pem" --new-agent-key \
	    -o "$1.req" >/dev/null &&
	"$OB" pop --model server-mediated --agent-key "agent$n.pem" -o "$1.start" "$1.req"
}
post_start() {	# $1: name, $2: curl, [$3: token]; prints the status
	if [ $# -ge 3 ]; then
		$2 -o "$1.held" -w '%{http_code}' -H 'Content-Type: application/jose+json' \
		    -H "Ownerbind-Notification-Token: $3" \
		    --data-binary "@$1.start" "$URL/v1/credentials" 2>/dev/null
	else
		$2 -o "$1.held" -w '%{http_code}' -H 'Content-Type: application/jose+json' \
		    --data-binary "@$1.start" "$URL/v1/credentials" 2>/dev/null
	fi
}
field() { "$PY" -c "import json,sys; print(json.load(open('$1')).get('$2', ''))"; }
poll() {	# $1: name, $2: curl; prints the status
	$2 -o "$1.poll" -w '%{http_code}' "$URL/v1/requests/$(field "$1.held" handle)" 2>/dev/null
}
approve() {	# $1: name
	$RESPOND --once --yes --wait 20 --handle "$(field "$1.held" handle)" \
	    >"$1.resp" 2>&1
}
pings() {	# $1: name; its pings as "path status authorization members"
	[ -f pings.jsonl ] || return 0
	"$PY" - "$(field "$1.held" handle)" <<'EOF'
import json, sys
for l in open("pings.jsonl"):
    p = json.loads(l)
    if p["body"].get("handle") == sys.argv[1]:
        print(p["path"], p["body"]["status"], p["authorization"],
            sorted(p["body"]))
EOF
}
wait_for() {	# $1: seconds, $2...: a command that succeeds when done
	w=$1; shift
	i=0
	while ! "$@" && [ $i -lt $((w * 10)) ]; do sleep 0.1; i=$((i + 1)); done
	"$@"
}
# shellcheck disable=SC2317 # has_ping and logged run through wait_for
has_ping() { [ -n "$(pings "$1")" ]; }
logged() { grep -q -- "$1" server.log; }
ms() { echo $((($2 - $1) / 1000000)); }

# The request left to expire, started first.
start_req rx || exit 1
[ "$(post_start rx "$PCURL" tok-expired)" = 202 ] || bad "start rx: $(cat rx.held)"

# Issued: one ping, the token as a bearer token, no credential in it.
start_req r1 || exit 1
[ "$(post_start r1 "$PCURL" tok-issued.1~)" = 202 ] || bad "start r1: $(cat r1.held)"
approve r1 || bad "approve r1: $(cat r1.resp)"
wait_for 5 has_ping r1
[ "$(pings r1)" = "/ping issued Bearer tok-issued.1~ ['handle', 'status']" ] &&
    ok "issued: one ping with the token, handle and status only" ||
    bad "issued ping: $(pings r1)"
s=$(poll r1 "$PCURL")
[ "$s" = 201 ] && [ -n "$(field r1.poll wit)" ] &&
    ok "issued: the poll gets the credential" || bad "poll r1: $s"

# Denied.
start_req r2 || exit 1
[ "$(post_start r2 "$PCURL" tok-denied)" = 202 ] || bad "start r2"
$RESPOND --deny --once --wait 20 --handle "$(field r2.held handle)" >r2.resp 2>&1 ||
    bad "deny r2: $(cat r2.resp)"
wait_for 5 has_ping r2
[ "$(pings r2)" = "/ping denied Bearer tok-denied ['handle', 'status']" ] &&
    ok "denied: one ping with the token" || bad "denied ping: $(pings r2)"

# Approved, then not issued (decision 171): the helper stopped during the
# answer; the request is over and its ping says "failed".
hinfo() { "$PY" -c "import json,urllib.request; h=json.load(urllib.request.urlopen('$MURL/healthz'))['signer']; print(h['state'], h['pid'])"; }
start_req rf || exit 1
[ "$(post_start rf "$PCURL" tok-failed)" = 202 ] || bad "start rf"
HP=$(hinfo | cut -d' ' -f2)
kill -STOP "$HP"
approve rf
kill -CONT "$HP" 2>/dev/null
wait_for 10 has_ping rf
[ "$(pings rf)" = "/ping failed Bearer tok-failed ['handle', 'status']" ] &&
    [ "$(poll rf "$PCURL")" = 409 ] &&
    ok "approved, not issued: one ping \"failed\", the poll 409" ||
    bad "failed ping: $(pings rf) $(cat rf.resp)"
wait_for 20 sh -c "[ \"\$($PY -c \"import json,urllib.request; print(json.load(urllib.request.urlopen('$MURL/healthz'))['signer']['state'])\")\" = ready ]" ||
    bad "the helper did not come back"

# No header: no ping.
start_req r3 || exit 1
[ "$(post_start r3 "$PCURL")" = 202 ] || bad "start r3"
approve r3 || bad "approve r3"
[ "$(poll r3 "$PCURL")" = 201 ] || bad "poll r3"

# A hanging and a refusing callback: the credential is there at once.
start_req r4 || exit 1
[ "$(post_start r4 "$HCURL" tok-hang)" = 202 ] || bad "start r4: $(cat r4.held)"
approve r4 || bad "approve r4"
sleep 0.5
t0=$(date +%s%N); s=$(poll r4 "$HCURL"); t1=$(date +%s%N)
[ "$s" = 201 ] && [ "$(ms "$t0" "$t1")" -lt 1000 ] &&
    ok "hanging callback: the poll answers 201 in $(ms "$t0" "$t1") ms" ||
    bad "hanging callback poll: $s in $(ms "$t0" "$t1") ms"
start_req r5 || exit 1
[ "$(post_start r5 "$RCURL" tok-refused)" = 202 ] || bad "start r5: $(cat r5.held)"
approve r5 || bad "approve r5"
t0=$(date +%s%N); s=$(poll r5 "$RCURL"); t1=$(date +%s%N)
[ "$s" = 201 ] && [ "$(ms "$t0" "$t1")" -lt 1000 ] &&
    ok "refusing callback: the poll answers 201 in $(ms "$t0" "$t1") ms" ||
    bad "refusing callback poll: $s in $(ms "$t0" "$t1") ms"

# While proxy-hang's callback hangs (its three tries take about 7.5 s)
# and proxy-refused's retries back off, another client's ping goes out:
# the notifier's workers take the next message each.
# proxy_ping NAME: a request of proxy's, approved; its ping within 3 s
# (MS: how long it took).
proxy_ping() {
	start_req "$1" || exit 1
	[ "$(post_start "$1" "$PCURL" "tok-$1")" = 202 ] || bad "start $1: $(cat "$1.held")"
	approve "$1" || bad "approve $1"
	t0=$(date +%s%N)
	wait_for 4 has_ping "$1"
	t1=$(date +%s%N)
	MS=$(ms "$t0" "$t1")
	[ "$(pings "$1")" = "/ping issued Bearer tok-$1 ['handle', 'status']" ] &&
	    [ "$MS" -lt 3000 ]
}
if proxy_ping r8 && ! logged "OB_ERR_NOTIFY_DROPPED.*$(field r4.held handle | cut -c1-8)"; then
	ok "a hanging callback holds up no other client's ping ($MS ms, before the hang's drop)"
else
	bad "r8's ping behind the hanging one: '$(pings r8)' after $MS ms"
fi

# Three more of proxy-hang's pings beside r4's: it may hold two of the
# notifier's four workers, not all four, so another client's ping still
# goes out at once (decision 161).
for r in r9 r10 r11; do
	start_req $r || exit 1
	[ "$(post_start $r "$HCURL" "tok-$r")" = 202 ] || bad "start $r: $(cat $r.held)"
	approve $r || bad "approve $r"
done
if proxy_ping r12; then
	ok "four hanging pings of one client hold up no other client's ping ($MS ms)"
else
	bad "r12's ping behind proxy-hang's: '$(pings r12)' after $MS ms"
fi

# Asking without a configured callback; an oversized or bad token.
start_req r6 || exit 1
s=$(post_start r6 "$XCURL" tok)
[ "$s" = 400 ] && [ "$(field r6.held code)" = OB_ERR_NOTIFY_UNCONFIGURED ] &&
    ok "notify without a callback: 400 OB_ERR_NOTIFY_UNCONFIGURED" ||
    bad "unconfigured: $s $(cat r6.held)"
big=$("$PY" -c "print('t' * 1025)")
s=$(post_start r6 "$PCURL" "$big")
[ "$s" = 400 ] && [ "$(field r6.held code)" = OB_ERR_NOTIFY_TOKEN ] &&
    ok "1025-byte token: 400 OB_ERR_NOTIFY_TOKEN" || bad "big token: $s $(cat r6.held)"
s=$(post_start r6 "$PCURL" "$("$PY" -c "print('t' * 1024)")")
[ "$s" = 202 ] && ok "1024-byte token: 202" || bad "1024 token: $s $(cat r6.held)"
T1024=$("$PY" -c "print('t' * 1024)")
start_req r7 || exit 1
s=$(post_start r7 "$PCURL" "$(printf 'a\001b')")
[ "$s" = 400 ] && [ "$(field r7.held code)" = OB_ERR_NOTIFY_TOKEN ] &&
    ok "a control character in the token: 400" || bad "ctl token: $s $(cat r7.held)"

# The drops are logged; the expired request gets its ping.
H4=$(field r4.held handle | cut -c1-8)
H5=$(field r5.held handle | cut -c1-8)
wait_for 25 logged "OB_ERR_NOTIFY_DROPPED.*$H4\\.\\.\\. issued to proxy-hang: dropped after 3 tries"
logged "OB_ERR_NOTIFY_DROPPED.*$H4\\.\\.\\. issued to proxy-hang: dropped after 3 tries" &&
    ok "hanging callback: dropped after 3 tries, logged" || bad "no hang drop logged"
wait_for 10 logged "$H5\\.\\.\\. issued to proxy-refused: dropped after 3 tries"
logged "$H5\\.\\.\\. issued to proxy-refused: dropped after 3 tries: OB_ERR_SUBMIT_CONNECT" &&
    ok "refusing callback: dropped after 3 tries, logged" || bad "no refused drop logged"
wait_for 15 has_ping rx
[ "$(pings rx)" = "/ping expired Bearer tok-expired ['handle', 'status']" ] &&
    ok "expired: one ping with the token" || bad "expired ping: $(pings rx)"
sleep 1
[ "$(pings r1 | wc -l)" = 1 ] && [ "$(pings r2 | wc -l)" = 1 ] &&
    [ "$(pings rx | wc -l)" = 1 ] && [ "$(pings r8 | wc -l)" = 1 ] &&
    [ "$(pings r12 | wc -l)" = 1 ] &&
    ok "exactly one ping each" || bad "repeated pings"
wait_for 5 has_ping r6
[ "$(pings r6)" = "/ping expired Bearer $T1024 ['handle', 'status']" ] &&
    ok "the 1024-byte token is echoed whole" || bad "r6 ping: $(pings r6 | cut -c1-80)"
[ -z "$(pings r3)" ] && ok "no header: no ping" || bad "r3 pinged: $(pings r3)"
grep -q "tok-" server.log && bad "a token is in the log" || ok "no token in the log"
# r9-r11 hang two at a time: the last drop is about 17 s after r4's.
# shellcheck disable=SC2317 # run by wait_for
dropped() { curl -sS --max-time 5 "$MURL/metrics" | grep -q '^ob_server_pings_dropped_total 5$'; }
wait_for 30 dropped
m=$(curl -sS --max-time 5 "$MURL/metrics")
echo "$m" | grep -q '^ob_server_pings_delivered_total 7$' &&
    echo "$m" | grep -q '^ob_server_pings_dropped_total 5$' &&
    ok "metrics: 7 delivered (rf failed, r6 expired too), 5 dropped" || bad "metrics: $(echo "$m" | grep pings)"

# The notifier's queue bounds, driven directly (decision 163): one
# client's pile cut at its share, another client's ping still delivered,
# four piles fill the queue.
if "$PY" "$HERE/server/notifier_queue.py" "$(dirname "$SRV")/ownerbind-notifier" \
    "$D/dev/server.json" "https://127.0.0.1:$RPORT/hang" tls-ca.pem >nq.out 2>&1; then
	ok "the notifier's queue: $(grep -c '^ok' nq.out) checks"
else
	bad "the notifier's queue:"; sed 's/^/    /' nq.out
fi

[ $fail = 0 ] && echo "all callback checks passed" || tail -20 server.log
exit $fail
