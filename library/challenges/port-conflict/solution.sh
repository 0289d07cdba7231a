#!/bin/bash
# Reference solution: give the exporter its documented port, restart it,
# then start the billing API.
set -euo pipefail
sed -i 's/^LISTEN_PORT=.*/LISTEN_PORT=9100/' /etc/exporter/exporter.conf
exporterctl restart
billingctl start
curl -fsS http://127.0.0.1:8080/api/status && curl -fsS -o /dev/null http://127.0.0.1:9100/metrics
