#!/bin/sh
# lint_selftest: every rule of scripts/lint, shellcheck through
# scripts/check-shell and cppcheck through scripts/analyse each refuse a
# file written to break them, and accept its corrected twin.
# Usage: test_lint.sh SOURCE_DIR
set -u
S=$1
PY=${OB_PYTHON:-/usr/bin/python3}
D=$(mktemp -d "${TMPDIR:-/tmp}/ob-lint.XXXXXX") || exit 1
trap 'rm -rf "$D"' EXIT
fail=0
n=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# put PATH: stdin into a fresh tree's PATH; the tree is in $T.
put() {
	n=$((n + 1))
	T=$D/t$n
	mkdir -p "$(dirname "$T/$1")"
	cat >"$T/$1"
}
# refused RULE WHAT: scripts/lint over $T fails, naming RULE.
refused() {
	if "$PY" "$S/scripts/lint" --root "$T" >"$T.out" 2>&1; then
		bad "$2: accepted"
	elif grep -q ": $1: " "$T.out"; then
		ok "$2: refused ($1)"
	else
		bad "$2: refused, but not by $1: $(cat "$T.out")"
	fi
}
accepted() {
	if "$PY" "$S/scripts/lint" --root "$T" >"$T.out" 2>&1; then
		ok "$1: accepted"
	else
		bad "$1: refused: $(cat "$T.out")"
	fi
}

# --- banned calls: every one of them, and where they do not count ------
for f in strcpy strcat strncpy strncat sprintf vsprintf gets strtok atoi \
    atol atoll atof rand srand mktemp tmpnam tempnam system popen alloca \
    getpass; do
	put core/bad.c <<EOF
int
f(char *a, const char *b)
{
	return (int)$f (a, b);
}
EOF
	refused banned "$f()"
done
put tests/softfido/bad.c <<'EOF'
void f(char *a) { strcpy(a, "x"); }
EOF
refused banned "strcpy() in a test stand-in"
put core/ok.c <<'EOF'
/* strcpy(a, b) in a comment, and in a string: */
static const char s[] = "sprintf(buf, x)";
int f(void) { return snprintf(0, 0, "%s", s) + strtok_r(0, 0, 0) != 0; }
int g(struct x *x) { return x->system(1) + x.atoi(2); }
EOF
accepted "banned names in comments, strings, members, longer names"
put core/excused.c <<'EOF'
int f(const char *c) {
	return system(c);	/* lint: ok: the reason is given here */
}
int g(const char *c) {
	/* lint: ok: or on the line above */
	return system(c);
}
EOF
accepted "system() excused by lint: ok with a reason"
put core/bare.c <<'EOF'
int f(const char *c) { return system(c); /* lint: ok */ }
EOF
refused banned "system() with a bare lint: ok (no reason)"

# --- secret comparisons --------------------------------------------------
for v in mac tag hmac digest sig nonce pin secret expected_sig siglen \
    userPin; do
	put server/cmp.c <<EOF
int f(const unsigned char *$v, const unsigned char *b)
{
	return memcmp($v, b, 32) == 0;
}
EOF
	refused secret-cmp "memcmp over $v"
done
put server/cmp.c <<'EOF'
int f(const struct c *c, const char *s) { return strcmp(c->pin, s); }
EOF
refused secret-cmp "strcmp over a member named pin"
put server/cmp.c <<'EOF'
int f(const unsigned char *mac, const unsigned char *b)
{
	return CRYPTO_memcmp(mac, b, 32) == 0 && strcmp(name, "nonce") == 0 &&
	    memcmp(hash, b, 32) == 0 && strcmp(mapping, "x") == 0;
}
EOF
accepted "CRYPTO_memcmp, a secret's name as a string, look-alike names"

# --- wipe where you fill -------------------------------------------------
for release in free ob_pin_free; do
	put tokens/reader.c <<EOF
int f(const struct ob_pin_source *src)
{
	char *pin = NULL;

	if (ob_pin_read(src, "PIN: ", &pin) != 0)
		return -1;
	use(pin);
	$release(&pin);
	return 0;
}
EOF
	if [ "$release" = free ]; then
		refused wipe "ob_pin_read, then free"
	else
		accepted "ob_pin_read, then ob_pin_free"
	fi
done
put tokens/copy.c <<'EOF'
void f(unsigned char *passphrase, const unsigned char *src, size_t n)
{
	memcpy(passphrase, src, n);
}
EOF
refused wipe "memcpy into a passphrase buffer without a wipe"
put tokens/copy.c <<'EOF'
void f(char *userPin, int fd) { (void)read(fd, userPin, 8); }
void g(char *userPin) { OPENSSL_cleanse(userPin, 8); }
EOF
accepted "read into a PIN buffer, OPENSSL_cleanse in the same file"

# --- ob_process_harden in product programs -------------------------------
put owner/main.c <<'EOF'
int
main(void)
{
	return 0;
}
EOF
refused harden "a product main() without ob_process_harden"
put signer/main.c <<'EOF'
int
main(void)
{
	ob_process_harden();
	ob_process_harden();
	return 0;
}
EOF
refused harden "a product main() that hardens twice"
put server/main.c <<'EOF'
int
main(void)
{
	ob_process_harden();
	return 0;
}
EOF
accepted "a product main() that hardens once"
put tests/unit/test_x.c <<'EOF'
int
main(void)
{
	return 0;
}
EOF
accepted "a test's main() without ob_process_harden"

# --- includes name their component ---------------------------------------
put core/inc.c <<'EOF'
#include <stdio.h>
#include "buf.h"
EOF
refused include "#include \"buf.h\""
put tests/vpiv/inc.c <<'EOF'
#include "tlv.h"
#include "core/buf.h"
EOF
accepted "a stand-in's own include, a component include"

# --- shellcheck and cppcheck, through their wrappers ---------------------
# wrapper SCRIPT ID BAD GOOD WHAT: scripts/SCRIPT refuses BAD naming ID and
# accepts GOOD.
wrapper() {
	if sh "$S/scripts/$1" "$3" >"$D/w.out" 2>&1; then
		bad "$1 accepted $5"
	elif grep -q "$2" "$D/w.out"; then
		ok "$1 refuses $5 ($2)"
	else
		bad "$1: $(cat "$D/w.out")"
	fi
	if sh "$S/scripts/$1" "$4" >"$D/w.out" 2>&1; then
		ok "$1 accepts it corrected"
	else
		bad "$1: $(cat "$D/w.out")"
	fi
}
# shellcheck disable=SC2016 # the $1 is the written script's own
printf '#!/bin/sh\nrm -rf $1/cache\n' >"$D/bad.sh"
# shellcheck disable=SC2016 # as above
printf '#!/bin/sh\nrm -rf "$1/cache"\n' >"$D/good.sh"
printf '#include <stdlib.h>\nvoid f(void)\n{\n\tchar *p = malloc(4);\n\n\tfree(p);\n\tfree(p);\n}\n' >"$D/bad.c"
printf '#include <stdlib.h>\nvoid f(void)\n{\n\tchar *p = malloc(4);\n\n\tfree(p);\n}\n' >"$D/good.c"
wrapper check-shell SC2086 "$D/bad.sh" "$D/good.sh" "an unquoted expansion"
wrapper analyse doubleFree "$D/bad.c" "$D/good.c" "a double free"
exit "$fail"
