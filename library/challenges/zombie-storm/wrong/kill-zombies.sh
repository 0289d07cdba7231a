#!/bin/bash
# Wrong: zombies are already dead; signals do nothing to them.
ps -eo pid=,stat= | awk '$2 ~ /^Z/ {print $1}' | xargs -r kill -9 2>/dev/null
sleep 0.5
exit 0
