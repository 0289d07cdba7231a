#!/bin/bash
sed -i "s/^mode = .*/mode = fixed/" /workspace/app.conf
