#!/bin/bash
set -euo pipefail
useradd --system --no-create-home banner
mkdir -p /srv/status
printf '{"status": "ok", "build": "%s", "items": [1, 2]}\n' "$BUILD" > /srv/status/status.json
cat > /etc/nginx/conf.d/status.conf <<'NGINX'
server {
  listen 8080;
  root /srv/status;
}
NGINX
nginx
cat > /usr/local/bin/banner <<'PY'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b"220 banner ready\r\n"); c.close()
PY
cat > /usr/local/bin/pong <<'PY'
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7000)); s.listen(8)
while True:
    c, _ = s.accept()
    if c.recv(100).startswith(b"PING"):
        c.sendall(b"PONG\r\n")
    c.close()
PY
setsid setpriv --reuid=banner --regid=banner --clear-groups python3 /usr/local/bin/banner "$BANNER_PORT" >/dev/null 2>&1 < /dev/null &
setsid python3 /usr/local/bin/pong >/dev/null 2>&1 < /dev/null &
for i in $(seq 50); do
  (exec 3<>/dev/tcp/127.0.0.1/8080 && exec 3<>/dev/tcp/127.0.0.1/7000 && exec 3<>/dev/tcp/127.0.0.1/"$BANNER_PORT") 2>/dev/null && exit 0
  sleep 0.1
done
echo "services did not start" >&2
exit 1
