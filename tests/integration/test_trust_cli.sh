#!/bin/sh
# ownerbind trust: every action on a real trust store, each change checked
# through the verifier (ownerbind-verify) and refused changes leaving the
# file as it was (issue #19, point 4).
# Usage: test_trust_cli.sh OWNERBIND OWNERBIND_VERIFY
# shellcheck disable=SC2015 # "check && ok || no": ok and no only count and print
set -u
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
OB=$(abs "$1")
OBV=$(abs "$2")
PY=${OB_PYTHON:-/usr/bin/python3}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
cd "$D" || exit 1
fail=0
ok() { echo "ok   $*"; }
no() { fail=$((fail + 1)); echo "FAIL $*"; }
AUD=https://id.example
T=trust.json
# run WANT_EXIT DESCRIPTION -- command...
run() {
	want=$1 what=$2; shift 3
	"$@" >out.txt 2>err.txt; got=$?
	if [ "$got" = "$want" ]; then ok "$what"; else no "$what (exit $got, want $want): $(cat err.txt)"; fi
}
unchanged() {	# unchanged DESCRIPTION: the store is byte-equal to before
	if cmp -s "$T" before.json; then ok "$1: the store is unchanged"; else no "$1: the store changed"; fi
}
envelope() {	# envelope KEY OUT: a request for a1 signed by file key KEY
	"$OB" request --sub wimse://td.example/agents/a1 --aud $AUD --owner alice \
	    --agent-key agent.pem -o req.json 2>/dev/null &&
	"$OB" sign --quiet --key "file:$1" -o signed.json req.json &&
	"$OB" pop --agent-key agent.pem -o "$2" signed.json
}
verify() { "$OBV" --no-replay-state --trust $T --aud $AUD --json "$1" > v.json 2>&1; }
code() { grep -q "\"error\":\"$1\"" v.json; }

"$OB" keygen --key file:k1.pem --json > k1.json || exit 1
"$OB" keygen --key file:k2.pem >/dev/null || exit 1
"$OB" keygen --key file:k3.pem >/dev/null || exit 1
"$OB" request --sub wimse://td.example/agents/a1 --aud $AUD --owner alice \
    --agent-key agent.pem --new-agent-key -o /dev/null || exit 1
# -o into a device or a FIFO writes into it; renaming over it would
# replace /dev/null with a file (it did: every later "> /dev/null" then
# filled /dev and every "< /dev/null" read old output).
[ -c /dev/null ] || { echo "FAIL: -o /dev/null replaced /dev/null"; exit 1; }
mkfifo out.fifo || exit 1
cat out.fifo > fifo.json &
"$OB" request --sub wimse://td.example/agents/a1 --aud $AUD --owner alice \
    --agent-key agent.pem -o out.fifo || exit 1
wait
[ -p out.fifo ] && grep -q '"payload"' fifo.json ||
    { echo "FAIL: -o FIFO: not written through"; exit 1; }
mkdir out.dir || exit 1
if "$OB" request --sub wimse://td.example/agents/a1 --aud $AUD --owner alice \
    --agent-key agent.pem -o out.dir 2>/dev/null; then
	echo "FAIL: -o DIRECTORY accepted"; exit 1
fi
openssl pkey -in k2.pem -pubout -out k2.pub 2>/dev/null || exit 1
"$PY" -c "
import json; from jwcrypto import jwk
k = jwk.JWK.from_pem(open('k3.pem','rb').read())
json.dump(json.loads(k.export_public()), open('k3.jwk', 'w'))" || exit 1

# add-key from keygen --json, a PEM public key and a bare JWK; no token opened
run 0 "add-key from keygen --json" -- "$OB" trust add-key --trust $T --owner alice \
    --may-bind 'wimse://td.example/agents/*' --public k1.json
grep -q "added $(sed 's/.*"kid":"\([^"]*\)".*/\1/' k1.json) (software, ES256) for alice" out.txt &&
    ok "it says what it added" || no "add-key output: $(cat out.txt)"
run 0 "add-key from a PEM public key" -- "$OB" trust add-key --trust $T --owner alice \
    --may-bind 'wimse://td.example/agents/*' --public k2.pub --kind pkcs11
run 0 "add-key from a JWK, with a validity window" -- "$OB" trust add-key --trust $T \
    --owner alice --may-bind 'wimse://td.example/agents/*' --public k3.jwk \
    --not-before 1000000000 --not-after 1100000000
cp $T before.json
run 1 "the same key twice is refused" -- "$OB" trust add-key --trust $T --owner bob \
    --may-bind 'wimse://td.example/*' --public k2.pub
grep -q OB_ERR_KEY_EXISTS err.txt && ok "... with OB_ERR_KEY_EXISTS" || no "dup: $(cat err.txt)"
unchanged "a duplicate key"
run 2 "a missing option is named" -- "$OB" trust add-key --trust $T --owner alice --public k2.pub
grep -q 'trust add-key needs --may-bind' err.txt && ok "... on the first line" ||
    no "missing option: $(cat err.txt)"

envelope k1.pem e1.json && verify e1.json && ok "a key from keygen --json verifies" ||
    no "k1: $(cat v.json)"
envelope k2.pem e2.json && verify e2.json && grep -q '"owner_kind":"pkcs11"' v.json &&
    ok "a key from a PEM public key verifies, with its declared kind" || no "k2: $(cat v.json)"
envelope k3.pem e3.json; verify e3.json; code OB_ERR_OWNER_KEY_VALIDITY &&
    ok "a key outside its validity window is refused" || no "k3: $(cat v.json)"

run 0 "list" -- "$OB" trust list --trust $T
grep -q '^owner alice (user)' out.txt && grep -q 'until 1100000000' out.txt &&
    ok "list shows the owner and the validity window" || no "list: $(cat out.txt)"
run 1 "add-key with a private key as --public" -- "$OB" trust add-key \
    --trust $T --owner alice --may-bind 'wimse://td.example/*' --public k1.pem
grep -q 'OB_ERR_PUBLIC_KEY_FORM.*a private key: give its public key' err.txt &&
    grep -q 'openssl pkey -in KEY -pubout' err.txt &&
    ok "... is refused with a next step about public keys" ||
    no "private key as --public: $(cat err.txt)"
run 0 "list --at" -- "$OB" trust list --trust $T --at 1099999700
grep -q 'until 1100000000 = 2004-11-09T11:33:20Z (in 5m)' out.txt &&
    ok "list says when the window ends, relative to --at" ||
    no "list --at: $(cat out.txt)"
run 0 "list --json" -- "$OB" trust list --trust $T --json
"$PY" -c "import json,sys; d=json.load(open('out.txt')); sys.exit(len(d['owners'][0]['keys']) != 3)" &&
    ok "list --json is the store" || no "list --json"
K2=$("$PY" -c "import json; print([k['kid'] for k in json.load(open('$T'))['owners'][0]['keys'] if k['kind']=='pkcs11'][0])")
run 0 "show --kid" -- "$OB" trust show --trust $T --kid "$K2" --json
grep -q '"owner":"alice"' out.txt && ok "show --kid names the owner" || no "show: $(cat out.txt)"

# revoke: kept for the record, refused from --at on
run 0 "revoke-key" -- "$OB" trust revoke-key --trust $T --kid "$K2" --reason "token lost"
envelope k2.pem e2b.json; verify e2b.json; code OB_ERR_OWNER_KEY_REVOKED &&
    grep -q 'token lost' v.json && ok "a revoked key is refused, the reason in the detail" ||
    no "revoked: $(cat v.json)"
"$OB" trust list --trust $T | grep -q "REVOKED since .* (token lost)" &&
    ok "list shows the revocation" || no "list revoked"
envelope k1.pem e1b.json && verify e1b.json && ok "the owner's other key still verifies" ||
    no "k1 after revoke: $(cat v.json)"

# remove-key; the last key cannot go without its owner
K3=$("$PY" -c "import json; print([k['kid'] for k in json.load(open('$T'))['owners'][0]['keys'] if 'not_after' in k][0])")
run 0 "remove-key" -- "$OB" trust remove-key --trust $T --kid "$K3"
run 0 "remove-key" -- "$OB" trust remove-key --trust $T --kid "$K2"
cp $T before.json
K1=$(sed 's/.*"kid":"\([^"]*\)".*/\1/' k1.json)
run 1 "removing the owner's last key is refused" -- "$OB" trust remove-key --trust $T --kid "$K1"
grep -q 'remove-owner' err.txt && ok "... and says to use remove-owner" || no "last key: $(cat err.txt)"
unchanged "the last key"
run 1 "an unknown kid" -- "$OB" trust remove-key --trust $T --kid nosuchkid
grep -q OB_ERR_KEY_NOT_FOUND err.txt && ok "... OB_ERR_KEY_NOT_FOUND" || no "unknown kid"

# owners
run 0 "revoke-owner" -- "$OB" trust revoke-owner --trust $T --owner alice --reason "left" --at 1700000000
verify e1b.json; code OB_ERR_OWNER_REVOKED && ok "a revoked owner is refused" || no "owner revoked: $(cat v.json)"
run 0 "add-key for bob" -- "$OB" trust add-key --trust $T --owner bob --may-bind 'wimse://td.example/*' --public k2.pub
run 0 "remove-owner" -- "$OB" trust remove-owner --trust $T --owner alice
"$PY" -c "import json,sys; sys.exit([o['id'] for o in json.load(open('$T'))['owners']] != ['bob'])" &&
    ok "only bob is left" || no "remove-owner: $(cat $T)"

# gateways
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=acme-ca -keyout ca.key -out ca.pem 2>/dev/null || exit 1
run 0 "add-gateway" -- "$OB" trust add-gateway --trust $T --id gw.acme --owner org:acme \
    --ca ca.pem --alg ES256 --proxy proxy-1 --proxy proxy-2 --trust-domain td.example \
    --may-bind 'wimse://td.example/*' --kind pkcs11 --require-eku
"$PY" -c "
import json,sys; g=json.load(open('$T'))['gateways'][0]
sys.exit(not (g['proxies']==['proxy-1','proxy-2'] and g['kind']=='pkcs11' and g['require_eku'] is True))" &&
    ok "the gateway entry has its proxies, kind and EKU rule" || no "gateway: $(cat $T)"
cp $T before.json
printf 'not a certificate\n' > junk.pem
run 1 "a gateway CA that is not a certificate is refused" -- "$OB" trust add-gateway --trust $T \
    --id gw2 --owner org:acme --ca junk.pem --alg ES256 --proxy p --trust-domain td.example \
    --may-bind 'wimse://td.example/*'
unchanged "a bad gateway CA"
run 1 "a gateway kind the verifier does not know is refused" -- "$OB" trust add-gateway --trust $T \
    --id gw2 --owner org:acme --ca ca.pem --alg ES256 --proxy p --trust-domain td.example \
    --may-bind 'wimse://td.example/*' --kind hsm
unchanged "an unknown gateway kind"
run 0 "remove-gateway" -- "$OB" trust remove-gateway --trust $T --id gw.acme

# PIV roots and TPM attestation keys
run 0 "add-piv-root" -- "$OB" trust add-piv-root --trust $T --cert ca.pem
"$PY" -c "import json,sys; sys.exit(len(json.load(open('$T'))['piv_roots']) != 1)" &&
    ok "the root is in piv_roots" || no "piv root"
run 0 "remove-piv-root" -- "$OB" trust remove-piv-root --trust $T --cert ca.pem
"$PY" -c "import json,sys; sys.exit('piv_roots' in json.load(open('$T')))" &&
    ok "piv_roots is gone with its last root" || no "piv root removal"
sed 's/"kind":"software"/"kind":"tpm2-ak"/; s/,"alg":"ES256"//; s/,"uri":"[^"]*"//' k1.json > ak.json
run 0 "add-ak" -- "$OB" trust add-ak --trust $T --ak ak.json
run 0 "remove-ak" -- "$OB" trust remove-ak --trust $T --kid "$K1"

# concurrent edits: the lock serialises them, none is lost
for i in 4 5 6 7 8 9; do "$OB" keygen --key "file:k$i.pem" --json > "k$i.json" || exit 1; done
for i in 4 5 6 7 8 9; do
	"$OB" trust add-key --trust $T --owner "o$i" --may-bind 'wimse://td.example/*' \
	    --public "k$i.json" >/dev/null 2>&1 &
done
wait
"$PY" -c "import json,sys; sys.exit(len(json.load(open('$T'))['owners']) != 7)" &&
    ok "six concurrent add-key: all six landed" || no "concurrent: $(cat $T)"
"$OBV" --no-replay-state --trust $T --aud $AUD /dev/null 2>&1 | grep -q OB_ERR_TRUST && no "the store does not load" ||
    ok "the store loads in the verifier"
echo "trust cli: $fail failed"
[ "$fail" -eq 0 ]
