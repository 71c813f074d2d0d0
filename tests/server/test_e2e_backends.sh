#!/bin/sh
# Every owner backend over the network (issue #13, acceptance 1): one
# dev-mode ownerbind-server; an owner key on each backend's real stand-in
# (file:, SoftHSM2, swtpm, the softfido CTAP2 authenticator, the vpiv card
# behind pcscd+vpcd), each enrolled for its own owner id; an agent-mediated
# envelope signed by each, submitted over mTLS with `ownerbind submit`;
# the WIT must name that agent, that owner and that key kind.  A backend
# whose stand-in cannot start is a failure, not a skip.
# Usage: test_e2e_backends.sh SERVER OWNERBIND FIDO2-TOOL VPIV PYTHON
# shellcheck disable=SC2015 # "A && B || C": B only assigns or prints
set -u
SRV=$1 OB=$2 FT=$3 VPIV=$4 PY=${5:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/server/srv-setup.sh"
CARD_PID='' TPM_STARTED='' PCSC_STARTED=''
# shellcheck disable=SC2317 # stop_pid and e2e_cleanup run from the EXIT trap
stop_pid() { [ -n "$1" ] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null; }
# The card and the fixtures, then srv-setup's cleanup (which removes $D).
# shellcheck disable=SC2317 # as stop_pid
e2e_cleanup() {
	trap - EXIT INT TERM
	stop_pid "$SP"; SP=
	stop_pid "$CARD_PID"
	[ -n "$PCSC_STARTED" ] && "$HERE/vpiv/pcscd-fixture.sh" stop "$D/pcsc"
	[ -n "$TPM_STARTED" ] && "$HERE/tpm2/swtpm-fixture.sh" stop "$D/tpm"
	[ "$fail" = 0 ] || { echo "--- server log"; tail -20 "$D/server.log"; }
	cleanup
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM
export HOME="$D" XDG_CACHE_HOME="$D/cache"
printf '48151623\n' > pin; chmod 600 pin
printf '123456\n' > pivpin; chmod 600 pivpin
printf '010203040506070801020304050607080102030405060708\n' > mgm; chmod 600 mgm

# The dev server keeps running: it is the server under test.
srv_dev_start server.log

# --- the stand-ins and one owner key on each --------------------------------
"$OB" keygen --key file:owner.pem >/dev/null || bad "file: keygen"

eval "$("$HERE/pkcs11/softhsm-fixture.sh" "$D/hsm" 48151623 56781234)" || bad "SoftHSM2 fixture"
P11="pkcs11:token=owner-test;object=e2e?module-path=$SOFTHSM_MODULE"
"$OB" keygen --key "$P11" --alg ES256 --pin-source file:pin >/dev/null ||
    bad "pkcs11: keygen"

mkdir -p tpm
eval "$("$HERE/tpm2/swtpm-fixture.sh" start "$D/tpm")" && TPM_STARTED=1 ||
    bad "swtpm fixture"
unset TSS2_TCTI
TPM="tpm2:file=$D/tpm-key.pem"
"$OB" keygen --key "$TPM" --alg ES256 --pin-source file:pin >/dev/null ||
    bad "tpm2: keygen"

FIDO="fido2:pub=$D/fido.json"
"$FT" --sf "a=$D/a.sf" init >/dev/null 2>&1 || bad "softfido init"
"$FT" --sf "a=$D/a.sf" keygen --key "$FIDO" >/dev/null 2>&1 || bad "fido2: keygen"

mkdir -p pcsc
eval "$("$HERE/vpiv/pcscd-fixture.sh" start "$D/pcsc")" && PCSC_STARTED=1 ||
    bad "pcscd fixture"
"$VPIV" --port "$VPCD_PORT" --state "$D/card.state" --serial 12345678 \
    --ca-out "$D/pivca.pem" >"$D/card.log" 2>&1 &
CARD_PID=$!
i=0
until yubico-piv-tool -r "$VPCD_READER" -a version >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { bad "vpiv card did not appear"; break; }
	sleep 0.1
done
PIV="piv:reader=$VPCD_READER;slot=9a"
"$OB" keygen --key "$PIV;mgmt-key-source=file:$D/mgm" --alg ES256 \
    --pin-source file:pivpin >/dev/null || bad "piv: keygen"
# The server's trust store learns the card vendor's attestation root.
"$PY" - "$TRUST" "$D/pivca.pem" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
t["piv_roots"] = [open(sys.argv[2]).read()]
json.dump(t, open(sys.argv[1], "w"), indent=2)
EOF

# --- enrol each for its own owner, reload ------------------------------------
for b in file pkcs11 tpm2 fido2 piv; do
	case $b in
	file) k=file:owner.pem ;; pkcs11) k=$P11 ;; tpm2) k=$TPM ;;
	fido2) k=$FIDO ;; piv) k=$PIV ;;
	esac
	ps=file:pin; [ $b = piv ] && ps=file:pivpin
	"$OB" enroll --key "$k" --owner "$b@example.org" \
	    --may-bind "wimse://example.org/$b/*" --trust "$TRUST" \
	    --pin-source $ps >enroll.out 2>&1 || bad "$b: enroll: $(cat enroll.out)"
done
srv_ready "$D/server.log"	# its signal handlers in place
kill -HUP "$SP"
sleep 0.5
grep -q '"detail":"trust store reloaded"' server.log || bad "trust store reload"

# --- one agent-mediated envelope per backend, over mTLS ----------------------
for b in file pkcs11 tpm2 fido2 piv; do
	sub="wimse://example.org/$b/agent"
	"$OB" request --sub "$sub" --aud "$AUD" --owner "$b@example.org" \
	    --agent-key "agent-$b.pem" --new-agent-key -o "req-$b.json" >/dev/null ||
	    { bad "$b: request"; continue; }
	case $b in
	file) "$OB" sign --key file:owner.pem -o "s-$b.json" "req-$b.json" ;;
	pkcs11) "$OB" sign --quiet --key "$P11" --pin-source file:pin \
	    -o "s-$b.json" "req-$b.json" ;;
	tpm2) "$OB" sign --quiet --key "$TPM" --pin-source file:pin \
	    -o "s-$b.json" "req-$b.json" ;;
	fido2) "$FT" --sf "a=$D/a.sf" sign --key "$FIDO" -o "s-$b.json" \
	    "req-$b.json" ;;
	piv) "$OB" sign --quiet --key "$PIV" --pin-source file:pivpin \
	    -o "s-$b.json" "req-$b.json" ;;
	esac >sign.out 2>&1 || { bad "$b: sign: $(cat sign.out)"; continue; }
	"$OB" pop --agent-key "agent-$b.pem" -o "e-$b.json" "s-$b.json" ||
	    { bad "$b: pop"; continue; }
	if ! "$OB" submit --server "$URL" --cert "$CERT" --key "$KEY" \
	    --ca "$CA" --wit "wit-$b.txt" \
	    --wic "wic-$b.pem" "e-$b.json" >submit.out 2>&1; then
		bad "$b: submit: $(cat submit.out)"
		continue
	fi
	kind=$b; [ $b = file ] && kind=software
	if "$PY" - "wit-$b.txt" "$sub" "$b@example.org" "$kind" <<'EOF'
import base64, json, sys
p = open(sys.argv[1]).read().strip().split(".")[1]
c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
o = c["urn:uuid:b880ac85-4c39-4d7c-9849-4aea4cbc60e5"]
assert c["sub"] == sys.argv[2], c["sub"]
assert o["id"] == sys.argv[3] and o["kind"] == sys.argv[4], o
assert o["model"] == "agent-mediated", o
EOF
	then
		ok "$b: signed, submitted over mTLS, credential names $b@example.org ($kind)"
	else
		bad "$b: credential claims"
	fi
	openssl verify -CAfile "$(J issuer_ca)" "wic-$b.pem" >/dev/null 2>&1 ||
	    bad "$b: openssl verify WIC"
done
grep -q 48151623 server.log && bad "the PIN appears in the server log"
exit $fail
