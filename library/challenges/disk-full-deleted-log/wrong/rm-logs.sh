#!/bin/bash
# Wrong: deleting more files frees nothing while the agent holds the log open.
rm -f /var/tmp/ingest/*.log /var/tmp/ingest/spool/*
sed -i -E 's/^LOG_LEVEL=.*/LOG_LEVEL=INFO/' /etc/ingest/ingest.conf
exit 0
