# shellcheck shell=sh
# ownerbind submit against svcd; sourced by test_service.sh (D, PORT, U,
# OB, CL, has, hasnt, ok, no, eq are set there).
# shellcheck disable=SC2086 # $M is the client's option list, split on purpose
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
sub() {	# sub EXPECTED-EXIT DESCRIPTION ARGS...
	want=$1; what=$2; shift 2
	"$OB" submit "$@" >out.txt 2>err.txt
	got=$?
	if [ "$got" = "$want" ]; then ok "$what"; else
		no "$what (exit $got, want $want)"; sed 's/^/    /' err.txt out.txt | head -10; fi
}
M="--cert proxy.pem --key proxy.key --ca ca.pem"
echo '{"payload":"e30","signatures":[]}' > env.json
echo '{"refuse":true}' > refuse.json

sub 0 "submit: 201 writes the WIT and the WIC" --server "$U" $M --wit wit.txt --wic wic.pem env.json
has wit.txt '^eyJhbGciOiJFUzI1NiIsInR5cCI6IndpdCtqd3QifQ' "... the WIT"
has wic.pem '^-----BEGIN CERTIFICATE-----' "... the WIC"
eq "$(stat -c %a wit.txt)" 600 "... private files"
sub 0 "submit --json prints the answer" --server "$U/" $M --json env.json
has out.txt '"expires_at":1767229200' "... with expires_at"
sub 0 "submit reads the envelope from stdin" --server "$U" $M - < env.json
has out.txt '"wit"' "... and prints the answer without --wit/--wic"

rm -f wit.txt
sub 1 "submit: a refusal fails" --server "$U" $M --wit wit.txt refuse.json
has err.txt 'OB_ERR_SUBMIT_REFUSED' "... as OB_ERR_SUBMIT_REFUSED"
has err.txt 'HTTP 403 OB_ERR_REJECTED: Request refused (request id [0-9a-f]\{16\})' "... with the server's code, title and request id"
[ -e wit.txt ] && no "... nothing written" || ok "... nothing written"
echo '{"bad_shape":true}' > bad.json
sub 1 "submit: a 201 that is not a credential" --server "$U" $M --wit wit.txt bad.json
has err.txt 'OB_ERR_SUBMIT_RESPONSE' "... OB_ERR_SUBMIT_RESPONSE"
[ -e wit.txt ] && no "... nothing written" || ok "... nothing written"
sub 1 "submit with an unmapped certificate" --server "$U" --cert stranger.pem --key stranger.key --ca ca.pem env.json
has err.txt 'HTTP 403 OB_ERR_SVC_PEER_UNKNOWN' "... names the public code"

sub 1 "submit: the server's CA is not --ca" --server "$U" --cert proxy.pem --key proxy.key --ca other-ca.pem env.json
has err.txt 'OB_ERR_SUBMIT_UNKNOWN_CA' "... OB_ERR_SUBMIT_UNKNOWN_CA"
has err.txt 'tls_ca' "... with the next step"
sub 1 "submit: a wrong host name" --server "https://127.0.0.1:$PORT" $M env.json
has err.txt 'OB_ERR_SUBMIT_HOSTNAME' "... OB_ERR_SUBMIT_HOSTNAME"
sub 1 "submit: an expired client certificate" --server "$U" --cert expired.pem --key expired.key --ca ca.pem env.json
has err.txt 'OB_ERR_SUBMIT_EXPIRED' "... OB_ERR_SUBMIT_EXPIRED"
has err.txt "this client's certificate (--cert expired.pem) has expired" "... says whose, before connecting"
sub 1 "submit: a client certificate from another CA" --server "$U" --cert rogue.pem --key rogue.key --ca ca.pem env.json
has err.txt 'OB_ERR_SUBMIT_TLS' "... OB_ERR_SUBMIT_TLS"
FP=$($CL freeport)
sub 1 "submit: connection refused" --server "https://localhost:$FP" $M env.json
has err.txt 'OB_ERR_SUBMIT_CONNECT' "... OB_ERR_SUBMIT_CONNECT"
$CL silent "$D/silent.port" 8 & SILENT=$!
waitfile "$D/silent.port"
t0=$(date +%s)
sub 1 "submit: a server that never answers" --server "https://localhost:$(cat silent.port)" $M --timeout 1 env.json
has err.txt 'OB_ERR_SUBMIT_TIMEOUT' "... OB_ERR_SUBMIT_TIMEOUT"
[ $(( $(date +%s) - t0 )) -le 3 ] && ok "... within --timeout" || no "... within --timeout"
kill $SILENT 2>/dev/null; wait $SILENT 2>/dev/null
rm -f ports2
"$SVCD" --listen 127.0.0.1:0 --cert server-expired.pem --key server.key --ca ca.pem \
    --peers peers.json --ports ports2 2>exp.log & EPID=$!
waitfile ports2
read -r EP _ < ports2
sub 1 "submit: an expired server certificate" --server "https://localhost:$EP" $M env.json
has err.txt 'OB_ERR_SUBMIT_EXPIRED' "... OB_ERR_SUBMIT_EXPIRED"
has err.txt "the server's certificate" "... says whose"
kill $EPID; wait $EPID
sub 2 "submit without --ca is a usage error" --server "$U" --cert proxy.pem --key proxy.key env.json
sub 2 "submit refuses plain http" --server "http://localhost:$PORT" $M env.json
has err.txt 'https://' "... and says so"
