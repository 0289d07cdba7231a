#!/bin/bash
# Installs the catalog service behind nginx, then breaks it twice the way a
# botched migration would: the service is stopped, and nginx's upstream
# still points at the port the service used before the migration.
set -euo pipefail
: "${CATALOG_PORT:?}" "${CATALOG_BUILD:?}"
old_port=$((CATALOG_PORT + 1))

useradd --system --no-create-home --shell /usr/sbin/nologin catalog
mkdir -p /opt/catalog /etc/catalog /var/log/catalog
chown catalog:catalog /var/log/catalog

cat > /etc/catalog/catalog.env <<EOT
# Port the catalog service listens on (other services call it directly).
CATALOG_PORT=${CATALOG_PORT}
CATALOG_BUILD=${CATALOG_BUILD}
EOT

cat > /opt/catalog/app.py <<'EOT'
import http.server, json, os, sys

PORT = int(os.environ["CATALOG_PORT"])
BUILD = os.environ.get("CATALOG_BUILD", "dev")
ITEMS = [{"sku": "A-100", "name": "kettle"}, {"sku": "B-220", "name": "toaster"}]

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path in ("/", "/items"):
            body = json.dumps({"service": "catalog", "build": BUILD, "items": ITEMS}).encode()
            code = 200
        elif self.path == "/healthz":
            body, code = b"ok\n", 200
        else:
            body, code = b"not found\n", 404
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, fmt, *a):
        sys.stderr.write("catalog: " + (fmt % a) + "\n")

print(f"catalog build {BUILD} listening on 127.0.0.1:{PORT}", file=sys.stderr, flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
EOT

cat > /usr/local/bin/catalogctl <<'EOT'
#!/bin/bash
# catalogctl start|stop|restart|status|logs — the catalog service (no systemd here)
set -u
log=/var/log/catalog/catalog.log
running() { pgrep -u catalog -f /opt/catalog/app.py >/dev/null; }
case "${1:-}" in
start)
  if running; then echo "catalog is already running"; exit 0; fi
  set -a; . /etc/catalog/catalog.env; set +a
  setsid setpriv --reuid=catalog --regid=catalog --init-groups \
    python3 /opt/catalog/app.py >>"$log" 2>&1 </dev/null &
  for _ in $(seq 30); do
    if curl -fs -o /dev/null "http://127.0.0.1:${CATALOG_PORT}/healthz"; then : >/run/catalog.started; echo "catalog is up on port ${CATALOG_PORT}"; exit 0; fi
    sleep 0.2
  done
  echo "catalog failed to start; see: catalogctl logs" >&2; exit 1 ;;
stop) rm -f /run/catalog.started; pkill -u catalog -f /opt/catalog/app.py; sleep 0.3; echo "catalog stopped" ;;
restart) "$0" stop; "$0" start ;;
status) if running; then echo "catalog is running (pid $(pgrep -u catalog -f /opt/catalog/app.py | head -1))"; else echo "catalog is NOT running"; exit 3; fi ;;
logs) tail -n 30 "$log" ;;
*) echo "usage: catalogctl start|stop|restart|status|logs" >&2; exit 2 ;;
esac
EOT
chmod 0755 /usr/local/bin/catalogctl

cat > /etc/nginx/conf.d/catalog.conf <<EOT
# catalog — public entry point on :8080
upstream catalog_backend {
    server 127.0.0.1:${old_port};
}

server {
    listen 8080 default_server;
    server_name _;

    location / {
        proxy_pass http://catalog_backend;
        proxy_set_header Host \$host;
        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        proxy_connect_timeout 2s;
    }
}
EOT

# The service ran once, then died during the migration.
{
  echo "catalog build ${CATALOG_BUILD} listening on 127.0.0.1:${CATALOG_PORT}"
  echo "catalog: received SIGTERM, shutting down"
} >> /var/log/catalog/catalog.log
chown catalog:catalog /var/log/catalog/catalog.log

nginx -t 2>/dev/null
nginx
for _ in $(seq 30); do curl -s -o /dev/null http://127.0.0.1:8080/ && break; sleep 0.1; done
# A few failed requests in the log, as users saw them.
for _ in 1 2 3; do curl -s -o /dev/null http://127.0.0.1:8080/ || true; done
