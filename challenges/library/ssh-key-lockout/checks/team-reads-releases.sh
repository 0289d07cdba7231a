#!/bin/bash
# alice (a member of developers) must still be able to read deploy's release
# notes: x on every directory from / to /home/deploy/releases, r on the file,
# by owner, group or other bits, judged with the sandbox's passwd and group.
set -u
python3 - <<'PY'
import os, stat, sys
root = os.environ["SANDBOX_ROOT"]
users = {l.split(":")[0]: l.split(":") for l in open(root + "/etc/passwd") if l.count(":") >= 6}
if "alice" not in users:
    print("the user alice is missing"); sys.exit(1)
uid, gid = int(users["alice"][2]), int(users["alice"][3])
gids = {gid}
for l in open(root + "/etc/group"):
    f = l.rstrip("\n").split(":")
    if len(f) >= 4 and "alice" in f[3].split(","):
        gids.add(int(f[2]))

def allowed(st, bits):  # bits: 4 read, 1 execute
    if st.st_uid == uid:
        return (st.st_mode >> 6) & bits == bits
    if st.st_gid in gids:
        return (st.st_mode >> 3) & bits == bits
    return st.st_mode & bits == bits

path = "/home/deploy/releases/NOTES.md"
parts = path.strip("/").split("/")
for d in ["/"] + ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]:
    st = os.lstat(root + d)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        print(f"{d} is not a plain directory"); sys.exit(1)
    if not allowed(st, 1):
        print(f"alice (developers) cannot enter {d}"); sys.exit(1)
try:
    st = os.lstat(root + path)
except FileNotFoundError:
    print(f"{path} is missing"); sys.exit(1)
if not stat.S_ISREG(st.st_mode):
    print(f"{path} is not a regular file"); sys.exit(1)
if not allowed(st, 4):
    print(f"alice (developers) cannot read {path}"); sys.exit(1)
print("the developers group can still read the release notes")
PY
