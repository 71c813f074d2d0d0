#!/bin/sh
# ownerbind doctor and devices against a made-up system image (--root):
# a FIDO key found by its HID usage page 0xF1D0 (not by vendor), a
# keyboard ignored, permission problems explained with a fix.
# Usage: test_doctor.sh OWNERBIND PYTHON
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
OB=$1 PY=$2
D=$(mktemp -d "${TMPDIR:-/tmp}/ob-doctor.XXXXXX")
trap 'rm -rf "$D"' EXIT
chmod 755 "$D"
R=$D/root
fail=0
ok()  { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

mkdir -p "$R/sys/class/hidraw/hidraw0/device" \
    "$R/sys/class/hidraw/hidraw1/device" "$R/dev" "$R/run/udev/data" \
    "$R/etc/udev/rules.d"
# A FIDO descriptor (Usage Page 0xF1D0 as a 2-byte global item, then
# Usage CTAPHID, Collection...) and a boot keyboard's.
printf '\006\320\361\011\001\241\001\011\040\025\000\046\377\000\165\010\225\100\201\002\300' \
    >"$R/sys/class/hidraw/hidraw0/device/report_descriptor"
printf '\005\001\011\006\241\001\005\007\300' \
    >"$R/sys/class/hidraw/hidraw1/device/report_descriptor"
echo 241:0 >"$R/sys/class/hidraw/hidraw0/dev"
echo 241:1 >"$R/sys/class/hidraw/hidraw1/dev"
printf 'E:ID_FIDO_TOKEN=1\nG:uaccess\n' >"$R/run/udev/data/c241:0"
: >"$R/dev/hidraw0"; chmod 600 "$R/dev/hidraw0"
: >"$R/dev/hidraw1"; chmod 600 "$R/dev/hidraw1"
: >"$R/dev/tpmrm0"; chmod 660 "$R/dev/tpmrm0"

check() {	# check JSON-FILE PYTHON-EXPR WHAT
	if "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); c=d['checks']; sys.exit(0 if ($2) else 1)" "$1"; then
		ok "$3"; else bad "$3: $(cat "$1")"; fi
}
"$OB" doctor --json --root "$R" >"$D/root.json"
check "$D/root.json" "any('hidraw0 is a FIDO key' in x['what'] and 'ID_FIDO_TOKEN' in x['what'] for x in c)" \
    "hidraw0 recognised by usage page 0xF1D0, udev record read"
check "$D/root.json" "not any('hidraw1' in x['what'] for x in c)" \
    "the keyboard (hidraw1) is not taken for a key"
check "$D/root.json" "any(x['area']=='udev' and x['status']=='warn' and 'no udev rule gives FIDO' in x['what'] for x in c)" \
    "missing udev rules reported with a fix"

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$OB" doctor --json --root "$R" >"$D/user.json"
	rc=$?
	[ $rc = 1 ] && ok "doctor exits 1 when it finds problems" ||
	    bad "exit status $rc"
	check "$D/user.json" "any(x['status']=='problem' and 'hidraw0: this user cannot open it' in x['what'] and 'not on the active local seat' in x.get('fix','') for x in c)" \
	    "a user without access to the key gets the problem and the fix"
	check "$D/user.json" "any(x['status']=='problem' and 'tpmrm0' in x['what'] and 'tss' in x['what'] and 'usermod' in x.get('fix','') for x in c)" \
	    "a user outside group tss is told to join it"
fi
cp "$(dirname "$0")/../../udev/70-ownerbind-fido.rules" "$R/etc/udev/rules.d/"
"$OB" doctor --json --root "$R" >"$D/rules.json"
check "$D/rules.json" "any(x['status']=='ok' and '70-ownerbind-fido.rules is installed' in x['what'] for x in c)" \
    "installed rules are found"
"$OB" doctor >"$D/text.txt" 2>&1; rc=$?
[ $rc -le 1 ] && grep -q "problems\?, [0-9]* warning" "$D/text.txt" && ok "doctor on this host runs ($rc)" ||
    bad "doctor on this host: $rc $(cat "$D/text.txt")"
out=$("$OB" devices --json) && "$PY" -c "import json,sys; assert isinstance(json.loads(sys.argv[1]), list)" "$out" &&
    ok "ownerbind devices --json on this host: $out" || bad "devices: $out"
"$OB" devices --help | grep -q "dev=" && "$OB" doctor --help | grep -q 0xF1D0 &&
    ok "--help for devices and doctor" || bad "--help"
exit $fail
