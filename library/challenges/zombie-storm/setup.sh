#!/bin/bash
# A job runner that starts its probes fire-and-forget and never reaps them.
# A backlog of queued jobs makes the storm visible right away.
set -euo pipefail
useradd --system --no-create-home --shell /usr/sbin/nologin jobrunner
mkdir -p /opt/jobrunner /var/lib/jobrunner /var/spool/jobrunner/queue /var/log/jobrunner
chown jobrunner:jobrunner /var/lib/jobrunner /var/spool/jobrunner/queue /var/log/jobrunner
cat > /opt/jobrunner/runner.py <<'EOT'
"""Job runner: drains the queue, then runs the health probe every two seconds."""
import os, sys, time

QUEUE = "/var/spool/jobrunner/queue"
HEARTBEAT = "/var/lib/jobrunner/heartbeat"
PROBE = ["/bin/true"]


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, file=sys.stderr, flush=True)


def start(cmd):
    # Fire and forget: a slow probe must never block the scheduler.
    return os.posix_spawn(cmd[0], cmd, os.environ)


def drain_queue():
    for name in sorted(os.listdir(QUEUE)):
        path = os.path.join(QUEUE, name)
        start(["/bin/sh", "-c", "exit 0"])
        os.unlink(path)


log("job runner starting")
while True:
    drain_queue()
    start(PROBE)
    with open(HEARTBEAT + ".tmp", "w") as f:
        f.write(f"{time.time():.0f}\n")
    os.replace(HEARTBEAT + ".tmp", HEARTBEAT)
    time.sleep(2)
EOT
cat > /usr/local/bin/jobrunnerctl <<'EOT'
#!/bin/bash
# jobrunnerctl start|stop|restart|status
set -u
running() { pgrep -u jobrunner -f /opt/jobrunner/runner.py >/dev/null; }
case "${1:-}" in
start)
  if running; then echo "job runner is already running"; exit 0; fi
  setsid setpriv --reuid=jobrunner --regid=jobrunner --init-groups python3 /opt/jobrunner/runner.py >>/var/log/jobrunner/runner.log 2>&1 </dev/null &
  sleep 0.5
  if running; then echo "job runner started"; else echo "job runner failed to start:"; tail -n 5 /var/log/jobrunner/runner.log; exit 1; fi ;;
stop) pkill -u jobrunner -f /opt/jobrunner/runner.py; sleep 0.5; echo "job runner stopped" ;;
restart) "$0" stop; "$0" start ;;
status) if running; then echo "job runner is running (pid $(pgrep -u jobrunner -f /opt/jobrunner/runner.py))"; else echo "job runner is NOT running"; exit 3; fi ;;
*) echo "usage: jobrunnerctl start|stop|restart|status" >&2; exit 2 ;;
esac
EOT
chmod 0755 /usr/local/bin/jobrunnerctl
for i in $(seq -w 1 200); do : > "/var/spool/jobrunner/queue/job-$i"; done
chown jobrunner:jobrunner /var/spool/jobrunner/queue/*
jobrunnerctl start
for _ in $(seq 50); do [ -z "$(ls -A /var/spool/jobrunner/queue)" ] && break; sleep 0.1; done
