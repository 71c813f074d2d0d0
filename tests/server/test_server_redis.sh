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
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/srv-setup.sh"
PIDS=
# The two servers, KP (the first Redis) and the one redis_multi.py
# starts again (its pid in redis2.pid), each continued (a Redis may be
# stopped) and ended; then srv-setup's cleanup.
# shellcheck disable=SC2317 # run from the EXIT trap
redis_cleanup() {
	for p in $PIDS $KP $(cat "$D/redis2.pid" 2>/dev/null); do
		kill -CONT "$p" 2>/dev/null
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	KP=
	cleanup
}
trap redis_cleanup EXIT
die() { echo "FAIL: $*"; for f in "$D"/*.log; do echo "== $f"; tail -n 20 "$f"; done; exit 1; }

srv_redis "$RS"
# One dev PKI for both servers: dev mode makes it, then stops.
srv_dev

case $MODE in
race) ROUNDS=150 LOAD=0 ;;
down) ROUNDS=1 LOAD=4000 ;;
*) die "mode $MODE" ;;
esac
"$MKENVS" "$D" "$REDIS" $ROUNDS $LOAD || die "mkenvs"

# Two configurations from the dev one: the same PKI and trust store, the
# Redis state, their own ports and issuance records.  race: buckets
# shared, the per-agent one small; down: A's buckets shared (its refusals
# come from the buckets), B's local (from the state).
"$PY" - "$D" "$MODE" "$REDIS" <<'EOF' || die "configs"
import json, sys
d, mode, redis = sys.argv[1:4]
base = json.load(open(d + "/dev/server.json"))
for k in ("tls",):
    base[k] = {m: d + "/dev/" + v for m, v in base[k].items()}
base["issuer"] = {"key": "issuer", "chain": d + "/dev/issuer-ca.pem"}
base["signer"] = {"config": d + "/dev/signer.json"}
base.update({"aud": "https://id.example", "trust": d + "/trust.json",
             "state": redis,
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
srv_ready "$D/serverA.log"; UA=$URL
srv_ready "$D/serverB.log"; UB=$URL
echo "servers: A $UA, B $UB, Redis $REDIS"

"$PY" "$HERE/redis_multi.py" "$MODE" "$D" "$UA" "$UB" "$KP" "$RS" ||
    die "$MODE"
# Both servers still run, and stop cleanly.
for p in $PIDS; do
	kill -0 "$p" 2>/dev/null || die "a server died"
	kill "$p"; wait "$p" || die "a server did not stop cleanly"
done
PIDS=
echo "ok: $MODE"
