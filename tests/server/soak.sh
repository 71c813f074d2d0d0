#!/bin/sh
# Soak test, run by hand or by ctest when configured with -DOB_SOAK=ON
# (docs/benchmarks.md):
# ownerbind-server from BUILD_DIR (meant for an ASan build, OB_SANITIZE=ON)
# under CONNS concurrent keep-alive mTLS connections for SECONDS with
# bench-server -L.  Asserts that only 201, 4xx, 429 and 503 were answered,
# samples the server's VmRSS every second (prints max and last), sends
# SIGTERM, checks exit status 0 and that no sanitizer report (leaks
# included) is in the server's stderr.
# Usage: tests/server/soak.sh BUILD_DIR [CONNS [SECONDS [MAX]]]
# OB_BENCH_CLIENT: another bench-server binary (e.g. a RelWithDebInfo one,
# so that the client builds its envelopes faster); OB_BENCH_WORKERS:
# limits.workers (default 2).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
B=$(cd "$1" && pwd)
C=${2:-200} T=${3:-60} N=${4:-20000}
. "$HERE/../../bench/server-setup.sh"
D=$(mktemp -d)
BP=
# shellcheck disable=SC2317 # run from the EXIT trap
cleanup() {
	if [ -n "$BP" ]; then
		kill "$BP" 2>/dev/null || true
		wait "$BP" 2>/dev/null || true
	fi
	bench_stop
	rm -rf "$D"
}
trap cleanup EXIT
bench_setup "$B" "$D" "${OB_BENCH_WORKERS:-2}" >/dev/null
"${OB_BENCH_CLIENT:-$B/bench/bench-server}" -L -c "$C" -t "$T" -n "$N" -k "$D/owner.pem" \
    -O "$BENCH_OWNER" "$D/dev/dev.json" >"$D/bench.out" 2>"$D/bench.err" &
BP=$!
max=0 last=0 samples=0
while kill -0 "$BP" 2>/dev/null; do
	last=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SP/status")
	[ "$last" -gt "$max" ] && max=$last
	samples=$((samples + 1))
	sleep 1
done
brc=0
wait "$BP" || brc=$?
BP=
cat "$D/bench.err" "$D/bench.out"
echo "soak: server VmRSS max=${max} kB last=${last} kB ($samples samples)"
fail=0
if [ "$brc" -ne 0 ]; then
	echo "soak: bench-server exited $brc" >&2
	fail=1
fi
bad=$(tr ' ' '\n' <"$D/bench.out" | awk -F= '/^[0-9][0-9][0-9]=/ {
	s = $1 + 0
	if (!(s == 201 || (s >= 400 && s < 500) || s == 503)) print $0 }')
if [ -n "$bad" ] || ! grep -q '^load: status' "$D/bench.out"; then
	echo "soak: unexpected answers: ${bad:-none counted}" >&2
	fail=1
fi
bench_stop
echo "soak: server exit status $SRC"
[ "$SRC" -eq 0 ] || fail=1
if grep -E 'Sanitizer|runtime error|LeakSanitizer' "$D/server.log" >&2; then
	echo "soak: sanitizer report in the server's stderr" >&2
	fail=1
else
	echo "soak: no sanitizer or leak report in the server's stderr"
fi
[ "$fail" -eq 0 ] && echo "soak: PASS" || echo "soak: FAIL" >&2
exit "$fail"
