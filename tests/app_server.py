"""Start `python app.py` offline on a free port for a test, and stop it afterwards.

    with running_app(tmp, {"STUDIO_RUNS_DIR": ...}) as app:
        app["url"], app["startup"], app["process"], app["log"]

Waiting is generous on purpose: this is not a speed test (start-up time belongs to the benchmark),
and on a shared 2-core machine next to other apps `python app.py` can take minutes to import.
What ends the wait early is the process exiting, never the clock alone.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# A safety net against a server that hangs without exiting, not a performance limit.
STARTUP_GIVE_UP = 600.0


def _serves(url: str) -> bool:
    try:
        # A busy machine can take a while to answer the first request: a short timeout here would
        # only turn a slow answer into another retry.
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def running_app(tmp: Path, env: dict, startup_limit: float = STARTUP_GIVE_UP):
    """Fails the test (with the server's log) if app.py exits, or serves nothing for a very long time.

    startup_limit is raised to at least STARTUP_GIVE_UP: callers once passed 15 s, which a loaded
    machine exceeds.
    """
    startup_limit = max(startup_limit, STARTUP_GIVE_UP)
    port = free_port()
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "STUDIO_DATA": "bundled", "GRADIO_SERVER_PORT": str(port),
                "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False", **env}
    for name in ("STUDIO_BASE_MODEL", "STUDIO_ALLOWED_MODELS"):
        if name not in env:
            full_env.pop(name, None)
    log_path = tmp / "server.log"
    started = time.monotonic()
    with open(log_path, "w") as log:  # the server keeps its own copy of the handle
        process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=full_env, stdout=log,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        while not _serves(url):
            if process.poll() is not None:
                pytest.fail(f"app.py exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() - started > startup_limit:
                pytest.fail(f"app.py did not serve within {startup_limit:.0f} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"url": url, "startup": time.monotonic() - started, "process": process, "log": log_path}
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
