#!/bin/sh
# test_gateway_dev.sh SERVER OWNERBIND GATEWAY: `ownerbind-gateway --dev
# DIR --server-dev SERVER_DIR` (issue #15, docs/gateway.md "Development
# mode") next to `ownerbind-server --dev`: the gateway's own SoftHSM2
# token, PKI, policy and registration; a credential through it with curl
# whose owner claim names the organisation and the gateway; a request
# outside the dev trust domain denied by its policy; no PIN in any
# process's argv; the gateway maps no PKCS#11 module and links no token
# library; a SERVER_DIR that is not a dev server's, a DIR that is not
# empty and a second run on the same DIR refused; a failed token step
# leaves DIR empty.
# Exit 0 passed, 1 failed, 77 skipped.
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=${1:?}; OB=${2:?}; GW=${3:?}
PY=${OB_PYTHON:-/usr/bin/python3}
for t in curl openssl readelf; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t"; exit 77; }
done
[ -f /usr/lib/softhsm/libsofthsm2.so ] ||
    [ -f /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so ] ||
    { echo "SKIP: softhsm2"; exit 77; }
D=$(mktemp -d /tmp/gwdev.XXXXXX) || exit 1
SP=''
GP=''
fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
die() { echo "FAIL: $*"; exit 1; }
# shellcheck disable=SC2317 # run from the EXIT trap
cleanup() {
	[ -n "$GP" ] && kill "$GP" 2>/dev/null && wait "$GP" 2>/dev/null
	[ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
cd "$D" || exit 1
wait_file() {	# $1 file, $2 pid, $3 log
	i=0
	while [ ! -f "$1" ]; do
		kill -0 "$2" 2>/dev/null || die "exited: $(cat "$3")"
		i=$((i + 1)); [ $i -gt 600 ] && die "no $1"
		sleep 0.05
	done
}
wait_log() {	# $1 file, $2 text, $3 pid
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || die "not running: $(cat "$1")"
		i=$((i + 1)); [ $i -gt 400 ] && die "no \"$2\" in $1"
		sleep 0.05
	done
}
J() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

# Refusals before anything is made.
mkdir notdev && echo x >notdev/file
"$GW" --dev "$D/g0" --server-dev "$D/notdev" 2>err.txt
[ $? = 1 ] && grep -q OB_ERR_GW_DEV_SERVER err.txt && [ ! -e g0 ] &&
	ok "a SERVER_DIR without a dev server's dev.json is refused" ||
	bad "not a dev server dir: $(cat err.txt)"

"$SRV" --dev "$D/srv" --listen 127.0.0.1:0 2>srvdev.log &
SP=$!
wait_file "$D/srv/dev.json" "$SP" srvdev.log
kill -TERM "$SP"; wait "$SP"; SP=''
SURL=$(J srv/dev.json url)

# Without ownerbind-dev-token next to it: the token step fails, nothing
# of it stays behind, nothing is registered.
mkdir lonely && cp "$GW" lonely/ && cp srv/trust.json trust.before
lonely/ownerbind-gateway --dev "$D/g1" --server-dev "$D/srv" 2>err.txt
[ $? = 1 ] && grep -q OB_ERR_GW_DEV_TOKEN err.txt && [ -d g1 ] &&
    [ -z "$(ls -A g1)" ] && cmp -s trust.before srv/trust.json &&
	ok "a failed token step: OB_ERR_GW_DEV_TOKEN, DIR left empty, nothing registered" ||
	bad "token step failure: $(cat err.txt); $(ls -A g1)"
rm -rf lonely

mkdir foreign && echo mine >foreign/keep
"$GW" --dev "$D/foreign" --server-dev "$D/srv" 2>err.txt
[ $? = 1 ] && grep -q OB_ERR_DEVMODE_DIR err.txt &&
    [ "$(ls foreign)" = keep ] && [ "$(cat foreign/keep)" = mine ] &&
	ok "a DIR that is not empty is refused and left alone" ||
	bad "foreign DIR: $(cat err.txt); $(ls foreign)"
"$GW" --dev "$D/srv" --server-dev "$D/srv" 2>err.txt
[ $? = 1 ] && grep -q OB_ERR_DEVMODE_DIR err.txt &&
	ok "the server's own directory is refused" || bad "DIR = SERVER_DIR: $(cat err.txt)"

# The development gateway; dev.json appears once it listens.
"$GW" --dev "$D/gw" --server-dev "$D/srv" 2>gw.log &
GP=$!
wait_file "$D/gw/dev.json" "$GP" gw.log
GURL=$(J gw/dev.json url)
"$PY" - "$D/gw/dev.json" <<'PY' && ok "dev.json: url, tls_ca, client_cert, client_key, policy, config (absolute, present)" || bad "dev.json: $(cat "$D/gw/dev.json")"
import json, os, sys
d = json.load(open(sys.argv[1]))
assert sorted(d) == sorted(["url", "tls_ca", "client_cert", "client_key",
                            "policy", "config"]), d
assert d["url"].startswith("https://127.0.0.1:"), d
for k in d:
    if k != "url":
        assert os.path.isabs(d[k]) and os.path.isfile(d[k]), (k, d[k])
PY
m=$(stat -c %a gw/so.pin gw/user.pin gw/org-ca.key gw/proxy.key gw/gateway-client.key gw/gateway-tls.key | sort -u)
[ "$m" = 600 ] && ok "PIN and key files are 0600" || bad "modes: $m"
UPIN=$(head -1 gw/user.pin); SOPIN=$(head -1 gw/so.pin)
[ ${#UPIN} -ge 32 ] && [ "$UPIN" != "$SOPIN" ] && ok "random user and SO PINs" ||
	bad "PINs: ${#UPIN}"
found=''
for f in /proc/[0-9]*/cmdline; do
	grep -aqe "$UPIN" -e "$SOPIN" "$f" 2>/dev/null && found="$found $f"
done
[ -z "$found" ] && ! grep -aqe "$UPIN" -e "$SOPIN" "/proc/$GP/environ" &&
	ok "no PIN in the argv of any process, nor in the gateway's environment" ||
	bad "a PIN in$found"
MET=$(grep -o 'metrics=http://127.0.0.1:[0-9]*' gw.log | head -1 | cut -d= -f2)
HPID=$("$PY" -c "import json,urllib.request; print(json.load(urllib.request.urlopen('$MET/healthz'))['signer']['pid'])")
if grep -Eiq 'softhsm|p11-kit-proxy|/pkcs11/' "/proc/$GP/maps"; then
	bad "the gateway maps a PKCS#11 module"
elif ! grep -q libsofthsm2 "/proc/$HPID/maps"; then
	bad "the signer maps no libsofthsm2: the check proves nothing"
else
	ok "the gateway maps no PKCS#11 module (its signer $HPID maps libsofthsm2)"
fi
readelf -d "$GW" | grep NEEDED | grep -Eiq 'p11|tss2|fido2|pcsc' &&
	bad "the gateway links a token library" || ok "the gateway links no token library"

# The registration: the server, started again, takes the gateway.
"$PY" - "$D/srv" <<'PY' && ok "registered: trust store gateways[], client with role gateway, same listen address" || bad "registration"
import json, sys
d = sys.argv[1]
t = json.load(open(d + "/trust.json"))
g = [x for x in t["gateways"] if x["id"] == "gw.dev.ownerbind.test"]
assert len(g) == 1 and g[0]["owner"] == "org.dev.ownerbind.test", t
c = json.load(open(d + "/server.json"))
assert [x["role"] for x in c["clients"] if x["id"] == "dev-gateway"] == ["gateway"]
assert "https://" + c["listen"] == json.load(open(d + "/dev.json"))["url"]
PY
"$SRV" --config "$D/srv/server.json" 2>server.log &
SP=$!
wait_log server.log '"event":"listening"' "$SP"
grep -q "\"detail\":\"$SURL" server.log && ok "the server listens at its dev.json url again" ||
	bad "server url: $(grep listening server.log)"

AUD=$(J srv/dev.json aud)
n=0
envelope() {	# $1 agent id, $2 output
	n=$((n + 1))
	"$OB" request --sub "$1" --aud "$AUD" --owner org.dev.ownerbind.test \
	    --agent-key "agent$n.pem" --new-agent-key -o "req$n.json" >/dev/null &&
	"$OB" pop --model owner-mediated --agent-key "agent$n.pem" -o "$2" "req$n.json"
}
post() {	# $1 envelope; prints the status, the answer in resp.json
	curl -sS --max-time 20 --cacert "$(J gw/dev.json tls_ca)" \
	    --cert "$(J gw/dev.json client_cert)" --key "$(J gw/dev.json client_key)" \
	    -o resp.json -w '%{http_code}' -H 'Content-Type: application/jose+json' \
	    --data-binary "@$1" "$GURL/v1/credentials" 2>/dev/null
}
envelope wimse://dev.ownerbind.test/agents/a1 e1.json || die "envelope"
s=$(post e1.json)
[ "$s" = 201 ] && ok "a credential through the dev gateway: 201" || bad "issue: $s $(cat resp.json)"
"$PY" - resp.json <<'PY' && ok "owner claim: the organisation, type organization, the gateway, owner-mediated" || bad "owner claim: $(cat resp.json)"
import base64, json, sys
r = json.load(open(sys.argv[1]))
p = r["wit"].split(".")[1]
w = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
o = [v for v in w.values() if isinstance(v, dict) and v.get("model")][0]
assert o["id"] == "org.dev.ownerbind.test" and o["type"] == "organization", o
assert o["gateway"] == "gw.dev.ownerbind.test" and o["kind"] == "gateway", o
assert o["model"] == "owner-mediated" and o["assurance"] == "hardware", o
open("wic.pem", "w").write(r["wic"])
PY
openssl verify -CAfile srv/issuer-ca.pem wic.pem >/dev/null 2>&1 &&
	ok "openssl verify: the WIC chains to the dev issuer CA" || bad "openssl verify"
envelope wimse://example.org/agents/outside e2.json || die "envelope 2"
s=$(post e2.json)
[ "$s" = 403 ] && grep -q OB_ERR_POLICY_DENIED resp.json &&
	ok "an agent outside the dev trust domain: denied by the dev policy" ||
	bad "outside: $s $(cat resp.json)"

# ownerbind-dev-token alone: a second token of the same label is refused
# (its key would be ambiguous); a PIN file others can read is refused.
TOK=$(dirname "$GW")/ownerbind-dev-token
MOD=$("$PY" -c "import json; print(json.load(open('gw/signer.json'))['keys'][0]['uri'].split('module-path=')[1])")
SOFTHSM2_CONF=$D/gw/softhsm2.conf "$TOK" "$MOD" ownerbind-dev-gateway \
    gw/so.pin gw/user.pin "pkcs11:token=ownerbind-dev-gateway;object=x?module-path=$MOD" \
    x.pem 2>err.txt
[ $? = 1 ] && grep -q OB_ERR_KEY_EXISTS err.txt && [ ! -e x.pem ] &&
	ok "dev-token: a second token with the same label is refused" ||
	bad "dev-token same label: $(cat err.txt)"
mkdir -p t2/tokens && printf 'directories.tokendir = %s\n' "$D/t2/tokens" >t2/softhsm2.conf
printf '1234\n' >t2/so.pin; printf '5678\n' >t2/user.pin
chmod 600 t2/so.pin; chmod 644 t2/user.pin
SOFTHSM2_CONF=$D/t2/softhsm2.conf "$TOK" "$MOD" t2 t2/so.pin t2/user.pin \
    "pkcs11:token=t2;object=x?module-path=$MOD" t2/x.pem 2>err.txt
[ $? = 1 ] && grep -q OB_ERR_PIN_SOURCE err.txt && [ -z "$(ls -A t2/tokens)" ] &&
	ok "dev-token: a PIN file others can read is refused before the token is made" ||
	bad "dev-token loose PIN: $(cat err.txt)"

# Run again on the same DIR: refused (dev mode never reuses keys).
"$GW" --dev "$D/gw" --server-dev "$D/srv" 2>err.txt
[ $? = 1 ] && grep -q OB_ERR_DEVMODE_DIR err.txt && [ -f gw/dev.json ] &&
	ok "a second --dev on the same DIR is refused" || bad "rerun: $(cat err.txt)"

kill -TERM "$GP"; wait "$GP"; rc=$?; GP=''
[ $rc = 0 ] && ok "SIGTERM: the gateway exits 0" || bad "gateway exit $rc"
[ $fails = 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
