#!/bin/sh
# Test PKI for the service tests, made with openssl in DIR:
#   ca.pem/ca.key       the client and server CA
#   server.pem/.key     TLS server, DNS:localhost only
#   proxy.pem/.key      client, URI SAN spiffe://test.example/proxy/p1 (mapped)
#   hashpeer.pem/.key   client, mapped by its SHA-256 (no URI SAN)
#   stranger.pem/.key   client of the same CA that maps to no peer
#   prefix.pem/.key     client whose URI SAN only starts with proxy-1's
#   other-ca.pem, rogue.pem/.key   a client of another CA
#   expired.pem/.key    a client whose certificate has expired
#   server-expired.pem  the server key in an expired certificate
#   peers.json          the peer list naming proxy and hashpeer
set -eu
D=$1
cd "$D"
q() { "$@" >/dev/null 2>&1; }
key() { q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
ca() {	# name subject
	key "$1.key"
	q openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 2 -out "$1.pem" \
	    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
}
leaf() {	# name ca ext subject [days] [startdate]
	[ -f "$1.key" ] || key "$1.key"
	q openssl req -new -key "$1.key" -subj "/CN=$4" -out "$1.csr"
	printf '%s\n' "$3" > "$1.ext"
	q openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
	    -days "${5:-2}" -extfile "$1.ext" -out "$1.pem"
}
ca ca "svc test CA"
ca other-ca "another CA"
leaf server ca "subjectAltName=DNS:localhost
extendedKeyUsage=serverAuth" localhost
leaf proxy ca "subjectAltName=URI:spiffe://test.example/proxy/p1
extendedKeyUsage=clientAuth" proxy-1
leaf hashpeer ca "extendedKeyUsage=clientAuth" hashpeer
leaf stranger ca "subjectAltName=URI:spiffe://test.example/proxy/nobody
extendedKeyUsage=clientAuth" stranger
leaf prefix ca "subjectAltName=URI:spiffe://test.example/proxy/p1/x
extendedKeyUsage=clientAuth" prefix
leaf rogue other-ca "subjectAltName=URI:spiffe://test.example/proxy/p1
extendedKeyUsage=clientAuth" rogue
# Expired: a certificate valid for one day, ten days ago (python makes it:
# openssl 3.0's x509 -req cannot backdate).
"${OB_PYTHON:-/usr/bin/python3}" - <<'PY'
import datetime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
ca = x509.load_pem_x509_certificate(open("ca.pem", "rb").read())
cak = serialization.load_pem_private_key(open("ca.key", "rb").read(), None)
now = datetime.datetime.utcnow()
def make(name, key, san, eku):
    c = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
         .issuer_name(ca.subject).public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=10))
         .not_valid_after(now - datetime.timedelta(days=9))
         .add_extension(san, False)
         .add_extension(x509.ExtendedKeyUsage([eku]), False)
         .sign(cak, hashes.SHA256()))
    return c.public_bytes(serialization.Encoding.PEM)
k = ec.generate_private_key(ec.SECP256R1())
open("expired.key", "wb").write(k.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
open("expired.pem", "wb").write(make("expired", k,
    x509.SubjectAlternativeName([x509.UniformResourceIdentifier(
        "spiffe://test.example/proxy/p1")]), ExtendedKeyUsageOID.CLIENT_AUTH))
sk = serialization.load_pem_private_key(open("server.key", "rb").read(), None)
open("server-expired.pem", "wb").write(make("localhost", sk,
    x509.SubjectAlternativeName([x509.DNSName("localhost")]),
    ExtendedKeyUsageOID.SERVER_AUTH))
PY
H=$(openssl x509 -in hashpeer.pem -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
cat > peers.json <<JSON
{"peers": [
 {"id": "proxy-1", "role": "proxy", "san_uri": "spiffe://test.example/proxy/p1"},
 {"id": "hash-peer", "role": "gateway", "cert_sha256": "$(echo "$H" | tr a-f A-F)"}
]}
JSON
rm -f ./*.csr ./*.ext ./*.srl
