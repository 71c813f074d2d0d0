#!/bin/sh
# The Redis state behind an ACL user and password (docs/server.md,
# "redis"), with a real redis-server whose default user is off:
#   - password_source env:: the server issues; once read, the password
#     is gone from the server's environment (/proc/PID/environ) and no
#     child has it (the notifier, the signer's launcher and helper),
#     while a control variable set beside it is in all of them;
#   - password_source file: issues as well;
#   - a wrong password: the server does not start, says AUTH failed,
#     and shows no password.
# Usage: test_server_redis_auth.sh OWNERBIND-SERVER OWNERBIND
# Exit 0 = passed, 1 = failed.
# shellcheck disable=SC2015 # "check && ok || bad": ok and bad only count and print
set -u
SRV=${1:?}; OB=${2:?}
PY=${OB_PYTHON:-/usr/bin/python3}
RS=${OB_REDIS_SERVER:-redis-server}
HERE=$(cd "$(dirname "$0")" && pwd)
PW='Rds-pw-4e19b7c2d0'		# distinctive: looked for in /proc
MARK='ctl-mark-77a1f3'
# shellcheck source=tests/server/srv-setup.sh
. "$HERE/srv-setup.sh"
die() { echo "FAIL: $*"; tail -n 20 "$D"/*.log; exit 1; }

cat >redis.conf <<EOF
port 0
unixsocket $D/redis.sock
unixsocketperm 700
save ""
appendonly no
dir $D
user default off
user obsrv on >$PW ~* &* +@all
EOF
"$RS" redis.conf >redis.log 2>&1 &
KP=$!
i=0
until REDISCLI_AUTH=$PW redis-cli --user obsrv -s "$D/redis.sock" ping 2>/dev/null |
    grep -q PONG; do
	i=$((i + 1)); [ $i -lt 200 ] || die "redis-server did not start"
	sleep 0.05
done
redis-cli -s "$D/redis.sock" set x y 2>&1 | grep -q NOAUTH ||
    die "the default user is not off"

srv_dev
"$OB" keygen --key file:owner.pem >/dev/null || die "owner key"
"$OB" enroll --key file:owner.pem --owner alice@example.org \
    --may-bind 'wimse://example.org/agents/*' --trust "$TRUST" \
    >/dev/null || die "enroll"
printf '%s\n' "$PW" >pw; chmod 600 pw
printf 'wrong-%s\n' "$PW" >badpw; chmod 600 badpw
conf() {	# $1: the password source; the dev configuration, Redis state
	"$PY" - "$D" "$1" <<'EOF' || die "server.json"
import json, sys
d, src = sys.argv[1], sys.argv[2]
c = json.load(open(d + "/dev/server.json"))
c["listen"] = json.load(open(d + "/dev/dev.json"))["url"].split("//", 1)[1]
c["state"] = "unix:" + d + "/redis.sock"
c["redis"] = {"user": "obsrv", "password_source": src}
# A callback, so that the notifier runs (it is never reached here).
c["clients"][0]["callback"] = {"url": "https://127.0.0.1:1/ping",
                               "ca": "tls-ca.pem"}
json.dump(c, open(d + "/dev/server.json", "w"), indent=1)
EOF
}
n=0
issue() {	# a fresh envelope, submitted: 0 when a credential came back
	n=$((n + 1))
	"$OB" request --sub "wimse://example.org/agents/a$n" --aud "$AUD" \
	    --owner alice@example.org --agent-key "agent$n.pem" \
	    --new-agent-key -o "req$n.json" >/dev/null 2>&1 &&
	"$OB" sign --key file:owner.pem -o "signed$n.json" "req$n.json" \
	    2>/dev/null &&
	"$OB" pop --agent-key "agent$n.pem" -o "env$n.json" "signed$n.json" \
	    2>/dev/null &&
	"$OB" submit --server "$URL" --cert "$CERT" --key "$KEY" --ca "$CA" \
	    --wit "wit$n.txt" "env$n.json" >out 2>&1
}
# Each process of the server's tree: its pid, name and whether its
# environment holds PW and MARK ("pid name pw mark", one a line).
envscan() {
	"$PY" - "$SP" "$PW" "$MARK" <<'EOF'
import os, sys
root, pw, mark = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
kids = {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            st = open("/proc/%s/stat" % p).read()
        except OSError:
            continue
        kids.setdefault(st[st.rindex(")") + 2:].split()[1], []).append(p)
queue, tree = [root], []
while queue:
    p = queue.pop()
    tree.append(p)
    queue += kids.get(p, [])
for p in tree:
    env = open("/proc/%s/environ" % p, "rb").read()
    name = open("/proc/%s/comm" % p).read().strip()
    print(p, name, int(pw in env), int(mark in env))
EOF
}

# ---- env: ----
conf env:OB_REDIS_PW
OB_REDIS_PW=$PW OB_MARK=$MARK
export OB_REDIS_PW OB_MARK
srv_serve
unset OB_REDIS_PW
issue && ok "password_source env:: a credential over the ACL user" ||
    bad "submit with env:: $(cat out)"
envscan >scan.txt || die "environment scan"
cat scan.txt
# The server, its launcher and helper, its notifier: four at least.
[ "$(wc -l <scan.txt)" -ge 4 ] && ok "the server's tree: $(wc -l <scan.txt) processes" ||
    bad "the scan found $(wc -l <scan.txt) processes"
grep -q ' 1$' scan.txt && ! grep -q ' 0$' scan.txt &&
    ok "control: the variable set beside the password is in every process's environment" ||
    bad "the control variable is not in every environment"
grep -q 'ownerbind-notif' scan.txt && ok "the notifier runs" || bad "no notifier in the tree"
if grep -q ' 1 [01]$' scan.txt; then
	bad "the password is in an environment: $(grep ' 1 [01]$' scan.txt)"
else
	ok "the Redis password is in no environment of the server's tree"
fi
grep -qF "$PW" server.log && bad "the password is in the log" ||
    ok "the password is not in the server's log"
srv_stop

# ---- file: ----
conf "file:$D/pw"
srv_serve server2.log
issue && ok "password_source file:: a credential" || bad "submit with file:: $(cat out)"
srv_stop

# ---- a wrong password ----
conf "file:$D/badpw"
timeout 30 "$SRV" --config dev/server.json >bad.out 2>&1; rc=$?
if [ $rc = 0 ] || [ $rc = 124 ]; then
	bad "the server started with a wrong Redis password ($rc)"
elif ! grep -Eiq 'WRONGPASS|AUTH' bad.out; then
	bad "the refusal does not say AUTH failed: $(cat bad.out)"
elif grep -qF "$PW" bad.out; then
	bad "the refusal shows the password"
else
	ok "a wrong Redis password: the server does not start ($rc): $(head -c 200 bad.out)"
fi
exit $fail
