#!/usr/bin/env bash
# Set up the app's environment on a fresh machine (once) and serve it on $GRADIO_SERVER_PORT (default 7860).
set -euo pipefail
cd "$(dirname "$0")/.."
# .venv with the app's requirements and the project (pip is skipped when nothing changed).
bash scripts/install.sh requirements.txt
exec .venv/bin/python app.py "$@"
