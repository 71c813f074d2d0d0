#!/bin/sh
# cmake --install into a staging prefix; build a consumer with nothing but
# pkg-config; check the exported ABI and the installed files.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR
# shellcheck disable=SC2015 # "[ a ] && [ b ] || fail": fail unless both
set -eu
B=$1
S=$2
P=$(mktemp -d)
trap 'rm -rf "$P"' EXIT
cmake --install "$B" --prefix "$P" >/dev/null
fail=0
for f in bin/ownerbind-verify include/ownerbind/ob_verify.h include/ownerbind/ob_rp.h \
    share/bash-completion/completions/ownerbind \
    share/bash-completion/completions/ownerbind-verify \
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
    grep -v -E '^ob_(err_|trust_|state_|verify$|verify_renewal$|verify_opts_|verdict_|rp_)' || true)
if [ -z "$extra" ]; then echo "ok   the library exports only ob_* API";
else echo "FAIL exported: $extra"; fail=$((fail + 1)); fi
# The library does not pull in hardware libraries.
if ldd "$lib" | grep -E 'fido2|tss2|pcsclite|p11-kit' >/dev/null; then
	echo "FAIL the verifier links a hardware library"; fail=$((fail + 1))
else echo "ok   the verifier links no hardware library"; fi
# The Redis store lives in the static ob_redis, never in the library.
if ldd "$lib" | grep -E 'hiredis' >/dev/null ||
    nm -D --defined-only "$lib" | grep -E 'ob_redis|ob_state_redis' >/dev/null; then
	echo "FAIL the verifier links hiredis or carries the Redis store"; fail=$((fail + 1))
else echo "ok   the verifier links no hiredis"; fi
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
# The .pc file is relocatable: it names this prefix, not the configured one.
pclib=$(pkg-config --variable=libdir ownerbind-verify)
if [ "$(cd "$pclib" 2>/dev/null && pwd -P)" = "$(cd "$(dirname "$lib")" && pwd -P)" ]; then
	echo "ok   the installed .pc file points into the prefix ($pclib)"
else echo "FAIL the .pc file's libdir is $pclib, not $(dirname "$lib")"; fail=$((fail + 1)); fi
# The installed programs run from the prefix with an empty environment
# (they link our code statically; only system libraries are shared).
for t in bin/ownerbind bin/ownerbind-verify sbin/ownerbind-server; do
	if [ ! -x "$P/$t" ]; then continue; fi
	if env -i "$P/$t" --help >/dev/null 2>&1; then echo "ok   $t runs from $P without LD_LIBRARY_PATH";
	else echo "FAIL $t does not run from $P"; fail=$((fail + 1)); fi
done
# The installed completion completes verbs, options and trust actions
# from the installed programs' own --help.
comp=$P/share/bash-completion/completions/ownerbind
got=$(PATH="$P/bin:$P/sbin:$PATH" bash -c '. "$1"
	COMP_WORDS=(ownerbind si); COMP_CWORD=1; _ownerbind; printf "%s," "${COMPREPLY[@]}"
	COMP_WORDS=(ownerbind sign --pin-s); COMP_CWORD=2; _ownerbind; printf "%s," "${COMPREPLY[@]}"
	COMP_WORDS=(ownerbind trust revoke-); COMP_CWORD=2; _ownerbind; printf "%s," "${COMPREPLY[@]}"
	COMP_WORDS=(ownerbind-verify --max-l); COMP_CWORD=1; _ownerbind_daemon; printf "%s," "${COMPREPLY[@]}"' _ "$comp")
if [ "$got" = "sign,--pin-source,revoke-key,revoke-owner,--max-lifetime," ]; then
	echo "ok   bash completion completes verbs, options and trust actions"
else echo "FAIL bash completion gave: $got"; fail=$((fail + 1)); fi
# Same compiler and sanitizer flags as the library under test; the
# consumer finds the library through its own RPATH, as a packager's would.
# CC, CFLAGS and pkg-config's answer are word lists.
# shellcheck disable=SC2086,SC2046
${CC:-cc} ${CFLAGS:-} -o "$P/consumer" "$S/tests/integration/consumer.c" \
    $(pkg-config --cflags --libs ownerbind-verify) -Wl,-rpath,"$pclib"
V="$S/tests/vectors/agent-mediated-eddsa.json"
/usr/bin/python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); open(sys.argv[2]+"/t.json","w").write(v["expected"]["trust"]); open(sys.argv[2]+"/e.json","w").write(v["expected"]["envelope"])' "$V" "$P"
out=$(env -u LD_LIBRARY_PATH "$P/consumer" "$P/t.json" \
    https://id.example "$P/e.json" 1800000005)
case "$out" in
*'"result":"accepted"'*) echo "ok   a pkg-config consumer verifies a vector";;
*) echo "FAIL consumer said: $out"; fail=$((fail + 1));;
esac
echo "install: $fail failed"
[ "$fail" -eq 0 ]
