#!/bin/bash
# The exporter's config got the billing API's port (a copy-paste in config
# management); the exporter started first and took 8080.
set -euo pipefail
: "${BILLING_BUILD:?}"
useradd --system --no-create-home --shell /usr/sbin/nologin billing
useradd --system --no-create-home --shell /usr/sbin/nologin exporter
mkdir -p /opt/svc /etc/billing /etc/exporter /var/log/svc
chmod 0777 /var/log/svc; chmod +t /var/log/svc
cat > /etc/billing/billing.conf <<EOT
# billing API
LISTEN_PORT=8080
BUILD=${BILLING_BUILD}
EOT
cat > /etc/exporter/exporter.conf <<'EOT'
# node metrics exporter (managed by config management)
LISTEN_PORT=8080
SCRAPE_INTERVAL=15
EOT
cat > /opt/svc/billing.py <<'EOT'
import http.server, json, sys
conf = dict(l.strip().split("=", 1) for l in open("/etc/billing/billing.conf") if "=" in l and not l.startswith("#"))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/api/status"
        b = json.dumps({"service": "billing", "build": conf["BUILD"], "status": "ok"}).encode() if ok else b"not found"
        self.send_response(200 if ok else 404); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
http.server.HTTPServer.allow_reuse_address = True
http.server.ThreadingHTTPServer(("0.0.0.0", int(conf["LISTEN_PORT"])), H).serve_forever()
EOT
cat > /opt/svc/exporter.py <<'EOT'
import http.server, os, time
conf = dict(l.strip().split("=", 1) for l in open("/etc/exporter/exporter.conf") if "=" in l and not l.startswith("#"))
start = time.time()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        load = os.getloadavg()[0]
        b = f"# HELP exporter_up 1 when the exporter runs\nexporter_up 1\nnode_load1 {load}\nprocess_uptime_seconds {time.time() - start:.0f}\n".encode()
        self.send_response(200); self.send_header("Content-Type", "text/plain; version=0.0.4"); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
http.server.HTTPServer.allow_reuse_address = True
http.server.ThreadingHTTPServer(("0.0.0.0", int(conf["LISTEN_PORT"])), H).serve_forever()
EOT
for svc in billing exporter; do
cat > /usr/local/bin/${svc}ctl <<EOT
#!/bin/bash
# ${svc}ctl start|stop|restart|status
set -u
running() { pgrep -u ${svc} -f /opt/svc/${svc}.py >/dev/null; }
case "\${1:-}" in
start)
  if running; then echo "${svc} is already running"; exit 0; fi
  setsid setpriv --reuid=${svc} --regid=${svc} --init-groups python3 /opt/svc/${svc}.py >>/var/log/svc/${svc}.log 2>&1 </dev/null &
  sleep 0.7
  if running; then : >/run/${svc}.started; echo "${svc} started"; else echo "${svc} failed to start:"; tail -n 3 /var/log/svc/${svc}.log; exit 1; fi ;;
stop) rm -f /run/${svc}.started; pkill -u ${svc} -f /opt/svc/${svc}.py; sleep 0.3; echo "${svc} stopped" ;;
restart) "\$0" stop; "\$0" start ;;
status) if running; then echo "${svc} is running"; else echo "${svc} is NOT running"; exit 3; fi ;;
*) echo "usage: ${svc}ctl start|stop|restart|status" >&2; exit 2 ;;
esac
EOT
chmod 0755 /usr/local/bin/${svc}ctl
done
exporterctl start
billingctl start || true
