#!/bin/sh
# ownerbind-server's peers over real mutual TLS: a gateway client must name
# the proxy it serves (Ownerbind-Proxy) and is held to the gateway channel;
# a proxy's Ownerbind-Proxy header means nothing; a certificate from a
# trusted CA that maps to no configured client is refused; a peer over its
# rate gets 429 with Retry-After.  Every decision is in the record.
# Usage: test_server_peers.sh OWNERBIND-SERVER OWNERBIND
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=$1
OB=$2
PY=${OB_PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/srv-setup.sh"
srv_dev
srv_ca2

# Under the second client CA: a gateway's certificate and a stranger's.
mkleaf gw wimse://example.org/gateway/gw1 && mkleaf stranger wimse://example.org/nobody ||
    { echo "FAIL: openssl could not make the test certificates"; exit 1; }
"$PY" - "$D/dev" "${URL#https://}" <<'PY'
import json, sys
d, listen = sys.argv[1], sys.argv[2]
c = json.load(open(d + "/server.json"))
c["listen"] = listen
c["tls"]["client_ca"] = "clients-ca.pem"
c["clients"].append({"id": "gw1", "role": "gateway",
                     "san_uri": "wimse://example.org/gateway/gw1"})
c["rate"] = {"per_peer": {"per_second": 0.05, "burst": 4}}
json.dump(c, open(d + "/peers.json", "w"), indent=2)
PY
"$OB" keygen --key file:owner.pem >/dev/null || exit 1
"$OB" enroll --key file:owner.pem --owner alice@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$TRUST" >/dev/null || exit 1
(cd "$D/dev" && exec "$SRV" --config peers.json) 2>"$D/server.log" &
SP=$!
port=${URL##*:}
i=0
until "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$port" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 100 ] && { cat "$D/server.log"; echo "FAIL: no server"; exit 1; }
	sleep 0.1
done

n=0
envelope() {	# $1: output file; agent-mediated, a fresh agent key and jti
	n=$((n + 1))
	"$OB" request --sub "wimse://example.org/agents/a$n" --aud "$AUD" \
	    --owner alice@example.org --agent-key "agent$n.pem" --new-agent-key \
	    -o "req$n.json" >/dev/null &&
	"$OB" sign --key file:owner.pem -o "signed$n.json" "req$n.json" 2>/dev/null &&
	"$OB" pop --agent-key "agent$n.pem" -o "$1" "signed$n.json"
}
post() {	# $1: cert, $2: key, $3: body, rest: curl options; prints the status
	c=$1 k=$2 b=$3
	shift 3
	curl -sS --max-time 20 --cacert "$CA" --cert "$c" --key "$k" -D hdrs.txt \
	    -o resp.json -w '%{http_code}' -H 'Content-Type: application/jose+json' \
	    "$@" --data-binary "@$b" "$URL/v1/credentials" 2>/dev/null
}
code_is() { "$PY" -c "import json,sys; sys.exit(json.load(open('resp.json')).get('code') != '$1')"; }

envelope e1.json || exit 1
s=$(post gw.pem gw.key e1.json)
[ "$s" = 400 ] && code_is OB_ERR_SVC_BAD_REQUEST && ok "gateway without Ownerbind-Proxy: 400" ||
    bad "gateway without the header: $s"
s=$(post gw.pem gw.key e1.json -H "Ownerbind-Proxy: $(printf '%0200d' 0)")
[ "$s" = 400 ] && ok "gateway with an oversized Ownerbind-Proxy: 400" || bad "long proxy id: $s"
s=$(post gw.pem gw.key e1.json -H 'Ownerbind-Proxy: dev-proxy')
[ "$s" = 403 ] && code_is OB_ERR_REJECTED && ok "gateway channel, agent-mediated envelope: 403" ||
    bad "gateway channel: $s"
grep -q '"code":"OB_ERR_CHANNEL_MISMATCH"' server.log &&
    ok "the log names OB_ERR_CHANNEL_MISMATCH" || bad "channel mismatch not logged"
envelope e2.json || exit 1
s=$(post "$CERT" "$KEY" e2.json -H 'Ownerbind-Proxy: someone-else')
[ "$s" = 201 ] && ok "a proxy's Ownerbind-Proxy header is ignored: 201" || bad "proxy with header: $s"
s=$(post stranger.pem stranger.key e2.json)
[ "$s" = 403 ] && code_is OB_ERR_SVC_PEER_UNKNOWN && ok "trusted CA, unmapped certificate: 403" ||
    bad "stranger: $s"
# per_peer: burst 4, one token per 20 s; the proxy has spent one, the
# gateway three.
envelope e3.json && envelope e4.json && envelope e5.json && envelope e6.json || exit 1
s3=$(post "$CERT" "$KEY" e3.json); s4=$(post "$CERT" "$KEY" e4.json)
s5=$(post "$CERT" "$KEY" e5.json); s6=$(post "$CERT" "$KEY" e6.json)
[ "$s3$s4$s5" = 201201201 ] && [ "$s6" = 429 ] && code_is OB_ERR_SVC_RATE_LIMITED &&
    ok "per-peer rate: burst 4, then 429" || bad "rate: $s3 $s4 $s5 $s6"
grep -qi '^Retry-After: 20' hdrs.txt && ok "429 says Retry-After: 20" ||
    bad "no Retry-After: $(cat hdrs.txt)"
s=$(post "$CERT" "$KEY" e6.json)
[ "$s" = 429 ] && ok "still limited" || bad "after 429: $s"
s=$(post gw.pem gw.key e6.json -H 'Ownerbind-Proxy: dev-proxy')
[ "$s" = 403 ] && ok "the gateway's bucket is its own (its 4th request is verified)" ||
    bad "gateway bucket: $s"

out=$("$SRV" audit verify "$D/dev/audit.jsonl" 2>&1)
echo "$out" | grep -q ': 11 lines, chain intact' && ok "audit verify: $out" ||
    bad "audit verify: $out (want 11 decisions)"
rec() { grep -c "$1" "$D/dev/audit.jsonl" | grep -qx "$2"; }
rec '"code":"OB_ERR_SVC_RATE_LIMITED"' 2 && ok "record: both 429s" || bad "record: 429s"
rec '"code":"OB_ERR_SVC_PEER_UNKNOWN"' 1 && ok "record: the unmapped certificate" ||
    bad "record: stranger"
rec '"peer":"gw1"' 4 && ok "record: the gateway's four requests name it" || bad "record: gw1"
kill -TERM "$SP"; wait "$SP"; rc=$?; SP=
[ $rc = 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM exit $rc"
[ $fail = 0 ] || { echo "--- server log"; cat server.log; }
exit $fail
