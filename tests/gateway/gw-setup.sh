# gw-setup.sh: sourced by the gateway tests.  Builds, in $D, a development
# identity server and an organisation gateway in front of it:
#   - the server from `ownerbind-server --dev`, restarted with the
#     gateway as a client (role gateway) and the organisation in its trust
#     store (gateways[]: the organisation CA, proxies, trust domains);
#   - a SoftHSM2 token whose key only ownerbind-signer opens (role
#     gateway, gateway_id $GWID); the gateway's signing certificate for
#     that key under the organisation CA (SAN DNS:$GWID, EKU
#     documentSigning);
#   - a TLS CA issuing the gateway's server and client certificates and
#     the proxy's client certificate;
#   - gateway.json and policy.json (allow wimse://acme.example/agents/*).
# Needs: SRV OB SIG GW PY HERE set; defines start_server, start_gateway,
# stop_all, envelope, post.  Exits 77 when a tool is missing.
# shellcheck shell=sh
# shellcheck disable=SC2034 # SURL, STRUST, GMET are for the tests that source this
# shellcheck disable=SC2015 # "a && b || die": die only reports
for t in softhsm2-util openssl curl; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t"; exit 77; }
done
"$PY" -c 'import jwcrypto' 2>/dev/null || { echo "SKIP: python3-jwcrypto"; exit 77; }
GWID=gw.acme.example
ORG=org:acme
UPIN='Gw-PIN-3f8a61d0'
SP=''
GP=''
die() { echo "FAIL: $*" >&2; exit 1; }
# The tests' EXIT trap (stop_all) runs when INT or TERM ends them too:
# dash runs none when a signal ends it.
trap 'exit 130' INT
trap 'exit 143' TERM

eval "$("$HERE/../pkcs11/softhsm-fixture.sh" "$D/hsm" "$UPIN" 'So-9x')" ||
	die "SoftHSM2 fixture"
printf '%s\n' "$UPIN" >"$D/pin"; chmod 600 "$D/pin"
U="pkcs11:token=owner-test;object=gateway?module-path=$SOFTHSM_MODULE"
printf "%s\n" "$U" >"$D/uri"
"$OB" keygen --key "$U&pin-source=file:$D/pin" --alg ES256 --json \
    >"$D/hsmkey.json" 2>"$D/out" || die "keygen on the token: $(cat "$D/out")"
"$PY" -c '
import json, sys
from jwcrypto import jwk
d = json.load(open(sys.argv[1]))
k = d.get("jwk") or d["key"]["jwk"]
open(sys.argv[2], "wb").write(jwk.JWK(**k).export_to_pem())
' "$D/hsmkey.json" "$D/hsmpub.pem" || die "public key"

# The organisation CA and the gateway's signing certificate (HSM key).
cd "$D" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout orgca.key -out orgca.pem -days 2 -subj '/O=Acme/CN=Acme org CA' \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign 2>out || die "org CA"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature
extendedKeyUsage=1.3.6.1.5.5.7.3.36\nsubjectAltName=DNS:%s\n' "$GWID" >gwsig.ext
openssl x509 -new -subj "/O=Acme/CN=$GWID" -force_pubkey hsmpub.pem \
    -CA orgca.pem -CAkey orgca.key -extfile gwsig.ext -days 1 \
    -out gwsig.pem 2>out || die "gateway signing certificate: $(cat out)"
cat gwsig.pem orgca.pem >x5c.pem

# TLS: one CA for the gateway's listener, its client side and the proxy.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout tlsca.key -out tlsca.pem -days 2 -subj '/CN=gateway TLS CA' \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign 2>out || die "TLS CA"
mkleaf() {	# $1 name, $2 extensions
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null &&
	printf '%b' "$2" >"$1.ext" &&
	openssl x509 -req -in "$1.csr" -CA tlsca.pem -CAkey tlsca.key \
	    -CAcreateserial -days 1 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
mkleaf gwtls 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' &&
mkleaf gwclient 'subjectAltName=URI:wimse://acme.example/gateway\nextendedKeyUsage=clientAuth\n' &&
mkleaf proxy 'subjectAltName=URI:wimse://acme.example/proxy/p1\nextendedKeyUsage=clientAuth\n' &&
mkleaf stranger 'subjectAltName=URI:wimse://acme.example/nobody\nextendedKeyUsage=clientAuth\n' ||
	die "TLS certificates"

# The development server, then its configuration with the gateway.
"$SRV" --dev "$D/srv" --listen 127.0.0.1:0 2>"$D/srvdev.log" &
SP=$!
i=0
while [ ! -f "$D/srv/dev.json" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -f "$D/srv/dev.json" ] || die "dev server: $(cat "$D/srvdev.log")"
kill -TERM "$SP"; wait "$SP"; SP=
SJ() { "$PY" -c "import json,sys; print(json.load(open('$D/srv/dev.json'))[sys.argv[1]])" "$1"; }
SURL=$(SJ url); AUD=$(SJ aud); STRUST=$(SJ trust)
cat "$D/srv/tls-ca.pem" tlsca.pem >"$D/srv/clients-ca.pem"
"$PY" - "$D" "$GWID" "$ORG" <<'PY' || die "server and gateway configuration"
import json, sys
d, gwid, org = sys.argv[1:4]
dev = json.load(open(d + "/srv/dev.json"))
c = json.load(open(d + "/srv/server.json"))
c["listen"] = dev["url"].split("//", 1)[1]
c["tls"]["client_ca"] = "clients-ca.pem"
c["clients"].append({"id": "gw-acme", "role": "gateway",
                     "san_uri": "wimse://acme.example/gateway"})
c["rate"] = {k: {"per_second": 0} for k in ("per_peer", "per_owner",
             "per_agent")}
json.dump(c, open(d + "/srv/gwsrv.json", "w"), indent=1)
t = json.load(open(dev["trust"]))
t["gateways"].append({"id": gwid, "owner": org, "ca": [open(d + "/orgca.pem").read()],
                      "algs": ["ES256"], "proxies": ["p1"],
                      "trust_domains": ["acme.example"],
                      "may_bind": ["wimse://acme.example/agents/*"],
                      "require_eku": True, "kind": "pkcs11"})
json.dump(t, open(dev["trust"], "w"), indent=1)
json.dump({"keys": [{"name": "gw", "uri": open(d + "/uri").read().strip(),
                     "pin_source": "file:" + d + "/pin", "role": "gateway",
                     "gateway_id": gwid}]}, open(d + "/signer.json", "w"))
g = {"listen": "127.0.0.1:0", "metrics_listen": "127.0.0.1:0", "id": gwid,
     "aud": dev["aud"],
     "tls": {"cert": "gwtls.pem", "key": "gwtls.key", "client_ca": "tlsca.pem"},
     "proxies": [{"id": "p1", "san_uri": "wimse://acme.example/proxy/p1"}],
     "server": {"url": dev["url"], "ca": dev["tls_ca"], "cert": "gwclient.pem",
                "key": "gwclient.key", "timeout_ms": 5000},
     "signer": {"config": "signer.json", "key": "gw", "backoff_max_ms": 500},
     "x5c": "x5c.pem", "policy": "policy.json", "trust": dev["trust"],
     "audit": "gw-audit.jsonl", "approval_timeout_s": 60,
     "rate": {k: {"per_second": 0} for k in ("per_proxy", "per_owner",
              "per_agent")},
     "limits": {"workers": 4}}
json.dump(g, open(d + "/gateway.json", "w"), indent=1)
json.dump({"ownerbind_gateway_policy": 1, "rules": [
    {"name": "no-sandbox-agents", "effect": "deny",
     "agents": ["wimse://acme.example/agents/sandbox-*"]},
    {"name": "acme-agents", "effect": "allow", "proxies": ["p1"],
     "agents": ["wimse://acme.example/agents/*"], "max_lifetime": 600,
     "agent_algs": ["ES256"]}]}, open(d + "/policy.json", "w"), indent=1)
PY

wait_log() {	# $1 file, $2 text, $3 pid
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || die "not running: $(cat "$1")"
		i=$((i + 1)); [ $i -gt 400 ] && die "no \"$2\" in $1"
		sleep 0.05
	done
}
nlistening() { c=$(grep -c '"event":"listening"' "$D/server.log" 2>/dev/null); echo "${c:-0}"; }
start_server() {
	# The log is appended to: a restarted server is up at one more
	# "listening" line, not at the last server's.
	n0=$(nlistening)
	(cd "$D/srv" && exec "$SRV" --config gwsrv.json) 2>>"$D/server.log" &
	SP=$!
	i=0
	while [ "$(nlistening)" -le "$n0" ]; do
		kill -0 "$SP" 2>/dev/null || die "not running: $(cat "$D/server.log")"
		i=$((i + 1)); [ $i -gt 400 ] && die "no new \"listening\" in $D/server.log"
		sleep 0.05
	done
}
LP=''
start_gateway() {
	# The log through a pipe: a file-size limit on the gateway (the
	# faults test) must hit its record, not its log.
	rm -f "$D/log.fifo"; mkfifo "$D/log.fifo" || die "mkfifo"
	cat "$D/log.fifo" >"$D/gateway.log" &
	LP=$!
	(cd "$D" && exec "$GW" --config gateway.json) 2>"$D/log.fifo" &
	GP=$!
	wait_log "$D/gateway.log" '"event":"listening"' "$GP"
	GURL=$(grep -o '"detail":"https://127.0.0.1:[0-9]*' "$D/gateway.log" |
	    head -1 | cut -d'"' -f4)
	GMET=$(grep -o 'metrics=http://127.0.0.1:[0-9]*' "$D/gateway.log" |
	    head -1 | cut -d= -f2)
}
# The log arrives through a pipe, after the answer: wait for a line.
logged() {
	i=0
	while ! grep -q -- "$1" "$D/gateway.log"; do
		i=$((i + 1)); [ $i -gt 200 ] && return 1
		sleep 0.05
	done
}
# Both continued first: one the test stopped (SIGSTOP: the faults test's
# slow server) would not end, and the wait would hang; the gateway's
# drain, before the server is ended, waits on a stopped server too.
stop_all() {
	for p in $GP $SP; do kill -CONT "$p" 2>/dev/null; done
	[ -n "$GP" ] && kill -TERM "$GP" 2>/dev/null && wait "$GP" 2>/dev/null
	[ -n "$LP" ] && wait "$LP" 2>/dev/null
	LP=''
	[ -n "$SP" ] && kill -TERM "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
	GP=''
	SP=''
}
n=0
envelope() {	# $1 output, $2 agent name; an agent-only owner-mediated request
	n=$((n + 1))
	"$OB" request --sub "wimse://acme.example/agents/$2" --aud "$AUD" \
	    --owner "$ORG" --agent-key "$D/agent$n.pem" --new-agent-key \
	    ${3:+--ttl "$3"} -o "$D/req$n.json" >/dev/null &&
	"$OB" pop --model owner-mediated --agent-key "$D/agent$n.pem" \
	    -o "$1" "$D/req$n.json"
}
post() {	# $1 cert base name, $2 body; prints the status; resp.json, hdrs.txt
	curl -sS --max-time 30 --cacert "$D/tlsca.pem" --cert "$D/$1.pem" \
	    --key "$D/$1.key" -D "$D/hdrs.txt" -o "$D/resp.json" \
	    -w '%{http_code}' -H 'Content-Type: application/jose+json' \
	    --data-binary "@$2" "$GURL/v1/credentials" 2>/dev/null
}
code_is() { "$PY" -c "import json,sys; sys.exit(json.load(open('$D/resp.json')).get('code') != '$1')"; }
