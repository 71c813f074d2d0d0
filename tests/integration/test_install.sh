#!/bin/sh
# cmake --install into a staging prefix; build a consumer with nothing but
# pkg-config; check the exported ABI and the installed files.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -eu
B=$1
S=$2
P=$(mktemp -d)
trap 'rm -rf "$P"' EXIT
cmake --install "$B" --prefix "$P" >/dev/null
fail=0
for f in bin/ownerbind-verify include/ownerbind/ob_verify.h include/ownerbind/ob_rp.h \
    include/ownerbind/ob_err.h share/man/man1/ownerbind.1 \
    share/man/man1/ownerbind-verify.1; do
	if [ -e "$P/$f" ]; then echo "ok   installed $f"; else
		echo "FAIL missing $f"; fail=$((fail + 1)); fi
done
lib=$(find "$P" -name 'libownerbind-verify.so.0*' -type f | head -n 1)
pc=$(find "$P" -name ownerbind-verify.pc | head -n 1)
[ -n "$lib" ] && [ -n "$pc" ] || { echo "FAIL library or .pc missing"; exit 1; }
# Only the public API is exported.
extra=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDB]/ {print $3}' | sed 's/@.*//' |
    grep -v -E '^ob_(err_|trust_|state_|verify$|verify_opts_|verdict_|rp_)' || true)
if [ -z "$extra" ]; then echo "ok   the library exports only ob_* API";
else echo "FAIL exported: $extra"; fail=$((fail + 1)); fi
# The library does not pull in hardware libraries.
if ldd "$lib" | grep -E 'fido2|tss2|pcsclite|p11-kit' >/dev/null; then
	echo "FAIL the verifier links a hardware library"; fail=$((fail + 1))
else echo "ok   the verifier links no hardware library"; fi
export PKG_CONFIG_PATH="$(dirname "$pc")"
# Same compiler and sanitizer flags as the library under test.
${CC:-cc} ${CFLAGS:-} -o "$P/consumer" "$S/tests/integration/consumer.c" \
    $(pkg-config --define-variable=prefix="$P" --cflags --libs ownerbind-verify)
V="$S/tests/vectors/agent-mediated-eddsa.json"
/usr/bin/python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); open(sys.argv[2]+"/t.json","w").write(v["expected"]["trust"]); open(sys.argv[2]+"/e.json","w").write(v["expected"]["envelope"])' "$V" "$P"
out=$(LD_LIBRARY_PATH="$(dirname "$lib")" "$P/consumer" "$P/t.json" \
    https://id.example "$P/e.json" 1800000005)
case "$out" in
*'"result":"accepted"'*) echo "ok   a pkg-config consumer verifies a vector";;
*) echo "FAIL consumer said: $out"; fail=$((fail + 1));;
esac
echo "install: $((6 + 3 - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
