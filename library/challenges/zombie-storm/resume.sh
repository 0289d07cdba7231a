#!/bin/bash
# Runs as root when an idle practice sandbox is restored after hibernation:
# files are kept, processes are not. Start the job runner again from
# /opt/jobrunner/runner.py as it is now (unfixed, it leaves zombies again).
jobrunnerctl start
