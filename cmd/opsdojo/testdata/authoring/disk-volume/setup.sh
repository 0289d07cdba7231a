#!/bin/bash
dd if=/dev/zero of=/var/log/app/old.log bs=1M count=16 2>/dev/null || true
