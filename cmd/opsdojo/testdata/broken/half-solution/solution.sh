#!/bin/bash
printf "port = 8080\ndebug = true\n" > /workspace/app.conf
