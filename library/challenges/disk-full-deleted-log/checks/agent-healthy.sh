#!/bin/bash
# The agent (python3 running /opt/ingest/agent.py) is alive, has the visible
# /var/tmp/ingest/ingest.log open (not a deleted one) and spools a new batch.
set -u
python3 - <<'PY'
import json, os, re, subprocess, sys, time
procs = json.loads(subprocess.run(["sbx-procs", "--json"], capture_output=True, check=True).stdout)
agents = [p for p in procs if "python3" in os.path.basename(p["exe"]) and "/opt/ingest/agent.py" in p["cmdline"] and p["state"] != "Z"]
if not agents:
    print("the ingest agent is not running"); sys.exit(1)
agent = agents[0]
pid = agent["pid"]
logs = [fd["target"] for fd in agent["fds"] if fd["target"].startswith("/var/tmp/ingest/ingest.log")]
if "/var/tmp/ingest/ingest.log" not in logs:
    print("the agent does not write to /var/tmp/ingest/ingest.log" + (f" (it writes to {logs[0]})" if logs else ""))
    sys.exit(1)

def newest_spool():
    r = subprocess.run(["sbx-ls", "/var/tmp/ingest/spool"], capture_output=True, text=True)
    times = [int(m.group(1)) for m in re.finditer(r"^type=reg .* mtime=(\d+) .* name=.*\.json$", r.stdout, re.M)]
    return max(times, default=0)

deadline = time.time() + 4
start = time.time()
while time.time() < deadline:
    if newest_spool() >= int(start - 1):
        print(f"the agent (pid {pid}) is running, logging and spooling"); sys.exit(0)
    time.sleep(0.25)
print("the agent runs but has not spooled a batch in the last few seconds (see /var/log/ingest/agent.err)")
sys.exit(1)
PY
