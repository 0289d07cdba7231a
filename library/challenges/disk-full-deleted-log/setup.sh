#!/bin/bash
# Installs the ingest agent with DEBUG logging left on, fills /var/tmp (a
# 64 MiB tmpfs in every sandbox) with its log, and deletes the log while the
# agent still holds it open: the space stays allocated.
set -euo pipefail
mkdir -p /opt/ingest /etc/ingest /var/log/ingest /var/tmp/ingest/spool

cat > /etc/ingest/ingest.conf <<'EOT'
# ingest agent configuration
SOURCE=orders-queue
BATCH_INTERVAL=1
# Levels: ERROR, WARNING, INFO (production), DEBUG (very verbose)
# TODO(mk): back to INFO after the incident
LOG_LEVEL=DEBUG
EOT

cat > /opt/ingest/agent.py <<'EOT'
import json, os, random, sys, time

conf = {}
for line in open("/etc/ingest/ingest.conf"):
    line = line.strip()
    if line and not line.startswith("#") and "=" in line:
        k, v = line.split("=", 1)
        conf[k.strip()] = v.strip()
LEVELS = {"ERROR": 40, "WARNING": 30, "INFO": 20, "DEBUG": 10}
level = LEVELS.get(conf.get("LOG_LEVEL", "INFO").upper(), 20)
spool = "/var/tmp/ingest/spool"
os.makedirs(spool, exist_ok=True)
fd = os.open("/var/tmp/ingest/ingest.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

def log(lvl, msg):
    if LEVELS[lvl] < level:
        return
    try:
        os.write(fd, f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {lvl:<7} {msg}\n".encode())
    except OSError:
        pass

log("INFO", f"ingest agent starting, source={conf.get('SOURCE')} level={conf.get('LOG_LEVEL')}")
tick = 0
while True:
    tick += 1
    for i in range(20):
        log("DEBUG", f"poll source={conf.get('SOURCE')} offset={tick * 20 + i} lag_ms={random.randint(0, 999)} state=idle buffer=0/512")
    if tick % 10 == 0:
        n = tick // 10
        try:
            tmp = os.path.join(spool, ".batch.tmp")
            with open(tmp, "w") as f:
                json.dump({"batch": n, "ts": time.time(), "records": [random.random() for _ in range(50)]}, f)
            os.replace(tmp, os.path.join(spool, f"batch-{n % 5}.json"))
            log("INFO", f"batch {n} spooled")
        except OSError as e:
            log("ERROR", f"spool write failed: {e}")
            print(f"{time.strftime('%H:%M:%S')} spool write failed: {e}", file=sys.stderr, flush=True)
    time.sleep(0.1)
EOT

cat > /usr/local/bin/ingestctl <<'EOT'
#!/bin/bash
# ingestctl start|stop|restart|status — the ingest agent (no systemd here)
set -u
running() { pgrep -f /opt/ingest/agent.py >/dev/null; }
case "${1:-}" in
start)
  if running; then echo "ingest agent is already running"; exit 0; fi
  setsid python3 /opt/ingest/agent.py >>/var/log/ingest/agent.err 2>&1 </dev/null &
  sleep 0.5
  if running; then echo "ingest agent started"; else echo "ingest agent failed to start; see /var/log/ingest/agent.err" >&2; exit 1; fi ;;
stop)
  pkill -f /opt/ingest/agent.py
  for _ in $(seq 20); do running || break; sleep 0.1; done
  echo "ingest agent stopped" ;;
restart) "$0" stop; "$0" start ;;
status) if running; then echo "ingest agent is running (pid $(pgrep -f /opt/ingest/agent.py | head -1))"; else echo "ingest agent is NOT running"; exit 3; fi ;;
*) echo "usage: ingestctl start|stop|restart|status" >&2; exit 2 ;;
esac
EOT
chmod 0755 /usr/local/bin/ingestctl
ingestctl start

# Days of DEBUG logging, compressed into a few seconds: fill /var/tmp up to
# 256 KiB of free space, through the same log file the agent appends to.
python3 - <<'EOT'
import os, time
st = os.statvfs("/var/tmp")
todo = st.f_bavail * st.f_frsize - 256 * 1024
line = (time.strftime('%Y-%m-%dT%H:%M:%S') + " DEBUG   poll source=orders-queue offset=0 lag_ms=12 state=idle buffer=0/512\n").encode()
chunk = line * ((1 << 20) // len(line))
fd = os.open("/var/tmp/ingest/ingest.log", os.O_WRONLY | os.O_APPEND)
while todo > 0:
    todo -= os.write(fd, chunk[:todo] if todo < len(chunk) else chunk)
os.close(fd)
EOT
rm /var/tmp/ingest/ingest.log
