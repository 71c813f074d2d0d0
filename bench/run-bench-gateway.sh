#!/bin/sh
# run-bench-gateway.sh BUILD [N] [CONNS] [SOAK_CONNS SOAK_SECONDS]: set up
# a gateway with its key in SoftHSM2 (tests/gateway/gw-setup.sh) whose
# server is the stub bench-gateway serves, then run bench-gateway.
# Prints measurements; asserts nothing.
set -u
B=${1:?usage: run-bench-gateway.sh BUILD [N] [CONNS] [SOAK_CONNS SOAK_SECONDS]}
N=${2:-2000}; C=${3:-16}; SC=${4:-0}; SS=${5:-0}
SRV=$B/server/ownerbind-server; OB=$B/owner/ownerbind
SIG=$B/server/ownerbind-signer; GW=$B/server/ownerbind-gateway
HERE=$(cd "$(dirname "$0")/../tests/gateway" && pwd)
PY=${OB_PYTHON:-/usr/bin/python3}
D=$(mktemp -d /tmp/bench-gw.XXXXXX) || exit 1
# shellcheck disable=SC2317 # run from the EXIT trap
cleanup() { stop_all; rm -rf "$D"; }
trap cleanup EXIT
: "$SIG"
# shellcheck disable=SC3045 # dash and bash have ulimit -n; elsewhere it fails harmlessly
ulimit -n 16384 2>/dev/null || true
# shellcheck source=tests/gateway/gw-setup.sh
. "$HERE/gw-setup.sh"
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PY" - "$D" "$PORT" <<'PY' || exit 1
import json, sys
d, port = sys.argv[1:3]
g = json.load(open(d + "/gateway.json"))
g["server"].update({"url": "https://127.0.0.1:" + port, "ca": "tlsca.pem"})
g["limits"] = {"workers": 4, "max_conns": 4096, "queue": 4096}
g["hsm_queue"] = {"depth": 4096, "deadline_ms": 5000}
json.dump(g, open(d + "/gateway.json", "w"))
PY
start_gateway
envelope "$D/bench.json" bench 2>/dev/null || exit 1
"$B/bench/bench-gateway" --gateway "$GURL/v1/credentials" --ca "$D/tlsca.pem" \
    --cert "$D/proxy.pem" --key "$D/proxy.key" --envelope "$D/bench.json" \
    --key-uri "$(cat "$D/uri")&pin-source=file:$D/pin" \
    --stub-listen "127.0.0.1:$PORT" --stub-cert "$D/gwtls.pem" \
    --stub-key "$D/gwtls.key" --stub-ca "$D/tlsca.pem" \
    --stub-peer wimse://acme.example/gateway --gateway-pid "$GP" \
    -n "$N" -t "$C" --soak-conns "$SC" --soak-seconds "$SS"
