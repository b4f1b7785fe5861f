#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run them.
#   bash scripts/test.sh            # all tests, including the real-browser UI test
#   bash scripts/test.sh -k data    # extra arguments go to pytest
#   STUDIO_TEST_WORKERS=0 bash scripts/test.sh   # one process, in file order (e.g. to read -s output)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/dev-env.sh

# The tests never touch the network.
export HF_HUB_OFFLINE=1
# Some images set PYTHONDONTWRITEBYTECODE: then each of the suite's ~20 Python processes (workers,
# app servers, CLI subprocesses) compiles the studio from source again, and pytest rewrites every
# test file's asserts again in each worker. Compiled files go to __pycache__/ (git ignores them).
unset PYTHONDONTWRITEBYTECODE
# Two worker processes, a whole file each at a time (module fixtures start one server per file):
# most browser and server tests wait on another process, so the other worker fills that time.
# Files go out longest first (tests/conftest.py), not xdist's default of most tests first.
# Two workers: about 3 min on two 2-core machines and 5 on a third of the same kind (docs/benchmark.md),
# against 7-8.5 serially on the first; a third worker was slower there.
WORKERS="${STUDIO_TEST_WORKERS:-2}"
if [ "$WORKERS" = "0" ]; then
    exec .venv/bin/python -m pytest -q "$@"
fi
exec .venv/bin/python -m pytest -q -n "$WORKERS" --dist loadfile --no-loadscope-reorder "$@"
