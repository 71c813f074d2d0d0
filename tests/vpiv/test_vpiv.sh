#!/bin/sh
# test_vpiv.sh VPIV - drive the virtual PIV card with tools written elsewhere
# (yubico-piv-tool, OpenSC's PKCS#11 module and pkcs11-tool, openssl) through
# an isolated pcscd.  Exit 0 = all passed, 1 = a check failed, 77 = skipped.
# Every process started here is stopped by PID on exit, pass or fail.
set -u

VPIV=${1:?usage: test_vpiv.sh /path/to/vpiv}
HERE=$(cd "$(dirname "$0")" && pwd)
MODULE=${OPENSC_PKCS11:-/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so}
SERIAL=13572468		# 0xCF1974
PIN=123456
PUK=12345678

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (mount namespace for pcscd)"
for t in pcscd unshare ss yubico-piv-tool pkcs11-tool opensc-tool openssl xxd; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed"
done
[ -f "$MODULE" ] || skip "OpenSC PKCS#11 module $MODULE not found"
[ -x "$VPIV" ] || { echo "FAIL: $VPIV is not executable"; exit 1; }

D=$(mktemp -d /tmp/vpiv-test.XXXXXX) || exit 1
CARD_PID=
NCHECK=0

cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$CARD_PID" ]; then
		kill -TERM "$CARD_PID" 2>/dev/null
		wait "$CARD_PID" 2>/dev/null
	fi
	"$HERE/pcscd-fixture.sh" stop "$D"
	if [ $rc -ne 0 ]; then
		echo "--- last output"; cat "$D/out" 2>/dev/null
		echo "--- card log (tail)"; tail -25 "$D/card.log" 2>/dev/null
		echo "--- pcscd log (tail)"; tail -10 "$D/pcscd.log" 2>/dev/null
	fi
	rm -rf "$D"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { NCHECK=$((NCHECK + 1)); echo "ok $NCHECK - $*"; }

# run CMD...: output in $D/out, status in $RC
run() { "$@" >"$D/out" 2>&1; RC=$?; }
must() { desc=$1; shift; run "$@"; [ $RC -eq 0 ] || fail "$desc (exit $RC)"; }
must_fail() { desc=$1; shift; run "$@"; [ $RC -ne 0 ] || fail "$desc: succeeded"; }
has() { grep -q -- "$1" "$D/out" || fail "output lacks '$1'"; }
hasnt() { ! grep -q -- "$1" "$D/out" || fail "output has '$1'"; }
same_file() { cmp -s "$1" "$2" || fail "$1 and $2 differ"; }
log_has() { grep -q -- "$1" "$D/card.log" || fail "card log lacks '$1'"; }

eval "$("$HERE/pcscd-fixture.sh" start "$D")" || fail "pcscd fixture"
READER=$VPCD_READER
export HOME="$D" XDG_CACHE_HOME="$D/cache"	# no OpenSC cache from elsewhere
yk() { yubico-piv-tool -r "$READER" "$@"; }
p11() { pkcs11-tool --module "$MODULE" "$@"; }

wait_card() {
	i=0
	until yk -a version >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "card did not appear in $READER"
		kill -0 "$CARD_PID" 2>/dev/null || fail "card process exited"
		sleep 0.1
	done
}
start_card() {
	"$VPIV" --port "$VPCD_PORT" --state "$D/card.state" \
	    --ca-out "$D/ca.pem" --serial $SERIAL --verbose "$@" \
	    >>"$D/card.log" 2>&1 &
	CARD_PID=$!
	wait_card
}
# pcscd polls vpcd every 400 ms; a card that comes back before pcscd saw
# it gone is taken for the old one (stale power state), so wait for that.
wait_absent() {
	i=0
	until opensc-tool -l 2>/dev/null | grep -q "^0 *No .*$READER"; do
		i=$((i + 1))
		[ $i -lt 50 ] || fail "pcscd still sees a card in $READER"
		sleep 0.1
	done
}
stop_card() {
	kill -TERM "$CARD_PID" || fail "card not running"
	wait "$CARD_PID"; rc=$?
	CARD_PID=
	[ $rc -eq 0 ] || fail "card exited with $rc on SIGTERM"
	wait_absent
}
# A certificate for a card-held public key, signed by a throwaway test CA
# (OpenSSL 3.0 has no 'x509 -new'; -force_pubkey substitutes the key).
cert_for() {	# pubkey.pem cn out.pem
	openssl req -new -key "$D/tca.key" -subj "/CN=$2/" -out "$D/tmp.csr" \
	    >/dev/null 2>&1 || fail "openssl req for $1"
	openssl x509 -req -in "$D/tmp.csr" -CA "$D/tca.pem" \
	    -CAkey "$D/tca.key" -force_pubkey "$1" -days 2 -out "$3" \
	    >/dev/null 2>&1 || fail "openssl could not make a cert for $1"
}
pubkey_of_cert() { openssl x509 -in "$1" -noout -pubkey; }

must "test CA" openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -nodes -keyout "$D/tca.key" -out "$D/tca.pem" -subj /CN=tca -days 2

# --- 1. a fresh card, read by yubico-piv-tool ---------------------------
start_card
must "status" yk -a status
has "Version:	5.4.3"
has "Serial Number:	$SERIAL"
has "CHUID:	3019d4e739da"
has "CCC:	f015a000000116ff02"
has "PIN tries left:	3"
hasnt "Slot 9a"
ok "yubico-piv-tool -a status reads version, serial, CHUID, CCC, retries"

# --- 2. management key ---------------------------------------------------
must_fail "generate with a wrong management key" \
    yk --key=0102030405060708010203040506070801020304050607FF -a generate -s 9a -A ECCP256
has "authentication"
log_has "87 03 9b Lc=22 -> 6982"
ok "wrong 3DES management key refused (6982)"

# --- 3. generate, certificate, sign via yubico-piv-tool ------------------
must "generate 9a" yk -a generate -s 9a -A ECCP256 -o "$D/pub9a.pem"
must "parse pub9a" openssl pkey -pubin -in "$D/pub9a.pem" -noout -text
has "NIST CURVE: P-256"
ok "generate -s 9a -A ECCP256 returns a P-256 key"

run yk -a verify-pin -P $PIN -a selfsign-certificate -s 9a \
    -S "/CN=vpiv self/" -i "$D/pub9a.pem" -o "$D/self9a.pem"
if [ $RC -eq 0 ]; then
	must "verify selfsigned" openssl verify -CAfile "$D/self9a.pem" "$D/self9a.pem"
	pubkey_of_cert "$D/self9a.pem" | cmp -s - "$D/pub9a.pem" || fail "selfsigned key"
	ok "selfsign-certificate: signed by the card, verifies"
else
	# yubico-piv-tool 2.2.0 cannot sign through OpenSSL 3 (its EC_KEY_METHOD
	# hook is bypassed; Yubico/yubico-piv-tool#388): no APDU reaches us.
	has "Failed signing certificate"
	yubico-piv-tool --version | grep -q "2\.2\." || fail "selfsign failed"
	echo "ok - selfsign-certificate skipped: known yubico-piv-tool 2.2 + OpenSSL 3 bug"
fi

cert_for "$D/pub9a.pem" "vpiv 9a" "$D/cert9a.pem"
must "import-certificate 9a" yk -a import-certificate -s 9a -i "$D/cert9a.pem"
must "read-certificate 9a" yk -a read-certificate -s 9a -o "$D/back9a.pem"
same_file "$D/cert9a.pem" "$D/back9a.pem"
must "status" yk -a status
has "Slot 9a:"
has "Subject DN:	CN=vpiv 9a"
ok "import-certificate / read-certificate round trip"

must_fail "test-signature 9a without PIN" \
    yk -a test-signature -s 9a -i "$D/cert9a.pem"
log_has "87 11 9a Lc=38 -> 6982"
must "test-signature 9a" yk -a verify-pin -P $PIN -a test-signature -s 9a \
    -i "$D/cert9a.pem"
has "Successful ECDSA verification."
ok "9a signs only after VERIFY; tool verifies the signature"

# --- 4. OpenSC PKCS#11 ---------------------------------------------------
must "pkcs11 -L" p11 -L
has "Virtual PCD 00 00"
has "token label        : vpiv 9a"
must "pkcs11 -O" p11 -O --login --pin $PIN
has "Private Key Object; EC"
has "label:      PIV AUTH key"
has "ID:         01"
has "Certificate Object; type = X.509 cert"
has "subject:    DN: CN=vpiv 9a"
ok "pkcs11-tool -O lists the 9a key and certificate"

printf 'agent credential request %s\n' "$$" >"$D/msg"
openssl dgst -sha256 -binary "$D/msg" >"$D/dgst"
must "pkcs11 sign" p11 --sign --mechanism ECDSA --id 01 --login --pin $PIN \
    -i "$D/dgst" -o "$D/sig" --signature-format openssl
must "openssl verify sig" openssl pkeyutl -verify -pubin -inkey "$D/pub9a.pem" \
    -in "$D/dgst" -sigfile "$D/sig"
has "Signature Verified Successfully"
printf 'x' >>"$D/msg"
openssl dgst -sha256 -binary "$D/msg" >"$D/dgst2"
must_fail "tampered digest" openssl pkeyutl -verify -pubin \
    -inkey "$D/pub9a.pem" -in "$D/dgst2" -sigfile "$D/sig"
ok "pkcs11-tool --sign ECDSA (P-256) verifies with openssl; tampering detected"

# --- 5. P-384 in 9c (PIN always) -----------------------------------------
must "generate 9c" yk -a generate -s 9c -A ECCP384 -o "$D/pub9c.pem"
cert_for "$D/pub9c.pem" "vpiv 9c" "$D/cert9c.pem"
must "import-certificate 9c" yk -a import-certificate -s 9c -i "$D/cert9c.pem"
openssl dgst -sha384 -binary "$D/msg" >"$D/dgst384"
must "pkcs11 sign 9c" p11 --sign --mechanism ECDSA --id 02 --login --pin $PIN \
    -i "$D/dgst384" -o "$D/sig384" --signature-format openssl
must "verify 9c sig" openssl pkeyutl -verify -pubin -inkey "$D/pub9c.pem" \
    -in "$D/dgst384" -sigfile "$D/sig384"
has "Signature Verified Successfully"
ok "P-384 in 9c signs through PKCS#11 (context-specific login)"

# --- 6. attestation -------------------------------------------------------
must "attest 9a" yk -a attest -s 9a -o "$D/att9a.pem"
must "read f9" yk -a read-certificate -s f9 -o "$D/f9.pem"
must "verify attestation" openssl verify -CAfile "$D/ca.pem" \
    -untrusted "$D/f9.pem" "$D/att9a.pem"
has "att9a.pem: OK"
pubkey_of_cert "$D/att9a.pem" | cmp -s - "$D/pub9a.pem" ||
    fail "attested key is not the 9a key"
openssl x509 -in "$D/att9a.pem" -outform DER | xxd -p | tr -d '\n' |
    grep -q "060a2b0601040182c40a03070406020400cf1974" ||
    fail "attestation lacks serial extension $SERIAL"
must_fail "attestation against a foreign CA" openssl verify \
    -CAfile "$D/tca.pem" -untrusted "$D/f9.pem" "$D/att9a.pem"
ok "attest -s 9a chains to the card's root via f9; serial extension present"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$D/imp.key" 2>/dev/null || fail "openssl genpkey"
must "import-key 9d" yk -a import-key -s 9d -i "$D/imp.key"
must_fail "attest imported key" yk -a attest -s 9d
has "Failed to attest data"
log_has "f9 9d 00 Lc=0 -> 6a80"
ok "imported key in 9d is not attested (6a80)"

# --- 7. PIN retries and blocking -----------------------------------------
must_fail "wrong PIN 1" yk -a verify-pin -P 000000
has "2 tries left"
must_fail "wrong PIN 2" yk -a verify-pin -P 000000
has "1 tries left"
must "status" yk -a status
has "PIN tries left:	1"
must "right PIN" yk -a verify-pin -P $PIN
must "status" yk -a status
has "PIN tries left:	3"
ok "wrong PIN: retries 2, 1; correct PIN restores 3"

for i in 1 2 3; do must_fail "wrong PIN $i" yk -a verify-pin -P 000000; done
has "Pin code blocked"
must_fail "right PIN while blocked" yk -a verify-pin -P $PIN
has "blocked"
must "status" yk -a status
has "PIN tries left:	0"
must "pkcs11 -L" p11 -L
has "user PIN locked"
must_fail "pkcs11 login blocked" p11 --login --pin $PIN -O
has "CKR_PIN_LOCKED"
must "unblock" yk -a unblock-pin -P $PUK -N $PIN
must "verify after unblock" yk -a verify-pin -P $PIN
ok "blocked PIN reported by yubico-piv-tool and PKCS#11; PUK unblocks"

# --- 8. removal, restart, state file --------------------------------------
kill -USR1 "$CARD_PID"
wait_absent
must_fail "status with card removed" yk -a status
must "pkcs11 -L removed" p11 -L
has "(empty)"
kill -USR1 "$CARD_PID"
wait_card
ok "SIGUSR1 removes and re-inserts the card"

stop_card
[ -s "$D/card.state" ] || fail "no state file"
start_card
must "status after restart" yk -a status
has "Serial Number:	$SERIAL"
has "Subject DN:	CN=vpiv 9a"
must "pkcs11 sign after restart" p11 --sign --mechanism ECDSA --id 01 \
    --login --pin $PIN -i "$D/dgst" -o "$D/sig2" --signature-format openssl
must "verify after restart" openssl pkeyutl -verify -pubin \
    -inkey "$D/pub9a.pem" -in "$D/dgst" -sigfile "$D/sig2"
ok "state file restores keys, certificates and serial"

stop_card
start_card --drop-on-ins 87 --reinsert-ms 1000
must_fail "sign while the card is pulled" p11 --sign --mechanism ECDSA \
    --id 01 --login --pin $PIN -i "$D/dgst" -o "$D/sig3"
log_has "dropping the card (--drop-on-ins 87)"
wait_absent
wait_card
must "sign after re-insertion" p11 --sign --mechanism ECDSA --id 01 \
    --login --pin $PIN -i "$D/dgst" -o "$D/sig3" --signature-format openssl
must "verify after re-insertion" openssl pkeyutl -verify -pubin \
    -inkey "$D/pub9a.pem" -in "$D/dgst" -sigfile "$D/sig3"
ok "card pulled during GENERAL AUTHENTICATE: signing fails, then recovers"

stop_card
start_card --drop-after 1 --reinsert-ms 1000
log_has "APDU 1: dropping the card (--drop-after)"
ok "--drop-after drops the card at the given APDU and re-inserts it"
stop_card

echo "all $NCHECK checks passed"
