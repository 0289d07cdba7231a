#!/bin/bash
# Runs as root when an idle practice sandbox is restored after hibernation:
# files are kept, processes are not (a rebooted machine). Start the
# supervisor again, as the machine's init would; it reads
# /etc/orders/orders.env as it is now, so an unfixed environment or data
# directory makes the API fail exactly as before.
ordersctl start
# Give a working API a moment to answer (bounded; a broken one never does).
port=$(sed -n 's/^ORDERS_LISTEN_PORT=\([0-9]*\).*/\1/p' /etc/orders/orders.env | tail -n 1)
for _ in $(seq 50); do
  [ -n "$port" ] && curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" && break
  sleep 0.2
done
exit 0
