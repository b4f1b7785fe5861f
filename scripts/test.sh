#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run them.
#   bash scripts/test.sh            # all tests, including the real-browser UI test
#   bash scripts/test.sh -k data    # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/dev-env.sh

# The tests never touch the network.
export HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest -q "$@"
