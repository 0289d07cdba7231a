#!/bin/bash
printf "port = 8080\ndebug = false\n" > /workspace/app.conf
