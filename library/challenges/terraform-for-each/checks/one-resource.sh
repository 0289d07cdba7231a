#!/bin/bash
# Exactly one aws_sqs_queue resource block, named queue, with for_each, and
# its name built from each.key.
set -u
d=$(sbx-path /workspace/queues) || { echo "/workspace/queues is missing"; exit 1; }
python3 - "$d" <<'PY'
import glob, os, re, sys
src = ""
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.tf"))):
    src += "\n" + open(f).read()
src = re.sub(r"(?m)^\s*(#|//).*$", "", src)
blocks = re.findall(r'(?m)^\s*resource\s+"aws_sqs_queue"\s+"([^"]+)"\s*\{', src)
if blocks != ["queue"]:
    print(f"expected one aws_sqs_queue resource named queue, found: {', '.join(blocks) or 'none'}"); sys.exit(1)
body = src[re.search(r'resource\s+"aws_sqs_queue"\s+"queue"\s*\{', src).end():]
depth, end = 1, 0
for i, c in enumerate(body):
    depth += (c == "{") - (c == "}")
    if depth == 0:
        end = i; break
body = body[:end]
if not re.search(r"(?m)^\s*for_each\s*=", body):
    print("aws_sqs_queue.queue does not use for_each"); sys.exit(1)
m = re.search(r'(?m)^\s*name\s*=\s*"([^"\n]*)"', body)
if not m or "${each.key}" not in m.group(1) or "${var.prefix}" not in m.group(1):
    print("the queue name is not built from var.prefix and each.key: queue names would change"); sys.exit(1)
if m.group(1) != "${var.prefix}-${each.key}":
    print(f"the queue name {m.group(1)!r} differs from the current <prefix>-<key>"); sys.exit(1)
print("one aws_sqs_queue.queue with for_each, named <prefix>-<key>")
PY
