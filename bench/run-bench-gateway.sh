#!/bin/sh
# run-bench-gateway.sh BUILD [N] [CONNS] [SOAK_CONNS SOAK_SECONDS [ROUNDS]]:
# set up a gateway with its key in SoftHSM2 (tests/gateway/gw-setup.sh)
# whose server is the stub bench-gateway serves, then run bench-gateway
# (ROUNDS soaks back to back, RSS after each).  Prints measurements and
# asserts no time.  Then it stops the gateway (SIGTERM) and fails (exit 1)
# if the gateway did not exit 0, if bench-gateway failed or counted an
# answer other than 2xx, 429 or 503 in the soak, or if the gateway's
# stderr (its helper's too) holds a sanitizer report: AddressSanitizer,
# LeakSanitizer (at exit), UBSan "runtime error".
# OB_BENCH_CLIENT: another bench-gateway binary (e.g. the RelWithDebInfo
# one beside an ASan BUILD); OB_BENCH_KEEP: a directory to copy the
# gateway's log into; OB_BENCH_WORKERS, OB_BENCH_IN_FLIGHT: the gateway's
# limits.workers and hsm_queue.in_flight (default 4 and 4);
# OB_BENCH_TIMEOUT_S: limits.timeout_s (default 10, the gateway's own).
# The raw rate is measured on one session and on in_flight sessions at
# once, the ratio's base being the latter (the HSM at the concurrency the
# gateway may use).
# OB_BENCH_HSM_DELAY_US=N: the key through tests/pkcs11/p11fault.so
# (BUILD's) in front of SoftHSM2, every signature N us later, for both
# the raw rate and the helper: an HSM whose signing is latency-bound
# (a network HSM), never the SoftHSM2 case itself.
# Under the gateway's seccomp filter a sanitizer's report can neither
# start the symbolizer nor ask isatty() (it died of SIGSYS before
# printing): the defaults below keep the report printable (ASAN_OPTIONS
# given are added after them).
set -u
ASAN_OPTIONS="detect_leaks=1:color=never:symbolize=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="color=never:symbolize=0${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS
B=${1:?usage: run-bench-gateway.sh BUILD [N] [CONNS] [SOAK_CONNS SOAK_SECONDS [ROUNDS]]}
N=${2:-2000}; C=${3:-16}; SC=${4:-0}; SS=${5:-0}; SR=${6:-1}
BG=${OB_BENCH_CLIENT:-$B/bench/bench-gateway}
SRV=$B/server/ownerbind-server; OB=$B/owner/ownerbind
SIG=$B/server/ownerbind-signer; GW=$B/server/ownerbind-gateway
HERE=$(cd "$(dirname "$0")/../tests/gateway" && pwd)
PY=${OB_PYTHON:-/usr/bin/python3}
D=$(mktemp -d /tmp/bench-gw.XXXXXX) || exit 1
# shellcheck disable=SC2317 # run from the EXIT trap
cleanup() { stop_all; rm -rf "$D"; }
trap cleanup EXIT
: "$SIG"
# shellcheck disable=SC3045 # dash and bash have ulimit -n; elsewhere it fails harmlessly
ulimit -n 16384 2>/dev/null || true
# shellcheck source=tests/gateway/gw-setup.sh
. "$HERE/gw-setup.sh"
if [ -n "${OB_BENCH_HSM_DELAY_US:-}" ]; then
	FM=$B/tests/pkcs11/p11fault.so
	[ -f "$FM" ] || { echo "no $FM" >&2; exit 1; }
	export P11FAULT_MODULE="$SOFTHSM_MODULE"
	export P11FAULT_SIGN_DELAY_US="$OB_BENCH_HSM_DELAY_US"
	sed "s|module-path=$SOFTHSM_MODULE|module-path=$FM|" "$D/uri" >"$D/uri.f" &&
	    mv "$D/uri.f" "$D/uri" &&
	    sed "s|module-path=$SOFTHSM_MODULE|module-path=$FM|" "$D/signer.json" \
	    >"$D/signer.f" && mv "$D/signer.f" "$D/signer.json" || exit 1
	grep -q "$FM" "$D/signer.json" || { echo "signer.json: no $FM" >&2; exit 1; }
	echo "HSM: SoftHSM2 behind p11fault, ${OB_BENCH_HSM_DELAY_US} us per signature (latency-bound)"
fi
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PY" - "$D" "$PORT" "${OB_BENCH_WORKERS:-4}" "${OB_BENCH_IN_FLIGHT:-4}" \
    "${OB_BENCH_TIMEOUT_S:-10}" <<'PY' || exit 1
import json, sys
d, port, workers, in_flight, timeout_s = sys.argv[1:6]
g = json.load(open(d + "/gateway.json"))
g["server"].update({"url": "https://127.0.0.1:" + port, "ca": "tlsca.pem"})
g["limits"] = {"workers": int(workers), "max_conns": 4096, "queue": 4096,
               "timeout_s": int(timeout_s)}
g["hsm_queue"] = {"depth": 4096, "deadline_ms": 5000,
                  "in_flight": int(in_flight)}
json.dump(g, open(d + "/gateway.json", "w"))
PY
start_gateway
envelope "$D/bench.json" bench 2>/dev/null || exit 1
# The template of every request: its agent key signs each fresh one.
"$BG" --gateway "$GURL/v1/credentials" --ca "$D/tlsca.pem" \
    --cert "$D/proxy.pem" --key "$D/proxy.key" --envelope "$D/bench.json" \
    --agent-key "$D/agent$n.pem" \
    --key-uri "$(cat "$D/uri")&pin-source=file:$D/pin" \
    --stub-listen "127.0.0.1:$PORT" --stub-cert "$D/gwtls.pem" \
    --stub-key "$D/gwtls.key" --stub-ca "$D/tlsca.pem" \
    --stub-peer wimse://acme.example/gateway --gateway-pid "$GP" \
    -n "$N" -t "$C" --soak-conns "$SC" --soak-seconds "$SS" \
    --soak-rounds "$SR" --raw-sessions "${OB_BENCH_IN_FLIGHT:-4}" \
    >"$D/bench.out" 2>"$D/bench.err"
brc=$?
# The stub's log (its warnings and errors) stays in bench.err.
grep -v '"svc":"bench-stub"' "$D/bench.err" >&2
cat "$D/bench.out"
fail=0
[ "$brc" -eq 0 ] || { echo "bench-gateway: exit status $brc" >&2; fail=1; }
if [ "$SC" -gt 0 ] && awk -v r="$SR" '/^soak .* transport failures/ { n++
	if ($0 !~ /other 0, transport failures 0$/) b++ }
	END { exit !(n != r || b > 0) }' "$D/bench.out"; then
	echo "bench-gateway: soak answers other than 2xx, 429, 503" >&2
	fail=1
fi
# The gateway's exit: LeakSanitizer reports then, into its stderr.
kill -TERM "$GP" 2>/dev/null
grc=0
wait "$GP" || grc=$?
GP=''
wait "$LP" 2>/dev/null
LP=''
echo "gateway: exit status $grc"
[ "$grc" -eq 0 ] || fail=1
[ -n "${OB_BENCH_KEEP:-}" ] && cp "$D/gateway.log" "$OB_BENCH_KEEP/"
# Connections the gateway refused or cut, by reason (e.g. handshakes
# not complete by limits.timeout_s when a soak opens all at once).
grep '"event":"refused"' "$D/gateway.log" | sed -n 's/.*"detail":"\([^"]*\)".*/\1/p' |
    sort | uniq -c | sed 's/^ */gateway: refused /'
if grep -E 'Sanitizer|runtime error|seccomp: system call' "$D/gateway.log" >&2
then
	echo "gateway: sanitizer report in its stderr (above)" >&2
	fail=1
else
	echo "gateway: no sanitizer or leak report in its stderr" \
	    "($(wc -l <"$D/gateway.log") lines)"
fi
[ "$fail" -eq 0 ] && echo "bench-gateway: PASS" || echo "bench-gateway: FAIL" >&2
exit "$fail"
