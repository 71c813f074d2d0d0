#!/bin/sh
# Attested enrolment end to end: the server issues a nonce, the owner
# attests the key with it, enrolment consumes the nonce and records the
# evidence, the trust store verifies it at load, and the verdict says
# "attested".  Replayed or untrusted evidence never reaches the store.
# Usage: test_tpm2_enroll_attested.sh OWNERBIND VERIFY
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
OWNERBIND=$1 VERIFY=$2
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
$OWNERBIND attest --create-ak --ak tpm2:handle=0x81010002 -o ak.json
$OWNERBIND keygen --key "tpm2:file=$T/owner.pem" >/dev/null
n=$($VERIFY --state "$T/state.db" --issue-nonce)
$OWNERBIND attest --key "tpm2:file=$T/owner.pem" --ak tpm2:handle=0x81010002 \
    --nonce "$n" -o ev.json

# Without the attestation key in the store, nothing is written.
expect OB_ERR_ATTEST_UNTRUSTED "$OWNERBIND" enroll --key "tpm2:file=$T/owner.pem" \
    --owner alice@example.com --may-bind 'wimse://td.example/agents/*' \
    --trust trust.json --attestation ev.json --state "$T/state.db"
[ ! -e trust.json ] && ok "no trust store was written" || not_ok "trust.json exists"
$OWNERBIND enroll --key "tpm2:file=$T/owner.pem" --owner alice@example.com \
    --may-bind 'wimse://td.example/agents/*' --trust trust.json \
    --attestation ev.json --state "$T/state.db" 2>err >/dev/null || :
grep -q 'the nonce was not used: add the attestation key with --add-ak' err &&
    ok "the error names the option that fixes it" || not_ok "untrusted AK: $(cat err)"

# The same evidence, its nonce not spent by the failures: the owner only
# adds the attestation key.
if $OWNERBIND enroll --key "tpm2:file=$T/owner.pem" --owner alice@example.com \
    --may-bind 'wimse://td.example/agents/*' --trust trust.json \
    --attestation ev.json --state "$T/state.db" --add-ak ak.json >out 2>err; then
	ok "attested enrolment"
else
	not_ok "attested enrolment: $(cat err)"
fi
$OWNERBIND request --sub "$SUB" --aud $AUD --owner alice@example.com \
    --agent-key agent.pem --new-agent-key -o req.json 2>/dev/null
$OWNERBIND sign --quiet --key "tpm2:file=$T/owner.pem" -o s.json req.json
$OWNERBIND pop --agent-key agent.pem -o env.json s.json
if $VERIFY --no-replay-state --trust trust.json --aud $AUD --json env.json >out 2>err &&
    grep -q '"assurance":"attested"' out && grep -q '"owner_kind":"tpm2"' out; then
	ok "the verdict reports the key as TPM-resident (attested)"
else
	not_ok "verdict: $(cat out err)"
fi

# The same evidence again, into a store where it would load: its nonce
# was consumed, so nothing is written.
expect OB_ERR_ATTEST_NONCE "$OWNERBIND" enroll --key "tpm2:file=$T/owner.pem" \
    --owner bob@example.com --may-bind 'wimse://td.example/agents/*' \
    --trust trust2.json --attestation ev.json --state "$T/state.db" --add-ak ak.json
[ ! -e trust2.json ] && ok "replayed evidence: no trust store was written" ||
    not_ok "trust2.json exists"
# Fresh evidence, but for another key than the one being enrolled.
$OWNERBIND keygen --key "tpm2:file=$T/other.pem" >/dev/null
n=$($VERIFY --state "$T/state.db" --issue-nonce)
$OWNERBIND attest --key "tpm2:file=$T/owner.pem" --ak tpm2:handle=0x81010002 \
    --nonce "$n" -o ev-other.json
expect OB_ERR_ATTEST_KEY_MISMATCH "$OWNERBIND" enroll \
    --key "tpm2:file=$T/other.pem" --owner carol@example.com \
    --may-bind 'wimse://td.example/agents/*' --trust trust.json \
    --attestation ev-other.json --state "$T/state.db"
# A tampered store: the evidence is re-checked at every load.
/usr/bin/python3 - <<'PY'
import json
t = json.load(open("trust.json"))
k = t["owners"][0]["keys"][0]
k["attestation"]["nonce"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
json.dump(t, open("tampered.json", "w"))
PY
expect OB_ERR_TRUST_INVALID "$VERIFY" --no-replay-state --trust tampered.json --aud $AUD env.json
grep -q OB_ERR_ATTEST_NONCE "$T/err" && ok "... naming OB_ERR_ATTEST_NONCE" ||
    not_ok "detail: $(cat "$T/err")"
finish
