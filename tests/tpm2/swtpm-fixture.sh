#!/bin/sh
# swtpm-fixture.sh - a private swtpm per test run, on a unix socket.
#
#   swtpm-fixture.sh start DIR   start swtpm with its state in DIR; print
#                                TPM2TOOLS_TCTI=...; export ... for eval
#   swtpm-fixture.sh stop DIR    stop the swtpm started for DIR
#
# The PID is kept in DIR/swtpm.pid and only that PID is ever signalled.
# The TPM is started (startup-clear) and its dictionary-attack parameters
# are set low so lockout tests finish quickly: 3 tries, one forgiven every
# 10 s, lockout-auth recovery 20 s.  Exit 77 (skip) if swtpm is missing.
set -eu

die() { echo "swtpm-fixture: $*" >&2; exit 1; }

start() {
	d=$1
	[ -d "$d" ] || die "no directory $d"
	d=$(cd "$d" && pwd)
	[ ! -f "$d/swtpm.pid" ] || die "$d/swtpm.pid exists: already started?"
	command -v swtpm >/dev/null || exit 77
	command -v tpm2_dictionarylockout >/dev/null || exit 77
	mkdir -p "$d/state"
	swtpm socket --tpm2 --tpmstate dir="$d/state" \
	    --server type=unixio,path="$d/tpm.sock" \
	    --ctrl type=unixio,path="$d/tpm.sock.ctrl" \
	    --flags not-need-init,startup-clear >"$d/swtpm.log" 2>&1 &
	echo $! >"$d/swtpm.pid"
	i=0
	while [ ! -S "$d/tpm.sock" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || { stop "$d"; die "swtpm did not start"; }
		sleep 0.05
	done
	tcti="swtpm:path=$d/tpm.sock"
	TPM2TOOLS_TCTI=$tcti tpm2_dictionarylockout --setup-parameters \
	    --max-tries=3 --recovery-time=10 --lockout-recovery-time=20 \
	    >/dev/null 2>&1 || { stop "$d"; die "tpm2_dictionarylockout failed"; }
	echo "TPM2TOOLS_TCTI='$tcti'; export TPM2TOOLS_TCTI"
}

stop() {
	d=$1
	[ -f "$d/swtpm.pid" ] || return 0
	pid=$(cat "$d/swtpm.pid")
	kill "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
		i=$((i + 1))
		sleep 0.05
	done
	rm -f "$d/swtpm.pid"
}

case "${1:-}" in
start) start "$2" ;;
stop) stop "$2" ;;
*) die "usage: swtpm-fixture.sh start|stop DIR" ;;
esac
