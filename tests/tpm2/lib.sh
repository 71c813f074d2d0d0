# shellcheck shell=sh
# Sourced by the tpm2 integration tests: a temporary directory with a
# private swtpm, stopped (by its PID, through the fixture) on exit.
#   OWNERBIND, VERIFY: the binaries under test (set by the caller)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/ob-tpm2.XXXXXX")
cleanup() {
	"$HERE/swtpm-fixture.sh" stop "$T" || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
eval "$("$HERE/swtpm-fixture.sh" start "$T")"
unset TSS2_TCTI
# shellcheck disable=SC2034 # AUD, SUB: for the scripts that source this
AUD=https://id.example
# shellcheck disable=SC2034 # as AUD
SUB=wimse://td.example/agents/a1
PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }

# expect NAME CMD...: the command fails and its stderr names OB_ERR_NAME.
expect() {
	want=$1
	shift
	if "$@" >"$T/out" 2>"$T/err"; then
		not_ok "$want: command succeeded: $*"
	elif grep -q "$want" "$T/err"; then
		ok "$want"
	else
		not_ok "$want: got $(cat "$T/err")"
	fi
}

# transient_count: transient handles left in the TPM (tpm2-tools).
transient_count() {
	tpm2_getcap handles-transient 2>/dev/null | grep -c '0x80' || true
}

finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
