#!/bin/sh
# Rotating the issuer key (decision 159; docs/server.md, "Rotating the
# issuer key") with ownerbind-server over real mutual TLS, checked by a
# stock JOSE library (jwcrypto) and openssl:
#   1. the dev key signs credential A;
#   2. the next key published (issuer.publish) by a SIGHUP, the old one
#      still signing: GET /v1/keys serves both, the signing key first,
#      and credential B names the old kid; a reload publishing the
#      signing key is refused and the JWKS stays;
#   3. swapped: the new key signs credential C (the new kid), the old one
#      is published: one JWKS fetched now verifies A, B and C; the WICs
#      verify against their own CAs;
#   4. the old key unpublished by a SIGHUP: A no longer verifies (the
#      negative that shows the JWKS, not the token, decides);
#   5. a publish entry holding the signing key, and one that is not a
#      CA: the server refuses to start, naming the entry.
# Usage: test_key_rotation.sh OWNERBIND-SERVER OWNERBIND
# OB_TEST_NO_SANDBOX=1: "sandbox": false (a TSan build).
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=$1
OB=$2
PY=${OB_PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/srv-setup.sh"
srv_dev

# The next issuer key and its CA, as an operator makes them (the dev
# CA's profile: P-256, CA:TRUE pathlen:0, keyCertSign and cRLSign).
(cd "$D/dev" && umask 077 &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 2 -subj "/O=ownerbind test/CN=next issuer" -keyout issuer2.key \
    -out issuer2-ca.pem -addext basicConstraints=critical,CA:TRUE,pathlen:0 \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null) ||
    { echo "FAIL: openssl could not make the next issuer CA"; exit 1; }
# The helper holds both keys; the server names the one that signs.
"$PY" - "$D/dev/signer.json" <<'PY' || exit 1
import json, sys
c = json.load(open(sys.argv[1]))
k = dict(c["keys"][0])
k.update(name="issuer2", uri="file:issuer2.key", ca="issuer2-ca.pem")
c["keys"].append(k)
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY

# conf KEY CHAIN [PUBLISHED...]: dev/rot.json from the dev configuration.
conf() {
	"$PY" - "$D/dev" "${URL#https://}" "${OB_TEST_NO_SANDBOX:-0}" "$@" <<'PY'
import json, sys
d, listen, nosb, key, chain = sys.argv[1:6]
c = json.load(open(d + "/server.json"))
c["listen"] = listen
c["issuer"] = {"key": key, "chain": chain}
if sys.argv[6:]:
    c["issuer"]["publish"] = sys.argv[6:]
if nosb == "1":
    c["sandbox"] = False
json.dump(c, open(d + "/rot.json", "w"), indent=2)
PY
}
start() {	# the server on dev/rot.json; 1 if it did not start
	# Emptied here, not only by the child's redirection: until the child
	# runs, the last server's "listening" line would still be there.
	: >"$D/server.log"
	(cd "$D/dev" && exec "$SRV" --config rot.json) 2>"$D/server.log" &
	SP=$!
	i=0
	until grep -q '"event":"listening"' "$D/server.log" 2>/dev/null; do
		kill -0 "$SP" 2>/dev/null || { wait "$SP"; SP=; return 1; }
		i=$((i + 1)); [ $i -gt 300 ] && { cat "$D/server.log"; return 1; }
		sleep 0.1
	done
}
stop() { kill -TERM "$SP"; wait "$SP"; SP=; }
# hup ok|failed: SIGHUP, then wait until /metrics counts one more reload
# of that result; 1 if it did not.
reloads() {
	m=$(grep -o 'metrics=http://127.0.0.1:[0-9]*' "$D/server.log" | head -1 | cut -d= -f2)
	curl -sS --max-time 10 "$m/metrics" 2>/dev/null |
	    sed -n "s/^ob_reloads_total{result=\"$1\"} //p"
}
hup() {
	k=$(reloads "$1")
	kill -HUP "$SP"
	i=0
	while [ "$(reloads "$1")" = "$k" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ "$(reloads "$1")" != "$k" ]
}

"$OB" keygen --key file:owner.pem >/dev/null || exit 1
"$OB" enroll --key file:owner.pem --owner alice@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$TRUST" >/dev/null || exit 1
n=0
issue() {	# $1: name; an agent-mediated credential into $1.wit, $1.wic
	n=$((n + 1))
	"$OB" request --sub "wimse://example.org/agents/a$n" --aud "$AUD" \
	    --owner alice@example.org --agent-key "agent$n.pem" --new-agent-key \
	    -o "req$n.json" >/dev/null &&
	"$OB" sign --key file:owner.pem -o "signed$n.json" "req$n.json" 2>/dev/null &&
	"$OB" pop --agent-key "agent$n.pem" -o "env$n.json" "signed$n.json" &&
	s=$(curl -sS --max-time 20 --cacert "$CA" --cert "$CERT" --key "$KEY" \
	    -o resp.json -w '%{http_code}' -H 'Content-Type: application/jose+json' \
	    --data-binary "@env$n.json" "$URL/v1/credentials" 2>/dev/null) &&
	[ "$s" = 201 ] &&
	"$PY" -c "import json; r = json.load(open('resp.json'))
open('$1.wit', 'w').write(r['wit'])
open('$1.wic', 'w').write(r['wic'])"
}
jwks() {	# $1: output file; curl's complaint in curl.err
	curl -sS --max-time 20 --cacert "$CA" --cert "$CERT" --key "$KEY" \
	    -o "$1" "$URL/v1/keys" 2>curl.err || { cat curl.err; return 1; }
}
# kids FILE: the JWKS's kids in order, one line.
kids() { "$PY" -c "import json; print(' '.join(k['kid'] for k in json.load(open('$1'))['keys']))"; }
# wkid NAME: the kid in NAME.wit's protected header.
wkid() { "$PY" -c "import base64,json; h = open('$1.wit').read().split('.')[0]
print(json.loads(base64.urlsafe_b64decode(h + '=' * (-len(h) % 4)))['kid'])"; }
# verify JWKS NAME...: jwcrypto checks each WIT with the JWKS (key by
# kid, alg from it); prints one "NAME ok" or "NAME refused: why" a line.
verify() {
	"$PY" - "$@" <<'PY'
import json, sys
from jwcrypto import jwk, jwt
ks = jwk.JWKSet.from_json(open(sys.argv[1]).read())
for name in sys.argv[2:]:
    try:
        t = jwt.JWT(jwt=open(name + ".wit").read(), key=ks, algs=["ES256"])
        json.loads(t.claims)
        print(name, "ok")
    except Exception as e:
        print(name, "refused:", type(e).__name__)
PY
}
# The WIC's leaf against its issuer CA (openssl, with its chain).
wic_ok() { openssl verify -CAfile "$2" -purpose sslclient "$1.wic" >/dev/null 2>&1; }

# 1. The dev key alone.
conf issuer issuer-ca.pem && start || { cat "$D/server.log"; echo "FAIL: no server"; exit 1; }
issue A || bad "credential A not issued"
jwks j1.json && OLD=$(kids j1.json) && ok "the dev key's kid $OLD" || bad "no JWKS"

# 2. The next key published by a reload, the old one signing.
conf issuer issuer-ca.pem issuer2-ca.pem && hup ok || bad "publish: the reload failed"
jwks j2.json
# shellcheck disable=SC2046 # the kids, one word each
set -- $(kids j2.json)
[ $# = 2 ] && [ "$1" = "$OLD" ] && [ "$2" != "$OLD" ] &&
    ok "published: two keys, the signing one first" || bad "published: kids $*"
NEW=${2:-}
issue B && [ "$(wkid B)" = "$OLD" ] && ok "B still signed with the old key" ||
    bad "B: kid $(wkid B 2>&1)"
# A reload that would publish the signing key is refused; the JWKS stays.
conf issuer issuer-ca.pem issuer-ca.pem
hup failed && grep -q "publish\[0\] holds the issuer's own key" "$D/server.log" &&
    jwks j2b.json && [ "$(kids j2b.json)" = "$OLD $NEW" ] &&
    ok "a reload publishing the signing key: refused, the JWKS kept" ||
    bad "a bad publish reload: $(kids j2b.json 2>&1)"
stop

# 3. Swapped.
conf issuer2 issuer2-ca.pem issuer-ca.pem && start || bad "swap: no server"
jwks j3.json
[ "$(kids j3.json)" = "$NEW $OLD" ] && ok "swapped: the new key first, the old published" ||
    bad "swapped: kids $(kids j3.json)"
issue C && [ "$(wkid C)" = "$NEW" ] && ok "C signed with the new key" ||
    bad "C: kid $(wkid C 2>&1)"
out=$(verify j3.json A B C)
[ "$out" = "A ok
B ok
C ok" ] && ok "jwcrypto verifies A, B and C with one JWKS" || bad "jwcrypto: $out"
wic_ok C dev/issuer2-ca.pem && ! wic_ok C dev/issuer-ca.pem && wic_ok A dev/issuer-ca.pem &&
    ok "openssl verify: each WIC under its own CA only" || bad "WIC verification"

# 4. The old key unpublished by a reload.
conf issuer2 issuer2-ca.pem && hup ok || bad "unpublish: the reload failed"
jwks j4.json
out=$(verify j4.json A C)
case "$out" in
"A refused:"*"
C ok") ok "unpublished: A refused, C verifies ($(echo "$out" | head -1))";;
*) bad "unpublished: $out";;
esac
stop

# 5. Refused at start, with what it names.
conf issuer2 issuer2-ca.pem issuer2-ca.pem
if start; then stop; bad "publishing the signing key was accepted"
elif grep -q "publish\[0\] holds the issuer's own key" "$D/server.log"; then
	ok "publishing the signing key: refused at start"
else cat "$D/server.log"; bad "publishing the signing key: no clear error"; fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=leaf -keyout dev/leaf.key -out dev/leaf.pem \
    -addext basicConstraints=critical,CA:FALSE 2>/dev/null
conf issuer2 issuer2-ca.pem issuer-ca.pem leaf.pem
if start; then stop; bad "a non-CA publish entry was accepted"
elif grep -q "publish\[1\]\[0\] is not a CA" "$D/server.log"; then
	ok "a published chain that is not a CA: refused at start"
else cat "$D/server.log"; bad "a non-CA publish entry: no clear error"; fi

exit $fail
