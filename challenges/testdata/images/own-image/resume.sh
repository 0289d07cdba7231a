#!/bin/bash
# Runs as root when the sandbox is restored after being idle: processes do
# not survive hibernation, so start the service again exactly as it is
# configured now (if the candidate has not fixed it yet, it dies again).
status-api start || true
