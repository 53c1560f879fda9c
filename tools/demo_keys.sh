#!/bin/sh
# demo_keys.sh - make a throwaway CA and a signing key and certificate for
# the demo's archives (archive.sign_key / archive.sign_cert), so that
#   openssl cms -verify -binary -inform DER -in tagmanifest-sha256.txt.p7s \
#     -content tagmanifest-sha256.txt -CAfile DIR/demo-ca.pem
# and `billrun archive verify ARCHIVE --ca DIR/demo-ca.pem` accept them.
#   tools/demo_keys.sh [DIR]     (default: var; nothing is remade if present)
# Writes DIR/demo-ca.pem (the CA certificate to verify with), DIR/demo-ca.key,
# DIR/demo-sign.key (unencrypted, mode 600) and DIR/demo-sign.pem.
# For demonstrations and tests only: a real deployment signs with a key
# from its own PKI.
set -eu
dir=${1:-var}
mkdir -p "$dir"
if [ -s "$dir/demo-ca.pem" ] && [ -s "$dir/demo-sign.key" ] && [ -s "$dir/demo-sign.pem" ]; then
	echo "demo_keys: $dir/demo-sign.pem and $dir/demo-ca.pem exist already"
	exit 0
fi
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cat >"$tmp/ca.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = ca_ext
[dn]
O = billrun demo
CN = billrun demo archive CA
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
cat >"$tmp/leaf.cnf" <<'CNF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
openssl req -x509 -newkey rsa:3072 -nodes -keyout "$dir/demo-ca.key" -out "$dir/demo-ca.pem" \
	-days 3650 -sha256 -config "$tmp/ca.cnf" 2>/dev/null
openssl req -newkey rsa:3072 -nodes -keyout "$dir/demo-sign.key" -out "$tmp/sign.csr" \
	-subj "/O=billrun demo/CN=billrun demo archive signer" 2>/dev/null
openssl x509 -req -in "$tmp/sign.csr" -CA "$dir/demo-ca.pem" -CAkey "$dir/demo-ca.key" \
	-CAcreateserial -CAserial "$tmp/ca.srl" -out "$dir/demo-sign.pem" -days 825 -sha256 \
	-extfile "$tmp/leaf.cnf" 2>/dev/null
chmod 644 "$dir/demo-ca.pem" "$dir/demo-sign.pem"
echo "demo_keys: signing key $dir/demo-sign.key, certificate $dir/demo-sign.pem, CA $dir/demo-ca.pem"
