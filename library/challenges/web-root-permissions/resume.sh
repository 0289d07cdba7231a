#!/bin/bash
# Runs as root when an idle practice sandbox is restored after hibernation:
# files are kept, processes are not. Start nginx again; the web root's
# ownership and modes are left exactly as they are.
nginx
for _ in $(seq 30); do curl -s -o /dev/null http://127.0.0.1:8080/ && break; sleep 0.1; done
