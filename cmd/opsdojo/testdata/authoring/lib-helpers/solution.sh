#!/bin/bash
printf "mode = fixed\nlevel = info\n" > /workspace/app.conf
