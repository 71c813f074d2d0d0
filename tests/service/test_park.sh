#!/bin/sh
# Parked requests (service/svc.h "Parking", decision 162) over real TLS:
# the test daemon svcd's GET /park (a long-poll parked on the loop) and
# POST /wake (ob_svc_wake from a worker thread), with real curl and python
# ssl clients.  A parked request holds no worker, is woken only by its own
# key, times out, is answered at SIGTERM, and survives its client going
# away; more keys than the wake list holds wake every parked request.
# Usage: test_park.sh SVCD
# shellcheck disable=SC2015 # "check && ok || no": ok and no only count and print
set -u
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
SVCD=$(abs "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${OB_PYTHON:-/usr/bin/python3}
D=$(mktemp -d)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$D" || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
no() { fail=$((fail + 1)); echo "FAIL $*"; }
has() {	# has FILE TEXT DESCRIPTION
	if grep -q -- "$2" "$1"; then ok "$3"; else no "$3"; sed 's/^/    /' "$1" | head -20; fi
}

sh "$HERE/mkcerts.sh" "$D" || { echo "FAIL certificates"; exit 1; }
# One worker, so that a parked request holding it would show at once.
"$SVCD" --listen 127.0.0.1:0 --metrics 127.0.0.1:0 --cert server.pem \
    --key server.key --ca ca.pem --peers peers.json --ports ports \
    --workers 1 --queue 4 --timeout 30 --max-conns 700 --drain 10 \
    2>svc.log & SPID=$!
PIDS="$SPID"
i=0; while [ ! -s ports ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
read -r PORT MPORT < ports || { echo "FAIL daemon did not start"; cat svc.log; exit 1; }
U=https://localhost:$PORT
cc() { curl -sS --max-time 40 --cacert ca.pem --cert proxy.pem --key proxy.key "$@"; }
J='Content-Type: application/json'
parked() { curl -sS --max-time 5 "http://127.0.0.1:$MPORT/metrics" | awk '$1 == "ob_http_parked" { print $2 }'; }
# until_parked N: wait (at most 10 s) for exactly N parked requests
until_parked() {
	i=0
	while [ "$(parked)" != "$1" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	[ "$(parked)" = "$1" ]
}
# done_within PID SECONDS: the process ended within that many seconds
done_within() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 20)) ]; do sleep 0.05; i=$((i + 1)); done
	! kill -0 "$1" 2>/dev/null
}
wake() { cc -X POST -H "$J" -d '{}' "$U/wake?$1" >/dev/null; }

# A wait that runs out
cc "$U/park?key=t&ms=300" >out.txt 2>&1
has out.txt '"why":"timeout"' "a parked request is answered when its wait runs out"
has out.txt '"left_ms":0' "... with nothing left of it"
[ "$(parked)" = 0 ] && ok "nothing parked afterwards" || no "parked after a timeout: $(parked)"

# Woken by its own key only
cc "$U/park?key=alice&ms=20000" >a.out 2>&1 & APID=$!
cc "$U/park?key=bob&ms=20000" >b.out 2>&1 & BPID=$!
PIDS="$PIDS $APID $BPID"
until_parked 2 && ok "two requests parked (ob_http_parked 2)" || no "parked: $(parked), want 2"
wake key=carol
sleep 0.3
[ "$(parked)" = 2 ] && ok "another key wakes neither" || no "carol woke someone: $(parked) parked"
wake key=alice
done_within "$APID" 10 && ok "alice's request is answered when its key is woken" ||
    no "alice's request still waits after its wake"
has a.out '"why":"woken"' "... as woken"
left=$(sed -n 's/.*"left_ms":\([0-9]*\).*/\1/p' a.out)
[ -n "$left" ] && [ "$left" -gt 5000 ] && ok "... with most of its wait left (${left} ms)" ||
    no "alice's left_ms '${left}'"
kill -0 "$BPID" 2>/dev/null && [ "$(parked)" = 1 ] && ok "bob's request still waits" ||
    no "bob's request ended with alice's: $(cat b.out)"

# No worker held: three more parked, the one worker still serves
for k in w1 w2 w3; do cc "$U/park?key=$k&ms=20000" >"$k.out" 2>&1 & PIDS="$PIDS $!"; done
until_parked 4 && ok "four parked with one worker" || no "parked: $(parked), want 4"
cc -X POST -H "$J" -d '{}' "$U/work?ms=1" >out.txt 2>&1
has out.txt '"slept_ms":1' "the only worker serves while four requests are parked"
[ "$(parked)" = 4 ] && ok "... and they still wait" || no "parked: $(parked) after the work"
for k in w1 w2 w3; do wake "key=$k"; done
until_parked 1 && ok "their keys woke them" || no "parked: $(parked), want 1"
has w2.out '"why":"woken"' "... each as woken"

# The same key twice: both woken by one wake
cc "$U/park?key=twice&ms=20000" >t1.out 2>&1 & T1=$!
cc "$U/park?key=twice&ms=20000" >t2.out 2>&1 & T2=$!
PIDS="$PIDS $T1 $T2"
until_parked 3 || no "parked: $(parked), want 3"
wake key=twice
done_within "$T1" 10 && done_within "$T2" 10 && ok "one wake answers both requests parked under its key" ||
    no "a request under a woken key still waits"

# A client that went away while parked: woken into the void, nothing breaks
cc "$U/park?key=gone&ms=20000" >/dev/null 2>&1 & GPID=$!
PIDS="$PIDS $GPID"
until_parked 2 || no "parked: $(parked), want 2"
kill "$GPID"; wait "$GPID" 2>/dev/null
sleep 0.2
wake key=gone
until_parked 1 && ok "a request whose client left is answered when woken and no longer counted" ||
    no "parked: $(parked), want 1"
cc "$U/whoami" >out.txt 2>&1
has out.txt '"peer":"proxy-1"' "the daemon serves after it"

# Bad parks are answered at once
cc -w '\n%{http_code}\n' "$U/park?key=x&ms=0" >out.txt 2>&1
has out.txt '^400$' "a park with no wait is refused (400)"
cc -w '\n%{http_code}\n' "$U/park?ms=100" >out.txt 2>&1
has out.txt '^400$' "a park with no key is refused (400)"

# More keys than the wake list holds (256): every parked request is woken
"$PY" - "$PORT" 300 >many.out 2>&1 <<'PY' & MPID=$!
import socket, ssl, sys, threading, json
port, n = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context(cafile="ca.pem")
ctx.load_cert_chain("proxy.pem", "proxy.key")
res = []
lock = threading.Lock()
def one(i):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=40) as s:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                t.sendall(("GET /park?key=k%d&ms=25000 HTTP/1.1\r\nHost: localhost\r\n"
                           "Connection: close\r\n\r\n" % i).encode())
                data = b""
                while True:
                    b = t.recv(65536)
                    if not b:
                        break
                    data += b
        body = data.split(b"\r\n\r\n", 1)[1]
        why = json.loads(body)["why"]
    except Exception as e:
        why = "error %r" % e
    with lock:
        res.append(why)
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join()
print("woken=%d other=%s" % (res.count("woken"), sorted(set(r for r in res if r != "woken"))))
PY
PIDS="$PIDS $MPID"
until_parked 301 && ok "300 more requests parked" || no "parked: $(parked), want 301"
# On the loop thread, so that all 300 keys are queued before it takes any.
cc -X POST -H "$J" -d '{}' "$U/wake-loop?key=k&n=300" >/dev/null
done_within "$MPID" 20 && ok "a wake of 300 keys answers all 300" || no "the 300 still wait"
has many.out '^woken=300 other=\[\]$' "... each as woken"
done_within "$BPID" 5 && ok "and bob's too (more keys than fit wake everything)" ||
    no "bob's request still waits after the overflow"

# SIGTERM answers a parked request at once
cc "$U/park?key=drain&ms=20000" >d.out 2>&1 & DPID=$!
PIDS="$PIDS $DPID"
until_parked 1 || no "parked: $(parked), want 1"
kill -TERM "$SPID"
done_within "$DPID" 5 && ok "SIGTERM answers a parked request" || no "the parked request outlived SIGTERM"
has d.out '"why":"drain"' "... as drain"
done_within "$SPID" 5 && ok "the daemon then exits" || no "the daemon still runs after its drain"
wait "$SPID"; rc=$?
[ "$rc" = 0 ] && ok "with status 0" || no "svcd exited $rc"
grep -q '"level":"error"' svc.log && { no "error lines in the log"; grep '"level":"error"' svc.log | head -5; }

echo "test_park: $pass passed, $fail failed"
[ "$fail" = 0 ]
