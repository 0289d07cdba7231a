#!/bin/bash
# Wrong: runs the exporter by hand on 9100; its config still says 8080, so
# the next `exporterctl restart` breaks billing again.
exporterctl stop
billingctl start
cat > /tmp/exp.conf <<'EOT'
LISTEN_PORT=9100
EOT
setsid setpriv --reuid=exporter --regid=exporter --init-groups python3 -c 'import runpy,builtins; o=builtins.open; builtins.open=lambda p,*a,**k: o("/tmp/exp.conf",*a,**k) if p=="/etc/exporter/exporter.conf" else o(p,*a,**k); runpy.run_path("/opt/svc/exporter.py")' >/dev/null 2>&1 </dev/null &
sleep 1
