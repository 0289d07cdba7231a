#!/bin/bash
# The final stage's HEALTHCHECK must be exec form (no /bin/sh needed) and
# must not call curl or wget (absent from minimal images).
set -u
f=$(sbx-path /workspace/linkshort/Dockerfile) || { echo "the Dockerfile is missing"; exit 1; }
python3 - "$f" <<'PY'
import json, re, sys
lines = open(sys.argv[1]).read().replace("\\\n", " ").splitlines()
hc = None
for l in lines:
    s = l.strip()
    if re.match(r"(?i)^FROM\s", s):
        hc = None  # a new stage: only the final stage's HEALTHCHECK counts
    elif re.match(r"(?i)^HEALTHCHECK\s", s):
        hc = s
if hc is None:
    print("the final stage has no HEALTHCHECK"); sys.exit(1)
m = re.search(r"(?i)\bCMD\s+(.*)$", hc)
if not m:
    print("HEALTHCHECK NONE disables the health check"); sys.exit(1)
cmd = m.group(1).strip()
try:
    argv = json.loads(cmd) if cmd.startswith("[") else None
except ValueError:
    argv = None
if not isinstance(argv, list):
    print("the HEALTHCHECK uses the shell form: it needs /bin/sh in the image"); sys.exit(1)
if argv and re.search(r"(^|/)(curl|wget|sh|bash)$", str(argv[0])):
    print(f"the HEALTHCHECK runs {argv[0]}, which a minimal image does not have"); sys.exit(1)
print("the HEALTHCHECK runs without a shell or extra tools")
PY
