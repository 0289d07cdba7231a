#!/bin/bash
# The next restart must come back the same way: billing.conf says 8080,
# exporter.conf says 9100.
set -u
port_of() {
  local f v=""
  f=$(sbx-path "$1") || return 1
  while IFS= read -r l; do [[ "$l" =~ ^LISTEN_PORT=([0-9]+)[[:space:]]*$ ]] && v=${BASH_REMATCH[1]}; done < "$f"
  echo "$v"
}
b=$(port_of /etc/billing/billing.conf); e=$(port_of /etc/exporter/exporter.conf)
if [ "$b" != 8080 ]; then echo "billing.conf makes the billing API listen on '${b}', not 8080"; exit 1; fi
if [ "$e" != 9100 ]; then echo "exporter.conf makes the exporter listen on '${e}', not 9100: the next restart brings the conflict back"; exit 1; fi
echo "billing on 8080 and the exporter on 9100 after any restart"
