#!/bin/sh
# Two ownerbind-server instances (one dev PKI, two ports) sharing one
# private redis-server on a unix socket (issue #18, acceptance 1 and 2):
#   race  hundreds of races on one jti, one nonce, one FIDO2 counter:
#         exactly one 201 each time; a shared per-agent bucket
#   down  Redis stopped, then killed, under load: no 201 while down,
#         every answer 503, service back after SIGCONT and a restart
# The driver is redis_multi.py; the envelopes come from mkenvs.
# Usage: test_server_redis.sh race|down OWNERBIND-SERVER MKENVS
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
MODE=$1
SRV=$2
MKENVS=$3
PY=${OB_PYTHON:-/usr/bin/python3}
RS=${OB_REDIS_SERVER:-redis-server}
HERE=$(cd "$(dirname "$0")" && pwd)
D=$(mktemp -d)
PIDS=
cleanup() {
	for p in $PIDS $(cat "$D/redis.pid" "$D/redis2.pid" 2>/dev/null); do
		kill -CONT "$p" 2>/dev/null
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "${OB_KEEP:-}" ] && cp "$D"/server*.log /tmp/ 2>/dev/null; rm -rf "$D"
}
trap cleanup EXIT
die() { echo "FAIL: $*"; for f in "$D"/*.log; do echo "== $f"; tail -n 20 "$f"; done; exit 1; }

# The Redis: private socket, no persistence, no TCP.
cat > "$D/redis.conf" <<EOF
port 0
unixsocket $D/redis.sock
unixsocketperm 700
save ""
appendonly no
dir $D
EOF
"$RS" "$D/redis.conf" > "$D/redis.log" 2>&1 &
echo $! > "$D/redis.pid"
i=0
until redis-cli -s "$D/redis.sock" ping 2>/dev/null | grep -q PONG; do
	i=$((i + 1)); [ $i -lt 200 ] || die "redis-server did not start"
	sleep 0.05
done

# One dev PKI for both servers: dev mode makes it, then stops.
"$SRV" --dev "$D/dev" 2>"$D/dev.log" &
DP=$!
i=0
while [ ! -f "$D/dev/dev.json" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kill "$DP"; wait "$DP"
[ -f "$D/dev/dev.json" ] || die "no dev.json"

case $MODE in
race) ROUNDS=150 LOAD=0 ;;
down) ROUNDS=1 LOAD=4000 ;;
*) die "mode $MODE" ;;
esac
"$MKENVS" "$D" "unix:$D/redis.sock" $ROUNDS $LOAD || die "mkenvs"

# Two configurations from the dev one: the same PKI and trust store, the
# Redis state, their own ports and issuance records.  race: buckets
# shared, the per-agent one small; down: A's buckets shared (its refusals
# come from the buckets), B's local (from the state).
"$PY" - "$D" "$MODE" <<'EOF' || die "configs"
import json, sys
d, mode = sys.argv[1:3]
base = json.load(open(d + "/dev/server.json"))
for k in ("tls",):
    base[k] = {m: d + "/dev/" + v for m, v in base[k].items()}
base["issuer"] = {"key": "issuer", "chain": d + "/dev/issuer-ca.pem"}
base["signer"] = {"config": d + "/dev/signer.json"}
base.update({"aud": "https://id.example", "trust": d + "/trust.json",
             "state": "unix:" + d + "/redis.sock",
             "redis": {"timeout_ms": 300, "connect_timeout_ms": 300},
             "listen": "127.0.0.1:0", "metrics_listen": "127.0.0.1:0",
             "log_level": "info"})
nolimit = {"per_second": 0}
for s in ("A", "B"):
    c = dict(base, audit=d + "/audit%s.jsonl" % s)
    if mode == "race":
        c["rate"] = {"shared": True, "per_peer": nolimit,
                     "per_owner": {"per_second": 1000000, "burst": 1000000},
                     "per_agent": {"per_second": 0.001, "burst": 5}}
    elif s == "A":
        c["rate"] = {"shared": True,
                     "per_peer": {"per_second": 1000000, "burst": 1000000},
                     "per_owner": nolimit, "per_agent": nolimit}
    else:
        c["rate"] = {"per_peer": nolimit, "per_owner": nolimit,
                     "per_agent": nolimit}
    json.dump(c, open(d + "/server%s.json" % s, "w"), indent=1)
EOF

for s in A B; do
	"$SRV" --check-config "$D/server$s.json" >/dev/null || die "config $s"
	"$SRV" --config "$D/server$s.json" 2>"$D/server$s.log" &
	PIDS="$PIDS $!"
done
url() {
	sed -n 's/.*"event":"listening","detail":"\(https:[^ ]*\) .*/\1/p' "$D/server$1.log"
}
i=0
while { [ -z "$(url A)" ] || [ -z "$(url B)" ]; } && [ $i -lt 200 ]; do
	sleep 0.05; i=$((i + 1))
done
[ -n "$(url A)" ] && [ -n "$(url B)" ] || die "servers did not listen"
echo "servers: A $(url A), B $(url B), Redis unix:$D/redis.sock"

"$PY" "$HERE/redis_multi.py" "$MODE" "$D" "$(url A)" "$(url B)" \
    "$(cat "$D/redis.pid")" "$RS" || die "$MODE"
# Both servers still run, and stop cleanly.
for p in $PIDS; do
	kill -0 "$p" 2>/dev/null || die "a server died"
	kill "$p"; wait "$p" || die "a server did not stop cleanly"
done
PIDS=
echo "ok: $MODE"
