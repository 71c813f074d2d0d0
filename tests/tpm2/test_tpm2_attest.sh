#!/bin/sh
# ownerbind attest (TPM2_Certify with the verifier's nonce) checked by the
# verifier's code: fresh nonce accepted; a stale or wrong nonce, another
# key's certify and an untrusted attestation key each rejected with their
# own code.  Usage: test_tpm2_attest.sh OWNERBIND VERIFY CHECK
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
OWNERBIND=$1 VERIFY=$2 CHECK=$3
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
printf '1234\n' >pin
chmod 600 pin
nonce() { $VERIFY --state "$T/state.db" --issue-nonce; }
check() {	# WANT EVIDENCE AK KEY NONCE
	want=$1
	shift
	got=$("$CHECK" "$@" || true)
	case $got in
	"$want"*) ok "$want" ;;
	*) not_ok "want $want, got $got" ;;
	esac
}

$OWNERBIND attest --create-ak --ak tpm2:handle=0x81010001 -o ak.json
$OWNERBIND attest --create-ak --ak "tpm2:file=$T/ak2.pem" -o ak2.json
$OWNERBIND attest --show-ak --ak tpm2:handle=0x81010001 -o ak.show.json
cmp -s ak.json ak.show.json && ok "--show-ak repeats the AK entry" ||
    not_ok "--show-ak differs"
for alg in ES256 ES384 PS256; do
	$OWNERBIND keygen --key "tpm2:file=$T/$alg.pem" --alg $alg --json \
	    >$alg.json
	n=$(nonce)
	$OWNERBIND attest --key "tpm2:file=$T/$alg.pem" \
	    --ak tpm2:handle=0x81010001 --nonce "$n" -o ev-$alg.json
	check OB_OK ev-$alg.json ak.json $alg.json "$n"
done
n1=$(nonce)
n2=$(nonce)
$OWNERBIND attest --key "tpm2:file=$T/ES256.pem" --ak tpm2:handle=0x81010001 \
    --nonce "$n1" -o ev1.json
# Stale or wrong nonce.
check OB_ERR_ATTEST_NONCE ev1.json ak.json ES256.json "$n2"
# Another key's certify presented for this key.
check OB_ERR_ATTEST_KEY_MISMATCH ev-ES384.json ak.json ES256.json \
    "$(grep -o '"nonce":"[^"]*"' ev-ES384.json | cut -d'"' -f4)"
# This key's certify with another key's TPMT_PUBLIC swapped in.
sed "s/\"public\":\"[^\"]*\"/$(grep -o '"public":"[^"]*"' ev-PS256.json)/" \
    ev1.json >swap.json
check OB_ERR_ATTEST_KEY_MISMATCH swap.json ak.json ES256.json "$n1"
# Certified by an attestation key the verifier does not trust.
$OWNERBIND attest --key "tpm2:file=$T/ES256.pem" --ak "tpm2:file=$T/ak2.pem" \
    --nonce "$n1" -o ev-untrusted.json
check OB_ERR_ATTEST_UNTRUSTED ev-untrusted.json ak.json ES256.json "$n1"
# One altered byte of the attestation.
a=$(grep -o '"attest":"[^"]*"' ev1.json | cut -d'"' -f4)
b=$(printf '%s' "$a" | sed 's/^\(.\{20\}\)./\1A/')
[ "$a" != "$b" ] || b=$(printf '%s' "$a" | sed 's/^\(.\{20\}\)./\1B/')
sed "s/$a/$b/" ev1.json >tamper.json
check OB_ERR_ATTEST_UNTRUSTED tamper.json ak.json ES256.json "$n1"
# A key with an auth value is attested with it.
$OWNERBIND keygen --key "tpm2:file=$T/pinned.pem;auth=yes" \
    --pin-source file:pin --json >pinned.json
$OWNERBIND attest --key "tpm2:file=$T/pinned.pem;auth=yes" \
    --ak tpm2:handle=0x81010001 --nonce "$n1" --pin-source file:pin \
    -o ev-pinned.json
check OB_OK ev-pinned.json ak.json pinned.json "$n1"
# The attestation key cannot sign envelopes (restricted), and a signing
# key cannot serve as attestation key.
$OWNERBIND request --sub $SUB --aud $AUD --owner alice \
    --agent-key agent.pem --new-agent-key -o req.json
expect OB_ERR_KEY_NO_SIGN "$OWNERBIND" sign --quiet \
    --key tpm2:handle=0x81010001 req.json
expect OB_ERR_KEY_TYPE "$OWNERBIND" attest --key "tpm2:file=$T/ES256.pem" \
    --ak "tpm2:file=$T/ES384.pem" --nonce "$n1"
[ "$(transient_count)" = 0 ] && ok "no transient handle left" ||
    not_ok "transient handles left"
finish
