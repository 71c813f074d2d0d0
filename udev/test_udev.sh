#!/bin/sh
# The udev rules: udev's own parser accepts them, and `cmake --install`
# puts them in the rules directory.
# Usage: test_udev.sh BUILD_DIR RULES_DIR RULES...
#
# udev 252 (Debian 12) has no `udevadm verify` (new in 253).  Instead the
# rules are loaded by the real udev rules parser: `udevadm test` reads
# every file in /etc/udev/rules.d, so in a private mount namespace a
# directory holding only our rules is bound over it (and tmpfs over
# /run/udev and /dev/char so the dry run leaves the host alone).  A broken
# copy must be reported, which shows the check can fail.
set -u
B=$1 RDIR=$2 RDIR0=$2; shift 2
D=$(mktemp -d "${TMPDIR:-/tmp}/ob-udev.XXXXXX")
trap 'rm -rf "$D"' EXIT
fail=0 checked=0

parse_errors() {	# parse_errors DIR: udev's complaints about files in DIR
	# shellcheck disable=SC2016 # the inner script expands its own $1
	unshare -m sh -c '
	    mount --bind "$1" /etc/udev/rules.d &&
	    mount -t tmpfs none /run/udev 2>/dev/null
	    [ -d /dev/char ] && mount -t tmpfs none /dev/char 2>/dev/null
	    udevadm test --action=add /sys/class/mem/null' sh "$1" \
	    >"$D/test.log" 2>&1
	grep -q "Reading rules file: /etc/udev/rules.d/" "$D/test.log" ||
	    { echo "SKIP udevadm did not read the rules"; return 2; }
	grep -E "^/etc/udev/rules.d/[^:]+:[0-9]+ " "$D/test.log"
	return 0
}

if udevadm verify --help >/dev/null 2>&1; then
	if udevadm verify "$@"; then echo "ok   udevadm verify"
	else echo "FAIL udevadm verify"; fail=1; fi
	checked=1
elif [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
    [ -e /sys/class/mem/null ] && unshare -m true 2>/dev/null; then
	mkdir -p "$D/good" "$D/broken"
	cp "$@" "$D/good/"
	errs=$(parse_errors "$D/good"); rc=$?
	if [ $rc = 0 ] && [ -z "$errs" ]; then
		for f in "$@"; do
			grep -q "Reading rules file: /etc/udev/rules.d/$(basename "$f")" \
			    "$D/test.log" || { echo "FAIL not read: $f"; fail=1; }
		done
		echo "ok   udev $(udevadm --version) parses the rules without complaint"
		checked=1
	elif [ $rc = 0 ]; then
		echo "FAIL udev complains:"; echo "$errs"; fail=1
	fi
	# the check must see a broken rule
	sed 's/IMPORT{program}/IMPRT{program}/; s/GOTO=/GOTOX=/' "$1" \
	    >"$D/broken/$(basename "$1")"
	errs=$(parse_errors "$D/broken")
	if [ -n "$errs" ]; then echo "ok   a broken copy is reported: $(echo "$errs" | head -1)"
	else echo "FAIL a broken copy passed the check"; fail=1; fi
fi
[ $checked = 1 ] || echo "SKIP no udev parser available: syntax not checked"

# cmake --install with DESTDIR puts the rules in the rules directory
# (a relative one is under the install prefix).
case $RDIR in
/*|"") ;;
*) RDIR=${OB_INSTALL_PREFIX:-/usr/local}/$RDIR ;;
esac
if [ -n "$RDIR" ]; then
	if DESTDIR="$D/root" cmake --install "$B" >"$D/install.log" 2>&1; then
		for f in "$@"; do
			if cmp -s "$f" "$D/root$RDIR/$(basename "$f")"; then
				echo "ok   installed $RDIR/$(basename "$f")"
			else
				echo "FAIL $(basename "$f") not in $D/root$RDIR"; fail=1
			fi
		done
	else
		echo "FAIL cmake --install:"; tail -5 "$D/install.log"; fail=1
	fi
	# A staging install with --prefix never writes into the system (only
	# tried with a prefix-relative rules directory: an absolute one is
	# the system's, for DESTDIR installs).
	case $RDIR0 in
	/*) ;;
	*)
		if DESTDIR='' cmake --install "$B" --prefix "$D/stage" \
		    >"$D/stage.log" 2>&1 &&
		    [ -f "$D/stage/$RDIR0/$(basename "$1")" ]; then
			echo "ok   staging install (--prefix) keeps the rules inside the prefix"
		else
			echo "FAIL staging install: $(tail -3 "$D/stage.log")"; fail=1
		fi ;;
	esac
else
	echo "SKIP no udev rules directory configured: install not checked"
fi
exit $fail
