#!/bin/sh
# Wrong auth values count down to dictionary-attack lockout; in lockout
# even the right one is refused with the wait time; clearing the lockout
# (tpm2_dictionarylockout) restores signing.  The fixture sets 3 tries.
# Also: object memory full, permission denied on the device.
# Prints the messages a user sees.  Usage: test_tpm2_lockout.sh OWNERBIND
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
OWNERBIND=$1
. "$(dirname "$0")/lib.sh"

printf '1234\n' >"$T/pin"
printf '9999\n' >"$T/wrong"
chmod 600 "$T/pin" "$T/wrong"
URI="tpm2:file=$T/k.pem;auth=yes"
$OWNERBIND keygen --key "$URI" --pin-source "file:$T/pin" >/dev/null
$OWNERBIND request --sub $SUB --aud $AUD --owner alice \
    --agent-key "$T/agent.pem" --new-agent-key -o "$T/req.json"
sign() {	# PINFILE
	$OWNERBIND sign --quiet --key "$URI" --pin-source "file:$1" \
	    -o "$T/s.json" "$T/req.json"
}

# The auth value never crosses the bus in clear: salted HMAC sessions,
# and parameter encryption when keygen sets it.  The pcap TCTI records
# every command and response; tpm2_create with a password session is the
# control that shows the recording would catch it.
if ldconfig -p | grep -q libtss2-tcti-pcap; then
	printf 'Zq9-secret-PIN\n' >"$T/pin2"
	chmod 600 "$T/pin2"
	TCTI_PCAP_FILE="$T/bus.pcap"
	export TCTI_PCAP_FILE
	PURI="tpm2:file=$T/pcap.pem;auth=yes;tcti=pcap:$TPM2TOOLS_TCTI"
	$OWNERBIND keygen --key "$PURI" --pin-source "file:$T/pin2" >/dev/null
	$OWNERBIND sign --quiet --key "$PURI" --pin-source "file:$T/pin2" \
	    -o "$T/s.json" "$T/req.json" && [ -s "$T/bus.pcap" ] &&
	    ! grep -q Zq9-secret-PIN "$T/bus.pcap" &&
	    ok "keygen and sign never send the auth value in clear" ||
	    not_ok "auth value seen on the bus"
	tpm2_createprimary -Q -C o -c "$T/p.ctx"
	tpm2_create -Q -C "$T/p.ctx" -p Zq9-secret-PIN -u "$T/c.pub" \
	    -r "$T/c.priv" -T "pcap:$TPM2TOOLS_TCTI"
	tpm2_flushcontext -t
	grep -q Zq9-secret-PIN "$T/bus.pcap" &&
	    ok "control: a password session shows it in the recording" ||
	    not_ok "control: the recording missed a cleartext auth value"
	unset TCTI_PCAP_FILE
fi

for left in 2 1 0; do
	expect OB_ERR_PIN_INCORRECT sign "$T/wrong"
	grep -q "$left tr[a-z]* left" "$T/err" && ok "says $left tries left" ||
	    not_ok "tries left: $(cat "$T/err")"
	echo "# user sees:"; sed 's/^/#   /' "$T/err"
done
expect OB_ERR_TPM_LOCKOUT sign "$T/pin"
grep -q "retry in about 10 s" "$T/err" && ok "lockout says when to retry" ||
    not_ok "lockout text: $(cat "$T/err")"
echo "# user sees:"; sed 's/^/#   /' "$T/err"
expect OB_ERR_PIN_SOURCE "$OWNERBIND" sign --quiet --key "$URI" \
    --pin-source "file:$T/missing" "$T/req.json"
tpm2_dictionarylockout --clear-lockout >/dev/null
sign "$T/pin" && ok "signs again after tpm2_dictionarylockout --clear-lockout" ||
    not_ok "sign after clearing the lockout"
# A persistent key with an auth value, opened without auth=yes: bad auth.
$OWNERBIND keygen --key "tpm2:handle=0x81000030;auth=yes" \
    --pin-source "file:$T/pin" >/dev/null
expect OB_ERR_PIN_INCORRECT "$OWNERBIND" sign --quiet \
    --key tpm2:handle=0x81000030 "$T/req.json"
echo "# user sees:"; sed 's/^/#   /' "$T/err"

# Object memory full (no resource manager): fill the TPM with primaries.
i=0
while [ $i -lt 16 ] && tpm2_createprimary -Q -C o -g sha256 -G ecc \
    -c "$T/p$i.ctx" 2>/dev/null; do
	i=$((i + 1))
done
expect OB_ERR_TPM_MEMORY sign "$T/pin"
echo "# user sees:"; sed 's/^/#   /' "$T/err"
tpm2_flushcontext -t
sign "$T/pin" && ok "signs again after tpm2_flushcontext -t" ||
    not_ok "sign after flushing"

# No access to the TPM device (run as nobody against a root-only node).
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 711 "$T"
	: >"$T/tpmrm0"
	chmod 600 "$T/tpmrm0"
	expect OB_ERR_DEVICE_PERMISSION setpriv --reuid=65534 --regid=65534 \
	    --clear-groups "$OWNERBIND" keygen \
	    --key "tpm2:file=$T/nobody.pem;tcti=device:$T/tpmrm0"
	echo "# user sees:"; sed 's/^/#   /' "$T/err"
fi
[ "$(transient_count)" = 0 ] && ok "no transient handle left" ||
    not_ok "transient handles left"
finish
