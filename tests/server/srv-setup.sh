# srv-setup.sh: sourced by the tests that build on the dev mode of
# ownerbind-server: in tests/server, test_server.sh,
# test_server_peers.sh, test_server_reload.sh, test_challenge.sh,
# test_callback.sh, test_enrol.sh, test_enrol_rate.sh, test_approval.sh,
# test_renewal_server.sh, test_key_rotation.sh, test_server_pipeline.sh,
# test_server_redis.sh, test_signer_p11.sh and test_e2e_backends.sh; in
# tests/proxy, test_proxy.sh and test_renewal.sh.  A test with more to
# end (a stopped helper, fixtures, a second server) traps its own
# function, which ends them and then calls cleanup.
# Sourcing it makes a fresh $D, enters it (the current directory from
# then on) and defines:
#   - D; SP, the server's PID, PP, a proxy's, and KP, another process
#     the test starts (a receiver, a client): cleanup ends KP, PP, SP;
#   - fail, ok, bad; cleanup, the EXIT trap (OB_KEEP set: $D is kept
#     and named);
#   - srv_dev_start [LOG [LISTEN]]: `ownerbind-server --dev $D/dev
#     --listen LISTEN` (127.0.0.1:0) started, logging to $D/LOG
#     (dev.log), until it wrote dev.json, and left running as SP (not
#     yet ready: see srv_ready); then J NAME prints dev.json's member
#     NAME, and its names are set as URL AUD TRUST CA CERT KEY, and
#     PORT; SPKI, the base64 SHA-256 of the dev server's public key (its
#     pin);
#   - srv_dev [LOG]: srv_dev_start, then the server stopped (SP empty);
#   - srv_serve [LOG]: `ownerbind-server --config $D/dev/server.json`
#     started as SP, logging to $D/LOG (server.log), then srv_ready;
#   - srv_ready LOGPATH: waits until the server logging to LOGPATH is
#     ready (FAIL unless it is, and seccomp in force); URL, where it
#     listens (its log line), and srv_log, LOGPATH;
#   - srv_stop: the server SP stopped, SP empty;
#   - srv_ca2: a second client CA (ca2.pem, ca2.key) and
#     $D/dev/clients-ca.pem holding it after the development TLS CA;
#     then mkleaf NAME URI issues NAME.pem/NAME.key under it
#     (clientAuth, SAN URI);
#   - srv_pki MKCERTS: instead of srv_ca2, the certificates of
#     tests/service/mkcerts.sh (its path) in $D/pki, and
#     $D/dev/clients-ca.pem holding their CA after the development TLS
#     CA; ALICE_SHA, the SHA-256 of pki/hashpeer.pem in hex;
#   - srv_redis RS: a private redis-server RS (no TCP, no persistence,
#     its socket $D/redis.sock, its configuration $D/redis.conf, its log
#     $D/redis.log) started as KP, and waited for until it answers;
#     REDIS, "unix:$D/redis.sock", the server's "state" for it;
#   - free_port: prints a loopback TCP port nothing listened on a moment
#     ago.
# srv_dev_start, srv_serve, srv_ready, srv_ca2, srv_pki and srv_redis
# print a FAIL line and exit 1 when they fail.
# Needs: SRV PY set.
# shellcheck shell=sh
# shellcheck disable=SC2034 # the names dev.json gives are for the tests that source this
D=$(mktemp -d)
SP=
PP=
KP=
fail=0
# shellcheck disable=SC2317 # run from the EXIT trap
cleanup() {
	[ -n "$KP" ] && kill "$KP" 2>/dev/null && wait "$KP" 2>/dev/null
	[ -n "$PP" ] && kill "$PP" 2>/dev/null && wait "$PP" 2>/dev/null
	[ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
	if [ -n "${OB_KEEP:-}" ]; then echo "kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
# dash runs no EXIT trap when a signal ends it: exit, and it does.
trap 'exit 130' INT
trap 'exit 143' TERM
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
cd "$D" || exit 1

# shellcheck disable=SC2120 # $1 is optional
srv_dev_start() {	# $1: the log's name in $D (dev.log), $2: listen (127.0.0.1:0)
	"$SRV" --dev "$D/dev" --listen "${2:-127.0.0.1:0}" 2>"$D/${1:-dev.log}" &
	SP=$!
	i=0
	while [ ! -f "$D/dev/dev.json" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	[ -f "$D/dev/dev.json" ] ||
	    { cat "$D/${1:-dev.log}"; echo "FAIL: no dev.json"; exit 1; }
	URL=$(J url); AUD=$(J aud); TRUST=$(J trust); CA=$(J tls_ca)
	CERT=$(J client_cert); KEY=$(J client_key)
	PORT=${URL##*:}
	SPKI=$(openssl x509 -in "$D/dev/server.pem" -pubkey -noout |
	    openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
}
J() { "$PY" -c "import json,sys; print(json.load(open('$D/dev/dev.json'))['$1'])"; }
# shellcheck disable=SC2120 # $1 is optional
srv_dev() {	# $1: the log's name in $D (dev.log)
	srv_dev_start "$@"
	srv_stop
}
# shellcheck disable=SC2120 # $1 is optional
srv_serve() {	# $1: the log's name in $D (server.log)
	srv_log=$D/${1:-server.log}
	: > "$srv_log"	# before the server starts: no old line is read
	"$SRV" --config "$D/dev/server.json" 2>"$srv_log" &
	SP=$!
	srv_ready "$srv_log"
}
srv_ready() {	# $1: the server's log (a path)
	srv_log=$1
	i=0	# "ready": the signal handlers are in place, after seccomp
	while ! grep -q '"event":"ready"' "$srv_log" && [ $i -lt 300 ]; do
		sleep 0.05; i=$((i + 1))
	done
	URL=$(grep -o '"detail":"https://127.0.0.1:[0-9]*' "$srv_log" | cut -d'"' -f4)
	if ! grep -q '"event":"ready"' "$srv_log" ||
	    ! grep -q '"detail":"seccomp: the allow-list is in force' "$srv_log" ||
	    [ -z "$URL" ]; then
		cat "$srv_log"; echo "FAIL: server did not start"; exit 1
	fi
}
srv_stop() { kill "$SP"; wait "$SP" 2>/dev/null; SP=; }

srv_ca2() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	    -subj /CN=ca2 -keyout ca2.key -out ca2.pem \
	    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null ||
	    { echo "FAIL: openssl could not make the second client CA"; exit 1; }
	cat "$D/dev/tls-ca.pem" ca2.pem > "$D/dev/clients-ca.pem"
}
srv_pki() {	# $1: tests/service/mkcerts.sh
	if ! mkdir pki || ! sh "$1" "$D/pki"; then echo "FAIL: mkcerts"; exit 1; fi
	cat "$D/dev/tls-ca.pem" pki/ca.pem > "$D/dev/clients-ca.pem"
	ALICE_SHA=$(openssl x509 -in pki/hashpeer.pem -outform der |
	    openssl dgst -sha256 -r | cut -d' ' -f1)
}
srv_redis() {	# $1: the redis-server program
	printf 'port 0\nunixsocket %s/redis.sock\nunixsocketperm 700\nsave ""\nappendonly no\ndir %s\n' \
	    "$D" "$D" > "$D/redis.conf"
	"$1" "$D/redis.conf" > "$D/redis.log" 2>&1 &
	KP=$!
	i=0
	until redis-cli -s "$D/redis.sock" ping 2>/dev/null | grep -q PONG; do
		i=$((i + 1))
		[ $i -lt 200 ] ||
		    { cat "$D/redis.log"; echo "FAIL: redis-server did not start"; exit 1; }
		sleep 0.05
	done
	REDIS=unix:$D/redis.sock
}
free_port() { "$PY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
mkleaf() {	# $1: name, $2: URI SAN
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null &&
	printf 'subjectAltName=URI:%s\nextendedKeyUsage=clientAuth\n' "$2" > "$1.ext" &&
	openssl x509 -req -in "$1.csr" -CA ca2.pem -CAkey ca2.key \
	    -CAcreateserial -days 1 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
