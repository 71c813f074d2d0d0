#!/bin/sh
# Passkey enrolment through the server's page (docs/server-mediated.md,
# "Enrolling a passkey") in a real headless Chromium with its virtual
# WebAuthn authenticator (tests/server/cdp_enrol.py): an invite made with
# ownerbind-server invite, the passkey enrolled on the page, the trust
# store reloaded with it, a held request approved by the same browser on
# the approval page, the credential issued; a second invite's browser-made
# registration tampered for each refusal (no trust-store change), accepted
# by python3-fido2's Fido2Server.register_complete and by the server, once,
# also when eight posts race.
# Usage: test_enrol.sh OWNERBIND-SERVER OWNERBIND
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=$1
OB=$2
PY=${OB_PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v chromium >/dev/null || { echo "SKIP: no chromium"; exit 77; }
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/srv-setup.sh"

srv_dev
PORT=$(free_port)
ORIGIN="https://localhost:$PORT"
mkdir -m 700 "$D/enrol"

# Alice is in the trust store with a software key only: the page's
# passkey is added to her entry.  Bob is not there at all.
"$PY" - "$D/dev/server.json" "$TRUST" "$PORT" "$ORIGIN" "$D/enrol" <<'EOF' || exit 1
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.asymmetric import ec
cp, tp, port, origin, ed = sys.argv[1:6]
c = json.load(open(cp))
c["listen"] = "127.0.0.1:" + port
c["challenge"] = {"interval_s": 30, "approval_page": True}
# Every browser request here comes from 127.0.0.1: the public routes'
# per-IP bucket (test_enrol_rate.sh) is opened wide.
c["enrol"] = {"dir": ed, "rp_id": "localhost", "origins": [origin],
    "per_ip": {"per_second": 1000, "burst": 1000}}
c["limits"] = {"workers": 4, "timeout_s": 3}
json.dump(c, open(cp, "w"), indent=1)
b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
n = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
jwk = {"crv": "P-256", "kty": "EC", "x": b(n.x.to_bytes(32, "big")),
       "y": b(n.y.to_bytes(32, "big"))}
kid = b(hashlib.sha256(json.dumps(jwk, separators=(",", ":"),
        sort_keys=True).encode()).digest())
t = json.load(open(tp))
t["owners"].append({"id": "alice@example.org",
    "may_bind": ["wimse://example.org/agents/*"],
    "keys": [{"kid": kid, "kind": "software", "alg": "ES256", "jwk": jwk}]})
json.dump(t, open(tp, "w"), indent=1)
EOF
TRUST_SUM=$(sha256sum "$TRUST")

# The invites: the operator's command, on the server's configuration.
invite() { "$SRV" invite --config "$D/dev/server.json" "$@"; }
UA=$(invite --owner alice@example.org --may-bind 'wimse://example.org/agents/*') &&
UB=$(invite --owner bob@example.org --may-bind 'wimse://example.org/bob/*' --ttl 600) &&
UX=$(invite --owner carol@example.org --may-bind 'wimse://example.org/c/*' --ttl 1) &&
UD=$(invite --owner dave@example.org --may-bind 'wimse://example.org/d/*') ||
    { bad "invite"; exit 1; }
case $UA in "$ORIGIN/enrol/"???????????????????????????????????????????) ok "invite: $ORIGIN/enrol/<43 chars>" ;;
*) bad "invite URL: $UA" ;; esac
INV_A=${UA##*/}; INV_B=${UB##*/}; INV_X=${UX##*/}; INV_D=${UD##*/}
# The state directory holds no usable invite: files are named by hash.
nf=0; leak=0; mode=
for f in "$D"/enrol/*; do
	nf=$((nf + 1))
	case $f in *"$INV_A"* | *"$INV_B"*) leak=1 ;; esac
	grep -q -e "$INV_A" -e "$INV_B" "$f" && leak=1
	mode="$mode $(stat -c %a "$f")"
done
[ $leak = 0 ] && [ $nf = 4 ] &&
    ok "enrol.dir names invites by their SHA-256 only ($nf files)" ||
    bad "an invite is readable in enrol.dir ($nf files)"
[ "$mode" = " 600 600 600 600" ] && ok "invite files are 0600" || bad "invite file modes:$mode"
s=$("$SRV" invite --config "$D/dev/server.json" --owner a 2>&1; echo "rc=$?")
case $s in *rc=2) ok "invite without --may-bind: usage error" ;; *) bad "invite usage: $s" ;; esac
s=$("$SRV" invite --config "$D/dev/server.json" --owner a --may-bind 'http://x/*' 2>&1; echo "rc=$?")
case $s in *rc=2) ok "invite with a pattern that is not wimse:// or spiffe://: refused" ;; *) bad "invite pattern: $s" ;; esac

srv_serve
grep -q '"event":"sandbox".*landlock' server.log && ok "Landlock in force" || true
PCURL="curl -sS --max-time 20 --cacert $CA --cert $CERT --key $KEY"
field() { "$PY" -c "import json,sys; print(json.load(open('$1')).get('$2', ''))"; }

"$OB" request --sub "wimse://example.org/agents/r1" --aud "$AUD" \
    --owner alice@example.org --agent-key r1.pem --new-agent-key \
    -o r1.req >/dev/null 2>&1 &&
"$OB" pop --model server-mediated --agent-key r1.pem -o r1.start r1.req ||
    bad "request r1"
s=$($PCURL -o r1.held -w '%{http_code}' -H 'Content-Type: application/jose+json' \
    --data-binary "@r1.start" "$URL/v1/credentials" 2>/dev/null)
[ "$s" = 202 ] || bad "start r1: $s $(cat r1.held)"
# Before enrolment alice has no passkey: the page cannot approve.
s=$(curl -sS --max-time 20 --cacert "$CA" -o noweb.json -w '%{http_code}' \
    "$URL/v1/approve/$(field r1.held handle)" 2>/dev/null)
[ "$s" = 404 ] && ok "no passkey yet: the approval page has nothing to offer (404)" ||
    bad "approve info before enrolment: $s $(cat noweb.json)"
sleep 1	# carol's invite (--ttl 1) expires

"$PY" "$HERE/cdp_enrol.py" run "$D" "$ORIGIN" "$INV_A" "$INV_B" "$INV_X" "$INV_D" \
    "$(field r1.held handle)" "$SPKI" "$CA" || fail=1

s=$($PCURL -o r1.poll -w '%{http_code}' "$URL/v1/requests/$(field r1.held handle)" 2>/dev/null)
[ "$s" = 201 ] && [ -n "$(field r1.poll wit)" ] &&
    ok "r1: credential issued after the approval with the page-enrolled passkey" ||
    bad "r1 poll: $s $(cat r1.poll)"
"$PY" - r1.poll <<'EOF' && ok "the owner claim: a fido2 key, server-mediated" || bad "owner claim"
import base64, json, sys
w = json.load(open(sys.argv[1]))["wit"].split(".")[1]
c = json.loads(base64.urlsafe_b64decode(w + "=" * (-len(w) % 4)))
o = c["urn:uuid:b880ac85-4c39-4d7c-9849-4aea4cbc60e5"]
assert o["model"] == "server-mediated" and o.get("key_kind", o.get("kind")) == "fido2", o
EOF
[ "$(sha256sum "$TRUST")" = "$TRUST_SUM" ] &&
    ok "the operator's trust store file is untouched (enrolled keys are in enrol.dir)" ||
    bad "trust.json changed"
AUDIT=$("$PY" -c "import json, os; print(os.path.join('$D/dev', json.load(open('$D/dev/server.json'))['audit']))")
n=$(grep -c 'enrolled kid=' "$AUDIT")
[ "$n" = 3 ] && ok "three enrolment records in the issuance record" || bad "enrolment records: $n"
"$SRV" audit verify "$AUDIT" >audit.out 2>&1 && ok "the record's chain verifies" ||
    bad "audit verify: $(cat audit.out)"
# The invites are bearer secrets: the log and the record show 8 characters.
if grep -q -e "$INV_A" -e "$INV_B" -e "$INV_X" server.log "$AUDIT"; then
	bad "an invite is in the log or the record"
else
	grep -q "\"path\":\"/v1/enrol/$(printf %.8s "$INV_B")...\"" server.log &&
	    ok "no invite in the log or the record (paths cut to 8 characters)" ||
	    bad "no cut enrolment path in the log"
fi
for c in ENROL_ORIGIN ENROL_CHALLENGE ENROL_TYPE ENROL_RPID ENROL_FLAGS ENROL_USED; do
	grep -q "\"code\":\"OB_ERR_$c\"" server.log && ok "the log names OB_ERR_$c" ||
	    bad "no OB_ERR_$c in the log"
done
# A restart loads the enrolled keys (the merged trust store) again.
srv_stop
srv_serve server2.log
"$OB" request --sub "wimse://example.org/bob/b1" --aud "$AUD" \
    --owner bob@example.org --agent-key b1.pem --new-agent-key \
    -o b1.req >/dev/null 2>&1 &&
"$OB" pop --model server-mediated --agent-key b1.pem -o b1.start b1.req || bad "request b1"
s=$($PCURL -o b1.held -w '%{http_code}' -H 'Content-Type: application/jose+json' \
    --data-binary "@b1.start" "$URL/v1/credentials" 2>/dev/null)
s2=$(curl -sS --max-time 20 --cacert "$CA" -o b1.info -w '%{http_code}' \
    "$URL/v1/approve/$(field b1.held handle)" 2>/dev/null)
[ "$s" = 202 ] && [ "$s2" = 200 ] &&
    ok "after a restart bob (enrolled only) binds an agent and has a passkey to approve with" ||
    bad "bob after restart: $s $s2 $(cat b1.held b1.info)"
[ $fail = 0 ] && echo "all enrolment tests passed"
exit $fail
