#!/bin/bash
# Count zombies, wait 5 s (two or three probe runs), count again. A runner that
# reaps its children leaves the count flat; a stopped runner fails too.
set -u
count() {
  local z=0 s d line rest
  for s in /proc/[0-9]*/stat; do
    d=${s%/stat}
    [ "$d/root" -ef / ] 2>/dev/null && continue
    read -r line < "$s" 2>/dev/null || continue
    rest=${line##*) }
    [ "${rest%% *}" = Z ] && z=$((z + 1))
  done
  echo $z
}
runner_alive() {
  local d exe
  for d in /proc/[0-9]*; do
    [ "$d/root" -ef / ] 2>/dev/null && continue
    exe=$(readlink "$d/exe" 2>/dev/null) || continue
    [[ "$exe" == */python3* ]] || continue
    tr '\0' '\n' < "$d/cmdline" 2>/dev/null | grep -qx /opt/jobrunner/runner.py && return 0
  done
  return 1
}
runner_alive || { echo "the job runner is not running, so nothing can be concluded"; exit 1; }
a=$(count); sleep 5; b=$(count)
if (( b > a + 1 )); then echo "zombies keep appearing: $a, then $b five seconds later"; exit 1; fi
echo "no new zombies ($a, then $b)"
