#!/usr/bin/env bash
# Set up what the tests and the linter need on a fresh machine (quick when it is already there):
# Debian's Chromium for the browser test, and .venv with the dev requirements and the project itself.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's Chromium drives the browser test (Playwright's own browser download needs the internet).
if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
# pip takes 10-25 s even when nothing is missing: skip it while the requirement files are the ones
# last installed (a stamp of their checksums, written only after both installs succeeded).
STAMP=.venv/.studio-installed
WANT="$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
    .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
    # Editable: `studio` imports from any directory and `tuning-studio` is on .venv/bin, both using this checkout.
    .venv/bin/pip install -q --disable-pip-version-check -e .
    echo "$WANT" > "$STAMP"
fi
