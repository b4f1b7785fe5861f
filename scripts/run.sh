#!/usr/bin/env bash
# Set up the app's environment on a fresh machine (once) and serve it on $GRADIO_SERVER_PORT (default 7860).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
# The project itself, editable: also puts the `tuning-studio` command on .venv/bin.
.venv/bin/pip install -q --disable-pip-version-check -e .
exec .venv/bin/python app.py "$@"
