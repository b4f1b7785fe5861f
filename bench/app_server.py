"""Start `python app.py` offline on a free port, wait until its page is served, stop it afterwards.

    with running_app(tmp / "server.log", {"STUDIO_RUNS_DIR": str(tmp / "runs")}) as app:
        app["url"], app["startup"], app["process"], app["log"]

Shared by the benchmark (which reports `startup`, the seconds to the first served
page) and the tests (which only need a server). The wait is generous: on a busy
machine a slow start is not a failure; an exit, or nothing served for ten minutes, is.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WAIT_SECONDS = 600.0


class AppNotServing(RuntimeError):
    """app.py exited, or served no page within the wait; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serves(url: str) -> bool:
    try:
        # A busy machine can take a while to answer the first request: a short timeout here would
        # only turn a slow answer into another retry.
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status == 200
    except OSError:
        return False


def _log_tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-3000:]


@contextlib.contextmanager
def running_app(log_path: Path, env: dict[str, str | None] | None = None,
                wait_seconds: float = DEFAULT_WAIT_SECONDS) -> Iterator[dict]:
    """Serve app.py from the source checkout; `env` adds variables (None removes one) on top of ours."""
    port = free_port()
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_SERVER_PORT": str(port),
                "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    full_env = {name: value for name, value in full_env.items() if value is not None}
    url = f"http://127.0.0.1:{port}/"
    with open(log_path, "w") as log:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=full_env, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            while not _serves(url):
                if process.poll() is not None:
                    raise AppNotServing(f"app.py exited with {process.returncode}:\n{_log_tail(log_path)}")
                if time.perf_counter() - started > wait_seconds:
                    raise AppNotServing(f"app.py served nothing within {wait_seconds:.0f} s:\n{_log_tail(log_path)}")
                time.sleep(0.1)
            yield {"url": url, "startup": time.perf_counter() - started, "process": process, "log": log_path}
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def measure_startup() -> dict:
    """Seconds from `python app.py` to a served page, offline, with an empty runs folder."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        env = {"STUDIO_RUNS_DIR": str(Path(tmp) / "runs")}
        with running_app(Path(tmp) / "server.log", env) as app:
            return {"seconds_to_page": app["startup"]}
