#!/bin/bash
# Reference solution: make the runner reap its finished children on every
# loop (without blocking on slow probes), then restart it — the old
# process's zombies are reaped by init when it exits.
set -euo pipefail
python3 - <<'PY'
p = "/opt/jobrunner/runner.py"
s = open(p).read()
s = s.replace('''def drain_queue():''', '''def reap():
    """Collect every child that has exited, without blocking."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def drain_queue():''')
s = s.replace("    start(PROBE)\n", "    start(PROBE)\n    reap()\n")
open(p, "w").write(s)
PY
jobrunnerctl restart
sleep 1.5
