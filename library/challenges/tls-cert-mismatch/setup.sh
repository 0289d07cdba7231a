#!/bin/bash
# The shop's certificate expired; the renewed one was delivered, but whoever
# installed it paired it with the OLD private key, so `nginx -s reload`
# fails and nginx keeps serving the expired certificate. The renewed key sits
# world-readable where it was unpacked.
set -euo pipefail
: "${SHOP_WORD:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# The internal CA (its key exists only during setup; the checks hold the CA
# certificate themselves and trust nothing in the sandbox).
cat > ca.key <<'EOT'
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0rTQ1xWfm6O3DF4N
vZiGety9qVaFS+yXFVsqh6ki2bqhRANCAASmmBTWtvzver4gK2XYvTPuBWRuxYW2
qNPZBKV74EYA/ouEr3Yr+x2/9jBjqaoCEYAv7yMG0Wn+fnAHtYvfVstz
-----END PRIVATE KEY-----
EOT
cat > ca.crt <<'EOT'
-----BEGIN CERTIFICATE-----
MIIB0jCCAXegAwIBAgIUb6ziFAlKQmX4f0EiVCvGBZjQN7gwCgYIKoZIzj0EAwIw
PTEWMBQGA1UECgwNQWNtZSBJbnRlcm5hbDEjMCEGA1UEAwwaQWNtZSBJbnRlcm5h
bCBSb290IENBIDIwMjQwIBcNMjYxMTI1MjI0NzIzWhgPMjEyNjExMDEyMjQ3MjNa
MD0xFjAUBgNVBAoMDUFjbWUgSW50ZXJuYWwxIzAhBgNVBAMMGkFjbWUgSW50ZXJu
YWwgUm9vdCBDQSAyMDI0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEppgU1rb8
73q+ICtl2L0z7gVkbsWFtqjT2QSle+BGAP6LhK92K/sdv/YwY6mqAhGAL+8jBtFp
/n5wB7WL31bLc6NTMFEwHQYDVR0OBBYEFPAW9m1WBt3AiQ4ijgfVGz/KJimMMB8G
A1UdIwQYMBaAFPAW9m1WBt3AiQ4ijgfVGz/KJimMMA8GA1UdEwEB/wQFMAMBAf8w
CgYIKoZIzj0EAwIDSQAwRgIhAO0qXmONawguXGkg8FjZAN58GhKRD6dSkAUP9dpJ
cjlcAiEA6Wp7b+uz2kkXdEEQ+Hu5mcdofc6ZOMvGmoCqWpqktUc=
-----END CERTIFICATE-----
EOT
cat > ca.cnf <<'EOT'
[ca]
default_ca = local
[local]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
[ext]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:shop.internal
EOT
: > index.txt
printf '%s\n' "$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')" > serial
issue() { # key crt startdate enddate
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1" -out req.csr -subj "/CN=shop.internal" 2>/dev/null
  openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in req.csr -out "$2" -startdate "$3" -enddate "$4" -extensions ext -notext 2>/dev/null
}
issue old.key old.crt 20240301000000Z 20250301000000Z
issue new.key new.crt "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" "$(date -u -d '+90 days' +%Y%m%d%H%M%SZ)"

mkdir -p /etc/nginx/tls/renewed /srv/shop
install -m 0644 ca.crt /etc/nginx/tls/acme-internal-ca.crt
install -m 0644 old.crt /etc/nginx/tls/shop.internal.crt
install -m 0600 old.key /etc/nginx/tls/shop.internal.key
# The renewal, as delivered by the PKI team.
install -m 0644 new.crt /etc/nginx/tls/renewed/shop.internal.crt
install -m 0644 new.key /etc/nginx/tls/renewed/shop.internal.key
cat /etc/nginx/tls/renewed/shop.internal.crt ca.crt > /etc/nginx/tls/renewed/shop.internal.fullchain.crt
chmod 0644 /etc/nginx/tls/renewed/shop.internal.fullchain.crt

echo "<!doctype html><h1>Shop</h1><p>${SHOP_WORD}</p>" > /srv/shop/index.html
cat > /etc/nginx/conf.d/shop.conf <<'EOT'
server {
    listen 8443 ssl default_server;
    server_name shop.internal;
    ssl_certificate     /etc/nginx/tls/shop.internal.crt;
    ssl_certificate_key /etc/nginx/tls/shop.internal.key;
    root /srv/shop;
}
EOT
nginx
for _ in $(seq 30); do curl -sk -o /dev/null https://127.0.0.1:8443/ && break; sleep 0.1; done
# The botched renewal: new certificate, old key; the reload fails and the
# running nginx keeps the expired certificate.
cp /etc/nginx/tls/renewed/shop.internal.crt /etc/nginx/tls/shop.internal.crt
nginx -s reload 2>/dev/null || true
sleep 0.3
