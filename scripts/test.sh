#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run them.
#   bash scripts/test.sh            # all tests, including the real-browser UI test
#   bash scripts/test.sh -k data    # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's Chromium drives the browser test (Playwright's own browser download needs the internet).
if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt

# The tests never touch the network.
export HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest -q "$@"
