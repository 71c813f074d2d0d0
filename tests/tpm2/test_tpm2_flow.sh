#!/bin/sh
# keygen -> enroll -> request -> sign -> pop -> ownerbind-verify for every
# TPM algorithm, as key file and as persistent handle, with and without an
# auth value; each owner entry is also checked by python3-jwcrypto and by
# openssl.  Usage: test_tpm2_flow.sh OWNERBIND VERIFY PYTHON
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
OWNERBIND=$1 VERIFY=$2 PY=$3
. "$(dirname "$0")/lib.sh"

$OWNERBIND request --sub $SUB --aud $AUD --owner alice \
    --agent-key "$T/agent.pem" --new-agent-key -o "$T/unused.json"
printf '1234\n' >"$T/pin"
chmod 600 "$T/pin"
have_jwcrypto=0
"$PY" -c 'import jwcrypto' 2>/dev/null && have_jwcrypto=1

n=0
for alg in ES256 ES384 PS256; do
	for form in file handle auth; do
		n=$((n + 1))
		case $form in
		file) uri="tpm2:file=$T/$alg.pem" ;;
		handle) uri="tpm2:handle=0x8100000$n" ;;
		auth) uri="tpm2:file=$T/$alg-auth.pem;auth=yes" ;;
		esac
		name="$alg $form"
		if ! $OWNERBIND keygen --key "$uri" --alg $alg --json \
		    --pin-source "file:$T/pin" >"$T/key.json"; then
			not_ok "$name: keygen"
			continue
		fi
		kid=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["kid"])' <"$T/key.json")
		$OWNERBIND enroll --key "$uri" --owner alice --may-bind \
		    'wimse://td.example/agents/*' --trust "$T/trust.json" \
		    --pin-source "file:$T/pin" >/dev/null
		$OWNERBIND request --sub $SUB --aud $AUD --owner alice \
		    --agent-key "$T/agent.pem" -o "$T/req.json"
		if $OWNERBIND sign --quiet --key "$uri" --pin-source \
		    "file:$T/pin" -o "$T/signed.json" "$T/req.json" &&
		    $OWNERBIND pop --agent-key "$T/agent.pem" \
		    -o "$T/env.json" "$T/signed.json" &&
		    $VERIFY --no-replay-state --trust "$T/trust.json" --aud $AUD "$T/env.json" \
		    >"$T/verdict" && grep -qF -- "$kid (tpm2, $alg" "$T/verdict"
		then
			ok "$name: sign, pop, ownerbind-verify"
		else
			not_ok "$name: sign, pop, ownerbind-verify"
			continue
		fi
		[ "$(transient_count)" = 0 ] && ok "$name: no transient handle" ||
		    not_ok "$name: transient handles left"
		[ $have_jwcrypto = 1 ] || continue
		mkdir -p "$T/x"
		if "$PY" "$HERE/jws_check.py" "$T/env.json" "$T/trust.json" \
		    "$kid" "$T/x" >/dev/null; then
			ok "$name: python3-jwcrypto verifies the owner entry"
		else
			not_ok "$name: python3-jwcrypto"
		fi
		if [ $alg = PS256 ]; then
			set -- -sigopt rsa_padding_mode:pss \
			    -sigopt rsa_pss_saltlen:32
		else
			set --
		fi
		md=sha256
		[ $alg = ES384 ] && md=sha384
		if openssl dgst -$md "$@" -verify "$T/x/pub.pem" \
		    -signature "$T/x/sig" "$T/x/tbs" >/dev/null; then
			ok "$name: openssl verifies the owner entry"
		else
			not_ok "$name: openssl"
		fi
	done
done

# A signature that would be altered is caught: the envelope verifies only
# unchanged (one flipped byte of the owner signature).
"$PY" - "$T/env.json" "$T/bad.json" <<'PYEOF'
import json, sys
e = json.load(open(sys.argv[1]))
s = e["signatures"][0]["signature"]
e["signatures"][0]["signature"] = ("A" if s[5] != "A" else "B").join([s[:5], s[6:]])
json.dump(e, open(sys.argv[2], "w"))
PYEOF
expect OB_ERR_SIG_INVALID "$VERIFY" --no-replay-state --trust "$T/trust.json" --aud $AUD "$T/bad.json"

# Wrong URIs and missing keys are named, never guessed.
expect OB_ERR_KEY_NOT_FOUND "$OWNERBIND" sign --quiet --key tpm2:handle=0x81000099 "$T/req.json"
expect OB_ERR_KEY_NOT_FOUND "$OWNERBIND" sign --quiet --key "tpm2:file=$T/none.pem" "$T/req.json"
expect OB_ERR_KEY_EXISTS "$OWNERBIND" keygen --key "tpm2:file=$T/ES256.pem"
expect OB_ERR_KEY_EXISTS "$OWNERBIND" keygen --key tpm2:handle=0x81000002
expect OB_ERR_KEY_URI "$OWNERBIND" keygen --key "tpm2:file=$T/y.pem;handle=0x81000001"
expect OB_ERR_KEY_URI "$OWNERBIND" keygen --key "tpm2:handle=0x80000001"
expect OB_ERR_TPM_UNREACHABLE "$OWNERBIND" sign --quiet --key "tpm2:file=$T/ES256.pem;tcti=swtpm:path=$T/nosock" "$T/req.json"
expect OB_ERR_TPM_UNREACHABLE "$OWNERBIND" sign --quiet --key "tpm2:file=$T/ES256.pem;tcti=device:/nonexistent/tpmrm0" "$T/req.json"
finish
