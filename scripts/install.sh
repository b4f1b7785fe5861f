#!/usr/bin/env bash
# Create .venv if needed and install one requirements file plus the project itself (editable),
# skipping pip while those files are the ones last installed.
#   bash scripts/install.sh requirements.txt        # what the app needs (scripts/run.sh)
#   bash scripts/install.sh requirements-dev.txt    # plus the tests' and linter's (scripts/dev-env.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
REQUIREMENTS="${1:?which requirements file}"

[ -x .venv/bin/python ] || python3 -m venv .venv
# pip takes 10-25 s even when nothing is missing: a stamp of the files' checksums, written only
# after both installs succeeded, says they are in. requirements-dev.txt includes requirements.txt.
STAMP=".venv/.studio-installed-${REQUIREMENTS%.txt}"
WANT="$(cat requirements.txt "$REQUIREMENTS" pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
    .venv/bin/pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
    # Editable: `studio` imports from any directory and `tuning-studio` is on .venv/bin, both using this checkout.
    .venv/bin/pip install -q --disable-pip-version-check -e .
    echo "$WANT" > "$STAMP"
fi
