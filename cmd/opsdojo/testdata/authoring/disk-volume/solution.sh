#!/bin/bash
rm -f /var/log/app/old.log
