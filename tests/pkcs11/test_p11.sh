#!/bin/sh
# test_p11.sh MODE OWNERBIND VERIFY FAULTMOD [POOLTEST]
#   MODE: roundtrip | interop | negative | pool
# Integration tests of the pkcs11: backend against SoftHSM2 in a private
# token directory, through the real ownerbind and ownerbind-verify
# binaries, cross-checked with pkcs11-tool, openssl and python3-jwcrypto.
# FAULTMOD is tests/pkcs11/p11fault.so (a wrapper module around SoftHSM2).
# Exit 0 = passed, 1 = failed, 77 = skipped.
# shellcheck disable=SC2086 # $S, $P, $k, $OB_POOL_WRAP: word lists, split on purpose
set -u

MODE=${1:?}; OB=${2:?}; OBV=${3:?}; FAULT=${4:?}; POOLTEST=${5:-}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${OB_PYTHON:-/usr/bin/python3}
UPIN='Qz7-owner-Pin'		# never hex: must not turn up in any output
WPIN='Wr0ng-Pin-Xy'
SOPIN='So-Pin-88Zk'

skip() { echo "SKIP: $*"; exit 77; }
for t in softhsm2-util pkcs11-tool openssl; do
	command -v $t >/dev/null 2>&1 || skip "$t not installed"
done

D=$(mktemp -d /tmp/p11-test.XXXXXX) || exit 1
NCHECK=0
cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	[ $rc -ne 0 ] && { echo "--- last output"; cat "$D/out" 2>/dev/null; }
	rm -rf "$D"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { NCHECK=$((NCHECK + 1)); echo "ok $NCHECK - $*"; }
# run CMD...: output in $D/out (also appended to $D/all), status in $RC
run() { "$@" >"$D/out" 2>&1; RC=$?; cat "$D/out" >>"$D/all"; }
must() { desc=$1; shift; run "$@"; [ $RC -eq 0 ] || fail "$desc (exit $RC)"; }
must_fail() { desc=$1; shift; run "$@"; [ $RC -ne 0 ] || fail "$desc: succeeded"; }
has() { grep -q -- "$1" "$D/out" || fail "output lacks '$1'"; }

eval "$("$HERE/softhsm-fixture.sh" "$D/hsm" "$UPIN" "$SOPIN")" ||
	fail "SoftHSM2 fixture"
M=$SOFTHSM_MODULE
printf '%s\n' "$UPIN" >"$D/pin"; chmod 600 "$D/pin"
printf '%s\n' "$WPIN" >"$D/wpin"; chmod 600 "$D/wpin"
export HOME="$D" P11PIN="$UPIN"	# pkcs11-tool reads --pin env:P11PIN
p11() { pkcs11-tool --module "$M" "$@"; }
TRUST=$D/trust.json
AUD=https://id.example
SUB=wimse://td.example/agents/a1

# Slot ids after init are derived from serials: none is 0.
run softhsm2-util --show-slots
! grep -q '^Slot 0$' "$D/out" || fail "a token sits in slot 0"

uri() {	# uri OBJECT [EXTRA-PATH] [QUERY]: a key on owner-test
	echo "pkcs11:token=owner-test;object=$1${2:+;$2}?module-path=$M${3:+&$3}"
}

# sign_verify URI TAG: request, owner signature, pop, ownerbind-verify.
sign_verify() {
	must "request $2" "$OB" request --sub "$SUB" --aud "$AUD" \
	    --owner alice --agent-key "$D/agent-$2.pem" --new-agent-key \
	    -o "$D/req-$2.json"
	must "sign $2" "$OB" sign --quiet --key "$1" --pin-source "file:$D/pin" \
	    -o "$D/signed-$2.json" "$D/req-$2.json"
	must "pop $2" "$OB" pop --agent-key "$D/agent-$2.pem" \
	    -o "$D/env-$2.json" "$D/signed-$2.json"
	must "verify $2" "$OBV" --no-replay-state --trust "$TRUST" --aud "$AUD" "$D/env-$2.json"
	has accepted
	has "(pkcs11, "
}

enroll() {
	must "enroll $2" "$OB" enroll --key "$1" --owner alice \
	    --may-bind 'wimse://td.example/agents/*' --trust "$TRUST" \
	    --pin-source "file:$D/pin"
}

no_pin_anywhere() {
	! grep -q -- "$UPIN" "$D/all" || fail "the user PIN appeared in output"
	! grep -q -- "$WPIN" "$D/all" || fail "a wrong PIN appeared in output"
	ok "no PIN in any output ($(wc -l <"$D/all") lines checked)"
}

# ---------------------------------------------------------------------
roundtrip() {
	for alg in ES256 ES384 EdDSA PS256; do
		U=$(uri "owner-$alg")
		must "keygen $alg" "$OB" keygen --key "$U" --alg $alg \
		    --pin-source "file:$D/pin"
		has "alg   $alg"
		must "pkcs11-tool lists $alg" p11 --token-label owner-test \
		    --login --pin env:P11PIN -O --label "owner-$alg" \
		    --type privkey
		has "sensitive"; has "never extractable"; has "sign"
		enroll "$U" "$alg"
		sign_verify "$U" "$alg"
		ok "$alg: keygen on token, enroll, sign, pop, ownerbind-verify accepts"
	done
	must_fail "keygen over an existing label" "$OB" keygen \
	    --key "$(uri owner-ES256)" --pin-source "file:$D/pin"
	has OB_ERR_KEY_EXISTS
	ok "keygen refuses an existing label (OB_ERR_KEY_EXISTS)"

	# Other ways to name the same key: serial=, id=, module-name via
	# p11-kit's configuration, pin-source in the URI, PIN from env/fd.
	SERIAL=$(p11 -L | awk '/token label/ {l=$NF} /serial num/ && l=="owner-test" {print $NF}')
	ID=$(p11 --token-label owner-test --login --pin env:P11PIN \
	    -O --type privkey | awk '/label:/ {l=$2} /ID:/ && l=="owner-ES256" {print $2; exit}')
	PID=$(echo "$ID" | sed 's/../%&/g')
	U2="pkcs11:serial=$SERIAL;id=$PID;type=private?module-name=softhsm2&pin-source=file:$D/pin"
	must "sign by serial+id, module-name, URI pin-source" "$OB" sign \
	    --quiet --key "$U2" -o "$D/s2.json" "$D/req-ES256.json"
	OWNERBIND_PIN_SOURCE=env:OBPIN OBPIN=$UPIN run "$OB" sign --quiet \
	    --key "$(uri owner-ES384)" -o "$D/s3.json" "$D/req-ES384.json"
	[ $RC -eq 0 ] || fail "PIN from env: (exit $RC)"
	run "$OB" sign --quiet --key "$(uri owner-EdDSA)" --pin-source fd:7 \
	    -o "$D/s4.json" "$D/req-EdDSA.json" 7<"$D/pin"
	[ $RC -eq 0 ] || fail "PIN from fd: (exit $RC)"
	ok "serial=+id=, module-name (p11-kit config), pin-source in URI, env: and fd: PINs"

	# ownerbind keys: the tokens of p11-kit's modules (SoftHSM2's
	# among them) and the keys they show without a login; the URI it
	# prints signs.
	must "keys --json" "$OB" keys --json
	cat >"$D/keys.py" <<'CHECK'
import json, sys
s = [x for x in json.load(sys.stdin) if x["backend"] == "pkcs11"][0]
assert s["state"] == "found", s
t = [t for t in s["items"] if t["token"] == "owner-test"]
assert len(t) == 1 and t[0]["login_required"], s
k = {(x["label"], x["class"]): x for x in t[0]["keys"]}
for alg, typ in (("ES256", "EC"), ("ES384", "EC"), ("PS256", "RSA"),
                 ("EdDSA", "EdDSA")):
    assert k[("owner-" + alg, "public")]["type"] == typ, k
assert all(x["uri"].startswith("pkcs11:") and "type=" not in x["uri"]
           for x in k.values()), k
print(k[("owner-ES256", "public")]["uri"])
CHECK
	"$PY" "$D/keys.py" <"$D/out" >"$D/keyuri" || fail "keys --json: $(cat "$D/out")"
	must "sign with the URI keys printed" "$OB" sign --quiet \
	    --key "$(cat "$D/keyuri")" --pin-source "file:$D/pin" \
	    -o "$D/s5.json" "$D/req-ES256.json"
	must "keys --module" "$OB" keys --module "$M"
	has 'token "owner-test"'
	has 'public  EC    pkcs11:'
	ok "keys lists the SoftHSM2 tokens and keys, and its URI signs"
	run "$OB" keys --json --module "$D/no-such-module.so"
	if [ $RC -ne 1 ] || ! grep -q '"state":"error"' "$D/out" ||
	    ! grep -q OB_ERR_MODULE_LOAD "$D/out"; then
		fail "keys with a named module that does not load: exit $RC"
	fi
	ok "a --module that does not load is an error (exit 1), not absence"
	no_pin_anywhere
}

# ---------------------------------------------------------------------
interop() {
	# 1. Keys made by pkcs11-tool sign through ownerbind.
	must "pkcs11-tool EC keygen" p11 --token-label owner-test --login \
	    --pin env:P11PIN --keypairgen --key-type EC:prime256v1 \
	    --id 0a01 --label tool-ec --usage-sign
	must "pkcs11-tool Ed25519 keygen" p11 --token-label owner-test --login \
	    --pin env:P11PIN --keypairgen --key-type EC:edwards25519 \
	    --id 0a02 --label tool-ed --usage-sign
	must "pkcs11-tool RSA keygen" p11 --token-label owner-test --login \
	    --pin env:P11PIN --keypairgen --key-type rsa:2048 \
	    --id 0a03 --label tool-rsa --usage-sign
	for k in "tool-ec;id=%0a%01 ES256" "tool-ed;id=%0a%02 EdDSA" \
	    "tool-rsa;id=%0a%03 PS256"; do
		set -- $k
		U=$(uri "$1")
		enroll "$U" "$2-tool"
		sign_verify "$U" "$2-tool"
		ok "pkcs11-tool's $2 key signs through ownerbind; ownerbind-verify accepts"
	done

	# A CKA_ALWAYS_AUTHENTICATE key (pkcs11-tool --always-auth): signing
	# needs a context-specific login (user type 2) after C_SignInit.
	must "pkcs11-tool always-auth keygen" p11 --token-label owner-test \
	    --login --pin env:P11PIN --keypairgen --key-type EC:prime256v1 \
	    --id 0a04 --label tool-aa --usage-sign --always-auth
	has "always authenticate"
	enroll "$(uri tool-aa)" ES256-aa
	must "request aa" "$OB" request --sub "$SUB" --aud "$AUD" \
	    --owner alice --agent-key "$D/agent-aa.pem" --new-agent-key \
	    -o "$D/req-aa.json"
	must "sign with an always-authenticate key" env P11FAULT_MODULE="$M" \
	    P11FAULT_LOG="$D/login.log" "$OB" sign --quiet \
	    --key "pkcs11:token=owner-test;object=tool-aa?module-path=$FAULT" \
	    --pin-source "file:$D/pin" -o "$D/signed-aa.json" "$D/req-aa.json"
	grep -q "C_Login user=1 rv=0x0" "$D/login.log" || fail "no user login"
	grep -q "C_Login user=2 rv=0x0" "$D/login.log" ||
		fail "no context-specific login"
	must "pop aa" "$OB" pop --agent-key "$D/agent-aa.pem" \
	    -o "$D/env-aa.json" "$D/signed-aa.json"
	must "verify aa" "$OBV" --no-replay-state --trust "$TRUST" --aud "$AUD" "$D/env-aa.json"
	has accepted
	ok "CKA_ALWAYS_AUTHENTICATE key: user login, then context-specific login per signature; verify accepts"

	# 2. Keys made by ownerbind sign through pkcs11-tool; openssl verifies.
	"$PY" -c 'import jwcrypto' 2>/dev/null ||
		skip "python3-jwcrypto missing for $PY"
	printf 'signed by pkcs11-tool with an ownerbind key\n' >"$D/data"
	openssl dgst -sha256 -binary "$D/data" >"$D/data.sha256"
	for alg in ES256 EdDSA PS256; do
		"$OB" keygen --key "$(uri "ob-$alg")" --alg $alg \
		    --pin-source "file:$D/pin" --json >"$D/kg-$alg.json" \
		    2>"$D/out" || fail "ownerbind keygen $alg"
		cat "$D/kg-$alg.json" "$D/out" >>"$D/all"
		# The public key as ownerbind reported it (JWK), as PEM.
		must "JWK to PEM" "$PY" -c 'import json,sys
from jwcrypto import jwk
j = json.load(open(sys.argv[1]))["jwk"]
open(sys.argv[2], "wb").write(jwk.JWK(**j).export_to_pem())' \
		    "$D/kg-$alg.json" "$D/pub-$alg.pem"
		KID=$(p11 --token-label owner-test --login --pin env:P11PIN \
		    -O --type privkey | awk -v l="ob-$alg" \
		    '/label:/ {n=$2} /ID:/ && n==l {print $2; exit}')
		P="--token-label owner-test --login --pin env:P11PIN --sign --id $KID"
		case $alg in
		ES256)
			must "pkcs11-tool signs ES256" p11 $P -m ECDSA \
			    --signature-format openssl -i "$D/data.sha256" \
			    -o "$D/sig-$alg"
			must "openssl verifies ES256" openssl dgst -sha256 \
			    -verify "$D/pub-$alg.pem" -signature "$D/sig-$alg" \
			    "$D/data" ;;
		EdDSA)
			must "pkcs11-tool signs EdDSA" p11 $P -m EDDSA \
			    -i "$D/data" -o "$D/sig-$alg"
			must "openssl verifies EdDSA" openssl pkeyutl -verify \
			    -pubin -inkey "$D/pub-$alg.pem" -rawin \
			    -in "$D/data" -sigfile "$D/sig-$alg" ;;
		PS256)
			must "pkcs11-tool signs PS256" p11 $P -m RSA-PKCS-PSS \
			    --hash-algorithm SHA256 --mgf MGF1-SHA256 \
			    --salt-len 32 -i "$D/data.sha256" -o "$D/sig-$alg"
			must "openssl verifies PS256" openssl dgst -sha256 \
			    -sigopt rsa_padding_mode:pss -sigopt \
			    rsa_pss_saltlen:32 -verify "$D/pub-$alg.pem" \
			    -signature "$D/sig-$alg" "$D/data" ;;
		esac
		has "Verified"
		ok "ownerbind's $alg key signs through pkcs11-tool; openssl verifies"
	done

	# 3. The ES256 owner entry verifies with python3-jwcrypto.
	"$PY" -c 'import jwcrypto' 2>/dev/null ||
		skip "python3-jwcrypto missing for $PY"
	enroll "$(uri ob-ES256)" ES256
	sign_verify "$(uri ob-ES256)" ES256
	must "jwcrypto verifies the owner entry" "$PY" - "$D/env-ES256.json" \
	    "$TRUST" <<'PYEOF'
import json, sys
from jwcrypto import jwk, jws
env = json.load(open(sys.argv[1]))
trust = json.load(open(sys.argv[2]))
keys = {k["kid"]: k for o in trust["owners"] for k in o["keys"]}
done = 0
for s in env["signatures"]:
    one = dict(s, payload=env["payload"])	# flattened serialization
    tok = jws.JWS()
    tok.deserialize(json.dumps(one))
    hdr = tok.jose_header
    if hdr["ob_role"] != "owner":
        continue
    assert hdr["alg"] == "ES256", hdr
    tok.verify(jwk.JWK(**keys[hdr["kid"]]["jwk"]), alg="ES256")
    done += 1
assert done == 1
print("jwcrypto: owner ES256 entry verified")
PYEOF
	has "jwcrypto: owner ES256 entry verified"
	ok "the ES256 owner entry verifies with python3-jwcrypto"
	no_pin_anywhere
}

# ---------------------------------------------------------------------
expect() {	# expect CODE PATTERN DESC CMD...: fails with CODE, says PATTERN
	code=$1; pat=$2; desc=$3; shift 3
	must_fail "$desc" "$@"
	has "$code"; has "$pat"
	ok "$desc: $code ($pat)"
}

negative() {
	must "keygen" "$OB" keygen --key "$(uri neg)" --pin-source "file:$D/pin"
	must "request" "$OB" request --sub "$SUB" --aud "$AUD" --owner alice \
	    --agent-key "$D/agent.pem" --new-agent-key -o "$D/req.json"
	S="sign --quiet -o $D/x.json"

	expect OB_ERR_PIN_INCORRECT CKR_PIN_INCORRECT "wrong PIN (SoftHSM2)" \
	    "$OB" $S --key "$(uri neg)" --pin-source "file:$D/wpin" "$D/req.json"
	has "CKF_USER_PIN_COUNT_LOW"

	# SoftHSM2 never locks a PIN (it sets COUNT_LOW only, whatever the
	# count), so a retry counter of 3 is emulated by p11fault.
	FU="pkcs11:token=owner-test;object=neg?module-path=$FAULT"
	export P11FAULT_MODULE="$M" P11FAULT_PIN_TRIES=3 P11FAULT_STATE=$D/tries
	expect OB_ERR_PIN_INCORRECT "running low" "wrong PIN, 2 tries left" \
	    "$OB" $S --key "$FU" --pin-source "file:$D/wpin" "$D/req.json"
	expect OB_ERR_PIN_INCORRECT "1 try left" "wrong PIN, final try next" \
	    "$OB" $S --key "$FU" --pin-source "file:$D/wpin" "$D/req.json"
	expect OB_ERR_PIN_BLOCKED "now locked" "wrong PIN on the final try" \
	    "$OB" $S --key "$FU" --pin-source "file:$D/wpin" "$D/req.json"
	expect OB_ERR_PIN_BLOCKED CKF_USER_PIN_LOCKED "locked PIN, right PIN given" \
	    "$OB" $S --key "$FU" --pin-source "file:$D/pin" "$D/req.json"
	unset P11FAULT_PIN_TRIES P11FAULT_STATE

	expect OB_ERR_MODULE_LOAD /nonexistent "missing module (module-path)" \
	    "$OB" $S --key "pkcs11:token=owner-test;object=neg?module-path=/nonexistent/libnone.so" \
	    --pin-source "file:$D/pin" "$D/req.json"
	expect OB_ERR_MODULE_LOAD "no module named" "missing module (module-name)" \
	    "$OB" $S --key "pkcs11:token=owner-test;object=neg?module-name=nonesuch" \
	    --pin-source "file:$D/pin" "$D/req.json"
	expect OB_ERR_TOKEN_ABSENT "tokens present" "missing token" \
	    "$OB" $S --key "pkcs11:token=no-such-token;object=neg?module-path=$M" \
	    --pin-source "file:$D/pin" "$D/req.json"
	expect OB_ERR_KEY_NOT_FOUND "no private key" "missing key" \
	    "$OB" $S --key "$(uri no-such-key)" --pin-source "file:$D/pin" \
	    "$D/req.json"
	expect OB_ERR_KEY_AMBIGUOUS "matches 2 tokens" "ambiguous token" \
	    "$OB" $S --key "pkcs11:token=twin;object=neg?module-path=$M" \
	    --pin-source "file:$D/pin" "$D/req.json"
	for id in 01 02; do
		must "pkcs11-tool keygen dup $id" p11 --token-label owner-test \
		    --login --pin env:P11PIN --keypairgen \
		    --key-type EC:prime256v1 --id "$id" --label dup --usage-sign
	done
	expect OB_ERR_KEY_AMBIGUOUS "id=%01" "ambiguous key (two keys labelled dup)" \
	    "$OB" $S --key "$(uri dup)" --pin-source "file:$D/pin" "$D/req.json"
	has "id=%02"
	must "dup;id=%02 is unique" "$OB" $S --key "$(uri dup id=%02)" \
	    --pin-source "file:$D/pin" "$D/req.json"

	must "keygen EdDSA" "$OB" keygen --key "$(uri neg-ed)" --alg EdDSA \
	    --pin-source "file:$D/pin"
	expect OB_ERR_MECH_UNSUPPORTED CKM_EDDSA \
	    "unsupported mechanism (token without CKM_EDDSA)" \
	    env P11FAULT_HIDE_MECHS=0x1057 "$OB" $S \
	    --key "pkcs11:token=owner-test;object=neg-ed?module-path=$FAULT" \
	    --pin-source "file:$D/pin" "$D/req.json"
	expect OB_ERR_MECH_UNSUPPORTED \
	    CKM_EC_EDWARDS_KEY_PAIR_GEN "keygen of an unsupported key type" \
	    env P11FAULT_HIDE_MECHS=0x1055 "$OB" keygen --alg EdDSA \
	    --key "pkcs11:token=owner-test;object=neg-ed2?module-path=$FAULT" \
	    --pin-source "file:$D/pin"

	# pkcs11-tool cannot ask for CKA_SIGN false and SoftHSM2 defaults to
	# true, so p11fault rewrites the template on its way to SoftHSM2.
	must "a key with CKA_SIGN false" env P11FAULT_NO_SIGN=1 \
	    P11FAULT_MODULE="$M" pkcs11-tool --module "$FAULT" \
	    --token-label owner-test --login --pin env:P11PIN --keypairgen \
	    --key-type EC:prime256v1 --id 0b --label nosign --usage-derive
	must "pkcs11-tool shows it" p11 --token-label owner-test --login \
	    --pin env:P11PIN -O --type privkey --label nosign
	! grep -A3 nosign "$D/out" | grep -q "Usage:.*sign," ||
		fail "the nosign key can sign"
	expect OB_ERR_KEY_NO_SIGN "CKA_SIGN false" "key without CKA_SIGN" \
	    "$OB" $S --key "$(uri nosign)" --pin-source "file:$D/pin" "$D/req.json"

	# A token that lies: bad signatures, short ones, points off the curve.
	FN="pkcs11:token=owner-test;object=neg?module-path=$FAULT"
	expect OB_ERR_TOKEN_SIG_BAD OB_ERR_SIG_INVALID \
	    "token returns a wrong signature" env P11FAULT_CORRUPT_SIG=1 "$OB" $S --key "$FN" \
	    --pin-source "file:$D/pin" "$D/req.json"
	expect OB_ERR_TOKEN_SIG_BAD "returned 63 bytes" \
	    "token returns a short signature" env P11FAULT_SHORT_SIG=1 "$OB" $S --key "$FN" \
	    --pin-source "file:$D/pin" "$D/req.json"
	expect OB_ERR_JWK_INVALID "not on the curve" \
	    "token returns a point off the curve" env P11FAULT_BAD_POINT=1 "$OB" $S --key "$FN" \
	    --pin-source "file:$D/pin" "$D/req.json"

	# URIs that must not be accepted.
	expect OB_ERR_KEY_URI pin-value "PIN in the URI" "$OB" $S \
	    --key "$(uri neg "" "pin-value=$UPIN")" "$D/req.json"
	expect OB_ERR_KEY_URI slot-id "slot index in the URI" "$OB" $S \
	    --key "$(uri neg slot-id=1)" --pin-source "file:$D/pin" "$D/req.json"
	expect OB_ERR_KEY_URI "token= or" "URI without a token" "$OB" $S \
	    --key "pkcs11:object=neg?module-path=$M" --pin-source "file:$D/pin" \
	    "$D/req.json"
	expect OB_ERR_KEY_URI "object= or id=" "URI without a key" "$OB" $S \
	    --key "pkcs11:token=owner-test?module-path=$M" \
	    --pin-source "file:$D/pin" "$D/req.json"
	# The PIN in pin-value must not be echoed back either.
	no_pin_anywhere
}

# ---------------------------------------------------------------------
pool() {
	[ -x "$POOLTEST" ] || fail "no pool test program"
	must "keygen" "$OB" keygen --key "$(uri pool)" --pin-source "file:$D/pin"
	export P11FAULT_MODULE="$M"
	must "pool survives reset, removal, finalize, fork" ${OB_POOL_WRAP:-} \
	    "$POOLTEST" \
	    "pkcs11:token=owner-test;object=pool?module-path=$FAULT&pin-source=file:$D/pin" \
	    "$FAULT"
	cat "$D/out"
	ok "pool: $(head -1 "$D/out")"
	no_pin_anywhere
}

case $MODE in
roundtrip|interop|negative|pool) $MODE ;;
*) fail "unknown mode $MODE" ;;
esac
echo "all $NCHECK checks passed"
