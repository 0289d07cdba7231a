#!/bin/bash
# Runs as root when an idle practice sandbox is restored after hibernation:
# files are kept, processes are not. cron not running is one of this
# challenge's faults, so it is started again only if it was running when
# the sandbox was hibernated: cron writes /run/crond.pid when it starts and
# the file survives the hibernation (a stale pid file does not stop cron).
if [ -e /run/crond.pid ]; then
  rm -f /run/crond.pid
  cron
fi
