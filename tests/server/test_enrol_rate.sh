#!/bin/sh
# The public routes' token buckets (docs/server.md, "enrol" and
# "challenge"): /enrol/INVITE, GET and POST /v1/enrol/INVITE answer 429
# with Retry-After past enrol.per_ip for one client address while another
# address still gets through, and past enrol.global for everyone; the
# approval page's /approve/H, /approve.js, GET and POST /v1/approve/H
# likewise past challenge.page_per_ip and challenge.page_global, each
# page's buckets its own.
# Usage: test_enrol_rate.sh OWNERBIND-SERVER
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=$1
PY=${OB_PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/srv-setup.sh"

srv_dev
mkdir -m 700 "$D/enrol"

serve() {	# $1: per_ip burst, $2: global burst
	"$PY" - "$D/dev/server.json" "$D/enrol" "$1" "$2" <<'EOF' || exit 1
import json, sys
cp, ed, ip, al = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = json.load(open(cp))
c["listen"] = "127.0.0.1:0"
c["enrol"] = {"dir": ed, "rp_id": "localhost",
    "origins": ["https://localhost:1"],
    "per_ip": {"per_second": 0.1, "burst": ip},
    "global": {"per_second": 0.1, "burst": al}}
json.dump(c, open(cp, "w"), indent=1)
EOF
	srv_serve
}
# $1: source address, $2: method, $3: path; prints the status
hit() {
	curl -sS --max-time 10 --cacert "$CA" --interface "$1" -o hit.body \
	    -D hit.hdr -w '%{http_code}' -X "$2" -H 'Content-Type: application/json' \
	    --data-binary '{}' "$URL$3" 2>/dev/null
}
BOGUS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
# Each "METHOD PATH" from 127.0.0.1, past the per-IP burst: 429,
# Retry-After, OB_ERR_SVC_RATE_LIMITED.
past_burst() {
	for m in "$@"; do
		# shellcheck disable=SC2086 # method and path
		s=$(hit 127.0.0.1 $m)
		[ "$s" = 429 ] && grep -qi '^retry-after: [1-9][0-9]*' hit.hdr &&
		    [ "$("$PY" -c "import json; print(json.load(open('hit.body'))['code'])")" = \
		    OB_ERR_SVC_RATE_LIMITED ] &&
		    ok "$m past the per-IP burst: 429, Retry-After, OB_ERR_SVC_RATE_LIMITED" ||
		    bad "$m past the burst: $s $(cat hit.body)"
	done
}

# Per IP: a burst of 3 for 127.0.0.1, then 429; 127.0.0.2 is its own.
serve 3 100
s1=$(hit 127.0.0.1 GET "/enrol/$BOGUS")
s2=$(hit 127.0.0.1 GET "/v1/enrol/$BOGUS")
s3=$(hit 127.0.0.1 POST "/v1/enrol/$BOGUS")
[ "$s1" = 200 ] && [ "$s2" = 404 ] && [ "$s3" = 404 ] &&
    ok "the first 3 requests from 127.0.0.1 are served (200, 404, 404)" ||
    bad "within the burst: $s1 $s2 $s3"
past_burst "GET /enrol/$BOGUS" "GET /v1/enrol/$BOGUS" "POST /v1/enrol/$BOGUS"
s=$(hit 127.0.0.2 GET "/enrol/$BOGUS")
[ "$s" = 200 ] && ok "another address (127.0.0.2) is served" || bad "127.0.0.2: $s"
grep -q '"code":"OB_ERR_SVC_RATE_LIMITED".*per-IP rate (127.0.0.1)' server.log &&
    ok "the refusal is logged with the address" || bad "no per-IP refusal logged"
srv_stop

# Global: a burst of 2 for everyone, whatever the address.
serve 100 2
s1=$(hit 127.0.0.1 GET "/enrol/$BOGUS")
s2=$(hit 127.0.0.2 GET "/enrol/$BOGUS")
s3=$(hit 127.0.0.3 GET "/enrol/$BOGUS")
[ "$s1" = 200 ] && [ "$s2" = 200 ] && [ "$s3" = 429 ] &&
    grep -q '"code":"OB_ERR_SVC_RATE_LIMITED".*global rate' server.log &&
    ok "global: 2 served, the third address gets 429" ||
    bad "global: $s1 $s2 $s3"
srv_stop

# The approval page: its own buckets (a burst of 4 per IP, 6 for all).
"$PY" - "$D/dev/server.json" <<'EOF' || exit 1
import json, sys
c = json.load(open(sys.argv[1]))
c["challenge"] = {"approval_page": True,
    "page_per_ip": {"per_second": 0.1, "burst": 4},
    "page_global": {"per_second": 0.1, "burst": 6}}
json.dump(c, open(sys.argv[1], "w"), indent=1)
EOF
srv_serve
s1=$(hit 127.0.0.1 GET "/approve/$BOGUS")
s2=$(hit 127.0.0.1 GET "/approve.js")
s3=$(hit 127.0.0.1 GET "/v1/approve/$BOGUS")
s4=$(hit 127.0.0.1 POST "/v1/approve/$BOGUS")
[ "$s1$s2" = 200200 ] && [ "$s3" != 429 ] && [ "$s4" != 429 ] &&
    ok "approval page: the first 4 requests from 127.0.0.1 are served ($s1 $s2 $s3 $s4)" ||
    bad "approval page within the burst: $s1 $s2 $s3 $s4"
past_burst "GET /approve/$BOGUS" "GET /approve.js" "GET /v1/approve/$BOGUS" \
    "POST /v1/approve/$BOGUS"
s=$(hit 127.0.0.2 GET "/approve/$BOGUS")
[ "$s" = 200 ] && ok "approval page: another address is served" || bad "127.0.0.2: $s"
s=$(hit 127.0.0.3 GET "/approve/$BOGUS")
[ "$s" = 200 ] && ok "approval page: a third address is served (6 in all)" || bad "127.0.0.3: $s"
s=$(hit 127.0.0.4 GET "/approve/$BOGUS")
[ "$s" = 429 ] && grep -q '"code":"OB_ERR_SVC_RATE_LIMITED".*approval page global rate' server.log &&
    ok "approval page: past the global burst every address gets 429" ||
    bad "approval page global: $s"
grep -q '"code":"OB_ERR_SVC_RATE_LIMITED".*approval page per-IP rate (127.0.0.1)' server.log &&
    ok "the page's refusals are logged with the address" || bad "no page refusal logged"
s=$(hit 127.0.0.5 GET "/enrol/$BOGUS")
[ "$s" = 200 ] && ok "the enrolment page's buckets are not the approval page's" ||
    bad "enrol beside the page: $s"
srv_stop

# The configuration's check of the buckets: bad_bucket OBJ MEMBER JSON,
# the dev configuration with OBJ.MEMBER = JSON, must be refused naming it.
bad_bucket() {
	"$PY" - "$D/dev/server.json" "$D/bad.json" "$1" "$2" "$3" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c[sys.argv[3]][sys.argv[4]] = json.loads(sys.argv[5])
json.dump(c, open(sys.argv[2], "w"))
EOF
	if "$SRV" --check-config "$D/bad.json" >/dev/null 2>bad.out; then
		bad "$1.$2 $3 accepted"
	elif grep -q "$2" bad.out; then
		ok "config: $1.$2 $3 is refused"
	else
		bad "bad config: $(cat bad.out)"
	fi
}
bad_bucket enrol per_ip '{"per_second": -1}'
bad_bucket challenge page_global '{"per_second": 1, "burst": 0}'

[ $fail = 0 ] && echo "all enrolment rate checks passed" || tail -20 server.log
exit $fail
