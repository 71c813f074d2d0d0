#!/bin/sh
# test_signer_p11.sh SERVER OWNERBIND SIGNER: issue #14's acceptance with
# the issuer key in SoftHSM2, reached only through ownerbind-signer.
#   AC1  the server issues a credential that verifies; its maps hold no
#        PKCS#11 module, its binary links none, its memory holds no PIN
#        (a marker it does hold is found, and the helper's memory holds
#        the PIN: the scan works)
#   AC2  the helper is SIGKILLed twice during a burst of 240 real
#        requests: each answer is 201 with a credential that verifies or
#        503 OB_ERR_SIGNER_UNAVAILABLE with Retry-After; then it signs
#        again
#   and the server is sandboxed (Seccomp: 2) throughout.
#   verify_every (decision 86): with FAULT (p11fault) flipping a bit in
#   every signature, a key checking one signature in 16 still lets none
#   out (the first is checked, and after it failed every one is); the
#   same key on the honest token signs.
# Exit 0 = passed, 1 = failed, 77 = skipped.
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=${1:?}; OB=${2:?}; SIG=${3:?}; FAULT=${4:-}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${OB_PYTHON:-/usr/bin/python3}
UPIN='Sgnr-PIN-7c41d9e2'	# distinctive: looked for in memory
SOPIN='So-Pin-88Wx'
MARK='https://iss-marker-5c1d0f.example'
N=240
for t in softhsm2-util openssl readelf nm; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t"; exit 77; }
done
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/srv-setup.sh"
die() { echo "FAIL: $*" >&2; cat "$D/out" 2>/dev/null >&2; exit 1; }

eval "$("$HERE/../pkcs11/softhsm-fixture.sh" "$D/hsm" "$UPIN" "$SOPIN")" ||
	die "SoftHSM2 fixture"
printf '%s\n' "$UPIN" >"$D/pin"; chmod 600 "$D/pin"
U="pkcs11:token=owner-test;object=issuer?module-path=$SOFTHSM_MODULE"
"$OB" keygen --key "$U&pin-source=file:$D/pin" --alg ES256 --json \
    >key.json 2>out || die "keygen on the token"
"$PY" -c '
import json, sys
from jwcrypto import jwk
d = json.load(open(sys.argv[1]))
k = d.get("jwk") or d["key"]["jwk"]
open(sys.argv[2], "wb").write(jwk.JWK(**k).export_to_pem())
' key.json pub.pem >out 2>&1 || die "public key from keygen"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout root.key -out root.pem -days 2 -subj '/O=ownerbind test/CN=root' \
    >out 2>&1 || die "root CA"
cat >ext.cnf <<CNF
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
CNF
openssl x509 -new -subj '/O=ownerbind test/CN=HSM issuer CA' \
    -force_pubkey pub.pem -CA root.pem -CAkey root.key -extfile ext.cnf \
    -days 2 -out issuer.pem >out 2>&1 || die "issuer CA for the token key"
cat issuer.pem root.pem >chain.pem

# A dev PKI for TLS and the proxy; an owner; then this test's server.
srv_dev
"$OB" keygen --key file:owner.pem >/dev/null || die "owner key"
"$OB" enroll --key file:owner.pem --owner alice@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$TRUST" \
    >/dev/null || die "enroll"
cat >signer.json <<JSON
{"keys": [{"name": "issuer", "uri": "$U", "pin_source": "file:$D/pin",
  "role": "issuer", "ca": "$D/issuer.pem"}]}
JSON
chmod 600 signer.json
# A key member misspelt: the helper refuses its configuration with exit 2,
# with --check-config and with --config alike.
sed 's/"role"/"rol"/' signer.json >badsig.json
for opt in --check-config --config; do
	"$SIG" $opt badsig.json --listen "$D/never.sock" >/dev/null 2>out; rc=$?
	[ $rc = 2 ] && grep -q '"rol"' out &&
	    ok "ownerbind-signer $opt with an unknown member: exit 2" ||
	    bad "ownerbind-signer $opt badsig.json: $rc $(cat out)"
done
"$PY" - "$D" "$MARK" <<'EOF' || die "server.json"
import json, sys
d, mark = sys.argv[1], sys.argv[2]
c = json.load(open(d + "/dev/server.json"))
c["listen"] = json.load(open(d + "/dev/dev.json"))["url"].split("//", 1)[1]
c["iss"] = mark
c["issuer"] = {"key": "issuer", "chain": d + "/chain.pem"}
c["signer"] = {"config": d + "/signer.json", "backoff_max_ms": 1000}
c["rate"] = {k: {"per_second": 0} for k in ("per_peer", "per_owner",
    "per_agent")}
c["limits"] = {"workers": 2, "queue": 1024}
c["log_level"] = "info"
json.dump(c, open(d + "/dev/server.json", "w"), indent=1)
EOF
# An env: PIN for a helper the server starts would be in the server's own
# environment: the helper refuses it (fd: too), so the server does not
# start, and says why without the PIN; the same file is good for a
# helper on its own (--listen).
sed "s|file:$D/pin|env:OB_SIG_PIN|" signer.json >envsig.json
sed "s|$D/signer.json|$D/envsig.json|" dev/server.json >dev/envserver.json
grep -q envsig.json dev/envserver.json || die "envserver.json"
"$SIG" --check-config envsig.json >out 2>&1 &&
    ok "an env: PIN source is a good file for a helper on its own" ||
    bad "--check-config envsig.json: $(cat out)"
OB_SIG_PIN=$UPIN timeout 30 "$SRV" --config dev/envserver.json >out 2>&1; rc=$?
if [ $rc = 0 ] || [ $rc = 124 ]; then
	bad "the server started its helper with an env: PIN ($rc)"
elif ! grep -q 'env: is not allowed in a helper that a daemon starts' out; then
	bad "the refusal does not say why: $(cat out)"
elif grep -qF "$UPIN" out; then
	bad "the refusal shows the PIN"
else
	ok "an env: PIN for a helper the server starts: refused, the server does not start ($rc)"
fi
sed "s|file:$D/pin|fd:0|" signer.json >envsig.json
OB_SIG_PIN=$UPIN timeout 30 "$SRV" --config dev/envserver.json >out 2>&1 </dev/null
grep -q 'fd: is not allowed in a helper' out &&
    ok "an fd: PIN for a helper the server starts: refused" ||
    bad "fd: for a started helper: $(cat out)"
srv_serve
MURL=$(grep -o 'metrics=http://127.0.0.1:[0-9]*' server.log | head -1 | cut -d= -f2)
hpid() { "$PY" -c "import json,urllib.request; print(json.load(urllib.request.urlopen('$MURL/healthz'))['signer']['pid'])"; }
HP=$(hpid)

n=0
envelope() {	# $1: output; a fresh agent key and jti each time
	n=$((n + 1))
	"$OB" request --sub "wimse://example.org/agents/a$1" --aud "$AUD" \
	    --owner alice@example.org --agent-key "agent$1.pem" \
	    --new-agent-key -o "req$1.json" >/dev/null &&
	"$OB" sign --key file:owner.pem -o "signed$1.json" "req$1.json" \
	    2>/dev/null &&
	"$OB" pop --agent-key "agent$1.pem" -o "env$1.json" "signed$1.json"
}

# ---- AC1 ----
envelope 0 || die "envelope"
if "$OB" submit --server "$URL" --cert "$CERT" --key "$KEY" --ca "$CA" \
    --wit wit.txt --wic wic.pem env0.json >out 2>&1; then
	ok "a credential issued with the SoftHSM2 key through the helper"
else
	bad "submit: $(cat out)"
fi
openssl verify -CAfile root.pem -untrusted issuer.pem wic.pem >out 2>&1 &&
    ok "openssl verify: the WIC chains to the root" || bad "WIC: $(cat out)"
curl -sS --max-time 10 --cacert "$CA" --cert "$CERT" --key "$KEY" \
    -o jwks.json "$URL/v1/keys" || bad "GET /v1/keys"
"$PY" - >out 2>&1 <<'EOF' && ok "jwcrypto: the WIT verifies with the token's key" || bad "WIT: $(cat out)"
import json
from jwcrypto import jwk, jwt
keys = jwk.JWKSet.from_json(open("jwks.json").read())
tok = jwt.JWT(jwt=open("wit.txt").read().strip(), key=keys)
pub = jwk.JWK.from_pem(open("pub.pem", "rb").read())
assert json.load(open("jwks.json"))["keys"][0]["kid"] == pub.thumbprint()
assert json.loads(tok.claims)["iss"] == "https://iss-marker-5c1d0f.example"
EOF
if grep -Eiq 'softhsm|p11-kit|libp11|tss2|fido2|pcsclite' "/proc/$SP/maps"; then
	bad "the server maps: $(grep -Ei 'softhsm|p11' "/proc/$SP/maps" | head -3)"
elif grep -q libsofthsm2 "/proc/$HP/maps"; then
	ok "/proc/$SP/maps: no PKCS#11 module (the helper's maps libsofthsm2)"
else
	bad "the helper's maps show no libsofthsm2: the check proves nothing"
fi
# libcbor is linked for the passkey enrolment's registration parser
# (server/enrol_reg.c): a parser, no device library; libfido2 is not.
if readelf -d "$SRV" | grep NEEDED | grep -Eiq 'p11|tss2|fido2|pcsc'; then
	bad "the server links: $(readelf -d "$SRV" | grep NEEDED)"
elif ! readelf -d "$SIG" | grep NEEDED | grep -q p11-kit; then
	bad "readelf shows no p11-kit in the helper either"
elif nm "$SRV" | grep -Eq ' ob_(pkcs11|tpm2|fido2|piv)_ops$'; then
	bad "the server has a hardware backend: $(nm "$SRV" | grep _ops)"
elif ! nm "$SIG" | grep -q ' ob_pkcs11_ops$'; then
	bad "nm finds no backend in the helper either"
else
	ok "readelf/nm: the server links no PKCS#11, TSS, FIDO2 or PC/SC library and no backend but signer:"
fi
# /proc/PID/mem, readable mappings only (root may read a non-dumpable
# process's memory), in chunks that overlap by the needle's length.
# Mappings over 1 GiB are reservations (a sanitizer's shadow), skipped.
memscan() {	# $1 pid, $2 string: prints found or absent
	"$PY" - "$1" "$2" <<'EOF'
import re, sys
pid, needle = sys.argv[1], sys.argv[2].encode()
found = False
CHUNK = 1 << 20
with open("/proc/%s/maps" % pid) as maps, \
        open("/proc/%s/mem" % pid, "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (r)", line)
        if not m or "[vvar" in line or "[vsyscall" in line:
            continue
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        if hi - lo > 1 << 30:
            continue
        at, tail = lo, b""
        while at < hi and not found:
            try:
                mem.seek(at)
                data = mem.read(min(CHUNK, hi - at))
            except (OSError, ValueError, OverflowError):
                break
            found = needle in tail + data
            tail = data[-len(needle):]
            at += CHUNK
        if found:
            break
print("found" if found else "absent")
EOF
}
s_pin=$(memscan "$SP" "$UPIN"); s_mark=$(memscan "$SP" "$MARK")
h_pin=$(memscan "$HP" "$UPIN")
[ "$s_mark" = found ] && ok "control: the scan finds the server's own iss in its memory" ||
    bad "the scan does not find the marker in the server ($s_mark)"
[ "$h_pin" = found ] && ok "control: the scan finds the PIN in the helper's memory" ||
    bad "the PIN is not in the helper's memory either ($h_pin)"
[ "$s_pin" = absent ] && ok "the PIN is nowhere in the server's memory" ||
    bad "the PIN is in the server's memory ($s_pin)"

# ---- AC2 ----
i=1
while [ $i -le $N ]; do
	envelope $i >/dev/null 2>&1 &
	ep=$!
	envelope $((i + 1)) >/dev/null 2>&1
	wait $ep	# not the server
	i=$((i + 2))
done
i=1; set --
while [ $i -le $N ]; do
	[ -f "env$i.json" ] || die "envelope $i"
	set -- "$@" "env$i.json"; i=$((i + 1))
done
if "$PY" "$HERE/burst.py" "$URL" "$MURL" "$CA" "$CERT" "$KEY" issuer.pem \
    60,150 "$@" >burst.out 2>&1; then
	ok "burst: $(tail -1 burst.out)"
else
	bad "burst: $(cat burst.out)"
fi
i=0
while [ "$("$PY" -c "import json,urllib.request; print(json.load(urllib.request.urlopen('$MURL/healthz'))['signer']['state'])" 2>/dev/null)" != ready ] &&
    [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
HP2=$(hpid)
[ "$HP2" != "$HP" ] && [ "$HP2" -gt 0 ] && ok "a new helper (pid $HP2)" ||
    bad "helper pid $HP2"
m=0
for k in 1001 1002 1003; do
	envelope $k >/dev/null 2>&1 || die "envelope $k"
	"$OB" submit --server "$URL" --cert "$CERT" --key "$KEY" --ca "$CA" \
	    env$k.json >/dev/null 2>&1 && m=$((m + 1))
done
[ $m = 3 ] && ok "signing resumed: 3 of 3 issued after the burst" ||
    bad "after the burst: $m of 3"
grep -q '"event":"signer","code":"OB_ERR_SIGNER_UNAVAILABLE"' server.log &&
    grep -q '"event":"signer","detail":"ready, helper pid' server.log &&
    ok "the server logged the helper's death and its restart" ||
    bad "no signer events in the log"
u=$(grep -c '"code":"OB_ERR_SIGNER_UNAVAILABLE"' dev/audit.jsonl)
w=$("$PY" -c "import json,sys; print(json.loads(open('burst.out').read().splitlines()[-1])['signer_unavailable'])" 2>/dev/null)
[ "$u" = "$w" ] && ok "each 503 is in the issuance record ($u)" ||
    bad "audit has $u signer refusals, the burst saw $w"
"$SRV" audit verify dev/audit.jsonl >out 2>&1 && ok "audit verify: $(cat out)" ||
    bad "audit verify: $(cat out)"
grep -q '^Seccomp:[[:space:]]*2$' /proc/$SP/status && ok "still sandboxed" ||
    bad "Seccomp"
! grep -q -- "$UPIN" server.log && ok "the PIN is in no log line" ||
    bad "the PIN in the log"
kill -TERM "$SP"; wait "$SP"; rc=$?; SP=
[ $rc = 0 ] && ok "SIGTERM: exit 0" || bad "exit $rc"

# ---- a helper that cannot come back (decision 173) ----
# The helper's program a wrapper that refuses to start while $D/nostart
# exists.  With the helper killed and not restarting, a request gets 503
# OB_ERR_SIGNER_UNAVAILABLE before its jti is spent: the same envelope
# is issued once the helper is back (on the old server it got 403).
cat >"$D/sigwrap" <<EOF
#!/bin/sh
[ -f "$D/nostart" ] && exit 1
exec "$SIG" "\$@"
EOF
chmod 755 "$D/sigwrap"
"$PY" - "$D" <<'EOF' || die "server.json"
import json, sys
d = sys.argv[1]
c = json.load(open(d + "/dev/server.json"))
c["signer"]["program"] = d + "/sigwrap"
json.dump(c, open(d + "/dev/server.json", "w"), indent=1)
EOF
srv_serve server3.log
MURL=$(grep -o 'metrics=http://127.0.0.1:[0-9]*' server3.log | head -1 | cut -d= -f2)
hst() { "$PY" -c "import json,urllib.request; print(json.load(urllib.request.urlopen('$MURL/healthz'))['signer']['state'])" 2>/dev/null; }
envelope 2001 >/dev/null 2>&1 || die "envelope 2001"
: >"$D/nostart"
kill -KILL "$(hpid)"
i=0; while [ "$(hst)" = ready ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
"$OB" submit --server "$URL" --cert "$CERT" --key "$KEY" --ca "$CA" \
    --json env2001.json >s1.json 2>s1.err; rc1=$?
rm -f "$D/nostart"
i=0; while [ "$(hst)" != ready ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
"$OB" submit --server "$URL" --cert "$CERT" --key "$KEY" --ca "$CA" \
    --wit wit2001.txt env2001.json >s2.out 2>&1; rc2=$?
if [ $rc1 != 0 ] && grep -q OB_ERR_SIGNER_UNAVAILABLE s1.json s1.err &&
    grep -q 'the signer helper is .*: nothing spent' server3.log && [ $rc2 = 0 ]; then
	ok "helper down: 503 before the jti is spent; the same envelope issued once it is back"
else
	bad "helper down: rc $rc1 $(cat s1.json s1.err) / then rc $rc2 $(cat s2.out)"
fi
srv_stop


# ---- verify_every with a token that lies ----
# fault_helper ENV...: the helper on FU (verify_every 16) at f.sock
fault_helper() {
	rm -f "$D/f.sock"
	env "$@" P11FAULT_MODULE="$SOFTHSM_MODULE" "$SIG" --config \
	    "$D/faulty.json" --listen "$D/f.sock" 2>>faulty.log &
	KP=$!
	i=0
	while [ ! -S "$D/f.sock" ] && [ $i -lt 200 ]; do
		sleep 0.05; i=$((i + 1))
	done
}
if [ -n "$FAULT" ] && [ -f "$FAULT" ]; then
	FU="pkcs11:token=owner-test;object=issuer?module-path=$FAULT"
	cat >faulty.json <<JSON
{"keys": [{"name": "issuer", "uri": "$FU", "pin_source": "file:$D/pin",
  "role": "issuer", "ca": "$D/issuer.pem", "verify_every": 16}]}
JSON
	chmod 600 faulty.json
	fault_helper P11FAULT_LOG=/dev/null
	"$PY" "$HERE/sign_wits.py" "$D/f.sock" >out 2>&1
	[ "$(tr '\n' ' ' <out)" = "0 0 0 0 0 " ] &&
	    ok "verify_every 16 on the honest token: five signatures" ||
	    bad "honest token: $(cat out) $(tail -3 faulty.log)"
	kill "$KP"; wait "$KP"; KP=
	fault_helper P11FAULT_CORRUPT_SIG=1
	"$PY" "$HERE/sign_wits.py" "$D/f.sock" >out 2>&1
	[ "$(tr '\n' ' ' <out)" = "-825 -825 -825 -825 -825 " ] &&
	    ok "verify_every 16, every signature corrupted: none let out" ||
	    bad "lying token: $(cat out) $(tail -3 faulty.log)"
	kill "$KP"; wait "$KP"; KP=
else
	echo "# no p11fault module: the verify_every fault case is skipped"
fi
exit $fail
