#!/bin/bash
# Wrong: starts the service and reloads nginx, but nginx still proxies to the
# old port: still 502.
catalogctl start
nginx -s reload
sleep 0.5
