#!/bin/bash
# Runs as root when an idle practice sandbox is restored after hibernation:
# files are kept, processes are not. Start the database and the storefront
# again, as setup did; they read their configuration as it is now.
: "${DB_PORT:?}"
setsid setpriv --reuid=storefront --regid=storefront --init-groups python3 /opt/storefront/fake-db.py "$DB_PORT" >/dev/null 2>&1 </dev/null &
setsid setpriv --reuid=storefront --regid=storefront --init-groups python3 /opt/storefront/app.py >>/var/log/storefront/app.log 2>&1 </dev/null &
for _ in $(seq 30); do curl -s -o /dev/null http://127.0.0.1:8080/healthz && break; sleep 0.1; done
