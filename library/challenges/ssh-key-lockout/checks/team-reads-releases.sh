#!/bin/bash
# alice (a member of developers) must still be able to read deploy's release
# notes: x on every directory from / to /home/deploy/releases, r on the file,
# by owner, group or other bits, judged with the sandbox's passwd and group.
set -u
python3 - <<'PY'
import os, re, stat, subprocess, sys

def cat(p):
    return subprocess.run(["sbx-cat", p], capture_output=True, text=True).stdout.splitlines(True)

class St:  # sbx-stat --nofollow: opened inside the sandbox's root in one step
    def __init__(self, line):
        f = dict(kv.split("=", 1) for kv in line.split()[:6])
        self.kind, self.st_mode = f["type"], int(f["mode"], 8)
        self.st_uid, self.st_gid = int(f["uid"]), int(f["gid"])

path = "/home/deploy/releases/NOTES.md"
parts = path.strip("/").split("/")
dirs = ["/"] + ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]
# One sbx-stat call for every path: a line each, empty when missing.
lines = subprocess.run(["sbx-stat", "--nofollow"] + dirs + [path], capture_output=True, text=True).stdout.split("\n")
stats = {p: St(l) for p, l in zip(dirs + [path], lines) if l}

def lstat(p):
    if p not in stats:
        raise FileNotFoundError(p)
    return stats[p]

users = {l.split(":")[0]: l.split(":") for l in cat("/etc/passwd") if l.count(":") >= 6}
if "alice" not in users:
    print("the user alice is missing"); sys.exit(1)
uid, gid = int(users["alice"][2]), int(users["alice"][3])
gids = {gid}
for l in cat("/etc/group"):
    f = l.rstrip("\n").split(":")
    if len(f) >= 4 and "alice" in f[3].split(","):
        gids.add(int(f[2]))

def allowed(st, bits):  # bits: 4 read, 1 execute
    if st.st_uid == uid:
        return (st.st_mode >> 6) & bits == bits
    if st.st_gid in gids:
        return (st.st_mode >> 3) & bits == bits
    return st.st_mode & bits == bits

for d in dirs:
    try:
        st = lstat(d)
    except FileNotFoundError:
        print(f"{d} is missing"); sys.exit(1)
    if st.kind != "dir":
        print(f"{d} is not a plain directory"); sys.exit(1)
    if not allowed(st, 1):
        print(f"alice (developers) cannot enter {d}"); sys.exit(1)
try:
    st = lstat(path)
except FileNotFoundError:
    print(f"{path} is missing"); sys.exit(1)
if st.kind != "reg":
    print(f"{path} is not a regular file"); sys.exit(1)
if not allowed(st, 4):
    print(f"alice (developers) cannot read {path}"); sys.exit(1)
print("the developers group can still read the release notes")
PY
