#!/bin/sh
# The issuance pipeline of ownerbind-server (decision 123) over real
# mutual TLS, with one worker:
#   1. one envelope posted from 8 connections at once: one 201, seven
#      replays (403 OB_ERR_REJECTED), one accepted record line;
#   2. the replay commit failing (the disk full: a file-size limit at the
#      state WAL's size, prlimit on the running server): every request of
#      the batch refused, nothing issued or recorded as accepted, and the
#      same envelopes accepted once there is room (none of them spent);
#   3. SIGTERM with requests in the pipeline (committed, their signatures
#      held up by a stopped signer helper): each is answered 201, has its
#      accepted line, and the server exits 0.
# Usage: test_server_pipeline.sh OWNERBIND-SERVER OWNERBIND
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=$1
OB=$2
PY=${OB_PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/srv-setup.sh"
HP=
# The signer helper HP may be stopped (case 3): continued before the
# server is ended, or the server's drain would wait on it.
# shellcheck disable=SC2317 # run from the EXIT trap
pipe_cleanup() { [ -n "$HP" ] && kill -CONT "$HP" 2>/dev/null; cleanup; }
trap pipe_cleanup EXIT
die() { echo "FAIL: $*"; tail -n 30 "$D/server.log"; exit 1; }

srv_dev
"$OB" keygen --key file:owner.pem >/dev/null || exit 1
"$OB" enroll --key file:owner.pem --owner alice@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$TRUST" >/dev/null || exit 1
# One worker, as the issue's target counts it; the same port (dev.json).
"$PY" - "$D/dev" <<'EOF' || die "config"
import json, sys
d = sys.argv[1]
c = json.load(open(d + "/server.json"))
c["listen"] = json.load(open(d + "/dev.json"))["url"].split("//", 1)[1]
c["limits"] = {"workers": 1}
# Not the buckets: they are taken before the commit (decision 174), and
# eight copies of one envelope in flight at once would be past the
# agent's burst (test_server_agent_rate.sh is theirs).
c["rate"] = {k: {"per_second": 0} for k in ("per_peer", "per_owner",
                                             "per_agent")}
c["log_level"] = "info"
json.dump(c, open(d + "/server.json", "w"), indent=1)
EOF
srv_serve
MURL=$(grep -o 'metrics=http://127.0.0.1:[0-9]*' server.log | cut -d= -f2)

n=0
envelope() {	# $1: output file; a fresh agent key and jti each time
	n=$((n + 1))
	"$OB" request --sub "wimse://example.org/agents/a$n" --aud "$AUD" \
	    --owner alice@example.org --agent-key "agent$n.pem" --new-agent-key \
	    -o "req$n.json" >/dev/null 2>&1 &&
	"$OB" sign --key file:owner.pem -o "signed$n.json" "req$n.json" 2>/dev/null &&
	"$OB" pop --agent-key "agent$n.pem" -o "$1" "signed$n.json"
}
for k in 1 2 3 4 5 6 7 8 9 10 11 12; do
	envelope "e$k.json" || die "envelope $k"
done

# post.py OUT FILE...: every file posted at once, one connection each;
# OUT gets one line per request: status and problem code (or "-").
cat > post.py <<'EOF'
import http.client, json, ssl, sys, threading
dev = json.load(open(sys.argv[1]))
out, files = sys.argv[2], sys.argv[3:]
host, port = dev["url"].split("//", 1)[1].rsplit(":", 1)
ctx = ssl.create_default_context(cafile=dev["tls_ca"])
ctx.load_cert_chain(dev["client_cert"], dev["client_key"])
res = [None] * len(files)
go = threading.Barrier(len(files))
def one(i):
    body = open(files[i], "rb").read()
    c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)
    c.connect()
    go.wait()
    try:
        c.request("POST", "/v1/credentials", body,
                  {"Content-Type": "application/jose+json"})
        r = c.getresponse()
        b = r.read()
        code = "-"
        if r.status != 201:
            code = json.loads(b).get("code", "?")
        elif "wit" not in json.loads(b):
            code = "no-wit"
        res[i] = "%d %s" % (r.status, code)
    except Exception as e:
        res[i] = "000 %s" % type(e).__name__
th = [threading.Thread(target=one, args=(i,)) for i in range(len(files))]
for t in th: t.start()
for t in th: t.join()
open(out, "w").write("\n".join(res) + "\n")
EOF
accepted() { grep -c '"decision":"accepted"' "$D/dev/audit.jsonl"; }
seen() {	# rows in the replay state (WAL: a reader beside the server)
	"$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from seen').fetchone()[0])" "$D/dev/state.sqlite"
}

# 1. The same envelope eight times at once.
a0=$(accepted)
"$PY" post.py "$D/dev/dev.json" r1.txt e1.json e1.json e1.json e1.json \
    e1.json e1.json e1.json e1.json || die "post"
[ "$(grep -c '^201 -$' r1.txt)" = 1 ] &&
    [ "$(grep -c '^403 OB_ERR_REJECTED$' r1.txt)" = 7 ] &&
    ok "one jti from 8 connections: one 201, seven replays" ||
    bad "same jti: $(sort r1.txt | uniq -c | tr '\n' ' ')"
[ $(($(accepted) - a0)) = 1 ] && ok "... one accepted record line" ||
    bad "accepted lines: $a0 -> $(accepted)"
[ "$(grep -c '"code":"OB_ERR_REPLAY"' "$D/dev/audit.jsonl")" = 7 ] &&
    ok "... seven OB_ERR_REPLAY record lines" || bad "replay lines"

# 2. The replay commit fails: the WAL may not grow.
a0=$(accepted); s0=$(seen)
wal=$(wc -c <"$D/dev/state.sqlite-wal")
prlimit --pid "$SP" --fsize="$wal":unlimited || die "prlimit"
"$PY" post.py "$D/dev/dev.json" r2.txt e2.json e3.json e4.json e5.json ||
    die "post"
prlimit --pid "$SP" --fsize=unlimited:unlimited || die "prlimit"
[ "$(grep -c '^201' r2.txt)" = 0 ] && [ "$(grep -c '^5' r2.txt)" = 4 ] &&
    ok "commit failed: all four refused (5xx), none issued" ||
    bad "commit failure: $(sort r2.txt | uniq -c | tr '\n' ' ')"
[ "$(accepted)" = "$a0" ] && [ "$(seen)" = "$s0" ] &&
    ok "... nothing recorded as accepted or spent" ||
    bad "after the failed commit: accepted $a0 -> $(accepted), seen $s0 -> $(seen)"
grep -q '"code":"OB_ERR_STATE' "$D/server.log" &&
    ok "... the log names the state's failure" || bad "no OB_ERR_STATE in the log"
"$PY" post.py "$D/dev/dev.json" r2b.txt e2.json e3.json e4.json e5.json ||
    die "post"
[ "$(grep -c '^201 -$' r2b.txt)" = 4 ] &&
    ok "room again: the same four issued (their jti were not spent)" ||
    bad "after the failure: $(sort r2b.txt | uniq -c | tr '\n' ' ')"

# 3. SIGTERM with seven requests committed and waiting for signatures.
HP=$("$PY" -c "import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + '/healthz'))['signer']['pid'])" "$MURL")
[ -n "$HP" ] && [ "$HP" -gt 0 ] || die "no helper pid"
a0=$(accepted); s0=$(seen)
kill -STOP "$HP"
"$PY" post.py "$D/dev/dev.json" r3.txt e6.json e7.json e8.json e9.json \
    e10.json e11.json e12.json &
KP=$!
i=0
while [ "$(seen)" != $((s0 + 7)) ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ "$(seen)" = $((s0 + 7)) ] && ok "seven committed, held at the signer" ||
    bad "committed: $(($(seen) - s0)) of 7"
kill -TERM "$SP"
sleep 0.3
kill -CONT "$HP"; HP=
wait "$KP"; KP=
wait "$SP"; rc=$?; SP=
[ $rc = 0 ] && ok "SIGTERM with requests in the pipeline: exit 0" ||
    bad "exit $rc"
[ "$(grep -c '^201 -$' r3.txt)" = 7 ] &&
    ok "... each answered 201" ||
    bad "drain: $(sort r3.txt | uniq -c | tr '\n' ' ')"
[ $(($(accepted) - a0)) = 7 ] && ok "... each with its accepted line" ||
    bad "accepted lines: $a0 -> $(accepted)"
"$SRV" audit verify "$D/dev/audit.jsonl" >/dev/null &&
    ok "the record's chain verifies" || bad "audit verify"
if grep -q 'Sanitizer\|runtime error' "$D/server.log"; then
	bad "sanitizer report"; grep -A5 'Sanitizer\|runtime error' "$D/server.log"
fi
[ $fail = 0 ] && echo "all passed"
exit $fail
