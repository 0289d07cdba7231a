#!/bin/bash
# Fixes the test step but release still does not wait for it.
set -euo pipefail
f=/workspace/inventory/.github/workflows/ci.yml
sed -i 's/run: python3 -m pytest -q || echo "some tests failed"/run: python3 -m pytest -q/' "$f"
