#!/bin/bash
# Reference solution: give the log directory to the service user, restart.
set -euo pipefail
chown statusapi:statusapi /var/log/status-api
chmod 0755 /var/log/status-api
status-api restart
