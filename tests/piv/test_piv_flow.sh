#!/bin/sh
# test_piv_flow.sh OWNERBIND VERIFY VPIV ATTEST_CHECK SET_MGM PYTHON
#
# The PIV backend end to end, through an isolated pcscd with the virtual
# card (tests/vpiv) in its vpcd reader: keygen on the card (3DES and AES
# management keys), enroll with the slot attestation, request, sign,
# pop, ownerbind-verify for P-256 and P-384; the attestation checked as
# the server checks it; an imported key reported as not attested; the
# owner entries checked by python3-jwcrypto; wrong PIN, blocked PIN,
# card pulled mid-signature, card reset by another program, no reader,
# no card, two cards: each a distinct error; no PIN or management key in
# any output.  Exit 0 = passed, 1 = failed, 77 = skipped.  Every process
# started here is stopped by its PID on exit.
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u

OB=${1:?usage: test_piv_flow.sh OWNERBIND VERIFY VPIV ATTEST_CHECK SET_MGM PYTHON}
VERIFY=$2 VPIV=$3 ACHECK=$4 SETMGM=$5 PY=${6:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
FIXTURE=$HERE/../vpiv/pcscd-fixture.sh

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (mount namespace for pcscd)"
for t in pcscd unshare ss yubico-piv-tool opensc-tool openssl; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed"
done

AUD=https://id.example
SUB=wimse://td.example/agents/a1
R0='Virtual PCD 00 00'
R1='Virtual PCD 00 01'
SERIAL=12345678
SERIAL2=87654321
PIN=918273			# not the factory PIN, so a leak is findable
PUK=12345678
MGM3=8f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978
MGMAES=a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90
DEFMGM=010203040506070801020304050607080102030405060708

D=$(mktemp -d /tmp/ob-piv.XXXXXX) || exit 1
CARD_PID=
CARD2_PID=
PASS=0
FAIL=0

stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
cleanup() {
	trap - EXIT INT TERM HUP
	stop_pid "$CARD_PID"
	stop_pid "$CARD2_PID"
	"$FIXTURE" stop "$D"
	if [ "$FAIL" -ne 0 ]; then
		echo "--- card log (tail)"; tail -20 "$D/card.log" 2>/dev/null
		echo "--- pcscd log (tail)"; tail -10 "$D/pcscd.log" 2>/dev/null
	fi
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

ok() { PASS=$((PASS + 1)); echo "ok $((PASS + FAIL)) - $*"; }
not_ok() {
	FAIL=$((FAIL + 1))
	echo "not ok $((PASS + FAIL)) - $*"
	cat "$D/out" "$D/err" 2>/dev/null | sed 's/^/#   /' | head -12
}

# run CMD...: stdout in $D/out, stderr in $D/err, both kept in $D/all for
# the secret scan at the end; status in $RC.
run() {
	"$@" >"$D/out" 2>"$D/err"
	RC=$?
	cat "$D/out" "$D/err" >>"$D/all"
}
# expect NAME DETAIL CMD...: fails, stderr names OB_ERR_NAME and DETAIL.
expect() {
	want=$1 detail=$2
	shift 2
	run "$@"
	if [ $RC -eq 0 ]; then
		not_ok "$want: succeeded"
	elif ! grep -q "ownerbind: $want:" "$D/err"; then
		not_ok "$want: got $(head -1 "$D/err")"
	elif ! grep -q -- "$detail" "$D/err"; then
		not_ok "$want: detail lacks '$detail'"
	else
		ok "$want ($detail)"
	fi
}

eval "$("$FIXTURE" start "$D")" || { echo "FAIL: pcscd fixture"; exit 1; }
export HOME="$D" XDG_CACHE_HOME="$D/cache"
unset OWNERBIND_PIN_SOURCE OWNERBIND_PIV_MGMT_KEY_SOURCE

card_ready() {	# reader pid
	i=0
	until yubico-piv-tool -r "$1" -a version >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -ge 100 ] || ! kill -0 "$2" 2>/dev/null; then
			echo "FAIL: card did not appear in $1"
			FAIL=$((FAIL + 1))
			exit 1
		fi
		sleep 0.1
	done
}
card_absent() {	# reader
	i=0
	until opensc-tool -l 2>/dev/null | grep -q "No .*$1"; do
		i=$((i + 1))
		[ $i -lt 50 ] || return 1
		sleep 0.1
	done
}
start_card() {
	"$VPIV" --port "$VPCD_PORT" --state "$D/card.state" --serial $SERIAL \
	    --ca-out "$D/ca.pem" --verbose "$@" >>"$D/card.log" 2>&1 &
	CARD_PID=$!
	card_ready "$R0" $CARD_PID
}
stop_card() {
	stop_pid "$CARD_PID"
	CARD_PID=
	card_absent "$R0"
}

secret() {	# name value: a 0600 file
	printf '%s\n' "$2" >"$D/$1"
	chmod 600 "$D/$1"
}
secret pin "$PIN"
secret badpin 000000
secret mgm3 "$MGM3"
secret mgmaes "$MGMAES"
# askpass helpers: one notes that it was asked, one resets the card first.
printf '#!/bin/sh\ntouch "%s/asked"\ncat "%s/pin"\n' "$D" "$D" >"$D/ask.sh"
# shellcheck disable=SC2016 # $1 is the helper's own argument
printf '#!/bin/sh\nprintf "%%s" "$1" >"%s/prompt"\nopensc-tool -r 0 --reset >/dev/null 2>&1\ncat "%s/pin"\n' \
    "$D" "$D" >"$D/askreset.sh"
chmod 700 "$D/ask.sh" "$D/askreset.sh"

U="piv:reader=$R0"
PINSRC="file:$D/pin"
yk() { yubico-piv-tool -r "$R0" "$@"; }

# --- the card: new PIN and 3DES management key --------------------------
start_card
run yk -a change-pin -P 123456 -N "$PIN"
[ $RC -eq 0 ] && ok "card PIN changed" || not_ok "change-pin"
run yk --key=$DEFMGM -a set-mgm-key -n "$MGM3"
[ $RC -eq 0 ] && ok "card 3DES management key changed" || not_ok "set-mgm-key"

# --- keygen ---------------------------------------------------------------
expect OB_ERR_PIN_SOURCE "mgmt-key-source" \
    "$OB" keygen --key "$U;slot=9a" --pin-source "$PINSRC"
secret mgmbad "${MGM3%??}:0"
expect OB_ERR_KEY_LOAD "not hexadecimal" \
    "$OB" keygen --key "$U;slot=9a;mgmt-key-source=file:$D/mgmbad" --pin-source "$PINSRC"
expect OB_ERR_SECURITY_STATUS "wrong management key" \
    "$OB" keygen --key "$U;slot=9a;mgmt-key-source=default" --pin-source "$PINSRC"
run "$OB" keygen --key "$U;slot=9a;mgmt-key-source=file:$D/mgm3" --alg ES256 \
    --pin-source "$PINSRC" --json
if [ $RC -eq 0 ] && grep -q '"kind":"piv","alg":"ES256"' "$D/out"; then
	KID9A=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["kid"])' <"$D/out")
	ok "keygen 9a ES256 on the card (3DES management key from a file)"
else
	not_ok "keygen 9a"
	KID9A=none
fi
cp "$D/out" "$D/key9a.json"
# The slot certificate (self-signed on the card) is readable by others.
run yk -a read-certificate -s 9a -o "$D/cert9a.pem"
if [ $RC -eq 0 ] && openssl verify -CAfile "$D/cert9a.pem" "$D/cert9a.pem" \
    >/dev/null 2>&1 && "$PY" - "$D/cert9a.pem" "$D/key9a.json" <<'EOF'
import base64, json, sys
from cryptography import x509
c = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
j = json.load(open(sys.argv[2]))["jwk"]
n = c.public_key().public_numbers()
b = lambda s: int.from_bytes(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)), "big")
assert "ownerbind PIV slot 9a" in c.subject.rfc4514_string()
sys.exit(0 if (n.x, n.y) == (b(j["x"]), b(j["y"])) else 1)
EOF
then
	ok "keygen wrote a card-signed certificate for the 9a key (yubico-piv-tool reads it)"
else
	not_ok "slot 9a certificate"
fi
expect OB_ERR_KEY_EXISTS "already holds a key" \
    "$OB" keygen --key "$U;slot=9a;mgmt-key-source=file:$D/mgm3" --pin-source "$PINSRC"

# A wrong PIN stops keygen before anything changes on the card.
expect OB_ERR_PIN_INCORRECT "2 tries left" \
    "$OB" keygen --key "$U;slot=9d;mgmt-key-source=file:$D/mgm3" \
    --pin-source "file:$D/badpin"

# A key imported rather than generated (no attestation possible).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$D/imp.key" 2>/dev/null
run yk --key="$MGM3" -a import-key -s 9d -i "$D/imp.key"
[ $RC -eq 0 ] && ok "key imported into 9d (yubico-piv-tool)" || not_ok "import-key"

# AES-256 management key (alg learned from the card's metadata).
if printf '%s\n%s\n' "$MGM3" "$MGMAES" |
    "$SETMGM" "$R0" 3des aes256 >"$D/err" 2>&1; then
	ok "card management key is now AES-256"
else
	not_ok "set AES key"
fi
export OB_TEST_MGM="$MGMAES"
run "$OB" keygen --key "$U;slot=9c;mgmt-key-source=env:OB_TEST_MGM" --alg ES384 \
    --pin-source "$PINSRC" --json
if [ $RC -eq 0 ] && grep -q '"alg":"ES384"' "$D/out"; then
	KID9C=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["kid"])' <"$D/out")
	ok "keygen 9c ES384 on the card (AES-256 management key from env)"
else
	not_ok "keygen 9c"
	KID9C=none
fi
unset OB_TEST_MGM
run "$OB" keygen --key "$U;slot=9e;mgmt-key-source=file:$D/mgm3;mgmt-alg=3des" \
    --pin-source "$PINSRC"
[ $RC -ne 0 ] && ok "3DES key refused once the card uses AES" ||
    not_ok "3DES key accepted for an AES card"

# --- enroll; attestation as the server checks it ---------------------------
# The verifier's trust store names the PIV attestation roots (piv_roots):
# here the virtual card's test root.
"$PY" - "$D/ca.pem" "$D/trust.json" <<'EOF'
import json, sys
json.dump({"ownerbind_trust": 1, "piv_roots": [open(sys.argv[1]).read()]},
          open(sys.argv[2], "w"), indent=2)
EOF
for s in 9a 9c 9d; do
	run "$OB" enroll --key "$U;slot=$s" --owner alice --may-bind \
	    'wimse://td.example/agents/*' --trust "$D/trust.json" --pin-source "$PINSRC"
	[ $RC -eq 0 ] && ok "enroll $s" || not_ok "enroll $s"
done
KID9D=$("$PY" - "$D/trust.json" <<'EOF'
import json, sys
keys = json.load(open(sys.argv[1]))["owners"][0]["keys"]
print([k["kid"] for k in keys if k["attestation"].get("origin") == "imported"][0])
EOF
)
for k in "$KID9A" "$KID9C"; do
	run "$ACHECK" "$D/trust.json" "$k" "$D/ca.pem"
	grep -q "^card-generated serial $SERIAL" "$D/out" &&
	    ok "attestation of $k: card-generated, chains to the card root" ||
	    not_ok "attestation of $k: $(cat "$D/out")"
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$D/other.key" -out "$D/other.pem" -subj /CN=other -days 2 \
    >/dev/null 2>&1
run "$ACHECK" "$D/trust.json" "$KID9A" "$D/other.pem"
grep -q "^OB_ERR_ATTEST_UNTRUSTED" "$D/out" &&
    ok "attestation against another root: OB_ERR_ATTEST_UNTRUSTED" ||
    not_ok "foreign root: $(cat "$D/out")"
run "$ACHECK" "$D/trust.json" "$KID9D" "$D/ca.pem"
grep -q "^OB_ERR_ATTEST_INVALID: imported" "$D/out" &&
    grep -q '"origin": "imported"' "$D/trust.json" &&
    ok "imported key in 9d recorded and reported as imported, not attested" ||
    not_ok "imported key: $(cat "$D/out")"

# --- request, sign, pop, verify; jwcrypto -------------------------------
run "$OB" request --sub $SUB --aud $AUD --owner alice \
    --agent-key "$D/agent.pem" --new-agent-key -o "$D/unused.json"
have_jwcrypto=0
"$PY" -c 'import jwcrypto' 2>/dev/null && have_jwcrypto=1
sign_flow() {	# slot kid alg assurance
	run "$OB" request --sub $SUB --aud $AUD --owner alice \
	    --agent-key "$D/agent.pem" -o "$D/req.json"
	run "$OB" sign --quiet --key "$U;slot=$1" --pin-source "$PINSRC" \
	    -o "$D/signed.json" "$D/req.json"
	[ $RC -eq 0 ] || { not_ok "$1: sign"; return; }
	run "$OB" pop --agent-key "$D/agent.pem" -o "$D/env.json" "$D/signed.json"
	run "$VERIFY" --no-replay-state --trust "$D/trust.json" --aud $AUD "$D/env.json"
	if [ $RC -eq 0 ] && grep -qF -- "$2 (piv, $3" "$D/out" &&
	    grep -q "^assurance *$4\$" "$D/out"; then
		ok "$1 $3: sign, pop, ownerbind-verify, assurance $4"
	else
		not_ok "$1 $3: verify"
		return
	fi
	[ $have_jwcrypto = 1 ] || return
	run "$PY" "$HERE/jws_check.py" "$D/env.json" "$D/trust.json" "$2"
	[ $RC -eq 0 ] && ok "$1 $3: python3-jwcrypto verifies the owner entry" ||
	    not_ok "$1 $3: jwcrypto"
}
sign_flow 9a "$KID9A" ES256 attested
sign_flow 9c "$KID9C" ES384 attested
sign_flow 9d "$KID9D" ES256 imported

# The verifier refuses attestation evidence that does not build to its
# roots (here: another root configured).
"$PY" - "$D/trust.json" "$D/other.pem" "$D/trust-other.json" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
t["piv_roots"] = [open(sys.argv[2]).read()]
json.dump(t, open(sys.argv[3], "w"))
EOF
run "$VERIFY" --no-replay-state --trust "$D/trust-other.json" --aud $AUD "$D/env.json"
[ $RC -ne 0 ] && grep -q "OB_ERR_ATTEST_UNTRUSTED" "$D/out" "$D/err" &&
    ok "ownerbind-verify refuses a PIV attestation under another root" ||
    not_ok "verifier with a foreign piv_root"

# --- PIN errors -------------------------------------------------------------
S="$U;slot=9a"
expect OB_ERR_PIN_INCORRECT "2 tries left" \
    "$OB" sign --quiet --key "$S" --pin-source "file:$D/badpin" -o "$D/x.json" "$D/req.json"
expect OB_ERR_PIN_INCORRECT "1 try left" \
    "$OB" sign --quiet --key "$S;pin-source=file:$D/badpin" -o "$D/x.json" "$D/req.json"
run "$OB" sign --quiet --key "$S" --pin-source "$PINSRC" -o "$D/x.json" "$D/req.json"
[ $RC -eq 0 ] && ok "right PIN after two wrong ones signs" || not_ok "right PIN"
expect OB_ERR_PIN_INCORRECT "2 tries left" \
    "$OB" sign --quiet --key "$S" --pin-source "file:$D/badpin" -o "$D/x.json" "$D/req.json"
expect OB_ERR_PIN_INCORRECT "1 try left" \
    "$OB" sign --quiet --key "$S" --pin-source "file:$D/badpin" -o "$D/x.json" "$D/req.json"
expect OB_ERR_PIN_BLOCKED "no tries left" \
    "$OB" sign --quiet --key "$S" --pin-source "file:$D/badpin" -o "$D/x.json" "$D/req.json"
rm -f "$D/asked"
expect OB_ERR_PIN_BLOCKED "SW 6983" \
    "$OB" sign --quiet --key "$S" --pin-source "askpass:$D/ask.sh" -o "$D/x.json" "$D/req.json"
[ ! -e "$D/asked" ] && ok "blocked PIN reported before the PIN is read" ||
    not_ok "the PIN was read for a blocked card"
run yk -a unblock-pin -P $PUK -N "$PIN"
[ $RC -eq 0 ] && ok "PIN unblocked with the PUK" || not_ok "unblock-pin"

# --- card reset by another program between two transactions: retried -------
before=$(grep -c "control 1" "$D/card.log")
run "$OB" sign --quiet --key "$S" --pin-source "askpass:$D/askreset.sh" \
    -o "$D/x.json" "$D/req.json"
after=$(grep -c "control 1" "$D/card.log")
[ $RC -eq 0 ] && [ "$after" -gt "$before" ] &&
    ok "card reset by another program: reconnected, signed" ||
    not_ok "sign across a reset"
grep -q "to approve $SUB as owner for $AUD: \$" "$D/prompt" &&
    ok "the PIN prompt shows what is approved: $(cat "$D/prompt")" ||
    not_ok "PIN prompt: $(cat "$D/prompt" 2>/dev/null)"

# --- card pulled during GENERAL AUTHENTICATE -------------------------------
stop_card
start_card --drop-on-ins 87 --reinsert-ms 1000
expect OB_ERR_CARD_REMOVED "during the command" \
    "$OB" sign --quiet --key "$S" --pin-source "$PINSRC" -o "$D/x.json" "$D/req.json"
card_absent "$R0"
card_ready "$R0" $CARD_PID
run "$OB" sign --quiet --key "$S" --pin-source "$PINSRC" -o "$D/x.json" "$D/req.json"
[ $RC -eq 0 ] && ok "signs again after re-insertion" || not_ok "sign after re-insertion"

# --- readers and cards --------------------------------------------------
expect OB_ERR_NO_READER "pcscd is not reachable" \
    env PCSCLITE_CSOCK_NAME="$D/no-such.comm" "$OB" sign --quiet --key "$S" \
    --pin-source "$PINSRC" -o "$D/x.json" "$D/req.json"
expect OB_ERR_NO_READER "no reader name contains" \
    "$OB" sign --quiet --key "piv:reader=No Such Reader;slot=9a" \
    --pin-source "$PINSRC" -o "$D/x.json" "$D/req.json"
expect OB_ERR_DEVICE_MISSING "no PIV card in \"$R1\"" \
    "$OB" sign --quiet --key "piv:reader=$R1;slot=9a" \
    --pin-source "$PINSRC" -o "$D/x.json" "$D/req.json"
expect OB_ERR_DEVICE_MISSING "no PIV card with serial 99" \
    "$OB" sign --quiet --key "piv:serial=99;slot=9a" \
    --pin-source "$PINSRC" -o "$D/x.json" "$D/req.json"
expect OB_ERR_SLOT_EMPTY "slot 9e" \
    "$OB" sign --quiet --key "$U;slot=9e" --pin-source "$PINSRC" -o "$D/x.json" "$D/req.json"
expect OB_ERR_KEY_URI "names the card" \
    "$OB" sign --quiet --key "piv:slot=9a" --pin-source "$PINSRC" -o "$D/x.json" "$D/req.json"

"$VPIV" --port $((VPCD_PORT + 1)) --state "$D/card2.state" --serial $SERIAL2 \
    >>"$D/card2.log" 2>&1 &
CARD2_PID=$!
card_ready "$R1" $CARD2_PID
expect OB_ERR_KEY_AMBIGUOUS "(serial $SERIAL2)" \
    "$OB" sign --quiet --key "piv:reader=Virtual PCD;slot=9a" \
    --pin-source "$PINSRC" -o "$D/x.json" "$D/req.json"
grep -q "(serial $SERIAL)" "$D/err" && ok "both cards are listed" ||
    not_ok "ambiguity lists both cards"
expect OB_ERR_SLOT_EMPTY "slot 9a" \
    "$OB" sign --quiet --key "piv:serial=$SERIAL2;slot=9a" \
    --pin-source "$PINSRC" -o "$D/x.json" "$D/req.json"
run "$OB" sign --quiet --key "piv:serial=$SERIAL;slot=9a" \
    --pin-source "$PINSRC" -o "$D/signed.json" "$D/req.json"
[ $RC -eq 0 ] && ok "serial= picks one card of two" || not_ok "sign by serial"

# --- ownerbind keys: both cards, their slots; no pcscd is "absent" -------
cat >"$D/keys.py" <<'CHECK'
import json, sys
serial, serial2, r0, r1 = sys.argv[1:5]
s = [x for x in json.load(sys.stdin) if x["backend"] == "piv"][0]
assert s["state"] == "found", s
rd = {r["reader"]: r for r in s["items"]}
a, b = rd[r0], rd[r1]
assert a["card"] == "PIV" and a["serial"] == int(serial), a
sl = {x["slot"]: x for x in a["slots"]}
assert sl["9a"]["uri"] == "piv:serial=%s;slot=9a" % serial, sl
assert sl["9a"]["type"] == "ECC P-256", sl
assert sl["9a"]["origin"] == "generated on the card", sl
assert sl["9c"]["type"] == "ECC P-384", sl
assert sl["9d"]["origin"] == "imported", sl
assert "9e" not in sl, sl
assert b["serial"] == int(serial2) and b["slots"] == [], b
CHECK
run "$OB" keys --json
if [ $RC -eq 0 ] && "$PY" "$D/keys.py" "$SERIAL" "$SERIAL2" "$R0" "$R1" \
    <"$D/out"; then
	ok "keys --json: both cards, serials, slots 9a 9c 9d with their URIs"
else not_ok "keys --json for PIV"; fi
run "$OB" keys
grep -q "piv:serial=$SERIAL;slot=9c  ECC P-384, generated on the card" "$D/out" &&
    ok "keys: the human listing names each slot's URI" || not_ok "keys listing"
run env PCSCLITE_CSOCK_NAME="$D/no-such.comm" "$OB" keys --json
if [ $RC -eq 0 ] && "$PY" -c 'import json,sys
s=[x for x in json.load(sys.stdin) if x["backend"]=="piv"][0]
assert s["state"]=="absent" and "pcscd is not reachable" in s["reason"], s' \
    <"$D/out"; then ok "keys: no pcscd is said plainly (absent), exit 0"
else not_ok "keys without pcscd"; fi

# --- no secret in any output ------------------------------------------------
cat "$D/card.log" "$D/card2.log" >>"$D/all" 2>/dev/null
leak=0
for s in "$PIN" "$MGM3" "$MGMAES"; do
	grep -q -i -- "$s" "$D/all" && leak=1
done
[ $leak = 0 ] && ok "no PIN or management key in any output ($(wc -l <"$D/all") lines)" ||
    not_ok "a secret appears in the output"

echo "$PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]
