#!/bin/bash
set -euo pipefail
echo "hello opsdojo" > /srv/www/index.html
setsid python3 -m http.server 8080 --directory /srv/www >/dev/null 2>&1 </dev/null &
for i in $(seq 50); do (echo > /dev/tcp/127.0.0.1/8080) 2>/dev/null && exit 0; sleep 0.1; done
exit 1
