#!/bin/bash
# Read the candidate's file through sbx-path: symlinks resolve inside the
# sandbox, never into the grader's own filesystem, and the result is a
# private snapshot the candidate cannot swap. The probe runs in its own PID
# namespace: neither its command lines nor its files reach the sandbox.
f=$(sbx-path /etc/motd) || { echo "/etc/motd does not exist"; exit 1; }
want="motd-fixed"
while IFS= read -r line; do
	if [[ "$line" == "$want" ]]; then echo "/etc/motd is right"; exit 0; fi
done < "$f"
echo "/etc/motd does not say what the on-call expects"
exit 1
