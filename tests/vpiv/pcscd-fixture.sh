#!/bin/sh
# pcscd-fixture.sh - an isolated pcscd with a private vpcd reader, per test.
#
#   pcscd-fixture.sh start DIR [PORT]   start pcscd; print shell assignments
#   pcscd-fixture.sh stop DIR           stop the pcscd started for DIR
#   pcscd-fixture.sh env DIR            print the assignments again
#
# start writes DIR/reader.conf.d/vpcd (CHANNELID = PORT, or a free port
# picked at random), runs pcscd -f in its own mount namespace with
# DIR/run bind-mounted on /run/pcscd (pcscd ignores PCSCLITE_CSOCK_NAME;
# its clients honour it), records the PID in DIR/pcscd.pid, waits until the
# socket and the vpcd port are up and prints, for eval:
#   PCSCLITE_CSOCK_NAME=DIR/run/pcscd.comm; export PCSCLITE_CSOCK_NAME
#   VPCD_PORT=PORT; export VPCD_PORT
#   VPCD_READER='Virtual PCD 00 00'; export VPCD_READER
# The same lines are kept in DIR/pcscd.env.  Only the PID recorded in
# DIR/pcscd.pid is ever signalled.  Needs root (unshare -m, mount --bind).
set -eu

die() { echo "pcscd-fixture: $*" >&2; exit 1; }

port_in_use() {
	ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

# vpcd listens on PORT and the following ports (one per virtual slot).
pick_port() {
	n=0
	while [ $n -lt 50 ]; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
		ok=1
		i=0
		while [ $i -lt 10 ]; do
			if port_in_use $((p + i)); then ok=0; break; fi
			i=$((i + 1))
		done
		if [ $ok = 1 ]; then echo $p; return 0; fi
		n=$((n + 1))
	done
	return 1
}

start() {
	d=$1
	port=${2:-}
	[ -d "$d" ] || die "no directory $d"
	d=$(cd "$d" && pwd)
	[ ! -f "$d/pcscd.pid" ] || die "$d/pcscd.pid exists: already started?"
	command -v pcscd >/dev/null || die "pcscd not installed"
	command -v unshare >/dev/null || die "unshare not installed"
	drv=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
	[ -f "$drv" ] || die "vpcd driver $drv not installed"
	if [ -z "$port" ]; then
		port=$(pick_port) || die "no free port range found"
	fi
	mkdir -p "$d/run" "$d/reader.conf.d"
	cat > "$d/reader.conf.d/vpcd" <<CONF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:$port
LIBPATH      $drv
CHANNELID    $port
CONF
	# The bind target must exist outside the namespace too.
	[ -d /run/pcscd ] || mkdir -p /run/pcscd
	# shellcheck disable=SC2016 # $1 expands in the inner shell
	unshare -m sh -c 'mount --bind "$1/run" /run/pcscd && exec pcscd -f -c "$1/reader.conf.d"' \
	    sh "$d" >"$d/pcscd.log" 2>&1 </dev/null &
	pid=$!
	echo $pid > "$d/pcscd.pid"
	i=0
	while :; do
		if ! kill -0 $pid 2>/dev/null; then
			rm -f "$d/pcscd.pid"
			cat "$d/pcscd.log" >&2
			die "pcscd exited during start-up"
		fi
		# up when the socket exists and *this* pcscd listens on the port
		if [ -S "$d/run/pcscd.comm" ] &&
		    ss -Htlnp "sport = :$port" 2>/dev/null | grep -q "pid=$pid,"; then
			break
		fi
		i=$((i + 1))
		if [ $i -gt 300 ]; then
			stop "$d"
			die "pcscd did not come up within 30 s"
		fi
		sleep 0.1
	done
	cat > "$d/pcscd.env" <<ENV
PCSCLITE_CSOCK_NAME='$d/run/pcscd.comm'; export PCSCLITE_CSOCK_NAME
VPCD_PORT=$port; export VPCD_PORT
VPCD_READER='Virtual PCD 00 00'; export VPCD_READER
ENV
	cat "$d/pcscd.env"
}

stop() {
	d=$1
	[ -f "$d/pcscd.pid" ] || return 0
	pid=$(cat "$d/pcscd.pid")
	case $pid in ''|*[!0-9]*) die "bad PID file $d/pcscd.pid";; esac
	if kill -TERM "$pid" 2>/dev/null; then
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$d/pcscd.pid"
}

[ $# -ge 2 ] || die "usage: $0 start DIR [PORT] | stop DIR | env DIR"
case $1 in
start)	start "$2" "${3:-}" ;;
stop)	stop "$2" ;;
env)	cat "$2/pcscd.env" ;;
*)	die "unknown command $1" ;;
esac
