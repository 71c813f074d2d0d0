#!/bin/sh
# softhsm-fixture.sh DIR USERPIN SOPIN - a private SoftHSM2 token directory
# for one test run.  Prints the environment to eval (SOFTHSM2_CONF, the
# module path).  Tokens: spare-a, owner-test, twin (x2), spare-b; several
# tokens, so no slot id is 0 or predictable.  Nothing outside DIR is used.
set -eu
D=${1:?usage: softhsm-fixture.sh DIR USERPIN SOPIN}
UPIN=${2:?}; SOPIN=${3:?}
mkdir -p "$D/tokens"
cat >"$D/softhsm2.conf" <<CONF
directories.tokendir = $D/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
export SOFTHSM2_CONF="$D/softhsm2.conf"
for label in spare-a owner-test twin twin spare-b; do
	softhsm2-util --init-token --free --label "$label" --so-pin "$SOPIN" \
	    --pin "$UPIN" >/dev/null
done
for m in /usr/lib/softhsm/libsofthsm2.so \
    /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
	[ -f "$m" ] && { MODULE=$m; break; }
done
echo "SOFTHSM2_CONF='$D/softhsm2.conf'; export SOFTHSM2_CONF"
echo "SOFTHSM_MODULE='${MODULE:?no libsofthsm2.so}'"
