"""Start `python app.py` offline on the bundled data for a test (bench/app_server.py does the work).

    with running_app(tmp, {"STUDIO_RUNS_DIR": ...}) as app:
        app["url"], app["startup"], app["process"], app["log"]
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from bench.app_server import AppNotServing
from bench.app_server import running_app as serve_app

# The operator's own model choices must not leak into a test's server.
_UNSET_FOR_TESTS = ("STUDIO_BASE_MODEL", "STUDIO_ALLOWED_MODELS")


@contextlib.contextmanager
def running_app(tmp: Path, env: dict):
    """Fails the test, with the server's log, if app.py exits or never serves its page."""
    test_env = {"STUDIO_DATA": "bundled", **{name: None for name in _UNSET_FOR_TESTS}, **env}
    try:
        with serve_app(tmp / "server.log", test_env) as app:
            yield app
    except AppNotServing as exc:
        pytest.fail(str(exc))
