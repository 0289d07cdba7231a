#!/bin/bash
# Measure how fast the running agent's log grows (through its open fd, as
# sbx-procs reports it, so a deleted or renamed log counts too): production
# verbosity writes a line a second, DEBUG writes ~20 KiB/s.
set -u
python3 - <<'PY'
import json, os, subprocess, sys, time
def agent_log():
    for p in json.loads(subprocess.run(["sbx-procs", "--json"], capture_output=True, check=True).stdout):
        if "python3" not in os.path.basename(p["exe"]) or "/opt/ingest/agent.py" not in p["cmdline"]:
            continue
        for fd in p["fds"]:
            if fd["target"].startswith("/var/tmp/ingest/ingest.log") and "size" in fd:
                return p["pid"], fd["fd"], fd["size"]
    return None
a = agent_log()
if not a:
    print("the ingest agent is not running (or has no log open)"); sys.exit(1)
t0 = time.time()
time.sleep(3)
b = agent_log()
if not b or b[:2] != a[:2]:
    print("the agent went away while its log was measured"); sys.exit(1)
rate = (b[2] - a[2]) / (time.time() - t0)
if rate > 2048:
    print(f"the log grows by {rate / 1024:.1f} KiB/s: at that rate /var/tmp fills up again within the hour"); sys.exit(1)
print(f"the log grows by {rate:.0f} B/s")
PY
