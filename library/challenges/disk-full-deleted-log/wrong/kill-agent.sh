#!/bin/bash
# Wrong: killing the agent frees the space, but the service is now down.
sed -i -E 's/^LOG_LEVEL=.*/LOG_LEVEL=INFO/' /etc/ingest/ingest.conf
pkill -9 -f /opt/ingest/agent.py
sleep 0.5
