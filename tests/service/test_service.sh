#!/bin/sh
# The service layer (service/) over real TLS: the test daemon svcd, real
# curl, openssl s_client and python ssl clients, certificates made here by
# openssl.  With a second argument, ownerbind submit against the same
# daemon.  Usage: test_service.sh SVCD [OWNERBIND]
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
SVCD=$(abs "$1")
OB=${2:+$(abs "$2")}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${OB_PYTHON:-/usr/bin/python3}
CL="$PY $HERE/svc_client.py"
D=$(mktemp -d)
chmod 755 "$D"
PIDS=""
# Each continued first: a daemon the test stopped (SIGSTOP: the stall and
# "behind" cases) would not end, and the wait would hang.
cleanup() {
	for p in $PIDS; do
		kill -CONT "$p" 2>/dev/null
		kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
	done
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT	# dash runs no EXIT trap when a signal ends it
trap 'exit 143' TERM
cd "$D" || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
no() { fail=$((fail + 1)); echo "FAIL $*"; }
has() {	# has FILE TEXT DESCRIPTION
	if grep -q -- "$2" "$1"; then ok "$3"; else no "$3"; sed 's/^/    /' "$1" | head -20; fi
}
hasnt() {
	if grep -q -- "$2" "$1"; then no "$3"; sed 's/^/    /' "$1" | head -20; else ok "$3"; fi
}
eq() {	# eq GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then ok "$3"; else no "$3 (got '$1', want '$2')"; fi
}
waitfile() { i=0; while [ ! -s "$1" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done; }

sh "$HERE/mkcerts.sh" "$D" || { echo "FAIL certificates"; exit 1; }
cp server.pem live.pem
cp server.key live.key

# The daemon: one worker, one queue place, 3 s timeouts.
$PY "$HERE/svc_client.py" notify "$D/notify.sock" "$D/notify.txt" 60 & NPID=$!
PIDS="$NPID"
waitfile_sock() { i=0; while [ ! -S "$1" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done; }
waitfile_sock "$D/notify.sock"
NOTIFY_SOCKET=$D/notify.sock "$SVCD" --listen 127.0.0.1:0 --metrics 127.0.0.1:0 \
    --cert live.pem --key live.key --ca ca.pem --peers peers.json \
    --ports ports --workers 1 --queue 1 --timeout 3 --max-conns 8 \
    --max-body 4096 --max-headers 2048 --drain 10 --reload-fail "$D/fail" \
    2>svc.log & SPID=$!
PIDS="$SPID $PIDS"
waitfile ports
read -r PORT MPORT < ports || { echo "FAIL daemon did not start"; cat svc.log; exit 1; }
U=https://localhost:$PORT
cc() { cert=$1; shift; curl -sS --max-time 20 --cacert ca.pem --cert "$cert.pem" --key "$cert.key" "$@"; }
J='Content-Type: application/json'

# mTLS and peers
cc proxy "$U/whoami" >out.txt 2>err.txt
has out.txt '"peer":"proxy-1"' "mTLS: the URI SAN maps to proxy-1, echoed"
has out.txt '"role":"proxy"' "the peer's role reaches the handler"
cc hashpeer "$U/whoami" >out.txt 2>err.txt
has out.txt '"peer":"hash-peer"' "mTLS: a certificate SHA-256 (upper-case in the config) maps"
if curl -sS --max-time 10 --cacert ca.pem "$U/whoami" >out.txt 2>err.txt; then
	no "no client certificate is refused"; else ok "no client certificate is refused"; fi
if cc rogue "$U/whoami" >out.txt 2>err.txt; then
	no "a certificate from an unknown CA is refused"; else ok "a certificate from an unknown CA is refused"; fi
if cc expired "$U/whoami" >out.txt 2>err.txt; then
	no "an expired client certificate is refused"; else ok "an expired client certificate is refused"; fi
cc stranger -D hdr.txt -w '\n%{http_code}\n' "$U/whoami" >out.txt 2>err.txt
has out.txt '^403$' "a valid certificate that maps to no peer gets 403"
has out.txt '"code":"OB_ERR_SVC_PEER_UNKNOWN"' "... with the public code"
has out.txt '"request_id":"[0-9a-f]\{16\}"' "... and a request id"
has hdr.txt 'application/problem+json' "... as application/problem+json"
has svc.log '"peer_cert_sha256"' "the log names the unmapped certificate by hash"
cc prefix -w '\n%{http_code}\n' "$U/whoami" >out.txt 2>err.txt
has out.txt '^403$' "a URI SAN that only starts with a configured one gets 403"

# limits and HTTP errors
head -c 5000 /dev/zero | tr '\0' a > big
cc proxy -w '\n%{http_code}\n' -H "$J" --data-binary @big "$U/echo" >out.txt 2>err.txt
has out.txt '^413$' "a body over --max-body gets 413"
cc proxy -w '\n%{http_code}\n' -H "X-Big: $(head -c 3000 /dev/zero | tr '\0' b)" "$U/whoami" >out.txt 2>err.txt
if grep -q '^4[0-9][0-9]$' out.txt || [ ! -s out.txt ] || grep -q '^000$' out.txt; then
	ok "headers over --max-headers are refused ($(tail -1 out.txt))"; else no "oversized headers"; cat out.txt; fi
cc proxy -w '\n%{http_code}\n' -H 'Content-Type: text/plain' -d '{}' "$U/echo" >out.txt 2>err.txt
has out.txt '^415$' "a wrong Content-Type gets 415"
has out.txt '"code":"OB_ERR_SVC_MEDIA_TYPE"' "... with the public code"
cc proxy -w '\n%{http_code}\n' -H 'Content-Type: application/json; charset=utf-8' -d '{}' "$U/echo" >out.txt 2>err.txt
has out.txt '^200$' "Content-Type parameters are accepted"
cc proxy -w '\n%{http_code}\n' -X POST "$U/nope" >out.txt 2>err.txt
has out.txt '^404$' "an unknown path gets 404"
cc proxy -D hdr.txt -w '\n%{http_code}\n' -X DELETE "$U/echo" >out.txt 2>err.txt
has out.txt '^405$' "a wrong method gets 405"
has hdr.txt '^Allow: POST' "... with Allow"

# malformed HTTP over TLS, then the daemon still serves
$CL raw "$PORT" "$D" "$(printf 'GARBAGE\r\n\r\n' | od -An -v -tx1 | tr -d ' \n')" >out.txt 2>&1
has out.txt 'HTTP/1.1 400' "a garbage request line gets 400"
$CL raw "$PORT" "$D" "$(printf 'GET /whoami HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n' | od -An -v -tx1 | tr -d ' \n')" >out.txt 2>&1
has out.txt 'HTTP/1.1 400' "a header without a colon gets 400"
$CL raw "$PORT" "$D" "$(printf 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -5\r\n\r\n' | od -An -v -tx1 | tr -d ' \n')" >out.txt 2>&1
has out.txt 'HTTP/1.1 400' "a negative Content-Length gets 400"
# A chunked body larger than --max-body (4096) in all, each chunk small.
CHUNKS=$(i=0; while [ $i -lt 10 ]; do printf '200\r\n%0512d\r\n' 0; i=$((i + 1)); done)
$CL raw "$PORT" "$D" "$(printf 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%s0\r\n\r\n' "$CHUNKS" | od -An -v -tx1 | tr -d ' \n')" >out.txt 2>&1
has out.txt 'HTTP/1.1 413' "a chunked body over --max-body gets 413"
# Two Content-Lengths that disagree: refused, not read either way.
$CL raw "$PORT" "$D" "$(printf 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}' | od -An -v -tx1 | tr -d ' \n')" >out.txt 2>&1
has out.txt 'HTTP/1.1 400' "two Content-Lengths that disagree get 400 (RFC 9112 6.3)"
$CL raw "$PORT" "$D" "$(printf 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n' | od -An -v -tx1 | tr -d ' \n')" >out.txt 2>&1
has out.txt 'HTTP/1.1 400' "Content-Length beside Transfer-Encoding gets 400"
$CL raw "$PORT" "$D" "00ff00ff0d0a0d0a" >out.txt 2>&1
if grep -q 'HTTP/1.1 400\|CLOSED' out.txt; then ok "binary junk: 400 or closed"; else no "binary junk"; cat out.txt; fi
printf 'GET /whoami HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client -quiet -connect 127.0.0.1:"$PORT" \
    -CAfile ca.pem -cert proxy.pem -key proxy.key >out.txt 2>err.txt
has out.txt '"peer":"proxy-1"' "openssl s_client with HTTP/1.0 is served"
kill -0 $SPID 2>/dev/null && ok "no crash after malformed input" || no "daemon died"

# slowloris: cut within the timeout while another client is served
$CL slowloris "$PORT" "$D" 12 >slow.txt 2>&1 & LPID=$!
sleep 1
cc proxy "$U/whoami" >out.txt 2>err.txt
has out.txt '"peer":"proxy-1"' "another client is served during a slowloris"
wait $LPID
t=$(cat slow.txt)
case $t in
NOT*|"") no "slowloris is cut ($t)";;
*) if awk -v t="$t" 'BEGIN { exit !(t < 5.5) }'; then ok "slowloris cut after ${t}s (timeout 3 s)";
   else no "slowloris cut only after ${t}s"; fi;;
esac

# a handshake stalled on the client's turn: cut at the deadline, and the
# log says where the handshake stood
$CL stall "$PORT" "$D" 12 >stall.txt 2>&1
t=$(cut -d' ' -f1 stall.txt)
case $t in
NOT*|"") no "a stalled handshake is cut ($(cat stall.txt))";;
*) if awk -v t="$t" 'BEGIN { exit !(t < 5.5) }'; then ok "a stalled handshake cut after ${t}s (timeout 3 s; $(cut -d' ' -f2- stall.txt))";
   else no "a stalled handshake cut only after ${t}s"; fi;;
esac
i=0
while ! grep -q 'handshake not complete by the deadline' svc.log && [ $i -lt 40 ]; do
	sleep 0.1; i=$((i + 1))
done
# (The line is written as the connection is freed, after its socket is
# closed: the client may see the close first.)
if grep 'handshake not complete by the deadline' svc.log | grep -qv '(at: [^")]*)"'; then
	no "... a handshake refusal without OpenSSL's state"; grep 'handshake not complete' svc.log | sed 's/^/    /'
else
	has svc.log '"detail":"TLS handshake not complete by the deadline (at: [^")]*)"' \
	    "... logged with OpenSSL's handshake state: $(sed -n 's/.*(at: \([^")]*\)).*/\1/p' svc.log | tail -1)"
fi

# the same, with the daemon stopped over the deadline for 3 s: the
# deadline runs late and is extended, and evhttp's backstop (2 x 3 + 1 s
# after the ClientHello) must not cut the handshake first, unlogged
n0=$(grep -c 'handshake not complete by the deadline' svc.log)
$CL stall "$PORT" "$D" 14 >stall.txt 2>&1 & LPID=$!
sleep 2
kill -STOP $SPID
sleep 3
kill -CONT $SPID
wait $LPID
t=$(cut -d' ' -f1 stall.txt)
case $t in
NOT*|"") no "a stalled handshake, daemon stopped past its deadline, is cut ($(cat stall.txt))";;
*) ext=$(curl -sS --max-time 10 "http://127.0.0.1:$MPORT/metrics" | awk '/^ob_tls_deadlines_extended_total/ { print $2 }')
   ok "a stalled handshake, daemon stopped past its deadline, cut after ${t}s (deadlines extended: $ext)";;
esac
i=0
while [ "$(grep -c 'handshake not complete by the deadline' svc.log)" = "$n0" ] && [ $i -lt 40 ]; do
	sleep 0.1; i=$((i + 1))
done
eq "$(grep -c 'handshake not complete by the deadline' svc.log)" $((n0 + 1)) "... and logged, once"

# a daemon that is behind, not its clients: 64 connections accepted, the
# daemon stopped past their 2 s deadline while every ClientHello is sent,
# then continued (more ready at once than one pass of the loop takes):
# every one is served, none cut silently, each extension counted
"$SVCD" --listen 127.0.0.1:0 --metrics 127.0.0.1:0 --cert live.pem \
    --key live.key --ca ca.pem --peers peers.json --ports ports2 --workers 1 \
    --queue 4 --timeout 2 --max-conns 200 2>behind.log & BPID=$!
PIDS="$BPID $PIDS"
waitfile ports2
read -r BPORT BMPORT < ports2
$CL behind "$BPORT" "$D" 64 "$BPID" 3 >out.txt 2>err.txt
has out.txt '^answered 64 of 64$' "a daemon stopped past the deadlines serves every connection after"
curl -sS --max-time 10 "http://127.0.0.1:$BMPORT/metrics" >m.txt 2>&1
if awk '/^ob_tls_deadlines_extended_total/ { n = $2 } END { exit !(n >= 64) }' m.txt; then
	ok "... each deadline extended once, and counted"; else no "deadline extensions not counted"; sed 's/^/    /' m.txt | grep deadline; fi
hasnt behind.log 'not complete by the deadline' "... none refused for a deadline the daemon missed"
kill "$BPID"; wait "$BPID" 2>/dev/null

# the connection limit (8): the ninth handshake is refused
sleep 0.3
$CL conns "$PORT" "$D" 8 >out.txt 2>&1
has out.txt REFUSED "a connection over --max-conns is refused"
cc proxy "$U/whoami" >out.txt 2>err.txt
has out.txt '"peer":"proxy-1"' "served again once the connections are closed"

# the worker pool: one worker busy, one request queued, the third gets 503
cc proxy -H "$J" -d '{}' "$U/work?ms=1500" >w1.txt 2>&1 & W1=$!
sleep 0.3
cc proxy -H "$J" -d '{}' "$U/work?ms=10" >w2.txt 2>&1 & W2=$!
sleep 0.3
cc proxy -D hdr.txt -w '\n%{http_code}\n' -H "$J" -d '{}' "$U/work?ms=10" >out.txt 2>err.txt
has out.txt '^503$' "a full worker queue answers 503 at once"
has hdr.txt '^Retry-After: 1' "... with Retry-After"
has out.txt '"code":"OB_ERR_SVC_UNAVAILABLE"' "... and the public code"
wait $W1 $W2
has w1.txt '"slept_ms":1500' "the running request completes"
has w2.txt '"slept_ms":10' "the queued request completes"

# a client that leaves while its request is on a worker
$CL abandon "$PORT" "$D" >out.txt 2>&1
sleep 1.2
cc proxy "$U/whoami" >out.txt 2>err.txt
has out.txt '"peer":"proxy-1"' "a request abandoned on a worker is answered into the void"

# the verifier's answer leaves one public code; the log has the reason
cc proxy -w '\n%{http_code}\n' -H 'Content-Type: application/jose+json' -d '{"refuse":true}' \
    "$U/v1/credentials" >out.txt 2>err.txt
has out.txt '"code":"OB_ERR_REJECTED"' "an internal refusal (replay) is OB_ERR_REJECTED to the client"
hasnt out.txt 'REPLAY\|jti' "... and nothing of the reason"
has svc.log '"code":"OB_ERR_REPLAY","detail":"jti already used (test)"' "... which is in the log"
cc proxy -w '\n%{http_code}\n' -H 'Content-Type: application/jose+json' -d '{"a":1,"a":2}' \
    "$U/v1/credentials" >out.txt 2>err.txt
has out.txt '"code":"OB_ERR_SVC_BAD_REQUEST"' "a body that is not strict JSON is OB_ERR_SVC_BAD_REQUEST"
hasnt svc.log '"refuse"' "bodies never reach the log"

# SIGHUP: a broken certificate keeps the old one; a good one is taken
old=$(openssl s_client -connect 127.0.0.1:"$PORT" -CAfile ca.pem -cert proxy.pem -key proxy.key </dev/null 2>/dev/null | openssl x509 -noout -serial)
echo "not a certificate" > live.pem
kill -HUP $SPID
sleep 0.5
cc proxy "$U/whoami" >out.txt 2>err.txt
has out.txt '"peer":"proxy-1"' "SIGHUP with a broken certificate: still serving"
has svc.log '"event":"reload: TLS files kept","code":"OB_ERR_SVC_TLS"' "... and the log says why"
cur=$(openssl s_client -connect 127.0.0.1:"$PORT" -CAfile ca.pem -cert proxy.pem -key proxy.key </dev/null 2>/dev/null | openssl x509 -noout -serial)
eq "$cur" "$old" "... with the old certificate"
openssl req -new -key live.key -subj /CN=localhost -out n.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' > n.ext
openssl x509 -req -in n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile n.ext -out live.pem 2>/dev/null
kill -HUP $SPID
sleep 0.5
new=$(openssl s_client -connect 127.0.0.1:"$PORT" -CAfile ca.pem -cert proxy.pem -key proxy.key </dev/null 2>/dev/null | openssl x509 -noout -serial)
if [ -n "$new" ] && [ "$new" != "$old" ]; then ok "SIGHUP with a good certificate: new connections get it"; else no "certificate swap ($old -> $new)"; fi
touch fail
kill -HUP $SPID
sleep 0.5
has svc.log '"event":"reload: callback failed, old state kept","code":"OB_ERR_SVC_CONFIG"' "a failing reload callback is logged"
rm -f fail

# the loopback listener
curl -sS "http://127.0.0.1:$MPORT/healthz" >out.txt 2>&1
has out.txt '"ready":true' "/healthz answers ready"
curl -sS -D hdr.txt "http://127.0.0.1:$MPORT/metrics" >out.txt 2>&1
has hdr.txt 'text/plain; version=0.0.4' "/metrics is Prometheus text 0.0.4"
has out.txt '^ob_http_requests_total{route="GET /whoami",status="200"} [1-9]' "... counting per route and status"
has out.txt '^ob_http_requests_total{route="POST /work",status="503"} 1$' "... the 503"
has out.txt '^ob_http_request_duration_seconds_bucket{route="POST /work",le="+Inf"} ' "... a latency histogram"
has out.txt '^ob_worker_queue_depth 0$' "... the queue depth"
has out.txt '^ob_reloads_total{result="failed"} 2$' "... failed reloads"
has out.txt '^ob_tls_connections_refused_total [1-9]' "... refused connections"
if curl -sS --max-time 5 "http://127.0.0.1:$PORT/metrics" >out.txt 2>&1 && grep -q ob_http out.txt; then
	no "metrics are not on the TLS port"; else ok "metrics are not on the TLS port"; fi
# Its own connection cap and deadline (decision 168).
if $PY "$HERE/metrics_conns.py" "$D" "$PORT" "$MPORT" 3 >mc.txt 2>&1; then
	ok "the metrics listener: cap, deadline, TLS unaffected ($(grep -c '^ok' mc.txt) checks)"
else
	no "the metrics listener's limits: $(cat mc.txt)"
fi

# ownerbind submit against the same daemon
if [ -n "$OB" ]; then
	. "$HERE/submit.sh"
fi

# SIGTERM drains a slow in-flight request, then the daemon exits 0
cc proxy -H "$J" -d '{}' "$U/work?ms=1500" >w1.txt 2>&1 & W1=$!
sleep 0.3
kill -TERM $SPID
wait $W1
has w1.txt '"slept_ms":1500' "SIGTERM: the in-flight request completes"
wait $SPID
eq "$?" 0 "the daemon exits 0 after draining"
PIDS="$NPID"
has svc.log '"event":"draining"' "the log says draining"
wait $NPID
PIDS=""
has notify.txt '^READY=1' "NOTIFY_SOCKET receives READY=1"
has notify.txt '^RELOADING=1 MONOTONIC_USEC=[0-9]' "... RELOADING=1 with MONOTONIC_USEC on SIGHUP"
has notify.txt '^STOPPING=1' "... STOPPING=1 on SIGTERM"
if grep -q 'Sanitizer\|runtime error' svc.log; then no "sanitizers are quiet"; grep -A5 Sanitizer svc.log | head -30; else ok "no sanitizer report"; fi

# --user: root binds, then the daemon runs as nobody
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	rm -f ports
	"$SVCD" --listen 127.0.0.1:0 --cert server.pem --key server.key --ca ca.pem \
	    --peers peers.json --ports ports --user nobody 2>user.log & UPID=$!
	PIDS="$UPID"
	waitfile ports
	read -r P2 _ < ports
	curl -sS --max-time 10 --cacert ca.pem --cert proxy.pem --key proxy.key "https://localhost:$P2/whoami" >out.txt 2>&1
	has out.txt '"peer":"proxy-1"' "--user nobody: serves"
	uid=$(awk '/^Uid:/ { print $2 "," $3 "," $4 }' /proc/$UPID/status)
	eq "$uid" "$(id -u nobody),$(id -u nobody),$(id -u nobody)" "... real, effective and saved uid dropped"
	eq "$(awk '/^CapEff:/ { print $2 }' /proc/$UPID/status)" 0000000000000000 "... no capabilities left"
	kill $UPID; wait $UPID; PIDS=""
fi
"$SVCD" --listen 127.0.0.1:0 --metrics 192.0.2.1:0 --cert server.pem --key server.key \
    --ca ca.pem --peers peers.json >out.txt 2>&1
has out.txt 'OB_ERR_SVC_CONFIG' "a metrics listener off loopback is a configuration error"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
