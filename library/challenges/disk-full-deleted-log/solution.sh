#!/bin/bash
# Reference solution: production log level, then restart the agent: the old
# process closes the deleted log (space freed) and the new one opens a fresh
# /var/tmp/ingest/ingest.log.
set -euo pipefail
sed -i -E 's/^LOG_LEVEL=.*/LOG_LEVEL=INFO/' /etc/ingest/ingest.conf
ingestctl restart
sleep 1.5
df -h /var/tmp
