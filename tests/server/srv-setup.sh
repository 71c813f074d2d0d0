# srv-setup.sh: sourced by the server tests that run their own
# configuration over mutual TLS (test_server_peers.sh,
# test_server_reload.sh).  In a fresh $D (also the current directory):
#   - the development files of `ownerbind-server --dev $D/dev`, the
#     server started until it wrote dev.json, then stopped; the names in
#     dev.json as URL AUD TRUST CA CERT KEY, and PORT;
#   - a second client CA (ca2.pem, ca2.key) and $D/dev/clients-ca.pem
#     holding it after the development TLS CA; mkleaf NAME URI issues
#     NAME.pem/NAME.key under it (clientAuth, SAN URI).
# Needs: SRV PY set.  Defines D, SP and KP (PIDs cleanup ends), fail,
# ok, bad, cleanup (the EXIT trap), J, mkleaf.
# shellcheck shell=sh
# shellcheck disable=SC2034 # AUD, CERT, KEY, PORT are for the tests that source this
D=$(mktemp -d)
SP=
KP=
fail=0
# shellcheck disable=SC2317 # run from the EXIT trap
cleanup() {
	[ -n "$KP" ] && kill "$KP" 2>/dev/null && wait "$KP" 2>/dev/null
	[ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

cd "$D" || exit 1
"$SRV" --dev "$D/dev" --listen 127.0.0.1:0 2>"$D/dev.log" &
SP=$!
i=0
while [ ! -f "$D/dev/dev.json" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -f "$D/dev/dev.json" ] || { cat "$D/dev.log"; echo "FAIL: no dev.json"; exit 1; }
kill -TERM "$SP"; wait "$SP"; SP=
J() { "$PY" -c "import json,sys; print(json.load(open('$D/dev/dev.json'))['$1'])"; }
URL=$(J url); AUD=$(J aud); TRUST=$(J trust); CA=$(J tls_ca)
CERT=$(J client_cert); KEY=$(J client_key)
PORT=${URL##*:}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=ca2 -keyout ca2.key -out ca2.pem \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null ||
    { echo "FAIL: openssl could not make the second client CA"; exit 1; }
cat "$D/dev/tls-ca.pem" ca2.pem > "$D/dev/clients-ca.pem"
mkleaf() {	# $1: name, $2: URI SAN
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null &&
	printf 'subjectAltName=URI:%s\nextendedKeyUsage=clientAuth\n' "$2" > "$1.ext" &&
	openssl x509 -req -in "$1.csr" -CA ca2.pem -CAkey ca2.key \
	    -CAcreateserial -days 1 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
