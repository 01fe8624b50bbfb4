#!/usr/bin/env bash
# Makes the API port's TLS files for deploy/docker-compose.yml: a private CA (ca.crt, ca.key)
# and, for each of the five services, <service>.crt/<service>.key signed by it, whose names
# cover the compose service name, localhost and 127.0.0.1 (the image's healthcheck).
# Run once from any folder; writes next to this script; refuses to overwrite. Replace the CA by
# your department's own if you have one (same file names).
# The peer port needs no file: its mutual TLS is pinned to the nodes' registry keys.
set -euo pipefail
cd "$(dirname "$0")"
if [ -e ca.key ]; then echo "make-certs: ca.key exists; remove the old files first" >&2; exit 1; fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -subj "/CN=caseledger compose API CA" -keyout ca.key -out ca.crt 2>/dev/null
for s in psb procuratorate court detention-house community-corrections; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=$s" -keyout "$s.key" -out "$s.csr" 2>/dev/null
  openssl x509 -req -in "$s.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
    -extfile <(printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' "$s") \
    -out "$s.crt" 2>/dev/null
  rm "$s.csr"
done
rm -f ca.srl
# The node runs as an unprivileged user in the image: the keys must be readable by it.
chmod 0644 ./*.key
echo "make-certs: wrote ca.crt and the certificates of the five services in $(pwd)"
