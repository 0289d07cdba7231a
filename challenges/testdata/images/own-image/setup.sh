#!/bin/bash
# Runs as root before the candidate connects: installs the status API and
# breaks it (its log directory is owned by root, the service runs as
# statusapi and cannot open its log).
set -euo pipefail

useradd --system --no-create-home --shell /usr/sbin/nologin statusapi

mkdir -p /opt/status-api
cat > /opt/status-api/app.py <<'EOF'
import http.server
import logging

logging.basicConfig(filename="/var/log/status-api/app.log", level=logging.INFO,
                    format="%(asctime)s %(message)s")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            status, body = 200, b"ok\n"
        else:
            status, body = 404, b"not found\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        logging.info(fmt, *args)


logging.info("status-api starting on 127.0.0.1:8080")
http.server.ThreadingHTTPServer(("127.0.0.1", 8080), Handler).serve_forever()
EOF

cat > /usr/local/bin/status-api <<'EOF'
#!/bin/bash
# status-api start|stop|restart|logs
set -u
errlog=/var/log/status-api.stderr
case "${1:-}" in
start)
  setsid setpriv --reuid=statusapi --regid=statusapi --init-groups \
    python3 /opt/status-api/app.py >>"$errlog" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 1 20); do
    if curl -fs -o /dev/null http://127.0.0.1:8080/healthz; then echo "status-api is up"; exit 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "status-api failed to start; see: status-api logs" >&2
  exit 1
  ;;
stop) pkill -f /opt/status-api/app.py || true; sleep 0.5 ;;
restart) "$0" stop; "$0" start ;;
logs) tail -n 30 "$errlog" ;;
*) echo "usage: status-api start|stop|restart|logs" >&2; exit 2 ;;
esac
EOF
chmod 0755 /usr/local/bin/status-api

# The break: the directory exists but only root may write to it.
mkdir -p /var/log/status-api
chown root:root /var/log/status-api
chmod 0755 /var/log/status-api
touch /var/log/status-api.stderr

status-api start || true
