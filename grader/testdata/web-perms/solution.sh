#!/bin/bash
set -euo pipefail
echo "hello opsdojo" > /srv/www/index.html
chown www-data:www-data /srv/www/index.html
chmod 0644 /srv/www/index.html
rm -f /srv/www/secret.txt
echo motd-fixed > /etc/motd
setpriv --reuid=33 --regid=33 --clear-groups nohup python3 -m http.server 8080 --directory /srv/www >/dev/null 2>&1 &
for i in $(seq 50); do (echo > /dev/tcp/127.0.0.1/8080) 2>/dev/null && exit 0; sleep 0.1; done
exit 1
