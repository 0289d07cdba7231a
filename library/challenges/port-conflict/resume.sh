#!/bin/bash
# Runs as root when an idle practice sandbox is restored after hibernation:
# files are kept, processes are not. Each service that was running when the
# sandbox was hibernated (its ctl start left /run/<name>.started) is
# started again from its configuration as it is now, the exporter first as
# at boot; a service that was not running stays stopped.
rc=0
for svc in exporter billing; do
  [ -e /run/$svc.started ] || continue
  ${svc}ctl start || { rc=1; continue; }
  # Wait (bounded) until it listens on its configured port.
  port=$(sed -n 's/^LISTEN_PORT=\([0-9]*\).*/\1/p' /etc/$svc/$svc.conf | tail -n 1)
  for _ in $(seq 50); do
    [ -n "$port" ] && (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
  done
done
exit $rc
