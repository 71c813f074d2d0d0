#!/bin/sh
# Renewals at the identity server over mutual TLS (docs/envelope.md 3.1,
# docs/api.md), with the approval records in SQLite or in a private
# redis-server: an approval with a window is recorded at issuance, a
# renewal from its agent is issued for (exp within the window, the
# owner claim naming the approval), and every refusal: replayed, another
# agent key, another sub, owner or aud, an unknown approval, renews with
# renew_until, after the window, the owner's key revoked since.  Each
# refusal is a 403 with the public OB_ERR_REJECTED and its own code in
# the issuance record.
# Usage: test_renewal_server.sh sqlite|redis OWNERBIND-SERVER OWNERBIND
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
STORE=$1
SRV=$2
OB=$3
PY=${OB_PYTHON:-/usr/bin/python3}
RS=${OB_REDIS_SERVER:-redis-server}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/srv-setup.sh"

STATE=state.sqlite
if [ "$STORE" = redis ]; then
	command -v "$RS" >/dev/null || { echo "no redis-server"; exit 77; }
	srv_redis "$RS"
	STATE=$REDIS
fi

srv_dev
"$OB" keygen --key file:owner.pem >/dev/null || exit 1
"$OB" enroll --key file:owner.pem --owner alice@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$TRUST" >/dev/null || exit 1
"$PY" - "$D/dev/server.json" "$STATE" <<'EOT' || exit 1
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c.update({"min_lifetime": 1, "lifetime": 30, "state": sys.argv[2]})
json.dump(c, open(p, "w"), indent=2)
EOT
srv_serve

post() {	# $1: envelope; prints the status, the answer in resp.json
	curl -sS --max-time 10 --cacert "$CA" --cert "$CERT" --key "$KEY" \
	    -o resp.json -w '%{http_code}' -H 'Content-Type: application/jose+json' \
	    --data-binary "@$1" "$URL/v1/credentials"
}
field() {	# $1: file, $2: member
	"$PY" -c "import json,sys; print(json.load(open('$1')).get('$2', ''))"
}
# The last line of the issuance record has this code.
audit_code() {
	[ "$(tail -n 1 dev/audit.jsonl | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["code"])')" = "$1" ]
}
refused() {	# $1: envelope, $2: the code the record must show, $3: what
	s=$(post "$1")
	[ "$s" = 403 ] && [ "$(field resp.json code)" = OB_ERR_REJECTED ] &&
	    audit_code "$2" && ok "$STORE: $3: 403, recorded $2" ||
	    bad "$STORE: $3: $s $(cat resp.json) $(tail -n 1 dev/audit.jsonl)"
}
approve() {	# $1: agent key, $2: window, $3: output; sets APPR
	"$OB" request --sub wimse://example.org/agents/a1 --aud "$AUD" \
	    --owner alice@example.org --agent-key "$1" --new-agent-key \
	    --ttl "$2" --renew-window "$2" -o rq.json >/dev/null 2>rq.err || exit 1
	APPR=$(sed -n 's/.*request \([^ ]*\) for agent key.*/\1/p' rq.err)
	"$OB" sign --key file:owner.pem -o rs.json rq.json 2>/dev/null &&
	    "$OB" pop --agent-key "$1" -o "$3" rs.json || exit 1
}
renewal() {	# $1: agent key, $2: renews, $3: output, $4: sub, $5: owner, $6: aud
	"$OB" request --sub "${4:-wimse://example.org/agents/a1}" \
	    --aud "${6:-$AUD}" --owner "${5:-alice@example.org}" \
	    --agent-key "$1" --renews "$2" --ttl 20 -o rr.json >/dev/null 2>&1 &&
	"$OB" pop --agent-key "$1" --model agent-mediated -o "$3" rr.json
}

approve ka.pem 600 ap.json
APPR1=$APPR
s=$(post ap.json)
[ "$s" = 201 ] && ok "$STORE: an approval with a 600 s window: 201" ||
    bad "$STORE: approval: $s $(cat resp.json)"
if [ "$STORE" = redis ]; then
	[ "$(redis-cli -s redis.sock --scan --pattern '*a:*' | grep -c ":$APPR\$")" = 1 ] &&
	    ok "redis: the approval record is in Redis" || bad "redis: no record key"
else
	[ "$("$PY" -c "import sqlite3; print(sqlite3.connect('dev/state.sqlite').execute('select count(*) from approval where k like \"%:$APPR\"').fetchone()[0])")" = 1 ] &&
	    ok "sqlite: the approval record is in the state file" || bad "sqlite: no record row"
fi
renewal ka.pem "$APPR" r1.json || exit 1
s=$(post r1.json)
now=$(date +%s)
[ "$s" = 201 ] && [ "$(field resp.json expires_at)" -le $((now + 30)) ] &&
    [ "$(field resp.json owner | "$PY" -c "import ast,sys; o = ast.literal_eval(sys.stdin.read()); print(o['renewal_of'])")" = "$APPR" ] &&
    ok "$STORE: a renewal from the approval's agent: 201, owner claim renewal_of" ||
    bad "$STORE: renewal: $s $(cat resp.json)"
tail -n 1 dev/audit.jsonl | grep -q "\"decision\":\"accepted\".*\"renewal_of\":\"$APPR\"" &&
    ok "$STORE: the issuance record names the approval" || bad "$STORE: audit: $(tail -n 1 dev/audit.jsonl)"
refused r1.json OB_ERR_REPLAY "the same renewal again"
renewal kb.pem "$APPR" r2.json >/dev/null 2>&1 ||
    { "$OB" keygen --key file:kb.pem >/dev/null && renewal kb.pem "$APPR" r2.json; } || exit 1
refused r2.json OB_ERR_RENEWAL_UNKNOWN "another agent key"
renewal ka.pem "$APPR" r3.json wimse://example.org/agents/a2 || exit 1
refused r3.json OB_ERR_RENEWAL_MISMATCH "another sub"
renewal ka.pem "$APPR" r4.json "" bob@example.org || exit 1
refused r4.json OB_ERR_RENEWAL_MISMATCH "another owner"
renewal ka.pem "$APPR" r5.json "" "" https://other.example || exit 1
refused r5.json OB_ERR_AUD_MISMATCH "another aud"
renewal ka.pem AAAAAAAAAAAAAAAAAAAAAA r6.json || exit 1
refused r6.json OB_ERR_RENEWAL_UNKNOWN "an unknown approval jti"
# renews and renew_until together: the CLI will not make it, so the
# payload of a signed renewal is given a window (refused before any
# signature is checked).
renewal ka.pem "$APPR" r7.json || exit 1
"$PY" - r7.json <<'EOT' || exit 1
import base64, json, sys
e = json.load(open(sys.argv[1]))
p = e["payload"]
c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
c["renew_until"] = c["exp"] + 600
e["payload"] = base64.urlsafe_b64encode(json.dumps(c, separators=(",", ":")).encode()).decode().rstrip("=")
json.dump(e, open(sys.argv[1], "w"))
EOT
refused r7.json OB_ERR_APPROVAL_WINDOW "renews with renew_until"
# After the window: a 3 s one.
approve kc.pem 3 ap2.json
s=$(post ap2.json)
[ "$s" = 201 ] || bad "$STORE: short approval: $s $(cat resp.json)"
APPR2=$APPR
sleep 4
"$OB" request --sub wimse://example.org/agents/a1 --aud "$AUD" \
    --owner alice@example.org --agent-key kc.pem --renews "$APPR2" --ttl 20 \
    -o rr.json >/dev/null 2>&1 &&
    "$OB" pop --agent-key kc.pem --model agent-mediated -o r8.json rr.json || exit 1
refused r8.json OB_ERR_APPROVAL_WINDOW "after the window"
# The owner's key revoked since the approval: renewals end at once.
KID=$("$OB" trust list --trust "$TRUST" --json | "$PY" -c "
import json, sys
d = json.load(sys.stdin)
print([k['kid'] for o in d['owners'] if o['id'] == 'alice@example.org' for k in o['keys']][0])")
"$OB" trust revoke-key --trust "$TRUST" --kid "$KID" --reason lost >/dev/null || exit 1
kill -HUP "$SP"
i=0
while ! grep -q '"event":"reload"' server.log && [ $i -lt 40 ]; do
	sleep 0.05; i=$((i + 1))
done
renewal ka.pem "$APPR1" r9.json || exit 1
refused r9.json OB_ERR_OWNER_KEY_REVOKED "the owner's key revoked since"

[ $fail = 0 ] || tail -20 server.log
exit $fail
