"""`python -m studio` as a fresh process: the entry point's wiring (help, exit status).

The commands themselves are tested in this process in test_cli*.py; a full subprocess training is
in test_reliability.py (tokens kept out of its output) and the kill -9 tests there.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _python_m_studio(*args, tmp_path, cache_dir):
    env = dict(os.environ, HF_HUB_OFFLINE="1", STUDIO_RUNS_DIR=str(tmp_path / "runs"),
               STUDIO_CACHE_DIR=str(cache_dir), STUDIO_DATA="bundled")
    for name in ("STUDIO_BASE_MODEL", "STUDIO_ALLOWED_MODELS"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def test_help_lists_every_command(tmp_path, cache_dir):
    proc = _python_m_studio("--help", tmp_path=tmp_path, cache_dir=cache_dir)
    assert proc.returncode == 0, proc.stderr
    for command in ("data", "train", "evaluate", "summarize", "score", "runs", "prepare", "prefetch"):
        assert command in proc.stdout


@pytest.mark.slow  # loads torch and the engine in a fresh process
def test_bad_input_exits_with_status_2_and_one_error_line(tmp_path, cache_dir):
    proc = _python_m_studio("summarize", "--model", "../../etc", "--text", "hi", tmp_path=tmp_path,
                            cache_dir=cache_dir)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in proc.stderr

