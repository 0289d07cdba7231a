#!/bin/bash
# Wrong: no parent, no zombies — and no job runner.
jobrunnerctl stop
sleep 0.5
