#!/bin/bash
# Reference solution: give the log directory to the service user, restart.
set -euo pipefail
# Only the challenge's own image (image/Dockerfile) has this file.
test -f /etc/own-image-marker || { echo "sandbox is not the challenge image" >&2; exit 1; }
chown statusapi:statusapi /var/log/status-api
chmod 0755 /var/log/status-api
status-api restart
