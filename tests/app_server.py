"""Start `python app.py` offline on the bundled data for a test (bench/app_server.py does the work).

    with running_app(tmp, {"STUDIO_RUNS_DIR": ...}) as app:
        app["url"], app["startup"], app["process"], app["log"]

Waiting is generous on purpose: this is not a speed test (start-up time belongs to the benchmark),
and on a shared 2-core machine next to other apps `python app.py` can take minutes to import.
What ends the wait early is the process exiting, never the clock alone.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from bench.app_server import DEFAULT_WAIT_SECONDS, AppNotServing
from bench.app_server import running_app as serve_app

# The operator's own model choices must not leak into a test's server.
_UNSET_FOR_TESTS = ("STUDIO_BASE_MODEL", "STUDIO_ALLOWED_MODELS")


@contextlib.contextmanager
def running_app(tmp: Path, env: dict, startup_limit: float = DEFAULT_WAIT_SECONDS):
    """Fails the test, with the server's log, if app.py exits or serves nothing for a very long time.

    startup_limit is raised to at least DEFAULT_WAIT_SECONDS: callers once passed 15 s, which a
    loaded machine exceeds.
    """
    test_env = {"STUDIO_DATA": "bundled", **{name: None for name in _UNSET_FOR_TESTS}, **env}
    try:
        with serve_app(tmp / "server.log", test_env, wait_seconds=max(startup_limit, DEFAULT_WAIT_SECONDS)) as app:
            yield app
    except AppNotServing as exc:
        pytest.fail(str(exc))


@contextlib.contextmanager
def app_in_folder(tmp: Path, env: dict | None = None, cache_dir: Path | None = None):
    """running_app with its runs inside `tmp`, as every browser test wants; the app gains "tmp" and "cache_dir".

    The model cache is `tmp`/cache (the stand-in is built at start, as on a fresh machine) unless a
    `cache_dir` that already holds it is given (saves building it again, about 1.7 CPU-seconds).
    """
    cache_dir = cache_dir or tmp / "cache"
    folders = {"STUDIO_RUNS_DIR": str(tmp / "runs"), "STUDIO_CACHE_DIR": str(cache_dir)}
    with running_app(tmp, {**folders, **(env or {})}) as app:
        yield {**app, "tmp": tmp, "cache_dir": cache_dir}
