#!/bin/bash
# Runs as root when an idle practice sandbox is restored after hibernation:
# files are kept, processes are not. nginx starts from its configuration as
# it is now (a broken one makes it fail, as on a reboot). The catalog
# service being stopped is one of this challenge's faults: it is started
# again only if it was running when the sandbox was hibernated
# (catalogctl start leaves /run/catalog.started, catalogctl stop removes it).
nginx || echo "nginx did not start: $(nginx -t 2>&1 | tail -n 1)" >&2
if [ -e /run/catalog.started ]; then
  catalogctl start
fi
