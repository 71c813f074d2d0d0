#!/bin/sh
# cli-negative.sh VERIFY NEGDIR: run ownerbind-verify --json on a sample of
# the negative corpus; each must exit 1 with the index.tsv error name.
set -u
verify=$1
dir=$2
now=1767225600
fail=0
n=0
for f in json-truncated dup-protected-alg b64-payload-noncanon alg-none \
    jwk-private-d sig-swapped owner-not-authorized expired fido-no-uv \
    fido-cd-origin gw-chain-rogue too-large-envelope gw-eku-server-auth \
    gw-eku-ocsp gw-san-uri-only gw-x5c-unused-bits gw-x5c-pad-inside \
    jwk-ed25519-identity \
    jwk-ed25519-order8 jwk-ed25519-noncanon jwk-ed25519-off-curve \
    jwk-rsa-8192 jwk-rsa-16384 jwk-rsa-e-even jwk-rsa-4096-bad-sig \
    jwk-use-enc jwk-alg-none jwk-alg-hs256 jwk-kid-number \
    gw-leaf-ed25519-identity; do
	line=$(awk -F'\t' -v f="$f" '$1 ~ ("^[0-9][0-9][0-9]-" f "[.]json$")' \
	    "$dir/index.tsv")
	if [ -z "$line" ]; then
		echo "no case $f"; fail=1; continue
	fi
	file=$(printf '%s' "$line" | cut -f1)
	want=$(printf '%s' "$line" | cut -f2)
	opts=$(printf '%s' "$line" | cut -f4)
	set -- --no-replay-state --json --at "$now" --trust "$dir/trust.json" \
	    --aud https://id.example/
	case "$opts" in
	*proxy=*) p=${opts#*proxy=}; set -- "$@" --channel gateway \
	    --proxy "${p%%;*}" ;;
	esac
	out=$("$verify" "$@" "$dir/$file" 2>/dev/null)
	rc=$?
	n=$((n + 1))
	if [ "$rc" -ne 1 ]; then
		echo "FAIL $file: exit $rc, want 1"; fail=1
	elif ! printf '%s' "$out" | grep -q "\"error\":\"$want\""; then
		echo "FAIL $file: want $want, got $out"; fail=1
	fi
done
out=$("$verify" --no-replay-state --json --at "$now" --trust "$dir/trust.json" \
    --aud https://id.example/ "$dir/good.json" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] || ! printf '%s' "$out" | grep -q '"result":"accepted"'; then
	echo "FAIL good.json: exit $rc: $out"; fail=1
fi
out=$("$verify" --no-replay-state --json --at "$now" --trust "$dir/trust.json" \
    --aud https://id.example/ --channel gateway --proxy proxy-1 \
    "$dir/good-gateway-docsign.json" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] || ! printf '%s' "$out" | grep -q '"result":"accepted"'; then
	echo "FAIL good-gateway-docsign.json: exit $rc: $out"; fail=1
fi
# Trust stores that must not load: exit 2, the code and the key rule's
# code in the detail, as one JSON object (--json: configuration errors too).
nt=0
while IFS='	' read -r file want inner why; do
	case "$file" in '#'*|'') continue ;; esac
	out=$("$verify" --no-replay-state --json --at "$now" --trust "$dir/$file" \
	    --aud https://id.example/ "$dir/good.json" 2>&1)
	rc=$?
	nt=$((nt + 1))
	if [ "$rc" -ne 2 ]; then
		echo "FAIL $file ($why): exit $rc, want 2"; fail=1
	elif ! printf '%s' "$out" | grep -q "\"error\":\"$want\".*$inner"; then
		echo "FAIL $file: want $want ($inner), got $out"; fail=1
	fi
done < "$dir/trust-index.tsv"
[ "$nt" -ge 7 ] || { echo "FAIL: only $nt trust stores"; fail=1; }
echo "cli-negative: $n rejections checked, $nt trust stores refused"
exit $fail
