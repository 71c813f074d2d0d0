#!/bin/sh
# --json everywhere (issue 19, point 8): every verb of every program, given
# a bad option, a missing option or a bad defaults file with --json, exits
# 2 and prints exactly one JSON object on stdout (and nothing on stderr);
# inspect --json and the human inspect give relative times.
# Usage: test_json.sh OWNERBIND OWNERBIND_VERIFY OWNERBIND_SERVER PYTHON
# shellcheck disable=SC2015 # "check && ok || no": ok and no only count and print
set -u
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
OB=$(abs "$1")
OBV=$(abs "$2")
OBS=$(abs "$3")
PY=${4:-python3}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
cd "$D" || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
no() { fail=$((fail + 1)); echo "FAIL $*"; }

# jcheck STATUS RESULT ERROR DETAIL-PART DESCRIPTION -- command...: the
# exit status, stdout one JSON object (python3's json refuses anything
# after it) with result, error and a detail containing DETAIL-PART, and an
# empty stderr.
jcheck() {
	want=$1; res=$2; err=$3; part=$4; what=$5; shift 6
	"$@" >out.txt 2>err.txt
	got=$?
	if [ "$got" != "$want" ]; then
		no "$what (exit $got, want $want)"
		sed 's/^/    /' out.txt err.txt
		return
	fi
	if ! "$PY" errcheck.py "$res" "$err" "$part" "$want" <out.txt \
	    2>why.txt; then
		no "$what: $(tail -1 why.txt)"
		sed 's/^/    /' out.txt
		return
	fi
	if [ -s err.txt ]; then
		no "$what: stderr is not empty"
		sed 's/^/    /' err.txt
		return
	fi
	ok "$what"
}

cat > errcheck.py <<'EOF'
import json, sys
o = json.loads(sys.stdin.read())
res, err, part, st = sys.argv[1:5]
assert isinstance(o, dict), "not an object"
assert o["result"] == res, o["result"]
assert o["error"] == err, o["error"]
assert isinstance(o["code"], int) and o["code"] < 0, o["code"]
assert part in o["detail"], o["detail"]
assert o["message"] and o["next_step"], "no sentence or next step"
assert o["exit"] == int(st), o["exit"]
EOF

# Every verb ownerbind lists, so that a new verb is covered by itself.
verbs=$("$OB" --help | sed -n 's/^  \([a-z][a-z0-9]*\) .*/\1/p')
[ -n "$verbs" ] && ok "ownerbind --help lists its verbs" || no "no verbs listed"
for v in $verbs; do
	jcheck 2 error OB_ERR_USAGE '"--no-such-option"' \
	    "ownerbind $v: a bad option with --json is one JSON object" -- \
	    "$OB" "$v" --no-such-option --json
	jcheck 2 error OB_ERR_USAGE '"--no-such-option"' \
	    "ownerbind $v: ... with --json first too" -- \
	    "$OB" "$v" --json --no-such-option
	jcheck 2 error OB_ERR_USAGE '"--no-such-option"' \
	    "ownerbind $v: ... with --json before the verb" -- \
	    "$OB" --json "$v" --no-such-option
done
jcheck 2 error OB_ERR_USAGE 'unknown verb "frobnicate"' \
    "an unknown verb with --json" -- "$OB" frobnicate --json
jcheck 2 error OB_ERR_USAGE 'request: --sub is required' \
    "a missing required option is named in the object" -- \
    "$OB" request --json --aud https://id.example
jcheck 2 error OB_ERR_USAGE '--ttl' \
    "a bad option value names the option" -- \
    "$OB" request --json --ttl 0 --sub s --aud a --owner o --agent-key k.pem
jcheck 2 error OB_ERR_USAGE 'unknown trust action "frob"' \
    "an unknown trust action" -- "$OB" trust frob --json --trust t.json
mkdir -p xdg/ownerbind
printf 'aud = https://x\ncolour = blue\n' > xdg/ownerbind/config
jcheck 2 error OB_ERR_CLI_CONFIG 'config:2: unknown name "colour"' \
    "a bad defaults file is a configuration error (exit 2) in JSON" -- \
    env XDG_CONFIG_HOME="$D/xdg" "$OB" sign --json r.json
env XDG_CONFIG_HOME="$D/xdg" "$OB" sign r.json >out.txt 2>err.txt
[ $? = 2 ] && grep -q 'OB_ERR_CLI_CONFIG' err.txt &&
    grep -q 'fix or remove the named line' err.txt &&
    ok "... and without --json, its next step fits the file" ||
    no "defaults file error without --json"
rm -rf xdg
# Without --json the errors stay for people: not JSON.
"$OB" request --no-such-option >out.txt 2>err.txt
[ ! -s out.txt ] && grep -q '^usage: ownerbind request' err.txt &&
    ok "without --json, usage goes to stderr for people" ||
    no "human usage error"

# ownerbind-verify: the envelope check and its wit and wic verbs.
jcheck 2 error OB_ERR_USAGE '"--no-such-option"' \
    "ownerbind-verify: a bad option with --json" -- \
    "$OBV" --no-such-option --json
jcheck 2 error OB_ERR_USAGE '--trust FILE is required' \
    "ownerbind-verify: a missing option is named" -- "$OBV" --json env.json
jcheck 2 error OB_ERR_USAGE '--state PATH is required' \
    "ownerbind-verify: no replay state is a usage error in JSON" -- \
    "$OBV" --json --trust t.json --aud https://id.example env.json
jcheck 2 error OB_ERR_USAGE '--max-age' \
    "ownerbind-verify: a bad value names its option" -- \
    "$OBV" --json --max-age 0
jcheck 2 error OB_ERR_IO 'missing.json' \
    "ownerbind-verify: an unreadable trust store is a configuration error" -- \
    "$OBV" --json --trust missing.json --aud https://id.example \
    --state st.db env.json
for v in wit wic; do
	jcheck 2 error OB_ERR_USAGE '"--no-such-option"' \
	    "ownerbind-verify $v: a bad option with --json" -- \
	    "$OBV" "$v" --no-such-option --json
	jcheck 2 error OB_ERR_USAGE 'wrong options or operands' \
	    "ownerbind-verify $v: missing operands with --json" -- \
	    "$OBV" "$v" --json
done
# ownerbind-server: usage and configuration errors
jcheck 2 error OB_ERR_USAGE '"--no-such-option"' \
    "ownerbind-server: a bad option with --json" -- \
    "$OBS" --json --no-such-option
jcheck 2 error OB_ERR_USAGE 'one of --config FILE' \
    "ownerbind-server: no mode with --json" -- "$OBS" --json
printf '{\n  "listen": 1\n}\n' > server.json
jcheck 2 error OB_ERR_CONFIG_TYPE 'server.json:2: "listen" must be a string' \
    "ownerbind-server --check-config --json: the error names file and line" -- \
    "$OBS" --check-config server.json --json
# ownerbind-server audit verify
jcheck 2 error OB_ERR_USAGE 'audit verify [--json] [--continued] FILE...' \
    "ownerbind-server audit: a usage error with --json" -- \
    "$OBS" audit --json
jcheck 1 broken OB_ERR_IO 'missing.log' \
    "ownerbind-server audit verify --json: an unreadable log" -- \
    "$OBS" audit verify --json missing.log
: > empty.log
"$OBS" audit verify --json empty.log >out.txt 2>err.txt &&
    "$PY" -c 'import json,sys; o=json.load(open(sys.argv[1]));
assert o["result"] == "intact" and o["lines"] == 0, o' out.txt &&
    ok "audit verify --json: an intact (empty) chain" ||
    { no "audit verify --json on an empty log"; cat out.txt err.txt; }

# inspect: relative times, human and JSON, on a fresh request.
"$OB" request --sub wimse://td.example/a --aud https://id.example \
    --owner o --agent-key k.pem --new-agent-key --ttl 300 -o r.json \
    2>/dev/null || no "request"
iat=$("$PY" -c 'import json,sys,base64
p=json.load(open(sys.argv[1]))["payload"]
p+="="*(-len(p)%4)
print(json.loads(base64.urlsafe_b64decode(p))["iat"])' r.json)
"$OB" inspect r.json >out.txt 2>&1
grep -Eq '^expires  .*Z \(in [0-9]+[sm]\)$' out.txt &&
    grep -Eq '^issued   .*Z \((now|[0-9]+s ago)\)$' out.txt &&
    ok "inspect: a fresh request expires \"in Nm\" and was issued now" ||
    { no "inspect relative times"; cat out.txt; }
"$OB" inspect --at $((iat + 60)) r.json >out.txt 2>&1
grep -q '^expires  .* (in 4m)$' out.txt && grep -q '^issued   .* (60s ago)$' \
    out.txt && ok "inspect --at: \"in 4m\", \"60s ago\"" ||
    { no "inspect --at"; cat out.txt; }
"$OB" inspect --at $((iat + 300 + 7200)) r.json >out.txt 2>&1
grep -q '^EXPIRED  .* (2h ago)$' out.txt &&
    ok "inspect: an expired request says EXPIRED, 2h ago" ||
    { no "inspect expired"; cat out.txt; }
"$OB" keygen --key file:own.pem >/dev/null 2>&1
"$OB" sign --quiet --key file:own.pem -o s.json r.json 2>/dev/null ||
    no "sign"
cat > inspect.py <<'EOF'
import json, sys
o = json.loads(sys.stdin.read())
iat = int(sys.argv[1])
assert o["iat"] == iat and o["exp"] == iat + 300, o
assert o["issued_ago"] == 60 and o["expires_in"] == 240, o
assert o["expired"] is False and o["now"] == iat + 60, o
assert o["payload"]["sub"] == "wimse://td.example/a", o
assert len(o["agent_key_thumbprint"]) == 43, o
e = o["entries"]
assert len(e) == 1 and e[0]["role"] == "owner" and e[0]["alg"] == "ES256", e
assert e[0]["signed_ago"] == iat + 60 - e[0]["ob_iat"], e
EOF
"$OB" inspect --json --at $((iat + 60)) s.json >out.txt 2>err.txt &&
    "$PY" inspect.py "$iat" <out.txt &&
    ok "inspect --json: one object with times and entries" ||
    { no "inspect --json"; cat out.txt err.txt; }
printf 'eyJhbGciOiJFUzI1NiJ9.e31.sig\n' > bad.wit
"$OB" inspect --json bad.wit >out.txt 2>err.txt
[ $? = 1 ] && grep -q '"error":"OB_ERR_B64' out.txt &&
    ok "inspect: a WIT whose claims are not base64url is refused" ||
    { no "inspect bad WIT"; cat out.txt err.txt; }
jcheck 1 error OB_ERR_IO 'nothere.json' \
    "inspect --json: an unreadable envelope is an error object (exit 1)" -- \
    "$OB" inspect --json nothere.json

# What a verb changed, as one object with --json.
"$OB" enroll --json --key file:own.pem --owner bob \
    --may-bind 'wimse://td.example/*' --trust t.json >out.txt 2>err.txt &&
    "$PY" -c 'import json,sys; o=json.load(sys.stdin)
assert o["result"] == "ok" and o["action"] == "enroll" and o["file"] == "t.json", o
assert o["message"].startswith("enrolled ") and " for bob in t.json" in o["message"], o' \
    <out.txt && ok "enroll --json: one object saying what changed" ||
    { no "enroll --json"; cat out.txt err.txt; }
"$OB" trust remove-owner --json --owner bob --trust t.json >out.txt 2>err.txt &&
    "$PY" -c 'import json,sys; o=json.load(sys.stdin)
assert o == {"result": "ok", "action": "remove-owner", "file": "t.json",
             "message": "removed owner bob in t.json"}, o' <out.txt &&
    ok "trust remove-owner --json" || { no "trust edit --json"; cat out.txt err.txt; }
jcheck 1 error OB_ERR_OWNER_UNKNOWN 'no owner bob' \
    "trust remove-owner --json of an owner not there: the error object" -- \
    "$OB" trust remove-owner --json --owner bob --trust t.json

# ownerbind keys --json: one array, a section per backend; a TPM that is
# not there is "absent" and not an error (exit 0).
cat > keys.py <<'EOF'
import json, sys
a = json.loads(sys.stdin.read())
assert [s["backend"] for s in a] == ["pkcs11", "tpm2", "piv", "fido2"], a
for s in a:
    assert s["state"] in ("found", "none", "absent", "not built"), s
    assert isinstance(s["items"], list), s
    assert s["state"] == "found" or s["reason"], s
t = a[1]
assert t["state"] in ("absent", "not built"), t
EOF
"$OB" keys --json --tcti "swtpm:path=$D/no-tpm.sock" >out.txt 2>err.txt &&
    "$PY" keys.py <out.txt && ok "keys --json: four sections, an absent TPM is not an error" ||
    { no "keys --json"; cat out.txt err.txt; }
"$OB" keys --tcti "swtpm:path=$D/no-tpm.sock" >out.txt 2>&1
grep -q '^TPM 2.0 at swtpm:path=.*: absent: the TPM could not be reached' out.txt &&
    ok "keys: an absent backend is said plainly" || { no "keys text"; cat out.txt; }

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
