#!/bin/sh
# test_issuer_p11.sh OWNERBIND TEST_ISSUER: the credential issuer with its
# key in SoftHSM2 (pkcs11:).  The key is generated on the token by
# `ownerbind keygen`; its issuer CA certificate is made by `openssl x509
# -new -force_pubkey` under a software root; test_issuer's env case then
# issues from a real verdict and runs tests/server/check_cred.py.
# Exit 0 = passed, 1 = failed, 77 = skipped.
set -u
OB=${1:?}; TI=${2:?}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${OB_PYTHON:-/usr/bin/python3}
UPIN='Iss-9Pin-Tk'
SOPIN='So-Pin-41Qx'
for t in softhsm2-util openssl; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t"; exit 77; }
done
D=$(mktemp -d /tmp/issuer-p11.XXXXXX) || exit 1
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$D/out" 2>/dev/null >&2; exit 1; }
eval "$("$HERE/../pkcs11/softhsm-fixture.sh" "$D/hsm" "$UPIN" "$SOPIN")" ||
	fail "SoftHSM2 fixture"
printf '%s\n' "$UPIN" >"$D/pin"; chmod 600 "$D/pin"
U="pkcs11:token=owner-test;object=issuer?module-path=$SOFTHSM_MODULE&pin-source=file:$D/pin"

"$OB" keygen --key "$U" --alg ES256 --json >"$D/key.json" 2>"$D/out" ||
	fail "keygen on the token"
"$PY" -c '
import json, sys
from jwcrypto import jwk
d = json.load(open(sys.argv[1]))
k = d.get("jwk") or d["key"]["jwk"]
open(sys.argv[2], "wb").write(jwk.JWK(**k).export_to_pem())
' "$D/key.json" "$D/pub.pem" >"$D/out" 2>&1 || fail "public key from keygen"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$D/root.key" -out "$D/root.pem" -days 2 \
    -subj '/O=ownerbind test/CN=root' >"$D/out" 2>&1 || fail "root CA"
cat >"$D/ext.cnf" <<CNF
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
CNF
openssl x509 -new -subj '/O=ownerbind test/CN=HSM issuer CA' \
    -force_pubkey "$D/pub.pem" -CA "$D/root.pem" -CAkey "$D/root.key" \
    -extfile "$D/ext.cnf" -days 2 -out "$D/issuer.pem" >"$D/out" 2>&1 ||
	fail "issuer CA certificate for the token key"
cat "$D/issuer.pem" "$D/root.pem" >"$D/chain.pem"
OB_ISSUER_URI=$U OB_ISSUER_CHAIN=$D/chain.pem OB_ISSUER_ROOT=$D/root.pem \
    "$TI" >"$D/out" 2>&1 || fail "test_issuer with the pkcs11: issuer key"
grep -q 'OK \] test_env_issuer' "$D/out" || fail "the pkcs11 case did not run"
! grep -q -- "$UPIN" "$D/out" || fail "the PIN appeared in the output"
echo "ok - pkcs11: issuer key: WIT and WIC issued and independently checked"
