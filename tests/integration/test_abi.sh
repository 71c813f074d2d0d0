#!/bin/sh
# A program built once against this version's header and library keeps
# working, unchanged and not recompiled, when the library's options and
# verdict structures grow (issue #12, acceptance 3).  The grown library is
# the same sources built with OB_ABI_PAD (server-verify/verify_int.h puts
# bytes in front of every member, as a new member would).
# Usage: test_abi.sh CONSUMER PROBE LIBDIR GROWN_LIBDIR VECTORS
set -eu
consumer=$1 probe=$2 lib=$3 grown=$4 vectors=$5
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
/usr/bin/python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); open(sys.argv[2]+"/t.json","w").write(v["expected"]["trust"]); open(sys.argv[2]+"/e.json","w").write(v["expected"]["envelope"])' \
    "$vectors/agent-mediated-eddsa.json" "$T"
run() { LD_LIBRARY_PATH=$1 "$2" "$T/t.json" https://id.example "$T/e.json" 1800000005; }
fail=0
a=$(run "$lib" "$consumer") || { echo "FAIL consumer with its own library: $a"; exit 1; }
case "$a" in
*'"result":"accepted"'*agent=wimse://*) echo "ok   consumer verifies with the library it was built with";;
*) echo "FAIL consumer said: $a"; exit 1;;
esac
b=$(run "$grown" "$consumer") || b="exit $?: $b"
if [ "$a" = "$b" ]; then echo "ok   the same binary, relinked to the grown library, says the same";
else echo "FAIL with the grown library: $b"; fail=$((fail + 1)); fi
# The control: reading the structure directly breaks with the grown
# library, so the two libraries really differ in layout.
p1=$(run "$lib" "$probe") || { echo "FAIL probe with its own library: $p1"; exit 1; }
p2=$(run "$grown" "$probe" 2>&1) || p2="crashed"
if [ "$p1" != "$p2" ]; then echo "ok   control: the internal layout moved ($p1 / $p2)";
else echo "FAIL control: the grown library has the same layout"; fail=$((fail + 1)); fi
[ "$fail" -eq 0 ]
