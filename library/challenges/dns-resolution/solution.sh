#!/bin/bash
# Reference solution: consult files before DNS, point db.internal at the
# loopback address (rewriting /etc/hosts in place: it is a bind mount).
set -euo pipefail
sed -i -E 's/^hosts:.*/hosts:          files dns/' /etc/nsswitch.conf
new=$(sed -E 's/^[0-9.]+([[:space:]]+)db\.internal\b/127.0.0.1\1db.internal/' /etc/hosts)
printf '%s\n' "$new" > /etc/hosts
getent hosts db.internal
curl -fsS http://127.0.0.1:8080/healthz
