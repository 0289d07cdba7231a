#!/bin/bash
# Runs as root when an idle practice sandbox is restored after hibernation:
# files are kept, processes are not. Start nginx with its configuration and
# certificates as they are now: with a key that does not match the
# certificate it fails to start, as on a real reboot.
nginx
for _ in $(seq 30); do curl -sk -o /dev/null https://127.0.0.1:8443/ && break; sleep 0.1; done
