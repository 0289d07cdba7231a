#!/bin/bash
# Wrong: truncating the deleted file through /proc frees the space right
# now, but the agent still logs at DEBUG into an invisible file and will
# fill the disk again.
for p in $(pgrep -f /opt/ingest/agent.py); do
  for fd in /proc/$p/fd/*; do
    if [[ "$(readlink "$fd")" == *ingest.log*deleted* ]]; then : > "$fd"; fi
  done
done
sleep 0.5
