#!/bin/bash
# The database now runs on this host; /etc/hosts still has its old address,
# and a "hardening" script removed `files` from the hosts line of
# nsswitch.conf.
set -euo pipefail
: "${DB_PORT:?}"
useradd --system --no-create-home --shell /usr/sbin/nologin storefront
mkdir -p /opt/storefront /etc/storefront /var/log/storefront
chown storefront:storefront /var/log/storefront
cat > /etc/storefront/storefront.env <<EOT
# Shared with the other storefront hosts: names only, no addresses.
DB_HOST=db.internal
DB_PORT=${DB_PORT}
EOT

# The "database": a tiny TCP service answering PING with PONG.
cat > /opt/storefront/fake-db.py <<'EOT'
import socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        if self.rfile.readline().strip() == b"PING":
            self.wfile.write(b"PONG\n")
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOT

cat > /opt/storefront/app.py <<'EOT'
import http.server, os, socket, sys
env = {}
for line in open("/etc/storefront/storefront.env"):
    line = line.strip()
    if line and not line.startswith("#") and "=" in line:
        k, v = line.split("=", 1); env[k] = v

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/healthz":
            self.send_response(404); self.end_headers(); return
        host, port = env["DB_HOST"], int(env["DB_PORT"])
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                s.sendall(b"PING\n")
                ok = s.recv(16).startswith(b"PONG")
            code, body = (200, "database reachable\n") if ok else (503, "database answered garbage\n")
        except OSError as e:
            code, body = 503, f"cannot reach database {host}:{port}: {e}\n"
        b = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, fmt, *a):
        sys.stderr.write("storefront: " + (fmt % a) + "\n")

http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
EOT

setsid setpriv --reuid=storefront --regid=storefront --init-groups python3 /opt/storefront/fake-db.py "$DB_PORT" >/dev/null 2>&1 </dev/null &
setsid setpriv --reuid=storefront --regid=storefront --init-groups python3 /opt/storefront/app.py >>/var/log/storefront/app.log 2>&1 </dev/null &

# The stale address (the database's old VM), appended in place: /etc/hosts
# is a bind mount in a container.
printf '\n# database\n10.99.0.15\tdb.internal db\n' >> /etc/hosts
# The "hardening": DNS only.
sed -i -E 's/^hosts:.*/hosts:          dns/' /etc/nsswitch.conf
cat > /etc/resolv.conf <<'EOT'
nameserver 10.99.0.2
options timeout:1 attempts:1
EOT
for _ in $(seq 30); do curl -s -o /dev/null http://127.0.0.1:8080/healthz && break; sleep 0.1; done
