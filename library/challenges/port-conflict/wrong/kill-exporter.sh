#!/bin/bash
# Wrong: frees the port by stopping the exporter for good.
exporterctl stop
billingctl start
