#!/bin/sh
# Every long option a program's code accepts is in its man page, and every
# environment variable the code reads is in one (issue #19, point 9).
# Usage: test_man.sh SOURCE_DIR
set -u
S=$1
fail=0
# options FILES...: the long option names in struct option tables
options() { sed -n 's/^[[:space:]]*{ *"\([a-z0-9-]*\)", *\(no\|required\|optional\)_argument.*/\1/p' "$@" | sort -u; }
check() {	# check MANPAGE FILES...
	man=$1
	shift
	for o in $(options "$@"); do
		# roff escapes dashes: \-\-name
		pat=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
		if grep -q -- "\\\\-\\\\-$pat" "$S/$man" || grep -q -- "--$o" "$S/$man"; then :; else
			echo "FAIL $man does not mention --$o"; fail=$((fail + 1))
		fi
	done
}
check man/ownerbind.1 "$S"/owner/*.c
check man/ownerbind-verify.1 "$S"/server-verify/ownerbind-verify.c
check man/ownerbind-server.8 "$S"/server/ownerbind-server.c
for f in "$S"/man/*.[18]; do
	[ -e "$f" ] || continue
	base=$(basename "$f" | sed 's/\.[18]$//')
	case "$base" in ownerbind|ownerbind-verify|ownerbind-server) continue;; esac
	d=$(echo "$base" | sed 's/^ownerbind-//')
	[ -d "$S/$d" ] && check "man/$(basename "$f")" "$S/$d"/*.c
done
vars=$(find "$S" -name '*.c' -not -path '*/tests/*' -not -path '*/fuzz/*' \
    -not -path '*/bench/*' -exec grep -ho 'getenv("[A-Z_][A-Z0-9_]*")' {} + |
    sed 's/getenv("\(.*\)")/\1/' | sort -u)
for v in $vars; do
	if grep -q -- "$v" "$S"/man/*.[18]; then :; else
		echo "FAIL no man page mentions \$$v"; fail=$((fail + 1))
	fi
done
[ "$fail" -eq 0 ] && echo "ok   every option and environment variable is in a man page"
[ "$fail" -eq 0 ]
