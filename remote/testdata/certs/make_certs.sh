#!/bin/sh
# Makes the test certificates in this directory (run from it; they are
# checked in, so the tests need no openssl). Two certificate authorities:
# the cluster's, which signs the nodes' certificates, and an outsider's,
# which signs a certificate that looks the same but that no node trusts.
# Valid for a century: tests must not start failing on a date.
set -eu
days=36500
ext=$(mktemp)
trap 'rm -f "$ext" ./*.csr ./*.srl' EXIT
cat > "$ext" <<'END'
subjectAltName = DNS:localhost, IP:127.0.0.1, DNS:troupe-node
extendedKeyUsage = serverAuth, clientAuth
END

authority() {  # name
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1.key" -out "$1.pem" -days "$days" -subj "/CN=troupe test $1"
}

certificate() {  # name authority
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1.key" -out "$1.csr" -subj "/CN=troupe-node"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
    -out "$1.pem" -days "$days" -extfile "$ext"
}

authority ca
certificate node ca
authority outsider_ca
certificate outsider outsider_ca
rm -f ca.key outsider_ca.key
