#!/bin/sh
# bench-server against a fresh ownerbind-server (dev PKI, one worker by
# default, rate limits off; see bench/server-setup.sh), loopback only.
# Usage: bench/run-bench-server.sh [BUILD_DIR] [bench-server options]
# e.g.   bench/run-bench-server.sh build -c 8 -t 10 -n 2000
# OB_BENCH_WORKERS sets limits.workers (default 1).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
B=$(cd "${1:-$HERE/../build}" && pwd)
[ $# -gt 0 ] && shift
. "$HERE/server-setup.sh"
D=$(mktemp -d)
trap 'bench_stop; rm -rf "$D"' EXIT
bench_setup "$B" "$D" "${OB_BENCH_WORKERS:-1}"
"$B/bench/bench-server" -k "$D/owner.pem" -O "$BENCH_OWNER" "$@" \
    "$D/dev/dev.json"
# The server's CPU time over the whole run (setup, load, paced), to tell a
# CPU-bound server from one waiting on I/O.
awk -v hz="$(getconf CLK_TCK)" '{ printf "server cpu: user=%.1fs sys=%.1fs\n", $14 / hz, $15 / hz }' "/proc/$SP/stat"
bench_stop
if [ "$SRC" -ne 0 ]; then
	cat "$D/server.log" >&2
	echo "bench: the server exited $SRC" >&2
	exit 1
fi
