#!/bin/bash
# Read the candidate's file through sbx-path: symlinks resolve inside the
# sandbox, never into the grader's own filesystem.
f=$(sbx-path /etc/motd) || { echo "/etc/motd does not exist"; exit 1; }
if grep -qx 'motd-fixed' "$f"; then echo "/etc/motd is right"; exit 0; fi
echo "/etc/motd does not say motd-fixed"
exit 1
