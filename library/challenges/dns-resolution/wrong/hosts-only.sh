#!/bin/bash
# Wrong: fixes the address in /etc/hosts, but NSS never reads the file.
new=$(sed -E 's/^[0-9.]+([[:space:]]+)db\.internal\b/127.0.0.1\1db.internal/' /etc/hosts)
printf '%s\n' "$new" > /etc/hosts
