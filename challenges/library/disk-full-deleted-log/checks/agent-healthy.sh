#!/bin/bash
# The agent (python3 running /opt/ingest/agent.py) is alive, has the visible
# /var/tmp/ingest/ingest.log open (not a deleted one) and spools a new batch.
set -u
python3 - <<'PY'
import os, sys, time
agents = []
for pid in (p for p in os.listdir("/proc") if p.isdigit()):
    try:
        if os.path.samefile(f"/proc/{pid}/root", "/"):
            continue
        exe = os.readlink(f"/proc/{pid}/exe")
        argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        state = [l for l in open(f"/proc/{pid}/status") if l.startswith("State:")][0].split()[1]
    except (OSError, IndexError):
        continue
    if "python3" in os.path.basename(exe) and b"/opt/ingest/agent.py" in argv and state != "Z":
        agents.append(pid)
if not agents:
    print("the ingest agent is not running"); sys.exit(1)
pid = agents[0]
logs = []
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        t = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        continue
    if t.startswith("/var/tmp/ingest/ingest.log"):
        logs.append(t)
if "/var/tmp/ingest/ingest.log" not in logs:
    print("the agent does not write to /var/tmp/ingest/ingest.log" + (f" (it writes to {logs[0]})" if logs else ""))
    sys.exit(1)
spool = os.path.join(os.environ["SANDBOX_ROOT"], "var/tmp/ingest/spool")
deadline = time.time() + 4
start = time.time()
while time.time() < deadline:
    try:
        newest = max(os.stat(os.path.join(spool, f)).st_mtime for f in os.listdir(spool) if f.endswith(".json"))
    except (OSError, ValueError):
        newest = 0
    if newest >= start - 0.5:
        print(f"the agent (pid {pid}) is running, logging and spooling"); sys.exit(0)
    time.sleep(0.25)
print("the agent runs but has not spooled a batch in the last few seconds (see /var/log/ingest/agent.err)")
sys.exit(1)
PY
