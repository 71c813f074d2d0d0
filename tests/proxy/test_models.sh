#!/bin/sh
# test_models.sh PROXY SERVER GATEWAY OWNERBIND: issue #17 acceptance 1,
# the three models through one ownerbind-proxy over the network on
# loopback: `ownerbind-server --dev`, `ownerbind-gateway --dev`, and
# `ownerbind respond` as the owner's device (file key).  Three agent
# entries, one per model; each agent runs `ownerbind agent get`; each
# credential's WIT is verified with jwcrypto against the server's
# /v1/keys and its owner claim (id, type, model) and cnf checked, its WIC
# with `openssl verify`.  Then the gateway is stopped and an
# owner-mediated request gets the proxy's clear code.
# Exit 0 passed, 1 failed, 77 skipped.
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
PX=${1:?}; SRV=${2:?}; GW=${3:?}; OB=${4:?}
PY=${OB_PYTHON:-/usr/bin/python3}
for t in curl openssl; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t"; exit 77; }
done
"$PY" -c 'import jwcrypto' 2>/dev/null || { echo "SKIP: python3-jwcrypto"; exit 77; }
D=$(mktemp -d /tmp/models.XXXXXX) || exit 1
SP=''
GP=''
PP=''
fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
die() { echo "FAIL: $*"; exit 1; }
# shellcheck disable=SC2317 # run from the EXIT trap
cleanup() {
	[ -n "$PP" ] && kill "$PP" 2>/dev/null && wait "$PP" 2>/dev/null
	[ -n "$GP" ] && kill "$GP" 2>/dev/null && wait "$GP" 2>/dev/null
	[ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
cd "$D" || exit 1
wait_for() {	# $1 test expression (eval'd), $2 pid, $3 log
	i=0
	until eval "$1"; do
		kill -0 "$2" 2>/dev/null || die "exited: $(cat "$3")"
		i=$((i + 1)); [ $i -gt 600 ] && die "timed out: $1"
		sleep 0.05
	done
}
J() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

# The dev server makes its directory; the gateway's --dev registers in it.
"$SRV" --dev "$D/srv" --listen 127.0.0.1:0 2>srvdev.log &
SP=$!
wait_for '[ -f srv/dev.json ]' "$SP" srvdev.log
kill -TERM "$SP"; wait "$SP"; SP=''
"$GW" --dev "$D/gw" --server-dev "$D/srv" 2>gw.log &
GP=$!
wait_for '[ -f gw/dev.json ]' "$GP" gw.log
SURL=$(J srv/dev.json url); AUD=$(J srv/dev.json aud); CA=$(J srv/dev.json tls_ca)

# The owner alice (file key) for the agent- and server-mediated agents,
# and her device for `ownerbind respond` (a TLS client of the server).
"$OB" keygen --key file:alice.pem >/dev/null || die "keygen"
"$OB" enroll --key file:alice.pem --owner alice@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$(J srv/dev.json trust)" \
    >/dev/null || die "enroll"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout devca.key -out devca.pem -days 1 -subj '/CN=alice devices CA' \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign 2>/dev/null || die "device CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj '/CN=alice-phone' -keyout phone.key -out phone.csr 2>/dev/null &&
printf 'subjectAltName=URI:wimse://example.org/devices/alice-phone\nextendedKeyUsage=clientAuth\n' >phone.ext &&
openssl x509 -req -in phone.csr -CA devca.pem -CAkey devca.key -CAcreateserial \
    -days 1 -extfile phone.ext -out phone.pem 2>/dev/null || die "device certificate"
cat devca.pem >>srv/clients-ca.pem
"$PY" - srv/server.json <<'PY' || die "server configuration"
import json, sys
c = json.load(open(sys.argv[1]))
c["clients"].append({"id": "alice-phone", "role": "responder",
                     "owner": "alice@example.org",
                     "san_uri": "wimse://example.org/devices/alice-phone"})
c["challenge"] = {"interval_s": 1, "wait_max_s": 1}
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
"$SRV" --config "$D/srv/server.json" 2>server.log &
SP=$!
wait_for 'grep -q "\"event\":\"listening\"" server.log' "$SP" server.log
grep -q "\"detail\":\"$SURL" server.log || die "the server is not at $SURL"

# The proxy: one entry per model, this uid.
ME=$(id -u)
SOCK=$D/agent.sock
cat >proxy.json <<EOT
{
  "socket": "$SOCK",
  "server": { "url": "$SURL", "ca": "$CA",
    "cert": "$(J srv/dev.json client_cert)", "key": "$(J srv/dev.json client_key)" },
  "gateway": { "url": "$(J gw/dev.json url)", "ca": "$(J gw/dev.json tls_ca)",
    "cert": "$(J gw/dev.json client_cert)", "key": "$(J gw/dev.json client_key)" },
  "deadline_ms": 10000, "try_timeout_ms": 3000,
  "backoff_initial_ms": 50, "backoff_max_ms": 400,
  "agents": [
    { "name": "am", "ids": ["wimse://example.org/agents/am"],
      "uids": [$ME], "model": "agent-mediated" },
    { "name": "om", "ids": ["wimse://dev.ownerbind.test/agents/om"],
      "uids": [$ME], "model": "owner-mediated" },
    { "name": "sm", "ids": ["wimse://example.org/agents/sm"],
      "uids": [$ME], "model": "server-mediated" }
  ]
}
EOT
"$PX" --config proxy.json 2>proxy.log &
PP=$!
wait_for "[ -S '$SOCK' ]" "$PP" proxy.log

get() {	# $1 name, $2 agent id; the envelope $1.env; out $1.json/.wit/.pem
	"$OB" agent get --socket "$SOCK" --agent "$2" --envelope "$1.env" \
	    --wit "$1.wit" --wic "$1.pem" >"$1.out" 2>&1
}
request() {	# $1 name, $2 agent id, $3 owner
	"$OB" request --sub "$2" --aud "$AUD" --owner "$3" --agent-key "$1.key" \
	    --new-agent-key -o "$1.req" >/dev/null 2>&1
}
check() {	# $1 name, $2 agent id, $3 owner id, $4 model
	"$PY" - "$1" "$2" "$3" "$4" srv/trust.json jwks.json <<'PY'
import json, sys
from jwcrypto import jwk, jws
name, sub, owner, model, trust, jwks = sys.argv[1:7]
keys = jwk.JWKSet.from_json(open(jwks).read())
wit = open(name + ".wit").read().strip()
t = jws.JWS()
t.deserialize(wit)
kid = t.jose_header["kid"]
t.verify(keys.get_key(kid))          # raises unless the server signed it
claims = json.loads(t.payload)
assert claims["sub"] == sub, claims
o = [v for v in claims.values() if isinstance(v, dict) and "model" in v][0]
assert o["model"] == model and o["id"] == owner, o
tr = json.load(open(trust))
if model == "owner-mediated":
    g = [x for x in tr["gateways"] if x["owner"] == owner][0]
    assert o["type"] == "organization" and o["gateway"] == g["id"], o
else:
    want = [x.get("type", "user") for x in tr["owners"] if x["id"] == owner][0]
    assert o["type"] == want, (o, want)
agent = jwk.JWK.from_pem(open(name + ".key", "rb").read())
assert jwk.JWK(**claims["cnf"]["jwk"]).thumbprint() == agent.thumbprint()
print("   %s: %s owner=%s type=%s model=%s" % (name, sub, o["id"], o["type"],
                                             o["model"]))
PY
}
wic_ok() {	# $1 name, $2 agent id
	openssl verify -CAfile srv/issuer-ca.pem "$1.pem" >/dev/null 2>&1 &&
	openssl x509 -in "$1.pem" -noout -ext subjectAltName 2>/dev/null |
	    grep -q "URI:$2\$"
}
curl -sS --max-time 10 --cacert "$CA" --cert "$(J srv/dev.json client_cert)" \
    --key "$(J srv/dev.json client_key)" -o jwks.json "$SURL/v1/keys" ||
	die "the server's /v1/keys"

# 1. Agent-mediated: the agent brings alice's signature and its PoP.
A=wimse://example.org/agents/am
request am "$A" alice@example.org && "$OB" sign --key file:alice.pem \
    -o am.signed am.req 2>/dev/null && "$OB" pop --agent-key am.key \
    -o am.env am.signed || die "agent-mediated envelope"
get am "$A" && check am "$A" alice@example.org agent-mediated &&
    ok "agent-mediated through the proxy: WIT verified, owner alice, model" ||
	bad "agent-mediated: $(cat am.out)"
wic_ok am "$A" && ok "agent-mediated WIC: openssl verify, URI SAN" || bad "am WIC"

# 2. Owner-mediated: an agent-only envelope, the proxy to the dev gateway.
O=wimse://dev.ownerbind.test/agents/om
request om "$O" org.dev.ownerbind.test && "$OB" pop --model owner-mediated \
    --agent-key om.key -o om.env om.req || die "owner-mediated envelope"
get om "$O" && check om "$O" org.dev.ownerbind.test owner-mediated &&
    ok "owner-mediated through the proxy and the dev gateway: the organisation, the gateway" ||
	bad "owner-mediated: $(cat om.out)"
wic_ok om "$O" && ok "owner-mediated WIC: openssl verify, URI SAN" || bad "om WIC"

# 3. Server-mediated: the proxy starts the challenge and polls; alice's
# device answers with `ownerbind respond --once --yes`.
S=wimse://example.org/agents/sm
request sm "$S" alice@example.org && "$OB" pop --model server-mediated \
    --agent-key sm.key -o sm.env sm.req || die "server-mediated envelope"
get sm "$S" &
AG=$!
SPIN="sha256//$(openssl x509 -in srv/server.pem -pubkey -noout |
    openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"
"$OB" respond --server "$SURL" --ca "$CA" --server-pin "$SPIN" \
    --cert phone.pem --key phone.key --owner-key file:alice.pem \
    --once --yes --wait 10 --timeout 10 >respond.out 2>&1 ||
	bad "respond: $(cat respond.out)"
wait "$AG"; rc=$?
[ $rc = 0 ] && check sm "$S" alice@example.org server-mediated &&
    ok "server-mediated through the proxy: approved by respond, owner alice, model" ||
	bad "server-mediated: $rc $(cat sm.out)"
wic_ok sm "$S" && ok "server-mediated WIC: openssl verify, URI SAN" || bad "sm WIC"
grep -q "agent     $S" respond.out && ok "the responder was shown the agent" ||
	bad "respond output: $(cat respond.out)"

# 4. The gateway down: an owner-mediated request gets the proxy's code.
kill -TERM "$GP"; wait "$GP"; GP=''
request om2 "$O" org.dev.ownerbind.test && "$OB" pop --model owner-mediated \
    --agent-key om2.key -o om2.env om2.req || die "owner-mediated envelope 2"
if get om2 "$O"; then
	bad "a credential with the gateway down: $(cat om2.out)"
elif grep -q OB_ERR_PROXY_UPSTREAM_DOWN om2.out; then
	ok "the gateway down: OB_ERR_PROXY_UPSTREAM_DOWN to the agent"
else
	bad "gateway down: $(cat om2.out)"
fi
# 5. No entry names an executable: Landlock is entered where the kernel
# has it (said so either way), seccomp always; a reload adding an exe
# entry is refused while Landlock holds.
if grep -q '"event":"sandbox","detail":"landlock ABI [0-9]*: the filesystem is 9 paths to read and 1 to write"' proxy.log; then
	ok "landlock in force: 9 paths to read, 1 to write"
	cp proxy.json proxy.good
	sed "s|\"uids\": \[$ME\], \"model\": \"server-mediated\"|\"uids\": [$ME], \"exe\": \"/bin/sh\", \"model\": \"server-mediated\"|" \
	    proxy.good >proxy.json
	kill -HUP "$PP"; sleep 0.3
	grep -q '"code":"OB_ERR_PROXY_RELOAD","detail":"the agents entry' proxy.log &&
	    ok "landlock in force: a reload adding an exe entry refused" ||
	    bad "exe reload: $(grep reload proxy.log)"
	cp proxy.good proxy.json
elif grep -q '"detail":"landlock: not in force, the kernel' proxy.log; then
	ok "landlock: the kernel has none, logged"
else
	bad "landlock: $(grep sandbox proxy.log)"
fi
grep -q '^Seccomp:[[:space:]]*2$' /proc/"$PP"/status && ok "seccomp: Seccomp 2" ||
    bad "seccomp: $(grep Seccomp /proc/"$PP"/status)"
[ $fails = 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
