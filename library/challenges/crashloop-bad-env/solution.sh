#!/bin/bash
# Reference solution: fix the variable name, give the data directory to the
# service user; the supervisor picks both up at its next restart.
set -euo pipefail
sed -i 's/^ORDER_DB_PATH=/ORDERS_DB_PATH=/' /etc/orders/orders.env
chown orders:orders /var/lib/orders
chmod 0750 /var/lib/orders
. /etc/orders/orders.env
for _ in $(seq 50); do
  curl -fs -o /dev/null "http://127.0.0.1:${ORDERS_LISTEN_PORT}/healthz" && exit 0
  sleep 0.2
done
ordersctl logs; exit 1
