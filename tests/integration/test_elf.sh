#!/bin/sh
# The link hardening of the product binaries (CMakeLists.txt:
# -z relro -z now -z noexecstack): a GNU_RELRO segment, BIND_NOW, and a
# GNU_STACK segment that is not executable.
# usage: test_elf.sh ELF...
set -eu
rc=0
for f in "$@"; do
	[ -n "$f" ] || continue		# a binary this configuration omits
	ph=$(readelf -lW "$f")
	dyn=$(readelf -dW "$f")
	if ! printf '%s\n' "$ph" | grep -q 'GNU_RELRO'; then
		echo "$f: no GNU_RELRO segment (-z relro)" >&2
		rc=1
	fi
	if ! printf '%s\n' "$dyn" | grep -Eq '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW'; then
		echo "$f: no BIND_NOW (-z now)" >&2
		rc=1
	fi
	stack=$(printf '%s\n' "$ph" | awk '$1 == "GNU_STACK" { print $7 }')
	if [ "$stack" != "RW" ]; then
		echo "$f: GNU_STACK is \"$stack\", not RW (-z noexecstack)" >&2
		rc=1
	fi
done
[ "$rc" = 0 ] && echo "relro, now, noexecstack: $*"
exit "$rc"
