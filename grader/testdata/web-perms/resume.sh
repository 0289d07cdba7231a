#!/bin/bash
# After a restore (processes do not survive hibernation): start the status
# page's web server again, as www-data, from /srv/www as it is now. Nothing
# is changed: a page www-data cannot read stays unreadable.
setsid setpriv --reuid=33 --regid=33 --clear-groups python3 -m http.server 8080 --directory /srv/www >/dev/null 2>&1 </dev/null &
for i in $(seq 50); do (echo > /dev/tcp/127.0.0.1/8080) 2>/dev/null && exit 0; sleep 0.1; done
exit 1
