#!/bin/sh
# ownerbind-server's SIGHUP over real mutual TLS (issue #13, decision 146):
# a good file replaces the configuration (the next credential's lifetime,
# a client added, a client removed, also on a connection opened before),
# a connection opened before the reload stays open and is served; a
# broken file, an unknown member and a changed member fixed at start keep
# the old configuration (the behaviour shows it), the log names the member
# and /metrics counts the failed reloads; log_level takes effect; a
# record renamed by logrotate goes on in a new file (decision 160).
# Usage: test_server_reload.sh OWNERBIND-SERVER OWNERBIND
# OB_TEST_NO_SANDBOX=1: "sandbox": false (a TSan build: seccomp and the
# sanitizer's runtime do not mix).
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=$1
OB=$2
PY=${OB_PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/srv-setup.sh"
srv_dev
srv_ca2

# Under the second client CA, two proxies: p2 (added by the reload) and
# p3 (removed by it).
mkleaf p2 wimse://example.org/proxy/p2 && mkleaf p3 wimse://example.org/proxy/p3 ||
    { echo "FAIL: openssl could not make the test certificates"; exit 1; }

# conf KEY=VALUE...: write dev/reload.json from the dev configuration.
#   life=N     lifetime
#   clients=a,b   which of p2, p3 are configured (dev-proxy always is)
#   extra=JSON    members merged in last (an unknown one, a fixed one)
conf() {
	"$PY" - "$D/dev" "${URL#https://}" "${OB_TEST_NO_SANDBOX:-0}" "$@" <<'PY'
import json, sys
d, listen, nosb = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
kv = dict(a.split("=", 1) for a in sys.argv[4:])
c = json.load(open(d + "/server.json"))
c["listen"] = listen
c["tls"]["client_ca"] = "clients-ca.pem"
c["min_lifetime"] = 60
c["lifetime"] = int(kv.get("life", "3600"))
if nosb:
    c["sandbox"] = False
for p in filter(None, kv.get("clients", "").split(",")):
    c["clients"].append({"id": p, "role": "proxy",
                         "san_uri": "wimse://example.org/proxy/" + p})
for k, v in json.loads(kv.get("extra", "{}")).items():
    if isinstance(v, dict) and isinstance(c.get(k), dict):
        c[k].update(v)
    else:
        c[k] = v
json.dump(c, open(d + "/reload.json.tmp", "w"), indent=2)
PY
	mv "$D/dev/reload.json.tmp" "$D/dev/reload.json"
}
conf life=3600 clients=p3

"$OB" keygen --key file:owner.pem >/dev/null || exit 1
"$OB" enroll --key file:owner.pem --owner alice@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$TRUST" >/dev/null || exit 1
(cd "$D/dev" && exec "$SRV" --config reload.json) 2>"$D/server.log" &
SP=$!
i=0
until grep -q '"event":"listening"' server.log 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 300 ] && { cat "$D/server.log"; echo "FAIL: no server"; exit 1; }
	sleep 0.1
done
MURL=$(grep -o 'metrics=http://127.0.0.1:[0-9]*' server.log | cut -d= -f2)

n=0
envelope() {	# $1: output file; agent-mediated, a fresh agent key and jti
	n=$((n + 1))
	"$OB" request --sub "wimse://example.org/agents/a$n" --aud "$AUD" \
	    --owner alice@example.org --agent-key "agent$n.pem" --new-agent-key \
	    -o "req$n.json" >/dev/null &&
	"$OB" sign --key file:owner.pem -o "signed$n.json" "req$n.json" 2>/dev/null &&
	"$OB" pop --agent-key "agent$n.pem" -o "$1" "signed$n.json"
}
post() {	# $1: cert, $2: key, $3: body; prints the status
	curl -sS --max-time 20 --cacert "$CA" --cert "$1" --key "$2" \
	    -o resp.json -w '%{http_code}' -H 'Content-Type: application/jose+json' \
	    --data-binary "@$3" "$URL/v1/credentials" 2>/dev/null
}
code_is() { "$PY" -c "import json,sys; sys.exit(json.load(open('resp.json')).get('code') != '$1')"; }
# The credential's lifetime: expires_at less now, to the nearest 10 s.
life() { "$PY" -c "import json,time; print(round((json.load(open('resp.json'))['expires_at'] - time.time()) / 10) * 10)"; }
metric() {	# $1: ok or failed
	curl -sS --max-time 10 "$MURL/metrics" 2>/dev/null |
	    sed -n "s/^ob_reloads_total{result=\"$1\"} //p"
}
hup() {	# $1: how many "reload" lines the log has once it is done
	kill -HUP "$SP"
	i=0
	while [ "$(grep -c '"event":"reload"' server.log)" -lt "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# 1. Before the reload: lifetime 3600, p3 served, p2 refused.
envelope e1.json && envelope e2.json && envelope e3.json && envelope e4.json || exit 1
s=$(post "$CERT" "$KEY" e1.json)
[ "$s" = 201 ] && [ "$(life)" = 3600 ] && ok "before: a 3600 s credential" ||
    bad "before: $s $(life 2>&1)"
s=$(post p3.pem p3.key e2.json)
[ "$s" = 201 ] && ok "before: p3 is a client" || bad "before: p3 $s"
s=$(post p2.pem p2.key e3.json)
[ "$s" = 403 ] && code_is OB_ERR_SVC_PEER_UNKNOWN && ok "before: p2 is refused (403)" ||
    bad "before: p2 $s"

# 2. Connections opened before the reload (dev-proxy's and p3's), each
# served once; they go on after it (keep.py waits for the file "go").
envelope e5.json && envelope e6.json || exit 1
cat > keep.py <<'EOF'
import http.client, json, os, ssl, sys, time
port, ca, d = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def conn(cert, key):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=20)
    c.request("GET", "/v1/keys")
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
    return c, c.sock.getsockname()[1]
def post(c, body):
    c.request("POST", "/v1/credentials", body=open(body, "rb").read(),
              headers={"Content-Type": "application/jose+json"})
    r = c.getresponse()
    return r.status, json.loads(r.read() or b"{}"), r
a, pa = conn(sys.argv[4], sys.argv[5])
b, pb = conn(sys.argv[6], sys.argv[7])
open(d + "/opened", "w").close()
for _ in range(200):
    if os.path.exists(d + "/go"):
        break
    time.sleep(0.05)
out = {}
st, j, r = post(a, d + "/e5.json")
out["a"] = [st, round((j.get("expires_at", 0) - time.time()) / 10) * 10,
            a.sock is not None and a.sock.getsockname()[1] == pa]
st, j, r = post(b, d + "/e6.json")
out["b"] = [st, j.get("code"), b.sock is None or b.sock.getsockname()[1] == pb]
json.dump(out, open(d + "/keep.json", "w"))
EOF
"$PY" keep.py "$PORT" "$CA" "$D" "$CERT" "$KEY" p3.pem p3.key 2>keep.err &
KP=$!
i=0
while [ ! -f opened ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -f opened ] || bad "keep.py did not connect: $(cat keep.err)"

# 3. A good reload: lifetime 600, p2 added, p3 removed.
ok0=$(metric ok); failed0=$(metric failed)
conf life=600 clients=p2
hup 1
grep -q '"event":"reload","detail":"configuration reloaded: 2 clients"' server.log &&
    grep -q '"event":"reload","detail":"trust store reloaded"' server.log &&
    ok "reload logged: 2 clients, the trust store" || bad "no reload line: $(grep reload server.log)"
[ "$(metric ok)" = $((ok0 + 1)) ] && ok "metrics: ob_reloads_total{result=\"ok\"} $((ok0 + 1))" ||
    bad "metrics ok: $(metric ok) (was $ok0)"
touch go
wait "$KP"; KP=
"$PY" - <<'EOF' && ok "the connection opened before the reload stays open and is served, with the new lifetime (600 s)" || bad "kept connection: $(cat keep.json 2>/dev/null) $(cat keep.err)"
import json, sys
o = json.load(open("keep.json"))
sys.exit(not (o["a"][0] == 201 and o["a"][1] == 600 and o["a"][2]))
EOF
"$PY" - <<'EOF' && ok "p3's connection opened before the reload: refused after it (403 OB_ERR_SVC_PEER_UNKNOWN)" || bad "p3 kept connection: $(cat keep.json 2>/dev/null)"
import json, sys
o = json.load(open("keep.json"))
sys.exit(not (o["b"][0] == 403 and o["b"][1] == "OB_ERR_SVC_PEER_UNKNOWN"))
EOF
envelope e7.json && envelope e8.json && envelope e9.json || exit 1
s=$(post "$CERT" "$KEY" e7.json)
[ "$s" = 201 ] && [ "$(life)" = 600 ] && ok "after: the next credential lives 600 s" ||
    bad "after: $s $(life 2>&1)"
s=$(post p2.pem p2.key e8.json)
[ "$s" = 201 ] && ok "after: p2 (added) is served" || bad "after: p2 $s"
s=$(post p3.pem p3.key e9.json)
[ "$s" = 403 ] && code_is OB_ERR_SVC_PEER_UNKNOWN && ok "after: p3 (removed) is refused (403)" ||
    bad "after: p3 $s"

# 4. Bad files: each would set lifetime 900 and add p3 back; each must
# change nothing, name why, and count as failed.
nfail=0
bad_reload() {	# $1: what, $2: log pattern; the file is in place
	nfail=$((nfail + 1))
	before=$(grep -c '"event":"reload"' server.log)
	hup $((before + 1))
	grep '"event":"reload"' server.log | tail -n 1 > last.txt
	grep -q "$2" last.txt && ok "$1: the log says $(cut -c1-160 last.txt)" ||
	    bad "$1: log $(cat last.txt)"
	[ "$(metric failed)" = $((failed0 + nfail)) ] &&
	    ok "$1: ob_reloads_total{result=\"failed\"} $((failed0 + nfail))" ||
	    bad "$1: metrics failed $(metric failed)"
	envelope "b$nfail.json" && envelope "c$nfail.json" || exit 1
	s=$(post "$CERT" "$KEY" "b$nfail.json")
	[ "$s" = 201 ] && [ "$(life)" = 600 ] && ok "$1: the old lifetime (600 s) is kept" ||
	    bad "$1: $s $(life 2>&1)"
	s=$(post p3.pem p3.key "c$nfail.json")
	[ "$s" = 403 ] && ok "$1: p3 is still refused" || bad "$1: p3 $s"
}
conf life=900 clients=p2,p3
printf '{"listen": ' > dev/reload.json.broken
cat dev/reload.json.broken > dev/reload.json
bad_reload "broken JSON" '"level":"error",.*"event":"reload","code":"OB_ERR_CONFIG_INVALID","detail":"[^"]*/reload.json:1: not JSON'
conf life=900 clients=p2,p3 extra='{"bogus": 1}'
bad_reload "an unknown member" '"code":"OB_ERR_CONFIG_UNKNOWN".*bogus'
conf life=900 clients=p2,p3 extra='{"limits": {"workers": 3}}'
bad_reload "a changed fixed member (limits.workers)" '"code":"OB_ERR_SERVER_RELOAD".*\\"limits.workers\\" changed: it is fixed at start'
conf life=900 clients=p2,p3 extra='{"audit": "elsewhere.jsonl"}'
bad_reload "a changed fixed member (audit)" '"code":"OB_ERR_SERVER_RELOAD".*\\"audit\\" changed'
conf life=900 clients=p2,p3
cp "$TRUST" trust.good
printf '{"owners": [' > "$TRUST"
bad_reload "a broken trust store with a good file" '"event":"reload","code":"OB_ERR_JSON_SYNTAX","detail":"trust store: [^"]*trust.json'
cp trust.good "$TRUST"

# 5. The same good file once the trust store is back: it applies.
hup $(($(grep -c '"event":"reload"' server.log) + 1))
envelope g1.json && envelope g2.json || exit 1
s=$(post "$CERT" "$KEY" g1.json)
[ "$s" = 201 ] && [ "$(life)" = 900 ] && ok "a good reload after the bad ones: 900 s" ||
    bad "good after bad: $s $(life 2>&1)"
s=$(post p3.pem p3.key g2.json)
[ "$s" = 201 ] && ok "... and p3 is a client again" || bad "p3 back: $s"

# 6. Requests in flight while reloads swap the configuration (what the
# TSan run is for): replays of a spent envelope through the pipeline and
# polls on the loop, from two threads, across five reloads.
cat > storm.py <<'EOF'
import http.client, json, ssl, sys, threading, time
port, ca, cert, key, body, secs = sys.argv[1:7]
bad, n = [], [0]
def run(path, method, data):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    end = time.time() + float(secs)
    while time.time() < end:
        c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx,
                                        timeout=20)
        for _ in range(20):
            c.request(method, path, body=data,
                      headers={"Content-Type": "application/jose+json"})
            r = c.getresponse(); r.read()
            n[0] += 1
            if r.status not in (403, 404):
                bad.append(r.status)
        c.close()
t = [threading.Thread(target=run, args=("/v1/credentials", "POST",
                                        open(body, "rb").read())),
     threading.Thread(target=run, args=("/v1/requests/nosuchhandle", "GET",
                                        None))]
for x in t: x.start()
for x in t: x.join()
print(n[0], "requests", json.dumps(bad))
sys.exit(1 if bad or n[0] < 20 else 0)
EOF
"$PY" storm.py "$PORT" "$CA" "$CERT" "$KEY" g1.json 4 >storm.out 2>&1 &
KP=$!
for l in 700 800 700 800 900; do
	sleep 0.5
	conf life=$l clients=p2,p3
	hup $(($(grep -c '"event":"reload"' server.log) + 1))
done
wait "$KP" && ok "$(cut -d' ' -f1-2 storm.out) across five reloads: all answered as expected" ||
    bad "storm: $(cat storm.out)"
KP=
grep -c '"event":"reload","detail":"configuration' server.log | grep -qx 7 &&
    ok "seven good reloads in the log" || bad "good reloads: $(grep -c '"event":"reload","detail":"configuration' server.log)"

# 7. log_level is reloaded: at "warn" a 201 leaves no request line and
# a 403 a "warn" one (and the reload's own "info" line is not written:
# /metrics counts it); back at "debug" the 201s are logged again.  The
# signer helper's line for each signature is its own record, whatever
# the server's level.
hup_ok() {	# wait for one more good reload in /metrics
	k=$(metric ok); i=0
	kill -HUP "$SP"
	while [ "$(metric ok)" = "$k" ] && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
}
envelope l1.json && envelope l2.json || exit 1
conf life=900 clients=p2,p3 extra='{"log_level": "warn"}'
hup_ok
at=$(wc -l <server.log)
s1=$(post "$CERT" "$KEY" l1.json)
s2=$(post "$CERT" "$KEY" l1.json)
sleep 0.2
tail -n +$((at + 1)) server.log >warn.log
[ "$s1" = 201 ] && [ "$s2" = 403 ] &&
    ! grep '"svc":"ownerbind-server"' warn.log | grep -q '"level":"info"' &&
    grep -q '"level":"warn".*"path":"/v1/credentials","status":403' warn.log &&
    ok "log_level warn: the 201 unlogged, the replay's 403 logged as warn" ||
    bad "log_level warn: $s1 $s2: $(cat warn.log)"
conf life=900 clients=p2,p3
hup_ok
s1=$(post "$CERT" "$KEY" l2.json)
sleep 0.2
[ "$s1" = 201 ] && tail -n 3 server.log |
    grep -q '"level":"info".*"path":"/v1/credentials","status":201' &&
    ok "log_level back to debug: the 201 logged again" ||
    bad "log_level debug: $s1: $(tail -n 3 server.log)"

# Rotation (decision 160): logrotate renames the record, then SIGHUP;
# the next decision goes to a new file whose line 1 continues the chain.
# A file with lines at the path is not continued: the old one is.
R=$D/dev/audit.jsonl
envelope r1.json && envelope r2.json || exit 1
mv "$R" "$R.1"
k=$(metric ok)
hup_ok
s1=$(post "$CERT" "$KEY" r1.json)
[ "$s1" = 201 ] && [ "$(metric ok)" = $((k + 1)) ] && [ "$(wc -l <"$R")" = 1 ] &&
    grep -q '"event":"audit reopened"' server.log &&
    ok "rotated: the next line in a new record file" ||
    bad "rotated: $s1, $(wc -l <"$R" 2>&1) lines"
"$SRV" audit verify "$R.1" "$R" >v.txt 2>&1 && grep -q "^2 files: .* chain intact across them" v.txt &&
    ok "audit verify: the two files, one chain" || bad "audit verify: $(cat v.txt)"
"$SRV" audit verify "$R" >v.txt 2>&1; rc=$?
[ $rc = 1 ] && grep -q -- "--continued" v.txt &&
    "$SRV" audit verify --continued "$R" 2>&1 | grep -q "continues a record" &&
    ok "the new file alone: broken at line 1, intact with --continued" ||
    bad "the new file alone: $rc $(cat v.txt)"
mv "$R" "$R.2" && echo '{"seq":1}' >"$R"
k=$(metric failed)
kill -HUP "$SP"
i=0
while [ "$(metric failed)" = "$k" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
s1=$(post "$CERT" "$KEY" r2.json)
[ "$s1" = 201 ] && [ "$(wc -l <"$R")" = 1 ] && [ "$(wc -l <"$R.2")" = 2 ] &&
    grep -q 'holds 10 bytes of another record' server.log &&
    ok "a file with lines at the path: refused, the lines go on in the old file" ||
    bad "another record at the path: $s1 $(wc -l <"$R.2")"
"$SRV" audit verify "$R.1" "$R.2" >/dev/null 2>&1 && ok "and the chain is whole" ||
    bad "the chain after a refused rotation"

kill -TERM "$SP"; wait "$SP"; rc=$?; SP=
[ $rc = 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM exit $rc"
if grep -q 'ThreadSanitizer' server.log; then bad "TSan reports"; fi
[ $fail = 0 ] || { echo "--- server log"; cat server.log; }
exit $fail
