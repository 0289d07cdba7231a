#!/bin/bash
# Installs the orders API under a restart-on-exit supervisor, with two
# faults: a misspelt variable in the environment file, and a data
# directory the service user cannot write to.
set -euo pipefail
: "${ORDERS_PORT:?}"
useradd --system --no-create-home --shell /usr/sbin/nologin orders
mkdir -p /opt/orders /etc/orders /var/lib/orders /var/log/orders
chown orders:orders /var/log/orders
chmod 0755 /var/lib/orders   # owned by root: the fault the candidate finds second

cat > /etc/orders/orders.env <<EOT
# Environment of the orders API (read by the supervisor at every start).
ORDERS_LISTEN_PORT=${ORDERS_PORT}
ORDER_DB_PATH=/var/lib/orders/orders.db
ORDERS_LOG_LEVEL=info
EOT

cat > /opt/orders/app.py <<'EOT'
import http.server, json, os, sqlite3, sys

PORT = int(os.environ["ORDERS_LISTEN_PORT"])
DB_PATH = os.environ["ORDERS_DB_PATH"]

db = sqlite3.connect(DB_PATH, check_same_thread=False)
db.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, sku TEXT, qty INTEGER)")
db.commit()
print(f"orders API: database {DB_PATH} open, listening on 127.0.0.1:{PORT}", file=sys.stderr, flush=True)

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            db.execute("SELECT 1").fetchone()
            body, code = b"database ok\n", 200
        elif self.path == "/orders":
            body, code = json.dumps(db.execute("SELECT id, sku, qty FROM orders").fetchall()).encode(), 200
        else:
            body, code = b"not found\n", 404
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
EOT

cat > /usr/local/sbin/supervise-orders <<'EOT'
#!/bin/bash
# Minimal supervisor: (re)start the orders API whenever it exits.
log=/var/log/orders/supervisor.log
n=0
while :; do
  n=$((n + 1))
  echo "$(date '+%F %T') starting orders API (start #$n)" >>"$log"
  env -i PATH=/usr/bin:/bin bash -c 'set -a; . /etc/orders/orders.env; set +a; exec setpriv --reuid=orders --regid=orders --init-groups python3 /opt/orders/app.py' >>/var/log/orders/app.log 2>&1 </dev/null
  echo "$(date '+%F %T') orders API exited with status $?; restarting in 1s" >>"$log"
  sleep 1
done
EOT
chmod 0755 /usr/local/sbin/supervise-orders

cat > /usr/local/bin/ordersctl <<'EOT'
#!/bin/bash
# ordersctl start|stop|restart|status|logs
set -u
sup() { pgrep -f '^/bin/bash /usr/local/sbin/supervise-orders' ; }
case "${1:-}" in
start)
  if sup >/dev/null; then echo "supervisor already running"; exit 0; fi
  setsid /usr/local/sbin/supervise-orders >/dev/null 2>&1 </dev/null &
  echo "supervisor started (the API's own output: /var/log/orders/app.log)" ;;
stop)
  pkill -f '^/bin/bash /usr/local/sbin/supervise-orders'
  pkill -u orders -f /opt/orders/app.py
  sleep 0.3; echo "stopped" ;;
restart) "$0" stop; "$0" start ;;
status)
  if sup >/dev/null; then echo "supervisor: running"; else echo "supervisor: NOT running"; fi
  if p=$(pgrep -u orders -f /opt/orders/app.py); then echo "orders API: running (pid $p)"; else echo "orders API: NOT running"; fi ;;
logs) tail -n 8 /var/log/orders/supervisor.log; echo "--- /var/log/orders/app.log"; tail -n 15 /var/log/orders/app.log ;;
*) echo "usage: ordersctl start|stop|restart|status|logs" >&2; exit 2 ;;
esac
EOT
chmod 0755 /usr/local/bin/ordersctl
ordersctl start
sleep 1.5
