#!/bin/bash
# moved { from = aws_sqs_queue.X  to = aws_sqs_queue.queue["X"] } for each of
# the three existing queues.
set -u
d=$(sbx-path /workspace/queues) || { echo "/workspace/queues is missing"; exit 1; }
python3 - "$d" <<'PY'
import glob, os, re, sys
src = ""
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.tf"))):
    src += "\n" + open(f).read()
src = re.sub(r"(?m)^\s*(#|//).*$", "", src)
moves = {}
for body in re.findall(r"(?m)^\s*moved\s*\{([^{}]*)\}", src):
    fr = re.search(r"(?m)^\s*from\s*=\s*(\S+)\s*$", body)
    to = re.search(r"(?m)^\s*to\s*=\s*(\S+)\s*$", body)
    if fr and to:
        moves[fr.group(1)] = re.sub(r"\s+", "", to.group(1))
missing = []
for q in ("orders", "invoices", "emails"):
    want = f'aws_sqs_queue.queue["{q}"]'
    got = moves.get(f"aws_sqs_queue.{q}")
    if got != want:
        missing.append(f"aws_sqs_queue.{q} -> {want}" + (f" (found -> {got})" if got else ""))
if missing:
    print("without these moved blocks the next apply destroys and recreates the queues: " + "; ".join(missing)); sys.exit(1)
print("every existing queue is moved to its new address")
PY
