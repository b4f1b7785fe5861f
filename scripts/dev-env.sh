#!/usr/bin/env bash
# Set up what the tests and the linter need on a fresh machine (quick when it is already there):
# Debian's Chromium for the browser test, and .venv with the dev requirements and the project itself.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's Chromium drives the browser test (Playwright's own browser download needs the internet);
# a C++ compiler is what torch.compile's CPU backend builds its kernels with (tests/test_compiling.py).
if ! command -v chromium >/dev/null 2>&1 || ! command -v g++ >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver g++ >/dev/null
fi

bash scripts/install.sh requirements-dev.txt
# The optional Ray extra, so tests/test_ray_worker.py runs here too (a no-op once Ray imports).
.venv/bin/python -c "import ray" 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check -e ".[ray]"
# The TensorBoard extra, so tests/test_trackers.py reads a run's event files back (the other trackers stay out).
.venv/bin/python -c "import tensorboard" 2>/dev/null || \
    .venv/bin/pip install -q --disable-pip-version-check -e ".[tensorboard]"
