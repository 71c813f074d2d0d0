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
# Its read and write system calls over the same span (/proc/PID/io: the
# TLS records it read and wrote among them).
awk '/^syscr:/ { r = $2 } /^syscw:/ { w = $2 } END { printf "server syscalls: read=%d write=%d\n", r, w }' "/proc/$SP/io"
# Per thread (in the order they were made: main, workers, the pipeline's
# commit thread and finishers, the signer client's) and the
# server's child processes (the signer helper), over the same span.
for t in /proc/"$SP"/task/*; do
	printf "thread %s %s " "${t##*/}" "$(cat "$t/comm")"
	awk -v hz="$(getconf CLK_TCK)" '{ printf "user=%.2fs sys=%.2fs\n", $14 / hz, $15 / hz }' "$t/stat"
done
# (children files hold PIDs separated by spaces: words, not lines)
kids=$(cat /proc/"$SP"/task/*/children 2>/dev/null || true)
for c in $kids; do
	gkids=$(cat /proc/"$c"/task/*/children 2>/dev/null || true)
	for p in "$c" $gkids; do
		printf 'child %s ' "$(cat "/proc/$p/comm")"
		awk -v hz="$(getconf CLK_TCK)" '{ printf "user=%.2fs sys=%.2fs\n", $14 / hz, $15 / hz }' "/proc/$p/stat"
	done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
bench_stop
if [ "$SRC" -ne 0 ]; then
	cat "$D/server.log" >&2
	echo "bench: the server exited $SRC" >&2
	exit 1
fi
