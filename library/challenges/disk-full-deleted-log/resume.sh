#!/bin/bash
# Runs as root when an idle practice sandbox is restored after hibernation:
# files are kept, processes are not, and /var/tmp (a tmpfs) starts empty.
# Start the ingest agent again with /etc/ingest/ingest.conf as it is now
# (with DEBUG left on it floods its log again).
ingestctl start
