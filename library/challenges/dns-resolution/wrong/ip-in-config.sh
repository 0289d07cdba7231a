#!/bin/bash
# Wrong: works around resolution by putting an address in the shared
# configuration; every other program still cannot resolve db.internal.
sed -i 's/^DB_HOST=.*/DB_HOST=127.0.0.1/' /etc/storefront/storefront.env
pkill -f /opt/storefront/app.py; sleep 0.3
setsid setpriv --reuid=storefront --regid=storefront --init-groups python3 /opt/storefront/app.py >/dev/null 2>&1 </dev/null &
sleep 1
