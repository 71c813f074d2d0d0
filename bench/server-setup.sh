# shellcheck shell=sh
# Sourced by bench/run-bench-server.sh and tests/server/soak.sh (POSIX sh).
# bench_setup BUILD DIR WORKERS: a dev-mode PKI in DIR/dev, a file: owner
# key in DIR/owner.pem enrolled as $BENCH_OWNER, then the server restarted
# with DIR/dev/bench.json: the dev server.json with `rate` unlimited (a
# load test from one owner and one proxy would hit per_owner otherwise),
# limits.workers WORKERS, max_conns 4096, listening on the port the dev
# run bound (so dev.json stays true).  Sets SP (server PID) and leaves its
# stderr in DIR/server.log.  bench_stop sends SIGTERM and sets SRC.
# OB_BENCH_WRAP names a command to run the server under (valgrind ...);
# OB_BENCH_VERIFY_EVERY sets the helper key's verify_every.
BENCH_OWNER=bench@example.org
SP=
bench_setup() {
	B=$1 D=$2 W=$3
	"$B/server/ownerbind-server" --dev "$D/dev" --listen 127.0.0.1:0 \
	    2>"$D/dev.log" &
	SP=$!
	i=0
	while [ ! -f "$D/dev/dev.json" ]; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 "$SP" 2>/dev/null; then
			cat "$D/dev.log" >&2
			echo "bench: the dev server did not start" >&2
			return 1
		fi
		sleep 0.05
	done
	kill -TERM "$SP"
	wait "$SP" || true
	SP=
	"$B/owner/ownerbind" keygen --key "file:$D/owner.pem"
	"$B/owner/ownerbind" enroll --key "file:$D/owner.pem" \
	    --owner "$BENCH_OWNER" --may-bind 'wimse://example.org/agents/*' \
	    --trust "$D/dev/trust.json"
	python3 - "$D/dev" "$W" <<'PY'
import json, os, sys
d, w = sys.argv[1], int(sys.argv[2])
c = json.load(open(d + "/server.json"))
url = json.load(open(d + "/dev.json"))["url"]
c["listen"] = url.split("//", 1)[1]
c["log_level"] = "warn"
c["limits"] = {"workers": w, "max_conns": 4096, "queue": 4096}
c["rate"] = {k: {"per_second": 0} for k in ("per_peer", "per_owner", "per_agent")}
# valgrind makes system calls the daemon's seccomp allow-list refuses
if os.environ.get("OB_BENCH_WRAP"):
    c["sandbox"] = False
json.dump(c, open(d + "/bench.json", "w"), indent=2)
# OB_BENCH_VERIFY_EVERY: the helper's key checks one signature in N
ve = os.environ.get("OB_BENCH_VERIFY_EVERY")
if ve:
    sc = c["signer"]["config"]
    sc = sc if os.path.isabs(sc) else os.path.join(d, sc)
    s = json.load(open(sc))
    for k in s["keys"]:
        k["verify_every"] = int(ve)
    json.dump(s, open(sc, "w"), indent=2)
PY
	# OB_BENCH_WRAP: a command to run the server under (e.g. callgrind).
	# shellcheck disable=SC2086
	(cd "$D/dev" && exec ${OB_BENCH_WRAP:-} "$B/server/ownerbind-server" \
	    --config bench.json) 2>"$D/server.log" &
	SP=$!
	i=0
	port=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['url'].rsplit(':',1)[1])" "$D/dev/dev.json")
	while ! python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$port" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 "$SP" 2>/dev/null; then
			cat "$D/server.log" >&2
			echo "bench: the server did not start" >&2
			return 1
		fi
		sleep 0.1
	done
}
# shellcheck disable=SC2034 # SRC is read by the scripts that source this
bench_stop() {
	SRC=0
	if [ -n "$SP" ]; then
		kill -TERM "$SP" 2>/dev/null || true
		wait "$SP" || SRC=$?
		SP=
	fi
}
