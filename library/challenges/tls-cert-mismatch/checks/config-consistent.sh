#!/bin/bash
# Every ssl_certificate / ssl_certificate_key pair in the nginx
# configuration (conf.d) must match, so that `nginx -t` and a restart pass.
set -u
confdir=$(sbx-path /etc/nginx/conf.d) || { echo "/etc/nginx/conf.d is missing"; exit 1; }
crt="" key=""
for f in "$confdir"/*.conf; do
  [ -f "$f" ] || continue
  while read -r k v _; do
    v=${v%;}
    case "$k" in
      ssl_certificate) crt=$v ;;
      ssl_certificate_key) key=$v ;;
    esac
  done < "$f"
done
if [ -z "$crt" ] || [ -z "$key" ]; then echo "no ssl_certificate/ssl_certificate_key in /etc/nginx/conf.d"; exit 1; fi
c=$(sbx-path "$crt") || { echo "$crt does not exist"; exit 1; }
k=$(sbx-path "$key") || { echo "$key does not exist"; exit 1; }
a=$(openssl x509 -noout -pubkey -in "$c" 2>/dev/null) || { echo "$crt is not a certificate"; exit 1; }
b=$(openssl pkey -pubout -in "$k" 2>/dev/null) || { echo "$key is not a private key"; exit 1; }
if [ "$a" != "$b" ]; then echo "$crt and $key do not belong together (different public keys): nginx -t fails"; exit 1; fi
echo "$crt matches $key"
