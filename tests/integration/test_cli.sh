#!/bin/sh
# The ownerbind and ownerbind-verify command lines, end to end, through the
# real binaries.  Usage: test_cli.sh OWNERBIND OWNERBIND_VERIFY
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
OB=$(abs "$1")
OBV=$(abs "$2")
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
cd "$D" || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
no() { fail=$((fail + 1)); echo "FAIL $*"; }
# expect STATUS DESCRIPTION -- command...
expect() {
	want=$1; what=$2; shift 3
	"$@" >out.txt 2>err.txt
	got=$?
	if [ "$got" = "$want" ]; then ok "$what"; else
		no "$what (exit $got, want $want)"; sed 's/^/    /' err.txt; fi
}
has() {	# has FILE TEXT DESCRIPTION
	if grep -q -- "$2" "$1"; then ok "$3"; else no "$3"; sed 's/^/    /' "$1"; fi
}

AUD=https://id.example
SUB=wimse://td.example/agents/a1

# --version: the program, its version, the libraries and backends it runs with
expect 0 "ownerbind --version" -- "$OB" --version
has out.txt '^ownerbind [0-9]' "--version names the program and version"
has out.txt 'key backends: file' "--version lists the key backends"
has out.txt 'OpenSSL 3' "--version names the OpenSSL it runs with"
expect 0 "ownerbind-verify --version" -- "$OBV" --version
has out.txt '^ownerbind-verify [0-9]' "ownerbind-verify --version"
has out.txt 'SQLite 3' "ownerbind-verify --version names SQLite"

# Defaults from $XDG_CONFIG_HOME/ownerbind/config; the command line wins
mkdir -p xdg/ownerbind
printf '# defaults\naud = https://defaults.example\n\n  key = file:nokey.pem\n' > xdg/ownerbind/config
expect 0 "request takes --aud from the defaults file" -- env XDG_CONFIG_HOME="$D/xdg" \
    "$OB" request --sub "$SUB" --owner o --agent-key dkey.pem --new-agent-key -o d1.json
"$OB" inspect d1.json > d1.txt 2>&1
has d1.txt 'https://defaults.example' "... and uses it"
expect 0 "an option on the command line wins" -- env XDG_CONFIG_HOME="$D/xdg" \
    "$OB" request --sub "$SUB" --owner o --aud https://cli.example --agent-key dkey.pem -o d2.json
"$OB" inspect d2.json > d2.txt 2>&1
has d2.txt 'https://cli.example' "... over the defaults file"
expect 1 "sign takes --key from the defaults file" -- env XDG_CONFIG_HOME="$D/xdg" \
    "$OB" sign --quiet d1.json
has err.txt "nokey.pem" "... and names it when it cannot be opened"
printf 'aud = https://x\ncolour = blue\n' > xdg/ownerbind/config
expect 2 "an unknown name in the defaults file is a usage error" -- env XDG_CONFIG_HOME="$D/xdg" \
    "$OB" request --sub "$SUB" --owner o --agent-key dkey.pem
has err.txt "ownerbind/config:2: unknown name \"colour\"" "... naming the file and line"

# --help on every verb, exit 0, mentions usage
for v in request sign pop keygen enroll inspect submit; do
	expect 0 "ownerbind $v --help" -- "$OB" $v --help
	has out.txt "usage: ownerbind $v" "ownerbind $v --help prints its usage"
done
expect 0 "ownerbind --help" -- "$OB" --help
expect 0 "ownerbind-verify --help" -- "$OBV" --help
expect 2 "unknown verb is a usage error" -- "$OB" frobnicate
expect 2 "missing options are a usage error" -- "$OB" request --sub "$SUB"
# ... and the first line names the first option missing
first() { head -n 1 err.txt | grep -q -- "$1" && ok "$2" || no "$2: $(head -n 1 err.txt)"; }
first "ownerbind request: --aud is required" "request names the missing --aud"
# An approval window that closes before the request expires: refused, no
# key made; a window of exactly --ttl is fine.
expect 2 "--renew-window shorter than --ttl is a usage error" -- "$OB" request \
    --sub "$SUB" --aud "$AUD" --owner o --agent-key rw.pem --new-agent-key \
    --ttl 300 --renew-window 299
has err.txt "is shorter than --ttl 300" "the error names both"
[ ! -e rw.pem ] && ok "no key was made" || no "rw.pem was made"
expect 0 "--renew-window equal to --ttl" -- "$OB" request --sub "$SUB" \
    --aud "$AUD" --owner o --agent-key rw.pem --new-agent-key --ttl 300 \
    --renew-window 300 -o rw.json
expect 2 "sign without a key" -- "$OB" sign req.json
first "ownerbind sign: --key is required" "sign names --key"
expect 2 "sign without its input" -- "$OB" sign --key file:x.pem
first "ownerbind sign: the request IN is required" "sign names the missing input"
expect 2 "pop without the agent key" -- "$OB" pop in.json
first "ownerbind pop: --agent-key is required" "pop names --agent-key"
expect 2 "keygen without a key" -- "$OB" keygen
first "ownerbind keygen: --key is required" "keygen names --key"
expect 2 "enroll without may-bind" -- "$OB" enroll --key file:x --owner o --trust t
first "ownerbind enroll: --may-bind is required" "enroll names --may-bind"
expect 2 "submit without a CA" -- "$OB" submit --server https://x --cert c --key k e.json
first "ownerbind submit: --ca is required" "submit names --ca"
expect 2 "ownerbind-verify without --aud is a usage error" -- "$OBV" --no-replay-state --trust x env
# replay protection is never silently off
expect 2 "ownerbind-verify without --state is a usage error" -- "$OBV" --trust x --aud y env
first "ownerbind-verify: --state PATH is required" "... saying why"
expect 2 "--state with --no-replay-state contradicts" -- "$OBV" --trust x --aud y \
    --state s.db --no-replay-state env
expect 2 "--no-replay-state goes on to load the trust store" -- "$OBV" \
    --no-replay-state --trust nonexistent.json --aud y env
has err.txt "warning: --no-replay-state" "... and warns that a replay would pass"

# keys: created 0600, never overwritten
expect 0 "keygen file: ES256" -- "$OB" keygen --key file:owner.pem
[ "$(stat -c %a owner.pem)" = 600 ] && ok "key file is mode 600" || no "key file mode"
cp owner.pem owner.bak
expect 1 "keygen refuses to overwrite" -- "$OB" keygen --key file:owner.pem
has err.txt OB_ERR_KEY_EXISTS "the refusal names OB_ERR_KEY_EXISTS"
cmp -s owner.pem owner.bak && ok "the existing key is untouched" || no "key changed"
expect 1 "unknown scheme" -- "$OB" keygen --key frob:x
has err.txt OB_ERR_KEY_URI "an unknown scheme is OB_ERR_KEY_URI"

# an encrypted owner key, passphrase from fd, env, file: never echoed
SECRET='s3cret-Passphrase-9'
expect 0 "keygen with a passphrase from an fd" -- sh -c \
    "printf '%s\n' '$SECRET' | '$OB' keygen --key file:enc.pem --pin-source fd:0"
has enc.pem "ENCRYPTED PRIVATE KEY" "the key file is encrypted"
expect 0 "enroll an encrypted key (passphrase from env)" -- env OBPW="$SECRET" \
    "$OB" enroll --key file:enc.pem --owner alice@example.com \
    --may-bind 'wimse://td.example/agents/*' --trust trust.json --pin-source env:OBPW
printf '%s\n' "$SECRET" > pw.txt
chmod 644 pw.txt
"$OB" request --sub "$SUB" --aud $AUD --owner alice@example.com \
    --agent-key agent.pem --new-agent-key -o req.json 2>req.err
REQLINE=$(grep 'request .* for agent key ' req.err)
expect 1 "a PIN file readable by others is refused" -- "$OB" sign --quiet \
    --key file:enc.pem --pin-source file:pw.txt req.json
has err.txt OB_ERR_PIN_SOURCE "that refusal is OB_ERR_PIN_SOURCE"
chmod 600 pw.txt
expect 0 "sign with the passphrase from a file" -- "$OB" sign --key file:enc.pem \
    --pin-source file:pw.txt -o signed.json req.json
has err.txt "approving an agent credential request" "sign shows what it approves"
has err.txt "$SUB" "the approval names the agent"
# The owner sees the jti and agent key thumbprint the agent side printed.
JTI=$(echo "$REQLINE" | sed 's/.*request \([^ ]*\) for agent key \(.*\)/\1/')
JKT=$(echo "$REQLINE" | sed 's/.*request \([^ ]*\) for agent key \(.*\)/\2/')
[ -n "$JTI" ] && [ -n "$JKT" ] && ok "request prints its jti and agent key thumbprint" ||
    no "request line: $REQLINE"
has err.txt "agent key $JKT" "the approval shows the same agent key thumbprint"
has err.txt "request  $JTI" "the approval shows the same jti"
expect 1 "a wrong passphrase is refused" -- env OBPW=wrong "$OB" sign --quiet \
    --key file:enc.pem --pin-source env:OBPW req.json
has err.txt OB_ERR_KEY_LOAD "a wrong passphrase is OB_ERR_KEY_LOAD"
expect 1 "no tty and no PIN source: a clear error" -- sh -c \
    "'$OB' sign --quiet --key file:enc.pem req.json </dev/null"
expect 0 "pop" -- "$OB" pop --agent-key agent.pem -o env.json signed.json
if grep -rqF -- "$SECRET" out.txt err.txt req.json signed.json env.json trust.json; then
	no "the passphrase appears in an output"
else
	ok "the passphrase appears in no output"
fi

# verification, replay across runs, JSON verdicts
expect 0 "verify accepts" -- "$OBV" --trust trust.json --aud $AUD --state st.db env.json
has out.txt "owner       alice@example.com" "the verdict names the owner"
expect 1 "the same envelope again is a replay" -- "$OBV" --trust trust.json \
    --aud $AUD --state st.db --json env.json
has out.txt '"error":"OB_ERR_REPLAY"' "the JSON rejection names OB_ERR_REPLAY"
has err.txt "OB_ERR_REPLAY" "stderr names OB_ERR_REPLAY"
expect 1 "another audience is rejected" -- "$OBV" --no-replay-state --trust trust.json \
    --aud https://other.example env.json
has err.txt OB_ERR_AUD_MISMATCH "... as OB_ERR_AUD_MISMATCH"
expect 1 "too late is rejected" -- "$OBV" --no-replay-state --trust trust.json --aud $AUD \
    --at $(( $(date +%s) + 4000 )) env.json
has err.txt OB_ERR_EXPIRED "... as OB_ERR_EXPIRED"
expect 2 "a missing trust store is a configuration error" -- "$OBV" --no-replay-state \
    --trust nonexistent.json --aud $AUD env.json

# sign refuses what it cannot stand behind
expect 1 "a second owner entry is refused" -- "$OB" sign --quiet \
    --key file:owner.pem --pin-source env:NOPE env.json
has err.txt OB_ERR_ROLE_DUPLICATE "... as OB_ERR_ROLE_DUPLICATE"
expect 1 "pop with another key is refused" -- "$OB" pop --agent-key owner.pem signed.json
has err.txt OB_ERR_KEY_MISMATCH "... as OB_ERR_KEY_MISMATCH"
expect 1 "server-mediated without a nonce is refused" -- "$OB" sign --quiet \
    --key file:owner.pem --model server-mediated req.json
has err.txt OB_ERR_NONCE_MISSING "... as OB_ERR_NONCE_MISSING"
cp req.json req.bak
expect 1 "garbage input is refused" -- "$OB" sign --quiet --key file:owner.pem \
    -o req.json err.txt
cmp -s req.json req.bak && ok "a failed sign leaves its output file untouched" || no "req.json changed"

# server-mediated from the shell: issue a nonce bound to the request
"$OB" enroll --key file:owner.pem --owner bob@example.com \
    --may-bind 'wimse://td.example/agents/*' --trust trust.json >/dev/null
"$OB" request --sub "$SUB" --aud $AUD --owner bob@example.com \
    --agent-key agent.pem -o req2.json 2>/dev/null
JTI=$("$OB" inspect req2.json | sed -n 's/.*"jti":"\([^"]*\)".*/\1/p')
NONCE=$("$OBV" --state st.db --issue-nonce --nonce-ttl 120 --for-jti "$JTI")
[ ${#NONCE} -eq 32 ] && ok "a nonce is issued" || no "nonce: '$NONCE'"
"$OB" sign --quiet --key file:owner.pem --model server-mediated --nonce "$NONCE" \
    -o s2.json req2.json && "$OB" pop --agent-key agent.pem -o e2.json s2.json
expect 0 "server-mediated envelope accepted" -- "$OBV" --trust trust.json \
    --aud $AUD --state st.db --json e2.json
has out.txt '"model":"server-mediated"' "the verdict says server-mediated"
has out.txt "\"nonce\":\"$NONCE\"" "the verdict carries the nonce"
expect 1 "the nonce is single-use" -- "$OBV" --trust trust.json --aud $AUD \
    --state st.db e2.json
"$OB" sign --quiet --key file:owner.pem -o s3.json req2.json &&
    "$OB" pop --agent-key agent.pem -o e3.json s3.json
NONCE2=$("$OBV" --state st.db --issue-nonce --for-jti "$JTI")
"$OB" request --sub "$SUB" --aud $AUD --owner bob@example.com \
    --agent-key agent.pem -o req4.json 2>/dev/null
JTI4=$("$OB" inspect req4.json | sed -n 's/.*"jti":"\([^"]*\)".*/\1/p')
NONCE4=$("$OBV" --state st.db --issue-nonce --for-jti "$JTI4")
"$OB" sign --quiet --key file:owner.pem -o s4.json req4.json &&
    "$OB" pop --agent-key agent.pem -o e4.json s4.json
expect 1 "a request whose nonce was issued cannot omit it" -- "$OBV" \
    --trust trust.json --aud $AUD --state st.db e4.json
has err.txt OB_ERR_NONCE_MISSING "... as OB_ERR_NONCE_MISSING"
[ -n "$NONCE2$NONCE4" ] || no "nonces"
# ... nor skip it by carrying another, unbound nonce
"$OB" request --sub "$SUB" --aud $AUD --owner bob@example.com \
    --agent-key agent.pem -o req5.json 2>/dev/null
JTI5=$("$OB" inspect req5.json | sed -n 's/.*"jti":"\([^"]*\)".*/\1/p')
NONCE5=$("$OBV" --state st.db --issue-nonce --for-jti "$JTI5")
NONCE6=$("$OBV" --state st.db --issue-nonce)
"$OB" sign --quiet --key file:owner.pem --model server-mediated --nonce "$NONCE6" \
    -o s5.json req5.json && "$OB" pop --agent-key agent.pem -o e5.json s5.json
expect 1 "a request whose nonce was issued cannot carry another" -- "$OBV" \
    --trust trust.json --aud $AUD --state st.db e5.json
has err.txt OB_ERR_NONCE_SKIPPED "... as OB_ERR_NONCE_SKIPPED"
"$OB" sign --quiet --key file:owner.pem --model server-mediated --nonce "$NONCE5" \
    -o s6.json req5.json && "$OB" pop --agent-key agent.pem -o e6.json s6.json
expect 0 "... and is accepted with its own" -- "$OBV" \
    --trust trust.json --aud $AUD --state st.db e6.json
grep -Eq '^expires     .*Z \(in [0-9]+[sm]\)$' out.txt &&
    ok "... and the verdict says when the request expires (in Nm)" ||
    no "verdict expiry: $(cat out.txt)"

# owner-mediated: a gateway with an organisation CA made by openssl
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
    openssl pkcs8 -topk8 -nocrypt -out ca.key
openssl req -new -x509 -key ca.key -subj /CN=Acme-Org-CA -days 2 \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign -out ca.pem 2>/dev/null
"$OB" keygen --key file:gw.key >/dev/null
openssl req -new -key gw.key -subj /CN=gw.acme -out gw.csr 2>/dev/null
openssl x509 -req -in gw.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 1 -out gw.pem 2>/dev/null
/usr/bin/python3 - "$D" <<'PY'
import json, sys
d = sys.argv[1]
t = json.load(open(d + "/trust.json"))
t["gateways"] = [{"id": "gw.acme", "owner": "org:acme",
    "ca": [open(d + "/ca.pem").read()], "algs": ["ES256"],
    "proxies": ["proxy-1"], "trust_domains": ["td.example"],
    "may_bind": ["wimse://td.example/agents/*"]}]
json.dump(t, open(d + "/trust.json", "w"))
PY
"$OB" request --sub "$SUB" --aud $AUD --owner org:acme \
    --agent-key agent.pem -o greq.json 2>/dev/null
expect 2 "a gateway entry without its chain is a usage error" -- "$OB" sign --quiet \
    --key file:gw.key --role gateway --model owner-mediated greq.json
expect 0 "the gateway signs with its chain" -- "$OB" sign --quiet --key file:gw.key \
    --role gateway --model owner-mediated --x5c gw.pem --kid gw.acme -o gs.json greq.json
expect 0 "the agent adds its entry (model taken from the gateway's)" -- \
    "$OB" pop --agent-key agent.pem -o genv.json gs.json
expect 0 "owner-mediated accepted on the gateway channel" -- "$OBV" --no-replay-state \
    --trust trust.json --aud $AUD --proxy proxy-1 --json genv.json
has out.txt '"gateway":"gw.acme"' "the verdict names the gateway"
expect 1 "owner-mediated sent directly is refused" -- "$OBV" --no-replay-state \
    --trust trust.json --aud $AUD genv.json
has err.txt OB_ERR_CHANNEL_MISMATCH "... as OB_ERR_CHANNEL_MISMATCH"
expect 1 "another proxy is refused" -- "$OBV" --no-replay-state --trust trust.json --aud $AUD \
    --proxy proxy-9 genv.json
has err.txt OB_ERR_GATEWAY_NOT_AUTHORIZED "... as OB_ERR_GATEWAY_NOT_AUTHORIZED"
openssl req -new -x509 -key gw.key -subj /CN=gw.acme -days 1 \
    -out self.pem 2>/dev/null
"$OB" sign --quiet --key file:gw.key --role gateway --model owner-mediated \
    --x5c self.pem --kid gw.acme -o gs2.json greq.json &&
    "$OB" pop --agent-key agent.pem -o genv2.json gs2.json
expect 1 "a self-signed gateway certificate is refused" -- "$OBV" --no-replay-state \
    --trust trust.json --aud $AUD --proxy proxy-1 genv2.json
has err.txt OB_ERR_GATEWAY_CHAIN "... as OB_ERR_GATEWAY_CHAIN"

# --evidence: the payload carries the SHA-256 of the file, base64url
printf 'attestation evidence bytes\n' > evidence.bin
"$OB" request --sub "$SUB" --aud $AUD --owner alice@example.com \
    --agent-key agent.pem --evidence evidence.bin -o ereq.json 2>/dev/null
want=$(openssl dgst -sha256 -binary evidence.bin | base64 | tr '+/' '-_' | tr -d '=\n')
if "$OB" inspect ereq.json | grep -qF "\"evidence_sha256\":\"$want\""; then
	ok "request --evidence carries the file's SHA-256"
else
	no "evidence_sha256 (want $want)"
fi

# inspect
expect 0 "inspect" -- "$OB" inspect env.json
has out.txt "role=owner model=agent-mediated" "inspect lists the owner entry"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
