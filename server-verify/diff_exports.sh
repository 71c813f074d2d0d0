#!/bin/sh
# The ABI of libownerbind-verify, three ways, must agree (in the spirit of
# libfido2's src/diff_exports.sh): the functions the shared library
# exports (nm -D --defined-only, every one at the map's version), the
# global: list of the export map, and the OB_EXPORT declarations of the
# public headers.
# usage: diff_exports.sh LIBRARY MAP HEADER...
set -eu
lib=$1
map=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

version=$(sed -n 's/^\([A-Z0-9_]*\) *{.*/\1/p' "$map" | head -n 1)
if [ -z "$version" ]; then
	echo "$map: no version node" >&2
	exit 1
fi

# The map's global: names (comments dropped, one per line).
sed -e 's|/\*.*\*/||g' "$map" |
    sed -n '/global:/,/local:/p' | sed -e 's/global://' -e 's/local://' |
    tr ';' '\n' | tr -d ' \t' | sed '/^$/d' | sort >"$tmp/map"

# The library's defined dynamic symbols but the version node itself.
nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' >"$tmp/raw"
if grep -v "@@$version\$" "$tmp/raw" >"$tmp/unversioned"; then
	echo "$lib: exported outside $version:" >&2
	cat "$tmp/unversioned" >&2
	exit 1
fi
sed 's/@@.*//' "$tmp/raw" | sort >"$tmp/lib"

# The functions the public headers declare OB_EXPORT.
grep -h '^OB_EXPORT' "$@" | sed 's/^\(.*[ *]\)\{0,1\}\(ob_[a-z0-9_]*\)(.*/\2/' |
    sort >"$tmp/headers"

rc=0
if ! diff -u "$tmp/map" "$tmp/lib" >"$tmp/d1"; then
	echo "export map (-) and library (+) differ:" >&2
	cat "$tmp/d1" >&2
	rc=1
fi
if ! diff -u "$tmp/map" "$tmp/headers" >"$tmp/d2"; then
	echo "export map (-) and OB_EXPORT in the headers (+) differ:" >&2
	cat "$tmp/d2" >&2
	rc=1
fi
[ "$rc" = 0 ] && echo "$(wc -l <"$tmp/map") functions at $version: map, library and headers agree"
exit "$rc"
