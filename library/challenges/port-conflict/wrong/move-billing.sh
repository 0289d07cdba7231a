#!/bin/bash
# Wrong: moves the billing API out of the way instead of fixing the exporter.
sed -i 's/^LISTEN_PORT=.*/LISTEN_PORT=9100/' /etc/billing/billing.conf
billingctl start
