#!/bin/bash
# Measure how fast the running agent's log grows (through its open fd, so
# a deleted or renamed log counts too): production verbosity writes a line
# a second, DEBUG writes ~20 KiB/s.
set -u
python3 - <<'PY'
import os, sys, time
def agent_log():
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if os.path.samefile(f"/proc/{pid}/root", "/"):
                continue
            if "python3" not in os.path.basename(os.readlink(f"/proc/{pid}/exe")):
                continue
            if b"/opt/ingest/agent.py" not in open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0"):
                continue
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("/var/tmp/ingest/ingest.log"):
                    return f"/proc/{pid}/fd/{fd}"
        except OSError:
            continue
    return None
p = agent_log()
if not p:
    print("the ingest agent is not running (or has no log open)"); sys.exit(1)
try:
    a = os.stat(p).st_size
    time.sleep(3)
    b = os.stat(p).st_size
except OSError:
    print("the agent went away while its log was measured"); sys.exit(1)
rate = (b - a) / 3
if rate > 2048:
    print(f"the log grows by {rate / 1024:.1f} KiB/s: at that rate /var/tmp fills up again within the hour"); sys.exit(1)
print(f"the log grows by {rate:.0f} B/s")
PY
