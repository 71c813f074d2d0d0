#!/bin/sh
# Runs test_tpm2_handles against a private swtpm, then asks tpm2-tools
# (code nobody here wrote) for the transient handle list as well.
# Usage: test_tpm2_handles.sh TEST_BINARY
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
BIN=$1
. "$(dirname "$0")/lib.sh"
"$BIN" "$T" || FAIL=$((FAIL + 1))
[ "$(transient_count)" = 0 ] && ok "tpm2_getcap handles-transient is empty" ||
    not_ok "tpm2_getcap: $(tpm2_getcap handles-transient)"
finish
